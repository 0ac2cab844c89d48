//! A burst of simultaneous clicks on one panel, with and without a Discord round trip: how many
//! clicks were acknowledged inside Discord's 3 seconds, and the acknowledgement latency the
//! emulator measured (INTERACTION_CREATE sent → callback accepted), p50 / p99 / max.
//!
//! The bot runs in this process (`run()` with a release build) against the Discord and PrivateBin
//! emulators and a fresh database on the server named by `DATABASE_URL`; every clicker is a
//! different member, so each click opens (or tries to open) its own ticket.
//!
//! Run with `cargo run --release -p ticketeer-bot --example click_bench [-- CLICKS...]`
//! (default 100 and 500 clicks).

#![allow(
    clippy::cast_precision_loss,
    reason = "latencies are printed with one decimal"
)]

use std::time::Duration;

use futures_util::future::join_all;
use ticketeer_bot::{Context, Settings, run};
use ticketeer_testkit::discord::{
    DiscordEmulator, EmulatorConfig, SupportGuild, TICKET_BOT_PERMISSIONS,
};
use ticketeer_testkit::postgres::TestDatabase;
use ticketeer_testkit::privatebin::{PrivateBinConfig, PrivateBinEmulator};

/// The nearest-rank `percent`th percentile of `sorted`.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn burst(clicks: usize, round_trip: Duration) {
    let discord = DiscordEmulator::start(EmulatorConfig {
        max_channels_per_category: 1000,
        max_guild_channels: 1000,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the Discord emulator starts");
    let control = discord.control();
    let privatebin = PrivateBinEmulator::start(PrivateBinConfig::default())
        .await
        .expect("the PrivateBin emulator starts");
    let database = TestDatabase::create()
        .await
        .expect("a Postgres server (set DATABASE_URL)");
    let support = SupportGuild::create(&control, TICKET_BOT_PERMISSIONS);
    let (guild, parent, create, log, staff) = (
        support.guild,
        support.parent,
        support.create_channel,
        support.log_channel,
        support.staff_role,
    );
    let users: Vec<u64> = (0..clicks)
        .map(|number| {
            let user = control.create_user(&format!("user{number}"));
            control.add_member(guild, user, &[]).expect("member");
            user
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("ticketeer-click-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let config_path = dir.join("config.yaml");
    std::fs::write(
        &config_path,
        format!(
            "discord:\n  apiProxy: \"{}\"\n  gatewayUrl: \"{}\"\nprivatebin:\n  url: \"{}\"\nhttp:\n  listen: 127.0.0.1:0\nlog:\n  level: warn\ncategories:\n  bench:\n    guildId: \"{guild}\"\n    name: Bench\n    parentChannelId: \"{parent}\"\n    createChannelId: \"{create}\"\n    roleIds: [\"{staff}\"]\n    logChannelId: \"{log}\"\n    createMessage: Open a ticket\n    createdMessage: Welcome\n",
            discord.http_proxy(),
            discord.gateway_url(),
            privatebin.base_url()
        ),
    )
    .expect("write the config");
    let ctx = Context::build(Settings::new(&config_path, discord.token(), database.url()))
        .await
        .expect("the bot's context");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(run(ctx, async move {
        let _ = stopped.await;
    }));
    let panel = control
        .wait_for(Duration::from_secs(30), |control| {
            control
                .messages(create)
                .into_iter()
                .find(|message| !message.components.is_empty())
        })
        .await
        .expect("the panel is posted");

    control.set_rest_latency(round_trip);
    let outcomes = join_all(
        users
            .iter()
            .map(|user| control.click_button(*user, panel.id, "ticketeer:open:bench")),
    )
    .await;
    control.set_rest_latency(Duration::ZERO);
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok())
        .filter(|outcome| !outcome.failed())
        .filter_map(|outcome| outcome.ack_latency)
        .collect();
    latencies.sort();
    println!(
        "| {clicks} | {} ms | {} of {clicks} | {:.1} | {:.1} | {:.1} |",
        round_trip.as_millis(),
        latencies.len(),
        millis(percentile(&latencies, 50)),
        millis(percentile(&latencies, 99)),
        millis(latencies.last().copied().unwrap_or_default()),
    );
    let _ = stop.send(());
    let _ = bot.await;
    discord.shutdown().await;
    privatebin.shutdown().await;
    let _ = database.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse().expect("click counts are whole numbers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 500]
    } else {
        sizes
    };
    println!(
        "| clicks | REST round trip | acknowledged in 3 s | ack p50 ms | ack p99 ms | ack max ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for clicks in sizes {
        for round_trip in [Duration::ZERO, Duration::from_millis(100)] {
            burst(clicks, round_trip).await;
        }
    }
}
