//! Auto-close of abandoned tickets (a category's `autoClose`): each open ticket of such a category
//! has a durable warning timer, moved later by every message of its creator. When it fires (the
//! resume loop, [`fire_due`]) a warning with a Keep open button is posted and the close timer
//! armed; a message of the creator or the button withdraws the close and starts the wait again,
//! otherwise the ticket closes like any other, with an inactivity reason. The timers live in
//! `ticket_timers` (see `store::fire_due_inactivity`), so they survive restarts and fire once
//! however many replicas run.

use std::sync::Arc;

use twilight_model::application::interaction::Interaction;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker, UserMarker};

use crate::config::{AutoClose, Config};
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{ErrorChain, Result};
use crate::interactions::reply::Reply;
use crate::messages::inactivity as texts;
use crate::store::{self, InactivityRule, Ticket};

/// How many due inactivity timers one round fires; the rest wait for the next round.
const TIMERS_PER_ROUND: i64 = 100;

fn rule(auto_close: AutoClose) -> InactivityRule {
    InactivityRule {
        until_warning: auto_close.until_warning(),
        warning: auto_close.warning,
        close_reason: texts::inactivity_close_reason(auto_close.inactive),
    }
}

fn auto_close_of(config: &Config, category_key: &str) -> Option<AutoClose> {
    config
        .categories
        .get(category_key)
        .and_then(|category| category.auto_close)
}

/// Arms the warning timer of a ticket that just opened, when its category auto-closes. Best
/// effort: a ticket left unarmed is armed by the next [`arm_configured`] (at the next start or
/// reload).
pub(crate) async fn arm_opened(ctx: &Context, ticket_id: i64, category_key: &str) {
    let Some(auto_close) = auto_close_of(&ctx.config(), category_key) else {
        return;
    };
    if let Err(error) = store::arm_inactivity(
        &ctx.pool,
        ticket_id,
        ctx.bot_user_id,
        auto_close.until_warning(),
    )
    .await
    {
        tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not arm the inactivity timer");
    }
}

/// Arms the open tickets of every auto-closing category that have no inactivity timer (the
/// category's `autoClose` was added, or tickets opened while the arming failed); run at start
/// and after each reload. `false` when the database refused, to try again next round.
pub(crate) async fn arm_configured(ctx: &Context, config: &Config) -> bool {
    let mut all_armed = true;
    for (key, category) in &config.categories {
        let Some(auto_close) = category.auto_close else {
            continue;
        };
        match store::arm_category_inactivity(
            &ctx.pool,
            ctx.application_id,
            key,
            ctx.bot_user_id,
            auto_close.until_warning(),
        )
        .await
        {
            Ok(0) => {}
            Ok(armed) => {
                tracing::info!(category = %key, armed, "armed the inactivity timers of open tickets");
            }
            Err(error) => {
                all_armed = false;
                tracing::warn!(category = %key, error = %ErrorChain(&error), "could not arm the inactivity timers of a category");
            }
        }
    }
    all_armed
}

/// A message in `ticket`'s channel: when its creator wrote it and the category auto-closes, the
/// warning timer moves to a full wait from now and a pending close is withdrawn (one statement),
/// its warning's button retired. Nothing is asked of the database otherwise.
pub(crate) async fn on_message(
    ctx: &Context,
    ticket: &Ticket,
    author: Id<UserMarker>,
) -> Result<()> {
    if author != ticket.user_id || !ticket.state.is_open() {
        return Ok(());
    }
    let Some(auto_close) = auto_close_of(&ctx.config(), &ticket.category_key) else {
        return Ok(());
    };
    let withdrawn = store::creator_active(
        &ctx.pool,
        ticket.id,
        ctx.bot_user_id,
        auto_close.until_warning(),
    )
    .await?;
    if let Some(withdrawn) = withdrawn {
        tracing::info!(
            ticket = ticket.id,
            "the creator wrote; the inactivity close is withdrawn"
        );
        if let (Some(channel), Some(message)) = (ticket.channel_id, withdrawn.message_id) {
            retire_warning(ctx, ticket.id, channel, message, None).await;
        }
    }
    Ok(())
}

/// The Keep open button of an inactivity warning: the creator or staff withdraw the close and
/// start the wait again. Withdrawing is one statement, so a second click (here or on another
/// replica) finds nothing pending and changes nothing.
pub(crate) async fn keep_alive_button(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
) -> Reply {
    let answered = async {
        let ticket =
            match crate::interactions::ticket_of_button(ctx, interaction, ticket_id).await? {
                Ok(ticket) => ticket,
                Err(reply) => return Ok(reply),
            };
        let config = ctx.config();
        let category = config.categories.get(&ticket.category_key);
        let user = match crate::interactions::acting_user(
            interaction,
            &ticket,
            category,
            crate::policy::Action::Close,
        ) {
            Ok(user) => user,
            Err(Reply::CloseRefused { team }) => return Ok(Reply::KeepAliveRefused { team }),
            Err(reply) => return Ok(reply),
        };
        let Some(auto_close) = category.and_then(|category| category.auto_close) else {
            // autoClose was removed: the pending close only deletes its row when due.
            return Ok(Reply::AlreadyKeptAlive);
        };
        let Some(withdrawn) =
            store::keep_alive(&ctx.pool, ticket.id, auto_close.until_warning()).await?
        else {
            return Ok(Reply::AlreadyKeptAlive);
        };
        tracing::info!(ticket = ticket.id, user = %user, "the ticket is kept open");
        if let (Some(channel), Some(message)) = (ticket.channel_id, withdrawn.message_id) {
            retire_warning(ctx, ticket.id, channel, message, Some(user)).await;
        }
        Ok(Reply::KeptOpen)
    };
    match answered.await {
        Ok(reply) => reply,
        Err(error) => {
            let error: crate::error::BotError = error;
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not keep a ticket open");
            Reply::failed("keep the ticket open", "this", &error)
        }
    }
}

/// Edits a warning to say the ticket stays open, without its button. Best effort: the close is
/// withdrawn already, and a stale button answers that the ticket is kept open.
async fn retire_warning(
    ctx: &Context,
    ticket_id: i64,
    channel: Id<ChannelMarker>,
    message: Id<MessageMarker>,
    by: Option<Id<UserMarker>>,
) {
    let text = texts::inactivity_warning_withdrawn(by);
    let edited = ctx
        .retire_message(DiscordCall::EditInactivityWarning, channel, message, &text)
        .await;
    if let Err(error) = edited {
        tracing::debug!(ticket = ticket_id, error = %ErrorChain(&error), "could not retire an inactivity warning");
    }
}

/// Fires the due inactivity timers (see `store::fire_due_inactivity`): posts the warnings whose
/// close is now armed, and drives the closes of tickets nobody kept open.
pub(crate) async fn fire_due(ctx: &Arc<Context>) {
    let config = ctx.config();
    let fired = store::fire_due_inactivity(
        &ctx.pool,
        ctx.application_id,
        ctx.bot_user_id,
        TIMERS_PER_ROUND,
        |key| auto_close_of(&config, key).map(rule),
    )
    .await;
    let fired = match fired {
        Ok(fired) => fired,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not fire due inactivity timers");
            return;
        }
    };
    if fired.dropped > 0 {
        tracing::debug!(
            dropped = fired.dropped,
            "deleted inactivity timers with nothing left to do"
        );
    }
    for warning in &fired.warnings {
        post_warning(ctx, warning).await;
    }
    for ticket in &fired.closing {
        tracing::info!(ticket = ticket.id, "an abandoned ticket closes");
        crate::close::spawn_drive(ctx, ticket.id);
    }
    if !fired.closing.is_empty() {
        crate::refresh_open_ticket_gauges(ctx).await;
    }
}

/// Posts the warning of a ticket whose close is armed, and records it on the close timer so a
/// withdrawal can retire its button. Best effort: the close timer holds either way.
async fn post_warning(ctx: &Context, warning: &store::Warning) {
    let text = texts::inactivity_warning(
        warning.ticket_id,
        warning.creator,
        warning.quiet,
        warning.closes_at_unix,
    );
    let posted = ctx
        .rest_model(
            DiscordCall::PostInactivityWarning,
            ctx.http
                .create_message(warning.channel_id)
                .content(&text.content)
                .components(&text.components)
                .allowed_mentions(Some(&text.allowed_mentions)),
        )
        .await;
    match posted {
        Ok(message) => {
            tracing::info!(ticket = warning.ticket_id, "posted the inactivity warning");
            if let Err(error) = store::record_timer_message(
                &ctx.pool,
                warning.ticket_id,
                store::TimerKind::InactivityClose,
                message.id,
            )
            .await
            {
                tracing::warn!(ticket = warning.ticket_id, error = %ErrorChain(&error), "could not record the inactivity warning");
            }
        }
        Err(error) => {
            tracing::warn!(ticket = warning.ticket_id, error = %ErrorChain(&error), "could not post the inactivity warning; it still closes when due");
        }
    }
}
