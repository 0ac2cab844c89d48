//! Closing tickets as the tests do: a ticket with messages, the Close click, waiting for a state,
//! the bot's log posts.

use std::time::Duration;

use ticketeer_bot::store::{self, Ticket, TicketState};
use ticketeer_testkit::discord::{InteractionOutcome, UserMessage};

use super::{Harness, WAIT, eventually, eventually_within};

/// Opens a ticket for alice, has her post `count` numbered messages, waits until every message
/// of the channel is counted, and returns (channel, ticket).
pub async fn ticket_with_messages(harness: &Harness, count: usize) -> (u64, Ticket) {
    let texts: Vec<String> = (0..count)
        .map(|number| format!("message {number:03}"))
        .collect();
    ticket_with_texts(harness, harness.world.alice, &texts).await
}

/// Opens a ticket for `user`, has them post `texts`, waits until every message of the channel is
/// counted, and returns (channel, ticket).
pub async fn ticket_with_texts(harness: &Harness, user: u64, texts: &[String]) -> (u64, Ticket) {
    let messages = texts.iter().map(|text| UserMessage::text(text)).collect();
    ticket_with_posts(harness, user, messages).await
}

/// Opens a ticket for `user`, has them post `messages`, waits until every message of the channel
/// is counted, and returns (channel, ticket).
pub async fn ticket_with_posts(
    harness: &Harness,
    user: u64,
    messages: Vec<UserMessage>,
) -> (u64, Ticket) {
    let channel = harness.open_ticket(user).await;
    // The welcome first, so the conversation's order is known.
    harness
        .control
        .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
        .await
        .expect("the pinned welcome");
    for message in messages {
        harness
            .control
            .post_message(user, channel, message)
            .expect("the creator posts");
    }
    let ticket = harness.ticket_of(channel).await;
    let expected = harness.control.messages(channel).len();
    let pool = harness.pool.clone();
    let ticket = eventually("every message to be counted", || {
        let pool = pool.clone();
        async move {
            let ticket = store::ticket(&pool, ticket.id).await.ok()??;
            (usize::try_from(ticket.message_count).ok()? == expected).then_some(ticket)
        }
    })
    .await;
    (channel, ticket)
}

/// Clicks the ticket's close button as its creator and checks the answer.
pub async fn click_close(harness: &Harness, channel: u64, ticket: &Ticket) {
    let outcome = press_close(harness, channel, ticket, ticket.user_id.get()).await;
    assert!(!outcome.failed(), "the close click is acknowledged");
    let answer = harness.answer(&outcome).await;
    assert_eq!(answer, format!("Closing ticket #{}…", ticket.id));
}

/// `user` clicks the Close button on the ticket's pinned welcome; returns what Discord saw.
pub async fn press_close(
    harness: &Harness,
    channel: u64,
    ticket: &Ticket,
    user: u64,
) -> InteractionOutcome {
    let welcome = harness
        .control
        .pins(channel)
        .into_iter()
        .next()
        .expect("the pinned welcome");
    harness
        .click(user, welcome.id, &format!("ticketeer:close:{}", ticket.id))
        .await
}

pub async fn wait_for_state(harness: &Harness, ticket_id: i64, state: TicketState) -> Ticket {
    wait_for_state_within(harness, ticket_id, state, WAIT).await
}

pub async fn wait_for_state_within(
    harness: &Harness,
    ticket_id: i64,
    state: TicketState,
    patience: Duration,
) -> Ticket {
    let pool = harness.pool.clone();
    let what = format!("ticket {ticket_id} to reach {state:?}");
    eventually_within(&what, patience, || {
        let pool = pool.clone();
        async move {
            let ticket = store::ticket(&pool, ticket_id).await.ok()??;
            (ticket.state == state).then_some(ticket)
        }
    })
    .await
}

/// The bot's posts in the log channel about this ticket.
pub fn log_posts(harness: &Harness, ticket_id: i64) -> Vec<ticketeer_testkit::discord::Message> {
    let bot = harness.control.bot_user_id();
    harness
        .control
        .messages(harness.world.log_channel)
        .into_iter()
        .filter(|message| {
            message.author_id == bot
                && message
                    .content
                    .starts_with(&format!("**Ticket #{ticket_id}**"))
        })
        .collect()
}
