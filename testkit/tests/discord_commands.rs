//! Guild application commands against the Discord emulator: the bulk overwrite (ids and versions
//! across overwrites, validation by path, who may write), running a command as a user (the
//! interaction as Discord shapes it, read raw and by twilight, and the runs the client refuses),
//! and the responses a command interaction takes.
//!
//! Past 450 lines: rustfmt spreads the table of invalid definitions (one rule a row) over several
//! lines a row, and it belongs beside the world and helpers every command test here shares.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use ticketeer_testkit::discord::{
    CommandInput, Control, ControlError, DiscordEmulator, EmulatorConfig, InteractionOutcome,
    OptionValue, SupportGuild, control_router, permissions::ADMINISTRATOR,
};
use twilight_gateway::{Event, Intents, Shard, queue::InMemoryQueue};
use twilight_model::application::command::Command;
use twilight_model::application::interaction::{Interaction, InteractionData};

use support::{WAIT, bot_call, next_raw_interaction, next_where, respond, shard};

type Pending = tokio::task::JoinHandle<Result<InteractionOutcome, ControlError>>;

struct World {
    emulator: DiscordEmulator,
    control: Control,
    http: reqwest::Client,
    shard: Shard<InMemoryQueue>,
    support: SupportGuild,
}

async fn world() -> World {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(EmulatorConfig {
        ack_deadline: Duration::from_mins(1),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, u64::MAX >> 1);
    let mut gateway = shard(&emulator, Intents::GUILDS);
    next_where(&mut gateway, |event| matches!(event, Event::GuildCreate(_))).await;
    World {
        shard: gateway,
        http: reqwest::Client::new(),
        support,
        control,
        emulator,
    }
}

/// `/ticket add user:<user> [note:<text>]`, `/ticket close`, and `/setup` for managers only.
fn ticket_commands() -> Value {
    json!([
        {"name": "ticket", "description": "Manage this ticket", "options": [
            {"type": 1, "name": "add", "description": "Add someone", "options": [
                {"type": 6, "name": "user", "description": "Who", "required": true},
                {"type": 3, "name": "note", "description": "Why", "max_length": 10},
            ]},
            {"type": 1, "name": "close", "description": "Close it"},
        ]},
        {"name": "setup", "description": "Set the bot up", "default_member_permissions": "32"},
    ])
}

impl World {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        bot_call(&self.http, &self.emulator, method, path, body).await
    }

    fn commands_path(&self) -> String {
        format!(
            "/applications/{}/guilds/{}/commands",
            self.control.application_id(),
            self.support.guild
        )
    }

    async fn overwrite(&self, commands: Value) -> (u16, Value) {
        let path = self.commands_path();
        self.call(reqwest::Method::PUT, &path, Some(commands)).await
    }

    async fn respond(&self, interaction: &Value, body: Value) -> (u16, Value) {
        respond(&self.http, &self.emulator, interaction, body).await
    }

    /// The next INTERACTION_CREATE, raw as the gateway sent it.
    async fn next_interaction(&mut self) -> Value {
        next_raw_interaction(&mut self.shard).await
    }

    /// `user` runs a command in the create channel; returns the pending run and what the bot got.
    async fn run(&mut self, user: u64, name: &str, inputs: Vec<CommandInput>) -> (Pending, Value) {
        let (control, channel, name) = (
            self.control.clone(),
            self.support.create_channel,
            name.to_owned(),
        );
        let pending =
            tokio::spawn(async move { control.run_command(user, channel, &name, &inputs).await });
        (pending, self.next_interaction().await)
    }
}

#[tokio::test]
async fn a_bulk_overwrite_replaces_the_set_and_keeps_ids_of_commands_that_stay() {
    let w = world().await;
    let (status, first) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200, "{first}");
    let parsed: Vec<Command> = serde_json::from_value(first.clone()).expect("twilight reads it");
    assert_eq!(parsed.len(), 2);
    assert_eq!(
        parsed[0].guild_id.map(twilight_model::id::Id::get),
        Some(w.support.guild)
    );
    assert_eq!(first[1]["default_member_permissions"], "32");
    assert_eq!(first[0]["default_member_permissions"], Value::Null);
    // `ticket` unchanged, `setup` changed, `setup` of another type... and `stats` new.
    let mut second = ticket_commands();
    second[1]["description"] = json!("Configure the bot");
    second
        .as_array_mut()
        .expect("array")
        .push(json!({"name": "stats", "description": "Numbers"}));
    let (status, again) = w.overwrite(second).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again[0]["id"], first[0]["id"]);
    assert_eq!(again[0]["version"], first[0]["version"]);
    assert_eq!(again[1]["id"], first[1]["id"]);
    assert_ne!(again[1]["version"], first[1]["version"]);
    assert!(again[2]["id"] != first[0]["id"] && again[2]["id"] != first[1]["id"]);
    // Only `stats` left: the others are gone.
    let (status, last) = w
        .overwrite(json!([{"name": "stats", "description": "Numbers"}]))
        .await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(last[0]["id"], again[2]["id"]);
    let (status, listed) = w.call(reqwest::Method::GET, &w.commands_path(), None).await;
    assert_eq!((status, listed), (200, last));
    let names: Vec<String> = w
        .control
        .guild_commands(w.support.guild)
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["stats"]);
    let overwrites = w
        .control
        .request_log()
        .iter()
        .filter(|r| {
            r.method == "PUT"
                && r.route == "/applications/{application_id}/guilds/{guild_id}/commands"
        })
        .count();
    assert_eq!(overwrites, 3);
    let global = format!("/applications/{}/commands", w.control.application_id());
    let (status, global) = w.call(reqwest::Method::GET, &global, None).await;
    assert_eq!((status, global), (200, json!([])));
}

#[tokio::test]
async fn an_invalid_definition_is_refused_field_by_field() {
    let w = world().await;
    let cases = [
        (
            json!([{"name": "Ticket", "description": "x"}]),
            vec!["0", "name"],
        ),
        (
            json!([{"name": "ticket", "description": ""}]),
            vec!["0", "description"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 3, "name": "a", "description": "x"},
                {"type": 3, "name": "Bad name", "description": "x"}]}]),
            vec!["0", "options", "1", "name"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 3, "name": "a", "description": "x"},
                {"type": 3, "name": "b", "description": "x", "required": true}]}]),
            vec!["0", "options"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 1, "name": "a", "description": "x"},
                {"type": 3, "name": "b", "description": "x"}]}]),
            vec!["0", "options"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 2, "name": "g", "description": "x", "options": [
                    {"type": 3, "name": "b", "description": "x"}]}]}]),
            vec!["0", "options", "0", "options", "0", "type"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 4, "name": "n", "description": "x", "choices": [
                    {"name": "one", "value": "1"}]}]}]),
            vec!["0", "options", "0", "choices", "0", "value"],
        ),
        (
            json!([{"name": "t", "description": "x", "options": [
                {"type": 3, "name": "s", "description": "x", "max_length": 6001}]}]),
            vec!["0", "options", "0", "max_length"],
        ),
        (
            json!([{"name": "t", "description": "x", "default_member_permissions": 8}]),
            vec!["0", "default_member_permissions"],
        ),
        (
            json!([{"name": "t", "description": "x"}, {"name": "t", "description": "y"}]),
            vec!["1", "name"],
        ),
    ];
    for (body, path) in cases {
        let (status, answer) = w.overwrite(body.clone()).await;
        assert_eq!(
            (status, &answer["code"]),
            (400, &json!(50035)),
            "{body}: {answer}"
        );
        let mut node = &answer["errors"];
        for segment in &path {
            node = &node[*segment];
        }
        assert!(node["_errors"].is_array(), "{body}: {path:?} in {answer}");
    }
    let options: Vec<Value> = (0..26)
        .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "x"}))
        .collect();
    let (status, answer) = w
        .overwrite(json!([{"name": "t", "description": "x", "options": options}]))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["errors"]["0"]["options"]["_errors"].is_array(),
        "{answer}"
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("c{i}"), "description": "x"}))
        .collect();
    let (status, answer) = w.overwrite(Value::Array(many)).await;
    assert_eq!((status, &answer["code"]), (400, &json!(30032)), "{answer}");
    assert!(w.control.guild_commands(w.support.guild).is_empty());
}

#[tokio::test]
async fn another_application_or_a_guild_without_the_bot_is_missing_access() {
    let w = world().await;
    let other = format!("/applications/42/guilds/{}/commands", w.support.guild);
    let (status, answer) = w.call(reqwest::Method::PUT, &other, Some(json!([]))).await;
    assert_eq!((status, &answer["code"]), (403, &json!(50001)));
    let elsewhere = format!(
        "/applications/{}/guilds/{}/commands",
        w.control.application_id(),
        w.support.guild + 1
    );
    let (status, answer) = w.call(reqwest::Method::GET, &elsewhere, None).await;
    assert_eq!((status, &answer["code"]), (403, &json!(50001)));
    let (status, _) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_run_arrives_as_discord_sends_it() {
    let mut w = world().await;
    let (status, _) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200);
    let bob = w.support.bob;
    let (pending, raw) = w
        .run(
            w.support.alice,
            "ticket",
            vec![CommandInput::sub(
                "add",
                &[
                    ("user", OptionValue::user(bob)),
                    ("note", OptionValue::string("hi")),
                ],
            )],
        )
        .await;
    assert_eq!(raw["type"], 2);
    assert_eq!(raw["data"]["name"], "ticket");
    assert_eq!(raw["data"]["type"], 1);
    assert_eq!(raw["data"]["guild_id"], w.support.guild.to_string());
    let sub = &raw["data"]["options"][0];
    assert_eq!((&sub["name"], &sub["type"]), (&json!("add"), &json!(1)));
    assert_eq!(sub["options"][0]["value"], bob.to_string());
    assert_eq!(sub["options"][1]["value"], "hi");
    assert!(raw["data"]["resolved"]["users"][bob.to_string()].is_object());
    assert!(raw["data"]["resolved"]["members"][bob.to_string()]["permissions"].is_string());
    assert!(raw["member"]["permissions"].is_string() && raw["app_permissions"].is_string());
    assert_eq!(raw["guild_locale"], "en-US");
    let parsed: Interaction = serde_json::from_value(raw.clone()).expect("twilight reads it");
    let Some(InteractionData::ApplicationCommand(data)) = parsed.data else {
        panic!("not command data: {raw}");
    };
    assert_eq!(data.name, "ticket");
    let resolved = data.resolved.expect("resolved");
    assert!(resolved.users.keys().any(|id| id.get() == bob));
    let registered = w.control.guild_commands(w.support.guild);
    assert_eq!(data.id.get(), registered[0].id);
    let (status, body) = w
        .respond(&raw, json!({"type": 4, "data": {"content": "Added"}}))
        .await;
    assert_eq!(status, 204, "{body}");
    let outcome = pending.await.expect("task").expect("run");
    assert_eq!(outcome.callback_type, Some(4));
}

#[tokio::test]
async fn runs_the_client_would_not_allow_are_refused() {
    let w = world().await;
    let (status, _) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200);
    let (alice, bob, channel) = (w.support.alice, w.support.bob, w.support.create_channel);
    let run = |user: u64, name: &'static str, inputs: Vec<CommandInput>| {
        let control = w.control.clone();
        async move { control.run_command(user, channel, name, &inputs).await }
    };
    assert!(matches!(
        run(alice, "nothing", vec![]).await,
        Err(ControlError::UnknownCommand { .. })
    ));
    assert!(matches!(
        run(alice, "ticket", vec![CommandInput::sub("add", &[])]).await,
        Err(ControlError::CommandOptionRequired { .. })
    ));
    assert!(matches!(
        run(alice, "ticket", vec![]).await,
        Err(ControlError::SubcommandRequired(_))
    ));
    assert!(matches!(
        run(
            alice,
            "ticket",
            vec![CommandInput::sub(
                "add",
                &[("user", OptionValue::string("x"))]
            )]
        )
        .await,
        Err(ControlError::CommandOptionType { expected: 6, .. })
    ));
    assert!(matches!(
        run(
            alice,
            "ticket",
            vec![CommandInput::sub(
                "add",
                &[
                    ("user", OptionValue::user(bob)),
                    ("note", OptionValue::string("far too long"))
                ]
            )]
        )
        .await,
        Err(ControlError::CommandOptionLength { length: 12, .. })
    ));
    assert!(matches!(
        run(
            alice,
            "ticket",
            vec![CommandInput::sub("add", &[("who", OptionValue::user(bob))])]
        )
        .await,
        Err(ControlError::UnknownCommandOption { .. })
    ));
    // `setup` needs MANAGE_GUILD (32): hidden from Alice, shown to an administrator.
    assert!(matches!(
        run(alice, "setup", vec![]).await,
        Err(ControlError::CommandHidden { .. })
    ));
    assert!(w.control.interactions().is_empty(), "nothing was sent");
    let admins = w
        .control
        .create_role(w.support.guild, "Admins", ADMINISTRATOR)
        .expect("role");
    w.control
        .set_member_roles(w.support.guild, alice, &[admins])
        .expect("roles");
    let control = w.control.clone();
    let outcome =
        tokio::spawn(async move { control.run_command(alice, channel, "setup", &[]).await });
    assert!(
        w.control
            .wait_for(WAIT, |c| (!c.interactions().is_empty()).then_some(()))
            .await
            .is_ok()
    );
    // Nobody acknowledges it in this test: the run was sent, which is what matters here.
    outcome.abort();
    // "0": administrators only.
    let (status, _) = w
        .overwrite(
            json!([{"name": "setup", "description": "x", "default_member_permissions": "0"}]),
        )
        .await;
    assert_eq!(status, 200);
    assert!(matches!(
        run(bob, "setup", vec![]).await,
        Err(ControlError::CommandHidden { .. })
    ));
}

#[tokio::test]
async fn a_command_takes_a_modal_but_not_a_message_update() {
    let mut w = world().await;
    let (status, _) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200);
    let alice = w.support.alice;
    let (pending, raw) = w
        .run(alice, "ticket", vec![CommandInput::sub("close", &[])])
        .await;
    for kind in [6, 7] {
        let (status, body) = w
            .respond(&raw, json!({"type": kind, "data": {"content": "x"}}))
            .await;
        assert_eq!((status, &body["code"]), (400, &json!(50035)), "{body}");
        assert!(body["errors"]["type"]["_errors"].is_array());
    }
    let modal = json!({"custom_id": "close:reason", "title": "Close", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "reason", "label": "Reason", "style": 1}]}]});
    let (status, body) = w.respond(&raw, json!({"type": 9, "data": modal})).await;
    assert_eq!(status, 204, "{body}");
    let opened_by = pending.await.expect("task").expect("run").interaction_id;
    let control = w.control.clone();
    let submit = tokio::spawn(async move {
        control
            .submit_modal(alice, opened_by, &[("reason", "done")])
            .await
    });
    let raw = w.next_interaction().await;
    assert_eq!(raw["type"], 5);
    assert_eq!(
        raw["data"]["components"][0]["components"][0]["value"],
        "done"
    );
    assert!(
        raw.get("message").is_none(),
        "a command's modal carries no message"
    );
    // A modal opened by a command takes no message update either.
    let (status, _) = w
        .respond(&raw, json!({"type": 7, "data": {"content": "x"}}))
        .await;
    assert_eq!(status, 400);
    let (status, body) = w
        .respond(&raw, json!({"type": 4, "data": {"content": "Closing"}}))
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        submit.await.expect("task").expect("submit").callback_type,
        Some(4)
    );
}

#[tokio::test]
async fn a_command_is_run_over_the_http_control_api() {
    let mut w = world().await;
    let (status, _) = w.overwrite(ticket_commands()).await;
    assert_eq!(status, 200);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = control_router(w.control.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let request = w.http.post(format!("{base}/commands/run")).json(&json!({
        "user_id": w.support.alice.to_string(), "channel_id": w.support.create_channel,
        "name": "ticket", "options": [{"name": "add", "options": [
            {"name": "user", "user": w.support.bob.to_string()},
            {"name": "note", "value": "hi"}]}]}));
    let answer =
        tokio::spawn(async move { request.send().await.expect("request").json::<Value>().await });
    let raw = w.next_interaction().await;
    assert_eq!(raw["data"]["options"][0]["options"][1]["value"], "hi");
    let (status, _) = w
        .respond(&raw, json!({"type": 5, "data": {"flags": 64}}))
        .await;
    assert_eq!(status, 204);
    let answer = answer.await.expect("task").expect("json");
    assert_eq!(
        (&answer["callback_type"], &answer["ephemeral"]),
        (&json!(5), &json!(true))
    );
    let refused = w
        .http
        .post(format!("{base}/commands/run"))
        .json(
            &json!({"user_id": w.support.alice, "channel_id": w.support.create_channel,
            "name": "setup"}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 422);
    let listed: Value = w
        .http
        .get(format!("{base}/guilds/{}/commands", w.support.guild))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(listed[0]["name"], "ticket");
}
