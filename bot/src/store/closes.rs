//! The durable close of a ticket, in the `tickets` table: each step moves the row's `state`
//! one step forward, conditionally, so a step another replica already took is not taken twice.

use std::time::Duration;

use sqlx::PgExecutor;
use sqlx::types::Json;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, UserMarker};

use super::tickets::{Ticket, TicketRow, TranscriptPart, ticket_query, tickets};
use super::{Result, StoreError, TicketState, query_error, to_db};

/// Moves an open ticket to `closing`, recording who closed it and why. Idempotent: a ticket already
/// closing (or further) is returned as it is, so a double click on Close starts one close.
pub async fn start_close(
    db: impl PgExecutor<'_> + Copy,
    ticket_id: i64,
    closed_by: Id<UserMarker>,
    reason: Option<&str>,
) -> Result<Ticket> {
    let started = ticket_query!(
        "UPDATE tickets
         SET state = $4, closed_by = $2, close_reason = $3, updated_at = now()
         WHERE id = $1 AND state IN ($5, $6)
         RETURNING ",
        "",
        ticket_id,
        to_db(closed_by),
        reason,
        TicketState::Closing as TicketState,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("start close"))?;
    // States only move forward, so a ticket this close did not move shows the close that won.
    let ticket = match started {
        Some(row) => row,
        None => ticket_query!("SELECT ", " FROM tickets WHERE id = $1", ticket_id)
            .fetch_optional(db)
            .await
            .map_err(query_error("start close"))?
            .ok_or(StoreError::TicketNotFound(ticket_id))?,
    };
    ticket.try_into()
}

/// A stored transcript as [`record_transcript`] records it.
#[derive(Debug, Clone, Copy)]
pub struct RecordedTranscript<'a> {
    /// Every paste: the text parts in order (the first is the link people open), then the files.
    pub parts: &'a [TranscriptPart],
    /// SHA-256 of the whole Markdown, lower-case hex.
    pub sha256: &'a str,
}

/// Stores the transcript's location and moves `closing` → `transcript_stored`. `lifetime` is how
/// long PrivateBin keeps the pastes (`None`: for ever); once it has passed,
/// [`clear_expired_transcripts`] forgets where they were.
pub async fn record_transcript(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    transcript: &RecordedTranscript<'_>,
    lifetime: Option<Duration>,
) -> Result<Ticket> {
    let first = transcript.parts.first();
    ticket_query!(
        "UPDATE tickets
         SET state = $5, transcript_url = $2, transcript_delete_token = $3,
             transcript_parts = $4, transcript_sha256 = $8, updated_at = now(),
             transcript_expires_at = now() + make_interval(secs => $7)
         WHERE id = $1 AND state = $6
         RETURNING ",
        "",
        ticket_id,
        first.map(|part| part.url.as_str()),
        first.map(|part| part.delete_token.as_str()),
        Json(transcript.parts) as _,
        TicketState::TranscriptStored as TicketState,
        TicketState::Closing as TicketState,
        lifetime.map(|lifetime| lifetime.as_secs_f64()),
        transcript.sha256,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("record transcript"))?
    .ok_or(StoreError::TicketNotFound(ticket_id))?
    .try_into()
}

/// Moves a ticket one close step forward, from `from` to the step after it. Returns `false` when the
/// ticket was not in `from` (another replica got there first), which callers treat as done.
pub async fn advance_close(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    from: TicketState,
) -> Result<bool> {
    let Some(to) = from.next_close_step() else {
        return Ok(false);
    };
    let advanced = sqlx::query!(
        "UPDATE tickets
         SET state = $3, updated_at = now(),
             closed_at = CASE WHEN $4 THEN now() ELSE closed_at END
         WHERE id = $1 AND state = $2",
        ticket_id,
        from as TicketState,
        to as TicketState,
        to == TicketState::Closed,
    )
    .execute(db)
    .await
    .map_err(query_error("advance close"))?;
    Ok(advanced.rows_affected() == 1)
}

/// Closes the open ticket of a channel someone deleted by hand: moves it to `closing` with no
/// closer, `reason`, and the channel marked gone. `None` when no open ticket has this channel
/// (not a ticket channel, already closing, or another replica got there first).
pub async fn close_channel_gone(
    db: impl PgExecutor<'_>,
    channel_id: Id<ChannelMarker>,
    reason: &str,
) -> Result<Option<Ticket>> {
    ticket_query!(
        "UPDATE tickets
         SET state = $3, closed_by = NULL, close_reason = $2, channel_gone = true,
             updated_at = now()
         WHERE channel_id = $1 AND state IN ($4, $5)
         RETURNING ",
        "",
        to_db(channel_id),
        reason,
        TicketState::Closing as TicketState,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("close ticket of a deleted channel"))?
    .map(Ticket::try_from)
    .transpose()
}

/// Records that a closing ticket's channel is gone (found missing while reading its history).
pub async fn mark_channel_gone(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query!(
        "UPDATE tickets SET channel_gone = true, updated_at = now() WHERE id = $1",
        ticket_id
    )
    .execute(db)
    .await
    .map_err(query_error("mark ticket channel gone"))?;
    Ok(())
}

/// Tickets part-way through their close (after a crash or an outage), oldest first.
pub async fn unfinished_closes(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
) -> Result<Vec<Ticket>> {
    let rows = ticket_query!(
        "SELECT ",
        " FROM tickets WHERE application_id = $4 AND state NOT IN ($1, $2, $3) ORDER BY id",
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        TicketState::Closed as TicketState,
        to_db(bot),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list unfinished closes"))?;
    tickets(rows)
}

/// Forgets the transcripts of this bot's closed tickets whose pastes PrivateBin has deleted by
/// now: their URLs (which hold the decryption key) and delete tokens lead nowhere. Returns how
/// many tickets were cleared.
pub async fn clear_expired_transcripts(
    db: impl PgExecutor<'_>,
    application_id: Id<ApplicationMarker>,
) -> Result<u64> {
    let cleared = sqlx::query!(
        "UPDATE tickets
         SET transcript_url = NULL, transcript_delete_token = NULL, transcript_parts = '[]',
             transcript_expires_at = NULL, updated_at = now()
         WHERE application_id = $1 AND state = $2 AND transcript_expires_at < now()",
        to_db(application_id),
        TicketState::Closed as TicketState,
    )
    .execute(db)
    .await
    .map_err(query_error("clear expired transcripts"))?;
    Ok(cleared.rows_affected())
}

/// Replaces the stored links of a ticket's transcript parts (the first part's in
/// `transcript_url` too), keeping the delete tokens.
pub async fn replace_transcript_links(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    parts: &[TranscriptPart],
) -> Result<()> {
    sqlx::query!(
        "UPDATE tickets SET transcript_url = $2, transcript_parts = $3, updated_at = now()
         WHERE id = $1",
        ticket_id,
        parts.first().map(|part| part.url.as_str()),
        Json(parts) as _,
    )
    .execute(db)
    .await
    .map_err(query_error("replace transcript links"))?;
    Ok(())
}
