//! The `ticketeer-operator` binary: reads its settings from the environment, then runs the
//! controllers and the HTTP endpoints until SIGTERM or Ctrl-C.
//!
//! Environment: `TICKETEER_BOT_IMAGE` (default bot image), `TICKETEER_BOT_IMAGE_PULL_SECRETS`
//! (comma-separated Secret names bot pods pull with when a TicketBot names none),
//! `TICKETEER_ALLOW_DISCORD_OVERRIDES` (`true` lets TicketBots set `spec.discord.apiProxy` and
//! `spec.discord.gatewayUrl`; default `false`), `TICKETEER_BOT_IMAGE_ALLOW` (comma-separated image
//! repository prefixes `spec.image` may use besides the default image's; see `policy`),
//! `WATCH_NAMESPACE` (all when unset), `RECONCILE_CONCURRENCY` (reconciles at once per controller,
//! default 8, 0 for no bound), `DRIFT_REPAIR_SECONDS` (how often each object is reconciled with
//! nothing changed, default 300),
//! `HTTP_LISTEN` (default `0.0.0.0:8080`), `POD_NAME`, `LOG_FORMAT` (`json` or `text`),
//! `RUST_LOG` (default `info`), `LEADER_ELECTION` (`true` to hold a Lease in `POD_NAMESPACE` so
//! only one replica reconciles), `LEADER_ELECTION_LEASE` (that Lease's name; the chart sets the
//! release's full name, default `ticketeer-operator`), `BOT_STATUS_URL` (where each bot's `/status` is, `{name}` and
//! `{namespace}` standing for the TicketBot's; default `http://{name}.{namespace}.svc:8080/status`,
//! e.g. set it to reach the bots through a proxy when the operator runs outside the cluster).
//!
//! Exits non-zero, after logging why, when the controllers stop without a shutdown: with leader
//! election that is a Lease taken by another replica or not renewed in time (a fresh process
//! then stands by like any other replica).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use prometheus_client::registry::Registry;
use ticketeer_operator::controller::{Context, Settings, run_controllers};
use ticketeer_operator::health::Health;
use ticketeer_operator::http::router;
use ticketeer_operator::leader::{LeaderElection, run_while_leading};
use ticketeer_operator::metrics::Metrics;
use ticketeer_operator::policy::{ALLOW_DISCORD_OVERRIDES_ENV, BOT_IMAGE_ALLOW_ENV};
use tracing_subscriber::EnvFilter;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A comma-separated list, trimmed, without empty items.
fn env_list(name: &str) -> Vec<String> {
    env(name)
        .map(|names| {
            names
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `true` or `false` (unset is `false`); anything else stops the start, so that a typo never
/// silently allows or refuses.
fn env_flag(name: &str) -> anyhow::Result<bool> {
    match env(name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => anyhow::bail!("{name} must be true or false, not {other:?}"),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if env("LOG_FORMAT").as_deref() == Some("text") {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    }

    let default_image = env("TICKETEER_BOT_IMAGE")
        .unwrap_or_else(|| format!("ghcr.io/ticketeer/ticketeer:{}", env!("CARGO_PKG_VERSION")));
    let mut settings = Settings::new(default_image);
    settings.build.default_image_pull_secrets = env_list("TICKETEER_BOT_IMAGE_PULL_SECRETS");
    settings.policy.allow_discord_overrides = env_flag(ALLOW_DISCORD_OVERRIDES_ENV)?;
    settings.policy.allowed_image_prefixes = env_list(BOT_IMAGE_ALLOW_ENV);
    settings.namespace = env("WATCH_NAMESPACE");
    if let Some(pod) = env("POD_NAME") {
        settings.instance = pod;
    }
    if let Some(url) = env("BOT_STATUS_URL") {
        settings.status_url = url;
    }
    if let Some(concurrency) = env("RECONCILE_CONCURRENCY") {
        settings.concurrency = concurrency
            .parse()
            .context("RECONCILE_CONCURRENCY must be a number from 0 (unbounded) to 65535")?;
    }
    if let Some(seconds) = env("DRIFT_REPAIR_SECONDS") {
        let seconds: u64 = seconds
            .parse()
            .ok()
            .filter(|seconds| *seconds > 0)
            .context("DRIFT_REPAIR_SECONDS must be a whole number of seconds above 0")?;
        settings.drift_requeue = std::time::Duration::from_secs(seconds);
    }
    let listen: SocketAddr = env("HTTP_LISTEN")
        .unwrap_or_else(|| "0.0.0.0:8080".to_owned())
        .parse()
        .context("HTTP_LISTEN must be address:port")?;

    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster config or kubeconfig)")?;
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let health = Arc::new(Health::default());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let stopped = move |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let server = axum::serve(listener, router(Arc::new(registry), health.clone()))
        .with_graceful_shutdown(stopped(stop_receiver.clone()));
    let server = tokio::spawn(async move { server.await });

    let context = Arc::new(
        Context::new(client.clone(), settings, metrics.clone())
            .context("creating the controllers' context")?
            .with_health(health.clone()),
    );
    // Standby replicas serve too, so readiness does not depend on leadership.
    health.set_ready(true);
    let mut controllers = if env("LEADER_ELECTION").as_deref() == Some("true") {
        let namespace = env("POD_NAMESPACE")
            .context("LEADER_ELECTION needs POD_NAMESPACE (the namespace of the Lease)")?;
        let identity = env("POD_NAME")
            .context("LEADER_ELECTION needs POD_NAME (each replica's identity in the Lease)")?;
        let mut election = LeaderElection::new(namespace, identity);
        if let Some(lease) = env("LEADER_ELECTION_LEASE") {
            election.lease_name = lease;
        }
        let stop = stopped(stop_receiver.clone());
        let health = health.clone();
        tokio::spawn(async move {
            run_while_leading(client, election, metrics, health, stop, |stop| {
                run_controllers(context, stop)
            })
            .await
        })
    } else {
        let stop = stopped(stop_receiver.clone());
        tokio::spawn(async move {
            run_controllers(context, stop).await;
            Ok(())
        })
    };
    let ended = tokio::select! {
        () = shutdown_signal() => None,
        ended = &mut controllers => Some(ended),
    };
    health.set_ready(false);
    let _ = stop_sender.send(true);
    let result = match ended {
        None => {
            tracing::info!("shutting down");
            controllers.await
        }
        // Nothing asked the controllers to stop: that is a failure even if they return Ok.
        Some(Ok(Ok(()))) => Ok(Err(ticketeer_operator::Error::ControllersStopped)),
        Some(ended) => ended,
    };
    if let Ok(Err(error)) = &result {
        tracing::error!(%error, "the controllers stopped; exiting");
    }
    let stopped = result
        .context("the controllers task panicked")?
        .context("running the controllers");
    if stopped.is_err() {
        // The server shuts down gracefully on the stop signal sent above; the error is what
        // the process exits with, whatever the server does.
        let _ = server.await;
        return stopped;
    }
    server
        .await
        .context("the HTTP server task panicked")?
        .context("serving HTTP")?;
    Ok(())
}
