//! `ticketeer-bot erase`: a user's transcripts deleted on PrivateBin with their tokens and their
//! rows deleted, tickets closed for real through the bot first; a dry run that changes nothing;
//! other people's tickets scrubbed but kept; re-runs that find nothing left, or finish what a
//! PrivateBin outage or a wrong token left undone; and the built binary's dry run.

mod support;

use std::process::Command;

use support::Harness;
use ticketeer_bot::cli::EraseArguments;
use ticketeer_bot::erase::{self, EraseOutcome, EraseSummary};
use ticketeer_bot::privatebin::{ClientTimeouts, PrivateBinClient, UploadQueue, UploadSettings};
use ticketeer_bot::store::{self, Ticket, TicketState};
use ticketeer_testkit::discord::UserMessage;
use twilight_model::id::Id;

/// Opens a ticket for `user`, has them write `text` in it, closes it as them and waits until
/// the close is done, so a real transcript is on the PrivateBin emulator.
async fn closed_ticket(harness: &Harness, user: u64, text: &str) -> Ticket {
    let channel = harness.open_ticket(user).await;
    let welcome = harness.pinned_welcome(channel).await;
    harness
        .control
        .post_message(user, channel, UserMessage::text(text))
        .expect("the creator posts");
    let ticket = harness.ticket_of(channel).await;
    harness
        .ticket_when("the message to be counted", ticket.id, |ticket| {
            ticket.message_count >= 2
        })
        .await;
    let outcome = harness
        .click(user, welcome.id, &format!("ticketeer:close:{}", ticket.id))
        .await;
    assert!(!outcome.failed(), "the close click is acknowledged");
    let closed = harness
        .ticket_when("the close to finish", ticket.id, |ticket| {
            ticket.state == TicketState::Closed
        })
        .await;
    assert_eq!(closed.transcript_parts.len(), 1, "one paste");
    assert!(
        harness
            .privatebin
            .paste(&closed.transcript_parts[0].id)
            .is_some()
    );
    closed
}

/// What `--execute` reports for one ticket of one paste.
const ONE_TICKET_ERASED: EraseSummary = EraseSummary {
    executed: true,
    pastes_deleted: 1,
    pastes_gone: 0,
    pastes_failed: 0,
    rows_deleted: 1,
    rows_kept: 0,
    tickets_skipped: 0,
    others_scrubbed: 0,
    others_skipped: 0,
};

/// Runs erase in-process as the binary would, returning its report and summary.
async fn run_erase(harness: &Harness, user: u64, execute: bool) -> (String, EraseSummary) {
    let arguments = EraseArguments {
        user: Id::new(user),
        guild: None,
        execute,
    };
    let mut report = String::new();
    let summary = erase::erase(
        &harness.pool,
        &arguments,
        ClientTimeouts::default(),
        &mut |text| report.push_str(text),
    )
    .await
    .expect("erase runs");
    println!("{report}");
    (report, summary)
}

async fn reload(harness: &Harness, ticket_id: i64) -> Option<Ticket> {
    store::ticket(&harness.pool, ticket_id)
        .await
        .expect("load the ticket")
}

/// Whether the server says the paste is gone when the bot's client reads it.
async fn read_is_gone(harness: &Harness, paste_id: &str) -> bool {
    let client = PrivateBinClient::new(&harness.privatebin.base_url(), ClientTimeouts::default())
        .expect("a client");
    match client.read(paste_id).await {
        Ok(_) => false,
        Err(error) => error.is_paste_gone(),
    }
}

#[tokio::test]
async fn erase_deletes_a_users_pastes_and_rows_and_scrubs_them_from_other_tickets() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let (bob, carol) = (harness.world.bob, harness.world.carol);
    let own = closed_ticket(&harness, alice, "alice's account number is 1234").await;
    let others = closed_ticket(&harness, carol, "carol asks for help").await;
    // The bot has no command to add people to a ticket yet; the column is set as one would.
    sqlx::query(
        "UPDATE tickets SET additional_users = ARRAY[$1, $2]::bigint[], closed_by = $1
         WHERE id = $3",
    )
    .bind(i64::try_from(alice).expect("an id"))
    .bind(i64::try_from(bob).expect("an id"))
    .bind(others.id)
    .execute(&harness.pool)
    .await
    .expect("add alice to carol's ticket");
    let others = reload(&harness, others.id).await.expect("carol's ticket");
    let own_paste = own.transcript_parts[0].id.clone();
    let others_paste = others.transcript_parts[0].id.clone();

    let (report, summary) = run_erase(&harness, alice, false).await;
    assert_eq!(
        summary,
        EraseSummary {
            executed: false,
            others_scrubbed: 1,
            ..ONE_TICKET_ERASED
        }
    );
    assert_eq!(summary.outcome(), EraseOutcome::Complete);
    let base = harness.privatebin.base_url();
    for expected in [
        "Dry run".to_owned(),
        format!("ticket {} (closed, guild {}", own.id, harness.world.guild),
        format!("paste {own_paste} on {base}: would be deleted"),
        format!(
            "would be removed from the added users of 1 ticket: {}",
            others.id
        ),
        format!("would be cleared as the closer of 1 ticket: {}", others.id),
    ] {
        assert!(report.contains(&expected), "{expected:?} in\n{report}");
    }
    assert!(
        !report.contains(&own.transcript_parts[0].url),
        "the link (and the key in it) is never printed"
    );
    assert_eq!(
        reload(&harness, own.id).await,
        Some(own.clone()),
        "dry: row kept"
    );
    assert_eq!(reload(&harness, others.id).await, Some(others.clone()));
    assert!(
        harness.privatebin.paste(&own_paste).is_some(),
        "dry: paste kept"
    );
    let deletes = |harness: &Harness| {
        harness
            .privatebin
            .requests()
            .iter()
            .filter(|request| request.body_text().contains("deletetoken"))
            .count()
    };
    assert_eq!(
        deletes(&harness),
        0,
        "a dry run does not contact PrivateBin"
    );

    let (report, summary) = run_erase(&harness, alice, true).await;
    assert_eq!(
        summary,
        EraseSummary {
            others_scrubbed: 1,
            ..ONE_TICKET_ERASED
        },
        "{report}"
    );
    assert_eq!(summary.outcome(), EraseOutcome::Complete);
    assert!(
        report.contains(&format!("paste {own_paste} on {base}: deleted")),
        "{report}"
    );
    assert!(report.contains("Done."), "{report}");
    assert!(report.contains("Not touched:\n  - what they wrote in other people's tickets"));
    assert!(
        harness.privatebin.paste(&own_paste).is_none(),
        "alice's paste is gone"
    );
    assert!(
        read_is_gone(&harness, &own_paste).await,
        "reading it is refused as gone"
    );
    assert_eq!(reload(&harness, own.id).await, None, "alice's row is gone");
    let others_after = reload(&harness, others.id)
        .await
        .expect("carol's ticket stays");
    assert_eq!(others_after.additional_users, vec![Id::new(bob)]);
    assert_eq!(others_after.closed_by, None);
    assert_eq!(others_after.transcript_parts, others.transcript_parts);
    assert!(
        harness.privatebin.paste(&others_paste).is_some(),
        "carol's paste stays"
    );

    let (report, summary) = run_erase(&harness, alice, true).await;
    assert_eq!(summary.outcome(), EraseOutcome::Complete);
    assert!(report.contains("Nothing to erase"), "{report}");
    assert_eq!(deletes(&harness), 1, "the re-run deletes nothing more");

    // A ticket the bot is still working on is left to it, and the run says it is not complete.
    let channel = harness.open_ticket(alice).await;
    let open = harness.ticket_of(channel).await;
    let (report, summary) = run_erase(&harness, alice, true).await;
    assert_eq!(summary.outcome(), EraseOutcome::Incomplete, "{report}");
    assert!(report.contains("skipped: not closed yet"), "{report}");
    assert_eq!(
        reload(&harness, open.id).await.map(|ticket| ticket.state),
        Some(TicketState::Open)
    );
}

/// Adds a paste as another part of the ticket's transcript, with `delete_token`.
async fn add_part(harness: &Harness, ticket_id: i64, id: &str, url: &str, delete_token: &str) {
    sqlx::query(
        "UPDATE tickets SET transcript_parts = transcript_parts
             || jsonb_build_array(jsonb_build_object('id', $2::text, 'url', $3::text,
                                                     'delete_token', $4::text))
         WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(id)
    .bind(url)
    .bind(delete_token)
    .execute(&harness.pool)
    .await
    .expect("add a part");
}

#[tokio::test]
async fn a_failed_erase_keeps_what_is_left_to_delete_and_the_same_command_finishes_it() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let own = closed_ticket(&harness, alice, "to be erased").await;
    let first = own.transcript_parts[0].clone();
    let queue = UploadQueue::spawn(&UploadSettings::new(harness.privatebin.base_url()))
        .expect("an upload queue");
    let second = queue.upload("a second part").await.expect("uploaded");
    let second = second.parts[0].clone();
    add_part(&harness, own.id, &second.id, &second.url, "wrong-token").await;

    harness.privatebin.set_unavailable(true);
    let (report, summary) = run_erase(&harness, alice, true).await;
    harness.privatebin.set_unavailable(false);
    let failed_both = EraseSummary {
        executed: true,
        pastes_failed: 2,
        rows_kept: 1,
        ..EraseSummary::default()
    };
    assert_eq!(summary, failed_both, "{report}");
    assert_eq!(summary.outcome(), EraseOutcome::Failed);
    assert!(report.contains("HTTP 503"), "{report}");
    assert!(report.contains("its row is kept"), "{report}");
    let kept = reload(&harness, own.id).await.expect("the row is kept");
    assert_eq!(
        kept.transcript_parts.len(),
        2,
        "both pastes are still on record"
    );
    assert!(harness.privatebin.paste(&first.id).is_some());

    let (report, summary) = run_erase(&harness, alice, true).await;
    assert_eq!(
        summary,
        EraseSummary {
            pastes_deleted: 1,
            pastes_failed: 1,
            ..failed_both
        },
        "{report}"
    );
    assert_eq!(summary.outcome(), EraseOutcome::Failed);
    assert!(report.contains("Wrong deletion token"), "{report}");
    assert!(
        harness.privatebin.paste(&first.id).is_none(),
        "the first paste is deleted"
    );
    assert!(
        harness.privatebin.paste(&second.id).is_some(),
        "the second is not"
    );
    let kept = reload(&harness, own.id).await.expect("the row is kept");
    assert_eq!(
        kept.transcript_parts
            .iter()
            .map(|part| &part.id)
            .collect::<Vec<_>>(),
        vec![&second.id],
        "only the paste still to delete is on record"
    );
    assert_eq!(kept.transcript_url, None);
    assert_eq!(kept.transcript_delete_token, None);

    // The token fixed, and the first part back on record as a crash between its delete and its
    // forgetting would have left it: the re-run finds it gone and finishes.
    sqlx::query("UPDATE tickets SET transcript_parts = '[]' WHERE id = $1")
        .bind(own.id)
        .execute(&harness.pool)
        .await
        .expect("clear the parts");
    add_part(&harness, own.id, &first.id, &first.url, &first.delete_token).await;
    add_part(
        &harness,
        own.id,
        &second.id,
        &second.url,
        &second.delete_token,
    )
    .await;
    let (report, summary) = run_erase(&harness, alice, true).await;
    assert_eq!(
        summary,
        EraseSummary {
            pastes_gone: 1,
            ..ONE_TICKET_ERASED
        },
        "{report}"
    );
    assert_eq!(summary.outcome(), EraseOutcome::Complete);
    assert!(report.contains("already gone"), "{report}");
    assert!(harness.privatebin.paste(&second.id).is_none());
    assert_eq!(reload(&harness, own.id).await, None);
}

#[tokio::test]
async fn the_binarys_dry_run_prints_the_plan_and_a_bad_id_is_refused_by_name() {
    let harness = Harness::start().await;
    let alice = harness.world.alice;
    let own = closed_ticket(&harness, alice, "hello").await;
    let paste = own.transcript_parts[0].id.clone();
    let binary = env!("CARGO_BIN_EXE_ticketeer-bot");
    let output = Command::new(binary)
        .args(["erase", "--user", &alice.to_string()])
        .env("DATABASE_URL", harness.database.url())
        .env_remove("DISCORD_TOKEN")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(&format!("paste {paste} on")), "{stdout}");
    assert!(stdout.contains("Summary (dry run"), "{stdout}");
    assert!(harness.privatebin.paste(&paste).is_some());
    assert!(reload(&harness, own.id).await.is_some());

    let output = Command::new(binary)
        .args(["erase", "--user", "alice"])
        .env("DATABASE_URL", harness.database.url())
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#"--user "alice" is not a Discord id"#),
        "{stderr}"
    );
}

/// Inserts a closed ticket as any bot would have left it, with one paste the server does not have.
async fn closed_row(
    pool: &sqlx::PgPool,
    privatebin: &str,
    (bot, guild, user): (i64, i64, i64),
    named: (Option<i64>, Option<i64>),
) -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let paste = format!("{number:016x}");
    let (added, closed_by) = named;
    sqlx::query_scalar(
        "INSERT INTO tickets (application_id, guild_id, category_key, user_id, open_interaction_id,
                              state, transcript_parts, additional_users, closed_by)
         VALUES ($1, $2, 'support', $3, $4, 'closed',
                 jsonb_build_array(jsonb_build_object('id', $5::text, 'url', $6::text,
                                                      'delete_token', 'token')),
                 CASE WHEN $7::bigint IS NULL THEN '{}' ELSE ARRAY[$7::bigint] END, $8)
         RETURNING id",
    )
    .bind(bot)
    .bind(guild)
    .bind(user)
    .bind(900_000_000_000_000_000 + number)
    .bind(&paste)
    .bind(format!("{privatebin}?{paste}"))
    .bind(added)
    .bind(closed_by)
    .fetch_one(pool)
    .await
    .expect("insert a closed ticket")
}

#[tokio::test]
async fn a_guild_narrows_the_erase_and_the_rows_of_every_bot_are_found() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let database = ticketeer_testkit::postgres::TestDatabase::create()
        .await
        .expect("a Postgres server for the tests");
    let pool = database.pool().await;
    store::migrate(&pool).await.expect("migrations apply");
    let privatebin =
        ticketeer_testkit::privatebin::PrivateBinEmulator::start(support::privatebin_config())
            .await
            .expect("the PrivateBin emulator starts");
    let base = privatebin.base_url();
    let (bot_a, bot_b, here, elsewhere) = (11, 12, 21, 22);
    let (user, other) = (31, 32);
    let of_bot_a = closed_row(&pool, &base, (bot_a, here, user), (None, None)).await;
    let of_bot_b = closed_row(&pool, &base, (bot_b, here, user), (None, None)).await;
    let in_elsewhere = closed_row(&pool, &base, (bot_a, elsewhere, user), (None, None)).await;
    let added_here = closed_row(&pool, &base, (bot_b, here, other), (Some(user), None)).await;
    let closed_elsewhere =
        closed_row(&pool, &base, (bot_a, elsewhere, other), (None, Some(user))).await;

    let arguments = EraseArguments {
        user: Id::new(31),
        guild: Some(Id::new(21)),
        execute: true,
    };
    let mut report = String::new();
    let summary = erase::erase(&pool, &arguments, ClientTimeouts::default(), &mut |text| {
        report.push_str(text);
    })
    .await
    .expect("erase runs");
    assert_eq!(
        summary,
        EraseSummary {
            pastes_deleted: 0,
            pastes_gone: 2,
            rows_deleted: 2,
            others_scrubbed: 1,
            ..ONE_TICKET_ERASED
        },
        "{report}"
    );
    assert!(report.contains("user 31 in guild 21"), "{report}");
    let exists = |id| {
        let pool = pool.clone();
        async move { store::ticket(&pool, id).await.expect("load").is_some() }
    };
    assert!(
        !exists(of_bot_a).await && !exists(of_bot_b).await,
        "both bots' rows go"
    );
    assert!(exists(in_elsewhere).await, "another guild's ticket stays");
    let added = store::ticket(&pool, added_here)
        .await
        .expect("load")
        .expect("kept");
    assert!(added.additional_users.is_empty());
    let untouched = store::ticket(&pool, closed_elsewhere)
        .await
        .expect("load")
        .expect("kept");
    assert_eq!(
        untouched.closed_by,
        Some(Id::new(31)),
        "another guild's closer stays"
    );
}
