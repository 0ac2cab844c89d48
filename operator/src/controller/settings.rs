//! What the controllers are started with: [`Settings`] and the [`BackoffPolicy`] inside them.
//!
//! Apart from the `Context` that holds them because they are plain data:
//! `main.rs` and the tests build them without a client.

use std::time::Duration;

use crate::bot_status;
use crate::builders::BuildSettings;
use crate::policy::Policy;

/// Per-object exponential backoff for failed reconciles (kube-runtime has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl BackoffPolicy {
    /// The delay before retrying after `failures` consecutive failures (at least 1), given
    /// `jitter` in `[0, 1)`: `base · 2^(failures−1)` capped at `max`, scaled into its upper half
    /// so that many objects failing together spread their retries.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1_u32 << exponent).min(self.max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Settings of the controllers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// What the builders need (the default bot image).
    pub build: BuildSettings,
    /// What TicketBots may ask for beyond the defaults (nothing, by default).
    pub policy: Policy,
    /// How often a converged object is reconciled again to repair drift (jittered ±10 %).
    pub drift_requeue: Duration,
    /// Backoff for failed reconciles.
    pub backoff: BackoffPolicy,
    /// This operator instance's name in Events (its pod name).
    pub instance: String,
    /// Where a bot's `/status` is, with `{name}` and `{namespace}` standing for the TicketBot's;
    /// by default its Service (`http://{name}.{namespace}.svc:8080/status`).
    pub status_url: String,
    /// How long to wait for a bot's `/status`.
    pub status_timeout: Duration,
    /// How soon a bot is reconciled (and its `/status` read) again while its report is not
    /// settled (unreachable, a panel missing, a problem reported); jittered ±10 %.
    pub status_requeue: Duration,
    /// The shortest time between two reads of one bot's `/status`: building the report costs the
    /// bot Discord API calls, and reconciles can come in bursts.
    pub status_min_interval: Duration,
    /// How long a deleted TicketBot is held for its bot to remove its panels from Discord,
    /// counted from the deletion; after that it is released with a Warning Event.
    pub panel_cleanup_timeout: Duration,
    /// How often a deleted TicketBot's `/status` is read while its panels remain.
    pub panel_cleanup_poll: Duration,
    /// How many objects each controller reconciles at once (never one object twice at once),
    /// 0 for no bound: bounds the operator's burst of API requests and memory when it starts
    /// with many TicketBots, each reconcile being a dozen requests.
    pub concurrency: u16,
    /// How long a category's first status waits for its bot's first one. A bot's first status
    /// changes every one of its categories' `Ready` (from "has not reported" to what the bot
    /// reports), so a category written before it is written twice: with a hundred new bots the
    /// operator would send a thousand status writes that are replaced a second later. The wait
    /// is bounded so that a bot whose reconcile keeps failing still leaves its categories a
    /// status.
    pub first_bot_status_wait: Duration,
}

impl Settings {
    /// Production defaults: all namespaces, 5-minute drift repair, 1 s → 5 min backoff.
    pub fn new(default_image: impl Into<String>) -> Self {
        Self {
            namespace: None,
            build: BuildSettings {
                default_image: default_image.into(),
                default_image_pull_secrets: Vec::new(),
            },
            policy: Policy::default(),
            drift_requeue: Duration::from_mins(5),
            backoff: BackoffPolicy {
                base: Duration::from_secs(1),
                max: Duration::from_mins(5),
            },
            instance: "ticketeer-operator".to_owned(),
            status_url: bot_status::default_status_url_template(),
            status_timeout: Duration::from_secs(3),
            status_requeue: Duration::from_secs(30),
            status_min_interval: Duration::from_secs(10),
            panel_cleanup_timeout: Duration::from_mins(1),
            panel_cleanup_poll: Duration::from_secs(2),
            concurrency: 8,
            first_bot_status_wait: Duration::from_secs(20),
        }
    }
}
