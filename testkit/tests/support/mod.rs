//! What the gateway tests share: a twilight shard pointed at the emulator, waiting for an event,
//! and the bot's side of an interaction done by hand (a REST call as the bot, a callback, the raw
//! INTERACTION_CREATE).
#![allow(dead_code)] // Each test file uses a different part.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;
use ticketeer_testkit::discord::DiscordEmulator;
use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Message, Shard, ShardId, StreamExt as _,
    queue::InMemoryQueue,
};

/// How long a test waits for an event before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A shard for the emulator's bot, with no identify delay (a no-op queue).
pub fn shard(emulator: &DiscordEmulator, intents: Intents) -> Shard<InMemoryQueue> {
    // twilight enables rustls without choosing a crypto provider; pick ring, as the bot does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ConfigBuilder::new(emulator.token().to_owned(), intents)
        .proxy_url(emulator.gateway_url())
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .build();
    Shard::with_config(ShardId::ONE, config)
}

/// The next event matching `wanted`, failing the test after [`WAIT`].
pub async fn next_where(
    shard: &mut Shard<InMemoryQueue>,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Event {
    let result = tokio::time::timeout(WAIT, async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(event)) if wanted(&event) => return Some(event),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await;
    match result {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the shard stopped"),
        Err(elapsed) => panic!("no matching event within {WAIT:?}: {elapsed}"),
    }
}

/// A REST call to the emulator as its bot; the status and the JSON body (null when none).
pub async fn bot_call(
    http: &reqwest::Client,
    emulator: &DiscordEmulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http
        .request(
            method,
            format!("http://{}/api/v10{path}", emulator.http_proxy()),
        )
        .header("Authorization", format!("Bot {}", emulator.token()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The bot's callback to an interaction as the gateway delivered it (raw).
pub async fn respond(
    http: &reqwest::Client,
    emulator: &DiscordEmulator,
    interaction: &Value,
    body: Value,
) -> (u16, Value) {
    let path = format!(
        "/interactions/{}/{}/callback",
        interaction["id"].as_str().expect("id"),
        interaction["token"].as_str().expect("token")
    );
    bot_call(http, emulator, reqwest::Method::POST, &path, Some(body)).await
}

/// The next INTERACTION_CREATE's data, raw as the gateway sent it, failing after [`WAIT`].
pub async fn next_raw_interaction(shard: &mut Shard<InMemoryQueue>) -> Value {
    tokio::time::timeout(WAIT, async {
        loop {
            match shard.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                    if frame["t"] == "INTERACTION_CREATE" {
                        return frame["d"].clone();
                    }
                }
                Some(_) => {}
                None => panic!("shard stopped"),
            }
        }
    })
    .await
    .expect("INTERACTION_CREATE arrives")
}

/// A twilight REST client for the emulator's bot.
pub fn client_for(emulator: &DiscordEmulator) -> twilight_http::Client {
    // twilight enables rustls without choosing a crypto provider; pick ring, as the bot does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    twilight_http::Client::builder()
        .token(emulator.token().to_owned())
        .proxy(emulator.http_proxy(), true)
        .build()
}

/// The HTTP status and Discord error code of a failed twilight request.
#[track_caller]
pub fn discord_code(error: &twilight_http::Error) -> (u16, u64) {
    match error.kind() {
        twilight_http::error::ErrorType::Response {
            status,
            error: twilight_http::api_error::ApiError::General(general),
            ..
        } => (status.get(), general.code),
        other => panic!("expected a Discord error response, got {other:?}"),
    }
}
