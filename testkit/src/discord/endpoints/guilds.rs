//! The guild resource: the guild, its channels (listing and creating them), roles and members.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::checks::{check_overwrite_targets, check_overwrites, member_guild};
use super::{Reply, Request, ok};
use crate::discord::api_error::ApiError;
use crate::discord::model::{Channel, ChannelKind};
use crate::discord::permissions::{MANAGE_CHANNELS, MANAGE_ROLES};
use crate::discord::state::State;
use crate::discord::validate::channel_draft;

/// `GET /guilds/{guild_id}`: the REST guild has no gateway extras, but a member count.
pub(crate) fn guild(state: &State, guild_id: u64) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    let mut guild = state.guild_json(guild_id, false, false);
    guild["approximate_member_count"] =
        json!(state.guilds.get(&guild_id).map_or(0, |g| g.members.len()));
    Ok(ok(guild))
}

/// `GET /guilds/{guild_id}/channels`, by position.
pub(crate) fn channels(state: &State, guild_id: u64) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    // Threads are not among a guild's channels (GET /guilds/{id}/threads/active lists them).
    let mut channels: Vec<&Channel> = state
        .channels
        .values()
        .filter(|c| c.guild_id == Some(guild_id) && !c.kind.is_thread())
        .collect();
    channels.sort_by_key(|c| (c.position, c.id));
    Ok(ok(Value::Array(
        channels
            .into_iter()
            .map(|c| state.channel_json(c))
            .collect(),
    )))
}

/// `POST /guilds/{guild_id}/channels`.
pub(crate) fn create_channel(
    state: &mut State,
    guild_id: u64,
    body: &Value,
) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    let draft = channel_draft(body)?;
    let bot = state.bot_id();
    let parent = match draft.parent_id {
        Some(parent_id) => {
            let parent = state
                .channels
                .get(&parent_id)
                .filter(|c| c.guild_id == Some(guild_id) && c.kind == ChannelKind::Category)
                .filter(|_| draft.kind != ChannelKind::Category)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        &["parent_id"],
                        "CHANNEL_PARENT_INVALID_TYPE",
                        "Not a category",
                    )
                })?;
            Some(parent)
        }
        None => None,
    };
    let held = match &parent {
        Some(parent) => state.permissions(guild_id, bot, Some(parent)),
        None => state.permissions(guild_id, bot, None),
    };
    if held & MANAGE_CHANNELS == 0 {
        return Err(ApiError::missing_permissions());
    }
    if let Some(overwrites) = draft.overwrites.as_ref().filter(|o| !o.is_empty()) {
        check_overwrite_targets(state, guild_id, overwrites)?;
        // Create Guild Channel checks overwrites against the bot's guild-level permissions:
        // what it holds only through the parent category's overwrites does not count.
        check_overwrites(state.permissions(guild_id, bot, None), overwrites)?;
    }
    // Threads do not count towards the 500.
    let guild_channels = state
        .channels
        .values()
        .filter(|c| c.guild_id == Some(guild_id) && !c.kind.is_thread())
        .count();
    if guild_channels >= state.config.max_guild_channels {
        return Err(ApiError::max_guild_channels(
            state.config.max_guild_channels,
        ));
    }
    if let Some(parent) = &parent {
        check_room_in_category(state, parent.id)?;
    }
    let position = draft.position.unwrap_or_else(|| {
        state
            .channels
            .values()
            .filter(|c| c.guild_id == Some(guild_id) && c.parent_id == draft.parent_id)
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0)
    });
    let id = state.next_id();
    // A channel created in a category without overwrites is synced with the category.
    let overwrites = draft.overwrites.unwrap_or_else(|| {
        parent
            .as_ref()
            .map(|p| p.overwrites.clone())
            .unwrap_or_default()
    });
    let channel = Channel {
        id,
        kind: draft.kind,
        guild_id: Some(guild_id),
        name: Some(draft.name),
        topic: draft.topic,
        parent_id: draft.parent_id,
        position,
        overwrites,
        recipients: Vec::new(),
        last_message_id: None,
        last_pin_ms: None,
        thread: None,
    };
    let json = state.channel_json(&channel);
    state.insert_channel(channel);
    Ok(Reply::Json(StatusCode::CREATED, json))
}

/// `GET /guilds/{guild_id}/roles`.
pub(crate) fn roles(state: &State, guild_id: u64) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    Ok(ok(Value::Array(state.roles_json(guild_id))))
}

/// `GET /guilds/{guild_id}/members`: paged by user id; refused without the GUILD_MEMBERS intent.
pub(crate) fn members(
    state: &State,
    guild_id: u64,
    request: &Request<'_>,
) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    if !state.config.guild_members_intent {
        return Err(ApiError::missing_access());
    }
    let limit = request.limit(1, 1000, 1)?;
    let after = request
        .query("after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let members: Vec<Value> = state
        .guilds
        .get(&guild_id)
        .map(|g| {
            g.members
                .keys()
                .copied()
                .filter(|u| *u > after)
                .take(limit)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|user| state.member_json(guild_id, user, true, None))
        .collect();
    Ok(ok(Value::Array(members)))
}

/// `GET /guilds/{guild_id}/members/{user_id}`.
pub(crate) fn member(state: &State, guild_id: u64, user_id: u64) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    if !state
        .guilds
        .get(&guild_id)
        .is_some_and(|g| g.members.contains_key(&user_id))
    {
        return Err(ApiError::unknown_member());
    }
    Ok(ok(state.member_json(guild_id, user_id, true, None)))
}

/// `PUT` (`add`) or `DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}`.
pub(crate) fn change_member_role(
    state: &mut State,
    guild_id: u64,
    user_id: u64,
    role_id: u64,
    add: bool,
) -> Result<Reply, ApiError> {
    member_guild(state, guild_id)?;
    let guild = state
        .guilds
        .get(&guild_id)
        .ok_or_else(ApiError::unknown_guild)?;
    if !guild.members.contains_key(&user_id) {
        return Err(ApiError::unknown_member());
    }
    let role = guild
        .roles
        .get(&role_id)
        .cloned()
        .ok_or_else(ApiError::unknown_role)?;
    let held = state.permissions(guild_id, state.bot_id(), None);
    let above = state.top_role_position(guild_id, state.bot_id()) > role.position;
    if held & MANAGE_ROLES == 0 || !above || role.managed || role.id == guild_id {
        return Err(ApiError::missing_permissions());
    }
    if let Some(member) = state
        .guilds
        .get_mut(&guild_id)
        .and_then(|g| g.members.get_mut(&user_id))
    {
        member.roles.retain(|r| *r != role_id);
        if add {
            member.roles.push(role_id);
        }
    }
    state.member_event("GUILD_MEMBER_UPDATE", guild_id, user_id);
    Ok(Reply::NoContent)
}

/// Discord's refusal of one more channel in a category that holds its maximum (50), whether the
/// channel is created there or moved there.
pub(crate) fn check_room_in_category(state: &State, parent_id: u64) -> Result<(), ApiError> {
    let children = state
        .channels
        .values()
        .filter(|c| c.parent_id == Some(parent_id))
        .count();
    if children >= state.config.max_channels_per_category {
        return Err(ApiError::invalid_field(
            &["parent_id"],
            "CHANNEL_PARENT_MAX_CHANNELS",
            &format!(
                "Maximum number of channels in category reached ({})",
                state.config.max_channels_per_category
            ),
        ));
    }
    Ok(())
}
