//! The resume loop: what must be finished after a crash, an outage or a refusal — unfinished
//! closes, tickets whose first message is not yet posted and pinned, ticket messages the database
//! refused when they arrived (`uncounted.rs`), and durable timers that came due (close requests nobody answered, inactivity warnings and closes of abandoned
//! tickets) — is looked for as soon
//! as the gateway is up, then every `close_retry_interval`, each ticket with its own backoff.
//! Every `forget_interval` the same loop deletes what the bot no longer needs to keep: old
//! handled interactions and the links of expired transcripts.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::ErrorChain;
use crate::retries::Retries;
use crate::{close, inactivity, interactions, store};

/// Runs until `stop` is cancelled.
pub(crate) async fn resume_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let interval = ctx.settings.close_retry_interval;
    let max_backoff = ctx.settings.close_retry_max_backoff;
    let mut close_retries = Retries::new(interval, max_backoff);
    let mut welcome_retries = Retries::new(interval, max_backoff);
    let mut forgot_at: Option<Instant> = None;
    // The config whose auto-closing categories' open tickets were last armed: none at start,
    // and a reload replaces it.
    let mut armed_for: Option<Arc<crate::config::Config>> = None;
    loop {
        let config = ctx.config();
        if armed_for
            .as_ref()
            .is_none_or(|armed| !Arc::ptr_eq(armed, &config))
            && inactivity::arm_configured(&ctx, &config).await
        {
            armed_for = Some(config);
        }
        if forgot_at.is_none_or(|at| at.elapsed() >= ctx.settings.forget_interval) {
            forget(&ctx).await;
            forgot_at = Some(Instant::now());
        }
        crate::gateway::store_uncounted(&ctx).await;
        fire_due_timers(&ctx).await;
        inactivity::fire_due(&ctx).await;
        if ctx.gateway_connected() {
            close::resume_unfinished(&ctx, &stop, &mut close_retries).await;
            interactions::repair_welcomes(&ctx, &mut welcome_retries).await;
        }
        // Resumed as soon as the gateway is up (a restart should not leave closes waiting a
        // whole interval), then on every tick.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
            () = ctx.gateway_up.notified() => {}
        }
    }
}

/// How many due timers one round fires; the rest wait for the next round.
const TIMERS_PER_ROUND: i64 = 100;

/// Fires the close requests nobody answered in time: each due row is taken and its ticket moved
/// to `closing` in one transaction, so with any number of replicas each fires once, and a
/// request that came due while every replica was down fires at the first round after. The
/// closes are then driven like any other (and resumed if this replica dies first).
async fn fire_due_timers(ctx: &Arc<Context>) {
    match store::fire_due_close_requests(&ctx.pool, ctx.application_id, TIMERS_PER_ROUND).await {
        Ok(started) if started.is_empty() => {}
        Ok(started) => {
            for ticket in &started {
                tracing::info!(
                    ticket = ticket.id,
                    "an unanswered close request closes the ticket"
                );
                close::spawn_drive(ctx, ticket.id);
            }
            crate::refresh_open_ticket_gauges(ctx).await;
        }
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not fire due close requests");
        }
    }
}

/// Deletes the claims of interactions handled longer than `interaction_retention` ago, and the
/// links of this bot's transcripts that PrivateBin no longer keeps. A failure is only logged: the
/// next round tries again, and a row kept a little longer does no harm.
async fn forget(ctx: &Context) {
    match store::prune_interactions(&ctx.pool, ctx.settings.interaction_retention).await {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "forgot old handled interactions"),
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not forget old handled interactions");
        }
    }
    match store::clear_expired_transcripts(&ctx.pool, ctx.application_id).await {
        Ok(0) => {}
        Ok(cleared) => tracing::info!(cleared, "forgot the links of expired transcripts"),
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not forget the links of expired transcripts");
        }
    }
}
