//! `ticketeer-testkit`: the Discord and PrivateBin emulators in one process, with an HTTP control API,
//! so a bot process can be run and driven from outside (by hand, or by a benchmark).

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ticketeer_testkit::discord::{
    DiscordEmulator, EmulatorConfig, RateLimitConfig, control_router,
};
use ticketeer_testkit::privatebin::{PrivateBinConfig, PrivateBinEmulator};

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
";

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
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
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
    let Some(options) = parse_options(std::env::args().skip(1))? else {
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
    use super::parse_options;

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
}
