//! The `ticketeer-bot` binary: reads arguments and secrets, sets up logging, and runs the bot
//! until SIGTERM or SIGINT (SIGHUP reloads the config); or runs `erase` or `transcript` and exits.

use std::path::PathBuf;
use std::process::ExitCode;
use ticketeer_bot::error::ErrorChain;

use anyhow::{Context as _, bail};
use ticketeer_bot::cli::{
    self, Command, EraseArguments, TranscriptAction, TranscriptArguments, USAGE,
};
use ticketeer_bot::erase::{self, EraseOutcome};
use ticketeer_bot::privatebin::ClientTimeouts;
use ticketeer_bot::retrieve::{retrieve, write_folder};
use ticketeer_bot::{Context, Settings, config_file, run};
use ticketeer_config::{LogConfig, LogFormat};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// The exit code of an erase that failed nothing but left tickets not closed yet.
const ERASE_INCOMPLETE: u8 = 3;

const DATABASE_URL_EXAMPLE: &str =
    "a Postgres URL, e.g. postgres://user:password@host:5432/ticketeer";

fn required_env(name: &str, what: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => bail!("{name} is empty: set it to {what}"),
        Err(_) => bail!("{name} is not set: set it to {what}"),
    }
}

/// Log targets capped at `warn`, because their spans and events print request paths.
const TOKEN_BEARING_LOG_TARGETS: [&str; 2] =
    ["twilight_http=warn", "twilight_http_ratelimiting=warn"];

fn init_tracing(log: &LogConfig) -> anyhow::Result<()> {
    let mut filter = EnvFilter::try_new(&log.level)
        .with_context(|| format!("log.level {:?} is not a valid filter", log.level))?;
    // twilight's HTTP spans carry the request path, and the paths of interaction callbacks and
    // their follow-ups hold the interaction's token (a credential to answer as the bot for 15
    // minutes): keep those crates to warnings whatever the configured level.
    for quiet in TOKEN_BEARING_LOG_TARGETS {
        filter = filter.add_directive(quiet.parse().context("a built-in log directive")?);
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("could not set up logging: {error}"))
}

async fn shutdown_signal() {
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), "cannot listen for SIGTERM; stop the bot with SIGINT");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}

async fn serve(config_path: PathBuf, check_only: bool) -> anyhow::Result<()> {
    let (config, _) = config_file::load(&config_path).await?;
    if check_only {
        println!(
            "{}: valid ({} categories)",
            config_path.display(),
            config.categories.len()
        );
        return Ok(());
    }
    let token = required_env("DISCORD_TOKEN", "the bot's token")?;
    let database_url = required_env("DATABASE_URL", DATABASE_URL_EXAMPLE)?;
    init_tracing(&config.log)?;
    // twilight and reqwest are built without a crypto provider of their own so the whole process
    // uses one; it must be in place before the first client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ctx = Context::build(Settings::new(config_path, token, database_url)).await?;
    let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    let reloader = std::sync::Arc::clone(&ctx);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP received: reloading the config");
            reloader.request_reload();
        }
    });
    run(ctx, shutdown_signal()).await?;
    Ok(())
}

/// Runs `erase`; the report goes to stdout as it is made, and the exit code says how it ended.
async fn erase(arguments: EraseArguments) -> anyhow::Result<ExitCode> {
    let database_url = required_env("DATABASE_URL", DATABASE_URL_EXAMPLE)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pool = erase::connect(&database_url).await?;
    let summary = erase::erase(&pool, &arguments, ClientTimeouts::default(), &mut |text| {
        print!("{text}");
    })
    .await?;
    pool.close().await;
    Ok(match summary.outcome() {
        EraseOutcome::Complete => ExitCode::SUCCESS,
        EraseOutcome::Incomplete => ExitCode::from(ERASE_INCOMPLETE),
        EraseOutcome::Failed => ExitCode::FAILURE,
    })
}

/// Runs `transcript get|verify`: the Markdown (or the folder's paths) on stdout, what was checked
/// on stderr (on stdout for `verify`); exit 0 only when every hash that vouches for it matches.
async fn transcript(arguments: TranscriptArguments) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let retrieved = retrieve(&arguments.link, ClientTimeouts::default()).await?;
    let expected = arguments.sha256.as_deref();
    let report = retrieved.report(expected);
    match &arguments.action {
        TranscriptAction::Print => {
            print!("{}", retrieved.text);
            eprint!("{report}");
        }
        TranscriptAction::WriteTo(folder) => {
            for path in write_folder(&retrieved, folder)? {
                println!("{}", path.display());
            }
            eprint!("{report}");
        }
        TranscriptAction::Verify => print!("{report}"),
    }
    Ok(if retrieved.intact(expected) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("ticketeer-bot: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let finished = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Run {
            config_path,
            check_only,
        } => serve(config_path, check_only)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Erase(arguments) => erase(arguments).await,
        Command::Transcript(arguments) => transcript(arguments).await,
    };
    match finished {
        Ok(code) => code,
        Err(error) => {
            // Logging may not be set up yet (a bad config is found before it is).
            eprintln!("ticketeer-bot: {error:#}");
            tracing::error!(error = %format!("{error:#}"), "ticketeer-bot stopped");
            ExitCode::FAILURE
        }
    }
}
