//! Button clicks, form submits and slash commands: acknowledge at once, claim, then route to
//! [`open`], [`close`] or [`staff`] and edit the answer to the [`Reply`] the handler returns.
//!
//! Discord fails any interaction not acknowledged within 3 seconds, so nothing comes before the
//! acknowledgement: no unbounded database query (a slow or unreachable database must not cost the
//! click; the one read before it, whether a Close click should open the reason form, gives up
//! after a second), no shared rate-limit queue (callbacks go through
//! [`Context::interaction_http`]). Discord
//! accepts one acknowledgement per interaction and answers a second with 40060, so when two
//! replicas (or a redelivered event) race for a click, the loser learns it from Discord and stops.
//! The claim in the database afterwards records the click as handled. The answer is always
//! ephemeral: only the clicker sees it.
//!
//! - `open`: the Open button — one ticket per user and category, repairs of half-made tickets.
//! - `welcome`: each ticket's first message (pings and the Close button), posted and pinned
//!   durably and repaired with backoff.
//! - `close`: the Close button (and the reason form it may open), `/ticket close` and `/close` —
//!   who may close, then the durable close in [`crate::close`]; and close requests, which the
//!   creator confirms or a durable timer fires.
//! - `staff`: the other slash commands (add, remove, claim, unclaim, rename, move) and the Claim
//!   button.
//! - `reply`: what the clicker is told, as data with a pure text.

mod close;
mod feedback;
mod form;
mod open;
pub(crate) mod reply;
mod staff;
mod welcome;

use std::sync::Arc;

use tokio::time::Instant;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, UserMarker};

use twilight_model::guild::Permissions;

use crate::commands::{TicketCommand, UnknownCommand};
use crate::config::Category;
use crate::context::Context;
use crate::custom_id::{CustomId, UnknownCustomId};
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::{BotError, DiscordProblem};
use crate::policy::{self, Action, Clicker};
use crate::store;
use crate::store::Ticket;

pub(crate) use open::repair_stale_openings;
use reply::Reply;
pub(crate) use welcome::repair_welcomes;

/// What an interaction asks for, read once.
enum Request {
    /// A button or a form of ours; a form may carry a close reason.
    Component(Result<CustomId, UnknownCustomId>, Option<String>),
    /// A slash command.
    Command(Result<TicketCommand, UnknownCommand>),
}

/// Handles one INTERACTION_CREATE received at `received`.
pub(crate) async fn handle(ctx: Arc<Context>, interaction: Interaction, received: Instant) {
    let request = match &interaction.data {
        Some(InteractionData::MessageComponent(data)) => Request::Component(
            CustomId::parse_component(&data.custom_id, &data.values),
            None,
        ),
        Some(InteractionData::ModalSubmit(data)) => Request::Component(
            CustomId::parse(&data.custom_id),
            close::submitted_reason(data),
        ),
        Some(InteractionData::ApplicationCommand(data)) => {
            Request::Command(TicketCommand::parse(data))
        }
        _ => {
            tracing::debug!(kind = ?interaction.kind, "ignoring an interaction that is neither a button, a form nor a command");
            return;
        }
    };
    if let Request::Component(Ok(CustomId::Close { ticket_id }), _) = &request
        && asks_for_a_reason(&ctx, *ticket_id).await
    {
        // Nothing is done until the form is submitted, so the click itself is not claimed.
        respond(
            &ctx,
            &interaction,
            received,
            &close::reason_form(*ticket_id),
        )
        .await;
        return;
    }
    if let Request::Component(Ok(CustomId::Rate { ticket_id, rating }), _) = &request {
        // The rating is recorded with the comment form's submit; the click is not claimed.
        respond(
            &ctx,
            &interaction,
            received,
            &feedback::comment_form(*ticket_id, *rating),
        )
        .await;
        return;
    }
    if let Request::Component(Ok(CustomId::Open { category_key }), _) = &request
        && let Some(form) = ctx
            .config()
            .categories
            .get(category_key)
            .and_then(|category| form::open_form(category_key, category))
    {
        // The ticket opens when the form is submitted; the click itself is not claimed.
        respond(&ctx, &interaction, received, &form).await;
        return;
    }
    if !acknowledge(&ctx, &interaction, received).await {
        return;
    }
    match store::claim_interaction(&ctx.pool, interaction.id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("interaction already handled (by another replica or a redelivery)");
            return;
        }
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "could not claim the interaction; answering without doing anything");
            let reply = Reply::failed("handle your click", "this", &BotError::from(error));
            edit_answer(&ctx, &interaction, &reply).await;
            return;
        }
    }
    let reply = match request {
        Request::Component(Err(unknown), _) => {
            tracing::info!(custom_id = %unknown.custom_id, "click on an unknown or stale button");
            Reply::StaleButton
        }
        Request::Component(Ok(custom_id), reason) => {
            component(&ctx, &interaction, custom_id, reason).await
        }
        Request::Command(Err(unknown)) => {
            tracing::info!(command = %unknown.name, "an unknown command");
            Reply::UnknownCommand
        }
        Request::Command(Ok(command)) => staff::run_command(&ctx, &interaction, command).await,
    };
    edit_answer(&ctx, &interaction, &reply).await;
}

async fn component(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    custom_id: CustomId,
    reason: Option<String>,
) -> Reply {
    match custom_id {
        CustomId::Open { category_key } => {
            open::open_ticket(ctx, interaction, &category_key, Vec::new()).await
        }
        CustomId::OpenForm { category_key } => {
            let answers = match (
                &interaction.data,
                ctx.config().categories.get(&category_key),
            ) {
                (Some(InteractionData::ModalSubmit(data)), Some(category)) => {
                    form::submitted_answers(data, category)
                }
                _ => Vec::new(),
            };
            open::open_ticket(ctx, interaction, &category_key, answers).await
        }
        // Answered with the comment form before the click is acknowledged; a click that gets
        // here is a redelivery after that.
        CustomId::Rate { .. } => Reply::StaleButton,
        CustomId::Feedback { ticket_id, rating } => {
            let comment = match &interaction.data {
                Some(InteractionData::ModalSubmit(data)) => feedback::submitted_comment(data),
                _ => None,
            };
            feedback::record(ctx, interaction, ticket_id, rating, comment).await
        }
        CustomId::Close { ticket_id } => {
            close::close_ticket(ctx, interaction, ticket_id, None).await
        }
        CustomId::CloseReason { ticket_id } => {
            close::close_ticket(ctx, interaction, ticket_id, reason.as_deref()).await
        }
        CustomId::Claim { ticket_id } => {
            staff::claim_button(ctx, interaction, ticket_id, true).await
        }
        CustomId::Unclaim { ticket_id } => {
            staff::claim_button(ctx, interaction, ticket_id, false).await
        }
        CustomId::ConfirmClose { ticket_id } => {
            close::answer_request(ctx, interaction, ticket_id, true).await
        }
        CustomId::KeepOpen { ticket_id } => {
            close::answer_request(ctx, interaction, ticket_id, false).await
        }
        CustomId::KeepAlive { ticket_id } => {
            crate::inactivity::keep_alive_button(ctx, interaction, ticket_id).await
        }
    }
}

/// The open ticket a button of ticket `ticket_id` acts on, or what to tell the clicker: the
/// ticket is gone or closing, or the button was clicked outside its channel.
pub(crate) async fn ticket_of_button(
    ctx: &Context,
    interaction: &Interaction,
    ticket_id: i64,
) -> crate::error::Result<Result<Ticket, Reply>> {
    let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
        return Ok(Err(Reply::TicketGone));
    };
    if !ticket.state.is_open() {
        return Ok(Err(Reply::AlreadyClosing));
    }
    if ticket.channel_id.is_some() && clicked_channel(interaction) != ticket.channel_id {
        tracing::info!(
            ticket = ticket_id,
            "a ticket's button clicked outside its channel"
        );
        return Ok(Err(Reply::WrongChannel));
    }
    Ok(Ok(ticket))
}

/// Who is acting, when they may take `action` on `ticket` (see [`policy::decide`]); otherwise
/// what to tell them.
pub(crate) fn acting_user(
    interaction: &Interaction,
    ticket: &Ticket,
    category: Option<&Category>,
    action: Action,
) -> Result<Id<UserMarker>, Reply> {
    let ticket_roles = category.map_or(&[][..], |category| category.role_ids.as_slice());
    let team = category.map_or("ticket", |category| category.name.as_str());
    let (Some(member), Some(user_id)) = (interaction.member.as_ref(), clicker_id(interaction))
    else {
        return Err(Reply::CloseOutsideServer);
    };
    let clicker = Clicker {
        user_id,
        roles: &member.roles,
        permissions: member.permissions.unwrap_or(Permissions::empty()),
    };
    let decision = policy::decide(action, &clicker, ticket.user_id, ticket_roles);
    if decision.is_allowed() {
        tracing::debug!(ticket = ticket.id, user = %user_id, ?decision, ?action, "allowed");
        return Ok(user_id);
    }
    tracing::info!(ticket = ticket.id, user = %user_id, ?action, "refused");
    let team = team.to_owned();
    Err(match action {
        Action::Close => Reply::CloseRefused { team },
        Action::StaffTool => Reply::StaffOnly { team },
    })
}

/// Whether the ticket's category asks for a reason before closing. The one read before the
/// answer, so it is bounded (`Settings::close_prompt_lookup_timeout`): when the database is slow
/// or down the button closes without asking, and the close itself then reports the trouble.
async fn asks_for_a_reason(ctx: &Context, ticket_id: i64) -> bool {
    let config = ctx.config();
    if !config
        .categories
        .values()
        .any(|category| category.close_reason_prompt)
    {
        return false;
    }
    let lookup = store::ticket(&ctx.pool, ticket_id);
    match tokio::time::timeout(ctx.settings.close_prompt_lookup_timeout, lookup).await {
        Ok(Ok(Some(ticket))) => {
            ticket.state.is_open()
                && config
                    .categories
                    .get(&ticket.category_key)
                    .is_some_and(|category| category.close_reason_prompt)
        }
        Ok(Ok(None)) => false,
        Ok(Err(error)) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not read the ticket to ask for a close reason; closing without one");
            false
        }
        Err(_) => {
            tracing::warn!(
                ticket = ticket_id,
                "the database was too slow to ask for a close reason; closing without one"
            );
            false
        }
    }
}

/// Sends the deferred ephemeral acknowledgement; `false` when Discord refused it.
async fn acknowledge(ctx: &Context, interaction: &Interaction, received: Instant) -> bool {
    let deferred = InteractionResponse {
        kind: InteractionResponseType::DeferredChannelMessageWithSource,
        data: Some(InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        }),
    };
    respond(ctx, interaction, received, &deferred).await
}

/// Sends the interaction's one response; `false` when Discord refused it.
async fn respond(
    ctx: &Context,
    interaction: &Interaction,
    received: Instant,
    response: &InteractionResponse,
) -> bool {
    let acknowledged = ctx
        .rest(
            DiscordCall::AcknowledgeClick,
            ctx.interaction_http
                .interaction(ctx.application_id)
                .create_response(interaction.id, &interaction.token, response),
        )
        .await;
    match acknowledged {
        Ok(_) => {
            ctx.metrics.observe_ack(received.elapsed());
            true
        }
        Err(error) if error.discord_problem() == Some(DiscordProblem::AlreadyAcknowledged) => {
            tracing::debug!(
                "the click was already acknowledged (by another replica, or before a redelivery)"
            );
            false
        }
        Err(error) => {
            tracing::warn!(
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not acknowledge the click; the user sees \"This interaction failed\""
            );
            false
        }
    }
}

async fn edit_answer(ctx: &Context, interaction: &Interaction, reply: &Reply) {
    let no_pings = AllowedMentions::default();
    let text = reply.to_string();
    let edited = ctx
        .rest(
            DiscordCall::AnswerClick,
            ctx.interaction_http
                .interaction(ctx.application_id)
                .update_response(&interaction.token)
                .content(Some(&text))
                .allowed_mentions(Some(&no_pings)),
        )
        .await;
    if let Err(error) = edited {
        tracing::warn!(error = %ErrorChain(&error), discord_code = error.discord_code(), "could not answer the click");
    }
}

pub(crate) fn clicker_id(interaction: &Interaction) -> Option<Id<UserMarker>> {
    interaction
        .member
        .as_ref()
        .and_then(|member| member.user.as_ref())
        .or(interaction.user.as_ref())
        .map(|user| user.id)
}

pub(crate) fn clicked_channel(interaction: &Interaction) -> Option<Id<ChannelMarker>> {
    interaction.channel.as_ref().map(|channel| channel.id)
}
