//! `ticketeer-testkit`: the Discord and PrivateBin emulators in one process, with an HTTP control API,
//! so a bot process can be run and driven from outside (by hand, or by a benchmark); and
//! `ticketeer-testkit quickstart`, the README's Kubernetes quick start on this machine
//! (`./scripts/demo --kubernetes`); `load`, the load generator; and `faults FAULT`, the fault
//! suite: something goes wrong at a random moment and the bot is held to losing nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use ticketeer_testkit::discord::{
    DiscordEmulator, EmulatorConfig, RateLimitConfig, control_router,
};
use ticketeer_testkit::faults::{self, DEFAULT_OUTAGE, Fault, FaultOptions, PostgresBinaries};
use ticketeer_testkit::load::{self, LoadOptions, Report, Scenario};
use ticketeer_testkit::privatebin::{PrivateBinConfig, PrivateBinEmulator};
use ticketeer_testkit::quickstart::{BOT_NAMESPACE, Quickstart, QuickstartOptions};

const USAGE: &str = "\
Usage: ticketeer-testkit [OPTIONS]

Runs the Discord emulator (gateway + REST), the PrivateBin emulator and the emulators' control API
until interrupted (Ctrl-C or SIGTERM).

Options:
  --discord ADDR        Discord emulator address          [default: 127.0.0.1:8790]
  --privatebin ADDR     PrivateBin emulator address       [default: 127.0.0.1:8791]
  --control ADDR        control API address               [default: 127.0.0.1:8792]
  --traffic-limit SECS  PrivateBin seconds between posts  [default: 10, as the real server; 0 = off]
  --rate-limits         enforce Discord's rate limits     [default: off]
  -h, --help            print this help

Usage: ticketeer-testkit quickstart --operator-bin PATH --bot-bin PATH --work-dir DIR [OPTIONS]

Runs the README's Kubernetes quick start on this machine: a real control plane (etcd,
kube-apiserver, kube-controller-manager), `helm install` of the chart, the example TicketBot and
TicketCategories, the operator binary as the chart's ServiceAccount and the bot binary as its
Deployment describes it, against the emulators; then waits until interrupted. Needs DATABASE_URL
(a Postgres server; a fresh database is made and dropped), Helm, kubectl and the control plane's
binaries (see ./scripts/demo --kubernetes, which provides them).

Options:
  --operator-bin PATH   the ticketeer-operator binary
  --bot-bin PATH        the ticketeer-bot binary
  --work-dir DIR        where the logs, kubeconfigs and the bot's config go
  --discord ADDR        Discord emulator address          [default: 127.0.0.1:8790]
  --privatebin ADDR     PrivateBin emulator address       [default: 127.0.0.1:8791]
  --control ADDR        control API address               [default: 127.0.0.1:8792]

Usage: ticketeer-testkit load --bot-bin PATH [OPTIONS] [SCENARIO ...]

Runs load scenarios against the bot's (release) binary, each with fresh emulators (Discord's rate
limits on), a fresh database (DATABASE_URL names a Postgres server) and the bot as a process of
its own; prints what was measured and the targets it is held to (see ./scripts/load). Scenarios:
burst-100, burst-100-rtt100, spaced-100, big-ticket, burst-500, spaced-500, burst-2000, or all
[default: burst-100]. Exits 1 when a run leaves an inconsistent end state or the bot does not
exit cleanly; targets not met are reported, not failed.

Options:
  --bot-bin PATH        the ticketeer-bot binary
  --seed N              orders the clicks, the messages and the closes  [default: 1]
  --work-dir DIR        where the bot's configs and logs go  [default: a temporary directory]
  --traffic-limit SECS  PrivateBin seconds between posts  [default: 0 = off]
  --json PATH           also write the reports as JSON
  --append-to FILE      append the figures as Markdown, with the command, to FILE

Usage: ticketeer-testkit faults FAULT --bot-bin PATH [OPTIONS]

Injects FAULT at a seeded moment of each trial (while tickets open, while messages come in, or
while tickets close), lets the users finish what they wanted and checks that nothing was lost:
each trial with fresh emulators (Discord's rate limits on) and a fresh database (DATABASE_URL
names a Postgres server) against the bot's (release) binary; see ./scripts/faults. Prints a line
per trial and a summary; exits 1 when a trial ends inconsistent or the bot does not exit cleanly.
Faults:
  kill                  the bot is killed with SIGKILL and started again on the same config
  postgres-restart      the trial's own Postgres server is killed with SIGKILL, then restarted
  privatebin-down       PrivateBin answers 503 to everything for a while, as tickets close
  privatebin-limiter    PrivateBin's 10-second traffic limiter on, 20 tickets closing at once
  gateway               RECONNECT, INVALID_SESSION and dropped connections while users write
  replicas              two replicas on one token; the one holding a close is killed for good

Options:
  --bot-bin PATH        the ticketeer-bot binary
  --trials N            how many trials  [default: 20; privatebin-down and -limiter: 3]
  --seed N              each trial's seed comes from it  [default: from the clock, printed]
  --work-dir DIR        where the bot's configs and logs go  [default: a temporary directory]
  --outage SECS         privatebin-down: how long PrivateBin is down  [default: 120]
  --postgres-bin DIR    postgres-restart: where initdb and postgres are (./scripts/faults finds them)
  --postgres-user NAME  postgres-restart, run as root: whom the server runs as
                        [default: ticketeer-postgres]
";

/// What `quickstart` was asked for.
struct QuickstartCommand {
    operator_bin: PathBuf,
    bot_bin: PathBuf,
    work_dir: PathBuf,
    discord: SocketAddr,
    privatebin: SocketAddr,
    control: SocketAddr,
}

fn parse_quickstart(args: impl IntoIterator<Item = String>) -> anyhow::Result<QuickstartCommand> {
    let (mut operator_bin, mut bot_bin, mut work_dir) = (None, None, None);
    let defaults = parse_options(Vec::new())?.context("the defaults parse")?;
    let mut command = QuickstartCommand {
        operator_bin: PathBuf::new(),
        bot_bin: PathBuf::new(),
        work_dir: PathBuf::new(),
        discord: defaults.discord,
        privatebin: defaults.privatebin,
        control: defaults.control,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--operator-bin" => operator_bin = Some(PathBuf::from(value()?)),
            "--bot-bin" => bot_bin = Some(PathBuf::from(value()?)),
            "--work-dir" => work_dir = Some(PathBuf::from(value()?)),
            "--discord" => command.discord = parse_addr("--discord", &value()?)?,
            "--privatebin" => command.privatebin = parse_addr("--privatebin", &value()?)?,
            "--control" => command.control = parse_addr("--control", &value()?)?,
            other => bail!("unknown quickstart option {other:?}\n\n{USAGE}"),
        }
    }
    command.operator_bin = operator_bin.context("quickstart needs --operator-bin PATH")?;
    command.bot_bin = bot_bin.context("quickstart needs --bot-bin PATH")?;
    command.work_dir = work_dir.context("quickstart needs --work-dir DIR")?;
    Ok(command)
}

/// What `load` was asked for.
struct LoadCommand {
    options: LoadOptions,
    scenarios: Vec<Scenario>,
    json: Option<PathBuf>,
    append_to: Option<PathBuf>,
}

fn parse_load(args: impl IntoIterator<Item = String>) -> anyhow::Result<LoadCommand> {
    let mut options = LoadOptions {
        bot_binary: PathBuf::new(),
        seed: 1,
        work_dir: std::env::temp_dir().join(format!("ticketeer-load-{}", std::process::id())),
        traffic_limit_secs: 0,
    };
    let (mut bot_binary, mut json, mut append_to) = (None, None, None);
    let mut scenarios = Vec::new();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bot-bin" => bot_binary = Some(PathBuf::from(value()?)),
            "--seed" => {
                let seed = value()?;
                options.seed = seed
                    .parse()
                    .with_context(|| format!("--seed: {seed:?} is not a whole number"))?;
            }
            "--work-dir" => options.work_dir = PathBuf::from(value()?),
            "--traffic-limit" => {
                let secs = value()?;
                options.traffic_limit_secs = secs.parse().with_context(|| {
                    format!("--traffic-limit: {secs:?} is not a whole number of seconds")
                })?;
            }
            "--json" => json = Some(PathBuf::from(value()?)),
            "--append-to" => append_to = Some(PathBuf::from(value()?)),
            "all" => scenarios.extend(Scenario::ALL),
            other if other.starts_with('-') => bail!("unknown load option {other:?}\n\n{USAGE}"),
            name => scenarios.push(Scenario::parse(name)?),
        }
    }
    options.bot_binary = bot_binary.context("load needs --bot-bin PATH")?;
    if scenarios.is_empty() {
        scenarios.push(Scenario::Burst100);
    }
    Ok(LoadCommand {
        options,
        scenarios,
        json,
        append_to,
    })
}

fn parse_faults(
    args: impl IntoIterator<Item = String>,
    default_seed: u64,
) -> anyhow::Result<Option<FaultOptions>> {
    let mut args = args.into_iter();
    let known = || {
        Fault::ALL
            .iter()
            .map(|fault| fault.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fault = match args.next().as_deref() {
        Some("-h" | "--help") => return Ok(None),
        Some(name) => Fault::from_name(name)
            .with_context(|| format!("unknown fault {name:?}; known: {}\n\n{USAGE}", known()))?,
        None => bail!("faults needs a fault to inject: {}\n\n{USAGE}", known()),
    };
    let mut options = FaultOptions {
        fault,
        bot_binary: PathBuf::new(),
        trials: fault.default_trials(),
        seed: default_seed,
        work_dir: std::env::temp_dir().join(format!("ticketeer-faults-{}", std::process::id())),
        outage: DEFAULT_OUTAGE,
        postgres: None,
    };
    let mut postgres_user = "ticketeer-postgres".to_owned();
    let mut bot_binary = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bot-bin" => bot_binary = Some(PathBuf::from(value()?)),
            "--trials" => {
                let trials = value()?;
                options.trials = trials
                    .parse()
                    .ok()
                    .filter(|trials| *trials > 0)
                    .with_context(|| format!("--trials: {trials:?} is not a positive number"))?;
            }
            "--seed" => {
                let seed = value()?;
                options.seed = seed
                    .parse()
                    .with_context(|| format!("--seed: {seed:?} is not a whole number"))?;
            }
            "--work-dir" => options.work_dir = PathBuf::from(value()?),
            "--outage" => {
                let seconds = value()?;
                options.outage = seconds
                    .parse()
                    .ok()
                    .filter(|seconds| *seconds > 0)
                    .map(Duration::from_secs)
                    .with_context(|| format!("--outage: {seconds:?} is not a positive number"))?;
            }
            "--postgres-bin" => {
                options.postgres = Some(PostgresBinaries {
                    bin_dir: PathBuf::from(value()?),
                    user: String::new(),
                });
            }
            "--postgres-user" => postgres_user = value()?,
            "-h" | "--help" => return Ok(None),
            other => bail!(
                "unknown faults {} option {other:?}\n\n{USAGE}",
                fault.name()
            ),
        }
    }
    options.bot_binary =
        bot_binary.with_context(|| format!("faults {} needs --bot-bin PATH", fault.name()))?;
    if let Some(binaries) = &mut options.postgres {
        binaries.user = postgres_user;
    } else if fault == Fault::PostgresRestart {
        bail!(
            "faults postgres-restart needs --postgres-bin DIR, a directory holding initdb and \
             postgres: it starts a server of its own to kill"
        );
    }
    Ok(Some(options))
}

/// A seed for a run not given one: each such run tries other moments, and prints the seed so a
/// failure can be run again.
fn seed_from_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |since| {
            u64::try_from(since.as_micros() % u128::from(u64::MAX)).unwrap_or(1)
        })
}

/// What the command line asked for.
struct Options {
    discord: SocketAddr,
    privatebin: SocketAddr,
    control: SocketAddr,
    traffic_limit_secs: u64,
    rate_limits: bool,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Options>> {
    let mut options = Options {
        discord: SocketAddr::from(([127, 0, 0, 1], 8790)),
        privatebin: SocketAddr::from(([127, 0, 0, 1], 8791)),
        control: SocketAddr::from(([127, 0, 0, 1], 8792)),
        traffic_limit_secs: 10,
        rate_limits: false,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--discord" => options.discord = parse_addr("--discord", &value()?)?,
            "--privatebin" => options.privatebin = parse_addr("--privatebin", &value()?)?,
            "--control" => options.control = parse_addr("--control", &value()?)?,
            "--traffic-limit" => {
                let secs = value()?;
                options.traffic_limit_secs = secs.parse().with_context(|| {
                    format!("--traffic-limit: {secs:?} is not a whole number of seconds")
                })?;
            }
            "--rate-limits" => options.rate_limits = true,
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(options))
}

fn parse_addr(flag: &str, value: &str) -> anyhow::Result<SocketAddr> {
    value
        .parse()
        .with_context(|| format!("{flag}: {value:?} is not an address like 127.0.0.1:8790"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // The control plane harness polls /readyz with kube's client, which logs each early
            // refusal; sqlx's pool logs each connection that `faults postgres-restart` killed.
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,kube_client::client::builder=off,sqlx_core::pool=warn".into()
            }),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ticketeer-testkit: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("quickstart") {
        args.next();
        return run_quickstart(parse_quickstart(args)?).await;
    }
    if args.peek().map(String::as_str) == Some("load") {
        args.next();
        let command_line: Vec<String> = std::env::args().skip(1).collect();
        return run_load(parse_load(args)?, &command_line).await;
    }
    if args.peek().map(String::as_str) == Some("faults") {
        args.next();
        let Some(options) = parse_faults(args, seed_from_clock())? else {
            print!("{USAGE}");
            return Ok(());
        };
        return run_faults(options).await;
    }
    let Some(options) = parse_options(args)? else {
        print!("{USAGE}");
        return Ok(());
    };

    let mut discord_config = EmulatorConfig::with_bind(options.discord);
    if options.rate_limits {
        discord_config.rate_limits = RateLimitConfig::discord_like();
    }
    let discord = DiscordEmulator::start(discord_config)
        .await
        .context("starting the Discord emulator")?;

    let privatebin = PrivateBinEmulator::start(PrivateBinConfig {
        bind: options.privatebin,
        traffic_limit_secs: options.traffic_limit_secs,
        ..PrivateBinConfig::default()
    })
    .await
    .context("starting the PrivateBin emulator")?;

    let control_listener = tokio::net::TcpListener::bind(options.control)
        .await
        .with_context(|| format!("binding the control API to {}", options.control))?;
    let control_addr = control_listener.local_addr()?;
    let control = control_router(discord.control());

    println!(
        "Discord emulator   REST    http://{}/api/v10",
        discord.http_proxy()
    );
    println!("                   gateway {}", discord.gateway_url());
    println!("                   token   {}", discord.token());
    println!("PrivateBin         {}", privatebin.base_url());
    println!("Control API        http://{control_addr}/");
    println!("Press Ctrl-C to stop.");

    axum::serve(control_listener, control)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the control API")?;

    discord.shutdown().await;
    privatebin.shutdown().await;
    Ok(())
}

async fn run_quickstart(command: QuickstartCommand) -> anyhow::Result<()> {
    let control_listener = tokio::net::TcpListener::bind(command.control)
        .await
        .with_context(|| format!("binding the control API to {}", command.control))?;
    let control_addr = control_listener.local_addr()?;
    println!("==> starting the control plane, installing the chart, applying the examples");
    let quickstart = Quickstart::start(QuickstartOptions {
        operator_binary: command.operator_bin,
        bot_binary: command.bot_bin,
        work_dir: command.work_dir.clone(),
        discord_bind: command.discord,
        privatebin_bind: command.privatebin,
    })
    .await
    .with_context(|| {
        format!(
            "the quick start failed; the operator's and the bot's logs are in {}",
            command.work_dir.display()
        )
    })?;
    let guild = quickstart.guild;
    let kubeconfig = quickstart.plane.admin_kubeconfig().display().to_string();
    let control = format!("http://{control_addr}");
    let work = command.work_dir.display();
    println!(
        "
Ticketeer runs the Kubernetes way: the chart is installed in a real API server, the operator
reconciles the example TicketBot and TicketCategories, and the bot serves them against emulated
Discord and PrivateBin. (No kubelet runs here: the operator and the bot are local processes
started from their Deployments.) Logs: {work}/operator.log and {work}/bot.log.

See what the README says kubectl shows (the categories turn Ready once the operator has read the
bot's /status, within about half a minute):
  export KUBECONFIG={kubeconfig}
  kubectl -n {BOT_NAMESPACE} get tb,tc
  kubectl -n {BOT_NAMESPACE} get tc general -o jsonpath='{{.status.panelMessageId}}'; echo
  kubectl -n {BOT_NAMESPACE} get configmap support-config -o jsonpath='{{.data.config\\.yaml}}'

Open a ticket as alice (PANEL is the panelMessageId above):
  curl -s -XPOST {control}/click -H 'content-type: application/json' \\
    -d '{{\"user_id\": \"{alice}\", \"message_id\": \"PANEL\", \"custom_id\": \"ticketeer:open:tickets/general\"}}'
See the ticket channel and its pinned welcome message with the Close button:
  curl -s {control}/guilds/{guild_id}/channels
  curl -s {control}/channels/CHANNEL/messages
Write in it as alice, then close it with the Close button (custom_id \"ticketeer:close:TICKET\"):
  curl -s -XPOST {control}/channels/CHANNEL/messages -H 'content-type: application/json' \\
    -d '{{\"user_id\": \"{alice}\", \"content\": \"Hello, my invoice is wrong\"}}'
  curl -s -XPOST {control}/click -H 'content-type: application/json' \\
    -d '{{\"user_id\": \"{alice}\", \"message_id\": \"WELCOME_MESSAGE\", \"custom_id\": \"ticketeer:close:TICKET\"}}'
The transcript link lands in the log channel:
  curl -s {control}/channels/{log}/messages

Press Ctrl-C to stop (the control plane and its data go away with it).",
        alice = guild.alice,
        guild_id = guild.guild,
        log = guild.log_channel,
    );
    axum::serve(control_listener, control_router(quickstart.control.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the control API")?;
    println!("==> stopping");
    quickstart.shutdown().await;
    Ok(())
}

async fn run_load(command: LoadCommand, command_line: &[String]) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for scenario in &command.scenarios {
        println!("==> {}", scenario.name());
        let report = load::run(&command.options, *scenario)
            .await
            .with_context(|| format!("scenario {}", scenario.name()))?;
        println!("{}", Report::markdown_header());
        println!("{}", report.markdown_row());
        print_targets(&report);
        reports.push(report);
    }
    if let Some(path) = &command.json {
        let json = serde_json::to_string_pretty(&reports)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &command.append_to {
        append_markdown(path, &reports, command_line)?;
    }
    let broken: Vec<&str> = reports
        .iter()
        .filter(|report| !report.inconsistencies.is_empty() || !report.clean_exit)
        .map(|report| report.scenario.as_str())
        .collect();
    if !broken.is_empty() {
        bail!(
            "inconsistent end state or unclean exit in: {} (see the rows above)",
            broken.join(", ")
        );
    }
    Ok(())
}

async fn run_faults(options: FaultOptions) -> anyhow::Result<()> {
    println!(
        "==> {} {} trials, seed {} (again: --seed {} --trials {}); the bot's configs and logs go to {}",
        options.trials,
        options.fault.name(),
        options.seed,
        options.seed,
        options.trials,
        options.work_dir.display()
    );
    let mut reports = Vec::new();
    for trial in 1..=options.trials {
        let report = faults::run_trial(&options, trial)
            .await
            .with_context(|| format!("trial {trial} (seed {})", options.seed))?;
        println!("{}", report.line());
        for problem in &report.problems {
            println!("    {problem}");
        }
        if report.failed() {
            println!(
                "    the bot's logs: {}",
                options
                    .work_dir
                    .join(format!("trial-{trial}.bot*.log"))
                    .display()
            );
        }
        reports.push(report);
    }
    println!("\n==> seed {}", options.seed);
    for report in &reports {
        println!("{}", report.line());
    }
    println!("{}", faults::summary(&reports));
    if reports.iter().any(faults::TrialReport::failed) {
        bail!("a trial lost something or the bot did not exit cleanly (see the lines above)");
    }
    Ok(())
}

fn print_targets(report: &Report) {
    for check in report.targets() {
        let mark = if check.met { "met    " } else { "NOT MET" };
        println!(
            "  {mark} {:<28} {:>14}  target {}",
            check.figure, check.measured, check.target
        );
    }
    if !report.rate_limited_routes.is_empty() {
        let routes: Vec<String> = report
            .rate_limited_routes
            .iter()
            .map(|(route, count)| format!("{route} ×{count}"))
            .collect();
        println!("  429s by route: {}", routes.join(", "));
    }
}

/// Appends the reports to `path` as a dated Markdown section naming the command.
fn append_markdown(path: &Path, reports: &[Report], command_line: &[String]) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    // What a reader types to rerun it: ./scripts/load supplies --bot-bin, and where the figures
    // are appended is not part of the measurement.
    let mut command = Vec::new();
    let mut args = command_line.iter().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bot-bin" | "--append-to" | "--work-dir" | "--json" => {
                args.next();
            }
            other => command.push(other),
        }
    }
    let mut text = format!(
        "\n### Load run of {}\n\nCommand: `./scripts/load {}`\n\n{}\n",
        jiff::Zoned::now().date(),
        command.join(" "),
        Report::markdown_header()
    );
    for report in reports {
        let _ = writeln!(text, "{}", report.markdown_row());
    }
    text.push_str(
        "\nTargets:\n\n| scenario | figure | measured | target | met |\n|---|---|---:|---|---|\n",
    );
    for report in reports {
        for check in report.targets() {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                report.scenario,
                check.figure,
                check.measured,
                check.target,
                if check.met { "yes" } else { "no" }
            );
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {} to append to", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("appending to {}", path.display()))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{USAGE, parse_faults, parse_load, parse_options};

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn defaults_apply_when_no_option_is_given() {
        let options = parse_options(args(&[])).unwrap().unwrap();
        assert_eq!(options.discord.port(), 8790);
        assert_eq!(options.traffic_limit_secs, 10);
        assert!(!options.rate_limits);
    }

    #[test]
    fn options_override_the_defaults() {
        let options = parse_options(args(&[
            "--privatebin",
            "127.0.0.1:9000",
            "--traffic-limit",
            "0",
            "--rate-limits",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(options.privatebin.port(), 9000);
        assert_eq!(options.traffic_limit_secs, 0);
        assert!(options.rate_limits);
    }

    #[test]
    fn a_bad_value_names_the_option() {
        let error = parse_options(args(&["--control", "nowhere"]))
            .err()
            .unwrap();
        assert!(error.to_string().contains("--control"), "{error}");
        let error = parse_options(args(&["--bogus"])).err().unwrap();
        assert!(error.to_string().contains("--bogus"), "{error}");
    }

    #[test]
    fn help_is_recognised() {
        assert!(parse_options(args(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn load_needs_the_bot_binary_and_known_scenarios() {
        let error = parse_load(args(&["burst-100"])).err().unwrap();
        assert!(error.to_string().contains("--bot-bin"), "{error}");
        let command = parse_load(args(&["--bot-bin", "/bin/bot", "--seed", "7"])).unwrap();
        assert_eq!(command.options.seed, 7);
        assert_eq!(command.scenarios.len(), 1);
        let command = parse_load(args(&["--bot-bin", "/bin/bot", "all"])).unwrap();
        assert_eq!(command.scenarios.len(), 7);
        let error = parse_load(args(&["--bot-bin", "b", "burst-3"]))
            .err()
            .unwrap();
        assert!(error.to_string().contains("burst-3"), "{error}");
    }

    #[test]
    fn faults_kill_needs_the_bot_binary_and_takes_trials_and_a_seed() {
        let error = parse_faults(args(&["kill"]), 3).err().unwrap();
        assert!(error.to_string().contains("--bot-bin"), "{error}");
        let options = parse_faults(args(&["kill", "--bot-bin", "/bin/bot"]), 3)
            .unwrap()
            .unwrap();
        assert_eq!(options.fault, super::Fault::Kill);
        assert_eq!((options.trials, options.seed), (20, 3));
        let options = parse_faults(
            args(&[
                "kill",
                "--bot-bin",
                "/bin/bot",
                "--trials",
                "4",
                "--seed",
                "9",
                "--work-dir",
                "/tmp/w",
            ]),
            3,
        )
        .unwrap()
        .unwrap();
        assert_eq!((options.trials, options.seed), (4, 9));
        assert_eq!(options.work_dir, std::path::Path::new("/tmp/w"));
    }

    #[test]
    fn faults_refuses_other_faults_and_bad_numbers() {
        let error = parse_faults(args(&["partition"]), 1).err().unwrap();
        assert!(error.to_string().contains("partition"), "{error}");
        assert!(parse_faults(args(&[]), 1).is_err());
        for bad in [
            ["--trials", "0"],
            ["--trials", "x"],
            ["--seed", "-1"],
            ["--outage", "0"],
            ["--outage", "2m"],
        ] {
            let mut line = vec!["kill", "--bot-bin", "b"];
            line.extend(bad);
            let error = parse_faults(args(&line), 1).err().unwrap();
            assert!(error.to_string().contains(bad[0]), "{error}");
        }
        let error = parse_faults(args(&["kill", "--bogus"]), 1).err().unwrap();
        assert!(error.to_string().contains("--bogus"), "{error}");
    }

    #[test]
    fn every_fault_is_named_in_the_usage_and_privatebin_down_takes_an_outage() {
        for fault in super::Fault::ALL {
            let options = parse_faults(
                args(&[fault.name(), "--bot-bin", "b", "--postgres-bin", "/pg"]),
                1,
            )
            .unwrap()
            .unwrap();
            assert_eq!(options.fault, fault);
            assert!(
                USAGE.contains(&format!("\n  {} ", fault.name())),
                "{} is not in the usage",
                fault.name()
            );
        }
        let options = parse_faults(
            args(&["privatebin-down", "--bot-bin", "b", "--outage", "20"]),
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(options.outage, Duration::from_secs(20));
        let options = parse_faults(args(&["privatebin-down", "--bot-bin", "b"]), 1)
            .unwrap()
            .unwrap();
        assert_eq!(
            options.outage,
            Duration::from_mins(2),
            "two minutes unless told"
        );
    }

    #[test]
    fn postgres_restart_needs_the_server_binaries() {
        let error = parse_faults(args(&["postgres-restart", "--bot-bin", "b"]), 1)
            .err()
            .unwrap();
        assert!(error.to_string().contains("--postgres-bin"), "{error}");
        let options = parse_faults(
            args(&[
                "postgres-restart",
                "--bot-bin",
                "b",
                "--postgres-bin",
                "/usr/lib/postgresql/17/bin",
            ]),
            1,
        )
        .unwrap()
        .unwrap();
        let binaries = options.postgres.unwrap();
        assert_eq!(
            binaries.bin_dir,
            std::path::Path::new("/usr/lib/postgresql/17/bin")
        );
        assert_eq!(binaries.user, "ticketeer-postgres");
    }

    #[test]
    fn faults_help_asks_for_the_usage() {
        assert!(parse_faults(args(&["--help"]), 1).unwrap().is_none());
        assert!(parse_faults(args(&["kill", "-h"]), 1).unwrap().is_none());
    }
}
