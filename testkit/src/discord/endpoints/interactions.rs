//! The interaction callback: how the bot acknowledges a click or a modal submit, within the
//! deadline; a click may be answered with a modal (type 9, validated in `modal`).
//!
//! See [Discord Docs/Receiving and Responding](https://discord.com/developers/docs/interactions/receiving-and-responding).

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Reply;
use super::messages::apply_draft;
use crate::discord::api_error::ApiError;
use crate::discord::modal::parse_modal;
use crate::discord::model::{EPHEMERAL_FLAG, InteractionStatus, Message};
use crate::discord::snowflake::id_str;
use crate::discord::state::{Ack, NewMessage, State};
use crate::discord::validate::{MessageDraft, webhook_message_draft};

/// Message flag of a deferred response still "thinking".
pub(crate) const LOADING_FLAG: u64 = 1 << 7;
/// Flags a bot may set on an interaction response or follow-up.
pub(crate) const RESPONSE_FLAGS: u64 = EPHEMERAL_FLAG | (1 << 2) | (1 << 12) | (1 << 15);

/// `POST /interactions/{interaction_id}/{interaction_token}/callback`: the acknowledgement, once,
/// within the deadline; types 4 and 5 post the original response, 6 and 7 make the clicked message
/// it (to a click only), 9 shows a modal (to a click or a command).
pub(crate) fn callback(
    state: &mut State,
    interaction_id: u64,
    token: &str,
    body: &Value,
    with_response: bool,
) -> Result<Reply, ApiError> {
    let now = Instant::now();
    let deadline = state.config.ack_deadline;
    let interaction = state
        .interactions
        .get_mut(&interaction_id)
        .filter(|i| i.token == token)
        .ok_or_else(ApiError::unknown_interaction)?;
    match interaction.status(now, deadline) {
        InteractionStatus::Acknowledged => return Err(ApiError::already_acknowledged()),
        InteractionStatus::Failed => {
            interaction.failed = true;
            return Err(ApiError::unknown_interaction());
        }
        InteractionStatus::Pending => {}
    }
    let latency = now.duration_since(interaction.created);
    let (channel_id, source_id) = (interaction.channel_id, interaction.message_id);
    let (kind, opened_by) = (interaction.kind, interaction.opened_by);
    let body = body.clone();
    let callback_type = body["type"].as_u64().ok_or_else(|| {
        ApiError::invalid_field(&["type"], "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    if kind == 2 && matches!(callback_type, 6 | 7) {
        // Discord documents 6 and 7 as "only valid for component-based interactions" without
        // naming the answer; the emulator refuses them as it refuses a type an interaction does
        // not take: 50035 on `type`, listing what a command interaction takes.
        return Err(ApiError::invalid_field(
            &["type"],
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response types 6 and 7 are only valid for message component interactions",
        ));
    }
    if kind == 5 {
        let from_component = opened_by
            .and_then(|id| state.interactions.get(&id))
            .is_some_and(|opener| opener.kind == 3);
        modal_submit_callback_allowed(callback_type, from_component)?;
    }
    let data = body.get("data").filter(|d| !d.is_null()).cloned();
    let modal = if callback_type == 9 {
        Some(parse_modal(data.as_ref())?)
    } else {
        None
    };
    let draft = match &data {
        Some(data) if matches!(callback_type, 4 | 7) => webhook_message_draft(data)?,
        _ => MessageDraft::default(),
    };
    let flags = data.as_ref().and_then(|d| d["flags"].as_u64()).unwrap_or(0) & RESPONSE_FLAGS;
    let original = match callback_type {
        4 => {
            if draft.is_empty() {
                return Err(ApiError::empty_message());
            }
            let message = post_response(state, channel_id, interaction_id, draft, flags);
            Some((message.id, false))
        }
        5 => {
            let loading = (flags & EPHEMERAL_FLAG) | LOADING_FLAG;
            let message = post_response(
                state,
                channel_id,
                interaction_id,
                MessageDraft::default(),
                loading,
            );
            Some((message.id, true))
        }
        6 => Some((source_id, false)),
        7 => {
            apply_draft(state, source_id, draft);
            Some((source_id, false))
        }
        9 => None,
        _ => {
            return Err(ApiError::invalid_field(
                &["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "Invalid interaction response type for a message component interaction",
            ));
        }
    };
    let Some(interaction) = state.interactions.get_mut(&interaction_id) else {
        return Err(ApiError::unknown_interaction());
    };
    interaction.ack = Some(Ack {
        latency,
        callback_type,
        flags,
        data,
        modal,
    });
    if let Some((message_id, loading)) = original {
        interaction.original_message_id = Some(message_id);
        interaction.original_loading = loading;
    }
    if let Some(signal) = interaction.ack_signal.take() {
        let _ = signal.send(());
    }
    if !with_response {
        return Ok(Reply::NoContent);
    }
    let message = original.and_then(|(id, _)| state.find_message(id).cloned());
    Ok(Reply::Json(
        StatusCode::OK,
        json!({
            "interaction": {
                "id": id_str(interaction_id),
                "type": kind,
                "response_message_id": message.as_ref().map(|m| id_str(m.id)),
                "response_message_loading": callback_type == 5,
                "response_message_ephemeral": flags & EPHEMERAL_FLAG != 0,
            },
            "resource": {
                "type": callback_type,
                "message": message.as_ref().map(|m| state.message_json(m)),
            },
        }),
    ))
}

/// The callback types Discord takes for a MODAL_SUBMIT: a message (4) or a deferred one (5), and
/// for a modal opened from a component, the component's message updated (7) or deferred (6);
/// never another modal ("not available for MODAL_SUBMIT"). Refused as Discord refuses them, with
/// 50035 naming the choices.
fn modal_submit_callback_allowed(callback_type: u64, from_component: bool) -> Result<(), ApiError> {
    let allowed = match callback_type {
        4 | 5 => true,
        6 | 7 => from_component,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    // The choices as Discord lists them (10 is its deprecated PREMIUM_REQUIRED).
    let choices = if from_component {
        "Value must be one of {4, 5, 6, 7, 10}."
    } else {
        "Value must be one of {4, 5, 10}."
    };
    Err(ApiError::invalid_field(
        &["type"],
        "BASE_TYPE_CHOICES",
        choices,
    ))
}

/// Posts an interaction response or follow-up: the bot's message, through the application's
/// webhook.
pub(crate) fn post_response(
    state: &mut State,
    channel_id: u64,
    interaction_id: u64,
    draft: MessageDraft,
    flags: u64,
) -> Message {
    state.add_message(NewMessage {
        channel_id,
        author_id: state.bot_id(),
        content: draft.content.unwrap_or_default(),
        components: draft.components.unwrap_or_default(),
        embeds: draft.embeds.unwrap_or_default(),
        flags,
        interaction_id: Some(interaction_id),
        webhook_id: Some(state.config.application_id),
        allowed_mentions: draft.allowed_mentions,
        ..NewMessage::default()
    })
}
