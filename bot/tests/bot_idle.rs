//! Auto-close of abandoned tickets end to end, against the Discord emulator and Postgres: the
//! warning and the close by timer, the creator's message and the Keep open button withdrawing
//! it, and a close that came due while the bot was down firing once on two replicas.

mod support;

use std::time::Duration;

use support::closing::{log_posts, wait_for_state, wait_for_state_within};
use support::{Harness, SUPPORT, WAIT, eventually};
use ticketeer_bot::store::TicketState;
use ticketeer_testkit::discord::{Message, Overwrite, UserMessage};

const VIEW_CHANNEL: u64 = 1 << 10;
use ticketeer_testkit::tools::pbincli_get;
use twilight_model::id::Id;

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

/// A bot whose `support` category closes tickets after `inactive` seconds without a message from
/// the creator, warning `warning` seconds before.
async fn bot_with_auto_close(inactive: u32, warning: u32) -> Harness {
    let harness = Harness::start().await;
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    assert!(yaml.contains(BUTTON_LINE), "{yaml}");
    harness.write_config(&yaml.replace(
        BUTTON_LINE,
        &format!(
            "{BUTTON_LINE}    autoClose: {{inactiveSeconds: {inactive}, warningSeconds: {warning}}}\n"
        ),
    ));
    eventually("the bot to load autoClose", || {
        let loaded = harness
            .ctx
            .config()
            .categories
            .values()
            .all(|category| category.auto_close.is_some());
        async move { loaded.then_some(()) }
    })
    .await;
    harness
}

/// Waits for a warning in `channel` that still has its button and is not one of `seen`.
async fn next_warning(harness: &Harness, channel: u64, seen: &[u64]) -> Message {
    harness
        .control
        .wait_for(Duration::from_secs(20), |control| {
            control.messages(channel).into_iter().find(|message| {
                message.content.contains("this ticket will close")
                    && !message.components.is_empty()
                    && !seen.contains(&message.id)
            })
        })
        .await
        .expect("an inactivity warning")
}

/// The ticket's inactivity timers: (kind, warning message id).
async fn timers(harness: &Harness, ticket_id: i64) -> Vec<(String, Option<i64>)> {
    sqlx::query_as(
        "SELECT kind::text, message_id FROM ticket_timers WHERE ticket_id = $1 ORDER BY kind",
    )
    .bind(ticket_id)
    .fetch_all(&harness.pool)
    .await
    .expect("the timers")
}

#[tokio::test]
async fn an_abandoned_ticket_is_warned_then_closes_with_the_inactivity_reason() {
    let harness = bot_with_auto_close(3, 2).await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let warning = next_warning(&harness, channel, &[]).await;
    assert!(
        warning
            .content
            .starts_with(&format!("<@{alice}>, this ticket will close <t:")),
        "{}",
        warning.content
    );
    assert!(
        warning
            .content
            .contains("Press **Keep open** or write a message")
    );
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let reason = "Closed after 3 seconds without a message from the creator";
    assert_eq!(closed.close_reason.as_deref(), Some(reason));
    let bot = harness.control.bot_user_id();
    assert_eq!(
        closed.closed_by.map(Id::get),
        Some(bot),
        "closed by the bot"
    );
    let posts = log_posts(&harness, ticket.id);
    assert_eq!(posts.len(), 1, "closed and logged once");
    assert!(
        posts[0].content.contains(&format!("\nReason: {reason}\n")),
        "{}",
        posts[0].content
    );
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    assert!(
        text.contains(&format!("- **Close reason:** {reason}\n")),
        "{text}"
    );
    assert!(
        harness.control.channel(channel).is_none(),
        "the channel is deleted"
    );
    assert!(
        timers(&harness, ticket.id).await.is_empty(),
        "no timer is left"
    );
}

#[tokio::test]
async fn a_message_of_the_creator_after_the_warning_withdraws_the_close() {
    let harness = bot_with_auto_close(8, 7).await;
    let (alice, bob) = (harness.world.alice, harness.world.bob);
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let first = next_warning(&harness, channel, &[]).await;
    let first_id = i64::try_from(first.id).expect("a snowflake below 2^63");
    let pending = eventually("the warning to be recorded on the close timer", || {
        let harness = &harness;
        async move {
            let timers = timers(harness, ticket.id).await;
            timers
                .iter()
                .any(|(kind, message)| kind == "inactivity_close" && *message == Some(first_id))
                .then_some(timers)
        }
    })
    .await;
    assert_eq!(pending.len(), 1, "only the close is pending: {pending:?}");

    // Staff writing is not the creator's activity: once the bot has handled every message of the
    // server (bob's among them), the warned close is still pending.
    harness
        .control
        .post_message(bob, channel, UserMessage::text("Any news?"))
        .expect("staff post");
    let control = harness.control.clone();
    let guild = harness.world.guild;
    eventually("the bot to handle every message so far", || {
        let written: usize = control
            .channels(guild)
            .iter()
            .map(|channel| control.messages(channel.id).len())
            .sum();
        let handled = harness.ctx.metrics.events_handled("MESSAGE_CREATE");
        async move { (handled >= u64::try_from(written).ok()?).then_some(()) }
    })
    .await;
    assert!(
        timers(&harness, ticket.id)
            .await
            .iter()
            .any(|(kind, message)| kind == "inactivity_close" && *message == Some(first_id)),
        "a staff message does not withdraw the close"
    );
    harness
        .control
        .post_message(alice, channel, UserMessage::text("Still here!"))
        .expect("the creator posts");
    let retired = harness
        .control
        .wait_for(WAIT, |control| {
            control
                .message(first.id)
                .filter(|message| message.components.is_empty())
        })
        .await
        .expect("the warning's button is retired");
    assert!(
        retired.content.ends_with("it stays open."),
        "{}",
        retired.content
    );
    let after = timers(&harness, ticket.id).await;
    assert!(
        !after.iter().any(|(_, message)| *message == Some(first_id)),
        "the warned close is withdrawn: {after:?}"
    );
    // Re-armed from the creator's message: a second warning comes, and the ticket is still open.
    next_warning(&harness, channel, &[first.id]).await;
    assert_eq!(harness.ticket_of(channel).await.state, TicketState::Open);
    assert!(log_posts(&harness, ticket.id).is_empty(), "never closed");
}

#[tokio::test]
async fn keep_open_is_for_the_creator_and_staff_and_acts_once() {
    let harness = bot_with_auto_close(30, 29).await;
    let world = &harness.world;
    let (alice, bob, carol) = (world.alice, world.bob, world.carol);
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let warning = next_warning(&harness, channel, &[]).await;
    let keep = format!("ticketeer:keep-alive:{}", ticket.id);
    // carol, a member with no role, is let into the channel by hand: she sees the button, but
    // the ticket is neither hers nor her team's.
    let mut overwrites = harness
        .control
        .channel(channel)
        .expect("the channel")
        .overwrites;
    overwrites.push(Overwrite::member(carol, VIEW_CHANNEL, 0));
    harness
        .control
        .set_channel_overwrites(channel, overwrites)
        .expect("carol is let in");
    let refused = harness.click(carol, warning.id, &keep).await;
    assert_eq!(
        harness.answer(&refused).await,
        "Only the person who opened this ticket or the Support team can keep it open."
    );
    assert!(
        harness
            .control
            .message(warning.id)
            .is_some_and(|message| !message.components.is_empty()),
        "a refused click changes nothing"
    );
    // The creator and a staff member press it at once: one keeps the ticket open, the other is
    // told it already is.
    let (by_bob, by_alice) = tokio::join!(
        harness.click(bob, warning.id, &keep),
        harness.click(alice, warning.id, &keep)
    );
    let mut answers = vec![
        harness.answer(&by_bob).await,
        harness.answer(&by_alice).await,
    ];
    answers.sort();
    assert_eq!(
        answers,
        [
            "The ticket stays open.",
            "This ticket is already kept open."
        ]
    );
    let retired = harness.control.message(warning.id).expect("the warning");
    assert!(retired.components.is_empty(), "its button is gone");
    assert!(
        [bob, alice].iter().any(|user| retired
            .content
            .ends_with(&format!("<@{user}> kept it open."))),
        "{}",
        retired.content
    );
    assert_eq!(
        timers(&harness, ticket.id).await,
        [("inactivity_warning".to_owned(), None)],
        "the warning is re-armed, no close is pending"
    );
}

#[tokio::test]
async fn an_inactivity_close_due_while_the_bot_is_down_fires_once_on_two_replicas() {
    let mut harness = bot_with_auto_close(4, 3).await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    next_warning(&harness, channel, &[]).await;

    // The bot is down when the close comes due; its successor and a second replica find it.
    harness
        .restart(|_| std::thread::sleep(Duration::from_millis(3500)))
        .await;
    let replica = harness.start_replica().await;
    let closed = wait_for_state_within(
        &harness,
        ticket.id,
        TicketState::Closed,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("Closed after 4 seconds without a message from the creator")
    );
    assert_eq!(
        log_posts(&harness, ticket.id).len(),
        1,
        "closed and logged once"
    );
    assert_eq!(harness.privatebin.paste_count(), 1, "one transcript");
    replica.stop().await.expect("the replica stops");
}

#[tokio::test]
async fn auto_close_added_by_a_reload_arms_open_tickets_and_removed_only_deletes_their_timers() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    assert!(
        timers(&harness, ticket.id).await.is_empty(),
        "no autoClose, no timer"
    );
    let plain = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    let with_auto_close = plain.replace(
        BUTTON_LINE,
        &format!("{BUTTON_LINE}    autoClose: {{inactiveSeconds: 10, warningSeconds: 5}}\n"),
    );
    harness.write_config(&with_auto_close);
    eventually("the reload to arm the open ticket", || {
        let harness = &harness;
        async move {
            (timers(harness, ticket.id).await == [("inactivity_warning".to_owned(), None)])
                .then_some(())
        }
    })
    .await;

    harness.write_config(&plain);
    eventually("the bot to load the config without autoClose", || {
        let off = harness
            .ctx
            .config()
            .categories
            .values()
            .all(|category| category.auto_close.is_none());
        async move { off.then_some(()) }
    })
    .await;
    support::eventually_within(
        "the timer to come due and be deleted",
        Duration::from_secs(20),
        || {
            let harness = &harness;
            async move { timers(harness, ticket.id).await.is_empty().then_some(()) }
        },
    )
    .await;
    assert_eq!(harness.ticket_of(channel).await.state, TicketState::Open);
    assert!(
        !harness
            .control
            .messages(channel)
            .iter()
            .any(|message| message.content.contains("this ticket will close")),
        "no warning once autoClose is gone"
    );
}
