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
    /// Who clicked the open button: the ticket's owner.
    pub user_id: Id<UserMarker>,
    /// The click's interaction: the same click delivered again finds the ticket it opened.
    pub interaction_id: Id<InteractionMarker>,
    /// How many tickets the owner may hold open in the category at once (at least 1).
    pub max_open_per_user: u16,
    /// How many tickets may be open in the guild at once, across the bot's categories; `None`
    /// for no cap.
    pub max_open_in_guild: Option<u32>,
}

/// What [`begin_ticket`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginTicket {
    /// A new ticket row in state `opening`: the caller creates the channel next.
    Created(Ticket),
    /// This click already began this ticket (the same interaction delivered twice).
    SameClick(Ticket),
    /// The user already holds as many open tickets in the category as it allows (a double
    /// click, another replica, or simply their earlier tickets): those tickets, oldest first.
    AtLimit(Vec<Ticket>),
    /// The guild already holds its cap of open tickets.
    GuildAtCap {
        /// The cap (`limits.maxOpenTicketsPerGuild`).
        cap: u32,
    },
}

/// The advisory lock namespace of the guild cap (the first key of Postgres' two-key advisory
/// locks): opens in one guild count and insert one at a time while a cap is set.
const GUILD_CAP_LOCK_CLASS: i32 = 0x6763_6170; // "gcap"

/// Starts a ticket unless the user already holds the category's maximum of open tickets or the
/// guild its cap. The database decides: each open ticket takes a numbered slot (1 up to the
/// maximum) and a partial unique index gives each slot to one ticket, so concurrent clicks on any
/// number of replicas never exceed the maximum; with a guild cap, opens in the guild take an
/// advisory lock for the transaction, so its count cannot be raced past either.
pub async fn begin_ticket(pool: &PgPool, new: &NewTicket) -> Result<BeginTicket> {
    let max_open = i32::from(new.max_open_per_user.max(1));
    let cap = new.max_open_in_guild.map(i64::from);
    // Every lost race leaves one slot fewer, so this ends within `max_open` rounds; the extra
    // rounds cover tickets closing between the statements.
    for _ in 0..max_open + 3 {
        let mut transaction = pool
            .begin()
            .await
            .map_err(query_error("begin opening a ticket"))?;
        if cap.is_some() {
            let scoped_key = format!("{}/{}", new.application_id, new.guild_id);
            sqlx::query!(
                "SELECT 1 AS locked FROM pg_advisory_xact_lock($1, hashtext($2))",
                GUILD_CAP_LOCK_CLASS,
                scoped_key,
            )
            .fetch_one(&mut *transaction)
            .await
            .map_err(query_error("take the guild cap lock"))?;
        }
        // The lowest free slot, if any is free and the guild is under its cap.
        let inserted = ticket_query!(
            "INSERT INTO tickets
                 (guild_id, category_key, user_id, open_interaction_id, application_id, slot)
             SELECT $1, $2, $3, $4, $5, free.slot::smallint
             FROM generate_series(1, $6::int) AS free(slot)
             WHERE NOT EXISTS (
                     SELECT 1 FROM tickets held
                     WHERE held.application_id = $5 AND held.guild_id = $1
                       AND held.category_key = $2 AND held.user_id = $3
                       AND held.state IN ($7, $8) AND held.slot = free.slot)
               AND ($9::bigint IS NULL OR (
                     SELECT count(*) FROM tickets open
                     WHERE open.application_id = $5 AND open.guild_id = $1
                       AND open.state IN ($7, $8)) < $9)
             ORDER BY free.slot
             LIMIT 1
             ON CONFLICT DO NOTHING
             RETURNING ",
            "",
            to_db(new.guild_id),
            new.category_key,
            to_db(new.user_id),
            to_db(new.interaction_id),
            to_db(new.application_id),
            max_open,
            TicketState::Opening as TicketState,
            TicketState::Open as TicketState,
            cap,
        )
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query_error("insert ticket"))?;
        if let Some(row) = inserted {
            transaction
                .commit()
                .await
                .map_err(query_error("commit a new ticket"))?;
            return Ok(BeginTicket::Created(row.try_into()?));
        }
        let found = why_not_begun(&mut transaction, new, max_open, cap).await?;
        transaction
            .rollback()
            .await
            .map_err(query_error("end opening a ticket"))?;
        if let Some(found) = found {
            return Ok(found);
        }
        // Lost a race for a slot, or the ticket in it closed between the statements: again.
    }
    Err(StoreError::OpenRaceUnsettled)
}

/// Why [`begin_ticket`]'s insert made no row: the same click, the user's limit or the guild's
/// cap; `None` when none of them holds any more (a race to try again).
async fn why_not_begun(
    transaction: &mut sqlx::PgConnection,
    new: &NewTicket,
    max_open: i32,
    cap: Option<i64>,
) -> Result<Option<BeginTicket>> {
    let held = tickets(
        ticket_query!(
            "SELECT ",
            " FROM tickets
             WHERE (application_id = $7 AND guild_id = $1 AND category_key = $2 AND user_id = $3
                    AND state IN ($5, $6))
                OR open_interaction_id = $4
             ORDER BY id",
            to_db(new.guild_id),
            new.category_key,
            to_db(new.user_id),
            to_db(new.interaction_id),
            TicketState::Opening as TicketState,
            TicketState::Open as TicketState,
            to_db(new.application_id),
        )
        .fetch_all(&mut *transaction)
        .await
        .map_err(query_error("find open tickets"))?,
    )?;
    if let Some(same) = held
        .iter()
        .find(|ticket| ticket.open_interaction_id == new.interaction_id)
    {
        return Ok(Some(BeginTicket::SameClick(same.clone())));
    }
    if i32::try_from(held.len()).unwrap_or(i32::MAX) >= max_open {
        return Ok(Some(BeginTicket::AtLimit(held)));
    }
    let Some(cap) = cap else {
        return Ok(None);
    };
    let open = sqlx::query_scalar!(
        r#"SELECT count(*) AS "open!" FROM tickets
           WHERE application_id = $1 AND guild_id = $2 AND state IN ($3, $4)"#,
        to_db(new.application_id),
        to_db(new.guild_id),
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
    )
    .fetch_one(&mut *transaction)
    .await
    .map_err(query_error("count the guild's open tickets"))?;
    Ok((open >= cap).then(|| BeginTicket::GuildAtCap {
        cap: u32::try_from(cap).unwrap_or(u32::MAX),
    }))
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

/// Tickets open (or opening) per guild of one bot, across its categories: what the guild cap
/// counts.
pub async fn open_ticket_counts_by_guild(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
) -> Result<Vec<(Id<GuildMarker>, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT guild_id, count(*) AS "open!"
           FROM tickets
           WHERE application_id = $3 AND state IN ($1, $2)
           GROUP BY guild_id
           ORDER BY guild_id"#,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        to_db(bot),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("count open tickets per guild"))?;
    rows.into_iter()
        .map(|row| Ok((to_id("guild_id", row.guild_id)?, row.open)))
        .collect()
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
