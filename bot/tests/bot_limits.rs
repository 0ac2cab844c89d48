//! Opening limits end to end, against the Discord emulator and Postgres: a required role, a
//! denied role and the cooldown after a close, each refused with a clear answer and nothing
//! written, and counted in /metrics.

mod support;

use std::time::Duration;

use support::closing::{click_close, wait_for_state};
use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_bot::store::TicketState;

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

async fn bot_with(options: &str, loaded: impl Fn(&Harness) -> bool) -> Harness {
    let harness = Harness::start().await;
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&yaml.replace(BUTTON_LINE, &format!("{BUTTON_LINE}{options}")));
    eventually("the bot to load the limits", || {
        let done = loaded(&harness);
        async move { done.then_some(()) }
    })
    .await;
    harness
}

#[tokio::test]
async fn a_required_role_is_needed_and_a_denied_role_refuses() {
    let harness = Harness::start().await;
    let (control, guild) = (harness.control.clone(), harness.world.guild);
    let member = control.create_role(guild, "Member", 0).expect("role");
    let muted = control.create_role(guild, "Muted", 0).expect("role");
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&yaml.replace(
        BUTTON_LINE,
        &format!(
            "{BUTTON_LINE}    requiredRoleIds: [\"{member}\"]\n    deniedRoleIds: [\"{muted}\"]\n"
        ),
    ));
    eventually("the bot to load the limits", || {
        let done = !harness.ctx.config().categories[SUPPORT]
            .denied_role_ids
            .is_empty();
        async move { done.then_some(()) }
    })
    .await;
    let alice = harness.world.alice;

    let refused = harness.click_open(alice).await;
    assert_eq!(
        harness.answer(&refused).await,
        "You need one of this category's roles to open a ticket here. Please ask a server admin."
    );
    control
        .set_member_roles(guild, alice, &[member, muted])
        .expect("roles");
    let denied = harness.click_open(alice).await;
    assert_eq!(
        harness.answer(&denied).await,
        "One of your roles may not open a ticket in this category."
    );
    assert_eq!(
        harness.open_tickets().await,
        0,
        "a refused open writes nothing"
    );

    control
        .set_member_roles(guild, alice, &[member])
        .expect("roles");
    let opened = harness.click_open(alice).await;
    let answer = harness.answer(&opened).await;
    assert!(channel_link(&answer).is_some(), "{answer}");
    let exported = harness.metrics_text().await;
    for reason in ["missing_role", "denied_role"] {
        assert!(
            exported.contains(&format!(
                "ticketeer_open_refusals_total{{category=\"support\",reason=\"{reason}\"}} 1"
            )),
            "{reason}: {exported}"
        );
    }
}

#[tokio::test]
async fn after_a_close_the_cooldown_refuses_until_it_has_passed() {
    let harness = bot_with("    cooldownSeconds: 3\n", |harness| {
        harness.ctx.config().categories[SUPPORT].cooldown == Duration::from_secs(3)
    })
    .await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    click_close(&harness, channel, &ticket).await;
    wait_for_state(&harness, ticket.id, TicketState::Closed).await;

    let refused = harness.click_open(alice).await;
    let answer = harness.answer(&refused).await;
    assert!(
        answer.starts_with("Your last ticket here closed only recently: you can open another <t:"),
        "{answer}"
    );
    assert_eq!(harness.open_tickets().await, 0);
    // Another member is not held back by Alice's cooldown.
    assert!(
        channel_link(
            &harness
                .answer(&harness.click_open(harness.world.bob).await)
                .await
        )
        .is_some()
    );

    // Once the cooldown has run, Alice opens again.
    let reopened = eventually("the cooldown to pass", || {
        let harness = &harness;
        async move {
            let outcome = harness.click_open(alice).await;
            channel_link(&harness.answer(&outcome).await)
        }
    })
    .await;
    assert_ne!(reopened, channel);
}

#[tokio::test]
async fn a_member_holds_up_to_max_open_per_user_tickets_even_when_clicking_at_once() {
    let harness = bot_with("    maxOpenPerUser: 2\n", |harness| {
        harness.ctx.config().categories[SUPPORT].max_open_per_user == 2
    })
    .await;
    let alice = harness.world.alice;
    // Four clicks at once: the database gives out exactly the two slots.
    let clicks = futures_util::future::join_all((0..4).map(|_| harness.click_open(alice))).await;
    let mut answers = Vec::new();
    for outcome in &clicks {
        assert!(!outcome.failed(), "every click is acknowledged");
        answers.push(harness.answer(outcome).await);
    }
    let mut opened: Vec<u64> = answers
        .iter()
        .filter(|answer| answer.starts_with("Your ticket is open"))
        .filter_map(|answer| channel_link(answer))
        .collect();
    opened.sort_unstable();
    opened.dedup();
    assert_eq!(opened.len(), 2, "two tickets: {answers:?}");
    assert_eq!(harness.open_tickets().await, 2);
    let refusals: Vec<&String> = answers
        .iter()
        .filter(|answer| answer.starts_with("You already have 2 open tickets here"))
        .collect();
    assert_eq!(refusals.len(), 2, "{answers:?}");

    // A later click lists both tickets.
    let answer = harness.answer(&harness.click_open(alice).await).await;
    let (first, second) = (opened[0], opened[1]);
    assert!(
        answer
            == format!(
                "You already have 2 open tickets here, the most this category allows: <#{first}>, <#{second}>. Please close one first."
            )
            || answer
                == format!(
                    "You already have 2 open tickets here, the most this category allows: <#{second}>, <#{first}>. Please close one first."
                ),
        "{answer}"
    );

    // Closing one frees its slot.
    let ticket = harness.ticket_of(first).await;
    click_close(&harness, first, &ticket).await;
    wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let third = harness.open_ticket(alice).await;
    assert!(!opened.contains(&third));
    assert_eq!(harness.open_tickets().await, 2);
}

#[tokio::test]
async fn the_guild_cap_refuses_opens_beyond_it_and_status_warns_near_it() {
    let harness = Harness::start().await;
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness.write_config(&format!("{yaml}limits:\n  maxOpenTicketsPerGuild: 2\n"));
    eventually("the bot to load the cap", || {
        let done = harness.ctx.config().max_open_tickets_per_guild == Some(2);
        async move { done.then_some(()) }
    })
    .await;
    let world = &harness.world;
    let status = || harness.status();
    let before = status().await;
    let support = &before["categories"][SUPPORT];
    assert_eq!(support["problems"], serde_json::json!([]), "{before}");
    assert_eq!(
        support["parents"],
        serde_json::json!([{"channel_id": world.parent.to_string(), "channels": 0, "limit": 50}]),
        "the parent's fill: {before}"
    );

    // Three members click at once; the cap lets two in.
    let users = [world.alice, world.bob, world.carol];
    let clicks = futures_util::future::join_all(users.map(|user| harness.click_open(user))).await;
    let mut answers = Vec::new();
    for outcome in &clicks {
        answers.push(harness.answer(outcome).await);
    }
    let opened = answers
        .iter()
        .filter(|answer| channel_link(answer).is_some())
        .count();
    let capped = answers
        .iter()
        .filter(|answer| {
            *answer
                == "This server has 2 tickets open, the most it allows. Please try again once some are closed."
        })
        .count();
    assert_eq!((opened, capped), (2, 1), "{answers:?}");
    assert_eq!(harness.open_tickets().await, 2);
    assert!(
        harness
            .metrics_text()
            .await
            .contains("ticketeer_open_refusals_total{category=\"support\",reason=\"guild_cap\"} 1")
    );

    let full = eventually("/status to warn of the cap", || {
        let status = status();
        async move {
            let report = status.await;
            let problems = report["categories"][SUPPORT]["problems"].clone();
            (problems != serde_json::json!([])).then_some(report)
        }
    })
    .await;
    let support = &full["categories"][SUPPORT];
    assert_eq!(
        support["problems"],
        serde_json::json!([{
            "kind": "guild_cap_nearly_reached",
            "guild_id": world.guild.to_string(),
            "open_tickets": 2,
            "cap": 2,
        }]),
        "{full}"
    );
    assert_eq!(support["parents"][0]["channels"], 2, "{full}");

    // A close makes room for the member who was refused.
    let first = answers
        .iter()
        .find_map(|answer| channel_link(answer))
        .expect("an open");
    let ticket = harness.ticket_of(first).await;
    click_close(&harness, first, &ticket).await;
    wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let refused = users
        .into_iter()
        .zip(&answers)
        .find(|(_, answer)| channel_link(answer).is_none())
        .map(|(user, _)| user)
        .expect("a refused member");
    harness.open_ticket(refused).await;
}
