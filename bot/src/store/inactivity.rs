//! The inactivity timers of `ticket_timers`: a ticket of a category with `autoClose` has an
//! `inactivity_warning` timer while its creator is active, moved later by each of their messages;
//! when it fires it becomes an `inactivity_close` timer (one transaction), which a message or the
//! Keep open button withdraws again. Like close requests, due rows are taken with `FOR UPDATE
//! SKIP LOCKED` and deleted in the transaction that does their work, so each fires once however
//! many replicas run.

use std::time::Duration;

use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, MessageMarker, UserMarker};

use super::tickets::{Ticket, TicketRow, TranscriptPart, ticket_query};
use super::timers::TimerKind;
use super::{Result, TicketState, query_error, to_db, to_id};

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A category's auto-close as the timers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactivityRule {
    /// From the creator's last sign of life to the warning.
    pub until_warning: Duration,
    /// From the warning to the close.
    pub warning: Duration,
    /// The close reason recorded when the ticket closes.
    pub close_reason: String,
}

/// Arms the warning timer of an open ticket, due in `until_warning`, unless it has one (or is
/// past its warning already): `true` when armed. `armed_by` is recorded as the timer's
/// requester (the bot itself).
pub async fn arm_inactivity(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    armed_by: Id<UserMarker>,
    until_warning: Duration,
) -> Result<bool> {
    let armed = sqlx::query!(
        "INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by)
         SELECT t.id, $2, now() + make_interval(secs => $3::bigint / 1000000.0), $4
           FROM tickets t
          WHERE t.id = $1 AND t.state = $5
            AND NOT EXISTS (SELECT 1 FROM ticket_timers c WHERE c.ticket_id = t.id AND c.kind = $6)
         ON CONFLICT (ticket_id, kind) DO NOTHING",
        ticket_id,
        TimerKind::InactivityWarning as TimerKind,
        micros(until_warning),
        to_db(armed_by),
        TicketState::Open as TicketState,
        TimerKind::InactivityClose as TimerKind,
    )
    .execute(db)
    .await
    .map_err(query_error("arm an inactivity timer"))?;
    Ok(armed.rows_affected() == 1)
}

/// Arms the warning timer of every open ticket of this bot in `category_key` that has no
/// inactivity timer yet (the category's `autoClose` was just added, or the bot starts); how
/// many were armed.
pub async fn arm_category_inactivity(
    db: impl PgExecutor<'_>,
    application_id: Id<ApplicationMarker>,
    category_key: &str,
    armed_by: Id<UserMarker>,
    until_warning: Duration,
) -> Result<u64> {
    let armed = sqlx::query!(
        "INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by)
         SELECT t.id, $3, now() + make_interval(secs => $4::bigint / 1000000.0), $5
           FROM tickets t
          WHERE t.application_id = $1 AND t.category_key = $2 AND t.state = $6
            AND NOT EXISTS (SELECT 1 FROM ticket_timers c WHERE c.ticket_id = t.id AND c.kind = $7)
         ON CONFLICT (ticket_id, kind) DO NOTHING",
        to_db(application_id),
        category_key,
        TimerKind::InactivityWarning as TimerKind,
        micros(until_warning),
        to_db(armed_by),
        TicketState::Open as TicketState,
        TimerKind::InactivityClose as TimerKind,
    )
    .execute(db)
    .await
    .map_err(query_error("arm the inactivity timers of a category"))?;
    Ok(armed.rows_affected())
}

/// What withdrawing a pending inactivity close found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawn {
    /// The warning message whose button is to be retired, once it was posted.
    pub message_id: Option<Id<MessageMarker>>,
}

/// The creator wrote in the ticket: in one statement the pending close (after a warning) is
/// withdrawn and the warning timer moves to `until_warning` from now (armed if missing, on an
/// open ticket). The withdrawn close, if there was one.
pub async fn creator_active(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    armed_by: Id<UserMarker>,
    until_warning: Duration,
) -> Result<Option<Withdrawn>> {
    // Both statements of the WITH run whatever the SELECT reads.
    let withdrawn = sqlx::query!(
        "WITH withdrawn AS (
             DELETE FROM ticket_timers WHERE ticket_id = $1 AND kind = $2
             RETURNING message_id
         ), armed AS (
             INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by)
             SELECT t.id, $3, now() + make_interval(secs => $4::bigint / 1000000.0), $5
               FROM tickets t WHERE t.id = $1 AND t.state = $6
             ON CONFLICT (ticket_id, kind) DO UPDATE
                SET due_at = EXCLUDED.due_at, message_id = NULL
         )
         SELECT message_id FROM withdrawn",
        ticket_id,
        TimerKind::InactivityClose as TimerKind,
        TimerKind::InactivityWarning as TimerKind,
        micros(until_warning),
        to_db(armed_by),
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("re-arm an inactivity timer"))?;
    withdrawn
        .map(|row| {
            Ok(Withdrawn {
                message_id: row
                    .message_id
                    .map(|id| to_id("message_id", id))
                    .transpose()?,
            })
        })
        .transpose()
}

/// Keep open: withdraws the pending close (after a warning) and, only then, re-arms the warning
/// timer from now. `None` when no close was pending (a second click, or one on another replica
/// that came first): nothing changes.
pub async fn keep_alive(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    until_warning: Duration,
) -> Result<Option<Withdrawn>> {
    let withdrawn = sqlx::query!(
        "WITH withdrawn AS (
             DELETE FROM ticket_timers WHERE ticket_id = $1 AND kind = $2
             RETURNING ticket_id, requested_by, message_id
         ), armed AS (
             INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by)
             SELECT ticket_id, $3, now() + make_interval(secs => $4::bigint / 1000000.0),
                    requested_by
               FROM withdrawn
             ON CONFLICT (ticket_id, kind) DO UPDATE
                SET due_at = EXCLUDED.due_at, message_id = NULL
         )
         SELECT message_id FROM withdrawn",
        ticket_id,
        TimerKind::InactivityClose as TimerKind,
        TimerKind::InactivityWarning as TimerKind,
        micros(until_warning),
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("keep a ticket open"))?;
    withdrawn
        .map(|row| {
            Ok(Withdrawn {
                message_id: row
                    .message_id
                    .map(|id| to_id("message_id", id))
                    .transpose()?,
            })
        })
        .transpose()
}

/// A warning to post: the ticket's close timer is armed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The ticket.
    pub ticket_id: i64,
    /// Its creator, who is pinged.
    pub creator: Id<UserMarker>,
    /// Its channel.
    pub channel_id: Id<ChannelMarker>,
    /// When it closes, in Unix seconds.
    pub closes_at_unix: i64,
    /// How long the creator has been quiet.
    pub quiet: Duration,
}

/// What one round of due inactivity timers did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FiredInactivity {
    /// Warnings to post (their close timers are armed).
    pub warnings: Vec<Warning>,
    /// Tickets that began to close, for the caller to drive.
    pub closing: Vec<Ticket>,
    /// Timers only deleted: the ticket is no longer open, its category no longer auto-closes
    /// (or is gone), or its creator wrote again after the warning.
    pub dropped: usize,
}

/// Fires this bot's due inactivity timers, at most `limit`, in one transaction: each due row is
/// taken (rows another replica holds are skipped) and deleted. A warning arms the close timer;
/// a close moves the ticket to `closing` with `closed_by` = `bot_user` and the rule's reason.
/// `rule` gives a category's auto-close in the config in force; a timer of a category without
/// one, or of a ticket no longer open, is only deleted.
pub async fn fire_due_inactivity(
    pool: &PgPool,
    application_id: Id<ApplicationMarker>,
    bot_user: Id<UserMarker>,
    limit: i64,
    rule: impl Fn(&str) -> Option<InactivityRule>,
) -> Result<FiredInactivity> {
    let mut transaction = super::begin(pool).await?;
    let due = sqlx::query!(
        r#"SELECT tt.id, tt.ticket_id, tt.kind AS "kind: TimerKind", t.category_key, t.user_id,
                  t.channel_id, t.state AS "state: TicketState",
                  EXISTS (SELECT 1 FROM ticket_timers w
                           WHERE w.ticket_id = tt.ticket_id AND w.kind = $2) AS "rearmed!"
             FROM ticket_timers tt JOIN tickets t ON t.id = tt.ticket_id
            WHERE tt.kind IN ($2, $3) AND tt.due_at <= now() AND t.application_id = $1
            ORDER BY tt.due_at
            LIMIT $4
            FOR UPDATE OF tt SKIP LOCKED"#,
        to_db(application_id),
        TimerKind::InactivityWarning as TimerKind,
        TimerKind::InactivityClose as TimerKind,
        limit,
    )
    .fetch_all(&mut *transaction)
    .await
    .map_err(query_error("take due inactivity timers"))?;
    let mut fired = FiredInactivity::default();
    for timer in due {
        sqlx::query!("DELETE FROM ticket_timers WHERE id = $1", timer.id)
            .execute(&mut *transaction)
            .await
            .map_err(query_error("retire a due inactivity timer"))?;
        let rule = rule(&timer.category_key);
        let (Some(rule), TicketState::Open, Some(channel_id)) =
            (rule, timer.state, timer.channel_id)
        else {
            fired.dropped += 1;
            continue;
        };
        match timer.kind {
            TimerKind::InactivityWarning => {
                let closes_at = sqlx::query_scalar!(
                    r#"INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by)
                       VALUES ($1, $2, now() + make_interval(secs => $3::bigint / 1000000.0), $4)
                       ON CONFLICT (ticket_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at
                       RETURNING extract(epoch FROM due_at)::bigint AS "closes_at!""#,
                    timer.ticket_id,
                    TimerKind::InactivityClose as TimerKind,
                    micros(rule.warning),
                    to_db(bot_user),
                )
                .fetch_one(&mut *transaction)
                .await
                .map_err(query_error("arm an inactivity close"))?;
                fired.warnings.push(Warning {
                    ticket_id: timer.ticket_id,
                    creator: to_id("user_id", timer.user_id)?,
                    channel_id: to_id("channel_id", channel_id)?,
                    closes_at_unix: closes_at,
                    quiet: rule.until_warning,
                });
            }
            // A warning timer beside the close means the creator wrote while the warning
            // fired (their re-arm raced it): they are active, so the close only goes away.
            TimerKind::InactivityClose if timer.rearmed => fired.dropped += 1,
            TimerKind::InactivityClose => {
                let started = ticket_query!(
                    "UPDATE tickets
                     SET state = $4, closed_by = $2, close_reason = $3, updated_at = now()
                     WHERE id = $1 AND state = $5
                     RETURNING ",
                    "",
                    timer.ticket_id,
                    to_db(bot_user),
                    rule.close_reason.as_str(),
                    TicketState::Closing as TicketState,
                    TicketState::Open as TicketState,
                )
                .fetch_optional(&mut *transaction)
                .await
                .map_err(query_error("close an abandoned ticket"))?;
                match started {
                    Some(row) => fired.closing.push(Ticket::try_from(row)?),
                    None => fired.dropped += 1,
                }
            }
            TimerKind::CloseRequest => fired.dropped += 1,
        }
    }
    super::commit(transaction).await?;
    Ok(fired)
}
