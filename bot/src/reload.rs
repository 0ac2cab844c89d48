//! Reloading the config file while the bot runs.
//!
//! The file is polled (re-read every [`Settings::reload_interval`](crate::Settings)) rather than
//! watched with inotify: a Kubernetes ConfigMap volume updates by swapping a symlink, which file
//! watchers miss or report oddly, while reading the content always sees the truth. SIGHUP asks for
//! a reload at once. A bad new file is refused and logged; the running config stays.

use std::sync::Arc;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::commands;
use crate::config::Config;
use crate::config_file;
use crate::context::Context;
use crate::error::ErrorChain;
use crate::panels;

/// What one reload attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file did not change (or changed without changing the config).
    Unchanged,
    /// A new config is in force and the panels were synced.
    Applied,
    /// The file could not be read or is invalid; the running config stays.
    Refused,
}

impl ReloadOutcome {
    /// The outcome's metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Applied => "applied",
            Self::Refused => "refused",
        }
    }
}

/// Re-reads the config file; applies it when it changed (or always, when `forced`).
pub async fn reload_once(ctx: &Context, forced: bool) -> ReloadOutcome {
    let path = ctx.config_path();
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => text,
        Err(error) => {
            tracing::error!(path = %path.display(), error = %ErrorChain(&error), "could not read the config file; keeping the running config");
            return ReloadOutcome::Refused;
        }
    };
    let new_fingerprint = config_file::fingerprint(&text);
    {
        let mut seen = match ctx.config_fingerprint.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *seen == new_fingerprint && !forced {
            return ReloadOutcome::Unchanged;
        }
        // Remember even a bad file, so it is reported once rather than every second.
        *seen = new_fingerprint;
    }
    let config = match config_file::parse(path, &text) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "config reload refused; keeping the running config");
            return ReloadOutcome::Refused;
        }
    };
    let current = ctx.config();
    if *current == config && !forced {
        return ReloadOutcome::Unchanged;
    }
    warn_about_restart_only_settings(&current, &config);
    // Guilds that lose their last category lose the commands too.
    let previous_guilds: Vec<_> = current
        .categories
        .values()
        .map(|category| category.guild_id)
        .collect();
    ctx.replace_config(config);
    tracing::info!(path = %path.display(), categories = ctx.config().categories.len(), "config reloaded");
    panels::sync_all(ctx).await;
    commands::register_commands(ctx, &previous_guilds).await;
    crate::refresh_open_ticket_gauges(ctx).await;
    ReloadOutcome::Applied
}

fn warn_about_restart_only_settings(current: &Config, new: &Config) {
    if current.http != new.http {
        tracing::warn!("http.listen changed; it takes effect when the bot restarts");
    }
    if current.discord != new.discord {
        tracing::warn!("discord settings changed; they take effect when the bot restarts");
    }
    if current.log != new.log {
        tracing::warn!("log settings changed; they take effect when the bot restarts");
    }
}

/// Polls the config file and answers reload requests until `stop` is cancelled.
pub(crate) async fn watch(ctx: Arc<Context>, stop: CancellationToken) {
    let mut poll = tokio::time::interval(ctx.settings.reload_interval);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            () = stop.cancelled() => return,
            _ = poll.tick() => false,
            () = ctx.reload_requested.notified() => true,
        };
        let outcome = reload_once(&ctx, forced).await;
        ctx.metrics.count_config_check(outcome.as_str());
    }
}
