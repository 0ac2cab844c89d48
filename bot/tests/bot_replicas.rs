//! Behaviour 8: two bot replicas on the same token and database, both receiving every event (as
//! during a rolling update): each panel, click, message and close is handled once.

mod support;

use support::{Harness, WAIT, eventually};
use ticketeer_bot::store::{self, TicketState};
use ticketeer_testkit::discord::UserMessage;

#[tokio::test]
async fn two_replicas_keep_one_panel_even_when_it_is_deleted_by_hand() {
    let harness = Harness::start().await;
    let replica = harness.start_replica().await;
    assert_eq!(harness.panels_in_create_channel().len(), 1);
    let panel = harness.panel(support::SUPPORT).await;
    harness
        .control
        .delete_message(panel.id)
        .expect("someone deletes the panel");
    let reposted = harness
        .control
        .wait_for(WAIT, |control| {
            let bot = control.bot_user_id();
            let panels: Vec<_> = control
                .messages(harness.world.create_channel)
                .into_iter()
                .filter(|message| message.author_id == bot)
                .collect();
            match panels.as_slice() {
                [only] if only.id != panel.id => Some(only.id),
                _ => None,
            }
        })
        .await
        .expect("the panel is re-posted");
    // Both replicas have handled the deletion (each sees every event): only then can a second
    // panel be ruled out.
    for ctx in [&harness.ctx, &replica.ctx] {
        let ctx = std::sync::Arc::clone(ctx);
        eventually("each replica to handle the deletion", || {
            let done = ctx.metrics.events_handled("MESSAGE_DELETE") >= 1;
            async move { done.then_some(()) }
        })
        .await;
    }
    let panels = harness.panels_in_create_channel();
    assert_eq!(panels.len(), 1, "one panel");
    assert_eq!(panels[0].id, reposted);
    replica.stop().await.expect("the replica stops");
}

#[tokio::test]
async fn two_replicas_handle_a_click_count_messages_and_close_a_ticket_once() {
    let harness = Harness::start().await;
    let replica = harness.start_replica().await;
    let world = &harness.world;

    let outcome = harness.click_open(world.alice).await;
    assert!(!outcome.failed());
    let answer = harness.answer(&outcome).await;
    let channel = support::channel_link(&answer).expect("a channel link");
    let ticket_channels = harness
        .control
        .channels(world.guild)
        .into_iter()
        .filter(|channel| channel.parent_id == Some(world.parent))
        .count();
    assert_eq!(ticket_channels, 1, "one channel");
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&harness.pool)
        .await
        .expect("count");
    assert_eq!(tickets, 1, "one ticket");
    // Both replicas answer the click; Discord takes the first acknowledgement and refuses the
    // second (400, 40060), which tells that replica to leave the click alone.
    let callbacks: Vec<u16> = harness
        .control
        .request_log()
        .iter()
        .filter(|request| {
            request.method == "POST"
                && request
                    .path
                    .starts_with(&format!("/interactions/{}/", outcome.interaction_id))
        })
        .map(|request| request.status)
        .collect();
    assert_eq!(
        callbacks.iter().filter(|status| **status < 300).count(),
        1,
        "one acknowledgement: {callbacks:?}"
    );
    assert!(
        callbacks
            .iter()
            .all(|status| *status < 300 || *status == 400),
        "the other is refused as already acknowledged: {callbacks:?}"
    );

    let welcome = harness
        .control
        .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
        .await
        .expect("the welcome");
    for number in 0..5 {
        harness
            .control
            .post_message(
                world.alice,
                channel,
                UserMessage::text(&format!("hello {number}")),
            )
            .expect("alice posts");
    }
    let ticket = harness.ticket_of(channel).await;
    let expected = harness.control.messages(channel).len();
    let pool = harness.pool.clone();
    eventually("every message to be counted", || {
        let pool = pool.clone();
        async move {
            let ticket = store::ticket(&pool, ticket.id).await.ok()??;
            (usize::try_from(ticket.message_count).ok()? == expected).then_some(())
        }
    })
    .await;
    // Both replicas have handled every message of the channel (each sees every event): a
    // message counted twice would show now.
    for ctx in [&harness.ctx, &replica.ctx] {
        let ctx = std::sync::Arc::clone(ctx);
        eventually("each replica to handle every message", || {
            let done =
                ctx.metrics.ticket_messages_seen.get() >= u64::try_from(expected).unwrap_or(0);
            async move { done.then_some(()) }
        })
        .await;
    }
    let counted = store::ticket(&harness.pool, ticket.id)
        .await
        .expect("query")
        .expect("ticket");
    assert_eq!(
        usize::try_from(counted.message_count).ok(),
        Some(expected),
        "each message counted once"
    );

    let close = harness
        .click(
            world.alice,
            welcome.id,
            &format!("ticketeer:close:{}", ticket.id),
        )
        .await;
    assert!(!close.failed());
    let pool = harness.pool.clone();
    let closed = eventually("the ticket to close", || {
        let pool = pool.clone();
        async move {
            let ticket = store::ticket(&pool, ticket.id).await.ok()??;
            (ticket.state == TicketState::Closed).then_some(ticket)
        }
    })
    .await;
    assert!(harness.control.channel(channel).is_none());
    assert_eq!(harness.privatebin.paste_count(), 1, "one transcript");
    let bot = harness.control.bot_user_id();
    let log_posts = harness
        .control
        .messages(world.log_channel)
        .into_iter()
        .filter(|message| message.author_id == bot)
        .count();
    assert_eq!(log_posts, 1, "one log post");
    let deletes = harness
        .control
        .request_log()
        .iter()
        .filter(|request| {
            request.method == "DELETE" && request.path == format!("/channels/{channel}")
        })
        .count();
    assert_eq!(deletes, 1, "the channel is deleted once");
    assert!(closed.transcript_url.is_some());
    replica.stop().await.expect("the replica stops");
}
