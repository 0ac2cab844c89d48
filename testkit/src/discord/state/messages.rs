//! Messages: storing, editing and deleting them with the mentions Discord resolves, and pins.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Dispatch, NewMessage, State};
use crate::discord::model::Message;
use crate::discord::permissions;
use crate::discord::session::intents;
use crate::discord::snowflake::{id_str, iso8601, now_ms};

/// What a message's content mentions, and whom it notifies.
#[derive(Debug, Default)]
struct Mentions {
    users: Vec<u64>,
    roles: Vec<u64>,
    notified_roles: Vec<u64>,
    everyone: bool,
}

impl State {
    fn message_event(&mut self, name: &'static str, message: &Message) {
        if message.is_ephemeral() {
            return;
        }
        let (data, redacted) = self.message_dispatch_json(message);
        let intent = if message.guild_id.is_some() {
            intents::GUILD_MESSAGES
        } else {
            intents::DIRECT_MESSAGES
        };
        self.dispatch(Dispatch {
            name,
            data,
            intent,
            guild_id: message.guild_id,
            redacted,
        });
    }

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
        // A message in an archived (unlocked) thread unarchives it; sending was allowed only if
        // it may be.
        self.set_thread_archived(message.channel_id, false);
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
            intents::GUILD_MESSAGES
        } else {
            intents::DIRECT_MESSAGES
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
            intents::GUILDS
        } else {
            intents::DIRECT_MESSAGES
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
}
