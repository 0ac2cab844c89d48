//! Feedback end to end, against the Discord emulator, PrivateBin and Postgres: the DM after a
//! close asks the creator for a rating, a rating button opens a comment form, and its submit is
//! recorded once, added to the log post, retires the buttons and is counted in /metrics.

mod support;

use support::closing::{click_close, log_posts, ticket_with_messages, wait_for_state};
use support::{Harness, SUPPORT, eventually};
use ticketeer_bot::store::{self, TicketState};
use ticketeer_testkit::discord::{ControlError, Message};

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

async fn bot_with(options: &str) -> Harness {
    let harness = Harness::start().await;
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&yaml.replace(BUTTON_LINE, &format!("{BUTTON_LINE}{options}")));
    eventually("the bot to ask for feedback", || {
        let loaded = harness.ctx.config().categories[SUPPORT].ask_feedback;
        async move { loaded.then_some(()) }
    })
    .await;
    harness
}

/// Opens and closes a ticket of Alice's; returns its id and the DM she got.
async fn closed_ticket_and_dm(harness: &Harness) -> (i64, Message) {
    let (channel, ticket) = ticket_with_messages(harness, 2).await;
    click_close(harness, channel, &ticket).await;
    wait_for_state(harness, ticket.id, TicketState::Closed).await;
    let alice = harness.world.alice;
    let dm = harness
        .control
        .wait_for(support::WAIT, |control| {
            control.dm_messages(alice).into_iter().next()
        })
        .await
        .expect("the DM is sent");
    (ticket.id, dm)
}

#[tokio::test]
async fn a_rating_with_a_comment_is_recorded_once_shown_in_the_log_post_and_counted() {
    let harness = bot_with(
        "    askFeedback: true\n    dmOnClose: {enabled: true, message: \"Closed. Transcript: {transcript_url}\"}\n",
    )
    .await;
    let (ticket_id, dm) = closed_ticket_and_dm(&harness).await;
    assert!(
        dm.content.starts_with("Closed. Transcript: "),
        "{}",
        dm.content
    );
    assert!(
        dm.content
            .ends_with(&format!("How did we do with your ticket #{ticket_id} (Support)? Rate it from 1 (poor) to 5 (great).")),
        "{}",
        dm.content
    );
    let buttons = dm.button_custom_ids();
    assert_eq!(buttons.len(), 5, "{buttons:?}");

    // Two forms opened before either is sent: only the first submit counts.
    let alice = harness.world.alice;
    let four = harness.click(alice, dm.id, &buttons[3]).await;
    let modal = four
        .modal
        .clone()
        .expect("the rating opens the comment form");
    assert_eq!(modal.title, "Your rating: 4/5");
    assert!(!modal.inputs[0].required);
    let two = harness.click(alice, dm.id, &buttons[1]).await;
    assert!(two.modal.is_some());
    let sent = harness
        .control
        .submit_modal(alice, four.interaction_id, &[("comment", "Quick and kind")])
        .await
        .expect("the form is sent");
    assert_eq!(harness.answer(&sent).await, "Thank you for your feedback!");
    let again = harness
        .control
        .submit_modal(alice, two.interaction_id, &[])
        .await
        .expect("the second form is sent");
    assert_eq!(
        harness.answer(&again).await,
        "You already rated this ticket (4/5); thank you!"
    );
    assert_eq!(
        store::feedback(&harness.pool, ticket_id)
            .await
            .expect("read"),
        Some((4, Some("Quick and kind".to_owned())))
    );

    let (control, dm_id) = (harness.control.clone(), dm.id);
    eventually("the DM's buttons to be retired", || {
        let retired = control
            .message(dm_id)
            .is_some_and(|message| message.button_custom_ids().is_empty());
        async move { retired.then_some(()) }
    })
    .await;
    assert!(matches!(
        harness
            .control
            .click_button(alice, dm.id, &buttons[0])
            .await,
        Err(ControlError::NoSuchButton { .. })
    ));
    let posts = log_posts(&harness, ticket_id);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]
            .content
            .ends_with("\n**Feedback:** 4/5 ★★★★☆ — “Quick and kind”"),
        "{}",
        posts[0].content
    );
    let exported = harness.metrics_text().await;
    assert!(
        exported.contains("ticketeer_feedback_ratings_total{category=\"support\",rating=\"4\"} 1"),
        "{exported}"
    );
    assert!(!exported.contains("rating=\"2\""), "{exported}");
}

#[tokio::test]
async fn without_a_closing_dm_the_rating_question_is_a_dm_of_its_own() {
    let harness = bot_with("    askFeedback: true\n").await;
    let (ticket_id, dm) = closed_ticket_and_dm(&harness).await;
    assert_eq!(
        dm.content,
        format!(
            "How did we do with your ticket #{ticket_id} (Support)? Rate it from 1 (poor) to 5 (great)."
        )
    );
    assert_eq!(dm.button_custom_ids().len(), 5);
}
