//! The staff tools end to end, against the Discord emulator and Postgres: slash commands and
//! their registration, claiming (command and button, with writing locked), adding and removing
//! people, closing with a reason, close requests with their durable timer, renaming and moving.

mod support;

use std::time::Duration;

use support::closing::{log_posts, wait_for_state};
use support::{Harness, SUPPORT, eventually};
use ticketeer_bot::store::{self, TicketState};
use ticketeer_testkit::discord::{
    ChannelSpec, CommandInput, ControlError, InteractionOutcome, OptionValue,
};
use ticketeer_testkit::tools::pbincli_get;
use twilight_model::id::Id;

const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const COMMANDS_ROUTE: &str = "/applications/{application_id}/guilds/{guild_id}/commands";

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

/// Shows `/ticket` to the ticket role's members, as the README tells a server admin to do
/// (Discord shows it to members who can manage channels by default).
fn show_ticket_command_to_staff(harness: &Harness) {
    let world = &harness.world;
    harness
        .control
        .allow_command_for_role(world.guild, "ticket", world.staff_role);
}

/// A bot whose `support` category has `options` (YAML lines, indented for the category).
async fn bot_with(options: &str) -> Harness {
    let harness = Harness::start().await;
    show_ticket_command_to_staff(&harness);
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    assert!(yaml.contains(BUTTON_LINE), "{yaml}");
    harness.write_config(&yaml.replace(BUTTON_LINE, &format!("{BUTTON_LINE}{options}")));
    let wanted = options.to_owned();
    eventually("the bot to load the category's options", || {
        let config = harness.ctx.config();
        let loaded = config.categories.values().all(|category| {
            (!wanted.contains("claimButton") || category.claim_button)
                && (!wanted.contains("requestCloseTimeoutSeconds")
                    || category.request_close_timeout < Duration::from_mins(1))
        });
        async move { loaded.then_some(()) }
    })
    .await;
    wait_for_commands(&harness).await;
    harness
}

async fn wait_for_commands(harness: &Harness) {
    let (control, guild) = (harness.control.clone(), harness.world.guild);
    eventually("the bot to register its commands", || {
        let names: Vec<String> = control
            .guild_commands(guild)
            .into_iter()
            .map(|command| command.name)
            .collect();
        async move { (names == ["ticket", "close"]).then_some(()) }
    })
    .await;
}

/// `user` runs `/ticket sub` (or `/close` when `sub` is `None`) in `channel`.
async fn run(
    harness: &Harness,
    user: u64,
    channel: u64,
    sub: Option<&str>,
    values: &[(&str, OptionValue)],
) -> Result<InteractionOutcome, ControlError> {
    if let Some(sub) = sub {
        return harness
            .control
            .run_command(user, channel, "ticket", &[CommandInput::sub(sub, values)])
            .await;
    }
    let inputs: Vec<CommandInput> = values
        .iter()
        .map(|(name, value)| CommandInput::value(name, value.clone()))
        .collect();
    harness
        .control
        .run_command(user, channel, "close", &inputs)
        .await
}

/// Runs a command that the client lets through and returns the bot's answer.
async fn answer(
    harness: &Harness,
    user: u64,
    channel: u64,
    sub: Option<&str>,
    values: &[(&str, OptionValue)],
) -> String {
    let outcome = run(harness, user, channel, sub, values)
        .await
        .expect("the client lets the member run the command");
    assert!(!outcome.failed(), "the command is acknowledged in time");
    assert!(outcome.is_ephemeral(), "only the member sees the answer");
    harness.answer(&outcome).await
}

/// `staff` runs `/ticket sub user:member` (add or remove) and returns the answer.
async fn about_member(
    harness: &Harness,
    staff: u64,
    channel: u64,
    sub: &str,
    member: u64,
) -> String {
    answer(
        harness,
        staff,
        channel,
        Some(sub),
        &[("user", OptionValue::user(member))],
    )
    .await
}

fn can(harness: &Harness, user: u64, channel: u64, bits: u64) -> bool {
    harness
        .control
        .permissions(harness.world.guild, user, Some(channel))
        & bits
        == bits
}

/// Another member with the `support` role.
fn second_staff_member(harness: &Harness) -> u64 {
    let dave = harness.control.create_user("dave");
    harness
        .control
        .add_member(harness.world.guild, dave, &[harness.world.staff_role])
        .expect("dave joins");
    dave
}

fn command_requests(harness: &Harness) -> Vec<String> {
    harness
        .control
        .request_log()
        .into_iter()
        .filter(|request| request.route == COMMANDS_ROUTE && request.status < 300)
        .map(|request| request.method)
        .collect()
}

#[tokio::test]
async fn commands_are_registered_once_and_again_only_when_their_definition_changes() {
    let mut harness = Harness::start().await;
    wait_for_commands(&harness).await;
    let commands = harness.control.guild_commands(harness.world.guild);
    assert_eq!(
        commands[0].default_member_permissions,
        Some(1 << 4),
        "/ticket is shown to members who can manage channels"
    );
    assert_eq!(
        commands[1].default_member_permissions, None,
        "/close to everyone"
    );
    eventually("the first registration to finish", || {
        let done = command_requests(&harness) == ["GET", "PUT"];
        async move { done.then_some(()) }
    })
    .await;

    // A restart reads the commands and finds them current.
    harness.restart(|_| {}).await;
    eventually("the restarted bot to read its commands", || {
        let read = command_requests(&harness).len() >= 3;
        async move { read.then_some(()) }
    })
    .await;

    // A new category in the guild is a new choice of /ticket move: registered once more.
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?"), ("sales", "Buying?")]);
    harness.write_config(&yaml);
    eventually("the new choice to be registered", || {
        let registered = command_requests(&harness).len() >= 5;
        async move { registered.then_some(()) }
    })
    .await;
    assert_eq!(
        command_requests(&harness),
        ["GET", "PUT", "GET", "GET", "PUT"],
        "written at the first start and after the change only"
    );
    let ticket = &harness.control.guild_commands(harness.world.guild)[0];
    let choices = ticket
        .options
        .iter()
        .find(|option| option["name"] == "move")
        .map(|option| option["options"][0]["choices"].clone())
        .expect("a move subcommand");
    assert_eq!(choices.as_array().map(Vec::len), Some(2), "{choices}");
}

#[tokio::test]
async fn staff_add_claim_lock_unclaim_remove_and_close_with_a_reason() {
    let harness = bot_with("    claimButton: true\n    claimLocksWriting: true\n").await;
    let world = &harness.world;
    let (alice, bob, carol) = (world.alice, world.bob, world.carol);
    let dave = second_staff_member(&harness);
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let welcome = harness.pinned_welcome(channel).await;
    let claim_id = format!("ticketeer:claim:{}", ticket.id);
    assert!(
        serde_json::to_string(&welcome.components)
            .unwrap()
            .contains(&claim_id),
        "the first message carries a Claim button"
    );

    // Discord's client does not offer /ticket to the creator (no Manage Channels).
    let hidden = run(&harness, alice, channel, Some("claim"), &[]).await;
    assert!(
        matches!(hidden, Err(ControlError::CommandHidden { .. })),
        "{hidden:?}"
    );

    assert!(!can(&harness, carol, channel, VIEW_CHANNEL));
    let added = about_member(&harness, bob, channel, "add", carol).await;
    assert_eq!(
        added,
        format!("<@{carol}> can now see and write in this ticket.")
    );
    assert!(can(&harness, carol, channel, VIEW_CHANNEL | SEND_MESSAGES));
    let row = harness.ticket_of(channel).await;
    assert_eq!(
        row.additional_users
            .iter()
            .copied()
            .map(Id::get)
            .collect::<Vec<_>>(),
        [carol]
    );

    // Carol is in the ticket now, but neither its creator nor staff: she may not close it.
    let refused = answer(&harness, carol, channel, None, &[]).await;
    assert!(
        refused.starts_with("You cannot close this ticket"),
        "{refused}"
    );

    // Bob claims with the button: the claim shows, and the other staff only read.
    let claimed = harness.click(bob, welcome.id, &claim_id).await;
    assert_eq!(harness.answer(&claimed).await, "You claimed this ticket.");
    let shown = harness
        .control
        .wait_for(Duration::from_secs(10), |control| {
            let message = control.message(welcome.id)?;
            message
                .content
                .ends_with(&format!("**Claimed by** <@{bob}>"))
                .then_some(message)
        })
        .await
        .expect("the first message shows the claimer");
    assert!(
        serde_json::to_string(&shown.components)
            .unwrap()
            .contains(&format!("ticketeer:unclaim:{}", ticket.id))
    );
    let topic = harness
        .control
        .channel(channel)
        .and_then(|c| c.topic)
        .unwrap_or_default();
    assert!(topic.ends_with(&format!("claimed by <@{bob}>")), "{topic}");
    assert!(can(&harness, dave, channel, VIEW_CHANNEL));
    assert!(
        !can(&harness, dave, channel, SEND_MESSAGES),
        "other staff only read"
    );
    for writer in [alice, bob, carol] {
        assert!(
            can(&harness, writer, channel, SEND_MESSAGES),
            "{writer} writes"
        );
    }
    let taken = answer(&harness, dave, channel, Some("claim"), &[]).await;
    assert_eq!(
        taken,
        format!("<@{bob}> has claimed this ticket; they (or other staff) must unclaim it first.")
    );

    // Any staff member may give the claim up; everyone's voice comes back.
    assert_eq!(
        answer(&harness, dave, channel, Some("unclaim"), &[]).await,
        "The ticket is no longer claimed."
    );
    assert!(can(&harness, dave, channel, SEND_MESSAGES));
    assert_eq!(harness.ticket_of(channel).await.claimed_by, None);
    // Claimed by command, given up with the button it turned into.
    let by_command = answer(&harness, dave, channel, Some("claim"), &[]).await;
    assert_eq!(by_command, "You claimed this ticket.");
    let unclaim_id = format!("ticketeer:unclaim:{}", ticket.id);
    harness
        .control
        .wait_for(Duration::from_secs(10), |control| {
            let message = control.message(welcome.id)?;
            serde_json::to_string(&message.components)
                .ok()?
                .contains(&unclaim_id)
                .then_some(())
        })
        .await
        .expect("the button offers Unclaim");
    let unclaimed = harness.click(dave, welcome.id, &unclaim_id).await;
    assert_eq!(
        harness.answer(&unclaimed).await,
        "The ticket is no longer claimed."
    );
    assert_eq!(harness.ticket_of(channel).await.claimed_by, None);

    let removed = about_member(&harness, bob, channel, "remove", carol).await;
    assert_eq!(
        removed,
        format!("<@{carol}> no longer has access to this ticket.")
    );
    assert!(!can(&harness, carol, channel, VIEW_CHANNEL));
    let creator = about_member(&harness, bob, channel, "remove", alice).await;
    assert!(
        creator.starts_with("The person who opened this ticket cannot be removed"),
        "{creator}"
    );
    assert!(can(&harness, alice, channel, VIEW_CHANNEL));

    about_member(&harness, bob, channel, "add", carol).await;
    let closing = answer(
        &harness,
        bob,
        channel,
        Some("close"),
        &[("reason", OptionValue::string("Refund sent"))],
    )
    .await;
    assert_eq!(closing, format!("Closing ticket #{}…", ticket.id));
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.close_reason.as_deref(), Some("Refund sent"));
    let posts = log_posts(&harness, ticket.id);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].content.contains("\nReason: Refund sent\n"),
        "{}",
        posts[0].content
    );
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    assert!(text.contains("- **Added to the ticket:** carol"), "{text}");
}

#[tokio::test]
async fn a_command_delivered_to_two_replicas_is_handled_once() {
    let harness = bot_with("").await;
    let replica = harness.start_replica().await;
    let (bob, carol) = (harness.world.bob, harness.world.carol);
    let channel = harness.open_ticket(harness.world.alice).await;
    harness.control.clear_request_log();
    let added = about_member(&harness, bob, channel, "add", carol).await;
    assert_eq!(
        added,
        format!("<@{carol}> can now see and write in this ticket.")
    );
    let edits = harness
        .control
        .request_log()
        .into_iter()
        .filter(|request| {
            request.method == "PUT"
                && request.path == format!("/channels/{channel}/permissions/{carol}")
        })
        .count();
    assert_eq!(edits, 1, "one replica did the work");
    let callbacks = harness
        .control
        .request_log()
        .into_iter()
        .filter(|request| request.route.ends_with("/callback") && request.status < 300)
        .count();
    assert_eq!(callbacks, 1, "acknowledged once");
    replica.stop().await.expect("the replica stops");
}

#[tokio::test]
async fn an_unanswered_close_request_closes_the_ticket_once_after_a_restart() {
    let mut harness = bot_with("    requestCloseTimeoutSeconds: 2\n").await;
    let (alice, bob) = (harness.world.alice, harness.world.bob);
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let asked = answer(
        &harness,
        bob,
        channel,
        Some("request-close"),
        &[("reason", OptionValue::string("No answer for a week"))],
    )
    .await;
    assert!(
        asked.starts_with("I asked the person who opened this ticket"),
        "{asked}"
    );
    let request = harness
        .control
        .wait_for(Duration::from_secs(10), |control| {
            control
                .messages(channel)
                .into_iter()
                .find(|message| message.content.contains("would like to close this ticket"))
        })
        .await
        .expect("the creator is asked in the channel");
    assert!(
        request
            .content
            .starts_with(&format!("<@{alice}>, <@{bob}> would like"))
    );
    assert!(request.content.contains("**Reason:** No answer for a week"));

    // The bot is down when the request comes due; its successor and a second replica find it.
    harness
        .restart(|_| std::thread::sleep(Duration::from_millis(2500)))
        .await;
    let replica = harness.start_replica().await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.closed_by.map(Id::get), Some(bob));
    assert_eq!(closed.close_reason.as_deref(), Some("No answer for a week"));
    assert_eq!(
        log_posts(&harness, ticket.id).len(),
        1,
        "closed and logged once"
    );
    replica.stop().await.expect("the replica stops");
}

#[tokio::test]
async fn the_creator_keeps_a_ticket_open_or_confirms_the_close() {
    let harness = bot_with("").await;
    let world = &harness.world;
    let (alice, bob, carol) = (world.alice, world.bob, world.carol);
    let channel = harness.open_ticket(alice).await;
    let ticket = harness.ticket_of(channel).await;
    let request_message = |harness: &Harness| {
        let control = harness.control.clone();
        async move {
            control
                .wait_for(Duration::from_secs(10), |control| {
                    control.messages(channel).into_iter().rev().find(|message| {
                        message.content.contains("would like to close")
                            && !message.components.is_empty()
                    })
                })
                .await
                .expect("a pending close request")
        }
    };
    answer(&harness, bob, channel, Some("request-close"), &[]).await;
    let request = request_message(&harness).await;
    let keep = format!("ticketeer:keep-open:{}", ticket.id);
    about_member(&harness, bob, channel, "add", carol).await;
    let not_hers = harness.click(carol, request.id, &keep).await;
    assert_eq!(
        harness.answer(&not_hers).await,
        "Only the person who opened this ticket can answer this."
    );
    let kept = harness.click(alice, request.id, &keep).await;
    assert_eq!(harness.answer(&kept).await, "The ticket stays open.");
    let retired = harness
        .control
        .message(request.id)
        .expect("the request message");
    assert!(retired.components.is_empty(), "its buttons are gone");
    assert!(
        retired
            .content
            .ends_with(&format!("<@{alice}> kept it open.")),
        "{}",
        retired.content
    );
    assert_eq!(
        store::take_close_request(&harness.pool, ticket.id)
            .await
            .unwrap(),
        None,
        "no timer is left to fire"
    );

    answer(
        &harness,
        bob,
        channel,
        Some("request-close"),
        &[("reason", OptionValue::string("Solved"))],
    )
    .await;
    let request = request_message(&harness).await;
    let confirmed = harness
        .click(
            alice,
            request.id,
            &format!("ticketeer:confirm-close:{}", ticket.id),
        )
        .await;
    assert_eq!(
        harness.answer(&confirmed).await,
        format!("Closing ticket #{}…", ticket.id)
    );
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.closed_by.map(Id::get), Some(alice));
    assert_eq!(closed.close_reason.as_deref(), Some("Solved"));
}

/// `/ticket move category` by `staff` in `channel`, once the command's choices (which a reload
/// re-registers) include the category; the answer.
async fn first_move(harness: &Harness, staff: u64, channel: u64, category: &str) -> String {
    eventually("the move choices to be registered", || async move {
        let outcome = run(
            harness,
            staff,
            channel,
            Some("move"),
            &[("category", OptionValue::string(category))],
        )
        .await
        .ok()?;
        Some(harness.answer(&outcome).await)
    })
    .await
}

#[tokio::test]
async fn staff_rename_a_ticket_and_move_it_to_another_category_with_its_roles() {
    let harness = Harness::start().await;
    show_ticket_command_to_staff(&harness);
    let world = &harness.world;
    let control = &harness.control;
    let sales_parent = control
        .create_channel(world.guild, ChannelSpec::category("Sales tickets"))
        .expect("a second channel category");
    let sales_role = control
        .create_role(world.guild, "sales", 0)
        .expect("a sales role");
    let erin = control.create_user("erin");
    control
        .add_member(world.guild, erin, &[sales_role])
        .expect("erin joins");
    let sales = world
        .category_yaml("sales", "Buying?")
        .replace(
            &format!("parentChannelId: \"{}\"", world.parent),
            &format!("parentChannelId: \"{sales_parent}\""),
        )
        .replace(
            &format!("roleIds: [\"{}\"]", world.staff_role),
            &format!("roleIds: [\"{sales_role}\"]"),
        )
        .replace("name: Support", "name: Sales");
    let yaml = format!("{}{sales}", harness.config_yaml(&[(SUPPORT, "Need help?")]));
    harness.write_config(&yaml);
    eventually("the bot to load the sales category", || {
        let loaded = harness.ctx.config().categories.contains_key("sales");
        async move { loaded.then_some(()) }
    })
    .await;
    let (alice, bob) = (world.alice, world.bob);
    let channel = harness.open_ticket(alice).await;

    let renamed = answer(
        &harness,
        bob,
        channel,
        Some("rename"),
        &[("name", OptionValue::string("Refund Case"))],
    )
    .await;
    assert_eq!(renamed, "The ticket channel was renamed.");
    assert_eq!(
        control.channel(channel).and_then(|c| c.name).as_deref(),
        Some("refund-case")
    );

    assert!(!can(&harness, erin, channel, VIEW_CHANNEL));
    let moved = first_move(&harness, bob, channel, "sales").await;
    assert_eq!(moved, "The ticket moved to **Sales**.");
    let row = harness.ticket_of(channel).await;
    assert_eq!(row.category_key, "sales");
    assert_eq!(
        control.channel(channel).and_then(|c| c.parent_id),
        Some(sales_parent)
    );
    assert!(
        can(&harness, erin, channel, VIEW_CHANNEL | SEND_MESSAGES),
        "the new role has access"
    );
    assert!(
        !can(&harness, bob, channel, VIEW_CHANNEL),
        "the old role has not"
    );
    assert!(can(&harness, alice, channel, VIEW_CHANNEL | SEND_MESSAGES));
    // Outside a ticket channel a command does nothing.
    let outside = answer(&harness, bob, world.create_channel, Some("claim"), &[]).await;
    assert_eq!(
        outside,
        "This command works only in an open ticket's channel."
    );
    // The creator closes with /close, which everyone is shown; the ticket closes in its new
    // category, logged in that category's log channel.
    let ticket = harness.ticket_of(channel).await;
    let closing = answer(&harness, alice, channel, None, &[]).await;
    assert_eq!(closing, format!("Closing ticket #{}…", ticket.id));
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.closed_by.map(Id::get), Some(alice));
    assert_eq!(closed.close_reason, None);
}

#[tokio::test]
async fn a_move_into_a_full_category_goes_to_its_overflow_and_respects_its_maximum() {
    let harness = Harness::start().await;
    show_ticket_command_to_staff(&harness);
    let world = &harness.world;
    let control = &harness.control;
    let category = |name: &str| {
        control
            .create_channel(world.guild, ChannelSpec::category(name))
            .expect("a channel category")
    };
    let (sales_parent, sales_overflow) = (category("Sales"), category("Sales 2"));
    for index in 0..50 {
        control
            .create_channel(
                world.guild,
                ChannelSpec::text(&format!("filler-{index}")).under(sales_parent),
            )
            .expect("a filler channel");
    }
    let sales = world
        .category_yaml("sales", "Buying?")
        .replace(
            &format!("parentChannelId: \"{}\"", world.parent),
            &format!(
                "parentChannelId: \"{sales_parent}\"\n    overflowParentChannelIds: [\"{sales_overflow}\"]"
            ),
        )
        .replace("name: Support", "name: Sales");
    harness.write_config(&format!(
        "{}{sales}",
        harness.config_yaml(&[(SUPPORT, "Need help?")])
    ));
    eventually("the bot to load the sales category", || {
        let loaded = harness.ctx.config().categories.contains_key("sales");
        async move { loaded.then_some(()) }
    })
    .await;
    let (alice, bob) = (world.alice, world.bob);
    let first = harness.open_ticket(alice).await;
    let moved = first_move(&harness, bob, first, "sales").await;
    assert_eq!(moved, "The ticket moved to **Sales**.");
    assert_eq!(
        control.channel(first).and_then(|c| c.parent_id),
        Some(sales_overflow),
        "the full parent's overflow takes the channel"
    );
    assert_eq!(harness.ticket_of(first).await.category_key, "sales");

    // Sales allows one ticket per member: Alice's next support ticket cannot follow.
    let second = harness.open_ticket(alice).await;
    let refused = answer(
        &harness,
        bob,
        second,
        Some("move"),
        &[("category", OptionValue::string("sales"))],
    )
    .await;
    assert_eq!(
        refused,
        "The person who opened this ticket already has one open in that category."
    );
    assert_eq!(harness.ticket_of(second).await.category_key, SUPPORT);
    assert_eq!(
        control.channel(second).and_then(|c| c.parent_id),
        Some(world.parent)
    );
}
