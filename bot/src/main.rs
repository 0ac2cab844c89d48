//! The `ticketeer-bot` binary: reads arguments and secrets, sets up logging, and runs the bot
//! until SIGTERM or SIGINT. SIGHUP reloads the config.

use std::path::PathBuf;
use std::process::ExitCode;
use ticketeer_bot::error::ErrorChain;

use anyhow::{Context as _, bail};
use ticketeer_bot::{Context, Settings, config_file, run};
use ticketeer_config::{LogConfig, LogFormat};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Where the operator mounts the config.
const DEFAULT_CONFIG_PATH: &str = "/etc/ticketeer/config.yaml";

const USAGE: &str = "usage: ticketeer-bot [--config PATH] [--check-config]

  --config PATH    the config file (default /etc/ticketeer/config.yaml)
  --check-config   validate the config file and exit (0 when valid)

environment: DISCORD_TOKEN (the bot token), DATABASE_URL (postgres://...)
signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config";

struct Arguments {
    config_path: PathBuf,
    check_only: bool,
}

fn parse_arguments() -> anyhow::Result<Option<Arguments>> {
    let mut config_path = PathBuf::from(DEFAULT_CONFIG_PATH);
    let mut check_only = false;
    let mut arguments = std::env::args_os().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.to_str() {
            Some("--config") => {
                let Some(path) = arguments.next() else {
                    bail!("--config needs a path\n\n{USAGE}");
                };
                config_path = PathBuf::from(path);
            }
            Some("--check-config") => check_only = true,
            Some("--help" | "-h") => return Ok(None),
            _ => bail!("unknown argument {}\n\n{USAGE}", argument.display()),
        }
    }
    Ok(Some(Arguments {
        config_path,
        check_only,
    }))
}

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

async fn serve(arguments: Arguments) -> anyhow::Result<()> {
    let (config, _) = config_file::load(&arguments.config_path).await?;
    if arguments.check_only {
        println!(
            "{}: valid ({} categories)",
            arguments.config_path.display(),
            config.categories.len()
        );
        return Ok(());
    }
    let token = required_env("DISCORD_TOKEN", "the bot's token")?;
    let database_url = required_env(
        "DATABASE_URL",
        "a Postgres URL, e.g. postgres://user:password@host:5432/ticketeer",
    )?;
    init_tracing(&config.log)?;
    // twilight and reqwest are built without a crypto provider of their own so the whole process
    // uses one; it must be in place before the first client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ctx = Context::build(Settings::new(arguments.config_path, token, database_url)).await?;
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

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = match parse_arguments() {
        Ok(Some(arguments)) => arguments,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("ticketeer-bot: {error:#}");
            return ExitCode::from(2);
        }
    };
    match serve(arguments).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Logging may not be set up yet (a bad config is found before it is).
            eprintln!("ticketeer-bot: {error:#}");
            tracing::error!(error = %format!("{error:#}"), "ticketeer-bot stopped");
            ExitCode::FAILURE
        }
    }
}
