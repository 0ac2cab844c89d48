//! The emulator's single source of truth and the operations on it that REST, the gateway and the
//! control handle share. Every mutation dispatches the gateway events Discord would send, under
//! the same lock, so event order always matches the order of changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::EmulatorConfig;
use super::gateway::{self, Session};
use super::json::{id_str, redact_content};
use super::model::{
    Attachment, Channel, ChannelKind, Guild, InteractionStatus, Member, Message, RequestRecord,
    Role, User,
};
use super::permissions::{self, MemberFacts};
use super::ratelimit::{InvalidRequests, RateLimiter};
use super::snowflake::{SnowflakeGenerator, iso8601, now_ms};

/// A fault armed by a test: the next `remaining` matching requests fail.
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    pub(crate) spec: super::control::FaultSpec,
    pub(crate) remaining: u32,
}

/// The acknowledgement a bot gave an interaction.
#[derive(Debug, Clone)]
pub(crate) struct Ack {
    pub(crate) latency: Duration,
    pub(crate) callback_type: u64,
    pub(crate) flags: u64,
    pub(crate) data: Option<Value>,
}

/// An interaction sent to the bot.
#[derive(Debug)]
pub(crate) struct Interaction {
    pub(crate) id: u64,
    pub(crate) token: String,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    pub(crate) message_id: u64,
    pub(crate) user_id: u64,
    pub(crate) custom_id: String,
    pub(crate) created: Instant,
    pub(crate) ack: Option<Ack>,
    pub(crate) failed: bool,
    pub(crate) ack_signal: Option<oneshot::Sender<()>>,
    /// The response message (types 4/5) or the clicked message (types 6/7).
    pub(crate) original_message_id: Option<u64>,
    /// A deferred (type 5) response still shows "thinking…".
    pub(crate) original_loading: bool,
    pub(crate) followups: Vec<u64>,
}

impl Interaction {
    /// The status as of `now`: pending past the deadline counts as failed.
    pub(crate) fn status(&self, now: Instant, deadline: Duration) -> InteractionStatus {
        if self.ack.is_some() {
            InteractionStatus::Acknowledged
        } else if self.failed || now.duration_since(self.created) > deadline {
            InteractionStatus::Failed
        } else {
            InteractionStatus::Pending
        }
    }
}

/// A gateway event for every session whose intents include `intent` (0 = always sent).
pub(crate) struct Dispatch {
    pub(crate) name: &'static str,
    pub(crate) data: Value,
    pub(crate) intent: u64,
    pub(crate) guild_id: Option<u64>,
    /// What sessions without the MESSAGE_CONTENT intent get instead.
    pub(crate) redacted: Option<Value>,
}

/// A message about to be stored.
#[derive(Debug, Default)]
pub(crate) struct NewMessage {
    pub(crate) channel_id: u64,
    pub(crate) author_id: u64,
    pub(crate) content: String,
    pub(crate) components: Vec<Value>,
    pub(crate) embeds: Vec<Value>,
    pub(crate) attachments: Vec<Attachment>,
    pub(crate) kind: u64,
    pub(crate) flags: u64,
    pub(crate) reference: Option<u64>,
    pub(crate) interaction_id: Option<u64>,
    pub(crate) webhook_id: Option<u64>,
    pub(crate) allowed_mentions: Option<Value>,
}

/// What a message's content mentions, and whom it notifies.
#[derive(Debug, Default)]
struct Mentions {
    users: Vec<u64>,
    roles: Vec<u64>,
    notified_roles: Vec<u64>,
    everyone: bool,
}

/// Everything the emulator knows.
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    pub(crate) base_url: String,
    pub(crate) started: Instant,
    pub(crate) ids: SnowflakeGenerator,
    pub(crate) users: HashMap<u64, User>,
    pub(crate) guilds: BTreeMap<u64, Guild>,
    pub(crate) channels: BTreeMap<u64, Channel>,
    /// Messages per channel, ordered by id (= by time).
    pub(crate) messages: HashMap<u64, BTreeMap<u64, Message>>,
    pub(crate) message_channel: HashMap<u64, u64>,
    /// Ephemeral interaction responses: visible only to one user, never in history.
    pub(crate) ephemeral: HashMap<u64, Message>,
    pub(crate) dm_channels: HashMap<u64, u64>,
    pub(crate) interactions: HashMap<u64, Interaction>,
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) faults: Vec<ArmedFault>,
    pub(crate) request_log: Vec<RequestRecord>,
    pub(crate) limiter: RateLimiter,
    pub(crate) invalid_requests: InvalidRequests,
    pub(crate) next_connection_id: u64,
    pub(crate) identify_count: u64,
    pub(crate) resume_count: u64,
    /// RESUMEs answered INVALID_SESSION(false).
    pub(crate) refused_resumes: u64,
    /// Accepted RESUMEs that did not come in on the session's `resume_gateway_url`.
    pub(crate) resumes_off_resume_url: u64,
}

impl State {
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> Self {
        let mut state = Self {
            base_url,
            started: Instant::now(),
            ids: SnowflakeGenerator::default(),
            users: HashMap::new(),
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: HashMap::new(),
            message_channel: HashMap::new(),
            ephemeral: HashMap::new(),
            dm_channels: HashMap::new(),
            interactions: HashMap::new(),
            sessions: HashMap::new(),
            faults: Vec::new(),
            request_log: Vec::new(),
            limiter: RateLimiter::default(),
            invalid_requests: InvalidRequests::default(),
            next_connection_id: 0,
            identify_count: 0,
            resume_count: 0,
            refused_resumes: 0,
            resumes_off_resume_url: 0,
            config,
        };
        let bot = User {
            id: state.config.bot_user_id,
            username: state.config.bot_username.clone(),
            global_name: None,
            bot: true,
            accepts_dms: true,
        };
        state.users.insert(bot.id, bot);
        state
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.ids.next()
    }

    pub(crate) fn bot_id(&self) -> u64 {
        self.config.bot_user_id
    }

    // ---- permissions -------------------------------------------------------------------------

    /// A member's permissions in a guild, or in a channel of it when `channel` is given.
    /// Non-members have none.
    pub(crate) fn permissions(
        &self,
        guild_id: u64,
        user_id: u64,
        channel: Option<&Channel>,
    ) -> u64 {
        let Some(guild) = self.guilds.get(&guild_id) else {
            return 0;
        };
        let Some(member) = guild.members.get(&user_id) else {
            return 0;
        };
        let roles: Vec<(u64, u64)> = member
            .roles
            .iter()
            .filter_map(|id| guild.roles.get(id).map(|role| (role.id, role.permissions)))
            .collect();
        let facts = MemberFacts {
            guild_id,
            user_id,
            owner_id: guild.owner_id,
            everyone_permissions: guild.roles.get(&guild_id).map_or(0, |r| r.permissions),
            roles: &roles,
        };
        match channel {
            Some(channel) => permissions::channel_permissions(&facts, &channel.overwrites),
            None => permissions::base_permissions(&facts),
        }
    }

    /// The permissions of a user in a channel; DMs allow what a DM allows.
    pub(crate) fn channel_permissions_of(&self, user_id: u64, channel: &Channel) -> u64 {
        match channel.guild_id {
            Some(guild_id) => self.permissions(guild_id, user_id, Some(channel)),
            None if channel.recipients.contains(&user_id) || user_id == self.bot_id() => {
                permissions::VIEW_CHANNEL
                    | permissions::SEND_MESSAGES
                    | permissions::READ_MESSAGE_HISTORY
                    | permissions::EMBED_LINKS
                    | permissions::ATTACH_FILES
                    | permissions::PIN_MESSAGES
            }
            None => 0,
        }
    }

    /// The highest role position of a member (0 = only @everyone).
    pub(crate) fn top_role_position(&self, guild_id: u64, user_id: u64) -> i64 {
        let Some(guild) = self.guilds.get(&guild_id) else {
            return 0;
        };
        guild.members.get(&user_id).map_or(0, |member| {
            member
                .roles
                .iter()
                .filter_map(|id| guild.roles.get(id))
                .map(|role| role.position)
                .max()
                .unwrap_or(0)
        })
    }

    // ---- gateway dispatch --------------------------------------------------------------------

    pub(crate) fn dispatch(&mut self, event: Dispatch) {
        let full = event.data.to_string();
        let redacted = event.redacted.map(|value| value.to_string());
        for session in self.sessions.values_mut() {
            if event.intent != 0 && session.intents & event.intent == 0 {
                continue;
            }
            if let Some(guild_id) = event.guild_id
                && !session.handles_guild(guild_id)
            {
                continue;
            }
            let payload = match &redacted {
                Some(redacted) if session.intents & gateway::intents::MESSAGE_CONTENT == 0 => {
                    redacted
                }
                _ => &full,
            };
            session.push_dispatch(event.name, payload);
        }
    }

    fn channel_event(&mut self, name: &'static str, channel_id: u64) {
        let Some(channel) = self.channels.get(&channel_id) else {
            return;
        };
        let data = self.channel_json(channel);
        let guild_id = channel.guild_id;
        let intent = if guild_id.is_some() {
            gateway::intents::GUILDS
        } else {
            gateway::intents::DIRECT_MESSAGES
        };
        // DM channel creation is not dispatched to bots since API v8.
        if guild_id.is_none() {
            return;
        }
        self.dispatch(Dispatch {
            name,
            data,
            intent,
            guild_id,
            redacted: None,
        });
    }

    fn message_event(&mut self, name: &'static str, message: &Message) {
        if message.is_ephemeral() {
            return;
        }
        let data = self.message_event_json(message);
        let redacted = if self.content_exempt(message) {
            None
        } else {
            let mut copy = data.clone();
            redact_content(&mut copy);
            Some(copy)
        };
        let intent = if message.guild_id.is_some() {
            gateway::intents::GUILD_MESSAGES
        } else {
            gateway::intents::DIRECT_MESSAGES
        };
        self.dispatch(Dispatch {
            name,
            data,
            intent,
            guild_id: message.guild_id,
            redacted,
        });
    }

    // ---- guilds, roles, members, users -------------------------------------------------------

    pub(crate) fn create_user(&mut self, username: &str) -> u64 {
        let id = self.next_id();
        self.users.insert(
            id,
            User {
                id,
                username: username.to_owned(),
                global_name: None,
                bot: false,
                accepts_dms: true,
            },
        );
        id
    }

    /// A guild with an owner, @everyone at Discord's defaults and the bot as a member holding its
    /// managed integration role with `bot_permissions`.
    pub(crate) fn create_guild(&mut self, name: &str, bot_permissions: u64) -> (u64, u64) {
        let guild_id = self.next_id();
        let owner_id =
            self.create_user(&format!("{}-owner", name.to_lowercase().replace(' ', "-")));
        let bot_role_id = self.next_id();
        let now = now_ms();
        let mut roles = BTreeMap::new();
        roles.insert(
            guild_id,
            Role {
                id: guild_id,
                name: "@everyone".to_owned(),
                permissions: permissions::DEFAULT_EVERYONE,
                position: 0,
                managed: false,
                mentionable: false,
            },
        );
        roles.insert(
            bot_role_id,
            Role {
                id: bot_role_id,
                name: self.config.bot_username.clone(),
                permissions: bot_permissions,
                position: 1,
                managed: true,
                mentionable: false,
            },
        );
        let mut members = BTreeMap::new();
        members.insert(
            owner_id,
            Member {
                user_id: owner_id,
                roles: Vec::new(),
                nick: None,
                joined_at_ms: now,
            },
        );
        members.insert(
            self.bot_id(),
            Member {
                user_id: self.bot_id(),
                roles: vec![bot_role_id],
                nick: None,
                joined_at_ms: now,
            },
        );
        self.guilds.insert(
            guild_id,
            Guild {
                id: guild_id,
                name: name.to_owned(),
                owner_id,
                roles,
                members,
            },
        );
        let sessions: Vec<String> = self.sessions.keys().cloned().collect();
        for session_id in sessions {
            self.send_guild_create(&session_id, guild_id);
        }
        (guild_id, bot_role_id)
    }

    /// Sends GUILD_CREATE for one guild to one session (after READY, or when the bot joins).
    pub(crate) fn send_guild_create(&mut self, session_id: &str, guild_id: u64) {
        let Some(session) = self.sessions.get(session_id) else {
            return;
        };
        if session.intents & gateway::intents::GUILDS == 0 || !session.handles_guild(guild_id) {
            return;
        }
        let all_members = session.intents & gateway::intents::GUILD_MEMBERS != 0;
        let data = self.guild_json(guild_id, true, all_members).to_string();
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.push_dispatch("GUILD_CREATE", &data);
        }
    }

    /// A role placed just above @everyone, as Discord places new roles.
    pub(crate) fn create_role(
        &mut self,
        guild_id: u64,
        name: &str,
        permissions: u64,
    ) -> Option<u64> {
        let role_id = self.next_id();
        let guild = self.guilds.get_mut(&guild_id)?;
        for role in guild.roles.values_mut().filter(|r| r.position > 0) {
            role.position += 1;
        }
        guild.roles.insert(
            role_id,
            Role {
                id: role_id,
                name: name.to_owned(),
                permissions,
                position: 1,
                managed: false,
                mentionable: false,
            },
        );
        self.role_event("GUILD_ROLE_CREATE", guild_id, role_id);
        Some(role_id)
    }

    pub(crate) fn role_event(&mut self, name: &'static str, guild_id: u64, role_id: u64) {
        let role = self
            .roles_json(guild_id)
            .into_iter()
            .find(|r| r["id"] == id_str(role_id));
        if let Some(role) = role {
            self.dispatch(Dispatch {
                name,
                data: json!({"guild_id": id_str(guild_id), "role": role}),
                intent: gateway::intents::GUILDS,
                guild_id: Some(guild_id),
                redacted: None,
            });
        }
    }

    pub(crate) fn member_event(&mut self, name: &'static str, guild_id: u64, user_id: u64) {
        let mut data = self.member_json(guild_id, user_id, true, None);
        data["guild_id"] = id_str(guild_id);
        self.dispatch(Dispatch {
            name,
            data,
            intent: gateway::intents::GUILD_MEMBERS,
            guild_id: Some(guild_id),
            redacted: None,
        });
    }

    // ---- channels ----------------------------------------------------------------------------

    pub(crate) fn insert_channel(&mut self, channel: Channel) -> u64 {
        let id = channel.id;
        self.channels.insert(id, channel);
        self.channel_event("CHANNEL_CREATE", id);
        id
    }

    pub(crate) fn channel_updated(&mut self, channel_id: u64) {
        self.channel_event("CHANNEL_UPDATE", channel_id);
    }

    /// Deletes a channel and its messages; a category's children move to no category.
    pub(crate) fn remove_channel(&mut self, channel_id: u64) -> Option<Channel> {
        let data = self
            .channels
            .get(&channel_id)
            .map(|c| self.channel_json(c))?;
        let channel = self.channels.remove(&channel_id)?;
        if let Some(messages) = self.messages.remove(&channel_id) {
            for id in messages.keys() {
                self.message_channel.remove(id);
            }
        }
        if channel.kind == ChannelKind::Dm {
            self.dm_channels.retain(|_, dm| *dm != channel_id);
        }
        if let Some(guild_id) = channel.guild_id {
            self.dispatch(Dispatch {
                name: "CHANNEL_DELETE",
                data,
                intent: gateway::intents::GUILDS,
                guild_id: Some(guild_id),
                redacted: None,
            });
        }
        let children: Vec<u64> = self
            .channels
            .values()
            .filter(|c| c.parent_id == Some(channel_id))
            .map(|c| c.id)
            .collect();
        for child in children {
            if let Some(c) = self.channels.get_mut(&child) {
                c.parent_id = None;
            }
            self.channel_updated(child);
        }
        Some(channel)
    }

    /// The DM channel with a user, created on first use.
    pub(crate) fn dm_channel(&mut self, user_id: u64) -> u64 {
        if let Some(id) = self.dm_channels.get(&user_id) {
            return *id;
        }
        let id = self.next_id();
        self.channels.insert(
            id,
            Channel {
                id,
                kind: ChannelKind::Dm,
                guild_id: None,
                name: None,
                topic: None,
                parent_id: None,
                position: 0,
                overwrites: Vec::new(),
                recipients: vec![user_id],
                last_message_id: None,
                last_pin_ms: None,
            },
        );
        self.dm_channels.insert(user_id, id);
        id
    }

    // ---- messages ----------------------------------------------------------------------------

    pub(crate) fn find_message(&self, message_id: u64) -> Option<&Message> {
        if let Some(channel) = self.message_channel.get(&message_id) {
            return self.messages.get(channel)?.get(&message_id);
        }
        self.ephemeral.get(&message_id)
    }

    pub(crate) fn find_message_mut(&mut self, message_id: u64) -> Option<&mut Message> {
        if let Some(channel) = self.message_channel.get(&message_id) {
            return self.messages.get_mut(channel)?.get_mut(&message_id);
        }
        self.ephemeral.get_mut(&message_id)
    }

    /// A message of a channel (not ephemeral ones).
    pub(crate) fn channel_message(&self, channel_id: u64, message_id: u64) -> Option<&Message> {
        self.messages.get(&channel_id)?.get(&message_id)
    }

    /// Who a message's content mentions and notifies, as Discord decides it: a mention counts when
    /// `allowed_mentions` allows it (everything when absent); a role mention notifies only when the
    /// role is mentionable or the author has MENTION_EVERYONE in the channel, and @everyone/@here
    /// need MENTION_EVERYONE too.
    fn mentions(
        &self,
        content: &str,
        author_id: u64,
        channel_id: u64,
        allowed: Option<&Value>,
    ) -> Mentions {
        let channel = self.channels.get(&channel_id);
        let guild = channel
            .and_then(|c| c.guild_id)
            .and_then(|g| self.guilds.get(&g));
        let may_mention_everyone = channel.is_some_and(|c| {
            c.guild_id.is_some()
                && self.channel_permissions_of(author_id, c) & permissions::MENTION_EVERYONE != 0
        });
        let parse: Option<Vec<&str>> = allowed.map(|a| {
            a["parse"]
                .as_array()
                .map(|p| p.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        });
        let listed = |field: &str, id: u64| {
            allowed.is_some_and(|a| {
                a[field]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(&id.to_string())))
            })
        };
        let allow = |kind: &str, field: &str, id: u64| {
            parse.as_ref().is_none_or(|p| p.contains(&kind)) || listed(field, id)
        };
        let mut found = Mentions::default();
        let mut rest = content;
        while let Some(start) = rest.find("<@") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find('>') else { break };
            let inner = &rest[..end];
            if let Some(role) = inner.strip_prefix('&').and_then(|r| r.parse::<u64>().ok()) {
                let Some(role) = guild.and_then(|g| g.roles.get(&role)) else {
                    continue;
                };
                if allow("roles", "roles", role.id) && !found.roles.contains(&role.id) {
                    found.roles.push(role.id);
                    if role.mentionable || may_mention_everyone {
                        found.notified_roles.push(role.id);
                    }
                }
            } else if let Ok(user) = inner.trim_start_matches('!').parse::<u64>()
                && self.users.contains_key(&user)
                && allow("users", "users", user)
                && !found.users.contains(&user)
            {
                found.users.push(user);
            }
        }
        found.everyone = (content.contains("@everyone") || content.contains("@here"))
            && parse.as_ref().is_none_or(|p| p.contains(&"everyone"))
            && may_mention_everyone;
        found
    }

    /// Stores a message and dispatches MESSAGE_CREATE (ephemeral ones are only stored).
    pub(crate) fn add_message(&mut self, new: NewMessage) -> Message {
        let id = self.next_id();
        let guild_id = self.channels.get(&new.channel_id).and_then(|c| c.guild_id);
        let mentions = self.mentions(
            &new.content,
            new.author_id,
            new.channel_id,
            new.allowed_mentions.as_ref(),
        );
        let message = Message {
            id,
            channel_id: new.channel_id,
            guild_id,
            author_id: new.author_id,
            content: new.content,
            components: new.components,
            embeds: new.embeds,
            attachments: new.attachments,
            kind: new.kind,
            flags: new.flags,
            pinned: false,
            pinned_at_ms: None,
            edited_at_ms: None,
            mentions: mentions.users,
            mention_roles: mentions.roles,
            notified_roles: mentions.notified_roles,
            mention_everyone: mentions.everyone,
            reference: new.reference,
            interaction_id: new.interaction_id,
            webhook_id: new.webhook_id,
        };
        if message.is_ephemeral() {
            self.ephemeral.insert(id, message.clone());
            return message;
        }
        self.messages
            .entry(message.channel_id)
            .or_default()
            .insert(id, message.clone());
        self.message_channel.insert(id, message.channel_id);
        if let Some(channel) = self.channels.get_mut(&message.channel_id) {
            channel.last_message_id = Some(id);
        }
        self.message_event("MESSAGE_CREATE", &message);
        message
    }

    /// Applies an edit (content/components/embeds when given) and dispatches MESSAGE_UPDATE.
    pub(crate) fn edit_message(
        &mut self,
        message_id: u64,
        content: Option<String>,
        components: Option<Vec<Value>>,
        embeds: Option<Vec<Value>>,
        allowed_mentions: Option<&Value>,
    ) -> Option<Message> {
        let message = self.find_message(message_id)?;
        let (author_id, channel_id) = (message.author_id, message.channel_id);
        let mentions = content
            .as_deref()
            .map(|text| self.mentions(text, author_id, channel_id, allowed_mentions));
        let message = self.find_message_mut(message_id)?;
        if let Some(content) = content {
            message.content = content;
        }
        if let Some(mentions) = mentions {
            message.mentions = mentions.users;
            message.mention_roles = mentions.roles;
            message.notified_roles = mentions.notified_roles;
            message.mention_everyone = mentions.everyone;
        }
        if let Some(components) = components {
            message.components = components;
        }
        if let Some(embeds) = embeds {
            message.embeds = embeds;
        }
        message.edited_at_ms = Some(now_ms());
        let message = message.clone();
        self.message_event("MESSAGE_UPDATE", &message);
        Some(message)
    }

    /// Deletes a message and dispatches MESSAGE_DELETE.
    pub(crate) fn remove_message(&mut self, message_id: u64) -> Option<Message> {
        if let Some(message) = self.ephemeral.remove(&message_id) {
            return Some(message);
        }
        let channel_id = self.message_channel.remove(&message_id)?;
        let message = self.messages.get_mut(&channel_id)?.remove(&message_id)?;
        let intent = if message.guild_id.is_some() {
            gateway::intents::GUILD_MESSAGES
        } else {
            gateway::intents::DIRECT_MESSAGES
        };
        let mut data = json!({"id": id_str(message_id), "channel_id": id_str(channel_id)});
        if let Some(guild_id) = message.guild_id {
            data["guild_id"] = id_str(guild_id);
        }
        self.dispatch(Dispatch {
            name: "MESSAGE_DELETE",
            data,
            intent,
            guild_id: message.guild_id,
            redacted: None,
        });
        if message.pinned {
            self.pins_event(channel_id);
        }
        Some(message)
    }

    /// Pinned messages of a channel, most recently pinned first.
    pub(crate) fn pinned(&self, channel_id: u64) -> Vec<&Message> {
        let mut pins: Vec<&Message> = self
            .messages
            .get(&channel_id)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter(|m| m.pinned)
            .collect();
        pins.sort_by_key(|m| std::cmp::Reverse(m.pinned_at_ms));
        pins
    }

    pub(crate) fn pins_event(&mut self, channel_id: u64) {
        let Some(channel) = self.channels.get(&channel_id) else {
            return;
        };
        let last_pin = self.pinned(channel_id).first().and_then(|m| m.pinned_at_ms);
        let guild_id = channel.guild_id;
        let mut data = json!({
            "channel_id": id_str(channel_id),
            "last_pin_timestamp": last_pin.map(iso8601),
        });
        if let Some(guild_id) = guild_id {
            data["guild_id"] = id_str(guild_id);
        }
        let intent = if guild_id.is_some() {
            gateway::intents::GUILDS
        } else {
            gateway::intents::DIRECT_MESSAGES
        };
        self.dispatch(Dispatch {
            name: "CHANNEL_PINS_UPDATE",
            data,
            intent,
            guild_id,
            redacted: None,
        });
    }

    /// Pins a message: MESSAGE_UPDATE, CHANNEL_PINS_UPDATE and the system message "X pinned a
    /// message" (type 6) that Discord posts.
    pub(crate) fn pin_message(&mut self, channel_id: u64, message_id: u64, by: u64) {
        let now = now_ms();
        let Some(message) = self.find_message_mut(message_id) else {
            return;
        };
        if message.pinned {
            return;
        }
        message.pinned = true;
        message.pinned_at_ms = Some(now);
        let message = message.clone();
        if let Some(channel) = self.channels.get_mut(&channel_id) {
            channel.last_pin_ms = Some(now);
        }
        self.message_event("MESSAGE_UPDATE", &message);
        self.pins_event(channel_id);
        self.add_message(NewMessage {
            channel_id,
            author_id: by,
            kind: 6,
            reference: Some(message_id),
            ..NewMessage::default()
        });
    }

    pub(crate) fn unpin_message(&mut self, channel_id: u64, message_id: u64) {
        let Some(message) = self.find_message_mut(message_id) else {
            return;
        };
        if !message.pinned {
            return;
        }
        message.pinned = false;
        message.pinned_at_ms = None;
        let message = message.clone();
        self.message_event("MESSAGE_UPDATE", &message);
        self.pins_event(channel_id);
    }

    /// JSON for a message as the REST API returns it to this app (content withheld without the
    /// MESSAGE_CONTENT intent).
    pub(crate) fn rest_message_json(&self, message: &Message) -> Value {
        let mut value = self.message_json(message);
        if !self.config.message_content_intent && !self.content_exempt(message) {
            redact_content(&mut value);
        }
        value
    }

    pub(crate) fn dm_channel_json(&self, channel_id: u64) -> Value {
        self.channels
            .get(&channel_id)
            .map_or(Value::Null, |channel| self.channel_json(channel))
    }
}

/// The state plus a change counter that `wait_for` watches.
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn new(state: State) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            changed: watch::Sender::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state usable for assertions.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` with exclusive access and tells waiters something may have changed.
    pub(crate) fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = f(&mut self.lock());
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
        result
    }

    /// Runs `f` with read access.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
