//! The bot across gateway trouble: RECONNECT, a dropped connection, a zombie connection (no
//! heartbeat ACKs) and INVALID_SESSION(true) end in a RESUME that replays what was missed;
//! INVALID_SESSION(false) and a session expired while disconnected end in a new session, which
//! Discord replays nothing to, so the bot reads what was written meanwhile from the channels'
//! history. Either way every ticket message is stored and counted exactly once, and a click
//! dispatched around the reconnect is answered exactly once.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::Harness;
use ticketeer_bot::store;
use ticketeer_testkit::discord::{EmulatorConfig, UserMessage};

/// How the gateway lets the bot down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Op 7 RECONNECT.
    Reconnect,
    /// The TCP connection ends without a close frame.
    Dropped,
    /// The connection stays open but delivers nothing, heartbeat ACKs included.
    Zombie,
    /// Op 9 INVALID_SESSION with `d: true`.
    InvalidResumable,
    /// Op 9 INVALID_SESSION with `d: false`: the session is gone.
    InvalidNotResumable,
    /// The connection drops and the session expires before the bot can resume it.
    Expired,
}

impl Gap {
    /// Whether the bot gets its session back (and Discord replays the missed dispatches).
    fn resumes(self) -> bool {
        !matches!(self, Self::InvalidNotResumable | Self::Expired)
    }

    fn config(self) -> EmulatorConfig {
        match self {
            // Short beats, so the missing ACK is noticed quickly.
            Self::Zombie => EmulatorConfig {
                heartbeat_interval: Duration::from_millis(200),
                ..support::emulator_config()
            },
            // Any time at all without a connection is too long to resume.
            Self::Expired => EmulatorConfig {
                session_resume_window: Duration::ZERO,
                ..support::emulator_config()
            },
            _ => support::emulator_config(),
        }
    }

    fn open(self, harness: &Harness) {
        let control = &harness.control;
        match self {
            Self::Reconnect => control.send_reconnect(),
            Self::Dropped | Self::Expired => control.drop_gateway_connections(),
            Self::Zombie => control.zombie_gateway_connections(),
            Self::InvalidResumable => control.send_invalid_session(true),
            Self::InvalidNotResumable => control.send_invalid_session(false),
        }
    }
}

/// The ticket's messages as Discord has them (id → content) once the database holds exactly
/// those, each once; returns them with the ticket.
async fn stored_exactly_as_in_discord(
    harness: &Harness,
    channel: u64,
) -> (store::Ticket, BTreeMap<u64, String>) {
    let ticket = harness.ticket_of(channel).await;
    let pool = harness.pool.clone();
    let in_discord: BTreeMap<u64, String> = harness
        .control
        .messages(channel)
        .into_iter()
        .map(|message| (message.id, message.content))
        .collect();
    let give_up = tokio::time::Instant::now() + support::WAIT;
    let stored = loop {
        let stored: BTreeMap<u64, String> = store::stored_messages(&pool, ticket.id)
            .await
            .expect("read the stored messages")
            .into_iter()
            .map(|stored| {
                let snapshot: serde_json::Value =
                    serde_json::from_str(&stored.snapshot).expect("a stored snapshot is JSON");
                let content = snapshot["content"].as_str().unwrap_or("").to_owned();
                (stored.message_id.get(), content)
            })
            .collect();
        if stored == in_discord {
            break stored;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "the ticket's messages are stored as Discord has them:\n stored {stored:?}\n Discord {in_discord:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let ticket = harness.ticket_of(channel).await;
    assert_eq!(
        usize::try_from(ticket.message_count).ok(),
        Some(stored.len()),
        "each stored message counted once"
    );
    (ticket, stored)
}

/// Accepted interaction callbacks for one interaction.
fn callbacks(harness: &Harness, interaction_id: u64) -> usize {
    let prefix = format!("/interactions/{interaction_id}/");
    harness
        .control
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(&prefix) && r.status < 300)
        .count()
}

async fn messages_survive(gap: Gap) {
    let harness = Harness::start_with(gap.config(), |_| {}).await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let (_, before) = stored_exactly_as_in_discord(&harness, channel).await;
    let panel = harness.panel(support::SUPPORT).await;
    let (identifies, resumes) = harness.control.gateway_counts();

    gap.open(&harness);
    // Written while the bot is away: a resumed session gets them replayed, a new one does not.
    let written: Vec<u64> = (0..12)
        .map(|i| {
            harness
                .control
                .post_message(
                    alice,
                    channel,
                    UserMessage::text(&format!("during the gap {i}")),
                )
                .expect("alice writes")
        })
        .collect();
    harness
        .control
        .edit_message(written[0], "during the gap 0 (edited)")
        .expect("alice edits");
    assert_eq!(
        harness.control.gateway_counts(),
        (identifies, resumes),
        "the messages were written before the bot was back"
    );
    // A click dispatched around the reconnect (a new session never receives it: Discord shows
    // the user that it failed, so only a resumed session is asked to answer it).
    let carol = if gap.resumes() {
        Some(
            harness
                .click(harness.world.carol, panel.id, "ticketeer:open:support")
                .await,
        )
    } else {
        None
    };

    let (ticket, stored) = stored_exactly_as_in_discord(&harness, channel).await;
    for id in &written {
        assert!(stored.contains_key(id), "message {id} of the gap is stored");
    }
    assert_eq!(stored[&written[0]], "during the gap 0 (edited)");
    assert_eq!(stored.len(), before.len() + written.len());
    assert_eq!(
        usize::try_from(ticket.message_count).ok(),
        Some(stored.len())
    );

    let control = harness.control.clone();
    let (now_identifies, now_resumes) = control
        .wait_for(support::WAIT, |c| {
            let counts = c.gateway_counts();
            (counts != (identifies, resumes)).then_some(counts)
        })
        .await
        .expect("the bot reconnected");
    if gap.resumes() {
        assert_eq!(
            (now_identifies, now_resumes),
            (identifies, resumes + 1),
            "{gap:?}: resumed"
        );
        let outcome = carol.expect("clicked");
        assert!(!outcome.failed(), "the click during the gap is answered");
        harness.answer(&outcome).await;
        assert_eq!(
            callbacks(&harness, outcome.interaction_id),
            1,
            "answered once"
        );
        let carols: Vec<_> = harness
            .control
            .channels(harness.world.guild)
            .into_iter()
            .filter(|c| c.parent_id == Some(harness.world.parent) && c.id != channel)
            .collect();
        assert_eq!(carols.len(), 1, "one ticket for carol");
    } else {
        assert_eq!(now_identifies, identifies + 1, "{gap:?}: a new session");
    }
    assert_eq!(
        control.gateway_resume_faults().1,
        0,
        "resumes use the session's resume_gateway_url"
    );
}

#[tokio::test]
async fn a_reconnect_resumes_and_loses_or_repeats_no_message_or_click() {
    messages_survive(Gap::Reconnect).await;
}

#[tokio::test]
async fn a_dropped_connection_resumes_and_loses_or_repeats_no_message_or_click() {
    messages_survive(Gap::Dropped).await;
}

#[tokio::test]
async fn a_zombie_connection_is_noticed_and_resumed_losing_or_repeating_nothing() {
    messages_survive(Gap::Zombie).await;
}

#[tokio::test]
async fn a_resumable_invalid_session_resumes_and_loses_or_repeats_nothing() {
    messages_survive(Gap::InvalidResumable).await;
}

#[tokio::test]
async fn messages_written_before_a_new_session_after_invalid_session_are_caught_up_once() {
    messages_survive(Gap::InvalidNotResumable).await;
}

#[tokio::test]
async fn messages_written_while_the_session_expired_are_caught_up_once() {
    messages_survive(Gap::Expired).await;
}

#[tokio::test]
async fn more_than_a_page_of_missed_messages_is_caught_up_in_order_once() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let channel = harness.open_ticket(alice).await;
    let (_, before) = stored_exactly_as_in_discord(&harness, channel).await;
    let (identifies, _) = harness.control.gateway_counts();
    harness.control.send_invalid_session(false);
    for i in 0..230 {
        harness
            .control
            .post_message(alice, channel, UserMessage::text(&format!("missed {i}")))
            .expect("alice writes");
    }
    assert_eq!(harness.control.gateway_counts().0, identifies);
    let (_, stored) = stored_exactly_as_in_discord(&harness, channel).await;
    assert_eq!(stored.len(), before.len() + 230);
    let pages = harness
        .control
        .request_log()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path
                    .starts_with(&format!("/channels/{channel}/messages?"))
                && r.path.contains("after=")
        })
        .count();
    assert_eq!(
        pages, 3,
        "three pages of at most 100 after the last stored message"
    );
}
