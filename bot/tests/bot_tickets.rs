//! Behaviours 2, 3, 4, 7 (counting) and 9: opening tickets, one ticket per user, who may close,
//! counted messages, stale buttons and Discord errors — all through the real bot.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use support::database_outage::DatabaseRelay;
use support::{Harness, SUPPORT, WAIT, channel_link, eventually};
use ticketeer_bot::store::{self, TicketState};
use ticketeer_testkit::discord::permissions::{
    ATTACH_FILES, EMBED_LINKS, MANAGE_CHANNELS, PIN_MESSAGES, READ_MESSAGE_HISTORY, SEND_MESSAGES,
    VIEW_CHANNEL,
};
use ticketeer_testkit::discord::{
    ChannelSpec, EmulatorConfig, FaultSpec, InteractionStatus, Overwrite, OverwriteKind,
    UserMessage,
};

const MEMBER_ALLOW: u64 =
    VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ATTACH_FILES | EMBED_LINKS;

async fn ticket_count(harness: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&harness.pool)
        .await
        .expect("count tickets")
}

#[tokio::test]
async fn a_click_opens_a_private_ticket_channel_with_a_pinned_welcome() {
    // Discord allows 3 s; the bot must answer well inside, so give it a third of that.
    let harness = Harness::start_with(
        EmulatorConfig {
            ack_deadline: Duration::from_secs(1),
            ..support::emulator_config()
        },
        |_| {},
    )
    .await;
    let world = &harness.world;
    let outcome = harness.click_open(world.alice).await;
    assert_eq!(outcome.status, InteractionStatus::Acknowledged);
    assert_eq!(outcome.callback_type, Some(5), "deferred");
    assert!(outcome.is_ephemeral());

    let answer = harness.answer(&outcome).await;
    let channel_id = channel_link(&answer).expect("the answer links the channel");
    assert!(answer.starts_with("Your ticket is open"), "{answer}");

    let channel = harness
        .control
        .channel(channel_id)
        .expect("the channel exists");
    assert_eq!(channel.parent_id, Some(world.parent));
    let ticket = harness.ticket_of(channel_id).await;
    assert_eq!(ticket.state, TicketState::Open);
    assert_eq!(ticket.user_id.get(), world.alice);
    assert_eq!(channel.name, Some(format!("ticket-{:04}", ticket.id)));
    let overwrite = |id: u64| {
        channel
            .overwrites
            .iter()
            .find(|overwrite| overwrite.id == id)
            .copied()
            .unwrap_or_else(|| panic!("an overwrite for {id}"))
    };
    let everyone = overwrite(world.guild);
    assert_eq!(everyone.kind, OverwriteKind::Role);
    assert_eq!(everyone.deny & VIEW_CHANNEL, VIEW_CHANNEL);
    assert_eq!(overwrite(world.alice).kind, OverwriteKind::Member);
    assert_eq!(overwrite(world.alice).allow, MEMBER_ALLOW);
    assert_eq!(overwrite(world.staff_role).allow, MEMBER_ALLOW);
    let bot = overwrite(harness.control.bot_user_id());
    assert_eq!(
        bot.allow & (MANAGE_CHANNELS | PIN_MESSAGES | MEMBER_ALLOW),
        MANAGE_CHANNELS | PIN_MESSAGES | MEMBER_ALLOW
    );
    // What Discord computes from those overwrites: the creator and staff see it, others do not.
    let sees = |user: u64| {
        harness
            .control
            .permissions(world.guild, user, Some(channel_id))
            & VIEW_CHANNEL
            != 0
    };
    assert!(sees(world.alice) && sees(world.bob));
    assert!(
        !sees(world.carol),
        "a member without the role cannot see the ticket"
    );

    let pins = harness
        .control
        .wait_for(WAIT, |control| {
            let pins = control.pins(channel_id);
            (!pins.is_empty()).then_some(pins)
        })
        .await
        .expect("the welcome is pinned");
    let welcome = &pins[0];
    assert!(welcome.content.contains(&format!("<@{}>", world.alice)));
    assert!(
        welcome
            .content
            .contains(&format!("<@&{}>", world.staff_role))
    );
    assert!(
        welcome
            .content
            .contains("Someone will be with you shortly.")
    );
    assert_eq!(
        welcome.mentions,
        vec![world.alice],
        "exactly the creator is pinged"
    );
    assert_eq!(welcome.mention_roles, vec![world.staff_role]);
    assert_eq!(
        welcome.button_custom_ids(),
        vec![format!("ticketeer:close:{}", ticket.id)]
    );
}

#[tokio::test]
async fn a_second_click_by_the_same_user_links_the_open_ticket() {
    let harness = Harness::start().await;
    let first = harness.open_ticket(harness.world.alice).await;
    let outcome = harness.click_open(harness.world.alice).await;
    let answer = harness.answer(&outcome).await;
    assert!(
        answer.starts_with("You already have an open ticket"),
        "{answer}"
    );
    assert_eq!(channel_link(&answer), Some(first));
    assert_eq!(ticket_count(&harness).await, 1);
}

#[tokio::test]
async fn ten_concurrent_clicks_make_one_ticket_and_all_link_to_it() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    let alice = harness.world.alice;
    let clicks = (0..10).map(|_| harness.click(alice, panel.id, "ticketeer:open:support"));
    let outcomes = join_all(clicks).await;
    let mut links = Vec::new();
    for outcome in &outcomes {
        assert!(!outcome.failed(), "every click is acknowledged");
        let answer = harness.answer(outcome).await;
        links.push(channel_link(&answer).unwrap_or_else(|| panic!("a link in {answer}")));
    }
    links.dedup();
    assert_eq!(links.len(), 1, "all ten answers link the same channel");
    assert_eq!(ticket_count(&harness).await, 1);
    let ticket_channels = harness
        .control
        .channels(harness.world.guild)
        .into_iter()
        .filter(|channel| channel.parent_id == Some(harness.world.parent))
        .count();
    assert_eq!(ticket_channels, 1, "one channel on Discord");
}

/// Opens a ticket for alice and lets `viewer` see it (as staff adding a member would), so they can
/// click its close button whatever rights they hold. Returns (channel, welcome message, close id).
#[tokio::test]
async fn a_hundred_simultaneous_clicks_over_a_100_ms_round_trip_are_all_acknowledged() {
    let harness = Harness::start().await;
    let panel = harness.panel(SUPPORT).await;
    let users = harness.new_members("user", 100);
    // Discord answers over a network: every REST call, the acknowledgement too, takes 100 ms.
    harness.control.set_rest_latency(Duration::from_millis(100));
    let clicks = users
        .iter()
        .map(|user| harness.click(*user, panel.id, "ticketeer:open:support"));
    let outcomes = join_all(clicks).await;
    let failed = outcomes.iter().filter(|outcome| outcome.failed()).count();
    assert_eq!(
        failed, 0,
        "every click is acknowledged inside Discord's 3 seconds"
    );
    harness.control.set_rest_latency(Duration::ZERO);
}

#[tokio::test]
async fn a_click_during_a_database_outage_is_acknowledged_and_told_to_try_again() {
    let mut harness = Harness::start().await;
    let relay = DatabaseRelay::start(harness.database.url()).await;
    let relayed = relay.url(harness.database.url());
    harness
        .restart_with(|_| {}, |settings| settings.database_url = relayed.into())
        .await;
    let panel = harness.panel(SUPPORT).await;
    relay.cut();
    let outcome = harness
        .click(harness.world.alice, panel.id, "ticketeer:open:support")
        .await;
    assert!(
        !outcome.failed(),
        "the acknowledgement does not wait on the database"
    );
    let answer = harness.answer(&outcome).await;
    assert!(answer.contains("database"), "{answer}");
    assert!(answer.contains("try again"), "{answer}");
}

/// A ticket row for `user` left `opening` five minutes ago, as a crash between the row and the
/// channel leaves it.
async fn stale_opening(harness: &Harness, user: u64) -> i64 {
    let to_db = |id: u64| i64::try_from(id).expect("a snowflake fits");
    sqlx::query_scalar(
        "INSERT INTO tickets (application_id, guild_id, category_key, user_id, \
                              open_interaction_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, now() - interval '5 minutes') RETURNING id",
    )
    .bind(to_db(harness.control.application_id()))
    .bind(to_db(harness.world.guild))
    .bind(SUPPORT)
    .bind(to_db(user))
    .bind(to_db(user) + 1)
    .fetch_one(&harness.pool)
    .await
    .expect("insert a stale opening")
}

#[tokio::test]
async fn a_ticket_left_opening_without_a_channel_is_freed_by_the_next_click() {
    let harness = Harness::start().await;
    let stale = stale_opening(&harness, harness.world.alice).await;
    let channel = harness.open_ticket(harness.world.alice).await;
    let ticket = harness.ticket_of(channel).await;
    assert_ne!(ticket.id, stale, "a new ticket replaces the half-made one");
    assert_eq!(ticket.state, TicketState::Open);
    assert!(
        store::ticket(&harness.pool, stale)
            .await
            .expect("query")
            .is_none(),
        "the stale row is gone"
    );
}

#[tokio::test]
async fn a_ticket_left_opening_adopts_the_channel_discord_made_on_the_next_click() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let stale = stale_opening(&harness, alice).await;
    let orphan = harness
        .control
        .create_channel(
            harness.world.guild,
            ChannelSpec {
                topic: Some(format!("Ticket #{stale} opened by <@{alice}> in Support")),
                ..ChannelSpec::text(&format!("ticket-{stale:04}")).under(harness.world.parent)
            },
        )
        .expect("the channel Discord made before the crash");
    let channel = harness.open_ticket(alice).await;
    assert_eq!(channel, orphan, "the click links the adopted channel");
    let ticket = harness.ticket_of(channel).await;
    assert_eq!((ticket.id, ticket.state), (stale, TicketState::Open));
    harness
        .control
        .wait_for(WAIT, |control| control.pins(orphan).into_iter().next())
        .await
        .expect("the adopted ticket gets its pinned welcome with the Close button");
}

#[tokio::test]
async fn tickets_left_opening_are_repaired_at_startup() {
    let mut harness = Harness::start().await;
    let stale = stale_opening(&harness, harness.world.bob).await;
    harness.restart(|_| {}).await;
    let pool = harness.pool.clone();
    eventually("the stale opening is freed", || {
        let pool = pool.clone();
        async move {
            store::ticket(&pool, stale)
                .await
                .ok()
                .and_then(|ticket| ticket.is_none().then_some(()))
        }
    })
    .await;
}

/// The bot's messages in `channel` that carry a Close button.
fn welcomes(harness: &Harness, channel: u64) -> Vec<u64> {
    harness
        .control
        .messages(channel)
        .into_iter()
        .filter(|message| message.author_id == harness.control.bot_user_id())
        .filter(|message| {
            serde_json::to_string(&message.components)
                .is_ok_and(|components| components.contains("ticketeer:close:"))
        })
        .map(|message| message.id)
        .collect()
}

/// Waits until `channel` has its welcome pinned, and checks it was posted once.
async fn assert_one_pinned_welcome(harness: &Harness, channel: u64) {
    let pinned = harness
        .control
        .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
        .await
        .expect("the welcome is posted and pinned after all");
    assert_eq!(welcomes(harness, channel), vec![pinned.id], "posted once");
}

#[tokio::test]
async fn a_failed_welcome_post_is_retried_until_the_ticket_has_its_pinned_close_button() {
    let harness = Harness::start().await;
    harness.control.fail_next(FaultSpec::new(
        "POST",
        "/channels/{channel_id}/messages",
        500,
    ));
    let channel = harness.open_ticket(harness.world.alice).await;
    assert_one_pinned_welcome(&harness, channel).await;
}

#[tokio::test]
async fn a_failed_pin_is_retried_without_posting_the_welcome_twice() {
    let harness = Harness::start().await;
    harness.control.fail_next(FaultSpec::new(
        "PUT",
        "/channels/{channel_id}/messages/pins/{message_id}",
        500,
    ));
    let channel = harness.open_ticket(harness.world.alice).await;
    assert_one_pinned_welcome(&harness, channel).await;
}

async fn ticket_visible_to(harness: &Harness, viewer: u64) -> (u64, u64, String) {
    let channel = harness.open_ticket(harness.world.alice).await;
    let ticket = harness.ticket_of(channel).await;
    let mut overwrites = harness
        .control
        .channel(channel)
        .expect("channel")
        .overwrites;
    overwrites.retain(|overwrite| overwrite.id != viewer);
    overwrites.push(Overwrite::member(viewer, MEMBER_ALLOW, 0));
    harness
        .control
        .set_channel_overwrites(channel, overwrites)
        .expect("add carol");
    let welcome = harness
        .control
        .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
        .await
        .expect("the pinned welcome");
    (
        channel,
        welcome.id,
        format!("ticketeer:close:{}", ticket.id),
    )
}

#[tokio::test]
async fn a_member_without_rights_is_refused_and_nothing_changes() {
    let harness = Harness::start().await;
    let (channel, welcome, close) = ticket_visible_to(&harness, harness.world.carol).await;
    let outcome = harness.click(harness.world.carol, welcome, &close).await;
    assert!(outcome.is_ephemeral());
    let answer = harness.answer(&outcome).await;
    assert!(
        answer.starts_with("You cannot close this ticket"),
        "{answer}"
    );
    assert!(answer.contains("**Support**"), "names the team: {answer}");
    assert_eq!(harness.ticket_of(channel).await.state, TicketState::Open);
    assert!(harness.control.channel(channel).is_some());
}

#[tokio::test]
async fn the_creator_a_ticket_role_and_a_channel_manager_may_close() {
    let harness = Harness::start().await;
    let world = &harness.world;
    // Each closer gets a ticket of its own, opened by alice.
    for closer in [world.alice, world.bob, world.moderator] {
        let (channel, welcome, close) = ticket_visible_to(&harness, closer).await;
        let outcome = harness.click(closer, welcome, &close).await;
        let answer = harness.answer(&outcome).await;
        assert!(answer.starts_with("Closing ticket"), "{closer}: {answer}");
        let closed = harness.ticket_of(channel).await;
        assert_ne!(closed.state, TicketState::Open);
        assert_eq!(
            closed.closed_by.map(twilight_model::id::Id::get),
            Some(closer)
        );
    }
}

#[tokio::test]
async fn messages_in_ticket_channels_are_counted_and_others_are_not() {
    let harness = Harness::start().await;
    let channel = harness.open_ticket(harness.world.alice).await;
    let ticket = harness.ticket_of(channel).await;
    for text in ["hello", "my invoice is wrong", "thanks"] {
        harness
            .control
            .post_message(harness.world.alice, channel, UserMessage::text(text))
            .expect("alice posts");
    }
    harness
        .control
        .post_message(
            harness.world.carol,
            harness.world.create_channel,
            UserMessage::text("not a ticket"),
        )
        .expect("carol posts outside tickets");
    let in_channel = harness.control.messages(channel).len();
    let pool = harness.pool.clone();
    let counted = eventually("every ticket message to be counted", || {
        let pool = pool.clone();
        async move {
            let ticket = store::ticket(&pool, ticket.id).await.ok()??;
            (usize::try_from(ticket.message_count).ok()? == in_channel).then_some(ticket)
        }
    })
    .await;
    assert!(counted.message_count >= 3);
    let stored = store::stored_messages(&harness.pool, ticket.id)
        .await
        .expect("stored messages");
    let snapshots: Vec<serde_json::Value> = stored
        .iter()
        .map(|message| serde_json::from_str(&message.snapshot).expect("a stored snapshot is JSON"))
        .collect();
    let from_alice: Vec<_> = snapshots
        .iter()
        .filter_map(|snapshot| snapshot["content"].as_str())
        .filter(|content| ["hello", "my invoice is wrong", "thanks"].contains(content))
        .collect();
    assert_eq!(from_alice, ["hello", "my invoice is wrong", "thanks"]);
    let elsewhere: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket_messages WHERE snapshot->>'content' = 'not a ticket'",
    )
    .fetch_one(&harness.pool)
    .await
    .expect("query");
    assert_eq!(elsewhere, 0);
}

#[tokio::test]
async fn stale_and_unknown_buttons_get_an_ephemeral_answer() {
    let harness = Harness::start().await;
    // Buttons from an older config and from nowhere, on a message of the bot's.
    let client = twilight_http::Client::builder()
        .token(harness.world.emulator.token().to_owned())
        .proxy(harness.world.emulator.http_proxy(), true)
        .build();
    let button = |custom_id: &str| {
        twilight_model::channel::message::Component::Button(
            twilight_model::channel::message::component::Button {
                id: None,
                custom_id: Some(custom_id.to_owned()),
                disabled: false,
                emoji: None,
                label: Some("Old".to_owned()),
                style: twilight_model::channel::message::component::ButtonStyle::Primary,
                url: None,
                sku_id: None,
            },
        )
    };
    let row = twilight_model::channel::message::Component::ActionRow(
        twilight_model::channel::message::component::ActionRow {
            id: None,
            components: vec![
                button("ticketeer:open:removed-long-ago"),
                button("ticketeer:close:999"),
                button("ticketeer:claim:1"),
                button("ticketeer:promote:1"),
                button("otherbot:thing"),
            ],
        },
    );
    let old = client
        .create_message(twilight_model::id::Id::new(harness.world.create_channel))
        .content("An old panel")
        .components(&[row])
        .await
        .expect("post")
        .model()
        .await
        .expect("message");
    let expectations = [
        ("ticketeer:open:removed-long-ago", "no longer exists"),
        ("ticketeer:close:999", "no longer exists"),
        ("ticketeer:claim:1", "no longer exists"),
        ("ticketeer:promote:1", "no longer in use"),
        ("otherbot:thing", "no longer in use"),
    ];
    for (custom_id, expected) in expectations {
        let outcome = harness
            .click(harness.world.alice, old.id.get(), custom_id)
            .await;
        assert!(!outcome.failed(), "{custom_id} is acknowledged");
        assert!(outcome.is_ephemeral(), "{custom_id} is answered privately");
        let answer = harness.answer(&outcome).await;
        assert!(answer.contains(expected), "{custom_id}: {answer}");
    }
    assert_eq!(ticket_count(&harness).await, 0);
}

#[tokio::test]
async fn missing_manage_channels_is_explained_to_the_clicker_and_leaves_no_ghost() {
    let harness = Harness::start().await;
    let world = &harness.world;
    let bot_role = harness.control.bot_role(world.guild).expect("bot role");
    let without = support::BOT_PERMISSIONS & !MANAGE_CHANNELS;
    harness
        .control
        .set_role_permissions(world.guild, bot_role, without)
        .expect("take Manage Channels away");
    let outcome = harness.click_open(world.alice).await;
    let answer = harness.answer(&outcome).await;
    assert!(
        answer.starts_with(
            "I could not create your ticket channel: I am missing permissions in the **Support**"
        ),
        "{answer}"
    );
    assert!(answer.contains("Please tell a server admin"));
    assert_eq!(
        ticket_count(&harness).await,
        0,
        "the failed ticket is abandoned"
    );

    harness
        .control
        .set_role_permissions(world.guild, bot_role, support::BOT_PERMISSIONS)
        .expect("give it back");
    let channel = harness.open_ticket(world.alice).await;
    assert!(
        harness.control.channel(channel).is_some(),
        "the user can try again"
    );
}

#[tokio::test]
async fn invalid_form_body_and_server_errors_are_explained_to_the_clicker() {
    let harness = Harness::start().await;
    let cases = [
        (
            FaultSpec::new("POST", "/guilds/{guild_id}/channels", 400)
                .with_error(50035, "Invalid Form Body"),
            "Discord rejected the request",
        ),
        (
            FaultSpec::new("POST", "/guilds/{guild_id}/channels", 500),
            "Discord is having trouble",
        ),
    ];
    for (fault, expected) in cases {
        harness.control.fail_next(fault);
        let outcome = harness.click_open(harness.world.alice).await;
        assert!(!outcome.failed());
        let answer = harness.answer(&outcome).await;
        assert!(
            answer.starts_with("I could not create your ticket channel"),
            "{answer}"
        );
        assert!(answer.contains(expected), "{answer}");
        assert_eq!(ticket_count(&harness).await, 0);
    }
}

async fn handled_interactions(harness: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM processed_interactions")
        .fetch_one(&harness.pool)
        .await
        .expect("count handled interactions")
}

/// The claims that make each click handled once are forgotten once Discord can no longer deliver
/// the click again, so the table holds recent clicks, not every click ever made.
#[tokio::test]
async fn handled_interactions_are_forgotten_after_the_retention() {
    let mut harness = Harness::start().await;
    harness.open_ticket(harness.world.alice).await;
    assert!(
        handled_interactions(&harness).await >= 1,
        "the click is remembered"
    );
    harness
        .restart_with(
            |_| {},
            |settings| {
                settings.interaction_retention = Duration::from_millis(400);
                settings.forget_interval = Duration::from_millis(100);
            },
        )
        .await;
    eventually("the old click to be forgotten", || {
        let harness = &harness;
        async move { (handled_interactions(harness).await == 0).then_some(()) }
    })
    .await;
    assert_eq!(ticket_count(&harness).await, 1, "the ticket stays");
}
