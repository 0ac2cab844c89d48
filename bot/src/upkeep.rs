//! The resume loop: what must be finished after a crash, an outage or a refusal — unfinished
//! closes and tickets whose first message is not yet posted and pinned — is looked for as soon
//! as the gateway is up, then every `close_retry_interval`, each ticket with its own backoff.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::retries::Retries;
use crate::{close, interactions};

/// Runs until `stop` is cancelled.
pub(crate) async fn resume_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let interval = ctx.settings.close_retry_interval;
    let max_backoff = ctx.settings.close_retry_max_backoff;
    let mut close_retries = Retries::new(interval, max_backoff);
    let mut welcome_retries = Retries::new(interval, max_backoff);
    loop {
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
