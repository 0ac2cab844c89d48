//! Button clicks against the Discord emulator, answered with twilight: the acknowledgement
//! deadline, double acknowledgement (40060), two sessions of one token (replicas) both receiving
//! a click, deferred responses, edits and follow-ups.

mod support;

use std::time::Duration;

use support::{client_for, discord_code, next_where, shard};
use ticketeer_testkit::discord::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
use ticketeer_testkit::discord::{
    Control, DiscordEmulator, EmulatorConfig, InteractionStatus, SupportGuild, UserMessage,
};
use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
    queue::InMemoryQueue,
};
use twilight_http::Client;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;

const WAIT: Duration = Duration::from_secs(10);

struct World {
    emulator: DiscordEmulator,
    control: Control,
    client: Client,
    shard: Shard<InMemoryQueue>,
    user: u64,
    panel_message: u64,
}

async fn world(config: EmulatorConfig) -> World {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = DiscordEmulator::start(config)
        .await
        .expect("emulator starts");
    let control = emulator.control();
    let support = SupportGuild::create(&control, VIEW_CHANNEL | SEND_MESSAGES);
    let (panel, user) = (support.create_channel, support.alice);
    let client = client_for(&emulator);
    let panel_message = client
        .create_message(Id::new(panel))
        .content("Need help? Open a ticket.")
        .components(&[twilight_model::channel::message::Component::ActionRow(
            twilight_model::channel::message::component::ActionRow {
                id: None,
                components: vec![twilight_model::channel::message::Component::Button(
                    twilight_model::channel::message::component::Button {
                        id: None,
                        custom_id: Some("ticket:open:support".to_owned()),
                        disabled: false,
                        emoji: None,
                        label: Some("Open ticket".to_owned()),
                        style: twilight_model::channel::message::component::ButtonStyle::Primary,
                        url: None,
                        sku_id: None,
                    },
                )],
            },
        )])
        .await
        .expect("panel posted")
        .model()
        .await
        .expect("panel parses")
        .id
        .get();
    let config = ConfigBuilder::new(
        emulator.token().to_owned(),
        Intents::GUILDS | Intents::GUILD_MESSAGES,
    )
    .proxy_url(emulator.gateway_url())
    .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
    .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    tokio::time::timeout(WAIT, async {
        while let Some(event) = shard.next_event(EventTypeFlags::all()).await {
            if matches!(event, Ok(Event::GuildCreate(_))) {
                break;
            }
        }
    })
    .await
    .expect("shard ready");
    World {
        emulator,
        control,
        client,
        shard,
        user,
        panel_message,
    }
}

/// Clicks the panel's button as the user, in the background: the click resolves once the test
/// acknowledges it (or the deadline passes).
fn start_click(
    w: &World,
) -> tokio::task::JoinHandle<
    Result<
        ticketeer_testkit::discord::InteractionOutcome,
        ticketeer_testkit::discord::ControlError,
    >,
> {
    let control = w.control.clone();
    let (user, message) = (w.user, w.panel_message);
    tokio::spawn(async move {
        control
            .click_button(user, message, "ticket:open:support")
            .await
    })
}

async fn next_interaction(shard: &mut Shard<InMemoryQueue>) -> Interaction {
    tokio::time::timeout(WAIT, async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(Event::InteractionCreate(interaction))) => return interaction.0,
                Some(_) => {}
                None => panic!("shard stopped"),
            }
        }
    })
    .await
    .expect("INTERACTION_CREATE arrives")
}

fn deferred_ephemeral() -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::DeferredChannelMessageWithSource,
        data: Some(InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        }),
    }
}

#[tokio::test]
async fn a_click_carries_the_member_with_permissions_and_the_clicked_message() {
    let mut w = world(EmulatorConfig::default()).await;
    let click = start_click(&w);
    let interaction = next_interaction(&mut w.shard).await;
    let member = interaction
        .member
        .as_ref()
        .expect("guild clicks carry the member");
    assert_eq!(member.user.as_ref().map(|u| u.id.get()), Some(w.user));
    assert!(
        member
            .permissions
            .is_some_and(|p| p.contains(twilight_model::guild::Permissions::VIEW_CHANNEL))
    );
    assert_eq!(
        interaction.message.as_ref().map(|m| m.id.get()),
        Some(w.panel_message)
    );
    assert!(interaction.app_permissions.is_some());
    let Some(InteractionData::MessageComponent(data)) = &interaction.data else {
        panic!("component data expected");
    };
    assert_eq!(data.custom_id, "ticket:open:support");
    w.client
        .interaction(interaction.application_id)
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect("acknowledged");
    let outcome = click.await.expect("click task").expect("click");
    assert_eq!(outcome.status, InteractionStatus::Acknowledged);
    assert_eq!(outcome.callback_type, Some(5));
    assert!(outcome.is_ephemeral());
    assert!(
        outcome
            .ack_latency
            .is_some_and(|latency| latency < Duration::from_secs(3))
    );
    drop(w.emulator);
}

#[tokio::test]
async fn a_click_not_acknowledged_in_time_is_recorded_as_failed() {
    let mut w = world(EmulatorConfig {
        ack_deadline: Duration::from_millis(300),
        ..EmulatorConfig::default()
    })
    .await;
    let click = start_click(&w);
    let interaction = next_interaction(&mut w.shard).await;
    let outcome = click.await.expect("click task").expect("click");
    assert!(outcome.failed(), "the user sees 'This interaction failed'");
    assert_eq!(outcome.callback_type, None);
    let late = w
        .client
        .interaction(interaction.application_id)
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect_err("too late");
    assert_eq!(discord_code(&late).1, 10062);
    assert_eq!(
        w.control
            .interaction(outcome.interaction_id)
            .map(|i| i.status),
        Some(InteractionStatus::Failed)
    );
}

#[tokio::test]
async fn the_default_deadline_is_discords_three_seconds() {
    let mut w = world(EmulatorConfig::default()).await;
    // From here on tokio's clock, which the emulator's deadline runs on, is paused: the runtime
    // jumps to the next timer whenever it has nothing else to do, so the test proves the window
    // without waiting it out. (Connecting the shard above resolves its address on a blocking
    // thread, which a paused clock would not wait for.)
    tokio::time::pause();
    let (user, message) = (w.user, w.panel_message);

    // Acknowledged after two seconds: inside Discord's window.
    let control = w.control.clone();
    let click = tokio::spawn(async move {
        control
            .click_button(user, message, "ticket:open:support")
            .await
    });
    let interaction = next_interaction(&mut w.shard).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.client
        .interaction(interaction.application_id)
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect("an acknowledgement after 2 s is accepted");
    let outcome = click.await.expect("click task").expect("click");
    assert!(!outcome.failed());

    // Never acknowledged: the click fails, and not before three seconds have passed.
    let started = tokio::time::Instant::now();
    let control = w.control.clone();
    let click = tokio::spawn(async move {
        control
            .click_button(user, message, "ticket:open:support")
            .await
    });
    next_interaction(&mut w.shard).await;
    let outcome = click.await.expect("click task").expect("click");
    assert!(outcome.failed(), "the user sees 'This interaction failed'");
    // The paused clock moves only from timer to timer, so the failure lands on the deadline.
    let failed_after = started.elapsed();
    assert!(
        failed_after >= Duration::from_secs(3) && failed_after < Duration::from_secs(4),
        "failed when the 3 s window closed, not before or long after (after {failed_after:?})"
    );
}

/// Discord routes a guild's events to every session whose `[shard_id, num_shards]` the guild maps
/// to, and "you can establish multiple sessions with the same `[shard_id, num_shards]`" (Discord
/// Docs, Gateway: "Sharding"): two replicas of one bot on shard [0, 1] both get each click, and
/// the one whose acknowledgement comes second is refused with 400 / 40060, which is how bots
/// running twice learn they raced.
#[tokio::test]
async fn two_sessions_of_one_token_both_receive_a_click_and_the_second_answer_gets_40060() {
    let mut w = world(EmulatorConfig::default()).await;
    let mut replica = shard(&w.emulator, Intents::GUILDS | Intents::GUILD_MESSAGES);
    next_where(&mut replica, |e| matches!(e, Event::GuildCreate(_))).await;
    let click = start_click(&w);
    let seen_first = next_interaction(&mut w.shard).await;
    let seen_second = next_interaction(&mut replica).await;
    assert_eq!(seen_first.id, seen_second.id, "one click, one interaction");
    assert_eq!(seen_first.token, seen_second.token);
    let responder = w.client.interaction(seen_first.application_id);
    responder
        .create_response(seen_second.id, &seen_second.token, &deferred_ephemeral())
        .await
        .expect("the first acknowledgement, from either session, is taken");
    let late = responder
        .create_response(seen_first.id, &seen_first.token, &deferred_ephemeral())
        .await
        .expect_err("the other replica's acknowledgement");
    assert_eq!(discord_code(&late), (400, 40060));
    let outcome = click.await.expect("click task").expect("click");
    assert!(!outcome.failed(), "the click was acknowledged once");
}

#[tokio::test]
async fn a_double_acknowledgement_gets_40060_and_the_deferred_reply_is_completed_by_an_edit() {
    let mut w = world(EmulatorConfig::default()).await;
    let click = start_click(&w);
    let interaction = next_interaction(&mut w.shard).await;
    let responder = w.client.interaction(interaction.application_id);
    responder
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect("first acknowledgement");
    let second = responder
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect_err("second acknowledgement");
    assert_eq!(discord_code(&second).1, 40060);
    let outcome = click.await.expect("click task").expect("click");

    responder
        .update_response(&interaction.token)
        .content(Some("Your ticket: <#1>"))
        .await
        .expect("edit original");
    responder
        .create_followup(&interaction.token)
        .content("One more thing")
        .flags(MessageFlags::EPHEMERAL)
        .await
        .expect("follow-up");
    let view = w
        .control
        .interaction(outcome.interaction_id)
        .expect("interaction recorded");
    let original = view.original_response.expect("original response");
    assert_eq!(original.content, "Your ticket: <#1>");
    assert!(original.is_ephemeral());
    assert_eq!(original.flags & 128, 0, "no longer thinking");
    assert_eq!(view.followups.len(), 1);
    assert!(
        w.control
            .messages(original.channel_id)
            .iter()
            .all(|m| m.id != original.id),
        "ephemeral replies are not in history"
    );
}

#[tokio::test]
async fn an_update_message_response_edits_the_clicked_message() {
    let mut w = world(EmulatorConfig::default()).await;
    let click = start_click(&w);
    let interaction = next_interaction(&mut w.shard).await;
    let response = InteractionResponse {
        kind: InteractionResponseType::UpdateMessage,
        data: Some(InteractionResponseData {
            content: Some("Tickets are paused".to_owned()),
            components: Some(Vec::new()),
            ..InteractionResponseData::default()
        }),
    };
    w.client
        .interaction(interaction.application_id)
        .create_response(interaction.id, &interaction.token, &response)
        .await
        .expect("acknowledged");
    let outcome = click.await.expect("click task").expect("click");
    assert_eq!(outcome.callback_type, Some(7));
    let edited = w.control.message(w.panel_message).expect("panel");
    assert_eq!(edited.content, "Tickets are paused");
    assert!(edited.components.is_empty());
    assert!(edited.edited_at_ms.is_some());
}

#[tokio::test]
async fn clicking_a_button_that_is_not_on_the_message_is_refused() {
    let w = world(EmulatorConfig::default()).await;
    let posted = w
        .control
        .post_message(
            w.user,
            w.control
                .message(w.panel_message)
                .expect("panel")
                .channel_id,
            UserMessage::text("no buttons"),
        )
        .expect("post");
    let refused = w
        .control
        .click_button(w.user, posted, "ticket:open:support")
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_follow_up_without_allowed_mentions_parses_user_mentions_only() {
    let mut w = world(EmulatorConfig::default()).await;
    let click = start_click(&w);
    let interaction = next_interaction(&mut w.shard).await;
    let guild = interaction.guild_id.expect("a guild click").get();
    let staff = w.control.create_role(guild, "Staff", 0).expect("role");
    w.control
        .set_role_mentionable(guild, staff, true)
        .expect("mentionable");
    let responder = w.client.interaction(interaction.application_id);
    responder
        .create_response(interaction.id, &interaction.token, &deferred_ephemeral())
        .await
        .expect("acknowledged");
    click.await.expect("click task").expect("click");
    let followup = responder
        .create_followup(&interaction.token)
        .content(&format!("<@{}> <@&{staff}> @everyone", w.user))
        .await
        .expect("follow-up")
        .model()
        .await
        .expect("follow-up parses");
    let stored = w.control.message(followup.id.get()).expect("stored");
    assert_eq!(stored.mentions, [w.user], "user mentions are parsed");
    assert!(
        stored.mention_roles.is_empty() && stored.notified_roles.is_empty(),
        "a webhook parses no role mention unless allowed_mentions says so"
    );
    assert!(!stored.mention_everyone);
}
