//! The bot's slash commands as Discord sees them: their definitions (`definition`), what an
//! invocation asks for (`parse`), and keeping each guild's registered set equal to the
//! definitions (`register`). What each command does is in [`crate::interactions`].
//!
//! - `/ticket add|remove|claim|unclaim|close|request-close|rename|move`: the staff tools. Discord
//!   shows `/ticket` to members who can manage channels; a server's admins can show it to the
//!   ticket roles too (Server Settings → Integrations), which no bot can do for them.
//! - `/close [reason]`: visible to everyone, for the creator of a ticket (and staff) to close it.

mod definition;
mod parse;
mod register;

pub(crate) use parse::{TicketCommand, UnknownCommand};
pub(crate) use register::register_commands;
