//! The HTTP control API drives the emulator the same way the in-process handle does.

use serde_json::{Value, json};
use ticketeer_testkit::discord::{DiscordEmulator, EmulatorConfig, control_router};

#[tokio::test]
async fn a_guild_built_over_http_is_visible_through_the_control_api() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = control_router(emulator.control());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{base}{path}")).json(&body);
        async move {
            request
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let guild = post(
        "/guilds",
        json!({"name": "Support", "bot_permissions": "3072"}),
    )
    .await;
    let guild_id = guild["id"].as_str().expect("guild id").to_owned();
    let user = post("/users", json!({"name": "alice"})).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let response = http
        .put(format!("{base}/guilds/{guild_id}/members/{user_id}"))
        .json(&json!({"roles": []}))
        .send()
        .await
        .expect("member");
    assert!(response.status().is_success());
    let channel = post(
        &format!("/guilds/{guild_id}/channels"),
        json!({"name": "General Chat", "kind": "text"}),
    )
    .await;
    let channel_id = channel["id"].as_str().expect("channel id").to_owned();
    post(
        &format!("/channels/{channel_id}/messages"),
        json!({"user_id": user_id, "content": "hello"}),
    )
    .await;
    let messages: Value = http
        .get(format!("{base}/channels/{channel_id}/messages"))
        .send()
        .await
        .expect("messages")
        .json()
        .await
        .expect("json");
    assert_eq!(messages[0]["content"], "hello");
    let stored = emulator
        .control()
        .channel(channel_id.parse().expect("id"))
        .expect("channel");
    assert_eq!(stored.name.as_deref(), Some("general-chat"));

    let missing = http
        .post(format!("{base}/click"))
        .json(&json!({"user_id": user_id, "message_id": "1", "custom_id": "x"}))
        .send()
        .await
        .expect("click");
    assert_eq!(missing.status().as_u16(), 404);
}
