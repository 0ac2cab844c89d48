//! The bot's shared state: Discord and Postgres clients, the current config, metrics, and the
//! tracker of in-flight work. One [`Context`] per process, passed as `Arc<Context>`.

use std::collections::HashSet;
use std::fmt;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::sync::{Mutex, Notify, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use twilight_http::Client;
use twilight_http::request::TryIntoRequest;
use twilight_http::response::marker::ListBody;
use twilight_http::response::{Response, ResponseFuture};
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, MessageMarker, UserMarker};

use crate::config::Config;
use crate::config_file;
use crate::discord;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::metrics::Metrics;
use crate::privatebin::{RetryPolicy, UploadQueue, UploadSettings};
use crate::rest_limits::{self, Admission, RestLimits};
use crate::retries::doubling;
use crate::settings::Settings;

/// How many gateway message events (create, update, delete) do their database work at once.
pub(crate) const MESSAGE_WORK_PERMITS: u32 = 8;

/// The longest a close waits for the message events already received to be stored before it
/// reads the conversation; past it the close reads the whole history instead.
const MESSAGE_WORK_SETTLE: Duration = Duration::from_secs(5);

/// Connects to Postgres, trying again with a growing wait for up to
/// [`Settings::database_connect_patience`]. Each attempt is one plain connection, so a failure
/// says what went wrong (connection refused, authentication failed, no such database) instead of
/// the pool's "timed out".
async fn connect_database(settings: &Settings) -> Result<PgPool> {
    let options: PgConnectOptions = settings
        .database_url
        .expose_secret()
        .parse()
        .map_err(BotError::ConnectDatabase)?;
    let started = Instant::now();
    let mut failures = 0;
    loop {
        failures += 1;
        let wait = doubling(Duration::from_millis(200), failures, Duration::from_secs(5));
        match options.connect().await {
            Ok(connection) => {
                let _ = connection.close().await;
                break;
            }
            Err(error) if started.elapsed() + wait < settings.database_connect_patience => {
                tracing::warn!(
                    error = %ErrorChain(&error),
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "the database is not reachable yet; trying again"
                );
                tokio::time::sleep(wait).await;
            }
            Err(error) => return Err(BotError::ConnectDatabase(error)),
        }
    }
    PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(BotError::ConnectDatabase)
}

/// What a [`Context`] is made of once the IO of starting (config file, Postgres, Discord) is done.
pub(crate) struct ContextParts {
    /// How the bot was started.
    pub(crate) settings: Settings,
    /// The config in force.
    pub(crate) config: Config,
    /// The fingerprint of the config file's text ([`config_file::load`]).
    pub(crate) config_fingerprint: u64,
    pub(crate) pool: PgPool,
    /// Discord REST, with twilight's rate limiter.
    pub(crate) http: Client,
    /// Discord REST for interaction callbacks, without it.
    pub(crate) interaction_http: Client,
    /// Metrics, with whatever starting counted.
    pub(crate) metrics: Metrics,
    /// The application the bot is.
    pub(crate) application_id: Id<ApplicationMarker>,
    /// The bot's own user.
    pub(crate) bot_user_id: Id<UserMarker>,
}

/// Everything handlers share.
pub struct Context {
    /// Discord REST for every call but the interaction callbacks, behind [`RestLimits`] and then
    /// twilight's rate limiter, which waits out the 429s that still come.
    pub(crate) http: Client,
    /// For interaction callbacks and their follow-up edits only: without twilight's rate limiter,
    /// which queues every `interactions/…` request behind one another (one in flight), so a burst
    /// of clicks would be acknowledged one round trip apart. Discord exempts these routes from the
    /// global limit, and each interaction is answered once.
    pub interaction_http: Client,
    /// Paces every call but the interaction callbacks by Discord's announced limits.
    pub(crate) rest_limits: RestLimits,
    pub(crate) pool: PgPool,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// In-flight work (event handlers); shutdown waits for it.
    pub tracker: TaskTracker,
    /// The application the bot is (interaction responses are sent as it).
    pub application_id: Id<ApplicationMarker>,
    /// The bot's own user.
    pub bot_user_id: Id<UserMarker>,
    pub(crate) settings: Settings,
    config: RwLock<Arc<Config>>,
    pub(crate) config_fingerprint: std::sync::Mutex<u64>,
    pub(crate) gateway_connected: AtomicBool,
    /// Signalled each time the gateway session comes up, so work that needs Discord (resuming
    /// unfinished closes) starts then rather than at its next timer tick.
    pub(crate) gateway_up: Notify,
    pub(crate) reload_requested: Notify,
    /// Panel syncs run one at a time (startup, reloads and deleted panels may coincide).
    pub(crate) panel_sync: Mutex<()>,
    /// Cancelled when shutdown begins: closes stop between steps.
    pub(crate) stopping: CancellationToken,
    /// Tickets whose close this process is driving now (a cheap check before the database lock).
    pub(crate) driving: std::sync::Mutex<HashSet<i64>>,
    /// What `/status` read of each guild from Discord.
    pub(crate) guild_cache: crate::guild_cache::GuildCache,
    /// Guild and role names as the gateway last told them, for transcripts.
    pub(crate) guild_names: crate::guild_names::GuildNameBook,
    /// The ticket parents that answered full lately (tried last when opening).
    pub(crate) full_parents: crate::capacity::FullParents,
    /// Who this process is in the close leases (random per start).
    pub(crate) lease_holder: i64,
    /// The latest moment (the bot's clock) this process may have missed a message event: a new
    /// gateway session, or a message it failed to store. `None` until the first READY, since
    /// nothing is seen before it. A ticket opened after it has every message stored.
    last_gap: std::sync::Mutex<Option<jiff::Timestamp>>,
    /// Ticket messages the database could not take when they arrived, stored again by the
    /// resume loop.
    pub(crate) uncounted: crate::uncounted::Uncounted,
    /// Bounds the message events doing database work at once, so a burst of thousands of
    /// messages queues here instead of contending for the pool all together.
    pub(crate) message_work: Semaphore,
    /// The transcript upload queue, with the settings it was built from (rebuilt when the
    /// PrivateBin settings change).
    upload_queue: std::sync::Mutex<Option<(UploadSettings, UploadQueue)>>,
    http_address: watch::Sender<Option<SocketAddr>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Context")
            .field("application_id", &self.application_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Loads and validates the config, connects to Postgres, and asks Discord who the bot is.
    ///
    /// The process must have installed its rustls crypto provider first (`main` installs ring):
    /// the Discord and PrivateBin clients are built without one of their own.
    ///
    /// # Errors
    ///
    /// [`BotError::ReadConfig`] / [`BotError::InvalidConfig`] naming the file and every bad field;
    /// [`BotError::ConnectDatabase`]; [`BotError::Discord`] when Discord refuses the token.
    pub async fn build(settings: Settings) -> Result<Arc<Self>> {
        let (config, config_fingerprint) = config_file::load(&settings.config_path).await?;
        let (http, interaction_http) = discord_clients(&settings, &config);
        let pool = connect_database(&settings).await?;
        let metrics = Metrics::new();
        let bot_user =
            discord::send_for_model(&metrics, DiscordCall::ReadBotUser, http.current_user())
                .await?;
        let application_id = match config.application_id {
            Some(id) => id,
            None => {
                discord::send_for_model(
                    &metrics,
                    DiscordCall::ReadApplication,
                    http.current_user_application(),
                )
                .await?
                .id
            }
        };
        Ok(Self::from_parts(ContextParts {
            settings,
            config,
            config_fingerprint,
            pool,
            http,
            interaction_http,
            metrics,
            application_id,
            bot_user_id: bot_user.id,
        }))
    }

    /// A context from parts already made, without any IO: what [`build`](Self::build) ends
    /// with, and how tests make one around a lazy pool and clients that are never called.
    pub(crate) fn from_parts(parts: ContextParts) -> Arc<Self> {
        let (http_address, _) = watch::channel(None);
        Arc::new(Self {
            http: parts.http,
            interaction_http: parts.interaction_http,
            rest_limits: RestLimits::new(rest_limits::DISCORD_GLOBAL_PER_SECOND),
            pool: parts.pool,
            metrics: parts.metrics,
            tracker: TaskTracker::new(),
            application_id: parts.application_id,
            bot_user_id: parts.bot_user_id,
            settings: parts.settings,
            config: RwLock::new(Arc::new(parts.config)),
            config_fingerprint: std::sync::Mutex::new(parts.config_fingerprint),
            gateway_connected: AtomicBool::new(false),
            gateway_up: Notify::new(),
            reload_requested: Notify::new(),
            panel_sync: Mutex::new(()),
            stopping: CancellationToken::new(),
            driving: std::sync::Mutex::new(HashSet::new()),
            lease_holder: rand::random(),
            last_gap: std::sync::Mutex::new(None),
            uncounted: crate::uncounted::Uncounted::default(),
            message_work: Semaphore::new(MESSAGE_WORK_PERMITS as usize),
            guild_cache: crate::guild_cache::GuildCache::default(),
            guild_names: crate::guild_names::GuildNameBook::default(),
            full_parents: crate::capacity::FullParents::default(),
            upload_queue: std::sync::Mutex::new(None),
            http_address,
        })
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(config) => Arc::clone(&config),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub(crate) fn replace_config(&self, config: Config) {
        let config = Arc::new(config);
        match self.config.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }

    /// The path of the config file.
    pub fn config_path(&self) -> &std::path::Path {
        &self.settings.config_path
    }

    /// The upload queue for the configured PrivateBin server, started on first use (and again
    /// when a reload changes the server or the expiry).
    ///
    /// # Errors
    ///
    /// [`BotError::UploadTranscript`] when the configured URL cannot be used.
    pub fn upload_queue(&self) -> Result<UploadQueue> {
        let wanted = upload_settings(&self.config(), self.settings.privatebin_retry);
        let mut current = match self.upload_queue.lock() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((settings, queue)) = current.as_ref()
            && *settings == wanted
        {
            return Ok(queue.clone());
        }
        let queue = UploadQueue::spawn(&wanted).map_err(BotError::UploadTranscript)?;
        *current = Some((wanted, queue.clone()));
        Ok(queue)
    }

    /// Asks the bot to re-read its config now (what SIGHUP does).
    pub fn request_reload(&self) {
        self.reload_requested.notify_one();
    }

    /// Whether the gateway session is up (READY or RESUMED seen, no close since).
    pub fn gateway_connected(&self) -> bool {
        self.gateway_connected.load(Ordering::Acquire)
    }

    pub(crate) fn set_gateway_connected(&self, connected: bool) {
        let was_connected = self.gateway_connected.swap(connected, Ordering::AcqRel);
        if connected && !was_connected {
            // `notify_one` keeps a permit when nobody waits yet: the signal is never lost.
            self.gateway_up.notify_one();
        }
    }

    /// Notes that a message event may have been missed just now (a new gateway session, or a
    /// message that could not be stored): tickets opened before this moment are closed from
    /// their whole history.
    pub(crate) fn record_gap(&self) {
        let now = jiff::Timestamp::now();
        let mut last_gap = match self.last_gap.lock() {
            Ok(last_gap) => last_gap,
            Err(poisoned) => poisoned.into_inner(),
        };
        // The wall clock may step back; a gap once noted is never forgotten.
        *last_gap = Some(last_gap.map_or(now, |gap| gap.max(now)));
    }

    /// Whether the stored messages of a ticket opened at `opened_at` (the database's clock) are
    /// all its messages: it was opened later than the last possible miss by more than
    /// [`Settings::record_clock_margin`].
    pub(crate) fn record_is_complete_for(&self, opened_at: jiff::Timestamp) -> bool {
        let last_gap = match self.last_gap.lock() {
            Ok(last_gap) => *last_gap,
            Err(poisoned) => *poisoned.into_inner(),
        };
        last_gap
            .and_then(|gap| gap.checked_add(self.settings.record_clock_margin).ok())
            .is_some_and(|complete_after| opened_at > complete_after)
    }

    /// Waits until every message event whose work is already queued has been stored (the
    /// semaphore is fair: all its permits come free only after the earlier waiters ran);
    /// `false` when that takes longer than [`MESSAGE_WORK_SETTLE`].
    pub(crate) async fn settle_message_work(&self) -> bool {
        let all = self.message_work.acquire_many(MESSAGE_WORK_PERMITS);
        matches!(
            tokio::time::timeout(MESSAGE_WORK_SETTLE, all).await,
            Ok(Ok(_))
        )
    }

    pub(crate) fn token(&self) -> &str {
        self.settings.discord_token.expose_secret()
    }

    pub(crate) fn set_http_address(&self, address: SocketAddr) {
        self.http_address.send_replace(Some(address));
    }

    /// The address the HTTP server listens on, once it does (useful with port 0).
    pub async fn http_address(&self) -> SocketAddr {
        let mut receiver = self.http_address.subscribe();
        loop {
            if let Some(address) = *receiver.borrow_and_update() {
                return address;
            }
            if receiver.changed().await.is_err() {
                // The sender lives as long as the context; this branch is unreachable while
                // someone holds `&self`. Wait forever rather than invent an address.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Sends a Discord REST request, counting it by call and status. It waits first for its
    /// bucket and the global limit ([`RestLimits`]); interaction callbacks and webhook calls go
    /// at once, through [`Self::interaction_http`], whichever client built them.
    ///
    /// # Errors
    ///
    /// [`BotError::Discord`] naming `call` when the request fails.
    pub(crate) async fn rest<R, T>(&self, call: DiscordCall, request: R) -> Result<Response<T>>
    where
        R: TryIntoRequest + IntoFuture<IntoFuture = ResponseFuture<T>>,
        T: Unpin,
    {
        let request = match request.try_into_request() {
            Ok(request) => request,
            Err(error) => {
                self.metrics.count_rest(call, None);
                return Err(BotError::discord(call, error));
            }
        };
        let admission = self
            .rest_limits
            .admit(request.method(), request.path())
            .await;
        let client = match admission {
            Admission::Exempt => &self.interaction_http,
            Admission::Paced(..) => &self.http,
        };
        let answer = discord::send(&self.metrics, call, client.request::<T>(request)).await;
        admission.complete(answer.as_ref().ok().and_then(|response| {
            rest_limits::bucket_state(response.headers(), std::time::Instant::now())
        }));
        answer
    }

    /// Sends a Discord REST request and reads the answer's body.
    ///
    /// # Errors
    ///
    /// [`BotError::Discord`] or [`BotError::ReadDiscordResponse`] naming `call`.
    pub(crate) async fn rest_model<R, T>(&self, call: DiscordCall, request: R) -> Result<T>
    where
        R: TryIntoRequest + IntoFuture<IntoFuture = ResponseFuture<T>>,
        T: DeserializeOwned + Unpin + Send + 'static,
    {
        self.rest(call, request)
            .await?
            .model()
            .await
            .map_err(|source| BotError::ReadDiscordResponse { call, source })
    }

    /// Sends a Discord REST request whose answer is a list, and reads it.
    ///
    /// # Errors
    ///
    /// [`BotError::Discord`] or [`BotError::ReadDiscordResponse`] naming `call`.
    pub(crate) async fn rest_list<R, T>(&self, call: DiscordCall, request: R) -> Result<Vec<T>>
    where
        R: TryIntoRequest + IntoFuture<IntoFuture = ResponseFuture<ListBody<T>>>,
        T: DeserializeOwned + Unpin + Send + 'static,
    {
        self.rest(call, request)
            .await?
            .models()
            .await
            .map_err(|source| BotError::ReadDiscordResponse { call, source })
    }

    /// Replaces a message the bot posted with `text` and takes its buttons away, so that what it
    /// asked is answered for everyone who reads it. Pings nobody, whoever `text` mentions.
    ///
    /// # Errors
    ///
    /// [`BotError::Discord`] naming `call`.
    pub(crate) async fn retire_message(
        &self,
        call: DiscordCall,
        channel: Id<ChannelMarker>,
        message: Id<MessageMarker>,
        text: &str,
    ) -> Result<()> {
        let no_pings = AllowedMentions::default();
        self.rest(
            call,
            self.http
                .update_message(channel, message)
                .content(Some(text))
                .components(Some(&[]))
                .allowed_mentions(Some(&no_pings)),
        )
        .await
        .map(drop)
    }
}

/// The two Discord REST clients: one with twilight's rate limiter for everything, one without
/// for interaction callbacks (see [`Context::interaction_http`]). Building them does no IO.
pub(crate) fn discord_clients(settings: &Settings, config: &Config) -> (Client, Client) {
    let client = |ratelimited: bool| {
        let mut builder = Client::builder()
            .token(settings.discord_token.expose_secret().to_owned())
            .timeout(settings.discord_timeout);
        if !ratelimited {
            builder = builder.ratelimiter(None);
        }
        if let Some(proxy) = &config.discord.api_proxy {
            builder = builder.proxy(proxy.clone(), true);
        }
        builder.build()
    };
    (client(true), client(false))
}

/// The upload settings for the configured server. [`Settings::new`] allows one attempt for
/// network trouble: a failed close step is retried by the close loop, which stops at shutdown, so
/// no retry outlives the bot and stores a paste nobody references.
fn upload_settings(config: &Config, retry: RetryPolicy) -> UploadSettings {
    let mut settings = UploadSettings::new(config.privatebin.url.clone());
    settings.expire = config.privatebin.expire;
    settings.retry = retry;
    settings
}

/// A context for unit tests, built without IO: a pool that would connect only when first used
/// and Discord clients pointed at a closed local port, so a handler that should answer without
/// Postgres or Discord fails loudly if it does not.
#[cfg(test)]
pub(crate) fn test_context(yaml: &str) -> Arc<Context> {
    let mut config = Config::from_yaml(yaml).expect("a valid test config");
    config.discord.api_proxy = Some("127.0.0.1:9".to_owned());
    let settings = Settings::new(
        "/nonexistent/config.yaml",
        "test-token",
        "postgres://test@127.0.0.1:9/test",
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (http, interaction_http) = discord_clients(&settings, &config);
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy(settings.database_url.expose_secret())
        .expect("a well-formed database URL");
    Context::from_parts(ContextParts {
        settings,
        config,
        config_fingerprint: 0,
        pool,
        http,
        interaction_http,
        metrics: Metrics::new(),
        application_id: Id::new(1_000_000_000_000_000_001),
        bot_user_id: Id::new(1_000_000_000_000_000_001),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Settings, test_context};

    const CONFIG: &str = r#"privatebin:
  url: "https://paste.example/"
categories: {}
"#;

    // A runtime for the Discord clients' rate limiter, which the context starts.
    #[tokio::test]
    async fn the_record_is_incomplete_before_the_first_session_and_for_tickets_older_than_a_gap() {
        let ctx = test_context(CONFIG);
        let margin = ctx.settings.record_clock_margin;
        assert_eq!(margin, Duration::from_secs(2), "the documented default");
        let later = |seconds: u64| {
            jiff::Timestamp::now()
                .checked_add(Duration::from_secs(seconds))
                .expect("a representable time")
        };
        assert!(
            !ctx.record_is_complete_for(later(60)),
            "nothing is seen before the first READY"
        );
        ctx.record_gap();
        assert!(!ctx.record_is_complete_for(jiff::Timestamp::now()));
        assert!(
            !ctx.record_is_complete_for(later(1)),
            "within the clock margin of the gap"
        );
        assert!(ctx.record_is_complete_for(later(60)));
    }

    #[test]
    fn settings_never_print_their_secrets() {
        let settings = Settings::new(
            "/etc/ticketeer/config.yaml",
            "MTAw.secret-token",
            "postgres://bot:hunter2@db/ticketeer",
        );
        let printed = format!("{settings:?}");
        assert!(!printed.contains("secret-token"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("config.yaml"), "{printed}");
    }
}
