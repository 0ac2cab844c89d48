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
