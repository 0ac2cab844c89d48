//! Closing: the Close button, `/ticket close` and `/close` (the creator, the category's roles, or
//! anyone who can manage channels), then the durable close, which runs on after the answer. A
//! category with `closeReasonPrompt` answers the button with a form asking for a reason
//! (`reason_form`); the close starts when the form is submitted, with the reason given. And
//! close requests: staff ask, the creator confirms or keeps the ticket open, and an unanswered
//! request closes the ticket when its durable timer fires (`crate::upkeep`).

use std::sync::Arc;
use std::time::SystemTime;

use twilight_model::application::interaction::Interaction;
use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::channel::message::Component;
use twilight_model::channel::message::component::{Label, TextInput, TextInputStyle};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, UserMarker};

use super::acting_user;
use super::reply::Reply;
use crate::config::Category;
use crate::context::Context;
use crate::custom_id::CustomId;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::messages::{self, CloseRequestAnswer};
use crate::policy::Action;
use crate::store::{self, CloseRequest, Ticket};

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
    super::form::submitted_text(&data.components, REASON_FIELD)
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
    let ticket = match super::ticket_of_button(ctx, interaction, ticket_id).await? {
        Ok(ticket) => ticket,
        Err(reply) => return Ok(reply),
    };
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    match acting_user(interaction, &ticket, category, Action::Close) {
        Ok(user) => begin_close(ctx, &ticket, user, reason).await,
        Err(reply) => Ok(reply),
    }
}

/// Starts the durable close of `ticket` by `user` (who may close it), which runs on after the
/// answer. A close request still pending is left to its timer, which finds the ticket no longer
/// open and only deletes its row (the close deletes the channel and the request's message).
pub(super) async fn begin_close(
    ctx: &Arc<Context>,
    ticket: &Ticket,
    user: Id<UserMarker>,
    reason: Option<&str>,
) -> Result<Reply> {
    store::start_close(&ctx.pool, ticket.id, user, reason).await?;
    crate::refresh_open_ticket_gauges(ctx).await;
    // The close runs on after the answer; if it fails, the resume loop retries it.
    crate::close::spawn_drive(ctx, ticket.id);
    tracing::info!(ticket = ticket.id, user = %user, with_reason = reason.is_some(), "ticket close started");
    Ok(Reply::Closing {
        ticket_id: ticket.id,
    })
}

/// `/ticket request-close`: records the request with its due time (a durable timer the resume
/// loop fires), then asks the creator in the channel. A request already pending is replaced.
pub(super) async fn request_close(
    ctx: &Context,
    ticket: &Ticket,
    category: &Category,
    channel: Id<ChannelMarker>,
    requester: Id<UserMarker>,
    reason: Option<String>,
) -> Result<Reply> {
    let earlier = store::take_close_request(&ctx.pool, ticket.id).await?;
    let timeout = category.request_close_timeout;
    if !store::request_close(&ctx.pool, ticket.id, requester, reason.as_deref(), timeout).await? {
        return Ok(Reply::AlreadyClosing);
    }
    if let Some(earlier) = earlier {
        retire_request(ctx, ticket, &earlier, CloseRequestAnswer::Replaced).await;
    }
    let due = SystemTime::now() + timeout;
    let due_unix = due
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    let request = messages::close_request_message(
        ticket.id,
        ticket.user_id,
        requester,
        reason.as_deref(),
        due_unix,
    );
    let posted = ctx
        .rest_model(
            DiscordCall::PostCloseRequest,
            ctx.http
                .create_message(channel)
                .content(&request.content)
                .components(&request.components)
                .allowed_mentions(Some(&request.allowed_mentions)),
        )
        .await;
    match posted {
        Ok(message) => {
            store::record_timer_message(
                &ctx.pool,
                ticket.id,
                store::TimerKind::CloseRequest,
                message.id,
            )
            .await?;
        }
        // The timer holds either way: the ticket closes when it is due, as the staff member
        // was told; the creator just was not asked in the channel.
        Err(error) => {
            tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not post the close request; it still closes when due");
        }
    }
    tracing::info!(ticket = ticket.id, user = %requester, timeout_s = timeout.as_secs(), "close requested");
    Ok(Reply::CloseRequested)
}

/// The creator's answer to a close request: Confirm closes the ticket (with the request's
/// reason), Keep open withdraws the request. Only the creator may answer, and only a request
/// still pending: withdrawing it is one `DELETE`, so a double click or a timer firing at the
/// same moment acts once.
pub(super) async fn answer_request(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
    confirm: bool,
) -> Reply {
    let answered = async {
        let ticket = match super::ticket_of_button(ctx, interaction, ticket_id).await? {
            Ok(ticket) => ticket,
            Err(reply) => return Ok(reply),
        };
        if super::clicker_id(interaction) != Some(ticket.user_id) {
            return Ok(Reply::CreatorOnly);
        }
        let Some(request) = store::take_close_request(&ctx.pool, ticket.id).await? else {
            return Ok(Reply::NoCloseRequest);
        };
        if confirm {
            retire_request(ctx, &ticket, &request, CloseRequestAnswer::Confirmed).await;
            tracing::info!(
                ticket = ticket.id,
                "the creator confirmed the close request"
            );
            begin_close(ctx, &ticket, ticket.user_id, request.reason.as_deref()).await
        } else {
            retire_request(ctx, &ticket, &request, CloseRequestAnswer::KeptOpen).await;
            tracing::info!(ticket = ticket.id, "the creator kept the ticket open");
            Ok(Reply::KeptOpen)
        }
    };
    match answered.await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not answer a close request");
            Reply::failed("answer the close request", "this", &error)
        }
    }
}

/// Edits a request's message to say what became of it, without its buttons. Best effort: the
/// request row is gone, so a stale button answers that it was already answered.
async fn retire_request(
    ctx: &Context,
    ticket: &Ticket,
    request: &CloseRequest,
    answer: CloseRequestAnswer,
) {
    let (Some(channel), Some(message)) = (ticket.channel_id, request.message_id) else {
        return;
    };
    let text = messages::close_request_answered(request.requested_by, ticket.user_id, answer);
    let edited = ctx
        .retire_message(DiscordCall::EditCloseRequest, channel, message, &text)
        .await;
    if let Err(error) = edited {
        tracing::debug!(ticket = ticket.id, error = %ErrorChain(&error), "could not retire a close request's message");
    }
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
