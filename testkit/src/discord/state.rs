//! The emulator's single source of truth and the operations on it that REST, the gateway and the
//! control handle share. Every mutation dispatches the gateway events Discord would send, under
//! the same lock, so event order always matches the order of changes.
//!
//! Here are the data, the permissions computed from it and the dispatch into the sessions; the
//! primitives that change it are by area in `guilds`, `channels`, `messages`, `sessions`,
//! `interactions` (a user's click and its acknowledgement deadline) and `modals` (a modal's
//! submit), and `json` writes it in Discord's JSON shapes.

mod channels;
mod commands;
mod guilds;
mod interactions;
mod json;
mod messages;
mod modals;
mod sessions;
mod threads;

pub(crate) use interactions::PendingClick;
pub(crate) use threads::NewThread;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::EmulatorConfig;
use super::command::ApplicationCommand;
use super::faults::ArmedFault;
use super::modal::Modal;
use super::model::{Attachment, Channel, Guild, InteractionStatus, Message, RequestRecord, User};
use super::permissions::{self, MemberFacts};
use super::ratelimit::{InvalidRequests, RateLimiter};
use super::session::{Session, intents};
use super::snowflake::SnowflakeGenerator;

/// The acknowledgement a bot gave an interaction.
#[derive(Debug, Clone)]
pub(crate) struct Ack {
    pub(crate) latency: Duration,
    pub(crate) callback_type: u64,
    pub(crate) flags: u64,
    pub(crate) data: Option<Value>,
    /// The modal shown, for a MODAL (type 9) callback.
    pub(crate) modal: Option<Modal>,
}

/// An interaction sent to the bot.
#[derive(Debug)]
pub(crate) struct Interaction {
    pub(crate) id: u64,
    pub(crate) token: String,
    /// 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT (a click) or 5 MODAL_SUBMIT.
    pub(crate) kind: u64,
    /// For a modal submit, the interaction whose modal it submits.
    pub(crate) opened_by: Option<u64>,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    /// The clicked message; for a modal submit, the message of the click the modal answered.
    pub(crate) message_id: u64,
    pub(crate) user_id: u64,
    /// The clicked button's custom id; for a modal submit, the modal's.
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

impl Dispatch {
    /// An event every session with `intent` receives the same.
    pub(crate) fn plain(
        name: &'static str,
        guild_id: Option<u64>,
        data: Value,
        intent: u64,
    ) -> Self {
        Self {
            name,
            data,
            intent,
            guild_id,
            redacted: None,
        }
    }
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
    /// Guild application commands per guild, in the order last written.
    pub(crate) guild_commands: HashMap<u64, Vec<ApplicationCommand>>,
    /// Roles a server admin allowed a command for (guild, command name), past its
    /// `default_member_permissions`.
    pub(crate) command_role_grants: HashMap<(u64, String), Vec<u64>>,
    /// Global application commands.
    pub(crate) global_commands: Vec<ApplicationCommand>,
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
            guild_commands: HashMap::new(),
            command_role_grants: HashMap::new(),
            global_commands: Vec::new(),
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
            Some(channel) if channel.kind.is_thread() => self.thread_permissions(&facts, channel),
            Some(channel) => permissions::channel_permissions(&facts, &channel.overwrites),
            None => permissions::base_permissions(&facts),
        }
    }

    /// A thread has no overwrites: a member holds there what they hold in its parent channel,
    /// sends with Send Messages in Threads instead of Send Messages, and sees a private thread
    /// only as one of its members or with Manage Threads in the parent.
    fn thread_permissions(&self, facts: &MemberFacts<'_>, thread: &Channel) -> u64 {
        let in_parent = thread
            .parent_id
            .and_then(|parent| self.channels.get(&parent))
            .map_or(0, |parent| {
                permissions::channel_permissions(facts, &parent.overwrites)
            });
        let manages = in_parent & permissions::MANAGE_THREADS != 0;
        let member = thread
            .thread
            .as_ref()
            .is_some_and(|t| t.members.contains(&facts.user_id));
        if in_parent & permissions::VIEW_CHANNEL == 0 || !(member || manages) {
            return 0;
        }
        let locked = thread
            .thread
            .as_ref()
            .is_some_and(|t| t.locked && t.archived);
        let mut held = in_parent & !permissions::SEND_MESSAGES;
        if in_parent & permissions::SEND_MESSAGES_IN_THREADS != 0 && (!locked || manages) {
            held |= permissions::SEND_MESSAGES;
        }
        held
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
                Some(redacted) if session.intents & intents::MESSAGE_CONTENT == 0 => redacted,
                _ => &full,
            };
            session.push_dispatch(event.name, payload);
        }
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
