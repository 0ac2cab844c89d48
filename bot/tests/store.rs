//! The store against a real Postgres server: each test gets its own fresh database.

use std::time::Duration;

use serde_json::json;
use ticketeer_bot::store::{
    self, BeginTicket, NewTicket, Panel, PartKind, RecordedTranscript, TicketState, TranscriptPart,
};
use ticketeer_testkit::postgres::TestDatabase;
use twilight_model::id::Id;
use twilight_model::id::marker::ApplicationMarker;

async fn migrated_database() -> (TestDatabase, sqlx::PgPool) {
    let database = TestDatabase::create()
        .await
        .expect("a Postgres server for the tests");
    let pool = database.pool().await;
    store::migrate(&pool).await.expect("migrations apply");
    (database, pool)
}

/// The bot whose rows the tests write, and a second bot sharing its database.
const BOT: Id<ApplicationMarker> = Id::new(1_000_000_000_000_000_001);
const OTHER_BOT: Id<ApplicationMarker> = Id::new(1_000_000_000_000_000_002);

fn click(user: u64, interaction: u64) -> NewTicket {
    NewTicket {
        application_id: BOT,
        guild_id: Id::new(1_100_000_000_000_000_001),
        category_key: "support/billing".to_owned(),
        user_id: Id::new(user),
        interaction_id: Id::new(interaction),
        max_open_per_user: 1,
        max_open_in_guild: None,
    }
}

async fn open_ticket(
    pool: &sqlx::PgPool,
    user: u64,
    interaction: u64,
    channel: u64,
) -> store::Ticket {
    let BeginTicket::Created(ticket) = store::begin_ticket(pool, &click(user, interaction))
        .await
        .unwrap()
    else {
        panic!("expected a new ticket");
    };
    store::attach_channel(pool, ticket.id, Id::new(channel))
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_can_run_again_on_an_up_to_date_database() {
    let (_database, pool) = migrated_database().await;
    store::migrate(&pool).await.expect("second run is a no-op");
}

#[tokio::test]
async fn ten_concurrent_clicks_by_one_user_make_exactly_one_ticket() {
    let (_database, pool) = migrated_database().await;
    let clicks = (0..10u64).map(|n| {
        let pool = pool.clone();
        tokio::spawn(async move {
            store::begin_ticket(
                &pool,
                &click(2_000_000_000_000_000_001, 3_000_000_000_000_000_000 + n),
            )
            .await
        })
    });
    let mut created = Vec::new();
    let mut already_open = Vec::new();
    for outcome in futures_util::future::join_all(clicks).await {
        match outcome.unwrap().unwrap() {
            BeginTicket::Created(ticket) => created.push(ticket),
            BeginTicket::AtLimit(held) => {
                assert_eq!(held.len(), 1, "the one ticket the user may hold");
                already_open.extend(held);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one click creates the ticket");
    assert_eq!(already_open.len(), 9);
    assert!(
        already_open.iter().all(|ticket| ticket.id == created[0].id),
        "losers see the winner's ticket"
    );
    assert_eq!(created[0].state, TicketState::Opening);
}

#[tokio::test]
async fn the_same_click_delivered_twice_reports_the_ticket_it_opened() {
    let (_database, pool) = migrated_database().await;
    let first = store::begin_ticket(
        &pool,
        &click(2_000_000_000_000_000_002, 3_100_000_000_000_000_000),
    )
    .await
    .unwrap();
    let again = store::begin_ticket(
        &pool,
        &click(2_000_000_000_000_000_002, 3_100_000_000_000_000_000),
    )
    .await
    .unwrap();
    let (BeginTicket::Created(first), BeginTicket::SameClick(again)) = (first, again) else {
        panic!("first delivery creates, second finds it");
    };
    assert_eq!(first.id, again.id);
}

/// The slots the open tickets of `user` hold in `support/billing`, lowest first.
async fn held_slots(pool: &sqlx::PgPool, user: u64) -> Vec<i16> {
    sqlx::query_scalar(
        "SELECT slot FROM tickets
         WHERE user_id = $1 AND category_key = 'support/billing' AND state IN ('opening', 'open')
         ORDER BY slot",
    )
    .bind(i64::try_from(user).unwrap())
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn ten_concurrent_clicks_with_a_maximum_of_three_make_exactly_three_tickets() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_011;
    let clicks = (0..10u64).map(|n| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let new = NewTicket {
                max_open_per_user: 3,
                ..click(user, 3_010_000_000_000_000_000 + n)
            };
            store::begin_ticket(&pool, &new).await
        })
    });
    let mut created = Vec::new();
    let mut refused = 0;
    for outcome in futures_util::future::join_all(clicks).await {
        match outcome.unwrap().unwrap() {
            BeginTicket::Created(ticket) => created.push(ticket.id),
            BeginTicket::AtLimit(held) => {
                assert_eq!(held.len(), 3, "a refusal shows the three tickets held");
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created.len(), refused), (3, 7));
    assert_eq!(
        held_slots(&pool, user).await,
        [1, 2, 3],
        "one ticket per slot"
    );

    // Closing the ticket in slot 2 frees exactly that slot for the next open.
    let middle: i64 = sqlx::query_scalar("SELECT id FROM tickets WHERE user_id = $1 AND slot = 2")
        .bind(i64::try_from(user).unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    store::abandon_opening(&pool, middle).await.unwrap();
    assert_eq!(held_slots(&pool, user).await, [1, 3]);
    let next = NewTicket {
        max_open_per_user: 3,
        ..click(user, 3_010_000_000_000_000_100)
    };
    assert!(matches!(
        store::begin_ticket(&pool, &next).await.unwrap(),
        BeginTicket::Created(_)
    ));
    assert_eq!(held_slots(&pool, user).await, [1, 2, 3]);

    // Lowering the maximum never closes tickets; it only refuses new ones.
    let lowered = NewTicket {
        max_open_per_user: 1,
        ..click(user, 3_010_000_000_000_000_101)
    };
    let BeginTicket::AtLimit(held) = store::begin_ticket(&pool, &lowered).await.unwrap() else {
        panic!("a member above a lowered maximum is refused");
    };
    assert_eq!(held.len(), 3);
}

#[tokio::test]
async fn the_guild_cap_holds_against_concurrent_clicks_of_many_users() {
    let (_database, pool) = migrated_database().await;
    let clicks = (0..12u64).map(|n| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let new = NewTicket {
                max_open_in_guild: Some(5),
                ..click(2_000_000_000_000_000_100 + n, 3_020_000_000_000_000_000 + n)
            };
            store::begin_ticket(&pool, &new).await
        })
    });
    let mut created = Vec::new();
    let mut capped = 0;
    for outcome in futures_util::future::join_all(clicks).await {
        match outcome.unwrap().unwrap() {
            BeginTicket::Created(ticket) => created.push(ticket),
            BeginTicket::GuildAtCap { cap } => {
                assert_eq!(cap, 5);
                capped += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created.len(), capped), (5, 7));

    // Other categories of the guild count towards the cap; another guild does not.
    let mut elsewhere = NewTicket {
        max_open_in_guild: Some(5),
        ..click(2_000_000_000_000_000_200, 3_020_000_000_000_000_100)
    };
    elsewhere.category_key = "support/sales".to_owned();
    assert_eq!(
        store::begin_ticket(&pool, &elsewhere).await.unwrap(),
        BeginTicket::GuildAtCap { cap: 5 }
    );
    let other_guild = NewTicket {
        guild_id: Id::new(1_100_000_000_000_000_002),
        ..elsewhere.clone()
    };
    assert!(matches!(
        store::begin_ticket(&pool, &other_guild).await.unwrap(),
        BeginTicket::Created(_)
    ));

    // A ticket that starts closing makes room.
    store::attach_channel(&pool, created[0].id, Id::new(4_020_000_000_000_000_001))
        .await
        .unwrap();
    store::start_close(&pool, created[0].id, created[0].user_id, None)
        .await
        .unwrap();
    let after_close = NewTicket {
        interaction_id: Id::new(3_020_000_000_000_000_101),
        ..elsewhere
    };
    assert!(matches!(
        store::begin_ticket(&pool, &after_close).await.unwrap(),
        BeginTicket::Created(_)
    ));
}

#[tokio::test]
async fn different_users_and_categories_each_get_their_own_ticket() {
    let (_database, pool) = migrated_database().await;
    let a = store::begin_ticket(
        &pool,
        &click(2_000_000_000_000_000_003, 3_200_000_000_000_000_001),
    )
    .await
    .unwrap();
    let b = store::begin_ticket(
        &pool,
        &click(2_000_000_000_000_000_004, 3_200_000_000_000_000_002),
    )
    .await
    .unwrap();
    let mut other_category = click(2_000_000_000_000_000_003, 3_200_000_000_000_000_003);
    other_category.category_key = "support/abuse".to_owned();
    let c = store::begin_ticket(&pool, &other_category).await.unwrap();
    assert!(matches!(a, BeginTicket::Created(_)));
    assert!(matches!(b, BeginTicket::Created(_)));
    assert!(matches!(c, BeginTicket::Created(_)));
}

#[tokio::test]
async fn a_closing_ticket_no_longer_blocks_the_users_next_ticket() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_005;
    let ticket = open_ticket(
        &pool,
        user,
        3_300_000_000_000_000_001,
        4_000_000_000_000_000_001,
    )
    .await;
    let closing = store::start_close(&pool, ticket.id, Id::new(user), Some("solved"))
        .await
        .unwrap();
    assert_eq!(closing.state, TicketState::Closing);
    assert_eq!(closing.close_reason.as_deref(), Some("solved"));
    let next = store::begin_ticket(&pool, &click(user, 3_300_000_000_000_000_002))
        .await
        .unwrap();
    assert!(matches!(next, BeginTicket::Created(_)));
}

#[tokio::test]
async fn an_abandoned_opening_frees_the_user_to_try_again() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_006;
    let BeginTicket::Created(ticket) =
        store::begin_ticket(&pool, &click(user, 3_400_000_000_000_000_001))
            .await
            .unwrap()
    else {
        panic!("expected a new ticket");
    };
    store::abandon_opening(&pool, ticket.id).await.unwrap();
    assert_eq!(store::ticket(&pool, ticket.id).await.unwrap(), None);
    let retry = store::begin_ticket(&pool, &click(user, 3_400_000_000_000_000_002))
        .await
        .unwrap();
    assert!(matches!(retry, BeginTicket::Created(_)));
}

#[tokio::test]
async fn starting_a_close_twice_keeps_the_first_closer() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_007,
        3_500_000_000_000_000_001,
        4_000_000_000_000_000_002,
    )
    .await;
    store::start_close(&pool, ticket.id, Id::new(2_000_000_000_000_000_007), None)
        .await
        .unwrap();
    let second = store::start_close(
        &pool,
        ticket.id,
        Id::new(2_000_000_000_000_000_099),
        Some("late"),
    )
    .await
    .unwrap();
    assert_eq!(second.closed_by, Some(Id::new(2_000_000_000_000_000_007)));
    assert_eq!(second.close_reason, None);
}

#[tokio::test]
async fn close_steps_advance_in_order_and_only_from_the_expected_state() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_008,
        3_600_000_000_000_000_001,
        4_000_000_000_000_000_003,
    )
    .await;
    store::start_close(&pool, ticket.id, Id::new(2_000_000_000_000_000_008), None)
        .await
        .unwrap();
    assert!(
        !store::advance_close(&pool, ticket.id, TicketState::TranscriptStored)
            .await
            .unwrap(),
        "cannot skip the transcript"
    );

    let parts = vec![
        TranscriptPart {
            id: "aaaa".into(),
            url: "https://paste.example/?aaaa#k1".into(),
            delete_token: "t1".into(),
            kind: PartKind::Text,
            sha256: Some("1".repeat(64)),
        },
        TranscriptPart {
            id: "bbbb".into(),
            url: "https://paste.example/?bbbb#k2".into(),
            delete_token: "t2".into(),
            kind: PartKind::File,
            sha256: Some("2".repeat(64)),
        },
    ];
    let whole = "3".repeat(64);
    let transcript = RecordedTranscript {
        parts: &parts,
        sha256: &whole,
    };
    let stored = store::record_transcript(&pool, ticket.id, &transcript, None)
        .await
        .unwrap();
    assert_eq!(stored.transcript_sha256.as_deref(), Some(whole.as_str()));
    assert_eq!(stored.state, TicketState::TranscriptStored);
    assert_eq!(
        stored.transcript_url.as_deref(),
        Some("https://paste.example/?aaaa#k1")
    );
    assert_eq!(stored.transcript_delete_token.as_deref(), Some("t1"));
    assert_eq!(stored.transcript_parts, parts);
    assert!(
        store::record_transcript(&pool, ticket.id, &transcript, None)
            .await
            .is_err(),
        "a second transcript is refused"
    );

    assert_eq!(store::unfinished_closes(&pool, BOT).await.unwrap().len(), 1);
    for from in [
        TicketState::TranscriptStored,
        TicketState::Logged,
        TicketState::Notified,
        TicketState::ChannelDeleted,
    ] {
        assert!(
            store::advance_close(&pool, ticket.id, from).await.unwrap(),
            "advance from {from:?}"
        );
        assert!(
            !store::advance_close(&pool, ticket.id, from).await.unwrap(),
            "only once from {from:?}"
        );
    }
    let closed = store::ticket(&pool, ticket.id).await.unwrap().unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    assert!(closed.closed_at.is_some());
    assert!(
        store::unfinished_closes(&pool, BOT)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_message_seen_by_two_replicas_is_counted_once_and_kept_in_order() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_009,
        3_700_000_000_000_000_001,
        4_000_000_000_000_000_004,
    )
    .await;
    let author = Id::new(2_000_000_000_000_000_009);
    for id in [5_000_000_000_000_000_002u64, 5_000_000_000_000_000_001] {
        let snapshot = json!({ "id": id.to_string(), "content": format!("message {id}") });
        assert!(
            store::record_message(&pool, ticket.id, Id::new(id), author, &snapshot)
                .await
                .unwrap()
        );
        assert!(
            !store::record_message(&pool, ticket.id, Id::new(id), author, &snapshot)
                .await
                .unwrap()
        );
    }
    store::update_message(
        &pool,
        Id::new(5_000_000_000_000_000_001),
        &json!({ "content": "edited" }),
    )
    .await
    .unwrap();
    store::mark_message_deleted(&pool, Id::new(5_000_000_000_000_000_002))
        .await
        .unwrap();

    let counted = store::ticket_by_channel(&pool, Id::new(4_000_000_000_000_000_004))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counted.message_count, 2);
    let messages = store::stored_messages(&pool, ticket.id).await.unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].message_id,
        Id::new(5_000_000_000_000_000_001),
        "oldest first"
    );
    assert_eq!(snapshot(&messages[0]), json!({ "content": "edited" }));
    assert!(!messages[0].deleted);
    assert!(messages[1].deleted);
}

#[tokio::test]
async fn an_interaction_is_claimed_by_exactly_one_caller() {
    let (_database, pool) = migrated_database().await;
    let interaction = Id::new(3_800_000_000_000_000_001);
    let claims = (0..5).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { store::claim_interaction(&pool, interaction).await })
    });
    let won = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .filter(|claim| *claim.as_ref().unwrap().as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    assert_eq!(
        store::prune_interactions(&pool, Duration::from_hours(1))
            .await
            .unwrap(),
        0,
        "fresh claims are kept"
    );
}

#[tokio::test]
async fn panels_are_saved_replaced_listed_and_deleted() {
    let (_database, pool) = migrated_database().await;
    let mut panel = Panel {
        key: "support/billing".to_owned(),
        guild_id: Id::new(1_100_000_000_000_000_001),
        channel_id: Id::new(4_100_000_000_000_000_001),
        message_id: Id::new(5_100_000_000_000_000_001),
        content_hash: "v1".to_owned(),
    };
    store::save_panel(&pool, BOT, &panel).await.unwrap();
    panel.message_id = Id::new(5_100_000_000_000_000_002);
    panel.content_hash = "v2".to_owned();
    store::save_panel(&pool, BOT, &panel).await.unwrap();
    assert_eq!(
        store::panel(&pool, BOT, "support/billing").await.unwrap(),
        Some(panel.clone())
    );
    assert_eq!(store::panels(&pool, BOT).await.unwrap(), vec![panel]);
    store::delete_panel(&pool, BOT, "support/billing")
        .await
        .unwrap();
    assert_eq!(
        store::panel(&pool, BOT, "support/billing").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_edit_stored_before_its_create_is_not_overwritten_by_the_create() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_019,
        3_700_000_000_000_000_011,
        4_000_000_000_000_000_014,
    )
    .await;
    let author = Id::new(2_000_000_000_000_000_019);
    let id = Id::new(5_000_000_000_000_000_011);
    let original = json!({ "content": "first", "edited_timestamp": null });
    let edited =
        json!({ "content": "second", "edited_timestamp": "2026-12-01T12:00:00.000000+00:00" });
    assert!(
        !store::update_message(&pool, id, &edited).await.unwrap(),
        "not stored yet"
    );
    assert!(
        store::record_message(&pool, ticket.id, id, author, &edited)
            .await
            .unwrap()
    );
    assert!(
        !store::record_message(&pool, ticket.id, id, author, &original)
            .await
            .unwrap(),
        "the late create counts nothing"
    );
    assert!(store::update_message(&pool, id, &original).await.unwrap());
    let messages = store::stored_messages(&pool, ticket.id).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(snapshot(&messages[0]), edited, "the newer snapshot stays");
    let counted = store::ticket(&pool, ticket.id).await.unwrap().unwrap();
    assert_eq!(counted.message_count, 1);
}

#[tokio::test]
async fn a_later_edit_recorded_after_its_create_replaces_the_snapshot_and_counts_nothing() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_029,
        3_700_000_000_000_000_021,
        4_000_000_000_000_000_024,
    )
    .await;
    let author = Id::new(2_000_000_000_000_000_029);
    let id = Id::new(5_000_000_000_000_000_021);
    let original = json!({ "content": "first", "edited_timestamp": null });
    let edited =
        json!({ "content": "second", "edited_timestamp": "2026-12-01T12:00:00.000000+00:00" });
    assert!(
        store::record_message(&pool, ticket.id, id, author, &original)
            .await
            .unwrap()
    );
    // The edit's handler found no row yet and recorded the message itself, racing the create.
    assert!(
        !store::record_message(&pool, ticket.id, id, author, &edited)
            .await
            .unwrap()
    );
    let messages = store::stored_messages(&pool, ticket.id).await.unwrap();
    assert_eq!(snapshot(&messages[0]), edited);
    let counted = store::ticket(&pool, ticket.id).await.unwrap().unwrap();
    assert_eq!(counted.message_count, 1);
}

#[tokio::test]
async fn an_open_ticket_without_its_pinned_welcome_is_pending_until_pinned() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(&pool, 7, 70, 700).await;
    let pending = store::pending_welcomes(&pool, BOT, Duration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.ticket_id, p.settled))
            .collect::<Vec<_>>(),
        [(ticket.id, false)],
        "listed but not settled: it changed less than an hour ago"
    );
    let pending = store::pending_welcomes(&pool, BOT, Duration::ZERO)
        .await
        .unwrap();
    assert!(pending[0].settled && pending[0].message_id.is_none());
    store::record_welcome(&pool, ticket.id, Id::new(7000))
        .await
        .unwrap();
    let pending = store::pending_welcomes(&pool, BOT, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(pending[0].message_id, Some(Id::new(7000)));
    store::mark_welcome_pinned(&pool, ticket.id).await.unwrap();
    assert!(
        store::pending_welcomes(&pool, BOT, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_ticket_state_is_a_value_of_the_database_enum_in_the_same_order() {
    let (_database, pool) = migrated_database().await;
    let values: Vec<String> =
        sqlx::query_scalar("SELECT unnest(enum_range(NULL::ticket_state))::text")
            .fetch_all(&pool)
            .await
            .unwrap();
    let ours: Vec<&str> = TicketState::ALL
        .iter()
        .map(|state| state.as_str())
        .collect();
    assert_eq!(values, ours);
    for state in TicketState::ALL {
        let stored: TicketState = sqlx::query_scalar("SELECT $1::ticket_state")
            .bind(state)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(stored, state);
    }
}

#[tokio::test]
async fn bots_sharing_a_database_never_see_each_others_panels_or_tickets() {
    let (_database, pool) = migrated_database().await;
    let panel = Panel {
        key: "support".to_owned(),
        guild_id: Id::new(1_100_000_000_000_000_001),
        channel_id: Id::new(4_100_000_000_000_000_001),
        message_id: Id::new(5_100_000_000_000_000_001),
        content_hash: "ours".to_owned(),
    };
    let theirs = Panel {
        message_id: Id::new(5_100_000_000_000_000_002),
        content_hash: "theirs".to_owned(),
        ..panel.clone()
    };
    // Both bots name a category `support`: each has its own panel under that key.
    store::save_panel(&pool, BOT, &panel).await.unwrap();
    store::save_panel(&pool, OTHER_BOT, &theirs).await.unwrap();
    assert_eq!(
        store::panels(&pool, BOT).await.unwrap(),
        vec![panel.clone()]
    );
    assert_eq!(
        store::panel_by_message(&pool, BOT, theirs.message_id)
            .await
            .unwrap(),
        None
    );
    // One bot removing its panel (its category is gone) leaves the other's.
    store::delete_panel(&pool, BOT, "support").await.unwrap();
    assert_eq!(
        store::panel(&pool, OTHER_BOT, "support").await.unwrap(),
        Some(theirs)
    );

    // The same user opens a ticket of each bot's `support`: both open, each bot counts and
    // resumes only its own.
    let ours = open_ticket(&pool, 7, 70, 700).await;
    let BeginTicket::Created(other) = store::begin_ticket(
        &pool,
        &NewTicket {
            application_id: OTHER_BOT,
            ..click(7, 71)
        },
    )
    .await
    .unwrap() else {
        panic!("the other bot's ticket is its own, not the open one of this bot");
    };
    assert_eq!(
        store::open_ticket_counts(&pool, BOT).await.unwrap(),
        [("support/billing".to_owned(), 1)]
    );
    store::start_close(&pool, other.id, Id::new(7), None)
        .await
        .unwrap();
    assert!(
        store::unfinished_closes(&pool, BOT)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store::unfinished_closes(&pool, OTHER_BOT)
            .await
            .unwrap()
            .iter()
            .map(|ticket| ticket.id)
            .collect::<Vec<_>>(),
        [other.id]
    );
    assert_ne!(ours.id, other.id);
}

#[tokio::test]
async fn rows_from_before_bots_were_told_apart_go_to_the_first_bot_that_starts() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(&pool, 7, 70, 700).await;
    sqlx::query("UPDATE tickets SET application_id = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO panels (category_key, guild_id, channel_id, message_id, content_hash)
         VALUES ('support', 1, 2, 3, 'old')",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(store::panels(&pool, BOT).await.unwrap().is_empty());
    store::claim_unscoped_rows(&pool, BOT).await.unwrap();
    store::claim_unscoped_rows(&pool, OTHER_BOT).await.unwrap();
    assert_eq!(store::panels(&pool, BOT).await.unwrap().len(), 1);
    assert!(store::panels(&pool, OTHER_BOT).await.unwrap().is_empty());
    assert_eq!(
        store::open_ticket_counts(&pool, BOT).await.unwrap(),
        [("support/billing".to_owned(), 1)]
    );
    assert!(
        store::open_ticket_counts(&pool, OTHER_BOT)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store::ticket(&pool, ticket.id).await.unwrap().map(|t| t.id),
        Some(ticket.id)
    );
}

fn one_part() -> Vec<TranscriptPart> {
    vec![TranscriptPart {
        id: "cccc".into(),
        url: "https://paste.example/?cccc#k".into(),
        delete_token: "t".into(),
        kind: PartKind::Text,
        sha256: None,
    }]
}

/// Records `parts` as the ticket's transcript, whose whole text hashes to zeros.
async fn record_one_part(db: &mut sqlx::PgConnection, ticket_id: i64) -> store::Ticket {
    let parts = one_part();
    let zeros = "0".repeat(64);
    let transcript = RecordedTranscript {
        parts: &parts,
        sha256: &zeros,
    };
    store::record_transcript(db, ticket_id, &transcript, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_ticket_keeps_message_snapshots_only_until_its_transcript_is_stored() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_020;
    let ticket = open_ticket(
        &pool,
        user,
        3_900_000_000_000_000_001,
        4_000_000_000_000_000_020,
    )
    .await;
    let author = Id::new(user);
    let message = |id: u64| json!({ "id": id.to_string(), "content": format!("message {id}") });
    let (while_open, while_closing) = (5_100_000_000_000_000_001u64, 5_100_000_000_000_000_002);
    assert!(
        store::record_message(
            &pool,
            ticket.id,
            Id::new(while_open),
            author,
            &message(while_open)
        )
        .await
        .unwrap()
    );
    store::start_close(&pool, ticket.id, author, None)
        .await
        .unwrap();
    assert!(
        store::record_message(
            &pool,
            ticket.id,
            Id::new(while_closing),
            author,
            &message(while_closing)
        )
        .await
        .unwrap()
    );
    let mut transaction = store::begin(&pool).await.unwrap();
    record_one_part(&mut transaction, ticket.id).await;
    assert_eq!(
        store::delete_snapshots(&mut *transaction, ticket.id)
            .await
            .unwrap(),
        2,
        "the message written while open and the one written while closing"
    );
    store::commit(transaction).await.unwrap();
    let late = 5_100_000_000_000_000_003;
    assert!(
        !store::record_message(&pool, ticket.id, Id::new(late), author, &message(late))
            .await
            .unwrap(),
        "a message after the transcript is not kept"
    );
    assert_eq!(
        store::stored_messages(&pool, ticket.id).await.unwrap(),
        Vec::new()
    );
}

/// A message recorded while the transcript's transaction is under way either comes before it
/// (and is deleted with the others) or after it (and is not kept): it never outlives it.
#[tokio::test]
async fn a_message_racing_the_transcripts_transaction_does_not_outlive_it() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_021;
    let ticket = open_ticket(
        &pool,
        user,
        3_900_000_000_000_000_002,
        4_000_000_000_000_000_021,
    )
    .await;
    let author = Id::new(user);
    store::start_close(&pool, ticket.id, author, None)
        .await
        .unwrap();
    let mut transaction = store::begin(&pool).await.unwrap();
    record_one_part(&mut transaction, ticket.id).await;
    let racing = tokio::spawn({
        let pool = pool.clone();
        async move {
            let id = 5_100_000_000_000_000_010u64;
            store::record_message(&pool, ticket.id, Id::new(id), author, &json!({ "id": id })).await
        }
    });
    // The racing insert has reached the ticket's row and waits for this transaction's lock.
    let mut waited = 0;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ticket_messages%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 500, "the racing insert never waited for the lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store::delete_snapshots(&mut *transaction, ticket.id)
        .await
        .unwrap();
    store::commit(transaction).await.unwrap();
    assert!(
        !racing.await.unwrap().unwrap(),
        "the racing message finds the transcript stored"
    );
    assert_eq!(
        store::stored_messages(&pool, ticket.id).await.unwrap(),
        Vec::new()
    );
}

#[tokio::test]
async fn a_due_close_request_fires_exactly_once_across_concurrent_replicas() {
    let (_database, pool) = migrated_database().await;
    let requester = Id::new(2_000_000_000_000_000_099);
    let mut tickets = Vec::new();
    for n in 0..5u64 {
        let ticket = open_ticket(
            &pool,
            2_000_000_000_000_000_010 + n,
            3_000_000_000_000_000_010 + n,
            4_000_000_000_000_000_010 + n,
        )
        .await;
        assert!(
            store::request_close(&pool, ticket.id, requester, Some("idle"), Duration::ZERO)
                .await
                .unwrap()
        );
        tickets.push(ticket);
    }
    // One request not due yet, and one replaced by a later request.
    let later = open_ticket(
        &pool,
        2_000_000_000_000_000_020,
        3_000_000_000_000_000_020,
        4_000_000_000_000_000_020,
    )
    .await;
    store::request_close(&pool, later.id, requester, None, Duration::ZERO)
        .await
        .unwrap();
    store::request_close(&pool, later.id, requester, None, Duration::from_hours(1))
        .await
        .unwrap();

    let replicas = (0..4).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { store::fire_due_close_requests(&pool, BOT, 100).await })
    });
    let mut fired: Vec<i64> = Vec::new();
    for outcome in futures_util::future::join_all(replicas).await {
        fired.extend(outcome.unwrap().unwrap().iter().map(|ticket| ticket.id));
    }
    fired.sort_unstable();
    let mut expected: Vec<i64> = tickets.iter().map(|ticket| ticket.id).collect();
    expected.sort_unstable();
    assert_eq!(
        fired, expected,
        "each due request fires once, on one replica"
    );
    for ticket in &tickets {
        let closing = store::ticket(&pool, ticket.id).await.unwrap().unwrap();
        assert_eq!(closing.state, TicketState::Closing);
        assert_eq!(closing.closed_by, Some(requester));
        assert_eq!(closing.close_reason.as_deref(), Some("idle"));
    }
    assert!(
        store::fire_due_close_requests(&pool, BOT, 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing fires twice"
    );
    assert!(
        store::fire_due_close_requests(&pool, OTHER_BOT, 100)
            .await
            .unwrap()
            .is_empty(),
        "another bot's tickets are not its business"
    );
    let pending = store::ticket(&pool, later.id).await.unwrap().unwrap();
    assert_eq!(
        pending.state,
        TicketState::Open,
        "the replaced request waits for its new time"
    );
    let withdrawn = store::take_close_request(&pool, later.id).await.unwrap();
    assert_eq!(
        withdrawn.map(|request| request.requested_by),
        Some(requester)
    );
    assert_eq!(
        store::take_close_request(&pool, later.id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_request_on_a_ticket_that_closed_meanwhile_is_retired_without_closing_it_again() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_030,
        3_000_000_000_000_000_030,
        4_000_000_000_000_000_030,
    )
    .await;
    let requester = Id::new(2_000_000_000_000_000_099);
    store::request_close(&pool, ticket.id, requester, None, Duration::ZERO)
        .await
        .unwrap();
    let closer = Id::new(2_000_000_000_000_000_031);
    store::start_close(&pool, ticket.id, closer, Some("done"))
        .await
        .unwrap();
    assert!(
        store::fire_due_close_requests(&pool, BOT, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let closing = store::ticket(&pool, ticket.id).await.unwrap().unwrap();
    assert_eq!(closing.closed_by, Some(closer), "the first close stands");
    assert!(
        !store::request_close(&pool, ticket.id, requester, None, Duration::ZERO)
            .await
            .unwrap(),
        "a closing ticket takes no request"
    );
}

#[tokio::test]
async fn claims_and_added_people_change_once_and_only_on_open_tickets() {
    let (_database, pool) = migrated_database().await;
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_040,
        3_000_000_000_000_000_040,
        4_000_000_000_000_000_040,
    )
    .await;
    let (bob, dave) = (
        Id::new(2_000_000_000_000_000_041),
        Id::new(2_000_000_000_000_000_042),
    );
    let store::ClaimChange::Changed(claimed) =
        store::set_claim(&pool, ticket.id, Some(bob)).await.unwrap()
    else {
        panic!("the first claim changes the ticket");
    };
    assert_eq!(claimed.claimed_by, Some(bob));
    assert!(matches!(
        store::set_claim(&pool, ticket.id, Some(bob)).await.unwrap(),
        store::ClaimChange::Unchanged(_)
    ));
    assert_eq!(
        store::set_claim(&pool, ticket.id, Some(dave))
            .await
            .unwrap(),
        store::ClaimChange::ClaimedByOther(bob)
    );
    assert!(matches!(
        store::set_claim(&pool, ticket.id, None).await.unwrap(),
        store::ClaimChange::Changed(ref t) if t.claimed_by.is_none()
    ));
    for _ in 0..2 {
        let added = store::set_added_user(&pool, ticket.id, dave, true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(added.additional_users, [dave], "added once however often");
    }
    let removed = store::set_added_user(&pool, ticket.id, dave, false)
        .await
        .unwrap()
        .unwrap();
    assert!(removed.additional_users.is_empty());
    let channel = ticket.channel_id.unwrap();
    assert!(
        store::open_ticket_in_channel(&pool, BOT, channel)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::open_ticket_in_channel(&pool, OTHER_BOT, channel)
            .await
            .unwrap()
            .is_none()
    );
    store::start_close(&pool, ticket.id, bob, None)
        .await
        .unwrap();
    assert_eq!(
        store::set_claim(&pool, ticket.id, Some(bob)).await.unwrap(),
        store::ClaimChange::NotOpen
    );
    assert_eq!(
        store::set_added_user(&pool, ticket.id, dave, true)
            .await
            .unwrap(),
        None
    );
    assert!(
        store::open_ticket_in_channel(&pool, BOT, channel)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn moving_a_ticket_keeps_one_open_ticket_per_user_and_category() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_050;
    let first = open_ticket(
        &pool,
        user,
        3_000_000_000_000_000_050,
        4_000_000_000_000_000_050,
    )
    .await;
    let mut elsewhere = click(user, 3_000_000_000_000_000_051);
    elsewhere.category_key = "support/sales".to_owned();
    let BeginTicket::Created(second) = store::begin_ticket(&pool, &elsewhere).await.unwrap() else {
        panic!("a second category gets its own ticket");
    };
    assert_eq!(
        store::move_ticket(&pool, first.id, "support/sales", 1)
            .await
            .unwrap(),
        store::MoveOutcome::CreatorAtLimitThere
    );
    let store::MoveOutcome::Moved(moved) = store::move_ticket(&pool, first.id, "support/other", 1)
        .await
        .unwrap()
    else {
        panic!("a free category takes the ticket");
    };
    assert_eq!(moved.category_key, "support/other");
    store::abandon_opening(&pool, second.id).await.unwrap();
}

#[tokio::test]
async fn moving_a_ticket_takes_a_free_slot_up_to_the_categorys_maximum() {
    let (_database, pool) = migrated_database().await;
    let user = 2_000_000_000_000_000_060;
    let first = open_ticket(
        &pool,
        user,
        3_000_000_000_000_000_060,
        4_000_000_000_000_000_060,
    )
    .await;
    let mut elsewhere = click(user, 3_000_000_000_000_000_061);
    elsewhere.category_key = "support/sales".to_owned();
    elsewhere.max_open_per_user = 2;
    let BeginTicket::Created(_) = store::begin_ticket(&pool, &elsewhere).await.unwrap() else {
        panic!("the creator's ticket in sales");
    };
    let store::MoveOutcome::Moved(moved) = store::move_ticket(&pool, first.id, "support/sales", 2)
        .await
        .unwrap()
    else {
        panic!("sales allows two");
    };
    assert_eq!(moved.category_key, "support/sales");
    let slots: Vec<i16> = sqlx::query_scalar(
        "SELECT slot FROM tickets WHERE category_key = 'support/sales' ORDER BY slot",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(slots, [1, 2]);
    let third = open_ticket(
        &pool,
        user,
        3_000_000_000_000_000_062,
        4_000_000_000_000_000_062,
    )
    .await;
    assert_eq!(
        store::move_ticket(&pool, third.id, "support/sales", 2)
            .await
            .unwrap(),
        store::MoveOutcome::CreatorAtLimitThere
    );
    store::start_close(&pool, third.id, Id::new(user), None)
        .await
        .unwrap();
    assert_eq!(
        store::move_ticket(&pool, third.id, "support/other", 1)
            .await
            .unwrap(),
        store::MoveOutcome::NotOpen
    );
}

fn inactivity_rule() -> store::InactivityRule {
    store::InactivityRule {
        until_warning: Duration::ZERO,
        warning: Duration::from_hours(1),
        close_reason: "Closed after 1 hour without a message from the creator".to_owned(),
    }
}

#[tokio::test]
async fn due_inactivity_timers_fire_once_across_four_concurrent_callers() {
    let (_database, pool) = migrated_database().await;
    let bot_user = Id::new(2_000_000_000_000_000_999);
    let mut tickets = Vec::new();
    for n in 0..6 {
        let ticket = open_ticket(
            &pool,
            2_000_000_000_000_000_100 + n,
            3_000_000_000_000_000_100 + n,
            4_000_000_000_000_000_100 + n,
        )
        .await;
        assert!(
            store::arm_inactivity(&pool, ticket.id, bot_user, Duration::ZERO)
                .await
                .unwrap()
        );
        assert!(
            !store::arm_inactivity(&pool, ticket.id, bot_user, Duration::ZERO)
                .await
                .unwrap(),
            "armed once"
        );
        tickets.push(ticket.id);
    }
    tickets.sort_unstable();
    let fire_all = || {
        futures_util::future::join_all((0..4).map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                store::fire_due_inactivity(&pool, BOT, bot_user, 100, |key| {
                    (key == "support/billing").then(inactivity_rule)
                })
                .await
            })
        }))
    };
    let mut warned: Vec<i64> = Vec::new();
    for outcome in fire_all().await {
        let fired = outcome.unwrap().unwrap();
        assert!(fired.closing.is_empty(), "a warning comes first");
        warned.extend(fired.warnings.iter().map(|warning| warning.ticket_id));
    }
    warned.sort_unstable();
    assert_eq!(warned, tickets, "each warning fires once, on one replica");
    // The hour of warning passes.
    sqlx::query("UPDATE ticket_timers SET due_at = now()")
        .execute(&pool)
        .await
        .unwrap();

    let mut closed: Vec<i64> = Vec::new();
    for outcome in fire_all().await {
        let fired = outcome.unwrap().unwrap();
        assert!(fired.warnings.is_empty());
        closed.extend(fired.closing.iter().map(|ticket| ticket.id));
    }
    closed.sort_unstable();
    assert_eq!(closed, tickets, "each close fires once, on one replica");
    for id in &tickets {
        let closing = store::ticket(&pool, *id).await.unwrap().unwrap();
        assert_eq!(closing.state, TicketState::Closing);
        assert_eq!(closing.closed_by, Some(bot_user));
        assert_eq!(
            closing.close_reason.as_deref(),
            Some("Closed after 1 hour without a message from the creator")
        );
    }
    let again = store::fire_due_inactivity(&pool, BOT, bot_user, 100, |_| Some(inactivity_rule()))
        .await
        .unwrap();
    assert!(again.warnings.is_empty() && again.closing.is_empty() && again.dropped == 0);
}

#[tokio::test]
async fn an_inactivity_close_is_withdrawn_by_the_creator_or_keep_open_and_dropped_without_auto_close()
 {
    let (_database, pool) = migrated_database().await;
    let bot_user = Id::new(2_000_000_000_000_000_999);
    let ticket = open_ticket(
        &pool,
        2_000_000_000_000_000_200,
        3_000_000_000_000_000_200,
        4_000_000_000_000_000_200,
    )
    .await;
    let fire = |rule: Option<store::InactivityRule>| {
        let pool = pool.clone();
        async move {
            store::fire_due_inactivity(&pool, BOT, bot_user, 100, move |_| rule.clone())
                .await
                .unwrap()
        }
    };
    store::arm_inactivity(&pool, ticket.id, bot_user, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(fire(Some(inactivity_rule())).await.warnings.len(), 1);
    store::record_timer_message(
        &pool,
        ticket.id,
        store::TimerKind::InactivityClose,
        Id::new(77),
    )
    .await
    .unwrap();
    // The creator writes: the close is withdrawn (with the warning to retire), the warning re-armed.
    let withdrawn = store::creator_active(&pool, ticket.id, bot_user, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(withdrawn.map(|w| w.message_id), Some(Some(Id::new(77))));
    assert!(
        store::keep_alive(&pool, ticket.id, Duration::ZERO)
            .await
            .unwrap()
            .is_none(),
        "nothing left to keep open"
    );
    // The re-armed warning fires again, then Keep open withdraws that close, once.
    assert_eq!(fire(Some(inactivity_rule())).await.warnings.len(), 1);
    assert!(
        store::keep_alive(&pool, ticket.id, Duration::ZERO)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::keep_alive(&pool, ticket.id, Duration::ZERO)
            .await
            .unwrap()
            .is_none(),
        "a second click changes nothing"
    );
    // autoClose removed: the due warning only goes away.
    let fired = fire(None).await;
    assert!(fired.warnings.is_empty() && fired.closing.is_empty());
    assert_eq!(fired.dropped, 1);
    assert_eq!(
        store::ticket(&pool, ticket.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        TicketState::Open
    );
    // Re-armed for the category (autoClose added back), it warns again.
    assert_eq!(
        store::arm_category_inactivity(&pool, BOT, "support/billing", bot_user, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store::arm_category_inactivity(&pool, BOT, "support/billing", bot_user, Duration::ZERO)
            .await
            .unwrap(),
        0,
        "armed once"
    );
}

/// A stored message's snapshot as JSON.
fn snapshot(stored: &store::StoredMessage) -> serde_json::Value {
    serde_json::from_str(&stored.snapshot).expect("a stored snapshot is JSON")
}
