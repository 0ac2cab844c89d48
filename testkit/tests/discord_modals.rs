//! Modals against the Discord emulator: a click answered with a MODAL (type 9), validated field by
//! field as Discord does; the user's submit arriving as MODAL_SUBMIT in the shape Discord sends
//! (read raw off the gateway, and by twilight as the bot reads it); the submits the Discord client
//! would refuse; and the callback types a modal submit takes.
//!
//! Past 450 lines: rustfmt spreads the table of invalid fields (one rule a row) over several lines
//! a row, and it belongs beside the world and helpers every modal test here shares.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use ticketeer_testkit::discord::{
    Control, ControlError, DiscordEmulator, EmulatorConfig, InteractionOutcome, ModalLayout,
    SupportGuild, control_router,
};
use twilight_gateway::{Event, Intents, Shard, queue::InMemoryQueue};
use twilight_model::application::interaction::{Interaction, InteractionData};

use support::{bot_call, next_raw_interaction, next_where, respond, shard};

/// A refused submit: (user, the interaction, the values, why the client refuses).
type Refusal<'a> = (u64, u64, Vec<(&'a str, &'a str)>, ControlError);

type Pending = tokio::task::JoinHandle<Result<InteractionOutcome, ControlError>>;

struct World {
    emulator: DiscordEmulator,
    control: Control,
    http: reqwest::Client,
    shard: Shard<InMemoryQueue>,
    alice: u64,
    bob: u64,
    panel: u64,
}

async fn world() -> World {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A long deadline: the table-driven test sends many refused callbacks to one click.
    let emulator = DiscordEmulator::start(EmulatorConfig {
        ack_deadline: Duration::from_mins(1),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, u64::MAX >> 1);
    let mut gateway = shard(&emulator, Intents::GUILDS);
    // Interactions go to connected sessions only: wait until this one is ready.
    next_where(&mut gateway, |event| matches!(event, Event::GuildCreate(_))).await;
    let mut w = World {
        shard: gateway,
        http: reqwest::Client::new(),
        alice: support.alice,
        bob: support.bob,
        panel: 0,
        control,
        emulator,
    };
    let (status, panel) = w
        .rest(
            &format!("/channels/{}/messages", support.create_channel),
            json!({"content": "Ticket", "components": [{"type": 1, "components": [
                {"type": 2, "style": 4, "label": "Close", "custom_id": "ticket:close"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{panel}");
    w.panel = panel["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("panel id");
    w
}

impl World {
    async fn rest(&self, path: &str, body: Value) -> (u16, Value) {
        bot_call(
            &self.http,
            &self.emulator,
            reqwest::Method::POST,
            path,
            Some(body),
        )
        .await
    }

    /// The bot's callback to an interaction as received.
    async fn respond(&self, interaction: &Value, body: Value) -> (u16, Value) {
        respond(&self.http, &self.emulator, interaction, body).await
    }

    /// The next INTERACTION_CREATE, raw as the gateway sent it.
    async fn next_interaction(&mut self) -> Value {
        next_raw_interaction(&mut self.shard).await
    }

    async fn click(&mut self) -> (Pending, Value) {
        let (control, user, panel) = (self.control.clone(), self.alice, self.panel);
        let pending =
            tokio::spawn(async move { control.click_button(user, panel, "ticket:close").await });
        (pending, self.next_interaction().await)
    }

    /// Alice clicks Close and the bot answers with `modal`; returns the click's id.
    async fn open_modal(&mut self, modal: Value) -> u64 {
        let (pending, click) = self.click().await;
        let (status, body) = self
            .respond(&click, json!({"type": 9, "data": modal}))
            .await;
        assert_eq!(status, 204, "{body}");
        pending
            .await
            .expect("click task")
            .expect("click")
            .interaction_id
    }

    /// A user submits the modal of `opened_by`; returns the pending submit and what the bot got.
    async fn submit(
        &mut self,
        user: u64,
        opened_by: u64,
        values: &[(&str, &str)],
    ) -> (Pending, Value) {
        let control = self.control.clone();
        let values: Vec<(String, String)> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let pending = tokio::spawn(async move {
            let values: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            control.submit_modal(user, opened_by, &values).await
        });
        (pending, self.next_interaction().await)
    }
}

/// The close-reason modal: an optional reason in an Action Row, details in a Label.
fn close_modal() -> Value {
    json!({
        "custom_id": "ticket:close:reason",
        "title": "Close ticket",
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "reason", "label": "Reason",
                "style": 1, "required": false, "max_length": 200}]},
            {"type": 18, "label": "Details", "description": "Anything staff should know",
                "component": {"type": 4, "custom_id": "details", "style": 2, "required": false,
                    "value": "none"}},
        ],
    })
}

#[tokio::test]
async fn a_modal_is_shown_and_its_submit_arrives_as_discord_sends_it() {
    let mut w = world().await;
    let opened_by = w.open_modal(close_modal()).await;
    let outcome = w.control.interaction(opened_by).expect("recorded");
    let modal = outcome.modal.expect("the modal is kept");
    assert_eq!(
        (modal.custom_id.as_str(), modal.title.as_str()),
        ("ticket:close:reason", "Close ticket")
    );
    let layouts: Vec<_> = modal
        .inputs
        .iter()
        .map(|i| (i.custom_id.as_str(), i.layout, i.label.as_str()))
        .collect();
    assert_eq!(
        layouts,
        [
            ("reason", ModalLayout::ActionRow, "Reason"),
            ("details", ModalLayout::Label, "Details")
        ]
    );
    assert_eq!(
        (modal.inputs[0].max_length, modal.inputs[0].required),
        (200, false)
    );

    let (pending, submit) = w
        .submit(w.alice, opened_by, &[("reason", "Resolved")])
        .await;
    assert_eq!(submit["type"], 5);
    assert_eq!(submit["data"]["custom_id"], "ticket:close:reason");
    assert_eq!(
        submit["data"]["components"],
        json!([
            {"type": 1, "id": 1, "components": [{"type": 4, "id": 2, "custom_id": "reason", "value": "Resolved"}]},
            {"type": 18, "id": 3, "component": {"type": 4, "id": 4, "custom_id": "details", "value": "none"}},
        ]),
        "an untouched input keeps its pre-filled text"
    );
    assert_eq!(
        submit["message"]["id"],
        w.panel.to_string(),
        "opened from a component"
    );
    assert_eq!(submit["member"]["user"]["id"], w.alice.to_string());
    assert!(submit["channel_id"].is_string() && submit["guild_id"].is_string());

    let (status, _) = w
        .respond(&submit, json!({"type": 4, "data": {"content": "Closing"}}))
        .await;
    assert_eq!(status, 204);
    let outcome = pending.await.expect("submit task").expect("submit");
    assert_eq!(outcome.callback_type, Some(4));
    let view = w
        .control
        .interaction(outcome.interaction_id)
        .expect("recorded");
    assert_eq!(
        (view.kind, view.opened_by, view.message_id),
        (5, Some(opened_by), w.panel)
    );
}

#[tokio::test]
async fn a_modal_submit_parses_with_twilight_as_the_bot_reads_it() {
    let mut w = world().await;
    let opened_by = w.open_modal(close_modal()).await;
    let (pending, submit) = w
        .submit(w.alice, opened_by, &[("reason", "Done"), ("details", "")])
        .await;
    let interaction: Interaction =
        serde_json::from_value(submit.clone()).expect("twilight parses it");
    let Some(InteractionData::ModalSubmit(data)) = interaction.data else {
        panic!("modal submit data expected");
    };
    assert_eq!(data.custom_id, "ticket:close:reason");
    let values: Vec<(String, String)> = data
        .components
        .iter()
        .flat_map(|c| match c {
            twilight_model::application::interaction::modal::ModalInteractionComponent::ActionRow(row) => row.components.clone(),
            twilight_model::application::interaction::modal::ModalInteractionComponent::Label(label) => vec![(*label.component).clone()],
            _ => Vec::new(),
        })
        .filter_map(|c| match c {
            twilight_model::application::interaction::modal::ModalInteractionComponent::TextInput(input) => Some((input.custom_id, input.value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        [
            ("reason".to_owned(), "Done".to_owned()),
            ("details".to_owned(), String::new())
        ]
    );
    w.respond(&submit, json!({"type": 6})).await;
    pending.await.expect("task").expect("submit");
}

#[tokio::test]
#[allow(deprecated)] // twilight marks the Action Row form's own `label` deprecated; Discord takes it.
async fn a_modal_built_with_twilight_is_accepted() {
    use twilight_model::channel::message::Component;
    use twilight_model::channel::message::component::{ActionRow, TextInput, TextInputStyle};
    use twilight_model::http::interaction::{
        InteractionResponse, InteractionResponseData, InteractionResponseType,
    };
    let mut w = world().await;
    let (pending, click) = w.click().await;
    let response = InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some("ticket:close:reason".to_owned()),
            title: Some("Close ticket".to_owned()),
            components: Some(vec![Component::ActionRow(ActionRow {
                id: None,
                components: vec![Component::TextInput(TextInput {
                    custom_id: "reason".to_owned(),
                    id: None,
                    label: Some("Reason (optional)".to_owned()),
                    max_length: Some(500),
                    min_length: None,
                    placeholder: Some("Why is it closed?".to_owned()),
                    required: Some(false),
                    style: TextInputStyle::Paragraph,
                    value: None,
                })],
            })]),
            ..InteractionResponseData::default()
        }),
    };
    let body = serde_json::to_value(&response).expect("serialises");
    let (status, error) = w.respond(&click, body).await;
    assert_eq!(status, 204, "{error}");
    let outcome = pending.await.expect("task").expect("click");
    let modal = outcome.modal.expect("modal");
    assert_eq!(modal.inputs[0].max_length, 500);
    assert_eq!(modal.inputs[0].style, 2);
}

#[tokio::test]
async fn each_invalid_modal_field_gets_50035_at_its_path() {
    let row = |input: Value| json!({"type": 1, "components": [input]});
    let input = |extra: Value| {
        let mut base = json!({"type": 4, "custom_id": "reason", "label": "Reason", "style": 1});
        for (key, value) in extra.as_object().into_iter().flatten() {
            base[key] = value.clone();
        }
        base
    };
    let modal =
        |components: Value| json!({"custom_id": "m", "title": "T", "components": components});
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &[&str], &str)> = vec![
        (Value::Null, &["data"], "BASE_TYPE_REQUIRED"),
        (
            json!({"custom_id": "m", "components": [row(input(json!({})))]}),
            &["data", "title"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            json!({"custom_id": "m", "title": long(46), "components": [row(input(json!({})))]}),
            &["data", "title"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"custom_id": "", "title": "T", "components": [row(input(json!({})))]}),
            &["data", "custom_id"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"custom_id": long(101), "title": "T", "components": [row(input(json!({})))]}),
            &["data", "custom_id"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(json!([])),
            &["data", "components"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(json!(
                (0..6)
                    .map(|i| row(input(json!({"custom_id": format!("r{i}")}))))
                    .collect::<Vec<_>>()
            )),
            &["data", "components"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(
                json!([{"type": 1, "components": [input(json!({})), input(json!({"custom_id": "b"}))]}]),
            ),
            &["data", "components", "0", "components"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(json!([row(
                json!({"type": 2, "style": 1, "custom_id": "b", "label": "B"})
            )])),
            &["data", "components", "0", "components", "0"],
            "COMPONENT_TYPE_INVALID",
        ),
        (
            modal(json!([{"type": 10, "content": "hi"}])),
            &["data", "components", "0"],
            "COMPONENT_TYPE_INVALID",
        ),
        (
            modal(json!([row(input(json!({"custom_id": long(101)})))])),
            &["data", "components", "0", "components", "0", "custom_id"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(json!([row(input(json!({}))), row(input(json!({})))])),
            &["data", "components", "1", "components", "0", "custom_id"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            modal(json!([row(input(json!({"style": 3})))])),
            &["data", "components", "0", "components", "0", "style"],
            "BASE_TYPE_CHOICES",
        ),
        (
            modal(json!([row(input(json!({"label": null})))])),
            &["data", "components", "0", "components", "0", "label"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            modal(json!([row(input(json!({"label": long(46)})))])),
            &["data", "components", "0", "components", "0", "label"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(json!([row(input(json!({"min_length": 4001})))])),
            &["data", "components", "0", "components", "0", "min_length"],
            "NUMBER_TYPE_MAX",
        ),
        (
            modal(json!([row(input(json!({"max_length": 0})))])),
            &["data", "components", "0", "components", "0", "max_length"],
            "NUMBER_TYPE_MIN",
        ),
        (
            modal(json!([row(input(json!({"max_length": 4001})))])),
            &["data", "components", "0", "components", "0", "max_length"],
            "NUMBER_TYPE_MAX",
        ),
        (
            modal(json!([row(input(
                json!({"min_length": 10, "max_length": 5})
            ))])),
            &["data", "components", "0", "components", "0", "min_length"],
            "NUMBER_TYPE_MAX",
        ),
        (
            modal(json!([row(input(json!({"value": long(4001)})))])),
            &["data", "components", "0", "components", "0", "value"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            modal(json!([row(input(json!({"placeholder": long(101)})))])),
            &["data", "components", "0", "components", "0", "placeholder"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            modal(json!([{"type": 18, "component": input(json!({}))}])),
            &["data", "components", "0", "label"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            modal(json!([{"type": 18, "label": long(46), "component": input(json!({}))}])),
            &["data", "components", "0", "label"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal(
                json!([{"type": 18, "label": "L", "description": long(101), "component": input(json!({}))}]),
            ),
            &["data", "components", "0", "description"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            modal(json!([{"type": 18, "label": "L"}])),
            &["data", "components", "0", "component"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            modal(
                json!([{"type": 18, "label": "L", "component": {"type": 3, "custom_id": "s", "options": []}}]),
            ),
            &["data", "components", "0", "component"],
            "COMPONENT_TYPE_INVALID",
        ),
        (
            modal(json!([{"type": 18, "label": "L", "component": input(json!({"style": 0}))}])),
            &["data", "components", "0", "component", "style"],
            "BASE_TYPE_CHOICES",
        ),
    ];
    let mut w = world().await;
    let (pending, click) = w.click().await;
    for (data, path, code) in cases {
        let (status, body) = w.respond(&click, json!({"type": 9, "data": data})).await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!(50035)),
            "{data} → {body}"
        );
        let mut at = &body["errors"];
        for segment in path {
            at = &at[*segment];
        }
        assert_eq!(
            at["_errors"][0]["code"], code,
            "{data} at {path:?} → {body}"
        );
    }
    // Refused callbacks acknowledge nothing; a valid modal (its Label input has no label of its
    // own, which a Label makes unnecessary) still may.
    let valid = modal(
        json!([{"type": 18, "label": "L", "component": {"type": 4, "custom_id": "a", "style": 1}}]),
    );
    let (status, body) = w.respond(&click, json!({"type": 9, "data": valid})).await;
    assert_eq!(status, 204, "{body}");
    assert!(pending.await.expect("task").expect("click").modal.is_some());
}

#[tokio::test]
async fn a_modal_after_a_deferred_acknowledgement_gets_40060() {
    let mut w = world().await;
    let (pending, click) = w.click().await;
    let (status, _) = w.respond(&click, json!({"type": 6})).await;
    assert_eq!(status, 204);
    let (status, body) = w
        .respond(&click, json!({"type": 9, "data": close_modal()}))
        .await;
    assert_eq!((status, &body["code"]), (400, &json!(40060)));
    assert!(pending.await.expect("task").expect("click").modal.is_none());
}

#[tokio::test]
async fn a_modal_submit_takes_4_5_6_or_7_and_never_a_modal() {
    let mut w = world().await;
    for callback in [4, 5, 6, 7] {
        let opened_by = w.open_modal(close_modal()).await;
        let (pending, submit) = w.submit(w.alice, opened_by, &[]).await;
        let (status, body) = w
            .respond(&submit, json!({"type": 9, "data": close_modal()}))
            .await;
        assert_eq!((status, &body["code"]), (400, &json!(50035)), "{body}");
        assert_eq!(
            body["errors"]["type"]["_errors"][0]["code"],
            "BASE_TYPE_CHOICES"
        );
        let data = json!({"content": "Closed"});
        let (status, body) = w
            .respond(&submit, json!({"type": callback, "data": data}))
            .await;
        assert_eq!(status, 204, "type {callback}: {body}");
        let outcome = pending.await.expect("task").expect("submit");
        assert_eq!(outcome.callback_type, Some(callback));
    }
    assert_eq!(
        w.control.message(w.panel).expect("panel").content,
        "Closed",
        "7 updated the panel"
    );
}

#[tokio::test]
async fn submits_the_discord_client_would_refuse_send_nothing() {
    let mut w = world().await;
    let strict = json!({"custom_id": "m", "title": "T", "components": [{"type": 1, "components": [
        {"type": 4, "custom_id": "reason", "label": "Reason", "style": 1, "min_length": 3, "max_length": 5}]}]});
    let opened_by = w.open_modal(strict).await;
    let (pending, click) = w.click().await;
    w.respond(&click, json!({"type": 6})).await;
    let no_modal = pending.await.expect("task").expect("click").interaction_id;
    let before = w.control.interactions().len();
    let cases: Vec<Refusal> = vec![
        (w.alice, no_modal, vec![], ControlError::NoModal(no_modal)),
        (
            w.bob,
            opened_by,
            vec![("reason", "abcd")],
            ControlError::NotModalUser {
                interaction: opened_by,
                user: w.bob,
            },
        ),
        (
            w.alice,
            opened_by,
            vec![],
            ControlError::ModalInputRequired("reason".into()),
        ),
        (
            w.alice,
            opened_by,
            vec![("reason", "")],
            ControlError::ModalInputRequired("reason".into()),
        ),
        (
            w.alice,
            opened_by,
            vec![("reason", "ab")],
            ControlError::ModalInputLength {
                custom_id: "reason".into(),
                length: 2,
                min: 3,
                max: 5,
            },
        ),
        (
            w.alice,
            opened_by,
            vec![("reason", "abcdef")],
            ControlError::ModalInputLength {
                custom_id: "reason".into(),
                length: 6,
                min: 3,
                max: 5,
            },
        ),
        (
            w.alice,
            opened_by,
            vec![("reason", "abcd"), ("other", "x")],
            ControlError::UnknownModalInput {
                modal: "m".into(),
                custom_id: "other".into(),
            },
        ),
    ];
    for (user, interaction, values, expected) in cases {
        let refused = w.control.submit_modal(user, interaction, &values).await;
        assert_eq!(refused.err(), Some(expected));
    }
    assert_eq!(
        w.control.interactions().len(),
        before,
        "no interaction was sent"
    );
    let (pending, submit) = w.submit(w.alice, opened_by, &[("reason", "abcd")]).await;
    assert_eq!(
        submit["data"]["components"][0]["components"][0]["value"],
        "abcd"
    );
    w.respond(&submit, json!({"type": 5})).await;
    pending.await.expect("task").expect("submit");
}

#[tokio::test]
async fn a_modal_is_submitted_over_the_http_control_api() {
    let mut w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = control_router(w.control.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let opened_by = w.open_modal(close_modal()).await;
    let request = w.http.post(format!("{base}/modals/submit")).json(&json!({
        "user_id": w.alice.to_string(), "interaction_id": opened_by.to_string(),
        "values": {"reason": "Fixed"}}));
    let answer =
        tokio::spawn(async move { request.send().await.expect("request").json::<Value>().await });
    let submit = w.next_interaction().await;
    assert_eq!(
        submit["data"]["components"][0]["components"][0]["value"],
        "Fixed"
    );
    w.respond(&submit, json!({"type": 4, "data": {"content": "Closing"}}))
        .await;
    let answer = answer.await.expect("task").expect("json");
    assert_eq!(
        (&answer["callback_type"], &answer["failed"]),
        (&json!(4), &json!(false))
    );
    let refused = w
        .http
        .post(format!("{base}/modals/submit"))
        .json(&json!({
        "user_id": w.bob, "interaction_id": opened_by, "values": {}}))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 422);
}
