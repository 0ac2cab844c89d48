//! The `ticket_timers` table: what must happen to a ticket later (today: a close request the
//! creator has not answered), surviving restarts and failover. Each replica's resume loop takes
//! due rows with `FOR UPDATE SKIP LOCKED` and deletes each in the transaction that does its work,
//! so a timer fires exactly once however many replicas run.

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, MessageMarker, UserMarker};

use sqlx::types::Json;

use super::tickets::{Ticket, TicketRow, TranscriptPart, ticket_query};
use super::{Result, TicketState, query_error, to_db, to_id};

/// What a timer does when it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "ticket_timer_kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// Close the ticket: its creator did not answer a close request in time.
    CloseRequest,
    /// Post the inactivity warning: the creator of a ticket whose category auto-closes wrote
    /// nothing for a while.
    InactivityWarning,
    /// Close the ticket: nobody answered the inactivity warning.
    InactivityClose,
}

/// A pending close request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    /// The ticket it is about.
    pub ticket_id: i64,
    /// The staff member who asked.
    pub requested_by: Id<UserMarker>,
    /// Why, if they said.
    pub reason: Option<String>,
    /// The message asking the creator, once posted.
    pub message_id: Option<Id<MessageMarker>>,
}

/// Records a close request on an open ticket, due in `timeout`; a request already pending is
/// replaced (a new due time and reason). `false` when the ticket is not open.
pub async fn request_close(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    requested_by: Id<UserMarker>,
    reason: Option<&str>,
    timeout: Duration,
) -> Result<bool> {
    let timeout_micros = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX);
    let recorded = sqlx::query!(
        "INSERT INTO ticket_timers (ticket_id, kind, due_at, requested_by, reason)
         SELECT t.id, $2, now() + make_interval(secs => $3::bigint / 1000000.0), $4, $5
           FROM tickets t WHERE t.id = $1 AND t.state = $6
         ON CONFLICT (ticket_id, kind) DO UPDATE
            SET due_at = EXCLUDED.due_at, requested_by = EXCLUDED.requested_by,
                reason = EXCLUDED.reason, message_id = NULL, created_at = now()",
        ticket_id,
        TimerKind::CloseRequest as TimerKind,
        timeout_micros,
        to_db(requested_by),
        reason,
        TicketState::Open as TicketState,
    )
    .execute(db)
    .await
    .map_err(query_error("record a close request"))?;
    Ok(recorded.rows_affected() == 1)
}

/// Remembers the message a pending timer of `kind` posted (a close request, an inactivity
/// warning), so answering or withdrawing it can retire its buttons.
pub async fn record_timer_message(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    kind: TimerKind,
    message_id: Id<MessageMarker>,
) -> Result<()> {
    sqlx::query!(
        "UPDATE ticket_timers SET message_id = $3 WHERE ticket_id = $1 AND kind = $2",
        ticket_id,
        kind as TimerKind,
        to_db(message_id),
    )
    .execute(db)
    .await
    .map_err(query_error("record a timer's message"))?;
    Ok(())
}

/// Withdraws the ticket's pending close request (answered, or the ticket closes otherwise); the
/// request as it was, or `None` when none was pending (already answered, or fired).
pub async fn take_close_request(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
) -> Result<Option<CloseRequest>> {
    let row = sqlx::query!(
        "DELETE FROM ticket_timers WHERE ticket_id = $1 AND kind = $2
         RETURNING ticket_id, requested_by, reason, message_id",
        ticket_id,
        TimerKind::CloseRequest as TimerKind,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("withdraw a close request"))?;
    row.map(|row| {
        Ok(CloseRequest {
            ticket_id: row.ticket_id,
            requested_by: to_id("requested_by", row.requested_by)?,
            reason: row.reason,
            message_id: row
                .message_id
                .map(|id| to_id("message_id", id))
                .transpose()?,
        })
    })
    .transpose()
}

/// Fires this bot's due close requests, at most `limit`: in one transaction each due row is
/// taken (rows another replica holds are skipped), its ticket moves to `closing` with the
/// requester and reason, and the row is deleted. The tickets that began to close, for the
/// caller to drive; a request whose ticket already closed otherwise is only deleted.
pub async fn fire_due_close_requests(
    pool: &PgPool,
    application_id: Id<ApplicationMarker>,
    limit: i64,
) -> Result<Vec<Ticket>> {
    let mut transaction = super::begin(pool).await?;
    let due = sqlx::query!(
        "SELECT tt.id, tt.ticket_id, tt.requested_by, tt.reason
           FROM ticket_timers tt JOIN tickets t ON t.id = tt.ticket_id
          WHERE tt.kind = $1 AND tt.due_at <= now() AND t.application_id = $2
          ORDER BY tt.due_at
          LIMIT $3
          FOR UPDATE OF tt SKIP LOCKED",
        TimerKind::CloseRequest as TimerKind,
        to_db(application_id),
        limit,
    )
    .fetch_all(&mut *transaction)
    .await
    .map_err(query_error("take due close requests"))?;
    let mut started = Vec::new();
    for timer in due {
        sqlx::query!("DELETE FROM ticket_timers WHERE id = $1", timer.id)
            .execute(&mut *transaction)
            .await
            .map_err(query_error("retire a due close request"))?;
        let started_close = ticket_query!(
            "UPDATE tickets
             SET state = $4, closed_by = $2, close_reason = $3, updated_at = now()
             WHERE id = $1 AND state = $5
             RETURNING ",
            "",
            timer.ticket_id,
            timer.requested_by,
            timer.reason.as_deref(),
            TicketState::Closing as TicketState,
            TicketState::Open as TicketState,
        )
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query_error("close a ticket whose close request timed out"))?;
        if let Some(row) = started_close {
            started.push(Ticket::try_from(row)?);
        }
    }
    super::commit(transaction).await?;
    Ok(started)
}
