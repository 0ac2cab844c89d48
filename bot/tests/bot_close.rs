//! Behaviours 5, 6 and 7: closing a ticket through the real bot — the transcript of every message,
//! the log post, the DM, the channel deleted last — and the close surviving crashes, outages, a
//! channel deleted by hand, PrivateBin's traffic limiter and size limit, and an instance that
//! answers in German.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use rand::distr::{Alphanumeric, SampleString};
use support::closing::{
    click_close, log_posts, ticket_with_messages, ticket_with_texts, wait_for_state,
    wait_for_state_within,
};
use support::{Harness, SUPPORT, WAIT, eventually, eventually_within, privatebin_config};
use ticketeer_bot::privatebin::split::strip_part;
use ticketeer_bot::store::{self, Ticket, TicketState};
use ticketeer_testkit::discord::{FaultSpec, UserMessage};
use ticketeer_testkit::privatebin::{Language, PrivateBinConfig};
use ticketeer_testkit::tools::pbincli_get;

const DM: &str = "Your ticket is closed. Transcript: {transcript_url}";

/// Index in the request log of the first request matching `method` and `path`.
fn first_request(harness: &Harness, method: &str, path: &str) -> Option<usize> {
    harness
        .control
        .request_log()
        .iter()
        .position(|request| request.method == method && request.path == path)
}

/// How many message snapshots the database still holds for the ticket.
async fn snapshots(harness: &Harness, ticket_id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ticket_messages WHERE ticket_id = $1")
        .bind(ticket_id)
        .fetch_one(&harness.pool)
        .await
        .expect("count the snapshots")
}

/// What every completed close leaves: one referenced paste, one log post with its link, the
/// channel deleted after that post (so after the transcript was stored), the row complete, and
/// no message snapshot: the encrypted transcript is the conversation's only copy.
async fn assert_closed_once(harness: &Harness, channel: u64, closed: &Ticket) {
    assert_eq!(closed.state, TicketState::Closed);
    assert_eq!(
        snapshots(harness, closed.id).await,
        0,
        "no plain-text message is kept once the transcript is stored"
    );
    assert!(closed.closed_at.is_some());
    let url = closed.transcript_url.clone().expect("a transcript URL");
    assert!(closed.transcript_delete_token.is_some());
    assert_eq!(closed.transcript_parts.len(), 1);
    let paste_id = &closed.transcript_parts[0].id;
    assert!(
        harness.privatebin.paste(paste_id).is_some(),
        "the referenced paste exists"
    );
    assert_eq!(harness.privatebin.paste_count(), 1, "exactly one paste");
    let posts = log_posts(harness, closed.id);
    assert_eq!(posts.len(), 1, "one log post");
    assert!(posts[0].content.contains(&url), "{}", posts[0].content);
    assert!(
        harness.control.channel(channel).is_none(),
        "the channel is deleted"
    );
    let logged = first_request(
        harness,
        "POST",
        &format!("/channels/{}/messages", harness.world.log_channel),
    )
    .expect("the log post was sent");
    let deleted = first_request(harness, "DELETE", &format!("/channels/{channel}"))
        .expect("the channel delete was sent");
    assert!(
        logged < deleted,
        "the channel is deleted only after the transcript is stored and logged"
    );
}

/// The requests for pages of the channel's history made since the request log held `since`
/// entries.
fn history_reads_since(harness: &Harness, channel: u64, since: usize) -> usize {
    let path = format!("/channels/{channel}/messages");
    harness
        .control
        .request_log()
        .iter()
        .skip(since)
        .filter(|request| {
            request.method == "GET"
                && request.route == "/channels/{channel_id}/messages"
                && request.path.starts_with(&path)
        })
        .count()
}

/// The id of the channel's message with this text.
fn message_id(harness: &Harness, channel: u64, content: &str) -> u64 {
    harness
        .control
        .messages(channel)
        .into_iter()
        .find(|message| message.content == content)
        .unwrap_or_else(|| panic!("{content:?} was posted"))
        .id
}

/// Asserts `lines` appear in `text` in this order.
fn assert_in_order(text: &str, lines: &[String]) {
    let mut from = 0;
    for line in lines {
        let at = text[from..]
            .find(line.as_str())
            .unwrap_or_else(|| panic!("{line} is in the transcript, after the one before"));
        from += at + line.len();
    }
}

#[tokio::test]
async fn a_close_stores_every_message_logs_the_link_dms_the_user_and_deletes_the_channel() {
    let harness = Harness::start_with_dm(DM).await;
    let (channel, ticket) = ticket_with_messages(&harness, 150).await;
    assert!(ticket.message_count >= 151, "150 messages and the welcome");
    // Both older than the newest page of history, so only the stored record has them.
    let edited = message_id(&harness, channel, "message 005");
    let deleted = message_id(&harness, channel, "message 010");
    harness
        .control
        .edit_message(edited, "the fifth message, edited")
        .expect("alice edits an early message");
    harness
        .control
        .delete_message(deleted)
        .expect("an early message is deleted");
    let pool = harness.pool.clone();
    eventually("the edit and the delete to be stored", || {
        let pool = pool.clone();
        async move {
            let stored = store::stored_messages(&pool, ticket.id).await.ok()?;
            let is = |id: u64| stored.iter().find(|stored| stored.message_id.get() == id);
            let edit_stored = is(edited)?.snapshot.contains("the fifth message, edited");
            (edit_stored && is(deleted)?.deleted).then_some(())
        }
    })
    .await;
    // A role made after the bot's GUILD_CREATE: its name comes with GUILD_ROLE_CREATE.
    let billing = harness
        .control
        .create_role(harness.world.guild, "Billing", 0)
        .expect("a role");
    harness
        .control
        .post_message(
            harness.world.alice,
            channel,
            UserMessage::text(&format!("is this one for <@&{billing}>?")),
        )
        .expect("alice writes");
    eventually("the role mention to be stored", || {
        let pool = harness.pool.clone();
        async move {
            let stored = store::stored_messages(&pool, ticket.id).await.ok()?;
            let mention = format!("<@&{billing}>");
            stored
                .iter()
                .any(|stored| stored.snapshot.contains(&mention))
                .then_some(())
        }
    })
    .await;
    let before_close = harness.control.request_log().len();
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
    let guild_reads: Vec<String> = harness.control.request_log()[before_close..]
        .iter()
        .filter(|request| {
            request.route.starts_with("/guilds/{guild_id}") && request.method == "GET"
        })
        .map(|request| request.route.clone())
        .collect();
    assert!(
        guild_reads.is_empty(),
        "the guild's and its roles' names come from the gateway: {guild_reads:?}"
    );
    assert_eq!(
        closed.closed_by.map(twilight_model::id::Id::get),
        Some(harness.world.alice)
    );
    assert_eq!(
        closed.message_count,
        ticket.message_count + 1,
        "the 150, the welcome and the role mention"
    );
    assert_eq!(
        history_reads_since(&harness, channel, before_close),
        1,
        "a ticket opened in this gateway session is read from its stored messages and one page"
    );

    let url = closed.transcript_url.clone().expect("a transcript URL");
    let text = pbincli_get(&url)
        .await
        .expect("pbincli decrypts the transcript");
    let lines: Vec<String> = (0..150)
        .filter(|number| *number != 10)
        .map(|number| match number {
            5 => "the fifth message, edited".to_owned(),
            _ => format!("message {number:03}"),
        })
        .collect();
    assert_in_order(&text, &lines);
    assert!(!text.contains("message 005"), "the edit replaces the text");
    assert!(
        !text.contains("message 010"),
        "a deleted message is left out"
    );
    assert!(text.contains("Thanks for reaching out!"), "the welcome too");
    assert!(
        text.contains("@Staff"),
        "the welcome's role mention reads as the role's name"
    );
    assert!(
        text.contains("is this one for @Billing?"),
        "a role created since the bot started reads as its name"
    );
    assert!(
        text.contains("**Server:** Support"),
        "the header names the guild"
    );

    let dms = harness.control.dm_messages(harness.world.alice);
    assert_eq!(dms.len(), 1, "one DM");
    assert_eq!(
        dms[0].content,
        format!("Your ticket is closed. Transcript: {url}")
    );
}

#[tokio::test]
async fn a_ticket_older_than_the_gateway_session_is_closed_from_its_whole_history() {
    let harness = Harness::start().await;
    let (channel, ticket) = ticket_with_messages(&harness, 120).await;
    let (identifies, _) = harness.control.gateway_counts();
    let before_gap = harness.control.request_log().len();
    // A session Discord forgot: the bot must identify anew, and events meanwhile are lost.
    harness.control.invalidate_gateway_sessions();
    harness.control.drop_gateway_connections();
    let catch_up = format!("/channels/{channel}/messages?after=");
    eventually("a new gateway session, caught up on the ticket", || {
        let new_session = harness.control.gateway_counts().0 > identifies;
        // READY starts the catch-up: its read of the channel says the READY was handled.
        let caught_up = harness
            .control
            .request_log()
            .iter()
            .skip(before_gap)
            .any(|request| request.method == "GET" && request.path.starts_with(&catch_up));
        let connected = harness.ctx.gateway_connected();
        async move { (new_session && caught_up && connected).then_some(()) }
    })
    .await;
    let before_close = harness.control.request_log().len();
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
    assert!(
        history_reads_since(&harness, channel, before_close) >= 2,
        "121 messages of a ticket older than the session take two pages of history"
    );
    let url = closed.transcript_url.clone().expect("a transcript URL");
    let text = pbincli_get(&url)
        .await
        .expect("pbincli decrypts the transcript");
    let lines: Vec<String> = (0..120)
        .map(|number| format!("message {number:03}"))
        .collect();
    assert_in_order(&text, &lines);
    assert!(text.contains("Thanks for reaching out!"), "the welcome too");
}

#[tokio::test]
async fn a_user_who_refuses_dms_does_not_stop_the_close() {
    let harness = Harness::start_with_dm(DM).await;
    harness
        .control
        .set_accepts_dms(harness.world.alice, false)
        .expect("alice closes her DMs");
    let (channel, ticket) = ticket_with_messages(&harness, 2).await;
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
    assert!(harness.control.dm_messages(harness.world.alice).is_empty());
}

/// Makes one step fail, lets the bot get stuck on it, stops the bot, ends the outage, starts a
/// new bot on the same database, and checks the close completes exactly once.
async fn stuck_then_restarted(
    fail: impl FnOnce(&Harness),
    stuck_in: TicketState,
    stuck: impl Fn(&Harness) -> bool,
    restore: impl FnOnce(&Harness),
) {
    let mut harness = Harness::start_with_dm(DM).await;
    let (channel, ticket) = ticket_with_messages(&harness, 3).await;
    fail(&harness);
    click_close(&harness, channel, &ticket).await;
    wait_for_state(&harness, ticket.id, stuck_in).await;
    eventually("the step to fail at least twice", || {
        let failing = stuck(&harness);
        async move { failing.then_some(()) }
    })
    .await;
    assert_eq!(
        store::ticket(&harness.pool, ticket.id)
            .await
            .expect("query")
            .expect("ticket")
            .state,
        stuck_in,
        "a failing step holds the close where it is"
    );
    assert!(
        harness.control.channel(channel).is_some(),
        "the channel stays while the close is stuck"
    );
    harness.restart(restore).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
    assert_eq!(harness.control.dm_messages(harness.world.alice).len(), 1);
}

fn failed_requests(harness: &Harness, method: &str, path: &str) -> usize {
    harness
        .control
        .request_log()
        .iter()
        .filter(|request| request.method == method && request.path == path && request.status >= 500)
        .count()
}

#[tokio::test]
async fn a_privatebin_outage_holds_the_close_until_a_restarted_bot_completes_it() {
    stuck_then_restarted(
        |harness| harness.privatebin.set_unavailable(true),
        TicketState::Closing,
        |harness| harness.privatebin.requests().len() >= 2,
        |harness| harness.privatebin.set_unavailable(false),
    )
    .await;
}

#[tokio::test]
async fn a_failing_log_post_holds_the_close_until_a_restarted_bot_completes_it() {
    stuck_then_restarted(
        |harness| {
            let path = format!("/channels/{}/messages", harness.world.log_channel);
            harness
                .control
                .fail_next(FaultSpec::new("POST", &path, 500).times(10_000));
        },
        TicketState::TranscriptStored,
        |harness| {
            let path = format!("/channels/{}/messages", harness.world.log_channel);
            failed_requests(harness, "POST", &path) >= 2
        },
        |harness| harness.control.clear_faults(),
    )
    .await;
}

#[tokio::test]
async fn a_failing_dm_holds_the_close_until_a_restarted_bot_completes_it() {
    stuck_then_restarted(
        |harness| {
            harness
                .control
                .fail_next(FaultSpec::new("POST", "/users/@me/channels", 500).times(10_000));
        },
        TicketState::Logged,
        |harness| failed_requests(harness, "POST", "/users/@me/channels") >= 2,
        |harness| harness.control.clear_faults(),
    )
    .await;
}

#[tokio::test]
async fn a_failing_channel_delete_holds_the_close_until_a_restarted_bot_completes_it() {
    stuck_then_restarted(
        |harness| {
            harness
                .control
                .fail_next(FaultSpec::new("DELETE", "/channels/{channel_id}", 500).times(10_000));
        },
        TicketState::Notified,
        |harness| {
            harness
                .control
                .request_log()
                .iter()
                .filter(|request| request.method == "DELETE" && request.status >= 500)
                .count()
                >= 2
        },
        |harness| harness.control.clear_faults(),
    )
    .await;
}

#[tokio::test]
async fn a_restarted_bot_resumes_an_unfinished_close_once_its_gateway_is_up_not_on_a_timer() {
    let mut harness = Harness::start_with_dm(DM).await;
    let (channel, ticket) = ticket_with_messages(&harness, 2).await;
    harness.privatebin.set_unavailable(true);
    click_close(&harness, channel, &ticket).await;
    wait_for_state(&harness, ticket.id, TicketState::Closing).await;
    // The retry timer of the restarted bot is far longer than any wait in this test: only the
    // gateway coming up can start the resumed close.
    harness
        .restart_with(
            |harness| harness.privatebin.set_unavailable(false),
            |settings| settings.close_retry_interval = Duration::from_hours(1),
        )
        .await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
}

#[tokio::test]
async fn a_crash_after_the_log_post_and_dm_does_not_repeat_them() {
    let mut harness = Harness::start_with_dm(DM).await;
    let (channel, ticket) = ticket_with_messages(&harness, 3).await;
    click_close(&harness, channel, &ticket).await;
    wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    // As if the bot had crashed after posting and DMing but before recording either: the state
    // is back at `transcript_stored` while the posts exist and the channel is gone.
    harness.restart(|_| {}).await;
    sqlx::query("UPDATE tickets SET state = 'transcript_stored', closed_at = NULL WHERE id = $1")
        .bind(ticket.id)
        .execute(&harness.pool)
        .await
        .expect("rewind the state");
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
    assert_eq!(
        harness.control.dm_messages(harness.world.alice).len(),
        1,
        "one DM"
    );
}

#[tokio::test]
async fn a_privatebin_outage_is_retried_without_a_restart() {
    let harness = Harness::start().await;
    let (channel, ticket) = ticket_with_messages(&harness, 3).await;
    harness.privatebin.set_unavailable(true);
    click_close(&harness, channel, &ticket).await;
    let privatebin = &harness.privatebin;
    eventually("the upload to fail twice", || {
        let failing = privatebin.requests().len() >= 2;
        async move { failing.then_some(()) }
    })
    .await;
    assert!(harness.control.channel(channel).is_some());
    assert!(
        snapshots(&harness, ticket.id).await >= 4,
        "until the transcript is stored, its messages are kept"
    );
    harness.privatebin.set_unavailable(false);
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_closed_once(&harness, channel, &closed).await;
}

#[tokio::test]
async fn a_ticket_channel_deleted_by_hand_closes_the_ticket_with_its_stored_messages() {
    let harness = Harness::start().await;
    let (channel, ticket) = ticket_with_messages(&harness, 3).await;
    harness
        .control
        .delete_channel(channel)
        .expect("an admin deletes the channel");
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    assert_eq!(closed.closed_by, None);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("channel deleted by hand")
    );
    assert!(closed.channel_gone);
    assert_eq!(
        snapshots(&harness, ticket.id).await,
        0,
        "the snapshots the transcript was made from are gone with it"
    );
    assert_eq!(harness.privatebin.paste_count(), 1);
    let url = closed.transcript_url.clone().expect("a transcript URL");
    let text = pbincli_get(&url)
        .await
        .expect("pbincli decrypts the transcript");
    let positions: Vec<usize> = ["message 000", "message 001", "message 002"]
        .iter()
        .map(|line| {
            text.find(line)
                .unwrap_or_else(|| panic!("{line} in {text}"))
        })
        .collect();
    assert!(positions.is_sorted(), "in order");
    let posts = log_posts(&harness, ticket.id);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].content.contains("deleted by hand"),
        "{}",
        posts[0].content
    );
    assert!(posts[0].content.contains(&url));
    assert_eq!(
        first_request(&harness, "DELETE", &format!("/channels/{channel}")),
        None,
        "the bot does not delete a channel that is gone"
    );
}

#[tokio::test]
async fn a_user_only_mentioned_is_looked_up_as_a_member_for_the_transcript() {
    let harness = Harness::start().await;
    let carol = harness.world.carol;
    let (channel, ticket) =
        ticket_with_texts(&harness, harness.world.alice, &[format!("ask <@{carol}>")]).await;
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    // A mention carries no global display name, so the close asks the guild who carol is; alice
    // wrote, so her names come from her messages.
    let guild = harness.world.guild;
    assert!(
        first_request(&harness, "GET", &format!("/guilds/{guild}/members/{carol}")).is_some(),
        "the mentioned member is read"
    );
    let alice = harness.world.alice;
    assert_eq!(
        first_request(&harness, "GET", &format!("/guilds/{guild}/members/{alice}")),
        None,
        "a writer is not looked up"
    );
    let url = closed.transcript_url.clone().expect("a transcript URL");
    let text = pbincli_get(&url)
        .await
        .expect("pbincli decrypts the transcript");
    assert!(text.contains("ask @carol"), "{text}");
}

#[tokio::test]
async fn fifty_simultaneous_closes_leave_every_click_answered_and_close_each_ticket_once() {
    // The uploads are slowed by latency rather than PrivateBin's limiter, and Discord's limits
    // are off: at one paste per second and five channels or log posts per five seconds, fifty
    // tickets would take minutes to open and close.
    let harness = Harness::start_with_peers(
        ticketeer_testkit::discord::EmulatorConfig::default(),
        PrivateBinConfig::without_traffic_limit(),
    )
    .await;
    let panel = harness.panel(SUPPORT).await;
    let member = |name: String| {
        let user = harness.control.create_user(&name);
        harness
            .control
            .add_member(harness.world.guild, user, &[])
            .expect("a member");
        user
    };
    // Fifty tickets fill the Discord category (its limit is 50 channels).
    let owners: Vec<u64> = (0..50).map(|n| member(format!("owner{n:02}"))).collect();
    let opened = owners.iter().map(|owner| async {
        let channel = harness.open_ticket(*owner).await;
        let welcome = harness
            .control
            .wait_for(WAIT, |control| control.pins(channel).into_iter().next())
            .await
            .expect("the pinned welcome");
        harness
            .control
            .post_message(*owner, channel, UserMessage::text("please close this"))
            .expect("the owner posts");
        let ticket = harness.ticket_of(channel).await;
        (*owner, channel, welcome.id, ticket.id)
    });
    let tickets = join_all(opened).await;
    let newcomers: Vec<u64> = (0..10).map(|n| member(format!("newcomer{n}"))).collect();

    // Over a network round trip, with a PrivateBin that takes 300 ms a paste (the closes queue
    // behind one another for their uploads), every owner closes at once; newcomers click the
    // panel while the closes wait.
    harness.control.set_rest_latency(Duration::from_millis(40));
    harness.privatebin.set_latency(Duration::from_millis(300));
    let close_ids: Vec<String> = tickets
        .iter()
        .map(|(_, _, _, ticket_id)| format!("ticketeer:close:{ticket_id}"))
        .collect();
    let closes = tickets
        .iter()
        .zip(&close_ids)
        .map(|((owner, _, welcome, _), close_id)| harness.click(*owner, *welcome, close_id));
    let close_outcomes = join_all(closes).await;
    eventually("the first upload attempt", || {
        let tried = !harness.privatebin.requests().is_empty();
        async move { tried.then_some(()) }
    })
    .await;
    let opens = newcomers
        .iter()
        .map(|user| harness.click(*user, panel.id, "ticketeer:open:support"));
    let open_outcomes = join_all(opens).await;
    for outcome in close_outcomes.iter().chain(&open_outcomes) {
        assert!(
            !outcome.failed(),
            "every click is acknowledged inside Discord's 3 seconds"
        );
    }
    for outcome in &open_outcomes {
        let answer = harness.answer(outcome).await;
        assert!(
            !answer.contains("database"),
            "a click made during the closes is not told the database is unreachable: {answer}"
        );
    }
    for (outcome, (_, _, _, ticket_id)) in close_outcomes.iter().zip(&tickets) {
        assert_eq!(
            harness.answer(outcome).await,
            format!("Closing ticket #{ticket_id}…")
        );
    }

    // Fifty log posts to one channel queue behind its per-route limit: give them time.
    let pool = harness.pool.clone();
    let ticket_ids: Vec<i64> = tickets.iter().map(|(_, _, _, id)| *id).collect();
    eventually_within("all fifty closes to finish", Duration::from_mins(2), || {
        let pool = pool.clone();
        let ticket_ids = ticket_ids.clone();
        async move {
            for ticket_id in ticket_ids {
                let ticket = store::ticket(&pool, ticket_id).await.ok()??;
                if ticket.state != TicketState::Closed {
                    return None;
                }
            }
            Some(())
        }
    })
    .await;
    for (_, channel, _, ticket_id) in &tickets {
        let done = wait_for_state(&harness, *ticket_id, TicketState::Closed).await;
        assert_eq!(done.transcript_parts.len(), 1, "ticket {ticket_id}");
        assert!(
            harness
                .privatebin
                .paste(&done.transcript_parts[0].id)
                .is_some()
        );
        assert_eq!(log_posts(&harness, *ticket_id).len(), 1, "one log post");
        assert!(harness.control.channel(*channel).is_none(), "deleted");
    }
    let transcripts = tickets.len();
    assert_eq!(
        harness.privatebin.paste_count(),
        transcripts,
        "one paste per close, none uploaded twice"
    );
    harness.control.set_rest_latency(Duration::ZERO);
    harness.privatebin.set_latency(Duration::ZERO);
}

/// PrivateBin's defaults (and the tests' limiter) with every answer in German: `languagedefault`
/// set and `languageselection` off, so `Accept-Language` is ignored.
fn fixed_german() -> PrivateBinConfig {
    PrivateBinConfig {
        language_default: Some(Language::German),
        language_selection: false,
        ..privatebin_config()
    }
}

/// How many pastes the bot tried to create (refused ones included).
fn creates(harness: &Harness) -> usize {
    harness
        .privatebin
        .requests()
        .iter()
        .filter(|request| {
            request.method == "POST"
                && request
                    .body_json()
                    .is_some_and(|body| body.get("ct").is_some())
        })
        .count()
}

/// The transcript of a closed ticket as pbincli reads it: every part decrypted by the reference
/// client, each in its place, their bodies joined.
async fn transcript_through_pbincli(closed: &Ticket) -> String {
    let parts = &closed.transcript_parts;
    let mut text = String::new();
    for (index, part) in parts.iter().enumerate() {
        let paste = pbincli_get(&part.url)
            .await
            .unwrap_or_else(|error| panic!("pbincli decrypts part {}: {error}", index + 1));
        if parts.len() == 1 {
            return paste;
        }
        let part_text = strip_part(&paste).expect("a part of a split transcript");
        assert_eq!(
            (part_text.number, part_text.count),
            (index + 1, parts.len())
        );
        text.push_str(part_text.body);
    }
    text
}

/// Closes every ticket at once and waits until all are closed.
async fn close_all_at_once(harness: &Harness, tickets: &[(u64, Ticket)]) -> Vec<Ticket> {
    join_all(
        tickets
            .iter()
            .map(|(channel, ticket)| click_close(harness, *channel, ticket)),
    )
    .await;
    // The queue uploads one after the other, each waiting out the limiter.
    let patience = WAIT * u32::try_from(tickets.len()).unwrap_or(u32::MAX);
    let mut closed = Vec::new();
    for (_, ticket) in tickets {
        closed.push(wait_for_state_within(harness, ticket.id, TicketState::Closed, patience).await);
    }
    closed
}

/// Several closes at once against `privatebin` with a limiter longer than the time the bot
/// takes to prepare an upload (so the uploads surely meet it, even on a loaded machine): each
/// close is done exactly once, with one transcript pbincli decrypts, and the queue itself waited
/// out every limiter refusal (none failed a close).
async fn simultaneous_closes_are_each_done_once(privatebin: PrivateBinConfig, count: usize) {
    let harness = Harness::start_with_privatebin(PrivateBinConfig {
        traffic_limit_secs: 3,
        ..privatebin
    })
    .await;
    let mut tickets = Vec::new();
    // One open ticket per member and category: each ticket has its own creator.
    for user in harness.new_members("member", count) {
        let texts = ["message 000".to_owned(), "message 001".to_owned()];
        tickets.push(ticket_with_texts(&harness, user, &texts).await);
    }
    let closed = close_all_at_once(&harness, &tickets).await;
    for ticket in &closed {
        assert_eq!(ticket.transcript_parts.len(), 1);
        assert!(
            harness
                .privatebin
                .paste(&ticket.transcript_parts[0].id)
                .is_some()
        );
        assert_eq!(log_posts(&harness, ticket.id).len(), 1, "one log post");
        let text = transcript_through_pbincli(ticket).await;
        assert!(text.contains("message 001"), "{text}");
        assert!(text.contains(&format!("Ticket #{}", ticket.id)), "{text}");
    }
    assert_eq!(
        harness.privatebin.paste_count(),
        count,
        "one paste per ticket"
    );
    assert!(
        creates(&harness) > count,
        "the limiter refused some of the {count} uploads"
    );
    assert_eq!(
        harness.ctx.metrics.transcript_upload_failures.get(),
        0,
        "no upload failed: the queue waited out every refusal"
    );
}

#[tokio::test]
async fn five_simultaneous_closes_under_the_traffic_limiter_are_each_done_once() {
    simultaneous_closes_are_each_done_once(privatebin_config(), 5).await;
}

#[tokio::test]
async fn a_german_instance_deaf_to_accept_language_gets_several_closes_done_through_its_limiter() {
    simultaneous_closes_are_each_done_once(fixed_german(), 3).await;
}

/// A transcript far over `privatebin`'s size limit (random words compress badly) is stored in
/// parts under the limit that pbincli decrypts and that hold every message in order.
async fn an_oversized_transcript_is_stored_in_parts(privatebin: PrivateBinConfig) {
    let size_limit = privatebin.size_limit;
    let harness = Harness::start_with_privatebin(privatebin).await;
    let mut rng = rand::rng();
    let texts: Vec<String> = (0..60)
        .map(|number| format!("{number:03} {}", Alphanumeric.sample_string(&mut rng, 400)))
        .collect();
    let (channel, ticket) = ticket_with_texts(&harness, harness.world.alice, &texts).await;
    click_close(&harness, channel, &ticket).await;
    // Every part waits out the limiter (a second and the slack) and is encrypted with 100 000
    // PBKDF2 rounds in a debug build: a few seconds each.
    let closed = wait_for_state_within(&harness, ticket.id, TicketState::Closed, 4 * WAIT).await;
    assert!(
        closed.transcript_parts.len() > 1,
        "the transcript is split into parts"
    );
    for part in &closed.transcript_parts {
        let paste = harness
            .privatebin
            .paste(&part.id)
            .expect("every part is stored");
        assert!(paste.ct.len() <= size_limit);
    }
    assert_eq!(
        harness.privatebin.paste_count(),
        closed.transcript_parts.len(),
        "no orphaned parts"
    );
    let text = transcript_through_pbincli(&closed).await;
    let mut from = 0;
    for message in &texts {
        let at = text[from..]
            .find(message.as_str())
            .unwrap_or_else(|| panic!("{} is in the transcript, in order", &message[..3]));
        from += at + message.len();
    }
    assert_eq!(log_posts(&harness, closed.id).len(), 1, "one log post");
}

#[tokio::test]
async fn an_oversized_transcript_is_split_under_the_traffic_limiter() {
    an_oversized_transcript_is_stored_in_parts(PrivateBinConfig {
        size_limit: 20_000,
        ..privatebin_config()
    })
    .await;
}

#[tokio::test]
async fn a_german_instance_with_a_small_size_limit_stores_an_oversized_transcript_in_parts() {
    an_oversized_transcript_is_stored_in_parts(PrivateBinConfig {
        size_limit: 20_000,
        ..fixed_german()
    })
    .await;
}

/// Seconds from now until the ticket's transcript expires, as the database has it.
async fn transcript_expires_in(harness: &Harness, ticket_id: i64) -> Option<f64> {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM transcript_expires_at - now())::float8
         FROM tickets WHERE id = $1",
    )
    .bind(ticket_id)
    .fetch_one(&harness.pool)
    .await
    .expect("read the transcript's expiry")
}

/// A transcript's link and delete token are kept as long as PrivateBin keeps the paste (the
/// configured expiry, a year by default), and forgotten once it no longer does.
#[tokio::test]
async fn an_expired_transcripts_link_and_delete_token_are_forgotten() {
    let mut harness = Harness::start().await;
    let mut closed = Vec::new();
    for _ in 0..2 {
        let (channel, ticket) = ticket_with_messages(&harness, 1).await;
        click_close(&harness, channel, &ticket).await;
        closed.push(wait_for_state(&harness, ticket.id, TicketState::Closed).await);
    }
    let (expired, kept) = (&closed[0], &closed[1]);
    let year = 365.0 * 24.0 * 3600.0;
    let expires_in = transcript_expires_in(&harness, kept.id)
        .await
        .expect("the expiry is recorded");
    assert!(
        (year - 60.0..=year).contains(&expires_in),
        "expires in a year (the default expiry): {expires_in} s"
    );
    // As if a year had passed for the first ticket.
    sqlx::query(
        "UPDATE tickets SET transcript_expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(expired.id)
    .execute(&harness.pool)
    .await
    .expect("age the first transcript");
    harness
        .restart_with(
            |_| {},
            |settings| settings.forget_interval = Duration::from_millis(100),
        )
        .await;
    let forgotten = eventually("the expired transcript's link to be forgotten", || {
        let pool = harness.pool.clone();
        let id = expired.id;
        async move {
            let ticket = store::ticket(&pool, id).await.ok()??;
            ticket.transcript_url.is_none().then_some(ticket)
        }
    })
    .await;
    assert_eq!(forgotten.transcript_delete_token, None);
    assert!(forgotten.transcript_parts.is_empty());
    assert_eq!(
        forgotten.state,
        TicketState::Closed,
        "the ticket itself stays"
    );
    assert_eq!(forgotten.message_count, expired.message_count);
    let still = store::ticket(&harness.pool, kept.id)
        .await
        .expect("query")
        .expect("ticket");
    assert_eq!(
        still.transcript_url, kept.transcript_url,
        "an unexpired link stays"
    );
    assert_eq!(still.transcript_delete_token, kept.transcript_delete_token);
}

/// With `privatebin.storeKey: false` the database keeps where each transcript is but not its key:
/// the log post and the DM, sent before the key is dropped, are the only places it is.
#[tokio::test]
async fn with_store_key_off_the_key_is_only_in_the_log_post_and_the_dm() {
    let harness = Harness::start_with_dm(DM).await;
    let yaml = std::fs::read_to_string(&harness.config_path).expect("read the config");
    let privatebin = format!(
        "privatebin:\n  url: \"{}\"\n",
        harness.privatebin.base_url()
    );
    assert!(yaml.contains(&privatebin), "{yaml}");
    harness.write_config(&yaml.replace(&privatebin, &format!("{privatebin}  storeKey: false\n")));
    eventually("the bot to load storeKey: false", || {
        let loaded = !harness.ctx.config().privatebin.store_key;
        async move { loaded.then_some(()) }
    })
    .await;
    let (channel, ticket) = ticket_with_messages(&harness, 2).await;
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let stored = closed
        .transcript_url
        .clone()
        .expect("where the transcript is");
    assert!(!stored.contains('#'), "no key in the database: {stored}");
    assert!(
        closed
            .transcript_parts
            .iter()
            .all(|part| !part.url.contains('#')),
        "{:?}",
        closed.transcript_parts
    );
    assert!(
        closed.transcript_delete_token.is_some(),
        "the delete token stays"
    );
    let posts = log_posts(&harness, closed.id);
    assert_eq!(posts.len(), 1);
    let link = posts[0]
        .content
        .split_whitespace()
        .find(|word| word.starts_with(&stored) && word.contains('#'))
        .unwrap_or_else(|| panic!("the whole link in the log post: {}", posts[0].content))
        .trim_end_matches(['>', ')', '.']);
    let text = pbincli_get(link)
        .await
        .expect("pbincli decrypts the transcript from the log post's link");
    assert!(text.contains("message 001"), "{text}");
    let dms = harness.control.dm_messages(harness.world.alice);
    assert_eq!(dms.len(), 1);
    assert!(dms[0].content.contains(link), "{}", dms[0].content);
}
