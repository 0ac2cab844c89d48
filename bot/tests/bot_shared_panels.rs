//! Shared panels end to end, against the Discord emulator and Postgres: several categories on
//! one panel as a select menu or as buttons, a choice opening the chosen category's ticket, and a
//! panel kept (edited in place) while categories join it.

mod support;

use serde_json::Value;
use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_testkit::discord::Message;

/// The line of each category's YAML after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

/// `yaml` with `options` (YAML lines indented for a category) added to category `key`.
fn with_options(yaml: &str, key: &str, options: &str) -> String {
    let start = yaml
        .find(&format!("  {key}:\n"))
        .unwrap_or_else(|| panic!("category {key} in {yaml}"));
    let at = start
        + yaml[start..]
            .find(BUTTON_LINE)
            .unwrap_or_else(|| panic!("the button line of {key}"))
        + BUTTON_LINE.len();
    format!("{}{options}{}", &yaml[..at], &yaml[at..])
}

/// The select menus (raw JSON) of a message.
fn select_menus(message: &Message) -> Vec<Value> {
    message
        .components
        .iter()
        .filter_map(|row| row["components"].as_array())
        .flatten()
        .filter(|component| component["type"] == 3)
        .cloned()
        .collect()
}

/// Waits for a message of the bot in the create channel that satisfies `wanted`.
async fn bot_message_where(harness: &Harness, wanted: impl Fn(&Message) -> bool) -> Message {
    let (channel, bot) = (harness.world.create_channel, harness.control.bot_user_id());
    harness
        .control
        .wait_for(support::WAIT, |control| {
            control
                .messages(channel)
                .into_iter()
                .find(|message| message.author_id == bot && wanted(message))
        })
        .await
        .expect("the panel is posted")
}

#[tokio::test]
async fn a_select_panel_offers_every_category_and_a_choice_opens_that_one() {
    let harness = Harness::start().await;
    let mut yaml = harness.config_yaml(&[
        (SUPPORT, "How can we help?"),
        ("billing", "Billing text, never shown"),
        ("bugs", "Bugs text, never shown"),
    ]);
    yaml = with_options(
        &yaml,
        SUPPORT,
        "    panel: {name: desk, style: select, placeholder: \"What is it about?\"}\n",
    );
    yaml = with_options(
        &yaml,
        "billing",
        "    panel: {name: desk, position: 2, description: \"Invoices and refunds\"}\n",
    );
    yaml = with_options(&yaml, "bugs", "    panel: {name: desk, position: 1}\n");
    harness.write_config(&yaml);

    let panel = bot_message_where(&harness, |message| !select_menus(message).is_empty()).await;
    assert_eq!(panel.content, "How can we help?");
    let [menu] = select_menus(&panel).try_into().expect("one menu");
    assert_eq!(menu["placeholder"], "What is it about?");
    let options = menu["options"].as_array().expect("options");
    let values: Vec<&str> = options.iter().filter_map(|o| o["value"].as_str()).collect();
    assert_eq!(values, [SUPPORT, "bugs", "billing"], "position order");
    assert_eq!(options[2]["description"], "Invoices and refunds");
    assert_eq!(options[2]["emoji"]["name"], "🎫");

    let custom_id = menu["custom_id"].as_str().expect("custom id").to_owned();
    let alice = harness.world.alice;
    let outcome = harness
        .control
        .choose_in_menu(alice, panel.id, &custom_id, &["billing"])
        .await
        .expect("the choice is offered");
    assert!(!outcome.failed(), "acknowledged in time");
    let answer = harness.answer(&outcome).await;
    let channel = channel_link(&answer).unwrap_or_else(|| panic!("a channel link: {answer}"));
    let ticket = harness.ticket_of(channel).await;
    assert_eq!(ticket.category_key, "billing");
    assert_eq!(ticket.user_id.get(), alice);

    // One panel for the three (support's own is deleted), and /status names it for each.
    let (control, channel) = (harness.control.clone(), harness.world.create_channel);
    eventually("one panel left in the create channel", || {
        let ours = control
            .messages(channel)
            .into_iter()
            .filter(|message| message.author_id == control.bot_user_id())
            .count();
        async move { (ours == 1).then_some(()) }
    })
    .await;
    let status = harness.status().await;
    for key in [SUPPORT, "billing", "bugs"] {
        assert_eq!(
            status["categories"][key]["panel_message_id"],
            panel.id.to_string(),
            "{key}: {status}"
        );
    }
}

#[tokio::test]
async fn a_category_joining_a_shared_panel_leaves_its_own_and_the_panel_is_edited_in_place() {
    let harness = Harness::start().await;
    let own_panel = harness.panel(SUPPORT).await;
    let base = harness.config_yaml(&[(SUPPORT, "Need help?"), ("billing", "Pick a topic")]);
    harness.write_config(&with_options(&base, "billing", "    panel: {name: desk}\n"));
    let shared = bot_message_where(&harness, |message| {
        message.button_custom_ids() == ["ticketeer:open:billing"]
    })
    .await;
    assert_eq!(shared.content, "Pick a topic");

    // Support joins the panel, first in order: its own panel goes, the shared one is edited.
    let joined = with_options(&base, "billing", "    panel: {name: desk, position: 1}\n");
    harness.write_config(&with_options(&joined, SUPPORT, "    panel: {name: desk}\n"));
    let (control, channel) = (harness.control.clone(), harness.world.create_channel);
    let own_id = own_panel.id;
    eventually("support's own panel to be deleted", || {
        let gone = control.message(own_id).is_none();
        async move { gone.then_some(()) }
    })
    .await;
    let edited = bot_message_where(&harness, |message| {
        message.button_custom_ids() == ["ticketeer:open:support", "ticketeer:open:billing"]
    })
    .await;
    assert_eq!(edited.id, shared.id, "the shared panel keeps its message");
    assert_eq!(edited.content, "Need help?", "the first category's text");
    assert!(edited.edited_at_ms.is_some());
    assert_eq!(
        control
            .messages(channel)
            .iter()
            .filter(|message| message.author_id == control.bot_user_id())
            .count(),
        1
    );

    let outcome = harness
        .click(harness.world.alice, edited.id, "ticketeer:open:support")
        .await;
    let answer = harness.answer(&outcome).await;
    let channel = channel_link(&answer).unwrap_or_else(|| panic!("a channel link: {answer}"));
    assert_eq!(harness.ticket_of(channel).await.category_key, SUPPORT);
}
