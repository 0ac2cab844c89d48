//! Interactions from the user's side: a click (or a modal submit, in `modals`) becomes INTERACTION_CREATE, waits for the
//! bot's acknowledgement until the deadline (3 s on Discord), and is seen as acknowledged or
//! failed. The bot's side (the callback and the interaction webhook) is in `endpoints`.
//!
//! See [Discord Docs/Receiving and Responding](https://discord.com/developers/docs/interactions/receiving-and-responding).

use std::time::Instant;

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{Dispatch, Interaction, State};
use crate::discord::control_error::ControlError;
use crate::discord::model::{InteractionOutcome, InteractionView, Message};
use crate::discord::permissions;
use crate::discord::snowflake::id_str;

/// An interaction about to be sent: what differs between a click and a modal submit.
pub(crate) struct NewInteraction {
    /// 3 MESSAGE_COMPONENT or 5 MODAL_SUBMIT.
    pub(crate) kind: u64,
    pub(crate) user_id: u64,
    pub(crate) channel_id: u64,
    /// The message the component was on (for a modal submit, the click's), kept even when it
    /// is no longer there to send as `message`.
    pub(crate) message_id: u64,
    pub(crate) message: Option<Message>,
    pub(crate) custom_id: String,
    /// The interaction's `data`.
    pub(crate) data: Value,
    pub(crate) opened_by: Option<u64>,
}

/// A click (or modal submit) waiting for its acknowledgement.
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
        let message = self.message_acted_on(user_id, message_id)?;
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
        self.open_interaction(NewInteraction {
            kind: 3,
            user_id,
            channel_id: message.channel_id,
            message_id,
            message: Some(message),
            custom_id: custom_id.to_owned(),
            data: json!({"custom_id": custom_id, "component_type": 2}),
            opened_by: None,
        })
    }

    /// The message a known user clicks or chooses in.
    fn message_acted_on(&self, user_id: u64, message_id: u64) -> Result<Message, ControlError> {
        if !self.users.contains_key(&user_id) {
            return Err(ControlError::UnknownUser(user_id));
        }
        self.find_message(message_id)
            .cloned()
            .ok_or(ControlError::UnknownMessage(message_id))
    }

    /// A user picks `values` in the string select menu `custom_id` of message `message_id`;
    /// refused as the Discord client would refuse it: no such enabled menu, a value that is none
    /// of its options, the same value twice, or fewer or more values than it allows.
    pub(crate) fn start_select(
        &mut self,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<PendingClick, ControlError> {
        let message = self.message_acted_on(user_id, message_id)?;
        let menu = message
            .components
            .iter()
            .filter_map(|row| row["components"].as_array())
            .flatten()
            .find(|c| {
                c["type"].as_u64() == Some(3)
                    && c["custom_id"].as_str() == Some(custom_id)
                    && !c["disabled"].as_bool().unwrap_or(false)
            })
            .cloned()
            .ok_or_else(|| ControlError::NoSuchSelect {
                message: message_id,
                custom_id: custom_id.to_owned(),
            })?;
        let offered: Vec<&str> = menu["options"]
            .as_array()
            .map(|options| options.iter().filter_map(|o| o["value"].as_str()).collect())
            .unwrap_or_default();
        let bound = |field: &str| {
            menu.get(field)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1)
        };
        let refuse = |reason: String| ControlError::InvalidChoice {
            custom_id: custom_id.to_owned(),
            reason,
        };
        let count = values.len() as u64;
        if count < bound("min_values") || count > bound("max_values") {
            return Err(refuse(format!(
                "{count} values chosen; the menu takes {}–{}",
                bound("min_values"),
                bound("max_values")
            )));
        }
        for (index, value) in values.iter().enumerate() {
            if !offered.contains(value) {
                return Err(refuse(format!("{value:?} is none of the options")));
            }
            if values[..index].contains(value) {
                return Err(refuse(format!("{value:?} chosen twice")));
            }
        }
        self.open_interaction(NewInteraction {
            kind: 3,
            user_id,
            channel_id: message.channel_id,
            message_id,
            message: Some(message),
            custom_id: custom_id.to_owned(),
            data: json!({"custom_id": custom_id, "component_type": 3, "values": values}),
            opened_by: None,
        })
    }

    /// Records an interaction from a user and sends INTERACTION_CREATE, as Discord shapes it for
    /// clicks and modal submits alike; the user must still see the channel.
    pub(crate) fn open_interaction(
        &mut self,
        new: NewInteraction,
    ) -> Result<PendingClick, ControlError> {
        let user_id = new.user_id;
        if !self.users.contains_key(&user_id) {
            return Err(ControlError::UnknownUser(user_id));
        }
        let channel = self
            .channels
            .get(&new.channel_id)
            .cloned()
            .ok_or(ControlError::UnknownChannel(new.channel_id))?;
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
            "type": new.kind,
            "token": token,
            "version": 1,
            "channel_id": id_str(channel.id),
            "channel": self.channel_json(&channel),
            "data": new.data,
            "app_permissions": self.channel_permissions_of(self.bot_id(), &channel).to_string(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        if let Some(message) = &new.message {
            data["message"] = self.message_json(message);
        }
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
                kind: new.kind,
                opened_by: new.opened_by,
                guild_id: channel.guild_id,
                channel_id: channel.id,
                message_id: new.message_id,
                user_id,
                custom_id: new.custom_id,
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
            modal: ack.and_then(|a| a.modal.clone()),
        })
    }

    pub(crate) fn interaction_view(&self, interaction_id: u64) -> Option<InteractionView> {
        let interaction = self.interactions.get(&interaction_id)?;
        Some(InteractionView {
            id: interaction.id,
            token: interaction.token.clone(),
            kind: interaction.kind,
            opened_by: interaction.opened_by,
            user_id: interaction.user_id,
            channel_id: interaction.channel_id,
            message_id: interaction.message_id,
            custom_id: interaction.custom_id.clone(),
            status: interaction.status(Instant::now(), self.config.ack_deadline),
            callback_type: interaction.ack.as_ref().map(|a| a.callback_type),
            modal: interaction.ack.as_ref().and_then(|a| a.modal.clone()),
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
}
