//! Closing a ticket: a durable state machine driven from the ticket's stored state.
//!
//! closing → (transcript uploaded) → `transcript_stored` → (link posted in the log channel) →
//! `logged` → (creator DMed, when enabled) → `notified` → (channel deleted) → `channel_deleted` →
//! `closed`. Each step is committed before the next begins, and each side effect is done so that
//! repeating it after a crash does nothing twice:
//! - the log post and the DM carry a marker (`Ticket #N` in an embed footer); before posting, the
//!   bot looks for its own message with that marker and skips the post when it finds one;
//! - deleting a channel that is already gone counts as done;
//! - one process at a time drives a ticket (a lease row in Postgres, renewed while it works, so
//!   no pooled connection is held across network IO), and every state write only moves from the
//!   state the step started in.
//!
//! The one thing a crash can repeat is the upload: a crash after PrivateBin stored the paste but
//! before its link was committed leaves one unreferenced paste, which expires with the configured
//! expiry. Avoiding it would need a second write before every upload; an orphaned ciphertext
//! nobody holds the key to is harmless.
//!
//! - this module: driving a close step by step, resuming unfinished closes with backoff, and the
//!   leases that let one process at a time drive a ticket;
//! - `transcript_step`: the first step — gather the conversation (from the channel, or from the
//!   stored messages when the channel is gone), render it, upload it, record where it is;
//! - `attachments`: the ticket's files, downloaded and stored in pastes of their own before the
//!   channel (and Discord's copy) is deleted;
//! - `steps`: the log post, the DM and the channel deletion, each done at most once.

mod attachments;
mod steps;
mod transcript_step;

pub(crate) use steps::marked_post;

use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use twilight_model::id::Id;
use twilight_model::id::marker::ChannelMarker;

use crate::context::Context;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::retries::Retries;
use crate::store::{self, TicketState};

/// The close reason recorded when someone deletes a ticket channel by hand.
pub(crate) const CHANNEL_DELETED_REASON: &str = "channel deleted by hand";

/// Discord's largest page of message history.
pub(crate) const HISTORY_PAGE: u16 = 100;

/// How a [`drive`] call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DriveOutcome {
    /// The ticket is closed (now or before).
    Closed,
    /// Another task or replica is driving this close right now.
    Busy,
    /// The ticket is not being closed (or does not exist).
    NotClosing,
    /// Shutdown began; the close stopped between steps and resumes on the next start.
    Stopped,
}

/// Runs the remaining close steps of `ticket_id` from its stored state.
///
/// # Errors
///
/// The first step that failed ([`BotError::UploadTranscript`], [`BotError::Discord`],
/// [`BotError::Store`]); the state stays where it was, so calling again retries that step.
pub(crate) async fn drive(ctx: &Context, ticket_id: i64) -> Result<DriveOutcome> {
    let Some(_in_process) = DrivingGuard::claim(ctx, ticket_id) else {
        return Ok(DriveOutcome::Busy);
    };
    let lease_ttl = ctx.settings.close_lease_ttl;
    if !store::take_close_lease(&ctx.pool, ticket_id, ctx.lease_holder, lease_ttl).await? {
        return Ok(DriveOutcome::Busy);
    }
    let outcome = run_steps(ctx, ticket_id).await;
    if let Err(error) = store::release_close_lease(&ctx.pool, ticket_id, ctx.lease_holder).await {
        // The lease expires on its own; another process waits at most its ttl.
        tracing::warn!(error = %ErrorChain(&error), "could not release a close lease");
    }
    outcome
}

/// Keeps this process's close leases from expiring while their closes run (a close may wait
/// minutes in the upload queue behind PrivateBin's traffic limiter): renews every lease of the
/// tickets it is driving, three times per ttl. Ends when `stop` is cancelled.
pub(crate) async fn renew_leases_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let ttl = ctx.settings.close_lease_ttl;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(ttl / 3) => {}
        }
        let driving: Vec<i64> = match ctx.driving.lock() {
            Ok(driving) => driving.iter().copied().collect(),
            Err(poisoned) => poisoned.into_inner().iter().copied().collect(),
        };
        if driving.is_empty() {
            continue;
        }
        if let Err(error) =
            store::renew_close_leases(&ctx.pool, ctx.lease_holder, &driving, ttl).await
        {
            // Every state write advances only from the state it read, so a lease lost to an
            // outage can at worst let another replica repeat one step's Discord call.
            tracing::warn!(error = %ErrorChain(&error), "could not renew the close leases");
        }
    }
}

/// Starts [`drive`] on the task tracker; a failure is left to the resume loop to retry.
pub(crate) fn spawn_drive(ctx: &Arc<Context>, ticket_id: i64) {
    let task_ctx = Arc::clone(ctx);
    ctx.tracker.spawn(
        async move {
            match drive(&task_ctx, ticket_id).await {
                Ok(outcome) => tracing::debug!(?outcome, "close driven"),
                Err(error) => tracing::warn!(
                    error = %ErrorChain(&error),
                    discord_code = error.discord_code(),
                    "a close step failed; it will be retried"
                ),
            }
        }
        .instrument(tracing::info_span!("close", ticket = ticket_id)),
    );
}

/// Closes the ticket of a channel someone deleted by hand (a CHANNEL_DELETE of an open ticket's
/// channel), with a transcript of the messages the bot stored.
///
/// # Errors
///
/// [`BotError::Store`] when the ticket could not be moved to `closing`.
pub(crate) async fn on_channel_deleted(
    ctx: &Arc<Context>,
    channel_id: Id<ChannelMarker>,
) -> Result<()> {
    let Some(ticket) =
        store::close_channel_gone(&ctx.pool, channel_id, CHANNEL_DELETED_REASON).await?
    else {
        return Ok(());
    };
    tracing::info!(ticket = ticket.id, channel = %channel_id, "ticket channel deleted by hand; closing the ticket");
    crate::refresh_open_ticket_gauges(ctx).await;
    spawn_drive(ctx, ticket.id);
    Ok(())
}

/// Drives every unfinished close (after a crash or an outage) that is due: a ticket whose close
/// keeps failing waits longer and longer between attempts (`retries`). Stops early when `stop`
/// is cancelled.
pub(crate) async fn resume_unfinished(
    ctx: &Context,
    stop: &CancellationToken,
    retries: &mut Retries,
) {
    let unfinished = match store::unfinished_closes(&ctx.pool, ctx.application_id).await {
        Ok(unfinished) => unfinished,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list unfinished closes");
            return;
        }
    };
    let ids: Vec<i64> = unfinished.iter().map(|ticket| ticket.id).collect();
    retries.forget_all_but(&ids);
    for ticket in unfinished {
        if stop.is_cancelled() {
            return;
        }
        if !retries.is_due(ticket.id, Instant::now()) {
            continue;
        }
        let span = tracing::info_span!("close", ticket = ticket.id, resumed = true);
        match drive(ctx, ticket.id).instrument(span).await {
            Ok(DriveOutcome::Busy | DriveOutcome::Stopped) => {}
            Ok(DriveOutcome::Closed | DriveOutcome::NotClosing) => retries.succeeded(ticket.id),
            Err(error) => {
                // From now, not from the attempt's start: a close can take long to fail.
                let wait = retries.failed(ticket.id, Instant::now());
                tracing::warn!(
                    ticket = ticket.id,
                    state = ticket.state.as_str(),
                    error = %ErrorChain(&error),
                    discord_code = error.discord_code(),
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "a close step failed; retrying later"
                );
            }
        }
    }
}

/// Marks a ticket as driven by this process for as long as it lives.
struct DrivingGuard<'a> {
    ctx: &'a Context,
    ticket_id: i64,
}

impl<'a> DrivingGuard<'a> {
    fn claim(ctx: &'a Context, ticket_id: i64) -> Option<Self> {
        let mut driving = match ctx.driving.lock() {
            Ok(driving) => driving,
            Err(poisoned) => poisoned.into_inner(),
        };
        let claimed = driving.insert(ticket_id);
        drop(driving);
        // Not `then_some`: building a guard that is then dropped would release the claim.
        claimed.then(|| Self { ctx, ticket_id })
    }
}

impl Drop for DrivingGuard<'_> {
    fn drop(&mut self) {
        let mut driving = match self.ctx.driving.lock() {
            Ok(driving) => driving,
            Err(poisoned) => poisoned.into_inner(),
        };
        driving.remove(&self.ticket_id);
    }
}

async fn run_steps(ctx: &Context, ticket_id: i64) -> Result<DriveOutcome> {
    loop {
        if ctx.stopping.is_cancelled() {
            return Ok(DriveOutcome::Stopped);
        }
        // Read again before every step: another replica may have moved the ticket on.
        let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
            return Ok(DriveOutcome::NotClosing);
        };
        match ticket.state {
            TicketState::Opening | TicketState::Open => return Ok(DriveOutcome::NotClosing),
            TicketState::Closed => return Ok(DriveOutcome::Closed),
            TicketState::Closing => {
                if !transcript_step::store_transcript(ctx, &ticket).await? {
                    return Ok(DriveOutcome::Stopped);
                }
                continue;
            }
            TicketState::TranscriptStored => steps::post_log(ctx, &ticket).await?,
            TicketState::Logged => steps::notify_creator(ctx, &ticket).await?,
            TicketState::Notified => steps::delete_channel(ctx, &ticket).await?,
            TicketState::ChannelDeleted => steps::forget_transcript_key(ctx, &ticket).await?,
        }
        let advanced = store::advance_close(&ctx.pool, ticket.id, ticket.state).await?;
        if advanced && ticket.state == TicketState::ChannelDeleted {
            ctx.metrics.count_ticket_closed(&ticket.category_key);
            tracing::info!(ticket = ticket.id, "ticket closed");
        }
    }
}
