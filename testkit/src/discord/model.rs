//! The emulator's state as tests see it: users, guilds, channels, messages, interactions.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::modal::Modal;

/// Message flag: only the clicking user sees the message.
pub const EPHEMERAL_FLAG: u64 = 1 << 6;

/// A Discord user known to the emulator (people and the bot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Snowflake id.
    pub id: u64,
    /// Unique username.
    pub username: String,
    /// Display name, if set.
    pub global_name: Option<String>,
    /// Whether this is a bot account.
    pub bot: bool,
    /// Whether the user accepts DMs from the bot (else sending fails with 50007).
    pub accepts_dms: bool,
}

/// A guild role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Snowflake id; the @everyone role's id is the guild id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Guild-level permission bits.
    pub permissions: u64,
    /// Position in the hierarchy; @everyone is 0.
    pub position: i64,
    /// Whether an integration (the bot's own role) manages it.
    pub managed: bool,
    /// Whether anyone may notify it with `<@&id>`; new roles are not, as on Discord. Otherwise only
    /// a sender with MENTION_EVERYONE notifies it.
    pub mentionable: bool,
}

/// A user's membership of one guild: the roles and nickname that guild gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's user id.
    pub user_id: u64,
    /// Role ids, @everyone excluded.
    pub roles: Vec<u64>,
    /// Nickname in this guild; `None` shows the user's own name.
    pub nick: Option<String>,
    /// When the member joined, Unix milliseconds.
    pub joined_at_ms: u64,
}

/// A guild with its roles and members; its channels are kept apart, each naming its guild
/// ([`Channel::guild_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guild {
    /// Snowflake id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The owner's user id.
    pub owner_id: u64,
    /// Roles by id, @everyone included.
    pub roles: std::collections::BTreeMap<u64, Role>,
    /// Members by user id.
    pub members: std::collections::BTreeMap<u64, Member>,
}

/// Channel types the emulator models, with Discord's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A guild text channel (0).
    Text,
    /// A direct message channel (1).
    Dm,
    /// A guild voice channel (2).
    Voice,
    /// A guild category (4).
    Category,
    /// A guild announcement channel (5).
    Announcement,
    /// A private thread of a text channel (12): visible only to its members and to those who
    /// may manage threads in the parent channel.
    PrivateThread,
}

impl ChannelKind {
    /// Discord's numeric channel type.
    pub fn code(self) -> u64 {
        match self {
            Self::Text => 0,
            Self::Dm => 1,
            Self::Voice => 2,
            Self::Category => 4,
            Self::Announcement => 5,
            Self::PrivateThread => 12,
        }
    }

    /// The kind for a numeric channel type a guild may create, if modelled.
    pub fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Text),
            1 => Some(Self::Dm),
            2 => Some(Self::Voice),
            4 => Some(Self::Category),
            5 => Some(Self::Announcement),
            _ => None,
        }
    }

    /// Whether messages can be sent in channels of this kind.
    pub fn holds_messages(self) -> bool {
        matches!(
            self,
            Self::Text | Self::Dm | Self::Announcement | Self::PrivateThread
        )
    }

    /// Whether channels of this kind are threads (made in a channel, not in the guild's list).
    pub fn is_thread(self) -> bool {
        self == Self::PrivateThread
    }
}

/// Whether a permission overwrite targets a role or a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverwriteKind {
    /// Type 0: a role (the @everyone role id is the guild id).
    Role,
    /// Type 1: a member.
    Member,
}

/// A channel permission overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    /// Role or user id.
    pub id: u64,
    /// What `id` names.
    pub kind: OverwriteKind,
    /// Permission bits allowed.
    pub allow: u64,
    /// Permission bits denied.
    pub deny: u64,
}

impl Overwrite {
    /// An overwrite for a role.
    pub fn role(id: u64, allow: u64, deny: u64) -> Self {
        Self {
            id,
            kind: OverwriteKind::Role,
            allow,
            deny,
        }
    }

    /// An overwrite for a member.
    pub fn member(id: u64, allow: u64, deny: u64) -> Self {
        Self {
            id,
            kind: OverwriteKind::Member,
            allow,
            deny,
        }
    }
}

/// A channel (guild channel, category or DM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Snowflake id.
    pub id: u64,
    /// Channel type.
    pub kind: ChannelKind,
    /// The guild, for guild channels.
    pub guild_id: Option<u64>,
    /// Name (guild channels).
    pub name: Option<String>,
    /// Topic (text channels).
    pub topic: Option<String>,
    /// The category a guild channel sits in.
    pub parent_id: Option<u64>,
    /// Position among the channels of the same parent; a new channel comes last unless its
    /// creator gives one.
    pub position: i64,
    /// Permission overwrites; a channel made under a category without any of its own starts with
    /// the category's.
    pub overwrites: Vec<Overwrite>,
    /// DM recipients (the other user).
    pub recipients: Vec<u64>,
    /// The newest message's id.
    pub last_message_id: Option<u64>,
    /// When a message was last pinned, Unix milliseconds.
    pub last_pin_ms: Option<u64>,
    /// What only a thread has: its members, owner and archive state (`None` for other kinds).
    pub thread: Option<Thread>,
}

/// The thread-only facts of a thread channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Who created it (a member from the start).
    pub owner_id: u64,
    /// Its members, in the order they joined.
    pub members: Vec<u64>,
    /// Whether it is archived (hidden from the active list until a message unarchives it).
    pub archived: bool,
    /// Whether only those who may manage threads can unarchive it.
    pub locked: bool,
    /// Whether members who may not manage threads can add others.
    pub invitable: bool,
    /// Minutes without activity after which Discord archives it: 60, 1440, 4320 or 10080.
    pub auto_archive_minutes: u64,
    /// When it was created, Unix milliseconds.
    pub created_ms: u64,
    /// When it was last archived or unarchived, Unix milliseconds.
    pub archive_changed_ms: u64,
}

/// A file attached to a message; the emulator serves its bytes at the attachment's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Snowflake id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub data: Arc<Vec<u8>>,
}

/// A message as stored by the emulator (ephemeral interaction responses included).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Snowflake id; its timestamp is the message's creation time.
    pub id: u64,
    /// The channel it was sent in.
    pub channel_id: u64,
    /// The guild, for guild channels.
    pub guild_id: Option<u64>,
    /// Author's user id.
    pub author_id: u64,
    /// Text content.
    pub content: String,
    /// Components (action rows) as Discord JSON.
    pub components: Vec<Value>,
    /// Embeds as Discord JSON.
    pub embeds: Vec<Value>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Message type (0 default, 6 channel pinned message, 19 reply).
    pub kind: u64,
    /// Message flags (64 ephemeral, 128 loading).
    pub flags: u64,
    /// Whether it is pinned.
    pub pinned: bool,
    /// When it was pinned, Unix milliseconds.
    pub pinned_at_ms: Option<u64>,
    /// When it was last edited, Unix milliseconds.
    pub edited_at_ms: Option<u64>,
    /// Mentioned user ids.
    pub mentions: Vec<u64>,
    /// Mentioned role ids (in the content and allowed by `allowed_mentions`).
    pub mention_roles: Vec<u64>,
    /// The mentioned roles whose members were actually notified: the role is mentionable or the
    /// author has MENTION_EVERYONE in the channel. Discord shows the others highlighted, silently.
    pub notified_roles: Vec<u64>,
    /// Whether @everyone or @here was mentioned (and allowed).
    pub mention_everyone: bool,
    /// The message this one replies to or refers to.
    pub reference: Option<u64>,
    /// The interaction this message answers.
    pub interaction_id: Option<u64>,
    /// Set for messages sent through an interaction webhook (the application id).
    pub webhook_id: Option<u64>,
}

impl Message {
    /// Whether this is an ephemeral interaction response (never in channel history).
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL_FLAG != 0
    }

    /// Every button's custom id on the message, in order.
    pub fn button_custom_ids(&self) -> Vec<String> {
        self.components
            .iter()
            .filter_map(|row| row.get("components").and_then(Value::as_array))
            .flatten()
            .filter(|component| component.get("type").and_then(Value::as_u64) == Some(2))
            .filter_map(|button| button.get("custom_id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }
}

/// Where an interaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    /// Sent to the bot, not yet acknowledged, deadline not passed.
    Pending,
    /// Acknowledged in time.
    Acknowledged,
    /// Not acknowledged in time: the user saw "This interaction failed".
    Failed,
}

/// What happened to a click or a modal submit: the bot's acknowledgement or the failure the user saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionOutcome {
    /// The interaction's id.
    #[serde(serialize_with = "serialize_id")]
    pub interaction_id: u64,
    /// The interaction's token.
    pub token: String,
    /// Acknowledged, or failed ("This interaction failed").
    pub status: InteractionStatus,
    /// Time from sending INTERACTION_CREATE to the accepted callback.
    pub ack_latency: Option<Duration>,
    /// The callback type (4, 5, 6, 7 or 9).
    pub callback_type: Option<u64>,
    /// The callback's message flags (64 = ephemeral).
    pub flags: u64,
    /// The callback's `data` as sent.
    pub data: Option<Value>,
    /// The modal shown, when the bot answered with one (type 9), validated and read back.
    pub modal: Option<Modal>,
}

impl InteractionOutcome {
    /// Whether the user saw "This interaction failed".
    pub fn failed(&self) -> bool {
        self.status == InteractionStatus::Failed
    }

    /// Whether the response was ephemeral (flags 64).
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL_FLAG != 0
    }

    /// The response content, if the callback carried any.
    pub fn content(&self) -> Option<&str> {
        self.data.as_ref()?.get("content")?.as_str()
    }
}

/// An interaction and everything the bot did with it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionView {
    /// The interaction's id.
    pub id: u64,
    /// The interaction's token.
    pub token: String,
    /// The interaction type: 3 MESSAGE_COMPONENT (a click) or 5 MODAL_SUBMIT.
    pub kind: u64,
    /// For a modal submit, the interaction whose modal it submitted.
    pub opened_by: Option<u64>,
    /// The clicking (or submitting) user.
    pub user_id: u64,
    /// The channel of the clicked message.
    pub channel_id: u64,
    /// The clicked message (for a modal submit, the one clicked to open the modal).
    pub message_id: u64,
    /// The clicked component's custom id; for a modal submit, the modal's.
    pub custom_id: String,
    /// Pending, acknowledged or failed.
    pub status: InteractionStatus,
    /// The callback type, once acknowledged.
    pub callback_type: Option<u64>,
    /// The modal the bot answered with (type 9).
    pub modal: Option<Modal>,
    /// The original response message (for types 4 and 5; the clicked message for 6 and 7).
    pub original_response: Option<Message>,
    /// Follow-up messages, oldest first.
    pub followups: Vec<Message>,
}

/// A gateway session as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewaySession {
    /// The session id sent in READY.
    pub session_id: String,
    /// Whether a websocket is attached right now.
    pub connected: bool,
    /// The last sequence number dispatched to the session.
    pub seq: u64,
    /// The intents it identified with.
    pub intents: u64,
    /// `[shard_id, shard_count]`.
    pub shard: [u64; 2],
    /// Whether a RESUME would still be accepted (not invalidated; expiry is judged at RESUME).
    pub resumable: bool,
}

/// One REST request the emulator answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    /// HTTP method, upper case (`POST`).
    pub method: String,
    /// Path under /api/v10 with the query, e.g. `/channels/1/messages?limit=100`.
    pub path: String,
    /// Route template, e.g. `/channels/{channel_id}/messages`.
    pub route: String,
    /// The status answered, refusals included: bad auth, rate limits and injected faults.
    pub status: u16,
    /// JSON request body, if any.
    pub body: Option<Value>,
    /// Rate-limit bucket id, if the route has one.
    pub bucket: Option<String>,
    /// Whether Discord's global limit counts it (interaction routes are exempt; so is a path no
    /// route matches, here as a rule the emulator cannot judge).
    pub global: bool,
    /// Time since the emulator started.
    pub at: Duration,
}

/// Serialises a snowflake as a string, as Discord does.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference
pub(crate) fn serialize_id<S: serde::Serializer>(
    id: &u64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&id.to_string())
}
