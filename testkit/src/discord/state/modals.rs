//! A modal's submit from the user's side: the Discord client sends MODAL_SUBMIT (type 5) for the
//! modal a bot answered an interaction with, from the same user in the same channel, carrying the
//! clicked message when the modal answered a click. The values are checked as the client checks
//! them before it lets the user submit.
//!
//! See [Discord Docs/Receiving and Responding, "Modal Submit Data Structure"](https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-modal-submit-data-structure).

use super::State;
use super::interactions::{NewInteraction, PendingClick};
use crate::discord::control_error::ControlError;

impl State {
    /// The user who was shown the modal of `opened_by` submits it with `values`.
    pub(crate) fn start_modal_submit(
        &mut self,
        user_id: u64,
        opened_by: u64,
        values: &[(&str, &str)],
    ) -> Result<PendingClick, ControlError> {
        let opener = self
            .interactions
            .get(&opened_by)
            .ok_or(ControlError::UnknownInteraction(opened_by))?;
        let modal = opener
            .ack
            .as_ref()
            .and_then(|ack| ack.modal.clone())
            .ok_or(ControlError::NoModal(opened_by))?;
        if opener.user_id != user_id {
            return Err(ControlError::NotModalUser {
                interaction: opened_by,
                user: user_id,
            });
        }
        let data = modal.submit_data(values)?;
        let (channel_id, message_id, from_component) =
            (opener.channel_id, opener.message_id, opener.kind == 3);
        // Discord sends `message` for a modal opened from a component, if it still exists.
        let message = from_component
            .then(|| self.find_message(message_id).cloned())
            .flatten();
        self.open_interaction(NewInteraction {
            kind: 5,
            user_id,
            channel_id,
            message_id,
            message,
            custom_id: modal.custom_id,
            data,
            opened_by: Some(opened_by),
        })
    }
}
