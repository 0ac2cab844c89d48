//! Private threads in the Discord emulator through twilight-http 0.18: starting one, who sees
//! it (its members, and those who may manage threads in its parent), adding members, archiving,
//! and Discord's refusals, with the shapes twilight parses.

mod support;

use support::{client_for, discord_code};
use ticketeer_testkit::discord::permissions::{
    MANAGE_CHANNELS, MANAGE_MESSAGES, MANAGE_ROLES, MANAGE_THREADS, PIN_MESSAGES,
    READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL,
};
use ticketeer_testkit::discord::{
    ControlError, DiscordEmulator, EmulatorConfig, Overwrite, SupportGuild, UserMessage,
};
use twilight_model::channel::ChannelType;
use twilight_model::channel::thread::AutoArchiveDuration;
use twilight_model::id::Id;

const BOT_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | MANAGE_MESSAGES
    | MANAGE_THREADS
    | PIN_MESSAGES;

#[tokio::test]
async fn a_private_thread_is_seen_by_its_members_and_thread_managers_only() {
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let world = SupportGuild::create(&control, BOT_PERMISSIONS);
    let client = client_for(&emulator);
    // Staff may manage threads in the panel channel, as a thread-mode server grants them.
    control
        .set_channel_overwrites(
            world.create_channel,
            vec![Overwrite::role(world.staff_role, MANAGE_THREADS, 0)],
        )
        .expect("overwrites");

    let thread = client
        .create_thread(
            Id::new(world.create_channel),
            "ticket-1",
            ChannelType::PrivateThread,
        )
        .auto_archive_duration(AutoArchiveDuration::Week)
        .invitable(false)
        .await
        .expect("a private thread")
        .model()
        .await
        .expect("twilight parses the thread");
    assert_eq!(thread.kind, ChannelType::PrivateThread);
    assert_eq!(thread.parent_id.map(Id::get), Some(world.create_channel));
    assert_eq!(thread.name.as_deref(), Some("ticket-1"));
    let metadata = thread.thread_metadata.as_ref().expect("thread metadata");
    assert!(!metadata.archived);
    assert_eq!(metadata.auto_archive_duration, AutoArchiveDuration::Week);
    let thread_id = thread.id.get();

    let sees =
        |user: u64| control.permissions(world.guild, user, Some(thread_id)) & VIEW_CHANNEL != 0;
    assert!(!sees(world.alice), "not a member yet");
    assert!(sees(world.bob), "staff manage threads in the parent");
    assert!(!sees(world.carol));
    assert!(matches!(
        control.post_message(world.alice, thread_id, UserMessage::text("hello?")),
        Err(ControlError::ChannelHidden { .. })
    ));

    client
        .add_thread_member(thread.id, Id::new(world.alice))
        .await
        .expect("alice added");
    assert!(sees(world.alice));
    control
        .post_message(world.alice, thread_id, UserMessage::text("hello"))
        .expect("a member writes in the thread");
    let members = client
        .thread_members(thread.id)
        .await
        .expect("members")
        .models()
        .await
        .expect("twilight parses thread members");
    let mut ids: Vec<u64> = members
        .iter()
        .filter_map(|member| member.user_id.map(Id::get))
        .collect();
    ids.sort_unstable();
    let mut expected = vec![control.bot_user_id(), world.alice];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // A thread is not among the guild's channels and does not count towards its 500.
    let listed = client
        .guild_channels(Id::new(world.guild))
        .await
        .expect("channels")
        .models()
        .await
        .expect("parse");
    assert!(listed.iter().all(|channel| channel.id != thread.id));
    let active = client
        .active_threads(Id::new(world.guild))
        .await
        .expect("active threads")
        .model()
        .await
        .expect("twilight parses the active threads");
    assert_eq!(
        active
            .threads
            .iter()
            .map(|thread| thread.id.get())
            .collect::<Vec<_>>(),
        [thread_id]
    );

    // Archived: no longer active, members cannot be added; a member's message unarchives it.
    client
        .update_thread(thread.id)
        .archived(true)
        .await
        .expect("archived");
    let refused = client
        .add_thread_member(thread.id, Id::new(world.carol))
        .await
        .expect_err("an archived thread takes no members");
    assert_eq!(discord_code(&refused), (400, 50083));
    control
        .post_message(world.alice, thread_id, UserMessage::text("still there?"))
        .expect("a member writes");
    let thread_now = control.channel(thread_id).expect("the thread");
    assert!(!thread_now.thread.expect("a thread").archived);

    client
        .remove_thread_member(thread.id, Id::new(world.alice))
        .await
        .expect("alice removed");
    assert!(!sees(world.alice));

    client
        .delete_channel(thread.id)
        .await
        .expect("the thread is deleted");
    assert!(control.channel(thread_id).is_none());
}

#[tokio::test]
async fn bad_thread_requests_are_refused_as_discord_does() {
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let world = SupportGuild::create(&control, BOT_PERMISSIONS);
    let client = client_for(&emulator);
    let in_category = client
        .create_thread(
            Id::new(world.parent),
            "ticket-2",
            ChannelType::PrivateThread,
        )
        .await
        .expect_err("a category holds no threads");
    assert_eq!(discord_code(&in_category), (400, 50024));
    // twilight validates names client-side, so send the raw requests.
    let raw = |body: serde_json::Value| {
        let url = format!(
            "http://{}/api/v10/channels/{}/threads",
            emulator.http_proxy(),
            world.create_channel
        );
        let token = emulator.token().to_owned();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("Authorization", format!("Bot {token}"))
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            (
                status,
                response.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let (status, body) = raw(serde_json::json!({"name": "", "type": 12})).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(50035)));
    assert_eq!(
        body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_LENGTH"
    );
    let (status, body) = raw(serde_json::json!({"name": "x", "auto_archive_duration": 30})).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(50035)));
    assert_eq!(
        body["errors"]["auto_archive_duration"]["_errors"][0]["code"],
        "BASE_TYPE_CHOICES"
    );

    // Without Manage Threads the bot may start a thread but not delete it.
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let world = SupportGuild::create(&control, BOT_PERMISSIONS & !MANAGE_THREADS);
    let client = client_for(&emulator);
    let thread = client
        .create_thread(
            Id::new(world.create_channel),
            "ticket-3",
            ChannelType::PrivateThread,
        )
        .await
        .expect("a thread")
        .model()
        .await
        .expect("parse");
    let refused = client
        .delete_channel(thread.id)
        .await
        .expect_err("deleting a thread needs Manage Threads");
    assert_eq!(discord_code(&refused), (403, 50013));
    client
        .add_thread_member(thread.id, Id::new(world.alice))
        .await
        .expect("anyone who writes in an invitable thread adds people");
    let invite_only = client
        .create_thread(
            Id::new(world.create_channel),
            "ticket-4",
            ChannelType::PrivateThread,
        )
        .invitable(false)
        .await
        .expect("a thread")
        .model()
        .await
        .expect("parse");
    let refused = client
        .add_thread_member(invite_only.id, Id::new(world.alice))
        .await
        .expect_err("only moderators add people to an invite-only thread");
    assert_eq!(discord_code(&refused), (403, 50013));
}
