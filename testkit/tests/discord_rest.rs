//! twilight-http 0.18 round trips against the Discord emulator: the shapes parse, Discord's rules
//! and error codes hold, and twilight waits out a 429 by itself.

mod support;

use std::time::{Duration, Instant};

use support::{client_for, discord_code};
use ticketeer_testkit::discord::permissions::{
    ATTACH_FILES, MANAGE_CHANNELS, MANAGE_MESSAGES, MANAGE_ROLES, PIN_MESSAGES,
    READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL,
};
use ticketeer_testkit::discord::{
    ChannelSpec, Control, DiscordEmulator, EmulatorConfig, FaultSpec, Overwrite, SupportGuild,
    UserMessage,
};
use twilight_http::Client;
use twilight_http::error::ErrorType;
use twilight_model::channel::ChannelType;
use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle, Component};
use twilight_model::channel::permission_overwrite::{PermissionOverwrite, PermissionOverwriteType};
use twilight_model::guild::Permissions;
use twilight_model::id::Id;

const BOT_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | MANAGE_MESSAGES
    | PIN_MESSAGES
    | ATTACH_FILES;

struct World {
    emulator: DiscordEmulator,
    control: Control,
    client: Client,
    guild: u64,
    category: u64,
    panel: u64,
}

async fn world(config: EmulatorConfig) -> World {
    let emulator = DiscordEmulator::start(config)
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, BOT_PERMISSIONS);
    let (guild, category, panel) = (support.guild, support.parent, support.create_channel);
    let client = client_for(&emulator);
    World {
        emulator,
        control,
        client,
        guild,
        category,
        panel,
    }
}

fn close_button_row() -> Component {
    Component::ActionRow(ActionRow {
        id: None,
        components: vec![Component::Button(Button {
            id: None,
            custom_id: Some("ticket:close".to_owned()),
            disabled: false,
            emoji: None,
            label: Some("Close".to_owned()),
            style: ButtonStyle::Danger,
            url: None,
            sku_id: None,
        })],
    })
}

#[tokio::test]
async fn a_ticket_channel_is_created_with_overwrites_and_a_pinned_button_message() {
    let w = world(EmulatorConfig::default()).await;
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let overwrites = [
        PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
            id: Id::new(w.guild),
            kind: PermissionOverwriteType::Role,
        },
        PermissionOverwrite {
            allow: Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
            deny: Permissions::empty(),
            id: Id::new(user),
            kind: PermissionOverwriteType::Member,
        },
        PermissionOverwrite {
            allow: Permissions::VIEW_CHANNEL
                | Permissions::SEND_MESSAGES
                | Permissions::PIN_MESSAGES,
            deny: Permissions::empty(),
            id: Id::new(w.control.bot_user_id()),
            kind: PermissionOverwriteType::Member,
        },
    ];
    let channel = w
        .client
        .create_guild_channel(Id::new(w.guild), "Ticket 0001")
        .kind(ChannelType::GuildText)
        .parent_id(Id::new(w.category))
        .permission_overwrites(&overwrites)
        .topic("Ticket of alice")
        .await
        .expect("create channel")
        .model()
        .await
        .expect("channel parses");
    assert_eq!(channel.name.as_deref(), Some("ticket-0001"));
    assert_eq!(channel.parent_id.map(Id::get), Some(w.category));
    assert_eq!(
        channel.permission_overwrites.as_ref().map(Vec::len),
        Some(3)
    );

    let components = [close_button_row()];
    let message = w
        .client
        .create_message(channel.id)
        .content("Welcome <@1>")
        .components(&components)
        .await
        .expect("create message")
        .model()
        .await
        .expect("message parses");
    assert_eq!(message.components.len(), 1);
    w.client
        .create_pin(channel.id, message.id)
        .await
        .expect("pin");
    let pins = w
        .client
        .pins(channel.id)
        .await
        .expect("pins")
        .model()
        .await
        .expect("pins parse");
    assert_eq!(pins.items.len(), 1);
    assert_eq!(pins.items[0].message.id, message.id);
    assert!(!pins.has_more);

    let stored = w.control.messages(channel.id.get());
    assert_eq!(
        stored.len(),
        2,
        "the message and Discord's 'pinned a message' notice"
    );
    assert_eq!(stored[1].kind, 6);
    assert_eq!(
        w.control.permissions(w.guild, user, Some(channel.id.get())) & VIEW_CHANNEL,
        VIEW_CHANNEL
    );
    let stranger = w.control.create_user("bob");
    w.control
        .add_member(w.guild, stranger, &[])
        .expect("member");
    assert_eq!(
        w.control
            .permissions(w.guild, stranger, Some(channel.id.get())),
        0
    );

    let deleted = w
        .client
        .delete_channel(channel.id)
        .await
        .expect("delete")
        .model()
        .await
        .expect("deleted channel parses");
    assert_eq!(deleted.id, channel.id);
    assert!(w.control.channel(channel.id.get()).is_none());
    drop(w.emulator);
}

#[tokio::test]
async fn a_channel_created_in_a_category_without_overwrites_inherits_the_category() {
    let w = world(EmulatorConfig::default()).await;
    let hidden = Overwrite::role(w.guild, 0, VIEW_CHANNEL);
    let bot = Overwrite::member(w.control.bot_user_id(), VIEW_CHANNEL | MANAGE_CHANNELS, 0);
    w.control
        .set_channel_overwrites(w.category, vec![hidden, bot])
        .expect("overwrites");
    let channel = w
        .client
        .create_guild_channel(Id::new(w.guild), "synced")
        .parent_id(Id::new(w.category))
        .await
        .expect("create")
        .model()
        .await
        .expect("parses");
    let stored = w.control.channel(channel.id.get()).expect("stored");
    assert_eq!(stored.overwrites, vec![hidden, bot]);
}

#[tokio::test]
async fn history_pages_250_messages_newest_first_without_gaps() {
    let w = world(EmulatorConfig::default()).await;
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let mut posted = Vec::new();
    for index in 0..250 {
        posted.push(
            w.control
                .post_message(
                    user,
                    w.panel,
                    UserMessage::text(&format!("message {index}")),
                )
                .expect("post"),
        );
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let request = w.client.channel_messages(Id::new(w.panel));
        let page = match before {
            Some(id) => request.before(id).limit(100).await,
            None => request.limit(100).await,
        }
        .expect("history")
        .models()
        .await
        .expect("messages parse");
        if page.is_empty() {
            break;
        }
        assert!(
            page.windows(2).all(|pair| pair[0].id > pair[1].id),
            "newest first"
        );
        before = page.last().map(|m| m.id);
        seen.extend(page.into_iter().map(|m| (m.id.get(), m.content)));
    }
    assert_eq!(seen.len(), 250);
    seen.reverse();
    assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), posted);
    assert_eq!(seen[0].1, "message 0");

    let after = w
        .client
        .channel_messages(Id::new(w.panel))
        .after(Id::new(posted[9]))
        .limit(5)
        .await
        .expect("after")
        .models()
        .await
        .expect("parse");
    let ids: Vec<u64> = after.iter().map(|m| m.id.get()).collect();
    assert_eq!(
        ids,
        posted[10..15].iter().rev().copied().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_bot_gets_missing_access_for_a_hidden_channel_and_missing_permissions_where_it_may_not_post()
 {
    let w = world(EmulatorConfig::default()).await;
    let hidden = w
        .control
        .create_channel(
            w.guild,
            ChannelSpec::text("staff-only")
                .with_overwrite(Overwrite::role(w.guild, 0, VIEW_CHANNEL))
                .with_overwrite(Overwrite::role(
                    w.control.bot_role(w.guild).expect("bot role"),
                    0,
                    VIEW_CHANNEL,
                )),
        )
        .expect("hidden channel");
    let error = w
        .client
        .create_message(Id::new(hidden))
        .content("hi")
        .await
        .expect_err("hidden channel refuses");
    assert_eq!(discord_code(&error), (403, 50001));

    let read_only = w
        .control
        .create_channel(
            w.guild,
            ChannelSpec::text("announcements").with_overwrite(Overwrite::member(
                w.control.bot_user_id(),
                0,
                SEND_MESSAGES,
            )),
        )
        .expect("read-only channel");
    let error = w
        .client
        .create_message(Id::new(read_only))
        .content("hi")
        .await
        .expect_err("read-only channel refuses");
    assert_eq!(discord_code(&error), (403, 50013));
    assert!(w.control.messages(read_only).is_empty());
}

#[tokio::test]
async fn overwrites_granting_what_the_bot_lacks_are_refused_with_missing_permissions() {
    let w = world(EmulatorConfig::default()).await;
    let overwrites = [PermissionOverwrite {
        allow: Permissions::ADMINISTRATOR,
        deny: Permissions::empty(),
        id: Id::new(w.guild),
        kind: PermissionOverwriteType::Role,
    }];
    let error = w
        .client
        .create_guild_channel(Id::new(w.guild), "ticket")
        .permission_overwrites(&overwrites)
        .await
        .expect_err("refused");
    assert_eq!(discord_code(&error), (403, 50013));
    assert_eq!(
        w.control.channels(w.guild).len(),
        3,
        "the fixture's three channels and no new one"
    );
}

#[tokio::test]
async fn a_full_category_and_a_full_guild_are_refused_with_discords_codes() {
    let w = world(EmulatorConfig {
        max_channels_per_category: 2,
        // The fixture's three channels, `a` and `b` in the category, and `d`.
        max_guild_channels: 6,
        ..EmulatorConfig::default()
    })
    .await;
    for name in ["a", "b"] {
        w.client
            .create_guild_channel(Id::new(w.guild), name)
            .parent_id(Id::new(w.category))
            .await
            .expect("room in the category");
    }
    let error = w
        .client
        .create_guild_channel(Id::new(w.guild), "c")
        .parent_id(Id::new(w.category))
        .await
        .expect_err("category full");
    assert_eq!(discord_code(&error), (400, 50035));
    let ErrorType::Response { body, .. } = error.kind() else {
        panic!("expected a response error");
    };
    let body: serde_json::Value = serde_json::from_slice(body).expect("json body");
    assert_eq!(
        body["errors"]["parent_id"]["_errors"][0]["code"],
        "CHANNEL_PARENT_MAX_CHANNELS"
    );

    // Moving a channel into the full category is refused the same way; within it, it is not.
    let d = w
        .client
        .create_guild_channel(Id::new(w.guild), "d")
        .await
        .expect("the guild's sixth channel")
        .model()
        .await
        .expect("a channel");
    let error = w
        .client
        .update_channel(d.id)
        .parent_id(Some(Id::new(w.category)))
        .await
        .expect_err("no room to move into");
    assert_eq!(discord_code(&error), (400, 50035));
    assert_eq!(
        w.control.channel(d.id.get()).and_then(|c| c.parent_id),
        None
    );
    let error = w
        .client
        .create_guild_channel(Id::new(w.guild), "e")
        .await
        .expect_err("guild full");
    assert_eq!(discord_code(&error), (400, 30013));
}

#[tokio::test]
async fn content_over_2000_characters_is_an_invalid_form_body() {
    let w = world(EmulatorConfig::default()).await;
    // twilight validates client-side, so send the raw request to see Discord's answer.
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/api/v10/channels/{}/messages",
            w.emulator.http_proxy(),
            w.panel
        ))
        .header("Authorization", format!("Bot {}", w.emulator.token()))
        .json(&serde_json::json!({"content": "x".repeat(2001)}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["code"], 50035);
    assert_eq!(
        body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
}

#[tokio::test]
async fn unknown_channels_and_messages_answer_10003_and_10008() {
    let w = world(EmulatorConfig::default()).await;
    let error = w.client.channel(Id::new(1234)).await.expect_err("unknown");
    assert_eq!(discord_code(&error), (404, 10003));
    let error = w
        .client
        .message(Id::new(w.panel), Id::new(5678))
        .await
        .expect_err("unknown");
    assert_eq!(discord_code(&error), (404, 10008));
}

#[tokio::test]
async fn a_user_who_refuses_dms_makes_sending_fail_with_50007() {
    let w = world(EmulatorConfig::default()).await;
    let open = w.control.create_user("open");
    let closed = w.control.create_user("closed");
    for user in [open, closed] {
        w.control.add_member(w.guild, user, &[]).expect("member");
    }
    w.control
        .set_accepts_dms(closed, false)
        .expect("refuse DMs");
    for (user, accepted) in [(open, true), (closed, false)] {
        let dm = w
            .client
            .create_private_channel(Id::new(user))
            .await
            .expect("DM channel opens either way")
            .model()
            .await
            .expect("channel parses");
        assert_eq!(dm.kind, ChannelType::Private);
        let sent = w
            .client
            .create_message(dm.id)
            .content("Your ticket was closed")
            .await;
        match sent {
            Ok(_) => assert!(accepted),
            Err(error) => {
                assert!(!accepted);
                assert_eq!(discord_code(&error), (403, 50007));
            }
        }
    }
    assert_eq!(w.control.dm_messages(open).len(), 1);
    assert!(w.control.dm_messages(closed).is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_401_unauthorized() {
    let w = world(EmulatorConfig::default()).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder()
        .token("wrong".to_owned())
        .proxy(w.emulator.http_proxy(), true)
        .build();
    let error = client
        .channel(Id::new(w.panel))
        .await
        .expect_err("unauthorized");
    assert_eq!(discord_code(&error), (401, 0));
    // twilight remembers the token as invalid and stops sending requests.
    let error = client
        .channel(Id::new(w.panel))
        .await
        .expect_err("unauthorized");
    assert!(
        matches!(error.kind(), ErrorType::Unauthorized),
        "{:?}",
        error.kind()
    );
    assert_eq!(w.control.request_log().len(), 1);
    let log = w.control.request_log();
    assert_eq!(log.last().map(|r| r.status), Some(401));
}

#[tokio::test]
async fn twilight_waits_out_a_429_by_itself() {
    let w = world(EmulatorConfig::default()).await;
    w.control.fail_next(
        FaultSpec::new("POST", "/channels/{channel_id}/messages", 429)
            .retry_after(Duration::from_millis(400)),
    );
    let started = Instant::now();
    w.client
        .create_message(Id::new(w.panel))
        .content("after the wait")
        .await
        .expect("succeeds after waiting");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "twilight waited for the reset"
    );
    let statuses: Vec<u16> = w.control.request_log().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
    assert_eq!(w.control.messages(w.panel).len(), 1);
}

#[tokio::test]
async fn route_buckets_refuse_past_their_budget_with_rate_limit_headers() {
    let config = EmulatorConfig {
        rate_limits: ticketeer_testkit::discord::RateLimitConfig {
            enabled: true,
            default_route: ticketeer_testkit::discord::RouteLimit {
                limit: 2,
                window: Duration::from_secs(30),
            },
            ..Default::default()
        },
        ..EmulatorConfig::default()
    };
    let w = world(config).await;
    let http = reqwest::Client::new();
    let url = format!(
        "http://{}/api/v10/channels/{}",
        w.emulator.http_proxy(),
        w.panel
    );
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = http
            .get(&url)
            .header("Authorization", format!("Bot {}", w.emulator.token()))
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
        assert!(response.headers().contains_key("x-ratelimit-bucket"));
        if response.status().as_u16() == 429 {
            assert_eq!(response.headers()["x-ratelimit-scope"], "user");
            assert!(response.headers().contains_key("retry-after"));
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(body["global"], false);
            assert!(body["retry_after"].as_f64().is_some_and(|s| s > 0.0));
        }
    }
    assert_eq!(statuses, vec![200, 200, 429]);
}

#[tokio::test]
async fn deleting_another_users_message_needs_manage_messages() {
    let w = world(EmulatorConfig::default()).await;
    let user = w.control.create_user("alice");
    w.control.add_member(w.guild, user, &[]).expect("member");
    let message = w
        .control
        .post_message(user, w.panel, UserMessage::text("spam"))
        .expect("post");
    w.control
        .set_member_roles(w.guild, w.control.bot_user_id(), &[])
        .expect("strip the bot's role");
    let error = w
        .client
        .delete_message(Id::new(w.panel), Id::new(message))
        .await
        .expect_err("no MANAGE_MESSAGES");
    assert_eq!(discord_code(&error), (403, 50013));
    assert!(w.control.message(message).is_some());
}
