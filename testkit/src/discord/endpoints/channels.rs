//! The channel resource: reading, modifying and deleting a channel, and its permission
//! overwrites.

use serde_json::Value;

use super::checks::{
    check_overwrite_targets, check_overwrites, require, require_guild_channel, visible_channel,
};
use super::{Reply, ok};
use crate::discord::api_error::{ApiError, FormErrors};
use crate::discord::model::{Channel, ChannelKind, Overwrite, OverwriteKind};
use crate::discord::permissions::{MANAGE_CHANNELS, MANAGE_ROLES, MANAGE_THREADS};
use crate::discord::state::State;
use crate::discord::validate::{self, snowflake};

/// `GET /channels/{channel_id}`.
pub(crate) fn get(state: &State, channel_id: u64) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    Ok(ok(state.channel_json(&channel)))
}

/// `PATCH /channels/{channel_id}`.
pub(crate) fn modify(state: &mut State, channel_id: u64, body: &Value) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    let guild_id = require_guild_channel(&channel)?;
    if channel.kind.is_thread() {
        return modify_thread(state, &channel, body);
    }
    require(state, &channel, MANAGE_CHANNELS)?;
    let mut errors = FormErrors::default();
    let overwrites = body
        .get("permission_overwrites")
        .filter(|v| !v.is_null())
        .map(|v| validate::overwrites(v, &mut errors, "permission_overwrites"));
    if let Some(name) = body.get("name").and_then(Value::as_str)
        && !(1..=100).contains(&name.chars().count())
    {
        errors.push(
            vec!["name".into()],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_form(&errors));
    }
    if let Some(overwrites) = &overwrites {
        check_overwrite_targets(state, guild_id, overwrites)?;
        let held = state.permissions(guild_id, state.bot_id(), Some(&channel));
        check_overwrites(held, overwrites)?;
    }
    let new_parent = match body.get("parent_id") {
        Some(Value::Null) => Some(None),
        Some(value) => {
            let parent = snowflake(value).filter(|p| {
                state.channels.get(p).is_some_and(|c| {
                    c.kind == ChannelKind::Category && c.guild_id == Some(guild_id)
                })
            });
            match parent {
                Some(parent) => Some(Some(parent)),
                None => {
                    return Err(ApiError::invalid_field(
                        &["parent_id"],
                        "CHANNEL_PARENT_INVALID_TYPE",
                        "Not a category",
                    ));
                }
            }
        }
        None => None,
    };
    if let Some(Some(parent)) = new_parent
        && channel.parent_id != Some(parent)
    {
        super::guilds::check_room_in_category(state, parent)?;
    }
    if let Some(c) = state.channels.get_mut(&channel_id) {
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            c.name = Some(validate::normalise_channel_name(c.kind, name));
        }
        if let Some(topic) = body.get("topic") {
            c.topic = topic.as_str().map(str::to_owned);
        }
        if let Some(position) = body.get("position").and_then(Value::as_i64) {
            c.position = position;
        }
        if let Some(parent) = new_parent {
            c.parent_id = parent;
        }
        if let Some(overwrites) = overwrites {
            c.overwrites = overwrites;
        }
    }
    state.channel_updated(channel_id);
    let updated = state
        .channels
        .get(&channel_id)
        .map(|c| state.channel_json(c))
        .unwrap_or_default();
    Ok(ok(updated))
}

/// `PATCH /channels/{thread_id}`: a thread's name (kept as given, not made a slug), archive and
/// lock state; its creator or whoever may manage threads in its parent.
fn modify_thread(state: &mut State, thread: &Channel, body: &Value) -> Result<Reply, ApiError> {
    let owner = thread
        .thread
        .as_ref()
        .is_some_and(|t| t.owner_id == state.bot_id());
    let locks = body.get("locked").is_some_and(|v| !v.is_null());
    if !owner || locks {
        require(state, thread, MANAGE_THREADS)?;
    }
    if let Some(name) = body.get("name").and_then(Value::as_str)
        && !(1..=100).contains(&name.chars().count())
    {
        return Err(ApiError::invalid_field(
            &["name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    let archived = body.get("archived").and_then(Value::as_bool);
    let still_archived =
        thread.thread.as_ref().is_some_and(|t| t.archived) && archived != Some(false);
    if still_archived && body.get("name").is_some() {
        return Err(ApiError::thread_archived());
    }
    if let Some(c) = state.channels.get_mut(&thread.id) {
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            c.name = Some(name.to_owned());
        }
        if let Some(t) = c.thread.as_mut()
            && let Some(locked) = body.get("locked").and_then(Value::as_bool)
        {
            t.locked = locked;
        }
    }
    match archived {
        Some(archived) => state.set_thread_archived(thread.id, archived),
        None => state.thread_updated(thread.id),
    }
    let updated = state
        .channels
        .get(&thread.id)
        .map(|c| state.channel_json(c))
        .unwrap_or_default();
    Ok(ok(updated))
}

/// `DELETE /channels/{channel_id}`: closing a DM needs no permission; deleting a thread needs
/// Manage Threads in its parent.
pub(crate) fn delete(state: &mut State, channel_id: u64) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    if channel.kind.is_thread() {
        require(state, &channel, MANAGE_THREADS)?;
    } else if channel.guild_id.is_some() {
        require(state, &channel, MANAGE_CHANNELS)?;
    }
    let json = state.channel_json(&channel);
    state.remove_channel(channel_id);
    Ok(ok(json))
}

/// `PUT /channels/{channel_id}/permissions/{overwrite_id}`: replaces the target's overwrite.
pub(crate) fn edit_permission(
    state: &mut State,
    channel_id: u64,
    target: u64,
    body: &Value,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    let guild_id = require_guild_channel(&channel)?;
    let kind = match body.get("type").and_then(Value::as_u64) {
        Some(0) => OverwriteKind::Role,
        Some(1) => OverwriteKind::Member,
        _ => {
            return Err(ApiError::invalid_field(
                &["type"],
                "BASE_TYPE_CHOICES",
                "Value must be one of {0, 1}.",
            ));
        }
    };
    let overwrite = Overwrite {
        id: target,
        kind,
        allow: body
            .get("allow")
            .and_then(validate::permission_bits)
            .unwrap_or(0),
        deny: body
            .get("deny")
            .and_then(validate::permission_bits)
            .unwrap_or(0),
    };
    check_overwrite_targets(state, guild_id, std::slice::from_ref(&overwrite))?;
    let held = state.permissions(guild_id, state.bot_id(), Some(&channel));
    check_overwrites(held, std::slice::from_ref(&overwrite))?;
    if let Some(c) = state.channels.get_mut(&channel_id) {
        c.overwrites.retain(|o| o.id != target);
        c.overwrites.push(overwrite);
    }
    state.channel_updated(channel_id);
    Ok(Reply::NoContent)
}

/// `DELETE /channels/{channel_id}/permissions/{overwrite_id}`.
pub(crate) fn delete_permission(
    state: &mut State,
    channel_id: u64,
    target: u64,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    require_guild_channel(&channel)?;
    require(state, &channel, MANAGE_ROLES)?;
    if let Some(c) = state.channels.get_mut(&channel_id) {
        c.overwrites.retain(|o| o.id != target);
    }
    state.channel_updated(channel_id);
    Ok(Reply::NoContent)
}
