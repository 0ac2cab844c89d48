//! Messages of a channel: history, sending, editing, deleting and pins; and the CDN that serves
//! their attachments.

use std::sync::Arc;

use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::checks::{require, visible_channel};
use super::{Reply, Request, ok};
use crate::discord::api_error::ApiError;
use crate::discord::model::Message;
use crate::discord::permissions::{
    MANAGE_MESSAGES, PIN_MESSAGES, READ_MESSAGE_HISTORY, SEND_MESSAGES,
};
use crate::discord::snowflake::{iso8601, parse_iso8601};
use crate::discord::state::{NewMessage, Shared, State};
use crate::discord::validate::{MessageDraft, message_draft};

/// `GET /channels/{channel_id}/messages`: newest first, paged `before`, `after` or `around` an id.
pub(crate) fn list(
    state: &State,
    channel_id: u64,
    request: &Request<'_>,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    let limit = request.limit(1, 100, 50)?;
    // Without READ_MESSAGE_HISTORY Discord answers with no messages rather than an error.
    if state.channel_permissions_of(state.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0 {
        return Ok(ok(json!([])));
    }
    let Some(messages) = state.messages.get(&channel_id) else {
        return Ok(ok(json!([])));
    };
    let anchor = |key: &str| request.query(key).and_then(|v| v.parse::<u64>().ok());
    let mut selected: Vec<_> = if let Some(before) = anchor("before") {
        messages
            .range(..before)
            .rev()
            .take(limit)
            .map(|(_, m)| m)
            .collect()
    } else if let Some(after) = anchor("after") {
        let mut page: Vec<_> = messages
            .range(after + 1..)
            .take(limit)
            .map(|(_, m)| m)
            .collect();
        page.reverse();
        page
    } else if let Some(around) = anchor("around") {
        let newer = limit / 2;
        let older = limit - newer;
        let mut page: Vec<_> = messages
            .range(around + 1..)
            .take(newer)
            .map(|(_, m)| m)
            .collect();
        page.reverse();
        page.extend(messages.range(..=around).rev().take(older).map(|(_, m)| m));
        page
    } else {
        messages.values().rev().take(limit).collect()
    };
    selected.sort_by_key(|m| std::cmp::Reverse(m.id));
    Ok(ok(Value::Array(
        selected
            .into_iter()
            .map(|m| state.rest_message_json(m))
            .collect(),
    )))
}

/// `POST /channels/{channel_id}/messages`: a DM needs a recipient who accepts DMs and shares a
/// guild with the bot.
pub(crate) fn create(state: &mut State, channel_id: u64, body: &Value) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    if !channel.kind.holds_messages() {
        return Err(ApiError::non_text_channel());
    }
    if channel.guild_id.is_some() {
        require(state, &channel, SEND_MESSAGES)?;
    } else {
        let recipient = channel.recipients.first().copied().unwrap_or_default();
        let accepts = state.users.get(&recipient).is_some_and(|u| u.accepts_dms);
        let shares_guild = state
            .guilds
            .values()
            .any(|g| g.members.contains_key(&recipient) && g.members.contains_key(&state.bot_id()));
        if !accepts || !shares_guild {
            return Err(ApiError::cannot_dm());
        }
    }
    let draft = message_draft(body)?;
    if draft.is_empty() {
        return Err(ApiError::empty_message());
    }
    if let Some(reference) = draft.reference {
        if channel.guild_id.is_some() {
            require(state, &channel, READ_MESSAGE_HISTORY)?;
        }
        if state.channel_message(channel_id, reference).is_none() {
            return Err(ApiError::invalid_field(
                &["message_reference"],
                "REPLIES_UNKNOWN_MESSAGE",
                "Unknown message",
            ));
        }
    }
    let message = state.add_message(NewMessage {
        channel_id,
        author_id: state.bot_id(),
        content: draft.content.unwrap_or_default(),
        components: draft.components.unwrap_or_default(),
        embeds: draft.embeds.unwrap_or_default(),
        kind: if draft.reference.is_some() { 19 } else { 0 },
        // Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 may be set.
        flags: draft.flags.unwrap_or(0) & ((1 << 2) | (1 << 12) | (1 << 15)),
        reference: draft.reference,
        allowed_mentions: draft.allowed_mentions,
        ..NewMessage::default()
    });
    Ok(ok(state.rest_message_json(&message)))
}

/// `GET /channels/{channel_id}/messages/{message_id}`.
pub(crate) fn get(state: &State, channel_id: u64, message_id: u64) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    require(state, &channel, READ_MESSAGE_HISTORY)?;
    let message = state
        .channel_message(channel_id, message_id)
        .ok_or_else(ApiError::unknown_message)?;
    Ok(ok(state.rest_message_json(message)))
}

/// `PATCH /channels/{channel_id}/messages/{message_id}`: only the bot's own messages, and never
/// into an empty one.
pub(crate) fn edit(
    state: &mut State,
    channel_id: u64,
    message_id: u64,
    body: &Value,
) -> Result<Reply, ApiError> {
    visible_channel(state, channel_id)?;
    let message = state
        .channel_message(channel_id, message_id)
        .cloned()
        .ok_or_else(ApiError::unknown_message)?;
    if message.author_id != state.bot_id() {
        return Err(ApiError::edit_others_message());
    }
    let draft = message_draft(body)?;
    let would_be_empty = draft
        .content
        .as_deref()
        .unwrap_or(&message.content)
        .is_empty()
        && draft
            .components
            .as_ref()
            .unwrap_or(&message.components)
            .is_empty()
        && draft.embeds.as_ref().unwrap_or(&message.embeds).is_empty()
        && message.attachments.is_empty();
    if would_be_empty {
        return Err(ApiError::empty_message());
    }
    let edited = apply_draft(state, message_id, draft).ok_or_else(ApiError::unknown_message)?;
    Ok(ok(state.rest_message_json(&edited)))
}

/// Puts a validated draft's content, components and embeds (those it sets) into a message.
pub(crate) fn apply_draft(
    state: &mut State,
    message_id: u64,
    draft: MessageDraft,
) -> Option<Message> {
    state.edit_message(
        message_id,
        draft.content,
        draft.components,
        draft.embeds,
        draft.allowed_mentions.as_ref(),
    )
}

/// `DELETE /channels/{channel_id}/messages/{message_id}`: others' messages need MANAGE_MESSAGES,
/// and cannot be deleted in a DM at all.
pub(crate) fn delete(
    state: &mut State,
    channel_id: u64,
    message_id: u64,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    let message = state
        .channel_message(channel_id, message_id)
        .cloned()
        .ok_or_else(ApiError::unknown_message)?;
    if message.author_id != state.bot_id() {
        if channel.guild_id.is_none() {
            return Err(ApiError::dm_action());
        }
        require(state, &channel, MANAGE_MESSAGES)?;
    }
    state.remove_message(message_id);
    Ok(Reply::NoContent)
}

/// `GET /channels/{channel_id}/messages/pins`: most recently pinned first, paged `before` a pin time.
pub(crate) fn pins(
    state: &State,
    channel_id: u64,
    request: &Request<'_>,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    let limit = request.limit(1, 50, 50)?;
    if state.channel_permissions_of(state.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0 {
        return Ok(ok(json!({"items": [], "has_more": false})));
    }
    let before = match request.query("before") {
        Some(text) => Some(parse_iso8601(text).ok_or_else(|| {
            ApiError::invalid_field(
                &["before"],
                "DATE_TIME_TYPE_PARSE",
                "Could not parse the value as a date-time.",
            )
        })?),
        None => None,
    };
    let candidates: Vec<_> = state
        .pinned(channel_id)
        .into_iter()
        .filter(|m| before.is_none_or(|b| m.pinned_at_ms.is_some_and(|at| at < b)))
        .collect();
    let has_more = candidates.len() > limit;
    let items: Vec<Value> = candidates
        .into_iter()
        .take(limit)
        .map(|m| json!({"pinned_at": m.pinned_at_ms.map(iso8601), "message": state.rest_message_json(m)}))
        .collect();
    Ok(ok(json!({"items": items, "has_more": has_more})))
}

/// `GET /channels/{channel_id}/pins`, the deprecated list: every pin, no paging.
pub(crate) fn pins_deprecated(state: &State, channel_id: u64) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    if state.channel_permissions_of(state.bot_id(), &channel) & READ_MESSAGE_HISTORY == 0 {
        return Ok(ok(json!([])));
    }
    let pins: Vec<Value> = state
        .pinned(channel_id)
        .into_iter()
        .map(|m| state.rest_message_json(m))
        .collect();
    Ok(ok(Value::Array(pins)))
}

/// `PUT /channels/{channel_id}/messages/pins/{message_id}` (and the deprecated `/pins/` path).
pub(crate) fn pin(state: &mut State, channel_id: u64, message_id: u64) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    require(state, &channel, PIN_MESSAGES)?;
    let message = state
        .channel_message(channel_id, message_id)
        .ok_or_else(ApiError::unknown_message)?;
    if !message.pinned {
        if state.pinned(channel_id).len() >= state.config.max_pins_per_channel {
            return Err(ApiError::max_pins(state.config.max_pins_per_channel));
        }
        state.pin_message(channel_id, message_id, state.bot_id());
    }
    Ok(Reply::NoContent)
}

/// `DELETE /channels/{channel_id}/messages/pins/{message_id}` (and the deprecated `/pins/` path).
pub(crate) fn unpin(
    state: &mut State,
    channel_id: u64,
    message_id: u64,
) -> Result<Reply, ApiError> {
    let channel = visible_channel(state, channel_id)?;
    require(state, &channel, PIN_MESSAGES)?;
    if state.channel_message(channel_id, message_id).is_none() {
        return Err(ApiError::unknown_message());
    }
    state.unpin_message(channel_id, message_id);
    Ok(Reply::NoContent)
}

/// `GET /attachments/{channel}/{attachment}/{filename}`: an attachment's bytes (the CDN).
pub(crate) async fn attachment(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((channel_id, attachment_id, _filename)): Path<(u64, u64, String)>,
) -> Response {
    let found = shared.read(|state| {
        state
            .messages
            .get(&channel_id)?
            .values()
            .flat_map(|m| m.attachments.iter())
            .find(|a| a.id == attachment_id)
            .cloned()
    });
    match found {
        Some(attachment) => {
            let content_type = attachment
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            (
                [(header::CONTENT_TYPE, content_type)],
                attachment.data.as_ref().clone(),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
