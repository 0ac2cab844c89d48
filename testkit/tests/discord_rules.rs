//! Discord's rules that requests break silently when a fake skips them: role mentions that do not
//! notify, button emoji and custom ids Discord refuses, the embed total, overwrites checked
//! against guild-level permissions and naming real roles and users, the pin limit, and the
//! invalid-request limit that blocks a client answered 401/403/429 too often. Sent as raw
//! HTTP, because twilight validates some of these client-side and the point is Discord's answer.

use serde_json::{Value, json};
use std::time::Duration;
use ticketeer_testkit::discord::permissions::{
    MANAGE_CHANNELS, MANAGE_ROLES, MENTION_EVERYONE, PIN_MESSAGES, READ_MESSAGE_HISTORY,
    SEND_MESSAGES, VIEW_CHANNEL,
};

use ticketeer_testkit::discord::{
    ChannelSpec, Control, DiscordEmulator, EmulatorConfig, InvalidRequestLimit, Overwrite,
    SupportGuild, UserMessage,
};

const BOT_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | PIN_MESSAGES;

struct World {
    emulator: DiscordEmulator,
    control: Control,
    http: reqwest::Client,
    guild: u64,
    channel: u64,
}

async fn world(bot_permissions: u64) -> World {
    // reqwest uses rustls without choosing a crypto provider; pick ring, as the bot does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, bot_permissions);
    let (guild, channel) = (support.guild, support.create_channel);
    World {
        emulator,
        control,
        http: reqwest::Client::new(),
        guild,
        channel,
    }
}

impl World {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.emulator.token().to_owned();
        self.send_as(&token, method, path, body).await
    }

    async fn send_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(
                method,
                format!("http://{}/api/v10{path}", self.emulator.http_proxy()),
            )
            .header("Authorization", format!("Bot {token}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn post_message(&self, body: Value) -> (u16, Value) {
        self.post(&format!("/channels/{}/messages", self.channel), body)
            .await
    }
}

fn id_of(body: &Value) -> u64 {
    body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id")
}

fn button_with_emoji(emoji: &Value) -> Value {
    json!({"components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "custom_id": "open", "label": "Open", "emoji": emoji}
    ]}]})
}

#[tokio::test]
async fn a_role_mention_notifies_only_a_mentionable_role_or_from_a_sender_with_mention_everyone() {
    let w = world(BOT_PERMISSIONS).await;
    let staff = w.control.create_role(w.guild, "Staff", 0).expect("role");
    let (_, roles) = w
        .send(
            reqwest::Method::GET,
            &format!("/guilds/{}/roles", w.guild),
            None,
        )
        .await;
    let listed = roles
        .as_array()
        .and_then(|roles| roles.iter().find(|r| id_of(r) == staff))
        .cloned()
        .expect("the role is listed");
    assert_eq!(
        listed["mentionable"], false,
        "new roles are not mentionable"
    );

    let ping = json!({
        "content": format!("<@&{staff}> a new ticket"),
        "allowed_mentions": {"parse": [], "roles": [staff.to_string()]},
    });
    let notified = async |w: &World| {
        let (status, body) = w.post_message(ping.clone()).await;
        assert_eq!(status, 200, "{body}");
        let message = w.control.message(id_of(&body)).expect("stored");
        assert_eq!(message.mention_roles, [staff], "the mention itself is kept");
        message.notified_roles
    };
    assert_eq!(
        notified(&w).await,
        Vec::<u64>::new(),
        "not mentionable: nobody is pinged"
    );

    w.control
        .set_role_mentionable(w.guild, staff, true)
        .expect("mentionable");
    assert_eq!(notified(&w).await, [staff]);

    w.control
        .set_role_mentionable(w.guild, staff, false)
        .expect("not mentionable again");
    let bot_role = w.control.bot_role(w.guild).expect("bot role");
    w.control
        .set_role_permissions(w.guild, bot_role, BOT_PERMISSIONS | MENTION_EVERYONE)
        .expect("grant Mention Everyone");
    assert_eq!(
        notified(&w).await,
        [staff],
        "Mention Everyone pings any role"
    );
}

#[tokio::test]
async fn a_button_emoji_discord_does_not_know_is_an_invalid_form_body_at_its_field() {
    let w = world(BOT_PERMISSIONS).await;
    let field = |body: &Value, part: &str| {
        body["errors"]["components"]["0"]["components"]["0"]["emoji"][part]["_errors"][0]["code"]
            .clone()
    };
    for bad in ["ab", "ticket", ":ticket:", "🎫🎫"] {
        let (status, body) = w
            .post_message(button_with_emoji(&json!({"name": bad})))
            .await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!(50035)),
            "{bad:?}: {body}"
        );
        assert_eq!(
            field(&body, "name"),
            "BUTTON_COMPONENT_INVALID_EMOJI",
            "{bad:?}"
        );
    }
    let (status, body) = w
        .post_message(button_with_emoji(&json!({"name": "ticket", "id": "12x"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(field(&body, "id"), "BUTTON_COMPONENT_INVALID_EMOJI");
    let (status, body) = w
        .post_message(button_with_emoji(
            &json!({"name": "t", "id": "123456789012345678"}),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(field(&body, "name"), "BUTTON_COMPONENT_INVALID_EMOJI");
    assert!(
        w.control.messages(w.channel).is_empty(),
        "nothing was posted"
    );

    for good in [
        json!({"name": "🎫"}),
        json!({"name": "❤"}),
        json!({"name": "👍🏽"}),
        json!({"name": "lock", "id": "123456789012345678", "animated": true}),
    ] {
        let (status, body) = w.post_message(button_with_emoji(&good)).await;
        assert_eq!(status, 200, "{good}: {body}");
    }
}

#[tokio::test]
async fn an_empty_custom_id_is_an_invalid_form_body() {
    let w = world(BOT_PERMISSIONS).await;
    let (status, body) = w
        .post_message(json!({"components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "custom_id": "", "label": "Open"}
        ]}]}))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!(50035)),
        "{body}"
    );
    assert_eq!(
        body["errors"]["components"]["0"]["components"]["0"]["custom_id"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_LENGTH"
    );
}

#[tokio::test]
async fn embeds_over_6000_characters_together_are_an_invalid_form_body() {
    let w = world(BOT_PERMISSIONS).await;
    // Each part is within its own limit; only the sum over all embeds breaks the rule.
    let embeds = |extra: usize| {
        json!([
            {"title": "t".repeat(200), "description": "d".repeat(4000),
             "footer": {"text": "f".repeat(300)}, "author": {"name": "a".repeat(200)}},
            {"description": "e".repeat(1000),
             "fields": [{"name": "n".repeat(100), "value": "v".repeat(200 + extra)}]},
        ])
    };
    let (status, body) = w.post_message(json!({"embeds": embeds(0)})).await;
    assert_eq!(status, 200, "exactly 6000 characters are allowed: {body}");
    let (status, body) = w.post_message(json!({"embeds": embeds(1)})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!(50035)),
        "{body}"
    );
    assert_eq!(
        body["errors"]["embeds"]["_errors"][0]["code"],
        "MAX_EMBED_SIZE_EXCEEDED"
    );
}

#[tokio::test]
async fn overwrites_on_a_new_channel_count_only_guild_level_permissions() {
    // The bot may manage channels, but Manage Roles comes only from the category's overwrite.
    let w = world(BOT_PERMISSIONS & !MANAGE_ROLES).await;
    let bot_role = w.control.bot_role(w.guild).expect("bot role");
    let category = w
        .control
        .create_channel(
            w.guild,
            ChannelSpec::category("Tickets").with_overwrite(Overwrite::role(
                bot_role,
                MANAGE_ROLES,
                0,
            )),
        )
        .expect("category");
    let in_category = w
        .control
        .permissions(w.guild, w.control.bot_user_id(), Some(category));
    assert_eq!(
        in_category & MANAGE_ROLES,
        MANAGE_ROLES,
        "held in the category"
    );
    let body = json!({
        "name": "ticket-0001", "type": 0, "parent_id": category.to_string(),
        "permission_overwrites": [{"id": w.guild.to_string(), "type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string()}],
    });
    let path = format!("/guilds/{}/channels", w.guild);
    let (status, answer) = w.post(&path, body.clone()).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (403, json!(50013)),
        "{answer}"
    );

    w.control
        .set_role_permissions(w.guild, bot_role, BOT_PERMISSIONS)
        .expect("Manage Roles in the guild");
    let (status, answer) = w.post(&path, body).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn overwrites_naming_an_unknown_role_or_user_are_refused() {
    let w = world(BOT_PERMISSIONS).await;
    let path = format!("/guilds/{}/channels", w.guild);
    let overwrite = |id: &str, kind: u64| {
        json!({"name": "ticket", "type": 0,
               "permission_overwrites": [{"id": id, "type": kind, "allow": VIEW_CHANNEL.to_string(), "deny": "0"}]})
    };
    let (status, body) = w.post(&path, overwrite("123456789012345678", 0)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!(10011)),
        "{body}"
    );
    let (status, body) = w.post(&path, overwrite("123456789012345678", 1)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!(10013)),
        "{body}"
    );
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let (status, body) = w.post(&path, overwrite(&user.to_string(), 1)).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_channel_holds_250_pins_and_the_251st_is_refused_with_30003() {
    let w = world(BOT_PERMISSIONS).await;
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let mut messages = Vec::new();
    for index in 0..251 {
        messages.push(
            w.control
                .post_message(
                    user,
                    w.channel,
                    UserMessage::text(&format!("message {index}")),
                )
                .expect("posted"),
        );
    }
    for message in &messages[..250] {
        let (status, body) = w
            .send(
                reqwest::Method::PUT,
                &format!("/channels/{}/messages/pins/{message}", w.channel),
                None,
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }
    let (status, body) = w
        .send(
            reqwest::Method::PUT,
            &format!("/channels/{}/messages/pins/{}", w.channel, messages[250]),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!(30003)),
        "{body}"
    );
    assert_eq!(w.control.pins(w.channel).len(), 250);
}

#[tokio::test]
async fn five_401_or_403_answers_in_the_window_block_every_request_when_the_limit_is_five() {
    let w = world(BOT_PERMISSIONS & !PIN_MESSAGES).await;
    w.control.set_invalid_request_limit(InvalidRequestLimit {
        limit: 5,
        window: Duration::from_mins(10),
        block: Duration::from_hours(1),
    });
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let message = w
        .control
        .post_message(user, w.channel, UserMessage::text("pin me"))
        .expect("posted");
    let pin = format!("/channels/{}/messages/pins/{message}", w.channel);
    let channel = format!("/channels/{}", w.channel);

    for _ in 0..3 {
        let (status, body) = w.send(reqwest::Method::GET, "/channels/1", None).await;
        assert_eq!(
            status, 404,
            "an unknown channel is not an invalid request: {body}"
        );
    }
    for _ in 0..3 {
        let (status, body) = w.send(reqwest::Method::PUT, &pin, None).await;
        assert_eq!((status, body["code"].clone()), (403, json!(50013)));
    }
    let (status, _) = w
        .send_as("not-the-token", reqwest::Method::GET, &channel, None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(w.control.invalid_requests_in_window(), 4);
    let (status, body) = w.send(reqwest::Method::GET, &channel, None).await;
    assert_eq!(status, 200, "four invalid answers do not block: {body}");
    assert!(!w.control.api_blocked());

    let (status, _) = w.send(reqwest::Method::PUT, &pin, None).await;
    assert_eq!(status, 403);
    assert!(w.control.api_blocked());
    let (status, body) = w.send(reqwest::Method::GET, &channel, None).await;
    assert_eq!(
        status, 429,
        "a valid request is refused while blocked: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You are being blocked from accessing our API")),
        "{body}"
    );
    assert_eq!(w.control.invalid_request_blocks(), 1);
}
