//! The Close button: who may close (the creator, the category's roles, anyone who can manage
//! channels), then the durable close, which runs on after the answer. A category with
//! `closeReasonPrompt` answers the button with a form asking for a reason (`reason_form`); the
//! close starts when the form is submitted, with the reason given.

use std::sync::Arc;

use twilight_model::application::interaction::Interaction;
use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::channel::message::Component;
use twilight_model::channel::message::component::{Label, TextInput, TextInputStyle};
use twilight_model::guild::Permissions;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use super::reply::Reply;
use super::{clicked_channel, clicker_id};
use crate::context::Context;
use crate::custom_id::CustomId;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::policy::{self, Clicker};
use crate::store;

/// The form field that holds the reason.
pub(super) const REASON_FIELD: &str = "reason";
/// The longest reason taken: it is shown in the log post and the DM, which Discord caps at 2000
/// characters with the link and the close facts.
const REASON_MAX_CHARS: u16 = 500;

/// The form the close button opens when its category asks for a reason: one optional paragraph.
pub(super) fn reason_form(ticket_id: i64) -> InteractionResponse {
    let input = TextInput {
        custom_id: REASON_FIELD.to_owned(),
        id: None,
        #[expect(deprecated, reason = "the label goes on the Label component instead")]
        label: None,
        max_length: Some(REASON_MAX_CHARS),
        min_length: None,
        placeholder: Some("Optional: what was solved, or why it is closed".to_owned()),
        required: Some(false),
        style: TextInputStyle::Paragraph,
        value: None,
    };
    let label = Label {
        component: Box::new(Component::TextInput(input)),
        description: Some("Shown in the log post, the DM and the transcript.".to_owned()),
        id: None,
        label: "Reason".to_owned(),
    };
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(CustomId::CloseReason { ticket_id }.to_string()),
            title: Some(format!("Close ticket #{ticket_id}")),
            components: Some(vec![Component::Label(label)]),
            ..InteractionResponseData::default()
        }),
    }
}

/// The reason typed into the form, trimmed; `None` when left empty.
pub(super) fn submitted_reason(data: &ModalInteractionData) -> Option<String> {
    fn find<'a>(components: &'a [ModalInteractionComponent], field: &str) -> Option<&'a str> {
        components.iter().find_map(|component| match component {
            ModalInteractionComponent::TextInput(input) if input.custom_id == field => {
                Some(input.value.as_str())
            }
            ModalInteractionComponent::Label(label) => {
                find(std::slice::from_ref(&*label.component), field)
            }
            ModalInteractionComponent::ActionRow(row) => find(&row.components, field),
            _ => None,
        })
    }
    find(&data.components, REASON_FIELD)
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(usize::from(REASON_MAX_CHARS)).collect())
}

pub(super) async fn close_ticket(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
    reason: Option<&str>,
) -> Reply {
    match try_close(ctx, interaction, ticket_id, reason).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not close a ticket");
            Reply::failed("close this ticket", "this", &error)
        }
    }
}

async fn try_close(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
    reason: Option<&str>,
) -> Result<Reply> {
    let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
        return Ok(Reply::TicketGone);
    };
    if !ticket.state.is_open() {
        return Ok(Reply::AlreadyClosing);
    }
    if ticket.channel_id.is_some() && clicked_channel(interaction) != ticket.channel_id {
        tracing::info!(
            ticket = ticket_id,
            "close button clicked outside its ticket channel"
        );
        return Ok(Reply::WrongChannel);
    }
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let ticket_roles = category.map_or(&[][..], |category| category.role_ids.as_slice());
    let team = category.map_or("ticket", |category| category.name.as_str());
    let (Some(member), Some(user_id)) = (interaction.member.as_ref(), clicker_id(interaction))
    else {
        return Ok(Reply::CloseOutsideServer);
    };
    let clicker = Clicker {
        user_id,
        roles: &member.roles,
        permissions: member.permissions.unwrap_or(Permissions::empty()),
    };
    let decision = policy::close_decision(&clicker, ticket.user_id, ticket_roles);
    if !decision.is_allowed() {
        tracing::info!(ticket = ticket_id, user = %user_id, "close refused");
        return Ok(Reply::CloseRefused {
            team: team.to_owned(),
        });
    }
    store::start_close(&ctx.pool, ticket.id, user_id, reason).await?;
    crate::refresh_open_ticket_gauges(ctx).await;
    // The close runs on after the answer; if it fails, the resume loop retries it.
    crate::close::spawn_drive(ctx, ticket.id);
    tracing::info!(ticket = ticket_id, user = %user_id, ?decision, with_reason = reason.is_some(), "ticket close started");
    Ok(Reply::Closing {
        ticket_id: ticket.id,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_reason_form_asks_for_one_optional_paragraph_under_discords_limits() {
        let form = serde_json::to_value(reason_form(42)).unwrap();
        assert_eq!(form["type"], 9);
        let data = &form["data"];
        assert_eq!(data["custom_id"], "ticketeer:close-reason:42");
        assert_eq!(data["title"], "Close ticket #42");
        let label = &data["components"][0];
        assert_eq!(label["type"], 18);
        assert_eq!(label["label"], "Reason");
        let input = &label["component"];
        assert_eq!(input["type"], 4);
        assert_eq!(input["custom_id"], REASON_FIELD);
        assert_eq!(input["style"], 2);
        assert_eq!(input["required"], false);
        assert_eq!(input["max_length"], 500);
        assert!(input.get("label").is_none_or(serde_json::Value::is_null));
    }

    fn submitted(value: &str) -> ModalInteractionData {
        serde_json::from_value(json!({
            "custom_id": "ticketeer:close-reason:42",
            "components": [{
                "type": 18,
                "id": 1,
                "component": {"type": 4, "id": 2, "custom_id": REASON_FIELD, "value": value},
            }],
        }))
        .unwrap()
    }

    #[test]
    fn the_reason_is_read_from_the_form_trimmed_and_empty_is_none() {
        assert_eq!(
            submitted_reason(&submitted("  Solved by a reinstall \n")).as_deref(),
            Some("Solved by a reinstall")
        );
        assert_eq!(submitted_reason(&submitted("   ")), None);
        let long = submitted_reason(&submitted(&"é".repeat(600))).unwrap();
        assert_eq!(long.chars().count(), 500);
    }
}
