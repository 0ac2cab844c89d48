//! A category with `closeReasonPrompt`: the Close button opens a form asking for an optional
//! reason, and the ticket closes when the form is submitted, the reason shown in the log post,
//! the DM and the transcript's header.

mod support;

use support::closing::{log_posts, press_close, ticket_with_texts, wait_for_state};
use support::{Harness, eventually};
use ticketeer_bot::store::{self, Ticket, TicketState};
use ticketeer_testkit::discord::InteractionOutcome;
use ticketeer_testkit::tools::pbincli_get;

const DM: &str = "Your ticket is closed. Transcript: {transcript_url}";

/// A bot whose category asks for a reason, with a ticket of alice's holding one message.
async fn asking_bot() -> (Harness, u64, Ticket) {
    let harness = Harness::start_with_dm(DM).await;
    let yaml = std::fs::read_to_string(&harness.config_path).expect("read the config");
    let button = "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";
    assert!(yaml.contains(button), "{yaml}");
    harness.write_config(&yaml.replace(button, &format!("{button}    closeReasonPrompt: true\n")));
    eventually("the bot to load closeReasonPrompt: true", || {
        let loaded = harness
            .ctx
            .config()
            .categories
            .values()
            .all(|category| category.close_reason_prompt);
        async move { loaded.then_some(()) }
    })
    .await;
    let alice = harness.world.alice;
    let (channel, ticket) = ticket_with_texts(&harness, alice, &["it is broken".to_owned()]).await;
    (harness, channel, ticket)
}

/// `user` clicks the ticket's Close button; the bot answers with the reason form.
async fn click_close_for_form(harness: &Harness, channel: u64, ticket: &Ticket, user: u64) -> u64 {
    let outcome = press_close(harness, channel, ticket, user).await;
    assert!(!outcome.failed(), "the click is answered in time");
    assert_eq!(outcome.callback_type, Some(9), "answered with a form");
    let form = outcome.data.as_ref().expect("the form");
    assert_eq!(
        form["custom_id"],
        format!("ticketeer:close-reason:{}", ticket.id)
    );
    outcome.interaction_id
}

async fn submit(harness: &Harness, user: u64, form: u64, reason: &str) -> InteractionOutcome {
    let outcome = harness
        .control
        .submit_modal(user, form, &[("reason", reason)])
        .await
        .expect("the form is submitted");
    assert!(!outcome.failed(), "the submit is answered in time");
    outcome
}

async fn state_of(harness: &Harness, ticket: &Ticket) -> TicketState {
    store::ticket(&harness.pool, ticket.id)
        .await
        .expect("the ticket is read")
        .expect("the ticket exists")
        .state
}

#[tokio::test]
async fn a_reason_given_in_the_form_is_in_the_log_post_the_dm_and_the_transcript() {
    let (harness, channel, ticket) = asking_bot().await;
    let bob = harness.world.bob;
    let form = click_close_for_form(&harness, channel, &ticket, bob).await;
    assert_eq!(
        state_of(&harness, &ticket).await,
        TicketState::Open,
        "the click alone closes nothing: the bot answered with the form and stopped"
    );

    // Submitted twice at once (a double submit): one close starts, with the reason of the submit
    // handled first, and each submitter is told the ticket closes.
    let first = submit(&harness, bob, form, "  Solved by a reinstall\n").await;
    let second = submit(&harness, bob, form, "Solved by a reinstall, twice").await;
    let closing = format!("Closing ticket #{}…", ticket.id);
    for outcome in [&first, &second] {
        let answer = harness.answer(outcome).await;
        assert!(
            answer == closing || answer == "This ticket is already being closed.",
            "{answer}"
        );
    }
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let reason = closed.close_reason.clone().expect("a reason");
    assert!(
        ["Solved by a reinstall", "Solved by a reinstall, twice"].contains(&reason.as_str()),
        "{reason}"
    );
    assert_eq!(closed.closed_by.map(twilight_model::id::Id::get), Some(bob));

    let posts = log_posts(&harness, closed.id);
    assert_eq!(posts.len(), 1, "one close, logged once");
    assert!(
        posts[0].content.contains(&format!("\nReason: {reason}\n")),
        "{}",
        posts[0].content
    );
    let dms = harness.control.dm_messages(harness.world.alice);
    assert_eq!(dms.len(), 1);
    assert!(
        dms[0].content.ends_with(&format!("\nReason: {reason}")),
        "{}",
        dms[0].content
    );
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    assert!(
        text.contains(&format!("- **Close reason:** {reason}\n")),
        "{text}"
    );
}

#[tokio::test]
async fn a_form_left_empty_closes_without_a_reason() {
    let (harness, channel, ticket) = asking_bot().await;
    let alice = harness.world.alice;
    let form = click_close_for_form(&harness, channel, &ticket, alice).await;
    submit(&harness, alice, form, "   ").await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.close_reason, None);
    let posts = log_posts(&harness, closed.id);
    assert!(
        !posts[0].content.contains("Reason:"),
        "{}",
        posts[0].content
    );
}
