//! The `tickets` table: opening (one open ticket per user and category, decided by a partial
//! unique index), the durable close steps, and the bookkeeping of each ticket's first message.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use twilight_model::id::Id;
use twilight_model::id::marker::{
    ChannelMarker, GuildMarker, InteractionMarker, MessageMarker, UserMarker,
};
use twilight_model::util::Timestamp;

use super::{Result, StoreError, TicketState, query_error, to_db, to_id, to_timestamp};

/// One uploaded part of a transcript (a transcript too large for one paste is split).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptPart {
    /// The paste id on the PrivateBin server.
    pub id: String,
    /// The share link, key included.
    pub url: String,
    /// The token that deletes the paste (for erasure requests).
    pub delete_token: String,
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The ticket number shown to people.
    pub id: i64,
    /// The guild the ticket lives in.
    pub guild_id: Id<GuildMarker>,
    /// The category's stable key (namespace/name under Kubernetes).
    pub category_key: String,
    /// Who opened it.
    pub user_id: Id<UserMarker>,
    /// The ticket channel, once created.
    pub channel_id: Option<Id<ChannelMarker>>,
    /// Where it is in its life.
    pub state: TicketState,
    /// The interaction (button click) that opened it.
    pub open_interaction_id: Id<InteractionMarker>,
    /// Messages sent in the ticket channel.
    pub message_count: i32,
    /// People added to the ticket besides its creator.
    pub additional_users: Vec<Id<UserMarker>>,
    /// Who closed it.
    pub closed_by: Option<Id<UserMarker>>,
    /// Why, if they said.
    pub close_reason: Option<String>,
    /// The transcript link (the first part when split).
    pub transcript_url: Option<String>,
    /// The first part's delete token.
    pub transcript_delete_token: Option<String>,
    /// Every part of the transcript.
    pub transcript_parts: Vec<TranscriptPart>,
    /// The channel is gone (deleted by hand): the transcript comes from stored messages and the
    /// close does not delete the channel.
    pub channel_gone: bool,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When the close completed.
    pub closed_at: Option<Timestamp>,
}

/// A `tickets` row as the queries return it (timestamps as microseconds since the epoch, which
/// twilight's `Timestamp` is built from without a date-time crate).
struct TicketRow {
    id: i64,
    guild_id: i64,
    category_key: String,
    user_id: i64,
    channel_id: Option<i64>,
    state: TicketState,
    open_interaction_id: i64,
    message_count: i32,
    additional_users: Vec<i64>,
    closed_by: Option<i64>,
    close_reason: Option<String>,
    transcript_url: Option<String>,
    transcript_delete_token: Option<String>,
    transcript_parts: Json<Vec<TranscriptPart>>,
    channel_gone: bool,
    created_at_micros: i64,
    updated_at_micros: i64,
    closed_at_micros: Option<i64>,
}

/// `query_as!` into [`TicketRow`], with the ticket columns spliced between `$before` and
/// `$after`: the macros take only literal SQL, and a query of every column should be written once.
macro_rules! ticket_query {
    ($before:tt, $after:tt $(, $argument:expr)* $(,)?) => {
        sqlx::query_as!(
            TicketRow,
            $before
                + "id, guild_id, category_key, user_id, channel_id, state, open_interaction_id,
                   message_count, additional_users, closed_by, close_reason, transcript_url,
                   transcript_delete_token,
                   transcript_parts AS \"transcript_parts: Json<Vec<TranscriptPart>>\",
                   channel_gone,
                   (extract(epoch FROM created_at) * 1000000)::bigint AS \"created_at_micros!\",
                   (extract(epoch FROM updated_at) * 1000000)::bigint AS \"updated_at_micros!\",
                   (extract(epoch FROM closed_at) * 1000000)::bigint AS closed_at_micros"
                + $after
            $(, $argument)*
        )
    };
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;

    fn try_from(row: TicketRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            guild_id: to_id("guild_id", row.guild_id)?,
            category_key: row.category_key,
            user_id: to_id("user_id", row.user_id)?,
            channel_id: row
                .channel_id
                .map(|id| to_id("channel_id", id))
                .transpose()?,
            state: row.state,
            open_interaction_id: to_id("open_interaction_id", row.open_interaction_id)?,
            message_count: row.message_count,
            additional_users: row
                .additional_users
                .into_iter()
                .map(|id| to_id("additional_users", id))
                .collect::<Result<_>>()?,
            closed_by: row.closed_by.map(|id| to_id("closed_by", id)).transpose()?,
            close_reason: row.close_reason,
            transcript_url: row.transcript_url,
            transcript_delete_token: row.transcript_delete_token,
            transcript_parts: row.transcript_parts.0,
            channel_gone: row.channel_gone,
            created_at: to_timestamp("created_at", row.created_at_micros)?,
            updated_at: to_timestamp("updated_at", row.updated_at_micros)?,
            closed_at: row
                .closed_at_micros
                .map(|m| to_timestamp("closed_at", m))
                .transpose()?,
        })
    }
}

fn tickets(rows: Vec<TicketRow>) -> Result<Vec<Ticket>> {
    rows.into_iter().map(Ticket::try_from).collect()
}

/// The facts needed to start a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The guild.
    pub guild_id: Id<GuildMarker>,
    /// The category's stable key.
    pub category_key: String,
    /// Who clicked.
    pub user_id: Id<UserMarker>,
    /// The click.
    pub interaction_id: Id<InteractionMarker>,
}

/// What [`begin_ticket`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginTicket {
    /// A new ticket row in state `opening`: the caller creates the channel next.
    Created(Ticket),
    /// The user already has an open ticket in this category (a double click, another replica).
    AlreadyOpen(Ticket),
}

/// Starts a ticket unless the user already has one open in the category; the unique index decides,
/// so concurrent clicks on any number of replicas yield exactly one ticket.
pub async fn begin_ticket(pool: &PgPool, new: &NewTicket) -> Result<BeginTicket> {
    let inserted = ticket_query!(
        "INSERT INTO tickets (guild_id, category_key, user_id, open_interaction_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING
         RETURNING ",
        "",
        to_db(new.guild_id),
        new.category_key,
        to_db(new.user_id),
        to_db(new.interaction_id),
    )
    .fetch_optional(pool)
    .await
    .map_err(query_error("insert ticket"))?;
    if let Some(row) = inserted {
        return Ok(BeginTicket::Created(row.try_into()?));
    }
    // Lost the race (or the same click was delivered twice): report the ticket that won.
    let existing = ticket_query!(
        "SELECT ",
        " FROM tickets
         WHERE (guild_id = $1 AND category_key = $2 AND user_id = $3 AND state IN ($5, $6))
            OR open_interaction_id = $4
         ORDER BY id
         LIMIT 1",
        to_db(new.guild_id),
        new.category_key,
        to_db(new.user_id),
        to_db(new.interaction_id),
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_optional(pool)
    .await
    .map_err(query_error("find open ticket"))?;
    match existing {
        Some(row) => Ok(BeginTicket::AlreadyOpen(row.try_into()?)),
        // The conflicting ticket closed between the two statements: try once more.
        None => Box::pin(begin_ticket(pool, new)).await,
    }
}

/// Records the ticket's channel and moves it from `opening` to `open`.
pub async fn attach_channel(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    channel_id: Id<ChannelMarker>,
) -> Result<Ticket> {
    ticket_query!(
        "UPDATE tickets
         SET channel_id = $2, state = $3, updated_at = now()
         WHERE id = $1 AND state IN ($4, $3)
         RETURNING ",
        "",
        ticket_id,
        to_db(channel_id),
        TicketState::Open as TicketState,
        TicketState::Opening as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("attach ticket channel"))?
    .ok_or(StoreError::TicketNotFound(ticket_id))?
    .try_into()
}

/// Removes a ticket whose channel could not be created, so the user is not blocked by a ghost.
pub async fn abandon_opening(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query!(
        "DELETE FROM tickets WHERE id = $1 AND state = $2",
        ticket_id,
        TicketState::Opening as TicketState,
    )
    .execute(db)
    .await
    .map_err(query_error("abandon ticket"))?;
    Ok(())
}

/// The ticket with this number.
pub async fn ticket(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<Option<Ticket>> {
    ticket_query!("SELECT ", " FROM tickets WHERE id = $1", ticket_id)
        .fetch_optional(db)
        .await
        .map_err(query_error("load ticket"))?
        .map(Ticket::try_from)
        .transpose()
}

/// The ticket whose channel this is, if any.
pub async fn ticket_by_channel(
    db: impl PgExecutor<'_>,
    channel_id: Id<ChannelMarker>,
) -> Result<Option<Ticket>> {
    ticket_query!(
        "SELECT ",
        " FROM tickets WHERE channel_id = $1",
        to_db(channel_id)
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("load ticket by channel"))?
    .map(Ticket::try_from)
    .transpose()
}

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

/// Stores the transcript's location and moves `closing` → `transcript_stored`.
pub async fn record_transcript(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    parts: &[TranscriptPart],
) -> Result<Ticket> {
    let first = parts.first();
    ticket_query!(
        "UPDATE tickets
         SET state = $5, transcript_url = $2, transcript_delete_token = $3,
             transcript_parts = $4, updated_at = now()
         WHERE id = $1 AND state = $6
         RETURNING ",
        "",
        ticket_id,
        first.map(|part| part.url.as_str()),
        first.map(|part| part.delete_token.as_str()),
        Json(parts) as _,
        TicketState::TranscriptStored as TicketState,
        TicketState::Closing as TicketState,
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

/// Raises a ticket's message count to at least `count` (the messages its transcript holds), so a
/// MESSAGE_CREATE missed during an outage still counts.
pub async fn raise_message_count(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    count: i32,
) -> Result<()> {
    sqlx::query!(
        "UPDATE tickets
         SET message_count = GREATEST(message_count, $2), updated_at = now()
         WHERE id = $1",
        ticket_id,
        count
    )
    .execute(db)
    .await
    .map_err(query_error("raise message count"))?;
    Ok(())
}

/// Tickets still `opening` that were started more than `older_than` ago: a crash between the row
/// and the channel left them half-made.
pub async fn stale_openings(db: impl PgExecutor<'_>, older_than: Duration) -> Result<Vec<Ticket>> {
    let rows = ticket_query!(
        "SELECT ",
        " FROM tickets
         WHERE state = $2 AND created_at < now() - make_interval(secs => $1)
         ORDER BY id",
        older_than.as_secs_f64(),
        TicketState::Opening as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list stale openings"))?;
    tickets(rows)
}

/// Tickets part-way through their close (after a crash or an outage), oldest first.
pub async fn unfinished_closes(db: impl PgExecutor<'_>) -> Result<Vec<Ticket>> {
    let rows = ticket_query!(
        "SELECT ",
        " FROM tickets WHERE state NOT IN ($1, $2, $3) ORDER BY id",
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        TicketState::Closed as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list unfinished closes"))?;
    tickets(rows)
}

/// How many tickets are open (or opening) in each category that has any.
pub async fn open_ticket_counts(db: impl PgExecutor<'_>) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT category_key, count(*) AS "open!"
           FROM tickets
           WHERE state IN ($1, $2)
           GROUP BY category_key
           ORDER BY category_key"#,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("count open tickets"))?;
    Ok(rows
        .into_iter()
        .map(|row| (row.category_key, row.open))
        .collect())
}

/// An open ticket whose first message is not yet posted and pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWelcome {
    /// The ticket.
    pub ticket_id: i64,
    /// Its channel.
    pub channel_id: Id<ChannelMarker>,
    /// Who opened it.
    pub user_id: Id<UserMarker>,
    /// Its category.
    pub category_key: String,
    /// The first message, once posted.
    pub message_id: Option<Id<MessageMarker>>,
    /// Whether the ticket was last changed long enough ago that no open is still posting it.
    pub settled: bool,
}

/// Open tickets whose first message is not posted and pinned; `settled` when last changed more
/// than `settle_after` ago (so an open still posting it is left alone).
pub async fn pending_welcomes(
    db: impl PgExecutor<'_>,
    settle_after: Duration,
) -> Result<Vec<PendingWelcome>> {
    let rows = sqlx::query!(
        r#"SELECT id, channel_id AS "channel_id!", user_id, category_key, welcome_message_id,
                  updated_at < now() - make_interval(secs => $1) AS "settled!"
           FROM tickets
           WHERE state = $2 AND channel_id IS NOT NULL AND NOT welcome_pinned
           ORDER BY id"#,
        settle_after.as_secs_f64(),
        TicketState::Open as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list tickets without their first message"))?;
    rows.into_iter()
        .map(|row| {
            Ok(PendingWelcome {
                ticket_id: row.id,
                channel_id: to_id("channel_id", row.channel_id)?,
                user_id: to_id("user_id", row.user_id)?,
                category_key: row.category_key,
                message_id: row
                    .welcome_message_id
                    .map(|id| to_id("welcome_message_id", id))
                    .transpose()?,
                settled: row.settled,
            })
        })
        .collect()
}

/// Records the ticket's first message once it is posted.
pub async fn record_welcome(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    message_id: Id<MessageMarker>,
) -> Result<()> {
    sqlx::query!(
        "UPDATE tickets SET welcome_message_id = $2, updated_at = now() WHERE id = $1",
        ticket_id,
        to_db(message_id)
    )
    .execute(db)
    .await
    .map_err(query_error("record the ticket's first message"))?;
    Ok(())
}

/// Records that the ticket's first message is pinned: nothing is left to repair.
pub async fn mark_welcome_pinned(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query!(
        "UPDATE tickets SET welcome_pinned = true, updated_at = now() WHERE id = $1",
        ticket_id
    )
    .execute(db)
    .await
    .map_err(query_error("mark the ticket's first message pinned"))?;
    Ok(())
}
