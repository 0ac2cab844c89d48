//! Component interactions: a user's click becomes INTERACTION_CREATE; the bot must acknowledge
//! it within the deadline (3 s on Discord) through the callback endpoint, then may edit the
//! original response and send follow-ups through the interaction webhook for 15 minutes.
//!
//! See [Discord Docs/Receiving and Responding](https://discord.com/developers/docs/interactions/receiving-and-responding).

use std::time::Instant;

use axum::http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::EPHEMERAL_FLAG;
use super::api_error::ApiError;
use super::control::ControlError;
use super::model::{InteractionOutcome, InteractionStatus, InteractionView};
use super::permissions;
use super::rest::Reply;
use super::routes::WebhookMessage;
use super::snowflake::id_str;
use super::state::{Ack, Dispatch, Interaction, NewMessage, State};
use super::validate::{MessageDraft, webhook_message_draft};

/// Message flag of a deferred response still "thinking".
const LOADING_FLAG: u64 = 1 << 7;
/// Flags a bot may set on an interaction response or follow-up.
const RESPONSE_FLAGS: u64 = EPHEMERAL_FLAG | (1 << 2) | (1 << 12) | (1 << 15);

/// A click waiting for its acknowledgement.
pub(crate) struct PendingClick {
    pub(crate) interaction_id: u64,
    pub(crate) acknowledged: oneshot::Receiver<()>,
}

impl State {
    /// A user clicks a button on a message: records the interaction and sends INTERACTION_CREATE.
    pub(crate) fn start_click(
        &mut self,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> Result<PendingClick, ControlError> {
        if !self.users.contains_key(&user_id) {
            return Err(ControlError::UnknownUser(user_id));
        }
        let message = self
            .find_message(message_id)
            .cloned()
            .ok_or(ControlError::UnknownMessage(message_id))?;
        let clickable = message.components.iter().any(|row| {
            row["components"].as_array().is_some_and(|children| {
                children.iter().any(|c| {
                    c["type"].as_u64() == Some(2)
                        && c["custom_id"].as_str() == Some(custom_id)
                        && !c["disabled"].as_bool().unwrap_or(false)
                })
            })
        });
        if !clickable {
            return Err(ControlError::NoSuchButton {
                message: message_id,
                custom_id: custom_id.to_owned(),
            });
        }
        let channel = self
            .channels
            .get(&message.channel_id)
            .cloned()
            .ok_or(ControlError::UnknownChannel(message.channel_id))?;
        let user_permissions = self.channel_permissions_of(user_id, &channel);
        if user_permissions & permissions::VIEW_CHANNEL == 0 {
            return Err(ControlError::ChannelHidden {
                user: user_id,
                channel: channel.id,
            });
        }
        let id = self.next_id();
        let token = format!(
            "aW50ZXJhY3Rpb246{id}:{:048x}",
            rand::rng().random::<u128>() ^ u128::from(id)
        );
        let mut data = json!({
            "id": id_str(id),
            "application_id": id_str(self.config.application_id),
            "type": 3,
            "token": token,
            "version": 1,
            "channel_id": id_str(channel.id),
            "channel": self.channel_json(&channel),
            "message": self.message_json(&message),
            "data": {"custom_id": custom_id, "component_type": 2},
            "app_permissions": self.channel_permissions_of(self.bot_id(), &channel).to_string(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        if let Some(guild_id) = channel.guild_id {
            data["guild_id"] = id_str(guild_id);
            data["guild"] = json!({"id": id_str(guild_id), "locale": "en-US", "features": []});
            data["guild_locale"] = json!("en-US");
            data["member"] = self.member_json(guild_id, user_id, true, Some(user_permissions));
            data["authorizing_integration_owners"] = json!({"0": id_str(guild_id)});
            data["context"] = json!(0);
        } else {
            data["user"] = self.user_json(user_id);
            data["authorizing_integration_owners"] = json!({"0": "0"});
            data["context"] = json!(1);
        }
        let (signal, acknowledged) = oneshot::channel();
        self.interactions.insert(
            id,
            Interaction {
                id,
                token,
                guild_id: channel.guild_id,
                channel_id: channel.id,
                message_id,
                user_id,
                custom_id: custom_id.to_owned(),
                created: Instant::now(),
                ack: None,
                failed: false,
                ack_signal: Some(signal),
                original_message_id: None,
                original_loading: false,
                followups: Vec::new(),
            },
        );
        self.dispatch(Dispatch {
            name: "INTERACTION_CREATE",
            data,
            intent: 0,
            guild_id: channel.guild_id,
            redacted: None,
        });
        Ok(PendingClick {
            interaction_id: id,
            acknowledged,
        })
    }

    /// Marks an interaction failed if it is still unacknowledged (the deadline passed).
    pub(crate) fn expire_click(&mut self, interaction_id: u64) {
        if let Some(interaction) = self.interactions.get_mut(&interaction_id)
            && interaction.ack.is_none()
        {
            interaction.failed = true;
        }
    }

    pub(crate) fn outcome(&self, interaction_id: u64) -> Option<InteractionOutcome> {
        let interaction = self.interactions.get(&interaction_id)?;
        let ack = interaction.ack.as_ref();
        Some(InteractionOutcome {
            interaction_id,
            token: interaction.token.clone(),
            status: interaction.status(Instant::now(), self.config.ack_deadline),
            ack_latency: ack.map(|a| a.latency),
            callback_type: ack.map(|a| a.callback_type),
            flags: ack.map_or(0, |a| a.flags),
            data: ack.and_then(|a| a.data.clone()),
        })
    }

    pub(crate) fn interaction_view(&self, interaction_id: u64) -> Option<InteractionView> {
        let interaction = self.interactions.get(&interaction_id)?;
        Some(InteractionView {
            id: interaction.id,
            token: interaction.token.clone(),
            user_id: interaction.user_id,
            channel_id: interaction.channel_id,
            message_id: interaction.message_id,
            custom_id: interaction.custom_id.clone(),
            status: interaction.status(Instant::now(), self.config.ack_deadline),
            callback_type: interaction.ack.as_ref().map(|a| a.callback_type),
            original_response: interaction
                .original_message_id
                .and_then(|id| self.find_message(id).cloned()),
            followups: interaction
                .followups
                .iter()
                .filter_map(|id| self.find_message(*id).cloned())
                .collect(),
        })
    }

    /// `POST /interactions/{id}/{token}/callback`.
    pub(crate) fn interaction_callback(
        &mut self,
        interaction_id: u64,
        token: &str,
        body: Option<&Value>,
        with_response: bool,
    ) -> Result<Reply, ApiError> {
        let now = Instant::now();
        let deadline = self.config.ack_deadline;
        let interaction = self
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
        let body = body.cloned().unwrap_or(Value::Null);
        let callback_type = body["type"].as_u64().ok_or_else(|| {
            ApiError::invalid_field(&["type"], "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let data = body.get("data").filter(|d| !d.is_null()).cloned();
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
                let message = self.add_message(response_message(
                    channel_id,
                    self.bot_id(),
                    self.config.application_id,
                    interaction_id,
                    draft,
                    flags,
                ));
                Some((message.id, false))
            }
            5 => {
                let mut new = response_message(
                    channel_id,
                    self.bot_id(),
                    self.config.application_id,
                    interaction_id,
                    MessageDraft::default(),
                    flags & EPHEMERAL_FLAG,
                );
                new.flags |= LOADING_FLAG;
                Some((self.add_message(new).id, true))
            }
            6 => Some((source_id, false)),
            7 => {
                self.edit_message(
                    source_id,
                    draft.content,
                    draft.components,
                    draft.embeds,
                    draft.allowed_mentions.as_ref(),
                );
                Some((source_id, false))
            }
            9 => {
                let modal = data.as_ref();
                let title_ok = modal
                    .and_then(|d| d["title"].as_str())
                    .is_some_and(|t| (1..=45).contains(&t.chars().count()));
                let custom_id_ok = modal
                    .and_then(|d| d["custom_id"].as_str())
                    .is_some_and(|c| (1..=100).contains(&c.chars().count()));
                if !title_ok || !custom_id_ok {
                    return Err(ApiError::invalid_field(
                        &["data"],
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    ));
                }
                None
            }
            _ => {
                return Err(ApiError::invalid_field(
                    &["type"],
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Invalid interaction response type for a message component interaction",
                ));
            }
        };
        let Some(interaction) = self.interactions.get_mut(&interaction_id) else {
            return Err(ApiError::unknown_interaction());
        };
        interaction.ack = Some(Ack {
            latency,
            callback_type,
            flags,
            data,
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
        let message = original.and_then(|(id, _)| self.find_message(id).cloned());
        Ok(Reply::Json(
            StatusCode::OK,
            json!({
                "interaction": {
                    "id": id_str(interaction_id),
                    "type": 3,
                    "response_message_id": message.as_ref().map(|m| id_str(m.id)),
                    "response_message_loading": callback_type == 5,
                    "response_message_ephemeral": flags & EPHEMERAL_FLAG != 0,
                },
                "resource": {
                    "type": callback_type,
                    "message": message.as_ref().map(|m| self.message_json(m)),
                },
            }),
        ))
    }

    /// The interaction behind a webhook `{application_id}/{token}`, if still usable.
    fn webhook_interaction(&self, application_id: u64, token: &str) -> Result<u64, ApiError> {
        if application_id != self.config.application_id {
            return Err(ApiError::unknown_webhook());
        }
        let interaction = self
            .interactions
            .values()
            .find(|i| i.token == token)
            .ok_or_else(ApiError::unknown_webhook)?;
        if interaction.created.elapsed() > self.config.interaction_token_lifetime {
            return Err(ApiError::invalid_webhook_token());
        }
        if interaction.ack.is_none() {
            return Err(ApiError::unknown_webhook());
        }
        Ok(interaction.id)
    }

    fn webhook_message_id(
        &self,
        interaction_id: u64,
        which: WebhookMessage,
    ) -> Result<u64, ApiError> {
        let interaction = self
            .interactions
            .get(&interaction_id)
            .ok_or_else(ApiError::unknown_webhook)?;
        match which {
            WebhookMessage::Original => interaction.original_message_id,
            WebhookMessage::Id(id) => (interaction.original_message_id == Some(id)
                || interaction.followups.contains(&id))
            .then_some(id),
        }
        .filter(|id| self.find_message(*id).is_some())
        .ok_or_else(ApiError::unknown_message)
    }

    /// `POST /webhooks/{application_id}/{token}`: a follow-up; the first one after a deferral
    /// completes the "thinking…" message instead.
    pub(crate) fn create_followup(
        &mut self,
        application_id: u64,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let interaction_id = self.webhook_interaction(application_id, token)?;
        let draft = webhook_message_draft(body.unwrap_or(&Value::Null))?;
        if draft.is_empty() {
            return Err(ApiError::empty_message());
        }
        let Some(interaction) = self.interactions.get(&interaction_id) else {
            return Err(ApiError::unknown_webhook());
        };
        let (loading, original, channel_id) = (
            interaction.original_loading,
            interaction.original_message_id,
            interaction.channel_id,
        );
        let message = if let (true, Some(original)) = (loading, original) {
            self.finish_loading(interaction_id, original);
            self.edit_message(
                original,
                draft.content,
                draft.components,
                draft.embeds,
                draft.allowed_mentions.as_ref(),
            )
            .ok_or_else(ApiError::unknown_message)?
        } else {
            let flags = draft.flags.unwrap_or(0) & RESPONSE_FLAGS;
            let message = self.add_message(response_message(
                channel_id,
                self.bot_id(),
                self.config.application_id,
                interaction_id,
                draft,
                flags,
            ));
            if let Some(interaction) = self.interactions.get_mut(&interaction_id) {
                interaction.followups.push(message.id);
            }
            message
        };
        Ok(Reply::Json(StatusCode::OK, self.message_json(&message)))
    }

    fn finish_loading(&mut self, interaction_id: u64, message_id: u64) {
        if let Some(interaction) = self.interactions.get_mut(&interaction_id) {
            interaction.original_loading = false;
        }
        if let Some(message) = self.find_message_mut(message_id) {
            message.flags &= !LOADING_FLAG;
        }
    }

    pub(crate) fn get_webhook_message(
        &self,
        application_id: u64,
        token: &str,
        which: WebhookMessage,
    ) -> Result<Reply, ApiError> {
        let interaction_id = self.webhook_interaction(application_id, token)?;
        let message_id = self.webhook_message_id(interaction_id, which)?;
        let message = self
            .find_message(message_id)
            .ok_or_else(ApiError::unknown_message)?;
        Ok(Reply::Json(StatusCode::OK, self.message_json(message)))
    }

    pub(crate) fn edit_webhook_message(
        &mut self,
        application_id: u64,
        token: &str,
        which: WebhookMessage,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let interaction_id = self.webhook_interaction(application_id, token)?;
        let message_id = self.webhook_message_id(interaction_id, which)?;
        let draft = webhook_message_draft(body.unwrap_or(&Value::Null))?;
        if self
            .interactions
            .get(&interaction_id)
            .is_some_and(|i| i.original_loading && i.original_message_id == Some(message_id))
        {
            self.finish_loading(interaction_id, message_id);
        }
        let message = self
            .edit_message(
                message_id,
                draft.content,
                draft.components,
                draft.embeds,
                draft.allowed_mentions.as_ref(),
            )
            .ok_or_else(ApiError::unknown_message)?;
        Ok(Reply::Json(StatusCode::OK, self.message_json(&message)))
    }

    pub(crate) fn delete_webhook_message(
        &mut self,
        application_id: u64,
        token: &str,
        which: WebhookMessage,
    ) -> Result<Reply, ApiError> {
        let interaction_id = self.webhook_interaction(application_id, token)?;
        let message_id = self.webhook_message_id(interaction_id, which)?;
        self.remove_message(message_id);
        Ok(Reply::NoContent)
    }
}

fn response_message(
    channel_id: u64,
    bot_id: u64,
    application_id: u64,
    interaction_id: u64,
    draft: MessageDraft,
    flags: u64,
) -> NewMessage {
    NewMessage {
        channel_id,
        author_id: bot_id,
        content: draft.content.unwrap_or_default(),
        components: draft.components.unwrap_or_default(),
        embeds: draft.embeds.unwrap_or_default(),
        flags,
        interaction_id: Some(interaction_id),
        webhook_id: Some(application_id),
        allowed_mentions: draft.allowed_mentions,
        ..NewMessage::default()
    }
}
