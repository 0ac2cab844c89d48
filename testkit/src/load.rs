//! The load generator behind `ticketeer-testkit load`: the bot's release binary as a process of
//! its own against the Discord emulator with Discord-like rate limits, the PrivateBin emulator and
//! a fresh database, driven through a seeded scenario and measured from outside.
//!
//! A scenario opens tickets (all clicks at once, or spaced at the rate the limits allow), writes
//! messages into each, closes half of them at once, checks the database and the guilds for a
//! consistent end state, and stops the bot with SIGTERM. The big-ticket scenario writes 10 000
//! messages into one ticket and times its close. [`Report`] holds what was measured and
//! [`Report::targets`] what it is held to. See `docs/testkit.md` ("The load generator").
//!
//! Past 450 lines: one scenario's steps in order, each a short function, so the whole run reads
//! top to bottom in one place.

pub(crate) mod bot_process;
pub(crate) mod guilds;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::Value;

pub use report::{Latency, Report, TargetCheck};

use crate::discord::{
    Control, DiscordEmulator, EmulatorConfig, RateLimitConfig, RequestRecord, UserMessage,
    channel_link,
};
use crate::postgres::TestDatabase;
use crate::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use bot_process::BotProcess;
use guilds::{Layout, TICKETS_PER_GUILD};
use report::{bucket_time, busiest_window, mebibytes, millis};

/// What went wrong in a load run (the figures of a run that completes are a [`Report`], targets
/// met or not).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bot process failed or never got ready.
    #[error("the bot: {what} (its log: {})", log.display())]
    Bot {
        /// What it did.
        what: String,
        /// Its log file.
        log: PathBuf,
    },
    /// An emulator could not be started or refused a set-up step.
    #[error("the emulators: {0}")]
    Emulator(String),
    /// The database could not be created or read.
    #[error("the database: {0}")]
    Database(String),
    /// Something the scenario waits for did not happen within its bound.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
    },
    /// The scenario name is not one of [`Scenario::ALL`].
    #[error("unknown scenario {0:?}; known: {known}", known = Scenario::names())]
    UnknownScenario(String),
}

/// A load scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 100 members click open at the same instant.
    Burst100,
    /// The same over a 100 ms REST round trip.
    Burst100RoundTrip100,
    /// 100 clicks spaced at the rate the limits allow.
    Spaced100,
    /// 500 at once, over three guilds.
    Burst500,
    /// 500 spaced.
    Spaced500,
    /// 2000 at once, over ten guilds.
    Burst2000,
    /// One ticket with 10 000 messages, closed.
    BigTicket,
}

/// How a scenario drives the bot.
#[derive(Debug, Clone, Copy)]
struct Shape {
    clicks: usize,
    round_trip: Duration,
    spaced: bool,
    messages_per_ticket: usize,
    /// Close half of the tickets (the bursts), or the one ticket (the big ticket).
    close_all: bool,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Self; 7] = [
        Self::Burst100,
        Self::Burst100RoundTrip100,
        Self::Spaced100,
        Self::BigTicket,
        Self::Burst500,
        Self::Spaced500,
        Self::Burst2000,
    ];

    /// The scenario's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Burst100 => "burst-100",
            Self::Burst100RoundTrip100 => "burst-100-rtt100",
            Self::Spaced100 => "spaced-100",
            Self::Burst500 => "burst-500",
            Self::Spaced500 => "spaced-500",
            Self::Burst2000 => "burst-2000",
            Self::BigTicket => "big-ticket",
        }
    }

    /// The scenario named `name`.
    ///
    /// # Errors
    /// [`LoadError::UnknownScenario`] naming the known ones.
    pub fn parse(name: &str) -> Result<Self, LoadError> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
            .ok_or_else(|| LoadError::UnknownScenario(name.to_owned()))
    }

    fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    fn shape(self) -> Shape {
        let burst = |clicks| Shape {
            clicks,
            round_trip: Duration::ZERO,
            spaced: false,
            messages_per_ticket: 3,
            close_all: false,
        };
        match self {
            Self::Burst100 => burst(100),
            Self::Burst100RoundTrip100 => Shape {
                round_trip: Duration::from_millis(100),
                ..burst(100)
            },
            Self::Spaced100 => Shape {
                spaced: true,
                ..burst(100)
            },
            Self::Burst500 => burst(500),
            Self::Spaced500 => Shape {
                spaced: true,
                ..burst(500)
            },
            Self::Burst2000 => burst(2000),
            Self::BigTicket => Shape {
                messages_per_ticket: 10_000,
                close_all: true,
                ..burst(1)
            },
        }
    }
}

/// How `ticketeer-testkit load` was asked to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The bot's (release) binary.
    pub bot_binary: PathBuf,
    /// Orders the clicks, the messages' lengths and which tickets close.
    pub seed: u64,
    /// Where the bot's config and log go.
    pub work_dir: PathBuf,
    /// PrivateBin's seconds between two posts from one address (0: off, the default here;
    /// the real server's default is 10).
    pub traffic_limit_secs: u64,
}

/// Bounds of the waits, generous against what the limits allow, so a stuck bot ends the run
/// with an error instead of hanging it.
pub(crate) const START_PATIENCE: Duration = Duration::from_mins(1);
const IDLE_SETTLE: Duration = Duration::from_secs(5);
pub(crate) const STOP_PATIENCE: Duration = Duration::from_mins(1);
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// Discord's per-guild budget for creating channels, as the emulator's Discord-like limits set
/// it: what bounds how fast one guild's tickets can open.
fn channel_create_limit() -> (u32, Duration) {
    RateLimitConfig::discord_like()
        .routes
        .iter()
        .find(|route| route.method == "POST" && route.template == "/guilds/{guild_id}/channels")
        .map_or((5, Duration::from_secs(5)), |route| {
            (route.limit.limit, route.limit.window)
        })
}

/// A ticket the run opened.
#[derive(Debug, Clone)]
struct Opened {
    user: u64,
    channel: u64,
    ticket_id: u64,
    welcome: u64,
    log_channel: u64,
}

/// Runs one scenario and measures it.
///
/// # Errors
/// [`LoadError`] when something could not be set up or the bot got stuck; targets that are not
/// met are not errors (see [`Report::targets`]).
pub async fn run(options: &LoadOptions, scenario: Scenario) -> Result<Report, LoadError> {
    let shape = scenario.shape();
    let wall = Instant::now();
    let discord = DiscordEmulator::start(EmulatorConfig {
        rate_limits: RateLimitConfig::discord_like(),
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|error| LoadError::Emulator(format!("starting Discord: {error}")))?;
    let control = discord.control();
    let privatebin = PrivateBinEmulator::start(PrivateBinConfig {
        traffic_limit_secs: options.traffic_limit_secs,
        ..PrivateBinConfig::default()
    })
    .await
    .map_err(|error| LoadError::Emulator(format!("starting PrivateBin: {error}")))?;
    let database = TestDatabase::create()
        .await
        .map_err(|error| LoadError::Database(crate::error_chain(&error)))?;
    let result = drive(
        options,
        scenario,
        shape,
        &control,
        &discord,
        &privatebin,
        &database,
    )
    .await;
    discord.shutdown().await;
    privatebin.shutdown().await;
    let _ = database.drop_now().await;
    let mut report = result?;
    report.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(report)
}

async fn drive(
    options: &LoadOptions,
    scenario: Scenario,
    shape: Shape,
    control: &Control,
    discord: &DiscordEmulator,
    privatebin: &PrivateBinEmulator,
    database: &TestDatabase,
) -> Result<Report, LoadError> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let layout = Layout::build(control, shape.clicks)?;
    std::fs::create_dir_all(&options.work_dir).map_err(|source| LoadError::Io {
        what: format!("creating {}", options.work_dir.display()),
        source,
    })?;
    let http = free_local_port()?;
    let config_path = options.work_dir.join(format!("{}.yaml", scenario.name()));
    let yaml = layout.config_yaml(
        &discord.http_proxy(),
        &discord.gateway_url(),
        &privatebin.base_url(),
        http,
        "warn",
    );
    std::fs::write(&config_path, yaml).map_err(|source| LoadError::Io {
        what: format!("writing {}", config_path.display()),
        source,
    })?;
    let log = options
        .work_dir
        .join(format!("{}.bot.log", scenario.name()));
    let mut report = Report {
        scenario: scenario.name().to_owned(),
        seed: options.seed,
        round_trip_ms: u64::try_from(shape.round_trip.as_millis()).unwrap_or(u64::MAX),
        clicks: shape.clicks,
        guilds: layout.guilds.len(),
        messages_per_ticket: shape.messages_per_ticket,
        ..Report::default()
    };

    let started = control.elapsed();
    let start = Instant::now();
    let mut bot = BotProcess::start(
        &options.bot_binary,
        &config_path,
        discord.token(),
        database.url(),
        http,
        &log,
    )?;
    let panels = wait_for_panels(control, &layout, &bot).await?;
    report.start_to_panels_ms = millis(start.elapsed());
    bot.wait_ready(START_PATIENCE).await?;
    // Let start-up work (command registration, panel checks) finish before memory is read.
    tokio::time::sleep(IDLE_SETTLE).await;
    report.idle_rss_mib = mebibytes(bot.memory_kib()?.0);
    bot.reset_peak()?;

    let cpu_before_opens = bot.cpu_time()?;
    control.set_rest_latency(shape.round_trip);
    let opens_started = control.elapsed();
    let opened = open_tickets(control, &layout, &panels, shape, &mut rng, &mut report).await?;
    let opens_done = control.elapsed();
    let cpu_after_opens = bot.cpu_time()?;
    report.opened = opened.len();
    report.rss_open_mib = mebibytes(bot.memory_kib()?.0);
    let opening = opens_done.saturating_sub(opens_started).as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "ticket counts")]
    if opening > 0.0 {
        report.opens_per_second = opened.len() as f64 / opening;
    }
    report.opens_per_second_bound = opens_bound(&layout, shape);
    report.cpu_ms_per_open = per(
        millis(cpu_after_opens.saturating_sub(cpu_before_opens)),
        opened.len(),
    );
    let request_log = control.request_log();
    report.rest_calls_per_open = per(
        as_f64(in_span(&request_log, opens_started, opens_done)),
        opened.len(),
    );

    write_messages(control, database, &opened, shape, &mut rng).await?;

    let closing: Vec<Opened> = if shape.close_all {
        opened.clone()
    } else {
        let mut chosen = opened.clone();
        chosen.shuffle(&mut rng);
        chosen.truncate(opened.len() / 2);
        chosen
    };
    if shape.close_all {
        // The close's own peak, not the message intake's.
        bot.reset_peak()?;
    }
    let cpu_before_closes = bot.cpu_time()?;
    let closes_started = control.elapsed();
    close_tickets(control, &closing, &mut report).await?;
    let closes_done = control.elapsed();
    report.closed = closing.len();
    report.cpu_ms_per_close = per(
        millis(bot.cpu_time()?.saturating_sub(cpu_before_closes)),
        closing.len(),
    );
    report.peak_rss_mib = mebibytes(bot.memory_kib()?.1);
    control.set_rest_latency(Duration::ZERO);

    let requests = control.request_log();
    report.rest_calls_per_close = per(
        as_f64(in_span(&requests, closes_started, closes_done)),
        closing.len(),
    );
    if shape.close_all && closing.len() == 1 {
        report.close_to_log_ms = log_post_after(&requests, &closing[0], closes_started)
            .map(|at| millis(at.saturating_sub(closes_started)));
    }
    let since_start: Vec<&RequestRecord> = requests
        .iter()
        .filter(|record| record.at >= started)
        .collect();
    let mut limited: BTreeMap<String, usize> = BTreeMap::new();
    for record in since_start.iter().filter(|record| record.status == 429) {
        *limited
            .entry(format!("{} {}", record.method, record.route))
            .or_default() += 1;
    }
    report.rate_limited = limited.values().sum();
    report.rate_limited_routes = limited.into_iter().collect();
    let global: Vec<Duration> = since_start
        .iter()
        .filter(|record| record.global)
        .map(|record| record.at)
        .collect();
    report.busiest_global_second = busiest_window(&global, Duration::from_secs(1));

    write_request_log(options, scenario, &requests)?;
    report.inconsistencies =
        check_consistency(control, database, &layout, &opened, &closing, shape).await?;
    report.clean_exit = bot.terminate(STOP_PATIENCE).await;
    Ok(report)
}

/// Every request the emulator answered, a JSON object per line, beside the bot's log: what to
/// read when a figure needs explaining (which route drew the 429s, and when).
fn write_request_log(
    options: &LoadOptions,
    scenario: Scenario,
    requests: &[RequestRecord],
) -> Result<(), LoadError> {
    use std::fmt::Write as _;
    let path = options
        .work_dir
        .join(format!("{}.requests.jsonl", scenario.name()));
    let mut text = String::new();
    for record in requests {
        let line = serde_json::json!({
            "at_ms": millis(record.at),
            "method": record.method,
            "path": record.path,
            "route": record.route,
            "status": record.status,
            "global": record.global,
        });
        let _ = writeln!(text, "{line}");
    }
    std::fs::write(&path, text).map_err(|source| LoadError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

/// A port the bot's HTTP endpoints can listen on.
pub(crate) fn free_local_port() -> Result<SocketAddr, LoadError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|source| LoadError::Io {
            what: "finding a free local port".to_owned(),
            source,
        })
}

/// Waits until every used category's panel is posted; returns each category's panel message.
pub(crate) async fn wait_for_panels(
    control: &Control,
    layout: &Layout,
    bot: &BotProcess,
) -> Result<Vec<u64>, LoadError> {
    let give_up = Instant::now() + START_PATIENCE;
    let bot_user = control.bot_user_id();
    loop {
        let panels: Vec<Option<u64>> = layout
            .used_categories()
            .map(|category| {
                control
                    .messages(category.panel_channel)
                    .into_iter()
                    .find(|message| message.author_id == bot_user && !message.components.is_empty())
                    .map(|message| message.id)
            })
            .collect();
        if panels.iter().all(Option::is_some) {
            return Ok(panels.into_iter().flatten().collect());
        }
        if Instant::now() > give_up {
            return Err(bot.failed("not every panel was posted within a minute"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Clicks every opener's panel button (at once, or spaced at the rate the limits allow) and
/// waits until each ticket's channel is ready (its welcome pinned).
async fn open_tickets(
    control: &Control,
    layout: &Layout,
    panels: &[u64],
    shape: Shape,
    rng: &mut StdRng,
    report: &mut Report,
) -> Result<Vec<Opened>, LoadError> {
    let mut openers = layout.openers.clone();
    openers.shuffle(rng);
    let spacing = if shape.spaced {
        let (limit, window) = channel_create_limit();
        let per_second = f64::from(limit) / window.as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "a few guilds")]
        let rate = per_second * layout.guilds.len() as f64;
        Duration::from_secs_f64(1.0 / rate)
    } else {
        Duration::ZERO
    };
    let first_click = Instant::now();
    let clicks = openers.iter().enumerate().map(|(number, opener)| {
        let category = &layout.categories[opener.category];
        let custom_id = format!("ticketeer:open:{}", category.key);
        let panel = panels[opener.category];
        let at = first_click + spacing * u32::try_from(number).unwrap_or(u32::MAX);
        async move {
            tokio::time::sleep_until(at.into()).await;
            let clicked = control.elapsed();
            let outcome = control.click_button(opener.user, panel, &custom_id).await;
            (opener, clicked, outcome)
        }
    });
    let outcomes = join_all(clicks).await;
    let mut latencies = Vec::new();
    let mut pending = Vec::new();
    for (opener, clicked, outcome) in outcomes {
        let outcome = outcome
            .map_err(|error| LoadError::Emulator(format!("a click was refused: {error}")))?;
        if outcome.failed() {
            report.failed_interactions += 1;
            continue;
        }
        report.acked += 1;
        latencies.extend(outcome.ack_latency);
        pending.push((*opener, clicked, outcome.interaction_id));
    }
    report.ack = Latency::of(&latencies);

    // Every ticket's channel opens within the time its guild's channel bucket needs, plus the
    // start-up of the run; four times that, and a minute, before the run is called stuck.
    let (limit, window) = channel_create_limit();
    let bound = bucket_time(TICKETS_PER_GUILD.min(shape.clicks), limit, window);
    let patience = bound * 4
        + spacing * u32::try_from(shape.clicks).unwrap_or(u32::MAX)
        + Duration::from_mins(1);
    let give_up = Instant::now() + patience;
    let mut ready_after = Vec::new();
    let mut opened = Vec::new();
    while !pending.is_empty() {
        let now = control.elapsed();
        pending.retain(|(opener, clicked, interaction)| {
            let Some(ready) = ready_ticket(control, *interaction) else {
                return true;
            };
            ready_after.push(now.saturating_sub(*clicked));
            opened.push(Opened {
                user: opener.user,
                channel: ready.channel,
                ticket_id: ready.ticket_id,
                welcome: ready.welcome,
                log_channel: layout.categories[opener.category].log_channel,
            });
            false
        });
        if pending.is_empty() {
            break;
        }
        if Instant::now() > give_up {
            return Err(LoadError::Timeout {
                what: format!("{} ticket channels to be ready", pending.len()),
                seconds: patience.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
    report.channel_ready = Latency::of(&ready_after);
    Ok(opened)
}

/// The ticket an open click made, once its channel is ready: the answer links the channel and
/// the channel's pinned welcome carries the Close button.
pub(crate) fn ready_ticket(control: &Control, interaction: u64) -> Option<ReadyChannel> {
    let answer = control.interaction(interaction)?.original_response?.content;
    let channel = channel_link(&answer)?;
    let welcome = control.pins(channel).into_iter().next()?;
    let ticket_id = custom_ids(&welcome.components)
        .into_iter()
        .find_map(|id| id.strip_prefix("ticketeer:close:")?.parse().ok())?;
    Some(ReadyChannel {
        channel,
        ticket_id,
        welcome: welcome.id,
    })
}

/// What the emulator shows of a ticket whose channel is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadyChannel {
    pub(crate) channel: u64,
    pub(crate) ticket_id: u64,
    pub(crate) welcome: u64,
}

/// Every `custom_id` in a message's action rows.
pub(crate) fn custom_ids(components: &[Value]) -> Vec<String> {
    components
        .iter()
        .flat_map(|row| {
            row.get("components")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|component| Some(component.get("custom_id")?.as_str()?.to_owned()))
        .collect()
}

/// Each opener writes the scenario's messages into their ticket, of seeded lengths; waits until
/// the bot has stored them all.
async fn write_messages(
    control: &Control,
    database: &TestDatabase,
    opened: &[Opened],
    shape: Shape,
    rng: &mut StdRng,
) -> Result<(), LoadError> {
    use rand::Rng as _;
    const WORDS: [&str; 8] = [
        "hello", "my", "invoice", "shows", "the", "wrong", "amount", "please",
    ];
    for number in 0..shape.messages_per_ticket {
        for ticket in opened {
            let words = rng.random_range(3..40);
            let text: Vec<&str> = (0..words)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect();
            control
                .post_message(
                    ticket.user,
                    ticket.channel,
                    UserMessage::text(&format!("{number}: {}", text.join(" "))),
                )
                .map_err(|error| LoadError::Emulator(format!("posting a message: {error}")))?;
        }
    }
    let expected = i64::try_from(shape.messages_per_ticket * opened.len()).unwrap_or(i64::MAX);
    let pool = database.pool().await;
    let patience = Duration::from_mins(1)
        + Duration::from_millis(20) * u32::try_from(expected).unwrap_or(u32::MAX);
    let give_up = Instant::now() + patience;
    loop {
        let stored: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.author_id = t.user_id",
        )
        .fetch_one(&pool)
        .await
        .map_err(|error| LoadError::Database(crate::error_chain(&error)))?;
        if stored >= expected {
            return Ok(());
        }
        if Instant::now() > give_up {
            return Err(LoadError::Timeout {
                what: format!("the bot to store {expected} messages ({stored} stored)"),
                seconds: patience.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each ticket's creator clicks its Close button, all at once; waits for every log post.
async fn close_tickets(
    control: &Control,
    closing: &[Opened],
    report: &mut Report,
) -> Result<(), LoadError> {
    let clicks = closing.iter().map(|ticket| async move {
        control
            .click_button(
                ticket.user,
                ticket.welcome,
                &format!("ticketeer:close:{}", ticket.ticket_id),
            )
            .await
    });
    let mut latencies = Vec::new();
    for outcome in join_all(clicks).await {
        let outcome = outcome
            .map_err(|error| LoadError::Emulator(format!("a close click was refused: {error}")))?;
        if outcome.failed() {
            report.failed_interactions += 1;
        }
        latencies.extend(outcome.ack_latency);
    }
    report.close_ack = Latency::of(&latencies);
    // A close reads the history, uploads and posts: a few requests per ticket, within each log
    // channel's message bucket (5 per 5 s); eight times that and a minute.
    let patience = Duration::from_secs(8) * u32::try_from(closing.len()).unwrap_or(u32::MAX)
        + Duration::from_mins(1);
    let give_up = Instant::now() + patience;
    let mut waiting: HashSet<u64> = closing.iter().map(|ticket| ticket.ticket_id).collect();
    let logs: HashSet<u64> = closing.iter().map(|ticket| ticket.log_channel).collect();
    while !waiting.is_empty() {
        for &log in &logs {
            for ticket in logged_tickets(control, log) {
                waiting.remove(&ticket);
            }
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > give_up {
            return Err(LoadError::Timeout {
                what: format!("{} log posts", waiting.len()),
                seconds: patience.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// The ticket ids the bot's posts in a log channel are about (`**Ticket #12**` …).
pub(crate) fn logged_tickets(control: &Control, log_channel: u64) -> Vec<u64> {
    let bot = control.bot_user_id();
    control
        .messages(log_channel)
        .into_iter()
        .filter(|message| message.author_id == bot)
        .filter_map(|message| {
            let rest = message.content.strip_prefix("**Ticket #")?;
            rest[..rest.find("**")?].parse().ok()
        })
        .collect()
}

/// When the log post about `ticket` was accepted, if after `since`.
fn log_post_after(
    requests: &[RequestRecord],
    ticket: &Opened,
    since: Duration,
) -> Option<Duration> {
    let path = format!("/channels/{}/messages", ticket.log_channel);
    let heading = format!("**Ticket #{}**", ticket.ticket_id);
    requests
        .iter()
        .filter(|record| record.at >= since && record.method == "POST" && record.status == 200)
        .filter(|record| record.path == path)
        .find(|record| {
            record
                .body
                .as_ref()
                .and_then(|body| body.get("content")?.as_str())
                .is_some_and(|content| content.starts_with(&heading))
        })
        .map(|record| record.at)
}

/// The requests made between `from` and `to`.
fn in_span(requests: &[RequestRecord], from: Duration, to: Duration) -> usize {
    requests
        .iter()
        .filter(|record| record.at >= from && record.at <= to)
        .count()
}

/// `total` shared out over `count` tickets (over one when there were none).
fn per(total: f64, count: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "ticket counts")]
    let count = count.max(1) as f64;
    total / count
}

/// A count as a float, for [`per`].
fn as_f64(count: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "request counts")]
    let count = count as f64;
    count
}

/// The most opens per second the limits allow: every guild's channels come out of its own
/// channel bucket, so the guild with the most openers sets the time. Spaced clicks arrive at the
/// bucket's steady rate, which is then the bound.
fn opens_bound(layout: &Layout, shape: Shape) -> f64 {
    let (limit, window) = channel_create_limit();
    if shape.spaced {
        #[allow(clippy::cast_precision_loss, reason = "a few guilds")]
        let guilds = layout.guilds.len() as f64;
        return f64::from(limit) / window.as_secs_f64() * guilds;
    }
    let mut per_guild: HashMap<u64, usize> = HashMap::new();
    for opener in &layout.openers {
        *per_guild
            .entry(layout.categories[opener.category].guild)
            .or_default() += 1;
    }
    let busiest = per_guild.values().copied().max().unwrap_or(0);
    let time = bucket_time(busiest, limit, window).as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "ticket counts")]
    let opened = layout.openers.len() as f64;
    if time > 0.0 {
        opened / time
    } else {
        f64::INFINITY
    }
}

/// A ticket row as the end-of-run check reads it: id, state, channel, transcript URL, message
/// count.
type TicketRow = (i64, String, Option<i64>, Option<String>, i32);

/// What the end state gets wrong: rows stuck in `opening`, a closed ticket without a transcript
/// or without exactly one log post, a ticket channel no open ticket owns, a lost message.
async fn check_consistency(
    control: &Control,
    database: &TestDatabase,
    layout: &Layout,
    opened: &[Opened],
    closed: &[Opened],
    shape: Shape,
) -> Result<Vec<String>, LoadError> {
    let pool = database.pool().await;
    let failed = |error: sqlx::Error| LoadError::Database(crate::error_chain(&error));
    let rows: Vec<TicketRow> = sqlx::query_as(
        "SELECT id, state::text, channel_id, transcript_url, message_count FROM tickets",
    )
    .fetch_all(&pool)
    .await
    .map_err(failed)?;
    let stored: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT t.id, count(m.message_id) FROM tickets t \
         LEFT JOIN ticket_messages m ON m.ticket_id = t.id AND m.author_id = t.user_id GROUP BY t.id",
    )
    .fetch_all(&pool)
    .await
    .map_err(failed)?;
    let stored: HashMap<i64, i64> = stored.into_iter().collect();
    let closed_ids: HashSet<u64> = closed.iter().map(|ticket| ticket.ticket_id).collect();
    let expected_messages = i64::try_from(shape.messages_per_ticket).unwrap_or(i64::MAX);
    let mut problems = Vec::new();
    if rows.len() != opened.len() {
        problems.push(format!(
            "{} ticket rows for {} tickets opened",
            rows.len(),
            opened.len()
        ));
    }
    let mut open_channels = HashSet::new();
    for (id, state, channel, transcript, message_count) in &rows {
        let was_closed = u64::try_from(*id).is_ok_and(|id| closed_ids.contains(&id));
        match (state.as_str(), was_closed) {
            ("closed", true) => {
                if transcript.is_none() {
                    problems.push(format!("ticket {id} closed without a transcript"));
                }
                if i64::from(*message_count) < expected_messages {
                    problems.push(format!(
                        "ticket {id} closed counting {message_count} messages of {expected_messages}"
                    ));
                }
            }
            ("open", false) => {
                open_channels.extend(*channel);
                let kept = stored.get(id).copied().unwrap_or(0);
                if kept != expected_messages {
                    problems.push(format!(
                        "ticket {id} holds {kept} of {expected_messages} messages"
                    ));
                }
            }
            (state, _) => problems.push(format!(
                "ticket {id} is {state} ({})",
                if was_closed { "closed" } else { "left open" }
            )),
        }
    }
    let mut log_posts: HashMap<u64, usize> = HashMap::new();
    let logs: HashSet<u64> = layout
        .categories
        .iter()
        .map(|category| category.log_channel)
        .collect();
    for log in logs {
        for ticket in logged_tickets(control, log) {
            *log_posts.entry(ticket).or_default() += 1;
        }
    }
    for ticket in closed {
        let posts = log_posts.get(&ticket.ticket_id).copied().unwrap_or(0);
        if posts != 1 {
            problems.push(format!("ticket {} has {posts} log posts", ticket.ticket_id));
        }
    }
    let parents: HashSet<u64> = layout
        .categories
        .iter()
        .map(|category| category.parent)
        .collect();
    for guild in &layout.guilds {
        for channel in control.channels(*guild) {
            let under_a_parent = channel
                .parent_id
                .is_some_and(|parent| parents.contains(&parent));
            let id = i64::try_from(channel.id).unwrap_or(i64::MAX);
            if under_a_parent && !open_channels.contains(&id) {
                problems.push(format!("channel {} belongs to no open ticket", channel.id));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_found_by_its_name() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.name()).unwrap(), scenario);
        }
        let error = Scenario::parse("burst-7").unwrap_err().to_string();
        assert!(
            error.contains("burst-7") && error.contains("big-ticket"),
            "{error}"
        );
    }

    #[test]
    fn links_and_close_buttons_are_read() {
        assert_eq!(channel_link("Ticket opened: <#123>"), Some(123));
        assert_eq!(channel_link("no link"), None);
        let components = serde_json::json!([{"type": 1, "components": [
            {"type": 2, "custom_id": "ticketeer:claim:9"},
            {"type": 2, "custom_id": "ticketeer:close:9"}
        ]}]);
        assert_eq!(
            custom_ids(components.as_array().unwrap()),
            ["ticketeer:claim:9", "ticketeer:close:9"]
        );
    }

    #[test]
    fn the_channel_bucket_is_read_from_the_discord_like_limits() {
        assert_eq!(channel_create_limit(), (5, Duration::from_secs(5)));
    }
}
