//! A twilight-gateway 0.18 shard against the Discord emulator: READY and GUILD_CREATE,
//! RECONNECT → RESUME (on the session's resume URL) → RESUMED without losing an event, a zombie
//! connection → RESUME, INVALID_SESSION → RESUME or re-IDENTIFY, session expiry and
//! invalidation → re-IDENTIFY, the fatal close codes, and a client's close answered with a close.

use std::time::Duration;

use ticketeer_testkit::discord::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
use ticketeer_testkit::discord::{
    Control, DiscordEmulator, EmulatorConfig, SupportGuild, UserMessage,
};
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, Intents, Session, Shard, ShardId, queue::InMemoryQueue,
};

mod support;
use support::{WAIT, next_where, shard};

fn intents() -> Intents {
    Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT
}

struct World {
    emulator: DiscordEmulator,
    control: Control,
    guild: u64,
    channel: u64,
    user: u64,
}

async fn world(config: EmulatorConfig) -> World {
    let emulator = DiscordEmulator::start(config)
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, VIEW_CHANNEL | SEND_MESSAGES);
    let (guild, channel, user) = (support.guild, support.create_channel, support.alice);
    World {
        emulator,
        control,
        guild,
        channel,
        user,
    }
}

#[tokio::test]
async fn a_shard_reaches_ready_and_receives_its_guild_with_channels_and_roles() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    let Event::Ready(ready) = next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await else {
        unreachable!()
    };
    assert_eq!(ready.user.id.get(), w.control.bot_user_id());
    assert_eq!(ready.guilds.len(), 1);
    let Event::GuildCreate(guild) =
        next_where(&mut shard, |e| matches!(e, Event::GuildCreate(_))).await
    else {
        unreachable!()
    };
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = *guild else {
        panic!("guild should be available");
    };
    assert_eq!(guild.id.get(), w.guild);
    assert!(guild.channels.iter().any(|c| c.id.get() == w.channel));
    assert_eq!(
        guild.roles.len(),
        4,
        "@everyone, the bot's role and the fixture's Staff and Moderators"
    );
    assert!(
        guild
            .members
            .iter()
            .any(|m| m.user.id.get() == w.control.bot_user_id())
    );

    w.control
        .post_message(w.user, w.channel, UserMessage::text("hello"))
        .expect("post");
    let Event::MessageCreate(message) =
        next_where(&mut shard, |e| matches!(e, Event::MessageCreate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(message.content, "hello");
    assert_eq!(
        message.guild_id.map(twilight_model::id::Id::get),
        Some(w.guild)
    );
}

#[tokio::test]
async fn reconnect_resumes_and_replays_every_missed_event_in_order() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    next_where(&mut shard, |e| matches!(e, Event::GuildCreate(_))).await;

    w.control.send_reconnect();
    // Posted while the shard is reconnecting: RESUME must replay these.
    let mut posted = Vec::new();
    for index in 0..20 {
        posted.push(format!("message {index}"));
        w.control
            .post_message(w.user, w.channel, UserMessage::text(&posted[index]))
            .expect("post");
    }
    let mut received = Vec::new();
    let mut resumed = false;
    while received.len() < posted.len() || !resumed {
        match next_where(&mut shard, |e| {
            matches!(e, Event::MessageCreate(_) | Event::Resumed)
        })
        .await
        {
            Event::MessageCreate(message) => received.push(message.content.clone()),
            _ => resumed = true,
        }
    }
    assert_eq!(received, posted);
    assert_eq!(
        w.control.gateway_counts(),
        (1, 1),
        "one IDENTIFY, one RESUME"
    );

    w.control.drop_gateway_connections();
    w.control
        .post_message(w.user, w.channel, UserMessage::text("while dropped"))
        .expect("post");
    let Event::MessageCreate(message) =
        next_where(&mut shard, |e| matches!(e, Event::MessageCreate(_))).await
    else {
        unreachable!()
    };
    assert_eq!(message.content, "while dropped");
    assert_eq!(w.control.gateway_counts(), (1, 2));
    assert_eq!(
        w.control.gateway_resume_faults(),
        (0, 0),
        "both RESUMEs came in on the resume_gateway_url READY gave"
    );
}

/// Waits for a RESUMED and collects the contents of the MESSAGE_CREATEs before and after it until
/// `expected` messages arrived.
async fn messages_across_resume(shard: &mut Shard<InMemoryQueue>, expected: usize) -> Vec<String> {
    let mut received = Vec::new();
    let mut resumed = false;
    while received.len() < expected || !resumed {
        match next_where(shard, |e| {
            matches!(
                e,
                Event::MessageCreate(_) | Event::Resumed | Event::Ready(_)
            )
        })
        .await
        {
            Event::MessageCreate(message) => received.push(message.content.clone()),
            Event::Resumed => resumed = true,
            other => panic!("a new session instead of a resume: {other:?}"),
        }
    }
    received
}

#[tokio::test]
async fn a_zombie_connection_is_closed_by_the_shard_and_resumed_without_losing_events() {
    let w = world(EmulatorConfig {
        heartbeat_interval: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = shard(&w.emulator, intents());
    next_where(&mut shard, |e| matches!(e, Event::GuildCreate(_))).await;
    next_where(&mut shard, |e| matches!(e, Event::GatewayHeartbeatAck)).await;

    // From here the connection delivers nothing, heartbeat ACKs included: only the shard's
    // missing-ACK check can notice, by closing and resuming.
    w.control.zombie_gateway_connections();
    let posted: Vec<String> = (0..5).map(|i| format!("during the zombie {i}")).collect();
    for text in &posted {
        w.control
            .post_message(w.user, w.channel, UserMessage::text(text))
            .expect("post");
    }
    assert_eq!(
        messages_across_resume(&mut shard, posted.len()).await,
        posted
    );
    assert_eq!(
        w.control.gateway_counts(),
        (1, 1),
        "one IDENTIFY, one RESUME"
    );
    assert_eq!(w.control.gateway_resume_faults(), (0, 0));
}

#[tokio::test]
async fn invalid_session_true_makes_the_shard_resume_its_session() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    next_where(&mut shard, |e| matches!(e, Event::GuildCreate(_))).await;
    w.control.send_invalid_session(true);
    w.control
        .post_message(
            w.user,
            w.channel,
            UserMessage::text("after the invalid session"),
        )
        .expect("post");
    assert_eq!(
        messages_across_resume(&mut shard, 1).await,
        vec!["after the invalid session".to_owned()]
    );
    assert_eq!(w.control.gateway_counts(), (1, 1));
}

#[tokio::test]
async fn an_invalidated_session_is_refused_on_resume_and_the_shard_identifies_anew() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    let Event::Ready(first) = next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await else {
        unreachable!()
    };
    w.control.invalidate_gateway_sessions();
    assert!(w.control.gateway_sessions().iter().all(|s| !s.resumable));
    w.control.drop_gateway_connections();
    let Event::Ready(second) = next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await
    else {
        unreachable!()
    };
    assert_ne!(first.session_id, second.session_id);
    assert_eq!(
        w.control.gateway_counts(),
        (2, 0),
        "two IDENTIFYs, no RESUME"
    );
    assert_eq!(w.control.gateway_resume_faults().0, 1, "one RESUME refused");
}

#[tokio::test]
async fn a_session_disconnected_past_the_resume_window_is_refused_and_its_events_are_not_replayed()
{
    let window = Duration::from_millis(200);
    let w = world(EmulatorConfig {
        session_resume_window: window,
        ..EmulatorConfig::default()
    })
    .await;
    let mut first = shard(&w.emulator, intents());
    next_where(&mut first, |e| matches!(e, Event::GuildCreate(_))).await;
    let session = first.session().cloned().expect("a session after READY");
    let resume_url = first
        .resume_url()
        .expect("READY gave a resume URL")
        .to_owned();
    // The client goes away without a close frame (a crash, a network failure): the session stays.
    drop(first);
    w.control
        .wait_for(WAIT, |c| {
            c.gateway_sessions()
                .iter()
                .all(|s| !s.connected)
                .then_some(())
        })
        .await
        .expect("the emulator sees the session disconnected");
    w.control
        .post_message(w.user, w.channel, UserMessage::text("while away"))
        .expect("post");
    // Let the window pass: the cause of the refusal, not the proof of it.
    tokio::time::sleep(window * 2).await;

    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ConfigBuilder::new(w.emulator.token().to_owned(), intents())
        .proxy_url(w.emulator.gateway_url())
        .resume_url(resume_url)
        .session(Session::new(session.sequence(), session.id().to_owned()))
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .build();
    let mut second = Shard::with_config(ShardId::ONE, config);
    let Event::Ready(ready) = next_where(&mut second, |e| {
        matches!(
            e,
            Event::Ready(_) | Event::Resumed | Event::MessageCreate(_)
        )
    })
    .await
    else {
        panic!("the expired session was resumed or replayed");
    };
    assert_ne!(ready.session_id, session.id());
    assert_eq!(w.control.gateway_counts(), (2, 0));
    assert_eq!(w.control.gateway_resume_faults().0, 1);
}

#[tokio::test]
async fn invalid_session_false_makes_the_shard_identify_again() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    let Event::Ready(first) = next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await else {
        unreachable!()
    };
    w.control.send_invalid_session(false);
    let Event::Ready(second) = next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await
    else {
        unreachable!()
    };
    assert_ne!(first.session_id, second.session_id);
    assert_eq!(w.control.gateway_counts().0, 2);
}

#[tokio::test]
async fn every_session_for_the_token_receives_every_dispatch() {
    let w = world(EmulatorConfig::default()).await;
    let mut first = shard(&w.emulator, intents());
    let mut second = shard(&w.emulator, intents());
    next_where(&mut first, |e| matches!(e, Event::GuildCreate(_))).await;
    next_where(&mut second, |e| matches!(e, Event::GuildCreate(_))).await;
    w.control.delete_channel(w.channel).expect("delete by hand");
    for shard in [&mut first, &mut second] {
        let Event::ChannelDelete(deleted) =
            next_where(shard, |e| matches!(e, Event::ChannelDelete(_))).await
        else {
            unreachable!()
        };
        assert_eq!(deleted.id.get(), w.channel);
    }
}

#[tokio::test]
async fn without_the_message_content_intent_content_is_withheld() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, Intents::GUILDS | Intents::GUILD_MESSAGES);
    next_where(&mut shard, |e| matches!(e, Event::GuildCreate(_))).await;
    w.control
        .post_message(w.user, w.channel, UserMessage::text("secret"))
        .expect("post");
    let mention = format!("<@{}> help", w.control.bot_user_id());
    w.control
        .post_message(w.user, w.channel, UserMessage::text(&mention))
        .expect("post");
    let mut contents = Vec::new();
    while contents.len() < 2 {
        if let Event::MessageCreate(message) =
            next_where(&mut shard, |e| matches!(e, Event::MessageCreate(_))).await
        {
            contents.push(message.content.clone());
        }
    }
    assert_eq!(contents, vec![String::new(), mention]);
}

#[tokio::test]
async fn requesting_a_privileged_intent_the_app_lacks_closes_with_4014() {
    let w = world(EmulatorConfig {
        message_content_intent: false,
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = shard(&w.emulator, intents());
    let event = next_where(&mut shard, |e| matches!(e, Event::GatewayClose(_))).await;
    let Event::GatewayClose(Some(CloseFrame { code, .. })) = event else {
        panic!("expected a close frame, got {event:?}");
    };
    assert_eq!(code, 4014);
}

#[tokio::test]
async fn a_wrong_token_closes_with_4004() {
    let w = world(EmulatorConfig::default()).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ConfigBuilder::new("wrong-token".to_owned(), intents())
        .proxy_url(w.emulator.gateway_url())
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    let event = next_where(&mut shard, |e| matches!(e, Event::GatewayClose(_))).await;
    let Event::GatewayClose(Some(CloseFrame { code, .. })) = event else {
        panic!("expected a close frame, got {event:?}");
    };
    assert_eq!(code, 4004);
}

#[tokio::test]
async fn heartbeats_are_acknowledged_and_keep_the_connection_alive() {
    let w = world(EmulatorConfig {
        heartbeat_interval: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = shard(&w.emulator, intents());
    for _ in 0..5 {
        next_where(&mut shard, |e| matches!(e, Event::GatewayHeartbeatAck)).await;
    }
    assert_eq!(
        w.control.gateway_counts(),
        (1, 0),
        "no reconnect was needed"
    );
}

/// A client that closes the connection hears the close back, as WebSocket requires (RFC 6455
/// 5.5.1) and Discord does: a bot shutting down waits for that echo before it exits.
#[tokio::test]
async fn a_close_from_the_client_is_answered_with_a_close_frame() {
    let w = world(EmulatorConfig::default()).await;
    let mut shard = shard(&w.emulator, intents());
    next_where(&mut shard, |e| matches!(e, Event::Ready(_))).await;
    shard.close(CloseFrame::NORMAL);
    let event = next_where(&mut shard, |e| matches!(e, Event::GatewayClose(_))).await;
    let Event::GatewayClose(Some(CloseFrame { code, .. })) = event else {
        panic!("expected the close echoed, got {event:?}");
    };
    assert_eq!(code, 1000);
}
