//! Forms end to end, against the Discord emulator, PrivateBin and Postgres: a category's
//! questions asked in a form before the ticket opens, the answers in the ticket's first message
//! and its transcript (read by pbincli) and gone from the database once the transcript holds them,
//! and a second form answered while the first ticket is open linking to it.

mod support;

use support::closing::{click_close, wait_for_state};
use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_bot::store::{self, TicketState};
use ticketeer_testkit::discord::InteractionOutcome;
use ticketeer_testkit::tools::pbincli_get;

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

const QUESTIONS: &str = "    questions:
      - {label: Order number, placeholder: e.g. A-1234, minLength: 3, maxLength: 20}
      - {label: What happened?, style: paragraph, required: false}
";

async fn bot_asking() -> Harness {
    let harness = Harness::start().await;
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&yaml.replace(BUTTON_LINE, &format!("{BUTTON_LINE}{QUESTIONS}")));
    eventually("the bot to load the questions", || {
        let loaded = harness.ctx.config().categories[SUPPORT].questions.len() == 2;
        async move { loaded.then_some(()) }
    })
    .await;
    harness
}

/// Alice clicks Open and gets the form; returns the click.
async fn click_for_form(harness: &Harness) -> InteractionOutcome {
    let outcome = harness.click_open(harness.world.alice).await;
    assert!(!outcome.failed(), "the click is answered in time");
    outcome
}

#[tokio::test]
async fn the_ticket_opens_on_the_submit_with_the_answers_in_its_first_message_and_transcript() {
    let harness = bot_asking().await;
    let click = click_for_form(&harness).await;
    let modal = click
        .modal
        .clone()
        .expect("the click is answered with the form");
    assert_eq!(modal.custom_id, "ticketeer:form:support");
    let labels: Vec<&str> = modal
        .inputs
        .iter()
        .map(|input| input.label.as_str())
        .collect();
    assert_eq!(labels, ["Order number", "What happened?"]);
    assert_eq!(
        (
            modal.inputs[0].min_length,
            modal.inputs[0].max_length,
            modal.inputs[0].required
        ),
        (3, 20, true)
    );
    assert_eq!(
        (modal.inputs[1].style, modal.inputs[1].required),
        (2, false)
    );
    // Nothing opens until the form is sent.
    assert_eq!(harness.open_tickets().await, 0);

    let submitted = harness
        .control
        .submit_modal(
            harness.world.alice,
            click.interaction_id,
            &[("q0", "A-1234"), ("q1", "The parcel never came.")],
        )
        .await
        .expect("the form can be sent");
    assert!(!submitted.failed(), "the submit is acknowledged");
    let answer = harness.answer(&submitted).await;
    let channel = channel_link(&answer).unwrap_or_else(|| panic!("a channel link: {answer}"));
    let welcome = harness.pinned_welcome(channel).await;
    let fields: Vec<(String, String)> = welcome.embeds[0]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|field| {
            (
                field["name"].as_str().unwrap_or_default().to_owned(),
                field["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("Order number".to_owned(), "A-1234".to_owned()),
            (
                "What happened?".to_owned(),
                "The parcel never came.".to_owned()
            )
        ]
    );

    let ticket = harness.ticket_of(channel).await;
    assert_eq!(
        store::form_answers(&harness.pool, ticket.id)
            .await
            .expect("answers")
            .len(),
        2
    );
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    assert!(
        text.contains("Order number") && text.contains("A-1234"),
        "{text}"
    );
    assert!(text.contains("The parcel never came."), "{text}");
    assert!(
        store::form_answers(&harness.pool, ticket.id)
            .await
            .expect("answers")
            .is_empty(),
        "the transcript is the answers' only copy"
    );
}

#[tokio::test]
async fn a_form_sent_while_the_first_ticket_is_open_links_to_it() {
    let harness = bot_asking().await;
    let first = click_for_form(&harness).await;
    let second = click_for_form(&harness).await;
    let alice = harness.world.alice;
    let opened = harness
        .control
        .submit_modal(alice, first.interaction_id, &[("q0", "A-1")])
        .await
        .expect("the first form is sent");
    let channel = channel_link(&harness.answer(&opened).await).expect("a channel");
    let again = harness
        .control
        .submit_modal(alice, second.interaction_id, &[("q0", "A-2")])
        .await
        .expect("the second form is sent");
    let answer = harness.answer(&again).await;
    assert_eq!(channel_link(&answer), Some(channel), "{answer}");
    assert_eq!(harness.open_tickets().await, 1);
}
