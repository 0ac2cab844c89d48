//! The guards several resources share, each failing with the error Discord sends for it.

use crate::discord::api_error::ApiError;
use crate::discord::model::{Channel, Overwrite, OverwriteKind};
use crate::discord::permissions::{ADMINISTRATOR, MANAGE_ROLES, VIEW_CHANNEL};
use crate::discord::state::State;

/// A guild the bot is a member of.
pub(crate) fn member_guild(state: &State, guild_id: u64) -> Result<(), ApiError> {
    let guild = state
        .guilds
        .get(&guild_id)
        .ok_or_else(ApiError::unknown_guild)?;
    if guild.members.contains_key(&state.bot_id()) {
        Ok(())
    } else {
        Err(ApiError::missing_access())
    }
}

/// A channel the bot can see: 10003 if unknown, 50001 Missing Access without VIEW_CHANNEL.
pub(crate) fn visible_channel(state: &State, channel_id: u64) -> Result<Channel, ApiError> {
    let channel = state
        .channels
        .get(&channel_id)
        .ok_or_else(ApiError::unknown_channel)?;
    if state.channel_permissions_of(state.bot_id(), channel) & VIEW_CHANNEL == 0 {
        return Err(ApiError::missing_access());
    }
    Ok(channel.clone())
}

pub(crate) fn require(state: &State, channel: &Channel, bits: u64) -> Result<(), ApiError> {
    if state.channel_permissions_of(state.bot_id(), channel) & bits == bits {
        Ok(())
    } else {
        Err(ApiError::missing_permissions())
    }
}

pub(crate) fn require_guild_channel(channel: &Channel) -> Result<u64, ApiError> {
    channel.guild_id.ok_or_else(ApiError::dm_action)
}

/// Every overwrite must name a role of the guild (10011 Unknown Role) or a known user
/// (10013 Unknown User).
pub(crate) fn check_overwrite_targets(
    state: &State,
    guild_id: u64,
    overwrites: &[Overwrite],
) -> Result<(), ApiError> {
    let guild = state
        .guilds
        .get(&guild_id)
        .ok_or_else(ApiError::unknown_guild)?;
    for overwrite in overwrites {
        match overwrite.kind {
            OverwriteKind::Role if !guild.roles.contains_key(&overwrite.id) => {
                return Err(ApiError::unknown_role());
            }
            OverwriteKind::Member if !state.users.contains_key(&overwrite.id) => {
                return Err(ApiError::unknown_user());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Overwrites may only allow or deny what the bot itself has; MANAGE_ROLES only for admins.
pub(crate) fn check_overwrites(held: u64, overwrites: &[Overwrite]) -> Result<(), ApiError> {
    if held & ADMINISTRATOR != 0 {
        return Ok(());
    }
    let beyond_own = overwrites
        .iter()
        .any(|o| (o.allow | o.deny) & !held != 0 || (o.allow | o.deny) & MANAGE_ROLES != 0);
    if held & MANAGE_ROLES == 0 || beyond_own {
        return Err(ApiError::missing_permissions());
    }
    Ok(())
}
