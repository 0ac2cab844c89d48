//! Thread mode end to end, against the Discord emulator, PrivateBin and Postgres: a ticket is a
//! private thread of the panel's channel that its creator, the people added to it and staff
//! (through Manage Threads) see and nobody else does, with the same welcome, close, transcript
//! (read by pbincli) and log post as a channel; a thread deleted by hand closes its ticket; and
//! a server holding Discord's 500 channels still opens thread tickets.

mod support;

use support::closing::{click_close, log_posts, ticket_with_texts, wait_for_state};
use support::{Harness, SUPPORT, channel_link, eventually};
use ticketeer_bot::store::TicketState;
use ticketeer_testkit::discord::permissions::{MANAGE_THREADS, SEND_MESSAGES, VIEW_CHANNEL};
use ticketeer_testkit::discord::{
    ChannelKind, CommandInput, Control, EmulatorConfig, OptionValue, Overwrite, UserMessage,
};
use ticketeer_testkit::tools::pbincli_get;

/// The `support` category's YAML line after which options are added.
const BUTTON_LINE: &str =
    "    createButton: {label: Open a ticket, emoji: \"🎫\", style: primary}\n";

/// A bot whose `support` category keeps its tickets as threads of the panel's channel, where
/// the bot and the staff role may manage threads (as a server admin sets it up).
async fn thread_mode_bot(config: EmulatorConfig) -> Harness {
    let harness = Harness::start_with(config, |_| {}).await;
    let world = &harness.world;
    let control = &harness.control;
    let mut overwrites = control
        .channel(world.create_channel)
        .expect("the panel channel")
        .overwrites;
    overwrites.push(Overwrite::role(world.staff_role, MANAGE_THREADS, 0));
    overwrites.push(Overwrite::member(control.bot_user_id(), MANAGE_THREADS, 0));
    control
        .set_channel_overwrites(world.create_channel, overwrites)
        .expect("overwrites");
    control.allow_command_for_role(world.guild, "ticket", world.staff_role);
    let yaml = harness.config_yaml(&[(SUPPORT, "Need help?")]);
    harness
        .write_config(&yaml.replace(BUTTON_LINE, &format!("{BUTTON_LINE}    threadMode: true\n")));
    eventually("the bot to load thread mode", || {
        let loaded = harness.ctx.config().categories[SUPPORT].thread_mode;
        async move { loaded.then_some(()) }
    })
    .await;
    harness
}

/// Runs `/ticket <sub> user:<user>` as `staff` in `channel` and returns the answer.
async fn staff_about(harness: &Harness, staff: u64, channel: u64, sub: &str, user: u64) -> String {
    let outcome = harness
        .control
        .run_command(
            staff,
            channel,
            "ticket",
            &[CommandInput::sub(sub, &[("user", OptionValue::user(user))])],
        )
        .await
        .expect("staff may run /ticket");
    harness.answer(&outcome).await
}

fn sees(harness: &Harness, user: u64, channel: u64) -> bool {
    harness
        .control
        .permissions(harness.world.guild, user, Some(channel))
        & VIEW_CHANNEL
        != 0
}

#[tokio::test]
async fn a_thread_mode_ticket_runs_the_whole_open_and_close_cycle() {
    let harness = thread_mode_bot(support::emulator_config()).await;
    let world = &harness.world;
    let control = &harness.control;
    let (alice, bob, carol) = (world.alice, world.bob, world.carol);

    let status = harness.status().await;
    assert_eq!(
        status["categories"][SUPPORT]["problems"],
        serde_json::json!([]),
        "{status}"
    );
    assert_eq!(
        status["categories"][SUPPORT]["parents"],
        serde_json::json!([])
    );

    let thread = harness.open_ticket(alice).await;
    let channel = control.channel(thread).expect("the ticket's thread");
    assert_eq!(channel.kind, ChannelKind::PrivateThread);
    assert_eq!(channel.parent_id, Some(world.create_channel));
    let members = channel.thread.expect("thread facts").members;
    assert_eq!(members, [control.bot_user_id(), alice]);
    assert!(sees(&harness, alice, thread));
    assert!(
        sees(&harness, bob, thread),
        "staff see it through Manage Threads"
    );
    assert!(!sees(&harness, carol, thread));
    assert!(
        control
            .channels(world.guild)
            .iter()
            .all(|c| c.parent_id != Some(world.parent)),
        "nothing is created under the parent category"
    );

    // The welcome is pinned in the thread and pings the staff role, with the Close button.
    let welcome = harness.pinned_welcome(thread).await;
    assert!(
        welcome
            .content
            .contains(&format!("<@&{}>", world.staff_role)),
        "{}",
        welcome.content
    );
    assert_eq!(welcome.notified_roles, [world.staff_role]);

    // A second click links the open thread, as for channels.
    let again = harness.answer(&harness.click_open(alice).await).await;
    assert_eq!(
        again,
        format!("You already have an open ticket: <#{thread}>")
    );

    control
        .post_message(alice, thread, UserMessage::text("My invoice is wrong"))
        .expect("the creator writes");
    control
        .post_message(bob, thread, UserMessage::text("Looking into it"))
        .expect("staff write");

    // /ticket add makes carol a member of the thread, /ticket remove takes her out, even once
    // Discord archived the thread for its quiet week: the bot unarchives it.
    control
        .archive_thread(thread)
        .expect("Discord archives the quiet thread");
    assert_eq!(
        staff_about(&harness, bob, thread, "add", carol).await,
        format!("<@{carol}> can now see and write in this ticket.")
    );
    assert!(sees(&harness, carol, thread));
    control
        .post_message(carol, thread, UserMessage::text("I was charged twice too"))
        .expect("an added member writes");
    let archived = |control: &Control| {
        control
            .channel(thread)
            .and_then(|c| c.thread)
            .expect("thread facts")
            .archived
    };
    assert!(!archived(control));
    control.archive_thread(thread).expect("archived again");
    assert_eq!(
        staff_about(&harness, bob, thread, "remove", carol).await,
        format!("<@{carol}> no longer has access to this ticket.")
    );
    assert!(!sees(&harness, carol, thread));
    control.archive_thread(thread).expect("archived again");
    let renamed = harness
        .control
        .run_command(
            bob,
            thread,
            "ticket",
            &[CommandInput::sub(
                "rename",
                &[("name", OptionValue::string("Invoice 42"))],
            )],
        )
        .await
        .expect("staff may run /ticket rename");
    assert_eq!(
        harness.answer(&renamed).await,
        "The ticket channel was renamed."
    );
    assert_eq!(
        control.channel(thread).and_then(|c| c.name).as_deref(),
        Some("Invoice 42")
    );
    assert!(!archived(control));
    let permissions = control.permissions(world.guild, alice, Some(thread));
    assert_ne!(permissions & SEND_MESSAGES, 0, "the creator still writes");

    // The close: transcript, log post, thread deleted.
    let ticket = harness.ticket_of(thread).await;
    click_close(&harness, thread, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert!(control.channel(thread).is_none(), "the thread is deleted");
    assert_eq!(log_posts(&harness, ticket.id).len(), 1);
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    for line in [
        "My invoice is wrong",
        "Looking into it",
        "I was charged twice too",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(closed.message_count >= 3, "{}", closed.message_count);
}

#[tokio::test]
async fn a_thread_deleted_by_hand_closes_its_ticket_and_threads_ignore_the_500_channels() {
    // The guild's channels are at Discord's limit: a channel ticket could not open.
    let mut config = support::emulator_config();
    config.max_guild_channels = 3;
    let harness = thread_mode_bot(config).await;
    let control = &harness.control;
    assert_eq!(control.channels(harness.world.guild).len(), 3);

    let (thread, ticket) = ticket_with_texts(
        &harness,
        harness.world.alice,
        &["are you there?".to_owned()],
    )
    .await;
    control.delete_channel(thread).expect("deleted by hand");
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert!(closed.channel_gone);
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    assert!(text.contains("are you there?"), "{text}");
    let link = channel_link(
        &harness
            .answer(&harness.click_open(harness.world.alice).await)
            .await,
    );
    assert!(
        link.is_some_and(|next| next != thread),
        "a new thread opens"
    );
}
