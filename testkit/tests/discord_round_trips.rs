//! The rest of the endpoints the bot uses, each a twilight round trip, and the guild dispatches a
//! twilight shard receives when things happen: proof that every shape parses as Discord's does.

use ticketeer_testkit::discord::permissions::{
    MANAGE_CHANNELS, MANAGE_MESSAGES, PIN_MESSAGES, READ_MESSAGE_HISTORY, SEND_MESSAGES,
    VIEW_CHANNEL,
};
use ticketeer_testkit::discord::{
    Control, DiscordEmulator, EmulatorConfig, SupportGuild, UserMessage,
};
use twilight_gateway::{Event, Intents, Shard, queue::InMemoryQueue};
use twilight_http::Client;
use twilight_model::id::Id;

mod support;
use support::{next_where, shard};

const BOT_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | MANAGE_CHANNELS
    | MANAGE_MESSAGES
    | PIN_MESSAGES;

struct World {
    emulator: DiscordEmulator,
    control: Control,
    client: Client,
    guild: u64,
    channel: u64,
    user: u64,
}

async fn world() -> World {
    // twilight enables rustls without choosing a crypto provider; pick ring, as the bot does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, BOT_PERMISSIONS);
    let (guild, channel, user) = (support.guild, support.create_channel, support.alice);
    let client = Client::builder()
        .token(emulator.token().to_owned())
        .proxy(emulator.http_proxy(), true)
        .build();
    World {
        emulator,
        control,
        client,
        guild,
        channel,
        user,
    }
}

async fn connected_shard(w: &World) -> Shard<InMemoryQueue> {
    let mut shard = shard(
        &w.emulator,
        Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT,
    );
    next_where(&mut shard, |event| matches!(event, Event::GuildCreate(_))).await;
    shard
}

#[tokio::test]
async fn roles_and_members_read_back_as_twilight_models() {
    let w = world().await;
    let staff = w
        .control
        .create_role(w.guild, "Staff", VIEW_CHANNEL | MANAGE_CHANNELS)
        .expect("role");
    w.control
        .set_member_roles(w.guild, w.user, &[staff])
        .expect("roles");

    let roles = w
        .client
        .roles(Id::new(w.guild))
        .await
        .expect("roles answer")
        .models()
        .await
        .expect("roles parse");
    let everyone = roles
        .iter()
        .find(|role| role.id.get() == w.guild)
        .expect("@everyone has the guild's id");
    assert_eq!(everyone.name, "@everyone");
    let staff_role = roles
        .iter()
        .find(|role| role.id.get() == staff)
        .expect("the new role is listed");
    assert_eq!(staff_role.name, "Staff");
    assert_eq!(
        staff_role.permissions.bits(),
        VIEW_CHANNEL | MANAGE_CHANNELS
    );

    let member = w
        .client
        .guild_member(Id::new(w.guild), Id::new(w.user))
        .await
        .expect("member answers")
        .model()
        .await
        .expect("member parses");
    assert_eq!(member.user.id.get(), w.user);
    assert_eq!(member.user.name, "alice");
    assert!(member.roles.iter().any(|role| role.get() == staff));

    let members = w
        .client
        .guild_members(Id::new(w.guild))
        .limit(100)
        .await
        .expect("member list answers")
        .models()
        .await
        .expect("member list parses");
    assert!(members.iter().any(|member| member.user.id.get() == w.user));
    assert!(
        members
            .iter()
            .any(|member| member.user.id == w.emulator.control().bot_user_id())
    );
}

#[tokio::test]
async fn channels_are_listed_fetched_and_messages_edited_fetched_and_deleted() {
    let w = world().await;
    let channels = w
        .client
        .guild_channels(Id::new(w.guild))
        .await
        .expect("channel list answers")
        .models()
        .await
        .expect("channel list parses");
    assert!(channels.iter().any(|channel| channel.id.get() == w.channel));
    let channel = w
        .client
        .channel(Id::new(w.channel))
        .await
        .expect("channel answers")
        .model()
        .await
        .expect("channel parses");
    assert_eq!(channel.name.as_deref(), Some("open-a-ticket"));

    let posted = w
        .client
        .create_message(Id::new(w.channel))
        .content("first draft")
        .await
        .expect("posted")
        .model()
        .await
        .expect("message parses");
    let edited = w
        .client
        .update_message(posted.channel_id, posted.id)
        .content(Some("final text"))
        .await
        .expect("edit answers")
        .model()
        .await
        .expect("edited message parses");
    assert_eq!(edited.content, "final text");
    assert!(edited.edited_timestamp.is_some(), "an edit is timestamped");

    let fetched = w
        .client
        .message(posted.channel_id, posted.id)
        .await
        .expect("get answers")
        .model()
        .await
        .expect("fetched message parses");
    assert_eq!(fetched.content, "final text");

    w.client
        .delete_message(posted.channel_id, posted.id)
        .await
        .expect("delete answers");
    assert!(w.control.message(posted.id.get()).is_none());
}

#[tokio::test]
async fn history_around_a_message_is_centred_on_it_and_newest_first() {
    let w = world().await;
    let mut ids = Vec::new();
    for n in 0..9 {
        ids.push(
            w.control
                .post_message(
                    w.user,
                    w.channel,
                    UserMessage::text(&format!("message {n}")),
                )
                .expect("posted"),
        );
    }
    let around = w
        .client
        .channel_messages(Id::new(w.channel))
        .around(Id::new(ids[4]))
        .limit(5)
        .await
        .expect("history answers")
        .models()
        .await
        .expect("history parses");
    let got: Vec<u64> = around.iter().map(|message| message.id.get()).collect();
    let mut expected = ids[2..7].to_vec();
    expected.reverse();
    assert_eq!(
        got, expected,
        "the five messages around the fifth, newest first"
    );
}

#[tokio::test]
async fn a_shard_sees_messages_posted_edited_and_deleted_and_channels_come_and_go() {
    let w = world().await;
    let mut shard = connected_shard(&w).await;

    let message = w
        .control
        .post_message(w.user, w.channel, UserMessage::text("hello"))
        .expect("posted");
    let Event::MessageCreate(created) =
        next_where(&mut shard, |e| matches!(e, Event::MessageCreate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(created.id.get(), message);
    assert_eq!(created.author.id.get(), w.user);

    w.control
        .edit_message(message, "hello, edited")
        .expect("edited");
    let Event::MessageUpdate(updated) =
        next_where(&mut shard, |e| matches!(e, Event::MessageUpdate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(updated.id.get(), message);
    assert_eq!(updated.content, "hello, edited");

    w.control.delete_message(message).expect("deleted");
    let Event::MessageDelete(deleted) =
        next_where(&mut shard, |e| matches!(e, Event::MessageDelete(_))).await
    else {
        unreachable!()
    };
    assert_eq!(deleted.id.get(), message);
    assert_eq!(deleted.channel_id.get(), w.channel);

    let created_by_bot = w
        .client
        .create_guild_channel(Id::new(w.guild), "ticket-0001")
        .await
        .expect("channel created")
        .model()
        .await
        .expect("channel parses");
    let Event::ChannelCreate(announced) =
        next_where(&mut shard, |e| matches!(e, Event::ChannelCreate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(announced.id, created_by_bot.id);

    w.control
        .delete_channel(created_by_bot.id.get())
        .expect("deleted by hand");
    let Event::ChannelDelete(gone) =
        next_where(&mut shard, |e| matches!(e, Event::ChannelDelete(_))).await
    else {
        unreachable!()
    };
    assert_eq!(gone.id, created_by_bot.id);
}

#[tokio::test]
async fn pinning_dispatches_channel_pins_update_and_a_pin_system_message() {
    let w = world().await;
    let mut shard = connected_shard(&w).await;
    let posted = w
        .client
        .create_message(Id::new(w.channel))
        .content("Welcome! Staff will be with you shortly.")
        .await
        .expect("posted")
        .model()
        .await
        .expect("message parses");
    w.client
        .create_pin(posted.channel_id, posted.id)
        .await
        .expect("pinned");

    let Event::ChannelPinsUpdate(pins) =
        next_where(&mut shard, |e| matches!(e, Event::ChannelPinsUpdate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(pins.channel_id, posted.channel_id);
    assert!(pins.last_pin_timestamp.is_some());
    assert_eq!(
        w.control
            .pins(w.channel)
            .iter()
            .map(|message| message.id)
            .collect::<Vec<_>>(),
        vec![posted.id.get()]
    );
    let Event::MessageCreate(notice) =
        next_where(&mut shard, |e| matches!(e, Event::MessageCreate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        notice.kind,
        twilight_model::channel::message::MessageType::ChannelMessagePinned,
        "Discord announces a pin with a system message"
    );
}
