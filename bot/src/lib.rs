//! The Ticketeer Discord bot: panels, private ticket channels and encrypted transcripts.
//!
//! # Layout
//! - [`run`]: the lifecycle — migrate, serve HTTP, watch the config, run the gateway (each READY
//!   syncs the panels) until shutdown, then finish in-flight work and stop.
//! - `settings`: [`Settings`] (config path, secrets, timings); `context`: the shared [`Context`].
//! - `gateway`: the shard loop; each event is handled on the task tracker under its own span.
//! - `catch_up`: after a new gateway session, stores the ticket messages written during the gap
//!   from the channels' history (Discord replays nothing to a new session).
//! - `close`: the durable close — transcript, log post, DM, channel deletion — resumed after
//!   crashes and outages.
//! - `commands`: the slash commands' definitions, what an invocation asks for, and keeping
//!   each guild's registered set current (at every new session and reload).
//! - `interactions`: button clicks, form submits and slash commands — acknowledge at once, claim, open or close a ticket, and a
//!   `Reply` whose text is a pure function.
//! - `panels`: the panel messages (a category's own, or shared by several), kept in line with
//!   the config.
//! - `capacity`: which parent a ticket channel goes into when the first is full.
//! - `config`: the config as the bot uses it, every Discord id parsed once at load;
//!   [`config_file`]: reading and validating the file; [`reload`]: re-reading it on change or
//!   SIGHUP.
//! - `upkeep`: the resume loop — unfinished closes and first messages, once the gateway is up
//!   and on every tick.
//! - `retries`: per-ticket backoff for retried work, so a lasting refusal is not retried on
//!   every tick (Discord blocks a client answered 401/403/429 too often).
//! - `messages` and `custom_id`: pure builders of everything the bot posts (panel, first
//!   message, log post, DM) and of its buttons' ids; `policy`: who may see and close a ticket.
//! - `discord`: the one wrapper every Discord REST call goes through, and what Discord's
//!   refusals mean (`DiscordProblem`); `rest_limits`: waiting for a call's bucket and the global
//!   limit before it leaves, from the limits Discord announces on every answer.
//! - `http`, `status`, `metrics`: `/healthz`, `/readyz`, `/metrics`, `/status`.
//! - [`privatebin`]: the PrivateBin v2 client — client-side encryption, upload queue, share links.
//! - [`transcript`]: renders a ticket's messages as Markdown for PrivateBin's markdown formatter.
//! - [`cli`]: the command line, parsed once; [`erase`]: `ticketeer-bot erase`, one user's data
//!   deleted on PrivateBin and in the database.
//! - [`store`]: Postgres — tickets and their durable close state machine, counted messages, panels,
//!   handled interactions.

// Items are pub(crate) unless the crate's users (tests, benchmarks, main) need them.
#![warn(unreachable_pub)]

mod capacity;
mod catch_up;
pub mod cli;
mod close;
mod commands;
mod config;
pub mod config_file;
mod context;
mod custom_id;
pub mod digest;
mod discord;
mod discord_call;
pub mod erase;
pub mod error;
mod gateway;
mod guild_cache;
mod guild_names;
mod http;
mod inactivity;
mod interactions;
mod limits;
mod messages;
mod metrics;
mod panels;
mod parents;
mod policy;
pub mod privatebin;
pub mod reload;
mod rest_limits;
mod retries;
pub mod retrieve;
mod settings;
mod status;
pub mod store;
pub mod transcript;
mod uncounted;
mod upkeep;

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::error::ErrorChain;

pub use config::{Category, Config};
pub use context::Context;
pub use discord_call::DiscordCall;
pub use error::{BotError, Result};
pub use settings::Settings;

/// Runs the bot until `shutdown` resolves, then stops taking new work, finishes what is in
/// flight (up to the shutdown grace), closes the gateway and returns.
///
/// # Errors
///
/// [`BotError::Store`] when migrations fail, [`BotError::BindHttp`] when the HTTP port is taken,
/// [`BotError::GatewayClosed`] when Discord ends the gateway session for good.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()>) -> Result<()> {
    store::migrate(&ctx.pool).await?;
    store::claim_unscoped_rows(&ctx.pool, ctx.application_id).await?;
    let listener = http::bind(ctx.config().http.listen).await?;
    if let Ok(address) = listener.local_addr() {
        ctx.set_http_address(address);
        tracing::info!(%address, "serving /healthz, /readyz, /metrics and /status");
    }
    // `close_leases` names its holders by this random id: the line tells an operator (and the
    // fault suite) which replica holds a close.
    tracing::info!(
        lease_holder = ctx.lease_holder,
        "this process holds close leases as this id"
    );
    let stop_http = CancellationToken::new();
    let server = http::serve(Arc::clone(&ctx), listener, stop_http.clone());
    refresh_open_ticket_gauges(&ctx).await;
    let stop_reload = CancellationToken::new();
    let watcher = tokio::spawn(reload::watch(Arc::clone(&ctx), stop_reload.clone()));
    let resumer = tokio::spawn(upkeep::resume_loop(Arc::clone(&ctx), ctx.stopping.clone()));
    let stop_renewing = CancellationToken::new();
    let renewer = tokio::spawn(close::renew_leases_loop(
        Arc::clone(&ctx),
        stop_renewing.clone(),
    ));

    let outcome = gateway::run(&ctx, shutdown).await;

    tracing::info!(
        in_flight = ctx.tracker.len(),
        "shutting down: finishing in-flight work"
    );
    stop_reload.cancel();
    ctx.stopping.cancel();
    let _ = watcher.await;
    let _ = resumer.await;
    ctx.tracker.close();
    if tokio::time::timeout(ctx.settings.shutdown_grace, ctx.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            abandoned = ctx.tracker.len(),
            "in-flight work did not finish within the shutdown grace"
        );
    }
    stop_renewing.cancel();
    let _ = renewer.await;
    if let Err(error) = store::release_close_leases_of(&ctx.pool, ctx.lease_holder).await {
        tracing::warn!(error = %ErrorChain(&error), "could not release the close leases; they expire");
    }
    stop_http.cancel();
    if let Err(error) = server.await {
        tracing::warn!(error = %ErrorChain(&error), "the HTTP server task failed");
    }
    ctx.pool.close().await;
    tracing::info!("stopped");
    outcome
}

/// Sets the open-tickets gauge of every configured category from the store.
pub(crate) async fn refresh_open_ticket_gauges(ctx: &Context) {
    let counts = match store::open_ticket_counts(&ctx.pool, ctx.application_id).await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not count open tickets for the metrics");
            return;
        }
    };
    let config = ctx.config();
    for key in config.categories.keys() {
        let open = counts
            .iter()
            .find(|(category, _)| category == key)
            .map_or(0, |(_, count)| *count);
        ctx.metrics.set_open_tickets(key, open);
    }
}
