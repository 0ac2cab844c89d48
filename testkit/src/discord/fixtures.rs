//! The world most tests start from, built in one place: the "Support" guild of a ticket bot,
//! with a channel category for tickets, the panel and log channels, a staff role, a moderator
//! role and four members.

use super::control::{ChannelSpec, Control};
use super::permissions::{
    ATTACH_FILES, EMBED_LINKS, MANAGE_CHANNELS, MANAGE_MESSAGES, MANAGE_ROLES, MENTION_EVERYONE,
    PIN_MESSAGES, READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL,
};

/// What a ticket bot holds in its guild: enough to run tickets, nothing more. Mention Everyone
/// lets the first message notify the ticket roles, which are not mentionable (as new roles are
/// not).
pub const TICKET_BOT_PERMISSIONS: u64 = MENTION_EVERYONE
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ATTACH_FILES
    | EMBED_LINKS
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | MANAGE_MESSAGES
    | PIN_MESSAGES;

/// The "Support" guild and everything in it, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportGuild {
    /// The guild's id, which is also its @everyone role's id.
    pub guild: u64,
    /// The channel category ticket channels go under ("Tickets").
    pub parent: u64,
    /// The text channel the panel is posted in ("open-a-ticket").
    pub create_channel: u64,
    /// The text channel closed tickets are logged in ("ticket-log").
    pub log_channel: u64,
    /// A role with no permission of its own ("Staff"): the ticket role.
    pub staff_role: u64,
    /// A role that may manage channels ("Moderators").
    pub moderator_role: u64,
    /// A member without roles, who opens tickets ("alice").
    pub alice: u64,
    /// A member with the staff role ("bob").
    pub bob: u64,
    /// A member with no role and no special permission ("carol").
    pub carol: u64,
    /// A member with the moderator role ("morgan").
    pub moderator: u64,
}

impl SupportGuild {
    /// Builds the guild in the emulator, the bot holding `bot_permissions` (usually
    /// [`TICKET_BOT_PERMISSIONS`]; fewer to test what a missing permission does).
    ///
    /// # Panics
    ///
    /// When the emulator refuses a channel, role or member, which it does only when full.
    pub fn create(control: &Control, bot_permissions: u64) -> Self {
        let guild = control.create_guild("Support", bot_permissions);
        let channel = |spec| {
            control
                .create_channel(guild, spec)
                .expect("a new guild has room for the fixture's channels")
        };
        let parent = channel(ChannelSpec::category("Tickets"));
        let create_channel = channel(ChannelSpec::text("open-a-ticket"));
        let log_channel = channel(ChannelSpec::text("ticket-log"));
        let role = |name: &str, permissions| {
            control
                .create_role(guild, name, permissions)
                .expect("a new guild has room for the fixture's roles")
        };
        let staff_role = role("Staff", 0);
        let moderator_role = role("Moderators", MANAGE_CHANNELS);
        let member = |name: &str, roles: &[u64]| {
            let user = control.create_user(name);
            control
                .add_member(guild, user, roles)
                .expect("the fixture's members join its guild");
            user
        };
        Self {
            guild,
            parent,
            create_channel,
            log_channel,
            staff_role,
            moderator_role,
            alice: member("alice", &[]),
            bob: member("bob", &[staff_role]),
            carol: member("carol", &[]),
            moderator: member("morgan", &[moderator_role]),
        }
    }
}
