//! The `tickets` table: the row as the bot reads it, and opening (one open ticket per user and
//! category, decided by a partial unique index). The close steps are in `closes`, the first
//! message's bookkeeping in `welcomes`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use twilight_model::id::Id;
use twilight_model::id::marker::{
    ApplicationMarker, ChannelMarker, GuildMarker, InteractionMarker, UserMarker,
};
use twilight_model::util::Timestamp;

use super::{Result, StoreError, TicketState, query_error, to_db, to_id, to_timestamp};

/// One uploaded paste of a transcript: a part of its text (a transcript too large for one paste
/// is split), or one of the ticket's files. Text parts come first, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptPart {
    /// The paste id on the PrivateBin server.
    pub id: String,
    /// The share link, key included.
    pub url: String,
    /// The token that deletes the paste (for erasure requests).
    pub delete_token: String,
    /// What the paste holds; rows written before files were kept hold text parts only.
    #[serde(default, skip_serializing_if = "PartKind::is_text")]
    pub kind: PartKind,
    /// SHA-256 of what the paste holds (the part's text, or the file's bytes), lower-case hex;
    /// `None` on rows written before hashes were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What one paste of a transcript holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// (Part of) the transcript's Markdown.
    #[default]
    Text,
    /// One of the ticket's attachments, in PrivateBin's attachment field.
    File,
}

impl PartKind {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde passes a reference"
    )]
    fn is_text(kind: &Self) -> bool {
        *kind == Self::Text
    }
}

/// A `tickets` row as the bot reads it, its ids and timestamps already parsed: a row holding an
/// id that is no Discord id is refused as [`StoreError::CorruptRow`] instead.
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
    /// Where it is in its life; the close moves it one step at a time through
    /// [`TicketState::next_close_step`].
    pub state: TicketState,
    /// The interaction (button click) that opened it.
    pub open_interaction_id: Id<InteractionMarker>,
    /// Messages sent in the ticket channel, each counted once however many replicas saw it, and
    /// raised at the close to what the transcript holds (messages missed during an outage).
    pub message_count: i32,
    /// People added to the ticket besides its creator (`/ticket add`).
    pub additional_users: Vec<Id<UserMarker>>,
    /// The staff member who claimed it, if anyone has.
    pub claimed_by: Option<Id<UserMarker>>,
    /// Who clicked Close; `None` while open, and when the channel was deleted by hand.
    pub closed_by: Option<Id<UserMarker>>,
    /// Why, if they said.
    pub close_reason: Option<String>,
    /// The transcript link (the first part when split).
    pub transcript_url: Option<String>,
    /// The first part's delete token.
    pub transcript_delete_token: Option<String>,
    /// Every paste of the transcript: its text parts, then its files.
    pub transcript_parts: Vec<TranscriptPart>,
    /// SHA-256 of the whole transcript's Markdown (before it was split), as the log post shows it.
    pub transcript_sha256: Option<String>,
    /// The channel is gone (deleted by hand): the transcript comes from stored messages and the
    /// close does not delete the channel.
    pub channel_gone: bool,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When the row last changed, state or bookkeeping; the resume loop leaves a first message
    /// alone until this is old enough that no open is still posting it.
    pub updated_at: Timestamp,
    /// When the close completed.
    pub closed_at: Option<Timestamp>,
}

/// A `tickets` row as the queries return it (timestamps as microseconds since the epoch, which
/// twilight's `Timestamp` is built from without a date-time crate).
pub(super) struct TicketRow {
    pub(super) id: i64,
    pub(super) guild_id: i64,
    pub(super) category_key: String,
    pub(super) user_id: i64,
    pub(super) channel_id: Option<i64>,
    pub(super) state: TicketState,
    pub(super) open_interaction_id: i64,
    pub(super) message_count: i32,
    pub(super) additional_users: Vec<i64>,
    pub(super) claimed_by: Option<i64>,
    pub(super) closed_by: Option<i64>,
    pub(super) close_reason: Option<String>,
    pub(super) transcript_url: Option<String>,
    pub(super) transcript_delete_token: Option<String>,
    pub(super) transcript_parts: Json<Vec<TranscriptPart>>,
    pub(super) transcript_sha256: Option<String>,
    pub(super) channel_gone: bool,
    pub(super) created_at_micros: i64,
    pub(super) updated_at_micros: i64,
    pub(super) closed_at_micros: Option<i64>,
}

/// `query_as!` into [`TicketRow`], with the ticket columns spliced between `$before` and
/// `$after`: the macros take only literal SQL, and a query of every column should be written once.
macro_rules! ticket_query {
    ($before:tt, $after:tt $(, $argument:expr)* $(,)?) => {
        sqlx::query_as!(
            TicketRow,
            $before
                + "id, guild_id, category_key, user_id, channel_id, state, open_interaction_id,
                   message_count, additional_users, claimed_by, closed_by, close_reason, transcript_url,
                   transcript_delete_token,
                   transcript_parts AS \"transcript_parts: Json<Vec<TranscriptPart>>\",
                   transcript_sha256, channel_gone,
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
            claimed_by: row
                .claimed_by
                .map(|id| to_id("claimed_by", id))
                .transpose()?,
            closed_by: row.closed_by.map(|id| to_id("closed_by", id)).transpose()?,
            close_reason: row.close_reason,
            transcript_url: row.transcript_url,
            transcript_delete_token: row.transcript_delete_token,
            transcript_parts: row.transcript_parts.0,
            transcript_sha256: row.transcript_sha256,
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

pub(super) fn tickets(rows: Vec<TicketRow>) -> Result<Vec<Ticket>> {
    rows.into_iter().map(Ticket::try_from).collect()
}

/// The facts needed to start a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The bot the ticket belongs to.
    pub application_id: Id<ApplicationMarker>,
    /// The guild the open button was clicked in.
    pub guild_id: Id<GuildMarker>,
    /// The category's stable key.
    pub category_key: String,
    /// Who clicked the open button: the ticket's owner, limited to one open ticket per category.
    pub user_id: Id<UserMarker>,
    /// The click's interaction: the same click delivered again finds the ticket it opened.
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
        "INSERT INTO tickets (guild_id, category_key, user_id, open_interaction_id, application_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING
         RETURNING ",
        "",
        to_db(new.guild_id),
        new.category_key,
        to_db(new.user_id),
        to_db(new.interaction_id),
        to_db(new.application_id),
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
         WHERE (application_id = $7 AND guild_id = $1 AND category_key = $2 AND user_id = $3
                AND state IN ($5, $6))
            OR open_interaction_id = $4
         ORDER BY id
         LIMIT 1",
        to_db(new.guild_id),
        new.category_key,
        to_db(new.user_id),
        to_db(new.interaction_id),
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        to_db(new.application_id),
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
pub async fn stale_openings(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    older_than: Duration,
) -> Result<Vec<Ticket>> {
    let rows = ticket_query!(
        "SELECT ",
        " FROM tickets
         WHERE application_id = $3 AND state = $2
           AND created_at < now() - make_interval(secs => $1)
         ORDER BY id",
        older_than.as_secs_f64(),
        TicketState::Opening as TicketState,
        to_db(bot),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list stale openings"))?;
    tickets(rows)
}

/// How many of the bot's tickets are open (or opening) in each category that has any.
pub async fn open_ticket_counts(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT category_key, count(*) AS "open!"
           FROM tickets
           WHERE application_id = $3 AND state IN ($1, $2)
           GROUP BY category_key
           ORDER BY category_key"#,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        to_db(bot),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("count open tickets"))?;
    Ok(rows
        .into_iter()
        .map(|row| (row.category_key, row.open))
        .collect())
}

pub(super) use ticket_query;

/// When `user`'s latest ticket in the category stopped being open (its close began), Unix
/// seconds; `None` when they have none. For the category's cooldown.
pub async fn last_close_unix(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    category_key: &str,
    user: Id<UserMarker>,
) -> Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT extract(epoch FROM max(COALESCE(closed_at, updated_at)))::bigint AS "closed"
           FROM tickets
           WHERE application_id = $1 AND category_key = $2 AND user_id = $3
             AND state NOT IN ($4, $5)"#,
        to_db(bot),
        category_key,
        to_db(user),
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_one(db)
    .await
    .map_err(query_error("find the last close"))
}
