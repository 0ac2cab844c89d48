//! How the bot is started: the config file's path, the secrets from the environment, and the
//! timings production uses (tests shorten them).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::privatebin::RetryPolicy;

/// How the bot is started: where its config is and the secrets from the environment (which
/// print as `[REDACTED]`, in logs and in `Debug` alike).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The `config.yaml` to load and watch.
    pub config_path: PathBuf,
    /// The bot token (`DISCORD_TOKEN`).
    pub discord_token: SecretString,
    /// The Postgres URL (`DATABASE_URL`); it may hold a password.
    pub database_url: SecretString,
    /// How often the config file is checked for changes.
    pub reload_interval: Duration,
    /// How long shutdown waits for in-flight work before giving up on it.
    pub shutdown_grace: Duration,
    /// The most Postgres connections the bot opens.
    pub database_max_connections: u32,
    /// How long a Discord REST request may take.
    pub discord_timeout: Duration,
    /// How often unfinished closes are looked for, and the first wait before a failed close is
    /// retried.
    pub close_retry_interval: Duration,
    /// The longest wait between retries of a failing close (the wait doubles up to this).
    pub close_retry_max_backoff: Duration,
    /// How long an HTTP client may take to send its request headers; a slower or silent client
    /// is disconnected, so half-open connections cannot pile up.
    pub http_header_timeout: Duration,
    /// The longest an HTTP connection is kept, however busy.
    pub http_connection_lifetime: Duration,
    /// How long shutdown waits for HTTP requests in flight, so a slow client cannot keep the
    /// bot past Kubernetes' grace period.
    pub http_shutdown_wait: Duration,
    /// How long the bot keeps trying to reach Postgres at start (a database that starts after the
    /// bot, as in a fresh cluster, is waited for) before it exits with the last error.
    pub database_connect_patience: Duration,
    /// How long after its last step an open ticket whose first message is not yet posted and
    /// pinned is left alone before the bot finishes it (an open in flight is still posting it).
    pub welcome_repair_after: Duration,
    /// How long a close lease lasts unless renewed: after a crash, how long other replicas wait
    /// before they take over its unfinished closes.
    pub close_lease_ttl: Duration,
    /// How long `/status` reuses what it read of a guild from Discord when no gateway event
    /// says the guild changed.
    pub status_max_age: Duration,
    /// How the upload queue retries: the limiter is waited out, a refusal in the instance's own
    /// language is waited out and then split; network trouble is tried once (see
    /// `upload_settings`).
    pub privatebin_retry: RetryPolicy,
    /// How long a handled interaction is remembered (the claim that makes each click handled
    /// once across replicas). Discord delivers an interaction once and needs an answer within
    /// 3 seconds, so an hour outlasts any replica that receives it late.
    pub interaction_retention: Duration,
    /// How often the bot deletes what it no longer needs: handled interactions older than
    /// `interaction_retention`, and the links and delete tokens of transcripts whose pastes
    /// PrivateBin has deleted (their expiry has passed).
    pub forget_interval: Duration,
    /// How long the download of one attachment may take at the close before the file is listed
    /// as not kept (the close goes on without it).
    pub attachment_download_timeout: Duration,
    /// How long a Close click waits for the database to say whether the ticket's category asks
    /// for a reason; past it the ticket closes without asking, within Discord's 3 seconds.
    pub close_prompt_lookup_timeout: Duration,
    /// How much later than the bot's last possible miss of a message event a ticket must have
    /// been opened for its close to trust the stored messages instead of reading the whole
    /// history. The ticket's opening time is the database's `now()` and the miss is the bot's
    /// clock: the margin covers the skew between the two.
    pub record_clock_margin: Duration,
}

impl Settings {
    /// Settings with production defaults: the file is re-read every second, shutdown waits up to
    /// 20 s (inside Kubernetes' default 30 s grace period).
    pub fn new(
        config_path: impl Into<PathBuf>,
        discord_token: impl Into<String>,
        database_url: impl Into<String>,
    ) -> Self {
        Self {
            config_path: config_path.into(),
            discord_token: SecretString::from(discord_token.into()),
            database_url: SecretString::from(database_url.into()),
            reload_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
            database_max_connections: 10,
            discord_timeout: Duration::from_secs(10),
            close_retry_interval: Duration::from_secs(5),
            close_retry_max_backoff: Duration::from_mins(5),
            http_header_timeout: Duration::from_secs(10),
            http_connection_lifetime: Duration::from_mins(5),
            http_shutdown_wait: Duration::from_secs(3),
            database_connect_patience: Duration::from_mins(1),
            welcome_repair_after: Duration::from_secs(30),
            close_lease_ttl: Duration::from_secs(30),
            status_max_age: Duration::from_mins(1),
            privatebin_retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            interaction_retention: Duration::from_hours(1),
            forget_interval: Duration::from_mins(15),
            attachment_download_timeout: Duration::from_secs(30),
            close_prompt_lookup_timeout: Duration::from_secs(1),
            record_clock_margin: Duration::from_secs(2),
        }
    }
}
