//! The interaction webhook: after acknowledging, the bot edits the original response and sends
//! follow-ups with the interaction's token for 15 minutes, no bot token needed.

use axum::http::StatusCode;
use serde_json::Value;

use super::Reply;
use super::interactions::{LOADING_FLAG, RESPONSE_FLAGS, post_response};
use super::messages::apply_draft;
use super::routes::WebhookMessage;
use crate::discord::api_error::ApiError;
use crate::discord::state::State;
use crate::discord::validate::webhook_message_draft;

/// The interaction behind a webhook `{application_id}/{token}`, if still usable.
fn webhook_interaction(state: &State, application_id: u64, token: &str) -> Result<u64, ApiError> {
    if application_id != state.config.application_id {
        return Err(ApiError::unknown_webhook());
    }
    let interaction = state
        .interactions
        .values()
        .find(|i| i.token == token)
        .ok_or_else(ApiError::unknown_webhook)?;
    if interaction.created.elapsed() > state.config.interaction_token_lifetime {
        return Err(ApiError::invalid_webhook_token());
    }
    if interaction.ack.is_none() {
        return Err(ApiError::unknown_webhook());
    }
    Ok(interaction.id)
}

/// The interaction behind a webhook and the message of it that `which` names: its original
/// response or one of its follow-ups, still there.
fn webhook_message(
    state: &State,
    application_id: u64,
    token: &str,
    which: WebhookMessage,
) -> Result<(u64, u64), ApiError> {
    let interaction_id = webhook_interaction(state, application_id, token)?;
    let interaction = state
        .interactions
        .get(&interaction_id)
        .ok_or_else(ApiError::unknown_webhook)?;
    match which {
        WebhookMessage::Original => interaction.original_message_id,
        WebhookMessage::Id(id) => (interaction.original_message_id == Some(id)
            || interaction.followups.contains(&id))
        .then_some(id),
    }
    .filter(|id| state.find_message(*id).is_some())
    .map(|message_id| (interaction_id, message_id))
    .ok_or_else(ApiError::unknown_message)
}

/// `POST /webhooks/{webhook_id}/{webhook_token}`: a follow-up; the first one after a deferral
/// completes the "thinking…" message instead.
pub(crate) fn create_followup(
    state: &mut State,
    application_id: u64,
    token: &str,
    body: &Value,
) -> Result<Reply, ApiError> {
    let interaction_id = webhook_interaction(state, application_id, token)?;
    let draft = webhook_message_draft(body)?;
    if draft.is_empty() {
        return Err(ApiError::empty_message());
    }
    let Some(interaction) = state.interactions.get(&interaction_id) else {
        return Err(ApiError::unknown_webhook());
    };
    let (loading, original, channel_id) = (
        interaction.original_loading,
        interaction.original_message_id,
        interaction.channel_id,
    );
    let message = if let (true, Some(original)) = (loading, original) {
        finish_loading(state, interaction_id, original);
        apply_draft(state, original, draft).ok_or_else(ApiError::unknown_message)?
    } else {
        let flags = draft.flags.unwrap_or(0) & RESPONSE_FLAGS;
        let message = post_response(state, channel_id, interaction_id, draft, flags);
        if let Some(interaction) = state.interactions.get_mut(&interaction_id) {
            interaction.followups.push(message.id);
        }
        message
    };
    Ok(Reply::Json(StatusCode::OK, state.message_json(&message)))
}

fn finish_loading(state: &mut State, interaction_id: u64, message_id: u64) {
    if let Some(interaction) = state.interactions.get_mut(&interaction_id) {
        interaction.original_loading = false;
    }
    if let Some(message) = state.find_message_mut(message_id) {
        message.flags &= !LOADING_FLAG;
    }
}

/// `GET /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}`.
pub(crate) fn get_message(
    state: &State,
    application_id: u64,
    token: &str,
    which: WebhookMessage,
) -> Result<Reply, ApiError> {
    let (_, message_id) = webhook_message(state, application_id, token, which)?;
    let message = state
        .find_message(message_id)
        .ok_or_else(ApiError::unknown_message)?;
    Ok(Reply::Json(StatusCode::OK, state.message_json(message)))
}

/// `PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}`: editing the deferred
/// original response ends its "thinking…".
pub(crate) fn edit_message(
    state: &mut State,
    application_id: u64,
    token: &str,
    which: WebhookMessage,
    body: &Value,
) -> Result<Reply, ApiError> {
    let (interaction_id, message_id) = webhook_message(state, application_id, token, which)?;
    let draft = webhook_message_draft(body)?;
    if state
        .interactions
        .get(&interaction_id)
        .is_some_and(|i| i.original_loading && i.original_message_id == Some(message_id))
    {
        finish_loading(state, interaction_id, message_id);
    }
    let message = apply_draft(state, message_id, draft).ok_or_else(ApiError::unknown_message)?;
    Ok(Reply::Json(StatusCode::OK, state.message_json(&message)))
}

/// `DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}`.
pub(crate) fn delete_message(
    state: &mut State,
    application_id: u64,
    token: &str,
    which: WebhookMessage,
) -> Result<Reply, ApiError> {
    let (_, message_id) = webhook_message(state, application_id, token, which)?;
    state.remove_message(message_id);
    Ok(Reply::NoContent)
}
