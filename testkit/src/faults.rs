//! The fault suite behind `ticketeer-testkit faults FAULT`: the bot loses nothing when something
//! goes wrong at a random moment. Each [`Fault`] is one kind of trouble, injected by one method of
//! the trial (`Trial::phase` picks it): `faults kill` kills the bot's process with SIGKILL and
//! starts it again; the others kill the trial's Postgres server, take PrivateBin down or turn its
//! limiter on, storm the gateway, or kill one of two replicas.
//!
//! Each trial runs the release bot as a process of its own (as the load generator does) against
//! fresh emulators, Discord's limits on, and a fresh database. Six users open tickets, write
//! into them, and half of them close theirs; in one seeded phase, at a seeded moment, the fault
//! strikes. The users finish what they wanted as they would on Discord: an open that was not
//! answered with a working channel is clicked again, and so is a close that was not answered
//! "closing". The trial then waits for every close to be logged and finished and every kept
//! ticket's welcome to be pinned, and holds the end state to the rules of `judge`, the same
//! for every fault. See `docs/testkit.md` ("The fault suite").

mod judge;
mod own_postgres;
mod plan;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;

pub use own_postgres::PostgresBinaries;
pub use plan::{DEFAULT_OUTAGE, Fault, FaultPlan, Phase, TrialReport, summary};

use crate::discord::{
    Control, DiscordEmulator, EmulatorConfig, InteractionStatus, RateLimitConfig, UserMessage,
    channel_link,
};
use crate::load::bot_process::BotProcess;
use crate::load::guilds::Layout;
use crate::load::{
    LoadError, POLL, ReadyChannel, START_PATIENCE, STOP_PATIENCE, custom_ids, free_local_port,
    logged_tickets, ready_ticket, wait_for_panels,
};
use crate::postgres::TestDatabase;
use crate::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use judge::{Row, Seen, TicketChannel, Wanted};
use own_postgres::OwnPostgres;
use plan::{
    Blow, CLOSE_SPREAD, INTAKE_SPREAD, LIMITER_SECS, OPEN_SPREAD, moments, postgres_downtime,
    storm, trial_seed,
};

/// How `ticketeer-testkit faults FAULT` was asked to run.
#[derive(Debug, Clone)]
pub struct FaultOptions {
    /// What goes wrong in each trial.
    pub fault: Fault,
    /// The bot's (release) binary.
    pub bot_binary: PathBuf,
    /// How many trials.
    pub trials: usize,
    /// Each trial's seed is derived from it (see the trial lines).
    pub seed: u64,
    /// Where the bot's configs and logs go.
    pub work_dir: PathBuf,
    /// [`Fault::PrivateBinDown`]: how long PrivateBin is down.
    pub outage: Duration,
    /// [`Fault::PostgresRestart`]: the binaries of the server each trial starts for itself.
    pub postgres: Option<PostgresBinaries>,
}
/// Messages each user writes into their ticket.
const MESSAGES_PER_USER: usize = 2;
/// How long a user waits for the answer to an acknowledged click before clicking again: a
/// deferred acknowledgement the killed process never followed up is never answered, and an
/// open waiting on a half-made ticket answers within 10 s.
const ANSWER_PATIENCE: Duration = Duration::from_secs(15);
/// [`Fault::Replicas`]: how long each PrivateBin answer is held back, so that a close holds its
/// lease long enough for the trial to see which replica holds it (against the bare emulator a
/// close is done some 60 ms after its click).
const REPLICA_UPLOAD_LATENCY: Duration = Duration::from_millis(1500);
/// [`Fault::Replicas`]: how long the trial waits for a close to take its lease.
const LEASE_PATIENCE: Duration = Duration::from_secs(20);
/// How long the restarted bot is given to store the messages it missed.
const INTAKE_PATIENCE: Duration = Duration::from_mins(2);

/// Runs trial `trial` (from 1) of a fault run.
///
/// # Errors
/// [`LoadError`] when a trial could not be set up or driven (an emulator, the database, the bot
/// not starting); a bot that gets stuck after the restart is a failed trial, not an error.
pub async fn run_trial(options: &FaultOptions, trial: usize) -> Result<TrialReport, LoadError> {
    let seed = trial_seed(options.seed, trial);
    let mut rng = StdRng::seed_from_u64(seed);
    let plan = FaultPlan::choose(options.fault, &mut rng);
    let started = Instant::now();
    let discord = DiscordEmulator::start(EmulatorConfig {
        rate_limits: RateLimitConfig::discord_like(),
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|error| LoadError::Emulator(format!("starting Discord: {error}")))?;
    let privatebin = PrivateBinEmulator::start(PrivateBinConfig {
        traffic_limit_secs: if options.fault == Fault::PrivateBinLimiter {
            LIMITER_SECS
        } else {
            0
        },
        ..PrivateBinConfig::default()
    })
    .await
    .map_err(|error| LoadError::Emulator(format!("starting PrivateBin: {error}")))?;
    std::fs::create_dir_all(&options.work_dir).map_err(|source| LoadError::Io {
        what: format!("creating {}", options.work_dir.display()),
        source,
    })?;
    let mut own_postgres = match (options.fault, &options.postgres) {
        (Fault::PostgresRestart, Some(binaries)) => {
            let log = options.work_dir.join(format!("trial-{trial}.postgres.log"));
            Some(OwnPostgres::start(binaries, &format!("trial-{trial}"), &log).await?)
        }
        (Fault::PostgresRestart, None) => {
            return Err(LoadError::Database(
                "postgres-restart needs the server's binaries (--postgres-bin)".to_owned(),
            ));
        }
        _ => None,
    };
    let database = match &own_postgres {
        Some(own) => TestDatabase::create_on(&own.url()).await,
        None => TestDatabase::create().await,
    }
    .map_err(|error| LoadError::Database(crate::error_chain(&error)))?;
    let mut report = TrialReport {
        trial,
        seed,
        plan,
        states_at_fault: Vec::new(),
        detail: None,
        opens_again: 0,
        closes_again: 0,
        problems: Vec::new(),
        recovery: None,
        fault_over: None,
        clean_exit: false,
        seconds: 0.0,
    };
    let result = drive(
        options,
        &discord,
        &privatebin,
        &database,
        own_postgres.as_mut(),
        &mut rng,
        &mut report,
    )
    .await;
    discord.shutdown().await;
    privatebin.shutdown().await;
    let _ = database.drop_now().await;
    if let Some(own) = own_postgres {
        own.stop().await?;
    }
    result?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Once the fault is over, the first phase whose users have what they wanted ends its recovery.
fn note_recovery(report: &mut TrialReport) {
    if report.recovery.is_none()
        && let Some(over) = report.fault_over
    {
        report.recovery = Some(over.elapsed());
    }
}

/// One user of a trial and how far they got.
#[derive(Debug, Clone)]
struct User {
    id: u64,
    /// Index into the layout's categories.
    category: usize,
    closes: bool,
    /// Their last acknowledged open click; `None` before one, or when it failed.
    open_click: Option<Click>,
    ticket: Option<ReadyChannel>,
    written: usize,
    /// Their last acknowledged close click.
    close_click: Option<Click>,
    /// Whether the bot answered their close (or its channel is already gone).
    close_accepted: bool,
}

#[derive(Debug, Clone, Copy)]
struct Click {
    interaction: u64,
    at: Instant,
}

/// What the user sees of a click so far.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// "This interaction failed".
    Failed,
    /// Acknowledged; the answer not written yet.
    Pending,
    /// The answer's text.
    Said(String),
}

fn answer_of(control: &Control, interaction: u64) -> Answer {
    let Some(view) = control.interaction(interaction) else {
        return Answer::Failed;
    };
    if view.status == InteractionStatus::Failed {
        return Answer::Failed;
    }
    match view.original_response {
        Some(message) if !message.content.is_empty() => Answer::Said(message.content),
        _ => Answer::Pending,
    }
}

/// The click's interaction when the bot acknowledged it in time.
fn acknowledged(
    outcome: Result<crate::discord::InteractionOutcome, crate::discord::ControlError>,
    what: &str,
) -> Result<Option<Click>, LoadError> {
    let outcome = outcome.map_err(|error| LoadError::Emulator(format!("{what}: {error}")))?;
    Ok((!outcome.failed()).then(|| Click {
        interaction: outcome.interaction_id,
        at: Instant::now(),
    }))
}

/// A ticket row as the end-of-trial check reads it: id, creator, state, channel, transcript
/// URL, message count.
type TicketRow = (i64, i64, String, Option<i64>, Option<String>, i32);

/// A trial's fixed parts: where everything is, and how to start the bot again.
struct Trial<'a> {
    options: &'a FaultOptions,
    control: Control,
    privatebin: &'a PrivateBinEmulator,
    token: String,
    database: &'a TestDatabase,
    layout: Layout,
    config: PathBuf,
    http: SocketAddr,
    number: usize,
}

/// The processes a fault may strike: the bot (two replicas for [`Fault::Replicas`]), and the
/// trial's own Postgres server for [`Fault::PostgresRestart`].
struct Processes<'p> {
    /// The bot process started first (after a kill, the one started again).
    bot: BotProcess,
    /// The second replica, while it runs.
    replica: Option<BotProcess>,
    /// The trial's own Postgres server.
    postgres: Option<&'p mut OwnPostgres>,
}

async fn drive(
    options: &FaultOptions,
    discord: &DiscordEmulator,
    privatebin: &PrivateBinEmulator,
    database: &TestDatabase,
    postgres: Option<&mut OwnPostgres>,
    rng: &mut StdRng,
    report: &mut TrialReport,
) -> Result<(), LoadError> {
    let control = discord.control();
    let layout = Layout::spread(
        &control,
        options.fault.users(),
        options.fault.users_per_guild(),
    )?;
    let http = free_local_port()?;
    let config = options
        .work_dir
        .join(format!("trial-{}.yaml", report.trial));
    // Logs at info: after a failure, what the bot did around the kill is what to read.
    let yaml = |http| {
        layout.config_yaml(
            &discord.http_proxy(),
            &discord.gateway_url(),
            &privatebin.base_url(),
            http,
            "info",
        )
    };
    write_config(&config, &yaml(http))?;
    let replica = if options.fault == Fault::Replicas {
        let http = free_local_port()?;
        let config = options
            .work_dir
            .join(format!("trial-{}.replica.yaml", report.trial));
        write_config(&config, &yaml(http))?;
        privatebin.set_latency(REPLICA_UPLOAD_LATENCY);
        Some((config, http))
    } else {
        None
    };
    let trial = Trial {
        options,
        control,
        privatebin,
        token: discord.token().to_owned(),
        database,
        layout,
        config,
        http,
        number: report.trial,
    };
    let mut users: Vec<User> = trial
        .layout
        .openers
        .iter()
        .map(|opener| User {
            id: opener.user,
            category: opener.category,
            closes: false,
            open_click: None,
            ticket: None,
            written: 0,
            close_click: None,
            close_accepted: false,
        })
        .collect();
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.shuffle(rng);
    for &index in &order[..users.len() / 2] {
        users[index].closes = true;
    }

    let mut first = trial.start_bot("bot")?;
    wait_for_panels(&trial.control, &trial.layout, &first).await?;
    first.wait_ready(START_PATIENCE).await?;
    let mut processes = Processes {
        bot: first,
        replica: None,
        postgres,
    };
    if let Some((config, http)) = &replica {
        let mut second = trial.start_bot_from("replica", config, *http)?;
        second.wait_ready(START_PATIENCE).await?;
        processes.replica = Some(second);
    }
    match trial.act(&mut processes, &mut users, rng, report).await {
        Ok(()) => {}
        // A bot stuck after the restart fails the trial; the end state still says how.
        Err(error @ LoadError::Timeout { .. }) => report.problems.push(error.to_string()),
        Err(error) => return Err(error),
    }
    report.problems.extend(trial.check(&users).await?);
    report.clean_exit = processes.bot.terminate(STOP_PATIENCE).await;
    if let Some(replica) = processes.replica {
        report.clean_exit &= replica.terminate(STOP_PATIENCE).await;
    }
    Ok(())
}

fn write_config(path: &std::path::Path, yaml: &str) -> Result<(), LoadError> {
    std::fs::write(path, yaml).map_err(|source| LoadError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

/// The lease holder id a bot process logged at start (`lease_holder` in its JSON log), which
/// names it in `close_leases`.
fn logged_lease_holder(log: &std::path::Path) -> Option<i64> {
    let text = std::fs::read_to_string(log).ok()?;
    let (_, after) = text.split_once("\"lease_holder\":")?;
    let end = after
        .char_indices()
        .find(|&(at, c)| !(c.is_ascii_digit() || (at == 0 && c == '-')))
        .map_or(after.len(), |(at, _)| at);
    after[..end].parse().ok()
}

impl Trial<'_> {
    fn start_bot(&self, name: &str) -> Result<BotProcess, LoadError> {
        self.start_bot_from(name, &self.config, self.http)
    }

    fn start_bot_from(
        &self,
        name: &str,
        config: &std::path::Path,
        http: SocketAddr,
    ) -> Result<BotProcess, LoadError> {
        BotProcess::start(
            &self.options.bot_binary,
            config,
            &self.token,
            self.database.url(),
            http,
            &self.log_of(name),
        )
    }

    fn log_of(&self, name: &str) -> PathBuf {
        self.options
            .work_dir
            .join(format!("trial-{}.{name}.log", self.number))
    }

    /// The users' whole story: open, write, close, with the fault in its phase and the users
    /// finishing after it.
    async fn act(
        &self,
        processes: &mut Processes<'_>,
        users: &mut [User],
        rng: &mut StdRng,
        report: &mut TrialReport,
    ) -> Result<(), LoadError> {
        let plan = report.plan;

        let at = moments(rng, users.len(), OPEN_SPREAD);
        let clicks = self.click_open(users, &at);
        let clicks = self
            .phase(Phase::Opening, plan, processes, report, clicks)
            .await?;
        for (user, click) in users.iter_mut().zip(clicks) {
            user.open_click = click;
        }
        self.finish_opens(users, report).await?;
        note_recovery(report);

        let at = moments(rng, users.len() * MESSAGES_PER_USER, INTAKE_SPREAD);
        let written = self.write(users, &at);
        let written = self
            .phase(Phase::Intake, plan, processes, report, written)
            .await?;
        for (user, count) in users.iter_mut().zip(written) {
            user.written += count;
        }
        self.await_intake(users).await?;
        note_recovery(report);

        let closing: Vec<usize> = (0..users.len()).filter(|&i| users[i].closes).collect();
        let at = moments(rng, closing.len(), CLOSE_SPREAD);
        let clicks = self.click_close(users, &closing, &at);
        let clicks = self
            .phase(Phase::Closing, plan, processes, report, clicks)
            .await?;
        for (&index, click) in closing.iter().zip(clicks) {
            users[index].close_click = click;
        }
        self.finish_closes(users, report).await?;
        note_recovery(report);
        Ok(())
    }

    /// Runs a phase's work; in the fault's phase, injects the fault at the planned moment
    /// meanwhile, and brings things back as the fault's story says.
    async fn phase<T>(
        &self,
        phase: Phase,
        plan: FaultPlan,
        processes: &mut Processes<'_>,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        if plan.phase != phase {
            return work.await;
        }
        match plan.fault {
            Fault::Kill => {
                self.kill_and_restart(plan, &mut processes.bot, report, work)
                    .await
            }
            Fault::PostgresRestart => {
                let postgres = processes.postgres.as_deref_mut().ok_or_else(|| {
                    LoadError::Database("the trial's own Postgres server is missing".to_owned())
                })?;
                self.restart_postgres(plan, postgres, report, work).await
            }
            Fault::PrivateBinDown => self.privatebin_outage(plan, report, work).await,
            Fault::PrivateBinLimiter => {
                // The limiter is on all along: the fault is the burst, over once it is clicked.
                let done = work.await?;
                report.states_at_fault = self.states().await?;
                report.fault_over = Some(Instant::now());
                Ok(done)
            }
            Fault::GatewayStorm => {
                self.gateway_storm(plan, &mut processes.bot, report, work)
                    .await
            }
            Fault::Replicas => {
                self.kill_a_lease_holder(plan, processes, report, work)
                    .await
            }
        }
    }

    /// [`Fault::PostgresRestart`]: at the planned moment the trial's Postgres server is killed
    /// with SIGKILL, and its seeded downtime (`plan::postgres_downtime`) later started again on
    /// its data.
    async fn restart_postgres<T>(
        &self,
        plan: FaultPlan,
        postgres: &mut OwnPostgres,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        let downtime = postgres_downtime(report.seed);
        let crash = async {
            tokio::time::sleep(plan.after).await;
            // Read just before the kill: after it there is nothing to read them from.
            let states = self.states().await?;
            postgres.kill().await?;
            let down = Instant::now();
            tokio::time::sleep(downtime).await;
            postgres.restart().await?;
            Ok::<_, LoadError>((states, down.elapsed()))
        };
        let (done, crashed) = tokio::join!(work, crash);
        let (states, down_for) = crashed?;
        report.states_at_fault = states;
        report.fault_over = Some(Instant::now());
        report.detail = Some(format!(
            "Postgres down {:.1} s, crash recovery included",
            down_for.as_secs_f64()
        ));
        done
    }

    /// [`Fault::PrivateBinDown`]: every PrivateBin request is answered 503 from the planned
    /// moment for [`FaultOptions::outage`].
    async fn privatebin_outage<T>(
        &self,
        plan: FaultPlan,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        let outage = async {
            tokio::time::sleep(plan.after).await;
            self.privatebin.set_unavailable(true);
            let states = self.states().await;
            tokio::time::sleep(self.options.outage).await;
            self.privatebin.set_unavailable(false);
            states
        };
        let (done, states) = tokio::join!(work, outage);
        report.states_at_fault = states?;
        report.fault_over = Some(Instant::now());
        report.detail = Some(format!(
            "PrivateBin down {} s",
            self.options.outage.as_secs()
        ));
        done
    }

    /// [`Fault::GatewayStorm`]: from the planned moment, the trial's storm of gateway blows, each
    /// dealt to every connected session; its recovery runs from the last blow, through the bot's
    /// session back (`/readyz`), to every message stored.
    async fn gateway_storm<T>(
        &self,
        plan: FaultPlan,
        bot: &mut BotProcess,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        let blows = storm(report.seed);
        let (identifies_before, resumes_before) = self.control.gateway_counts();
        let storming = async {
            tokio::time::sleep(plan.after).await;
            let states = self.states().await;
            for (blow, pause) in &blows {
                match blow {
                    Blow::Reconnect => self.control.send_reconnect(),
                    Blow::InvalidSession { resumable } => {
                        self.control.send_invalid_session(*resumable);
                    }
                    Blow::Drop => self.control.drop_gateway_connections(),
                }
                tokio::time::sleep(*pause).await;
            }
            states
        };
        let (done, states) = tokio::join!(work, storming);
        report.states_at_fault = states?;
        report.fault_over = Some(Instant::now());
        bot.wait_ready(START_PATIENCE).await?;
        let (identifies, resumes) = self.control.gateway_counts();
        report.detail = Some(format!(
            "{}; then {} IDENTIFY and {} RESUME",
            blows
                .iter()
                .map(|(blow, _)| blow.name())
                .collect::<Vec<_>>()
                .join(", "),
            identifies - identifies_before,
            resumes - resumes_before,
        ));
        done
    }

    /// [`Fault::Replicas`]: once a close holds its lease, the replica holding it is killed with
    /// SIGKILL and not started again; the other has to finish the close once the lease runs out.
    async fn kill_a_lease_holder<T>(
        &self,
        plan: FaultPlan,
        processes: &mut Processes<'_>,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        let replica = processes
            .replica
            .as_mut()
            .ok_or_else(|| LoadError::Emulator("the second replica is not running".to_owned()))?;
        let first_id = logged_lease_holder(&self.log_of("bot"));
        let replica_id = logged_lease_holder(&self.log_of("replica"));
        let (Some(first_id), Some(replica_id)) = (first_id, replica_id) else {
            return Err(replica.failed("a replica did not log its lease holder id"));
        };
        let first = &mut processes.bot;
        let killing = async {
            tokio::time::sleep(plan.after).await;
            let give_up = Instant::now() + LEASE_PATIENCE;
            let holder = loop {
                let holders: Vec<i64> = sqlx::query_scalar("SELECT holder FROM close_leases")
                    .fetch_all(&self.database.pool().await)
                    .await
                    .map_err(|error| LoadError::Database(crate::error_chain(&error)))?;
                if let Some(holder) = holders.into_iter().next() {
                    break holder;
                }
                if Instant::now() > give_up {
                    return Err(LoadError::Timeout {
                        what: "a close to take its lease".to_owned(),
                        seconds: LEASE_PATIENCE.as_secs(),
                    });
                }
                tokio::time::sleep(POLL).await;
            };
            let killed_first = holder == first_id;
            if killed_first {
                first.kill().await?;
            } else if holder == replica_id {
                replica.kill().await?;
            } else {
                return Err(LoadError::Emulator(format!(
                    "a close lease is held by {holder}, neither replica"
                )));
            }
            Ok((killed_first, self.states().await?))
        };
        let (done, killed) = tokio::join!(work, killing);
        let (killed_first, states) = killed?;
        report.states_at_fault = states;
        report.fault_over = Some(Instant::now());
        // The killed process goes, and the one left is the trial's bot from here on.
        let second = processes.replica.take();
        if killed_first && let Some(second) = second {
            processes.bot = second;
        }
        report.detail = Some(format!(
            "killed the {} replica, holding a close's lease",
            if killed_first { "first" } else { "second" }
        ));
        done
    }

    /// [`Fault::Kill`]: kills the bot at the planned moment, then starts it again on the same
    /// config and database.
    async fn kill_and_restart<T>(
        &self,
        plan: FaultPlan,
        bot: &mut BotProcess,
        report: &mut TrialReport,
        work: impl Future<Output = Result<T, LoadError>>,
    ) -> Result<T, LoadError> {
        let killing = async {
            tokio::time::sleep(plan.after).await;
            bot.kill().await?;
            self.states().await
        };
        let (done, states) = tokio::join!(work, killing);
        report.states_at_fault = states?;
        let done = done?;
        *bot = self.start_bot("bot-restarted")?;
        bot.wait_ready(START_PATIENCE).await?;
        report.fault_over = Some(Instant::now());
        Ok(done)
    }

    /// Ticket rows per state.
    async fn states(&self) -> Result<Vec<(String, i64)>, LoadError> {
        sqlx::query_as(
            "SELECT state::text, count(*) FROM tickets GROUP BY state ORDER BY state::text",
        )
        .fetch_all(&self.database.pool().await)
        .await
        .map_err(|error| LoadError::Database(crate::error_chain(&error)))
    }

    /// The panel of the user's category, as the bot posted it (after a restart it may be
    /// another message).
    async fn panel(&self, category: usize) -> Result<u64, LoadError> {
        let give_up = Instant::now() + START_PATIENCE;
        let bot = self.control.bot_user_id();
        let channel = self.layout.categories[category].panel_channel;
        loop {
            let panel = self
                .control
                .messages(channel)
                .into_iter()
                .find(|message| message.author_id == bot && !message.components.is_empty());
            if let Some(panel) = panel {
                return Ok(panel.id);
            }
            if Instant::now() > give_up {
                return Err(LoadError::Bot {
                    what: "its panel went missing".to_owned(),
                    log: self.latest_log(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The log of the bot process started last.
    fn latest_log(&self) -> PathBuf {
        let restarted = self.log_of("bot-restarted");
        if restarted.exists() {
            restarted
        } else {
            self.log_of("bot")
        }
    }

    /// Every user clicks their category's Open button at their moment.
    async fn click_open(
        &self,
        users: &[User],
        at: &[Duration],
    ) -> Result<Vec<Option<Click>>, LoadError> {
        let first = Instant::now();
        let clicks = users.iter().zip(at).map(|(user, at)| async move {
            tokio::time::sleep_until((first + *at).into()).await;
            let panel = self.panel(user.category).await?;
            let key = &self.layout.categories[user.category].key;
            let outcome = self
                .control
                .click_button(user.id, panel, &format!("ticketeer:open:{key}"))
                .await;
            acknowledged(outcome, "an open click was refused")
        });
        join_all(clicks).await.into_iter().collect()
    }

    /// Until every user has a ready ticket: one whose answer did not bring them one (their
    /// click failed, or was answered without a channel, or never answered) clicks again.
    async fn finish_opens(
        &self,
        users: &mut [User],
        report: &mut TrialReport,
    ) -> Result<(), LoadError> {
        let patience = self.options.fault.finish_patience();
        let give_up = Instant::now() + patience;
        loop {
            let mut waiting = 0;
            for user in users.iter_mut().filter(|user| user.ticket.is_none()) {
                waiting += 1;
                if let Some(click) = user.open_click {
                    if let Some(ready) = ready_ticket(&self.control, click.interaction) {
                        user.ticket = Some(ready);
                        waiting -= 1;
                        continue;
                    }
                    match answer_of(&self.control, click.interaction) {
                        // The channel is there; its welcome is still to come (or repaired).
                        Answer::Said(text) if channel_link(&text).is_some() => continue,
                        Answer::Pending if click.at.elapsed() < ANSWER_PATIENCE => continue,
                        _ => {}
                    }
                }
                let panel = self.panel(user.category).await?;
                let key = &self.layout.categories[user.category].key;
                let outcome = self
                    .control
                    .click_button(user.id, panel, &format!("ticketeer:open:{key}"))
                    .await;
                user.open_click = acknowledged(outcome, "an open click was refused")?;
                report.opens_again += 1;
            }
            if waiting == 0 {
                return Ok(());
            }
            if Instant::now() > give_up {
                return Err(LoadError::Timeout {
                    what: format!("{waiting} users' tickets to be ready after the restart"),
                    seconds: patience.as_secs(),
                });
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// The users' messages, each at its moment, into their tickets; how many each wrote.
    async fn write(&self, users: &[User], at: &[Duration]) -> Result<Vec<usize>, LoadError> {
        let first = Instant::now();
        let mut written = vec![0; users.len()];
        for (number, at) in at.iter().enumerate() {
            let index = number % users.len();
            let Some(ticket) = users[index].ticket else {
                continue;
            };
            tokio::time::sleep_until((first + *at).into()).await;
            self.control
                .post_message(
                    users[index].id,
                    ticket.channel,
                    UserMessage::text(&format!(
                        "message {} of user {}: my invoice shows the wrong amount",
                        number / users.len(),
                        users[index].id
                    )),
                )
                .map_err(|error| LoadError::Emulator(format!("posting a message: {error}")))?;
            written[index] += 1;
        }
        Ok(written)
    }

    /// Waits until the bot has stored every message the users wrote (a restarted bot catches
    /// up on what it missed).
    async fn await_intake(&self, users: &[User]) -> Result<(), LoadError> {
        let wanted: HashMap<u64, i64> = users
            .iter()
            .filter_map(|user| {
                let ticket = user.ticket?.ticket_id;
                Some((ticket, i64::try_from(user.written).unwrap_or(i64::MAX)))
            })
            .collect();
        let give_up = Instant::now() + INTAKE_PATIENCE;
        loop {
            let stored = self.stored_messages().await?;
            let missing = wanted
                .iter()
                .filter(|(ticket, written)| stored.get(ticket).copied().unwrap_or(0) < **written)
                .count();
            if missing == 0 {
                return Ok(());
            }
            if Instant::now() > give_up {
                return Err(LoadError::Timeout {
                    what: format!("the bot to store every message of {missing} tickets"),
                    seconds: INTAKE_PATIENCE.as_secs(),
                });
            }
            tokio::time::sleep(POLL * 5).await;
        }
    }

    /// The messages stored per ticket, of its creator only.
    async fn stored_messages(&self) -> Result<HashMap<u64, i64>, LoadError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT t.id, count(*) FROM ticket_messages m JOIN tickets t \
             ON t.id = m.ticket_id AND m.author_id = t.user_id GROUP BY t.id",
        )
        .fetch_all(&self.database.pool().await)
        .await
        .map_err(|error| LoadError::Database(crate::error_chain(&error)))?;
        Ok(rows
            .into_iter()
            .filter_map(|(ticket, count)| Some((u64::try_from(ticket).ok()?, count)))
            .collect())
    }

    /// The closing users click their tickets' Close buttons, each at their moment.
    async fn click_close(
        &self,
        users: &[User],
        closing: &[usize],
        at: &[Duration],
    ) -> Result<Vec<Option<Click>>, LoadError> {
        let first = Instant::now();
        let clicks = closing.iter().zip(at).map(|(&index, at)| async move {
            tokio::time::sleep_until((first + *at).into()).await;
            self.click_close_of(&users[index]).await
        });
        join_all(clicks).await.into_iter().collect()
    }

    async fn click_close_of(&self, user: &User) -> Result<Option<Click>, LoadError> {
        let Some(ticket) = user.ticket else {
            return Ok(None);
        };
        let outcome = self
            .control
            .click_button(
                user.id,
                ticket.welcome,
                &format!("ticketeer:close:{}", ticket.ticket_id),
            )
            .await;
        acknowledged(outcome, "a close click was refused")
    }

    /// Until every close is answered, finished and logged, and every kept ticket shows its
    /// welcome: a close that was not answered (failed, or never followed up) is clicked again.
    async fn finish_closes(
        &self,
        users: &mut [User],
        report: &mut TrialReport,
    ) -> Result<(), LoadError> {
        let patience = self.options.fault.finish_patience();
        let give_up = Instant::now() + patience;
        loop {
            for user in users
                .iter_mut()
                .filter(|user| user.closes && !user.close_accepted)
            {
                let Some(ticket) = user.ticket else { continue };
                if let Some(click) = user.close_click {
                    match answer_of(&self.control, click.interaction) {
                        Answer::Said(text)
                            if text.starts_with("Closing ticket")
                                || text.contains("already being closed") =>
                        {
                            user.close_accepted = true;
                            continue;
                        }
                        Answer::Pending if click.at.elapsed() < ANSWER_PATIENCE => continue,
                        _ => {}
                    }
                }
                if self.control.message(ticket.welcome).is_none() {
                    // Its channel is gone: the close the user asked for is under way.
                    user.close_accepted = true;
                    continue;
                }
                user.close_click = self.click_close_of(user).await?;
                report.closes_again += 1;
            }
            let unfinished = self.unfinished(users).await?;
            if unfinished.is_empty() {
                return Ok(());
            }
            if Instant::now() > give_up {
                return Err(LoadError::Timeout {
                    what: format!("after the restart, {}", unfinished.join("; ")),
                    seconds: patience.as_secs(),
                });
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// What the users are still waiting for: closes not answered, not finished or not logged,
    /// kept tickets without their welcome.
    async fn unfinished(&self, users: &[User]) -> Result<Vec<String>, LoadError> {
        let closed: HashSet<u64> =
            sqlx::query_scalar::<_, i64>("SELECT id FROM tickets WHERE state = 'closed'")
                .fetch_all(&self.database.pool().await)
                .await
                .map_err(|error| LoadError::Database(crate::error_chain(&error)))?
                .into_iter()
                .filter_map(|id| u64::try_from(id).ok())
                .collect();
        let logged: HashSet<u64> = self
            .log_channels()
            .into_iter()
            .flat_map(|log| logged_tickets(&self.control, log))
            .collect();
        let mut waiting = Vec::new();
        for user in users {
            let Some(ticket) = user.ticket else { continue };
            let id = ticket.ticket_id;
            if user.closes {
                if !user.close_accepted {
                    waiting.push(format!("the close of ticket {id} unanswered"));
                } else if !logged.contains(&id) {
                    waiting.push(format!("ticket {id} not logged"));
                } else if !closed.contains(&id) {
                    waiting.push(format!("ticket {id} not closed"));
                }
            } else if self.pinned_close(ticket.channel) != Some(id) {
                waiting.push(format!("ticket {id} without its pinned welcome"));
            }
        }
        Ok(waiting)
    }

    fn log_channels(&self) -> HashSet<u64> {
        self.layout
            .categories
            .iter()
            .map(|category| category.log_channel)
            .collect()
    }

    /// The ticket whose Close button the bot's pinned message in `channel` carries.
    fn pinned_close(&self, channel: u64) -> Option<u64> {
        let bot = self.control.bot_user_id();
        self.control
            .pins(channel)
            .into_iter()
            .filter(|message| message.author_id == bot)
            .find_map(|message| {
                custom_ids(&message.components)
                    .into_iter()
                    .find_map(|id| id.strip_prefix("ticketeer:close:")?.parse().ok())
            })
    }

    /// Reads the end state back and holds it to the rules of [`judge`].
    async fn check(&self, users: &[User]) -> Result<Vec<String>, LoadError> {
        let failed = |error: sqlx::Error| LoadError::Database(crate::error_chain(&error));
        let pool = self.database.pool().await;
        let rows: Vec<TicketRow> = sqlx::query_as(
            "SELECT id, user_id, state::text, channel_id, transcript_url, message_count \
             FROM tickets",
        )
        .fetch_all(&pool)
        .await
        .map_err(failed)?;
        let stored = self.stored_messages().await?;
        let as_id = |value: i64| u64::try_from(value).unwrap_or_default();
        let rows: Vec<Row> = rows
            .into_iter()
            .map(
                |(id, user, state, channel, transcript, message_count)| Row {
                    id: as_id(id),
                    user: as_id(user),
                    state,
                    channel: channel.map(as_id),
                    transcript,
                    message_count: i64::from(message_count),
                    stored: stored.get(&as_id(id)).copied().unwrap_or(0),
                },
            )
            .collect();
        let mut log_posts: HashMap<u64, usize> = HashMap::new();
        for log in self.log_channels() {
            for ticket in logged_tickets(&self.control, log) {
                *log_posts.entry(ticket).or_default() += 1;
            }
        }
        let parents: HashSet<u64> = self
            .layout
            .categories
            .iter()
            .map(|category| category.parent)
            .collect();
        let channels = self
            .layout
            .guilds
            .iter()
            .flat_map(|guild| self.control.channels(*guild))
            .filter(|channel| {
                channel
                    .parent_id
                    .is_some_and(|parent| parents.contains(&parent))
            })
            .map(|channel| TicketChannel {
                id: channel.id,
                pinned_close: self.pinned_close(channel.id),
            })
            .collect();
        let wanted: Vec<Wanted> = users
            .iter()
            .map(|user| Wanted {
                user: user.id,
                ticket: user.ticket.map(|ticket| ticket.ticket_id),
                closed: user.closes,
                written: user.written,
            })
            .collect();
        let closed = rows.iter().filter(|row| row.state == "closed").count();
        let seen = Seen {
            rows,
            log_posts,
            channels,
        };
        let mut problems = judge::problems(&wanted, &seen);
        // Refused uploads store nothing, so each closed ticket's transcript is its one paste; a
        // kill can strand a paste stored just before it, so only these faults hold to this.
        if matches!(
            self.options.fault,
            Fault::PrivateBinDown | Fault::PrivateBinLimiter
        ) {
            let pastes = self.privatebin.paste_count();
            if pastes != closed {
                problems.push(format!(
                    "PrivateBin holds {pastes} pastes for {closed} closed tickets"
                ));
            }
        }
        Ok(problems)
    }
}
