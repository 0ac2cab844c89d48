//! String select menus against the Discord emulator: a message carrying one is validated as
//! Discord validates it, and a user's choice arrives as a component interaction with its values;
//! choices the Discord client would not offer are refused with nothing sent.

mod support;

use serde_json::{Value, json};
use ticketeer_testkit::discord::{ControlError, DiscordEmulator, EmulatorConfig, SupportGuild};
use twilight_gateway::{Event, Intents};

use support::{bot_call, next_raw_interaction, next_where, respond, shard};

fn menu(options: &Value) -> Value {
    json!({"type": 1, "components": [{
        "type": 3, "custom_id": "topics", "placeholder": "Choose a topic",
        "min_values": 1, "max_values": 1, "options": options,
    }]})
}

fn option(value: &str) -> Value {
    json!({"label": format!("Label {value}"), "value": value, "description": "About it",
           "emoji": {"name": "🧾"}})
}

async fn post(
    http: &reqwest::Client,
    emulator: &DiscordEmulator,
    channel: u64,
    components: Value,
) -> (u16, Value) {
    bot_call(
        http,
        emulator,
        reqwest::Method::POST,
        &format!("/channels/{channel}/messages"),
        Some(json!({"content": "Pick one", "components": [components]})),
    )
    .await
}

#[tokio::test]
async fn a_choice_arrives_with_its_value_and_invalid_choices_are_refused() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, u64::MAX >> 1);
    let mut gateway = shard(&emulator, Intents::GUILDS);
    next_where(&mut gateway, |event| matches!(event, Event::GuildCreate(_))).await;
    let http = reqwest::Client::new();
    let (status, message) = post(
        &http,
        &emulator,
        support.create_channel,
        menu(&json!([option("billing"), option("bugs")])),
    )
    .await;
    assert_eq!(status, 200, "{message}");
    let message_id: u64 = message["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("id");

    for (values, why) in [
        (vec!["refunds"], "none of the options"),
        (vec![], "0 values chosen"),
        (vec!["billing", "bugs"], "2 values chosen"),
    ] {
        let refused = control
            .choose_in_menu(support.alice, message_id, "topics", &values)
            .await;
        match refused {
            Err(ControlError::InvalidChoice { reason, .. }) => {
                assert!(reason.contains(why), "{values:?}: {reason}");
            }
            other => panic!("{values:?}: expected a refusal, got {other:?}"),
        }
    }
    assert!(matches!(
        control
            .choose_in_menu(support.alice, message_id, "other-menu", &["billing"])
            .await,
        Err(ControlError::NoSuchSelect { .. })
    ));

    let chooser = control.clone();
    let alice = support.alice;
    let pending = tokio::spawn(async move {
        chooser
            .choose_in_menu(alice, message_id, "topics", &["bugs"])
            .await
    });
    // The refused choices sent nothing: the first interaction the bot sees is this one.
    let interaction = next_raw_interaction(&mut gateway).await;
    assert_eq!(interaction["type"], 3);
    assert_eq!(interaction["data"]["component_type"], 3);
    assert_eq!(interaction["data"]["custom_id"], "topics");
    assert_eq!(interaction["data"]["values"], json!(["bugs"]));
    assert_eq!(interaction["message"]["id"], message["id"]);
    let (status, body) = respond(
        &http,
        &emulator,
        &interaction,
        json!({"type": 5, "data": {"flags": 64}}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let outcome = pending.await.expect("task").expect("choice");
    assert!(!outcome.failed());
}

#[tokio::test]
async fn a_select_menu_is_validated_as_discord_validates_it() {
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, u64::MAX >> 1);
    let http = reqwest::Client::new();
    let too_many: Vec<Value> = (0..26).map(|i| option(&format!("v{i}"))).collect();
    let long = "x".repeat(101);
    let cases = [
        (menu(&json!([])), "components.0.components.0.options"),
        (
            menu(&Value::Array(too_many)),
            "components.0.components.0.options",
        ),
        (
            menu(&json!([{"label": long, "value": "a"}])),
            "components.0.components.0.options.0.label",
        ),
        (
            menu(&json!([{"label": "A", "value": "a", "description": long}])),
            "components.0.components.0.options.0.description",
        ),
        (
            menu(&json!([{"label": "A"}])),
            "components.0.components.0.options.0.value",
        ),
        (
            menu(&json!([option("same"), option("same")])),
            "components.0.components.0.options.1.value",
        ),
        (
            json!({"type": 1, "components": [{"type": 3, "options": [option("a")]}]}),
            "components.0.components.0.custom_id",
        ),
        (
            json!({"type": 1, "components": [{"type": 3, "custom_id": "t",
                   "placeholder": "p".repeat(151), "options": [option("a")]}]}),
            "components.0.components.0.placeholder",
        ),
    ];
    for (components, field) in cases {
        let (status, body) = post(&http, &emulator, support.create_channel, components).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["code"], 50035, "{field}: {body}");
        let mut node = &body["errors"];
        for part in field.split('.') {
            node = &node[part];
        }
        assert!(node["_errors"].is_array(), "{field}: {body}");
    }
    let (status, body) = post(
        &http,
        &emulator,
        support.create_channel,
        menu(&json!([option("a"), option("b")])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
