//! Starting, configuring, observing and stopping the bot: config validation at load, the HTTP
//! endpoints, and behaviour 10 (SIGTERM: finish in-flight work, close the gateway, exit 0) both
//! through `run()` and through the real binary.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use support::database_outage::DatabaseRelay;
use support::{Harness, SUPPORT, WAIT, channel_link, eventually};
use ticketeer_bot::{BotError, Context, Settings};
use ticketeer_config::{Problem, StatusReport};
use ticketeer_testkit::discord::permissions::MANAGE_ROLES;
use ticketeer_testkit::discord::{DiscordEmulator, EmulatorConfig, InteractionStatus};
use ticketeer_testkit::error_chain;
use ticketeer_testkit::postgres::TestDatabase;

const BINARY: &str = env!("CARGO_BIN_EXE_ticketeer-bot");

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketeer-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const BAD_CONFIG: &str = r#"
privatebin:
  url: https://paste.example.com/
categories:
  support/billing:
    guildId: "200000000000000001"
    name: Billing
    parentChannelId: "300000000000000001"
    createChannelId: "not-a-snowflake"
    logChannelId: "300000000000000003"
    createMessage: Need help?
    createdMessage: Welcome!
"#;

#[tokio::test]
async fn a_bad_config_is_refused_at_load_naming_the_file_the_category_and_the_field() {
    let path = write_temp("bad-at-load.yaml", BAD_CONFIG);
    let error = Context::build(Settings::new(&path, "unused-token", "postgres://unused"))
        .await
        .expect_err("the config is refused");
    assert!(matches!(error, BotError::InvalidConfig { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(r#"categories["support/billing"].createChannelId"#),
        "{message}"
    );
}

#[test]
fn check_config_validates_the_file_and_exits_with_its_verdict() {
    let bad = write_temp("bad-check.yaml", BAD_CONFIG);
    let output = std::process::Command::new(BINARY)
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(stderr.contains("createChannelId"), "{stderr}");

    let good = write_temp(
        "good-check.yaml",
        &BAD_CONFIG.replace("not-a-snowflake", "300000000000000002"),
    );
    let output = std::process::Command::new(BINARY)
        .args(["--check-config", "--config"])
        .arg(&good)
        .output()
        .expect("run the binary");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_missing_secret_is_named_in_the_error() {
    let good = write_temp(
        "good-env.yaml",
        &BAD_CONFIG.replace("not-a-snowflake", "300000000000000002"),
    );
    let output = std::process::Command::new(BINARY)
        .arg("--config")
        .arg(&good)
        .env_remove("DISCORD_TOKEN")
        .env("DATABASE_URL", "postgres://unused")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("DISCORD_TOKEN is not set"),
        "{output:?}"
    );
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("the bot answers HTTP");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let harness = Harness::start().await;
    let base = harness.http_base().await;
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    assert_eq!(
        get(&format!("{base}/readyz")).await,
        (200, "ready\n".to_owned())
    );

    harness.open_ticket(harness.world.alice).await;
    let (status, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    for expected in [
        r#"ticketeer_tickets_opened_total{category="support"} 1"#,
        r#"ticketeer_open_tickets{category="support"} 1"#,
        "ticketeer_interaction_ack_latency_seconds_count 1",
        r#"ticketeer_discord_rest_requests_total{call="create_ticket_channel",route="POST /guilds/{guild_id}/channels",status="20"#,
        "ticketeer_transcript_uploads_total",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn status_reports_panels_open_tickets_and_discord_side_problems() {
    let harness = Harness::start().await;
    let base = harness.http_base().await;
    let panel = harness.panel(SUPPORT).await;
    harness.open_ticket(harness.world.alice).await;
    let body = get(&format!("{base}/status")).await.1;
    let status: Value = serde_json::from_str(&body).expect("status is JSON");
    let support = &status["categories"][SUPPORT];
    assert_eq!(support["panel_message_id"], panel.id.to_string());
    assert_eq!(support["open_tickets"], 1);
    assert_eq!(support["problems"], serde_json::json!([]));
    assert_eq!(status["gateway_connected"], true);
    // The contract: what the bot serves is what the operator parses.
    let report: StatusReport = serde_json::from_str(&body).expect("the operator can read it");
    assert!(report.gateway_connected);
    let parsed = &report.categories[SUPPORT];
    assert_eq!(parsed.panel_message_id, Some(panel.id.to_string()));
    assert_eq!(parsed.open_tickets, 1);

    let world = &harness.world;
    harness
        .control
        .delete_channel(world.log_channel)
        .expect("delete the log channel by hand");
    let bot_role = harness.control.bot_role(world.guild).expect("bot role");
    harness
        .control
        .set_role_permissions(
            world.guild,
            bot_role,
            support::BOT_PERMISSIONS & !MANAGE_ROLES,
        )
        .expect("take Manage Roles away");
    // The bot learns of both changes from gateway events, which make it read the guild again.
    let expected = serde_json::json!([
        {"kind": "missing_guild_permissions", "missing": ["MANAGE_ROLES"]},
        {"kind": "missing_channel", "field": "logChannelId",
         "channel_id": world.log_channel.to_string()},
    ]);
    let body = eventually("/status to report both changes", || {
        let (url, expected) = (format!("{base}/status"), expected.clone());
        async move {
            let body = get(&url).await.1;
            let status: Value = serde_json::from_str(&body).ok()?;
            (status["categories"][SUPPORT]["problems"] == expected).then_some(body)
        }
    })
    .await;
    let report: StatusReport = serde_json::from_str(&body).expect("the operator can read it");
    assert_eq!(
        report.categories[SUPPORT].problems,
        [
            Problem::MissingGuildPermissions {
                missing: vec!["MANAGE_ROLES".to_owned()],
            },
            Problem::MissingChannel {
                field: "logChannelId".to_owned(),
                channel_id: world.log_channel.to_string(),
            },
        ]
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_clicks_closes_the_gateway_and_takes_no_new_work() {
    let mut harness = Harness::start().await;
    // A slow Discord keeps the ticket's creation in flight when shutdown begins.
    harness.control.set_rest_latency(Duration::from_millis(200));
    let outcome = harness.click_open(harness.world.alice).await;
    assert_eq!(outcome.status, InteractionStatus::Acknowledged);
    let id = outcome.interaction_id;
    let answered = |harness: &Harness| {
        harness
            .control
            .interaction(id)
            .and_then(|view| view.original_response)
            .is_some_and(|message| !message.content.is_empty())
    };
    assert!(!answered(&harness), "the work is still in flight");

    harness.stop().await.expect("run returns Ok");

    assert!(
        answered(&harness),
        "the in-flight click was finished before exit"
    );
    let answer = harness.answer(&outcome).await;
    let channel = channel_link(&answer).expect("a link");
    assert!(harness.control.channel(channel).is_some());
    assert!(
        harness
            .control
            .gateway_sessions()
            .iter()
            .all(|session| !session.connected),
        "the gateway is closed"
    );
    harness.control.set_ack_deadline(Duration::from_millis(300));
    harness.control.set_rest_latency(Duration::ZERO);
    let late = harness.click_open(harness.world.bob).await;
    assert!(late.failed(), "a stopped bot takes no new clicks");
}

/// The bot binary, started by [`start_binary`], with its output read as it is written: a child
/// whose pipes nobody reads blocks on its next log line once the pipe buffer (64 KiB on Linux) is
/// full. The bot logging at `trace` below writes about 58 KiB in a quick run and more in a slow
/// one (every retry and heartbeat is a line), so on a loaded machine it stalled mid-click.
struct RunningBinary {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; what was read so far is kept.
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Starts the bot binary on the harness's config and `database_url` (the harness's own bot
/// stopped) and waits until it is connected to the gateway. Its output is captured.
async fn start_binary(harness: &Harness, database_url: &str) -> RunningBinary {
    let (identifies_before, _) = harness.control.gateway_counts();
    let mut child = std::process::Command::new(BINARY)
        .arg("--config")
        .arg(&harness.config_path)
        .env("DISCORD_TOKEN", harness.world.emulator.token())
        .env("DATABASE_URL", database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stdout = drain(child.stdout.take().expect("the piped stdout"));
    let stderr = drain(child.stderr.take().expect("the piped stderr"));
    harness
        .control
        .wait_for(WAIT, |control| {
            (control.gateway_counts().0 > identifies_before
                && control
                    .gateway_sessions()
                    .iter()
                    .any(|session| session.connected))
            .then_some(())
        })
        .await
        .expect("the binary connects to the gateway");
    RunningBinary {
        child,
        stdout,
        stderr,
    }
}

/// Sends the binary SIGTERM and waits for it to exit.
async fn stop_binary(binary: RunningBinary) -> std::process::Output {
    let RunningBinary {
        mut child,
        stdout,
        stderr,
    } = binary;
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("the kill command exists");
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("the binary exits in time")
        .expect("the waiting thread")
        .expect("wait for the binary");
    std::process::Output {
        status,
        stdout: stdout.join().expect("the stdout reader"),
        stderr: stderr.join().expect("the stderr reader"),
    }
}

#[tokio::test]
async fn the_binary_exits_zero_on_sigterm_after_closing_the_gateway() {
    let harness = Harness::start().await;
    // Stop the harness's own bot; the binary takes over with the same config and database.
    let mut harness = harness;
    harness.stop().await.expect("the harness bot stops");
    let child = start_binary(&harness, harness.database.url()).await;
    let output = stop_binary(child).await;
    let (status, stderr) = (output.status, String::from_utf8_lossy(&output.stderr));
    assert_eq!(status.code(), Some(0), "exit status; stderr:\n{stderr}");
    assert!(
        harness
            .control
            .gateway_sessions()
            .iter()
            .all(|session| !session.connected),
        "the gateway is closed"
    );
}

#[tokio::test]
async fn a_gateway_refusal_ends_the_binary_with_what_to_fix_and_a_failure_status() {
    // An application whose Message Content intent is not enabled: Discord closes the gateway
    // with 4014 and the shard gives up for good.
    let discord = DiscordEmulator::start(EmulatorConfig {
        message_content_intent: false,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the Discord emulator starts");
    let database = TestDatabase::create().await.expect("a test database");
    let config = write_temp(
        "no-intent.yaml",
        &format!(
            "discord:\n  apiProxy: \"{}\"\n  gatewayUrl: \"{}\"\nprivatebin:\n  url: https://paste.example.com/\nhttp:\n  listen: 127.0.0.1:0\ncategories: {{}}\n",
            discord.http_proxy(),
            discord.gateway_url()
        ),
    );
    let child = std::process::Command::new(BINARY)
        .arg("--config")
        .arg(&config)
        .env("DISCORD_TOKEN", discord.token())
        .env("DATABASE_URL", database.url())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let output = tokio::time::timeout(
        WAIT,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the binary exits by itself")
    .expect("the waiting thread")
    .expect("wait for the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "no panic; stderr:\n{stderr}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("the Message Content intent is not enabled")
            && stderr.contains("Developer Portal"),
        "the error says what to fix; stderr:\n{stderr}"
    );
}

/// Connects to the bot's HTTP port and sends the start of a request, never its end.
async fn half_a_request(harness: &Harness) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let address = tokio::time::timeout(WAIT, harness.ctx.http_address())
        .await
        .expect("the HTTP server listens");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the bot");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n")
        .await
        .expect("send half a request");
    stream
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::AsyncReadExt as _;
    let mut harness = Harness::start().await;
    harness
        .restart_with(
            |_| {},
            |settings| settings.http_header_timeout = Duration::from_millis(300),
        )
        .await;
    let mut stream = half_a_request(&harness).await;
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the bot hangs up instead of waiting for ever")
        .ok();
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "no answer to an unfinished request"
    );
    let (status, _) = get(&format!("{}/healthz", harness.http_base().await)).await;
    assert_eq!(status, 200, "other clients are still served");
}

#[tokio::test]
async fn a_stalled_http_client_does_not_hold_up_shutdown() {
    let mut harness = Harness::start().await;
    // Headers may take an hour: only the bounded shutdown wait can let go of this client.
    harness
        .restart_with(
            |_| {},
            |settings| settings.http_header_timeout = Duration::from_hours(1),
        )
        .await;
    let _stalled = half_a_request(&harness).await;
    tokio::time::timeout(WAIT, harness.stop())
        .await
        .expect("shutdown finishes while a client stalls")
        .expect("the bot stops cleanly");
}

#[tokio::test]
async fn a_database_refusing_connections_at_start_is_named_in_the_error() {
    let harness = Harness::start().await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut settings = harness.settings();
    settings.database_url = format!("postgres://postgres@127.0.0.1:{closed_port}/postgres").into();
    settings.database_connect_patience = Duration::from_millis(500);
    let Err(error) = Context::build(settings).await else {
        panic!("no database, no bot");
    };
    let chain = error_chain(&error);
    assert!(
        chain.contains("could not connect to the database (DATABASE_URL)")
            && chain.contains("refused"),
        "the real cause is named: {chain}"
    );
}

#[tokio::test]
async fn the_bot_waits_at_start_for_a_database_that_comes_up_later() {
    let harness = Harness::start().await;
    let relay = DatabaseRelay::start(harness.database.url()).await;
    relay.refuse();
    let mut settings = harness.settings();
    settings.database_url = relay.url(harness.database.url()).into();
    let starting = tokio::spawn(Context::build(settings));
    // Longer than the connection pool's own 5 s acquire timeout.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(relay.refused() >= 2, "the bot kept trying");
    relay.restore();
    tokio::time::timeout(WAIT, starting)
        .await
        .expect("the bot starts once the database is up")
        .expect("no panic")
        .expect("the context is built");
}

#[test]
fn the_example_config_is_a_valid_config() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/config.yaml");
    let output = std::process::Command::new(BINARY)
        .args(["--check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run the binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("valid (2 categories)"));
}

#[tokio::test]
async fn the_binarys_logs_name_the_cause_of_a_failure_and_never_an_interaction_token() {
    let mut harness = Harness::start().await;
    harness.stop().await.expect("the harness bot stops");
    let relay = DatabaseRelay::start(harness.database.url()).await;
    // The most verbose level a user could configure.
    let yaml = harness
        .config_yaml(&[(SUPPORT, "Need help?")])
        .replace("level: info", "level: trace");
    harness.write_config(&yaml);
    let child = start_binary(&harness, &relay.url(harness.database.url())).await;
    let opened = harness.click_open(harness.world.alice).await;
    assert!(channel_link(&harness.answer(&opened).await).is_some());
    // The database goes away: the next click fails on it, and the log must say why.
    relay.refuse();
    relay.cut();
    let refused = harness.click_open(harness.world.carol).await;
    let answer = harness.answer(&refused).await;
    assert!(answer.contains("database"), "{answer}");

    let output = stop_binary(child).await;
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for outcome in [&opened, &refused] {
        assert!(
            !logs.contains(&outcome.token),
            "an interaction token is in the logs"
        );
    }
    // "database query failed: claim interaction" alone does not say the connection was reset.
    let store_failures: Vec<&str> = logs
        .lines()
        .filter_map(|line| {
            line.split_once("database query failed: ")
                .map(|(_, rest)| rest)
        })
        .collect();
    assert!(
        !store_failures.is_empty(),
        "the failed click is logged:\n{logs}"
    );
    for failure in store_failures {
        let (operation, cause) = failure
            .split_once(": ")
            .unwrap_or_else(|| panic!("no cause after the operation: {failure}"));
        assert!(
            !cause.trim().is_empty(),
            "{operation} is logged with its cause"
        );
    }
}

#[tokio::test]
async fn status_asks_discord_once_for_a_burst_of_requests_and_again_after_a_change() {
    let harness = Harness::start().await;
    let base = harness.http_base().await;
    harness.panel(SUPPORT).await;
    let guild_reads = || {
        let path = format!("/guilds/{}/channels", harness.world.guild);
        harness
            .control
            .request_log()
            .iter()
            .filter(|request| request.method == "GET" && request.path == path)
            .count()
    };
    let before = guild_reads();
    let url = format!("{base}/status");
    let burst = (0..200).map(|_| get(&url));
    let answers = futures_util::future::join_all(burst).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert_eq!(
        guild_reads() - before,
        1,
        "two hundred requests at once read the guild from Discord once"
    );

    harness
        .control
        .delete_channel(harness.world.log_channel)
        .expect("delete the log channel by hand");
    eventually("/status to see the deleted channel", || {
        let url = format!("{base}/status");
        async move {
            let body = get(&url).await.1;
            body.contains("missing_channel").then_some(())
        }
    })
    .await;
    let after_change = guild_reads();
    for _ in 0..20 {
        get(&format!("{base}/status")).await;
    }
    assert_eq!(
        guild_reads(),
        after_change,
        "what the change made it read is reused"
    );
}
