//! The harness every bot test uses: the real `run()` against the Discord emulator, the PrivateBin
//! emulator and a fresh Postgres database, with a config file in a temporary directory.

#![allow(dead_code)] // Each test file uses a different part of the harness.

pub mod closing;
pub mod database_outage;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use ticketeer_bot::{BotError, Context, Settings, store};
use ticketeer_testkit::discord::{
    Control, DiscordEmulator, EmulatorConfig, InteractionOutcome, Message, RateLimitConfig,
    SupportGuild, TICKET_BOT_PERMISSIONS,
};
use ticketeer_testkit::postgres::TestDatabase;
use ticketeer_testkit::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any wait in a test may take before it fails.
pub use ticketeer_testkit::discord::channel_link;

pub const WAIT: Duration = Duration::from_secs(15);

/// What the bot holds in the test guild: enough to run tickets, nothing more.
pub const BOT_PERMISSIONS: u64 = TICKET_BOT_PERMISSIONS;

/// The traffic limiter of the test PrivateBin instance. The real server's default is 10 s, but
/// the bot's waits are real sleeps (limit plus a second of slack), so a 10 s window would cost
/// each test eleven seconds per paste after the first; one second keeps the limiter in every
/// test, refusing every paste posted within a second of the last one.
pub const TRAFFIC_LIMIT_SECS: u64 = 1;

/// The PrivateBin instance bot tests run against: PrivateBin's defaults with the limiter above.
pub fn privatebin_config() -> PrivateBinConfig {
    PrivateBinConfig {
        traffic_limit_secs: TRAFFIC_LIMIT_SECS,
        ..PrivateBinConfig::default()
    }
}

/// The key of the category every test config has.
pub const SUPPORT: &str = "support";

/// The Discord side of a test: a guild with a ticket category and people.
pub struct World {
    /// The emulator (kept alive for the test).
    pub emulator: DiscordEmulator,
    /// Its control handle.
    pub control: Control,
    /// The guild.
    pub guild: u64,
    /// The Discord category ticket channels go under.
    pub parent: u64,
    /// Where the panel is posted.
    pub create_channel: u64,
    /// Where transcripts are logged.
    pub log_channel: u64,
    /// The category's ticket role.
    pub staff_role: u64,
    /// A member without roles: opens tickets.
    pub alice: u64,
    /// A member with the staff role.
    pub bob: u64,
    /// A member with no role and no special permission.
    pub carol: u64,
    /// A member whose role may manage channels.
    pub moderator: u64,
}

impl World {
    async fn start(config: EmulatorConfig) -> Self {
        let emulator = DiscordEmulator::start(config)
            .await
            .expect("the Discord emulator starts");
        let control = emulator.control();
        let SupportGuild {
            guild,
            parent,
            create_channel,
            log_channel,
            staff_role,
            alice,
            bob,
            carol,
            moderator,
            ..
        } = SupportGuild::create(&control, BOT_PERMISSIONS);
        Self {
            emulator,
            control,
            guild,
            parent,
            create_channel,
            log_channel,
            staff_role,
            alice,
            bob,
            carol,
            moderator,
        }
    }

    /// The `support` category's YAML (indented for the `categories` map).
    pub fn category_yaml(&self, key: &str, create_message: &str) -> String {
        format!(
            r#"  {key}:
    guildId: "{guild}"
    name: Support
    parentChannelId: "{parent}"
    createChannelId: "{create}"
    roleIds: ["{staff}"]
    logChannelId: "{log}"
    createMessage: "{create_message}"
    createdMessage: "Thanks for reaching out! Someone will be with you shortly."
    createButton: {{label: Open a ticket, emoji: "🎫", style: primary}}
"#,
            guild = self.guild,
            parent = self.parent,
            create = self.create_channel,
            staff = self.staff_role,
            log = self.log_channel,
        )
    }
}

/// A temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "ticketeer-bot-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temporary directory");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running bot and everything it talks to.
pub struct Harness {
    /// The Discord side.
    pub world: World,
    /// The emulator's control (same as `world.control`).
    pub control: Control,
    /// The PrivateBin emulator.
    pub privatebin: PrivateBinEmulator,
    /// The test's database.
    pub database: TestDatabase,
    /// A pool on it, for assertions.
    pub pool: PgPool,
    /// Holds the config file.
    pub dir: TempDir,
    /// The config file the bot reads.
    pub config_path: PathBuf,
    /// The bot's context.
    pub ctx: Arc<Context>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), BotError>>>,
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
}

/// The Discord emulator the bot tests run against: Discord-like rate limits on (per-route
/// buckets and the global 50 per second), so a burst the bot sends is paced as Discord paces it.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        rate_limits: RateLimitConfig::discord_like(),
        ..EmulatorConfig::default()
    }
}

impl Harness {
    /// Starts everything with the `support` category and waits for its panel.
    pub async fn start() -> Self {
        Self::start_with(emulator_config(), |_| {}).await
    }

    /// Starts everything against a Discord emulator configured as `discord` and a PrivateBin
    /// instance configured as `privatebin`.
    pub async fn start_with_peers(discord: EmulatorConfig, privatebin: PrivateBinConfig) -> Self {
        Self::start_full(discord, |_| {}, None, privatebin).await
    }

    /// Starts everything; `prepare` may change the Discord world before the bot starts.
    pub async fn start_with(config: EmulatorConfig, prepare: impl FnOnce(&World)) -> Self {
        Self::start_full(config, prepare, None, privatebin_config()).await
    }

    /// Starts everything with the `support` category DMing its creators `dm_message` on close.
    pub async fn start_with_dm(dm_message: &str) -> Self {
        Self::start_full(
            emulator_config(),
            |_| {},
            Some(dm_message),
            privatebin_config(),
        )
        .await
    }

    /// Starts everything against a PrivateBin instance configured as `privatebin`.
    pub async fn start_with_privatebin(privatebin: PrivateBinConfig) -> Self {
        Self::start_full(emulator_config(), |_| {}, None, privatebin).await
    }

    async fn start_full(
        config: EmulatorConfig,
        prepare: impl FnOnce(&World),
        dm_message: Option<&str>,
        privatebin: PrivateBinConfig,
    ) -> Self {
        init_logging();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let world = World::start(config).await;
        prepare(&world);
        let privatebin = PrivateBinEmulator::start(privatebin)
            .await
            .expect("the PrivateBin emulator starts");
        let database = TestDatabase::create()
            .await
            .expect("a Postgres server for the tests (set DATABASE_URL or start PostgreSQL)");
        let pool = database.pool().await;
        let dir = TempDir::new();
        let config_path = dir.path().join("config.yaml");
        let mut yaml = config_yaml(
            &world,
            &privatebin.base_url(),
            &[(SUPPORT, "Need help? Open a ticket.")],
        );
        if let Some(message) = dm_message {
            let dm = format!("    dmOnClose: {{enabled: true, message: {message:?}}}\n");
            yaml.push_str(&dm);
        }
        write_config_file(dir.path(), &config_path, &yaml);
        let settings = test_settings(&config_path, &world, &database, &privatebin);
        let RunningBot {
            ctx,
            shutdown: stop,
            task,
        } = RunningBot::start(settings).await;
        let control = world.control.clone();
        let harness = Self {
            world,
            control,
            privatebin,
            database,
            pool,
            dir,
            config_path,
            ctx,
            shutdown: Some(stop),
            task: Some(task),
        };
        harness.panel(SUPPORT).await;
        let ctx = Arc::clone(&harness.ctx);
        eventually("the gateway to connect", || {
            let connected = ctx.gateway_connected();
            async move { connected.then_some(()) }
        })
        .await;
        harness
    }

    /// A whole config file with these categories (key, panel text).
    pub fn config_yaml(&self, categories: &[(&str, &str)]) -> String {
        config_yaml(&self.world, &self.privatebin.base_url(), categories)
    }

    /// Replaces the config file atomically (write, then rename), as a careful editor would.
    pub fn write_config(&self, yaml: &str) {
        write_config_file(self.dir.path(), &self.config_path, yaml);
    }

    /// The settings the harness runs the bot with: fast reloads, a small pool.
    pub fn settings(&self) -> Settings {
        test_settings(
            &self.config_path,
            &self.world,
            &self.database,
            &self.privatebin,
        )
    }

    /// Asks the bot to stop (as SIGTERM does) and returns what `run` returned.
    pub async fn stop(&mut self) -> Result<(), BotError> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the bot is running");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("the bot stops in time")
            .expect("the bot's task does not panic")
    }

    /// Stops the bot (as SIGTERM does) and starts a new one on the same database and emulators,
    /// as a restart after a crash or a rollout would.
    /// `between` runs while no bot is running (to end an outage, say).
    pub async fn restart(&mut self, between: impl FnOnce(&Self)) {
        self.restart_with(between, |_| {}).await;
    }

    /// Like [`restart`](Self::restart), with the new bot's settings adjusted by `adjust`.
    pub async fn restart_with(
        &mut self,
        between: impl FnOnce(&Self),
        adjust: impl FnOnce(&mut Settings),
    ) {
        self.stop().await.expect("the bot stops cleanly");
        between(self);
        let mut settings = self.settings();
        adjust(&mut settings);
        let RunningBot {
            ctx,
            shutdown,
            task,
        } = RunningBot::start(settings).await;
        self.ctx = ctx;
        self.shutdown = Some(shutdown);
        self.task = Some(task);
        let ctx = Arc::clone(&self.ctx);
        eventually("the restarted bot's gateway to connect", || {
            let connected = ctx.gateway_connected();
            async move { connected.then_some(()) }
        })
        .await;
    }

    /// Starts another bot on the same token, database and config (a second replica).
    pub async fn start_replica(&self) -> RunningBot {
        let replica = RunningBot::start(self.settings()).await;
        let ctx = Arc::clone(&replica.ctx);
        eventually("the replica's gateway to connect", || {
            let connected = ctx.gateway_connected();
            async move { connected.then_some(()) }
        })
        .await;
        replica
    }

    /// The bot's base URL for HTTP endpoints.
    pub async fn http_base(&self) -> String {
        let address = tokio::time::timeout(WAIT, self.ctx.http_address())
            .await
            .expect("the HTTP server listens");
        format!("http://{address}")
    }

    /// The bot's `/status` report, as JSON.
    pub async fn status(&self) -> serde_json::Value {
        reqwest::get(format!("{}/status", self.http_base().await))
            .await
            .expect("/status answers")
            .json()
            .await
            .expect("/status is JSON")
    }

    /// Waits for the bot's panel of `key` in the create channel and returns it.
    pub async fn panel(&self, key: &str) -> Message {
        let custom_id = format!("ticketeer:open:{key}");
        let channel = self.world.create_channel;
        let bot = self.control.bot_user_id();
        self.control
            .wait_for(WAIT, |control| {
                control.messages(channel).into_iter().find(|message| {
                    message.author_id == bot && message.button_custom_ids().contains(&custom_id)
                })
            })
            .await
            .unwrap_or_else(|_| panic!("the panel of {key} is posted"))
    }

    /// Every panel message of ours in the create channel.
    pub fn panels_in_create_channel(&self) -> Vec<Message> {
        let bot = self.control.bot_user_id();
        self.control
            .messages(self.world.create_channel)
            .into_iter()
            .filter(|message| {
                message.author_id == bot
                    && message
                        .button_custom_ids()
                        .iter()
                        .any(|id| id.starts_with("ticketeer:open:"))
            })
            .collect()
    }

    /// Clicks a button as `user` and returns the acknowledgement (or the failure).
    pub async fn click(&self, user: u64, message: u64, custom_id: &str) -> InteractionOutcome {
        self.control
            .click_button(user, message, custom_id)
            .await
            .expect("the button can be clicked")
    }

    /// `count` new members of the guild, named `{prefix}0`, `{prefix}1`, …, with no roles.
    pub fn new_members(&self, prefix: &str, count: usize) -> Vec<u64> {
        (0..count)
            .map(|number| {
                let user = self.control.create_user(&format!("{prefix}{number:03}"));
                self.control
                    .add_member(self.world.guild, user, &[])
                    .expect("a member");
                user
            })
            .collect()
    }

    /// Clicks the `support` panel's open button as `user`.
    pub async fn click_open(&self, user: u64) -> InteractionOutcome {
        let panel = self.panel(SUPPORT).await;
        self.click(user, panel.id, "ticketeer:open:support").await
    }

    /// Waits for the bot's final (edited) answer to an interaction and returns its text.
    pub async fn answer(&self, outcome: &InteractionOutcome) -> String {
        let id = outcome.interaction_id;
        self.control
            .wait_for(WAIT, |control| {
                let view = control.interaction(id)?;
                let content = view.original_response?.content;
                (!content.is_empty()).then_some(content)
            })
            .await
            .unwrap_or_else(|_| panic!("the bot answers interaction {id}"))
    }

    /// Opens a ticket for `user` and returns its channel id (from the answer's link).
    pub async fn open_ticket(&self, user: u64) -> u64 {
        let outcome = self.click_open(user).await;
        assert!(!outcome.failed(), "the click is acknowledged");
        let answer = self.answer(&outcome).await;
        channel_link(&answer).unwrap_or_else(|| panic!("the answer links a channel: {answer}"))
    }

    /// Waits for the ticket channel's pinned welcome (the message with the Close button).
    pub async fn pinned_welcome(&self, channel: u64) -> Message {
        self.control
            .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
            .await
            .unwrap_or_else(|_| panic!("the welcome of channel {channel} is pinned"))
    }

    /// Waits until the ticket's row satisfies `done`, and returns it.
    pub async fn ticket_when(
        &self,
        what: &str,
        ticket_id: i64,
        done: impl Fn(&store::Ticket) -> bool,
    ) -> store::Ticket {
        let done = &done;
        eventually(what, || {
            let pool = self.pool.clone();
            async move {
                let ticket = store::ticket(&pool, ticket_id).await.ok()??;
                done(&ticket).then_some(ticket)
            }
        })
        .await
    }

    /// How many of the bot's tickets are open (or opening), over every category.
    pub async fn open_tickets(&self) -> i64 {
        store::open_ticket_counts(&self.pool, self.ctx.application_id)
            .await
            .expect("open ticket counts")
            .into_iter()
            .map(|(_, count)| count)
            .sum()
    }

    /// What the bot's `/metrics` serves now.
    pub async fn metrics_text(&self) -> String {
        reqwest::get(format!("{}/metrics", self.http_base().await))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// The ticket of a channel, from the database.
    pub async fn ticket_of(&self, channel: u64) -> store::Ticket {
        store::ticket_by_channel(&self.pool, twilight_model::id::Id::new(channel))
            .await
            .expect("query tickets")
            .expect("a ticket for the channel")
    }
}

/// One `run()` of the bot.
pub struct RunningBot {
    /// Its context.
    pub ctx: Arc<Context>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), BotError>>,
}

impl RunningBot {
    async fn start(settings: Settings) -> Self {
        let ctx = Context::build(settings)
            .await
            .expect("the bot's context builds");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ticketeer_bot::run(Arc::clone(&ctx), async move {
            let _ = stopped.await;
        }));
        Self {
            ctx,
            shutdown,
            task,
        }
    }

    /// Stops it (as SIGTERM does) and returns what `run` returned.
    pub async fn stop(self) -> Result<(), BotError> {
        let _ = self.shutdown.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the bot stops in time")
            .expect("the bot's task does not panic")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A whole config file pointing at the emulators, with these categories (key, panel text).
pub fn config_yaml(world: &World, privatebin_url: &str, categories: &[(&str, &str)]) -> String {
    let mut yaml = format!(
        "discord:\n  apiProxy: \"{proxy}\"\n  gatewayUrl: \"{gateway}\"\nprivatebin:\n  url: \"{privatebin_url}\"\nhttp:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n",
        proxy = world.emulator.http_proxy(),
        gateway = world.emulator.gateway_url(),
    );
    if categories.is_empty() {
        yaml.push_str("categories: {}\n");
    } else {
        yaml.push_str("categories:\n");
    }
    for (key, text) in categories {
        yaml.push_str(&world.category_yaml(key, text));
    }
    yaml
}

fn write_config_file(dir: &Path, path: &Path, yaml: &str) {
    let staging = dir.join("config.yaml.new");
    std::fs::write(&staging, yaml).expect("write config");
    std::fs::rename(&staging, path).expect("swap config");
}

fn test_settings(
    config_path: &Path,
    world: &World,
    database: &TestDatabase,
    privatebin: &PrivateBinEmulator,
) -> Settings {
    let mut settings = Settings::new(config_path, world.emulator.token(), database.url());
    settings.reload_interval = Duration::from_millis(100);
    settings.shutdown_grace = Duration::from_secs(10);
    settings.database_max_connections = 4;
    settings.close_retry_interval = Duration::from_millis(100);
    settings.close_retry_max_backoff = Duration::from_millis(500);
    settings.welcome_repair_after = Duration::from_secs(1);
    // Postgres runs beside the bot on one clock, and tests open tickets right after READY: with
    // the production margin their closes would read the whole history.
    settings.record_clock_margin = Duration::ZERO;
    // Outlasts the test instance's limiter, as the default outlasts PrivateBin's default.
    settings.privatebin_retry.unrecognised_refusal_wait =
        Duration::from_secs(privatebin.config().traffic_limit_secs + 1);
    settings
}

/// Polls `check` until it returns `Some` (for state outside the emulator, e.g. the database).
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, check).await
}

/// [`eventually`], giving up after `patience` instead of [`WAIT`].
pub async fn eventually_within<T, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + patience;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
