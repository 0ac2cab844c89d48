//! The resume loop: what must be finished after a crash, an outage or a refusal — unfinished
//! closes and tickets whose first message is not yet posted and pinned — is looked for as soon
//! as the gateway is up, then every `close_retry_interval`, each ticket with its own backoff.
//! The same loop forgets handled interactions older than `interaction_retention`.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::ErrorChain;
use crate::retries::Retries;
use crate::{close, interactions, store};

/// Runs until `stop` is cancelled.
pub(crate) async fn resume_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let interval = ctx.settings.close_retry_interval;
    let max_backoff = ctx.settings.close_retry_max_backoff;
    let mut close_retries = Retries::new(interval, max_backoff);
    let mut welcome_retries = Retries::new(interval, max_backoff);
    let mut pruned_at: Option<Instant> = None;
    loop {
        let retention = ctx.settings.interaction_retention;
        if pruned_at.is_none_or(|at| at.elapsed() >= retention / 4) {
            prune_interactions(&ctx).await;
            pruned_at = Some(Instant::now());
        }
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

/// Deletes the claims of interactions handled longer than `interaction_retention` ago. A failure
/// is only logged: the next round tries again, and a claim kept longer does no harm.
async fn prune_interactions(ctx: &Context) {
    match store::prune_interactions(&ctx.pool, ctx.settings.interaction_retention).await {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "forgot old handled interactions"),
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not forget old handled interactions");
        }
    }
}
