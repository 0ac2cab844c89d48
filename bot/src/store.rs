//! Postgres storage: tickets and their close state machine, counted messages, panels, and the
//! interaction ids already handled.
//!
//! Every function takes an executor, so a handler can compose several of them in one transaction.
//! Discord ids become `i64` only here: Postgres has no unsigned 64-bit integer, and snowflakes stay
//! below 2^63 for centuries.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{FromRow, PgExecutor, PgPool, Postgres};
use twilight_model::id::Id;
use twilight_model::id::marker::{
    ChannelMarker, GuildMarker, InteractionMarker, MessageMarker, UserMarker,
};
use twilight_model::util::Timestamp;

use crate::error::ErrorChain;

/// The forward-only schema migrations in `bot/migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// What went wrong talking to Postgres.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The schema could not be brought up to date.
    #[error("could not run database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A query failed (connection lost, constraint violated unexpectedly, ...).
    #[error("database query failed: {operation}")]
    Query {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A row holds a value the bot cannot interpret (for example an unknown ticket state).
    #[error("database row is corrupt: {0}")]
    CorruptRow(String),
    /// The ticket does not exist (or no longer is in the state the caller expected).
    #[error("ticket {0} not found")]
    TicketNotFound(i64),
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

fn query_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

/// Brings the schema up to date; safe to run from several replicas at once (sqlx takes a lock).
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await.map_err(StoreError::Migrate)
}

/// Where a ticket is in its life. Closing is a sequence of durable steps, each resumable after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// The row exists; the Discord channel is being created.
    Opening,
    /// The channel exists and the conversation is under way.
    Open,
    /// Someone asked to close; the transcript is not stored yet.
    Closing,
    /// The transcript is safely on the PrivateBin server.
    TranscriptStored,
    /// The transcript link is posted in the log channel.
    Logged,
    /// The user was sent a DM (or DMs are off, or the user refuses them).
    Notified,
    /// The Discord channel is gone.
    ChannelDeleted,
    /// Nothing is left to do.
    Closed,
}

impl TicketState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 8] = [
        Self::Opening,
        Self::Open,
        Self::Closing,
        Self::TranscriptStored,
        Self::Logged,
        Self::Notified,
        Self::ChannelDeleted,
        Self::Closed,
    ];

    /// The name stored in the `state` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Open => "open",
            Self::Closing => "closing",
            Self::TranscriptStored => "transcript_stored",
            Self::Logged => "logged",
            Self::Notified => "notified",
            Self::ChannelDeleted => "channel_deleted",
            Self::Closed => "closed",
        }
    }

    /// Parses a `state` column value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }

    /// The state that follows this one in the close sequence, if any.
    pub const fn next_close_step(self) -> Option<Self> {
        match self {
            Self::Closing => Some(Self::TranscriptStored),
            Self::TranscriptStored => Some(Self::Logged),
            Self::Logged => Some(Self::Notified),
            Self::Notified => Some(Self::ChannelDeleted),
            Self::ChannelDeleted => Some(Self::Closed),
            Self::Opening | Self::Open | Self::Closed => None,
        }
    }

    /// Whether the ticket still counts as open for the one-ticket-per-user rule.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Opening | Self::Open)
    }
}

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

/// The ticket columns every query returns, as a literal so queries stay `&'static str` (sqlx 0.9
/// refuses SQL built at run time unless it is audited).
macro_rules! ticket_columns {
    () => {
        "id, guild_id, category_key, user_id, channel_id, state, open_interaction_id, message_count, \
         additional_users, closed_by, close_reason, transcript_url, transcript_delete_token, \
         transcript_parts, channel_gone, \
         (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_micros, \
         (extract(epoch FROM updated_at) * 1000000)::bigint AS updated_at_micros, \
         (extract(epoch FROM closed_at) * 1000000)::bigint AS closed_at_micros"
    };
}

#[derive(FromRow)]
struct TicketRow {
    id: i64,
    guild_id: i64,
    category_key: String,
    user_id: i64,
    channel_id: Option<i64>,
    state: String,
    open_interaction_id: i64,
    message_count: i32,
    additional_users: Vec<i64>,
    closed_by: Option<i64>,
    close_reason: Option<String>,
    transcript_url: Option<String>,
    transcript_delete_token: Option<String>,
    transcript_parts: sqlx::types::Json<Vec<TranscriptPart>>,
    channel_gone: bool,
    created_at_micros: i64,
    updated_at_micros: i64,
    closed_at_micros: Option<i64>,
}

fn to_id<T>(column: &str, value: i64) -> Result<Id<T>> {
    u64::try_from(value)
        .ok()
        .and_then(Id::new_checked)
        .ok_or_else(|| StoreError::CorruptRow(format!("{column} = {value} is not a Discord id")))
}

fn to_db<T>(id: Id<T>) -> i64 {
    // Snowflakes hold a millisecond timestamp in their top 42 bits; they pass 2^63 only in 2154.
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}

fn to_timestamp(column: &str, micros: i64) -> Result<Timestamp> {
    Timestamp::from_micros(micros)
        .map_err(|_| StoreError::CorruptRow(format!("{column} = {micros} is not a timestamp")))
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
            state: TicketState::parse(&row.state).ok_or_else(|| {
                StoreError::CorruptRow(format!("unknown ticket state {:?}", row.state))
            })?,
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

/// Marks an interaction as handled; `true` for the first caller only, so each click is handled once
/// even when several replicas receive it.
pub async fn claim_interaction(
    db: impl PgExecutor<'_>,
    interaction: Id<InteractionMarker>,
) -> Result<bool> {
    let claimed = sqlx::query(
        "INSERT INTO processed_interactions (interaction_id) VALUES ($1) ON CONFLICT DO NOTHING",
    )
    .bind(to_db(interaction))
    .execute(db)
    .await
    .map_err(query_error("claim interaction"))?;
    Ok(claimed.rows_affected() == 1)
}

/// Forgets handled interactions older than `max_age_secs` (Discord never redelivers them that late).
pub async fn prune_interactions(db: impl PgExecutor<'_>, max_age_secs: i64) -> Result<u64> {
    let pruned = sqlx::query(
        "DELETE FROM processed_interactions WHERE processed_at < now() - make_interval(secs => $1)",
    )
    .bind(max_age_secs)
    .execute(db)
    .await
    .map_err(query_error("prune interactions"))?;
    Ok(pruned.rows_affected())
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
    let inserted = sqlx::query_as::<_, TicketRow>(concat!(
        "INSERT INTO tickets (guild_id, category_key, user_id, open_interaction_id) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING \
         RETURNING ",
        ticket_columns!(),
        ""
    ))
    .bind(to_db(new.guild_id))
    .bind(&new.category_key)
    .bind(to_db(new.user_id))
    .bind(to_db(new.interaction_id))
    .fetch_optional(pool)
    .await
    .map_err(query_error("insert ticket"))?;
    if let Some(row) = inserted {
        return Ok(BeginTicket::Created(row.try_into()?));
    }
    // Lost the race (or the same click was delivered twice): report the ticket that won.
    let existing = sqlx::query_as::<_, TicketRow>(concat!("SELECT ", ticket_columns!(), " FROM tickets \
         WHERE (guild_id = $1 AND category_key = $2 AND user_id = $3 AND state IN ('opening', 'open')) \
            OR open_interaction_id = $4 \
         ORDER BY id LIMIT 1"))
    .bind(to_db(new.guild_id))
    .bind(&new.category_key)
    .bind(to_db(new.user_id))
    .bind(to_db(new.interaction_id))
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
    sqlx::query_as::<_, TicketRow>(concat!(
        "UPDATE tickets SET channel_id = $2, state = 'open', updated_at = now() \
         WHERE id = $1 AND state IN ('opening', 'open') RETURNING ",
        ticket_columns!(),
        ""
    ))
    .bind(ticket_id)
    .bind(to_db(channel_id))
    .fetch_optional(db)
    .await
    .map_err(query_error("attach ticket channel"))?
    .ok_or(StoreError::TicketNotFound(ticket_id))?
    .try_into()
}

/// Removes a ticket whose channel could not be created, so the user is not blocked by a ghost.
pub async fn abandon_opening(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM tickets WHERE id = $1 AND state = 'opening'")
        .bind(ticket_id)
        .execute(db)
        .await
        .map_err(query_error("abandon ticket"))?;
    Ok(())
}

/// The ticket with this number.
pub async fn ticket(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<Option<Ticket>> {
    sqlx::query_as::<_, TicketRow>(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE id = $1"
    ))
    .bind(ticket_id)
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
    sqlx::query_as::<_, TicketRow>(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE channel_id = $1"
    ))
    .bind(to_db(channel_id))
    .fetch_optional(db)
    .await
    .map_err(query_error("load ticket by channel"))?
    .map(Ticket::try_from)
    .transpose()
}

/// Tickets in a category that still count as open.
pub async fn open_tickets(db: impl PgExecutor<'_>, category_key: &str) -> Result<Vec<Ticket>> {
    sqlx::query_as::<_, TicketRow>(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets \
         WHERE category_key = $1 AND state IN ('opening', 'open') ORDER BY id"
    ))
    .bind(category_key)
    .fetch_all(db)
    .await
    .map_err(query_error("list open tickets"))?
    .into_iter()
    .map(Ticket::try_from)
    .collect()
}

/// Moves an open ticket to `closing`, recording who closed it and why. Idempotent: a ticket already
/// closing (or further) is returned as it is, so a double click on Close starts one close.
pub async fn start_close(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    closed_by: Id<UserMarker>,
    reason: Option<&str>,
) -> Result<Ticket> {
    // One statement, so the answer reflects whichever close won. The outer query of a data-modifying
    // CTE sees the table as it was before the update, hence the updated row comes from RETURNING.
    sqlx::query_as::<_, TicketRow>(concat!(
        "WITH updated AS ( \
             UPDATE tickets SET state = 'closing', closed_by = $2, close_reason = $3, updated_at = now() \
             WHERE id = $1 AND state IN ('opening', 'open') RETURNING ",
        ticket_columns!(),
        ") \
         SELECT * FROM updated \
         UNION ALL \
         SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM updated)"
    ))
    .bind(ticket_id)
    .bind(to_db(closed_by))
    .bind(reason)
    .fetch_optional(db)
    .await
    .map_err(query_error("start close"))?
    .ok_or(StoreError::TicketNotFound(ticket_id))?
    .try_into()
}

/// Stores the transcript's location and moves `closing` → `transcript_stored`.
pub async fn record_transcript(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    parts: &[TranscriptPart],
) -> Result<Ticket> {
    let first = parts.first();
    sqlx::query_as::<_, TicketRow>(concat!(
        "UPDATE tickets SET state = 'transcript_stored', transcript_url = $2, \
             transcript_delete_token = $3, transcript_parts = $4, updated_at = now() \
         WHERE id = $1 AND state = 'closing' RETURNING ",
        ticket_columns!(),
        ""
    ))
    .bind(ticket_id)
    .bind(first.map(|part| part.url.as_str()))
    .bind(first.map(|part| part.delete_token.as_str()))
    .bind(sqlx::types::Json(parts))
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
    let advanced = sqlx::query(
        "UPDATE tickets SET state = $3, updated_at = now(), \
             closed_at = CASE WHEN $3 = 'closed' THEN now() ELSE closed_at END \
         WHERE id = $1 AND state = $2",
    )
    .bind(ticket_id)
    .bind(from.as_str())
    .bind(to.as_str())
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
    sqlx::query_as::<_, TicketRow>(concat!(
        "UPDATE tickets SET state = 'closing', closed_by = NULL, close_reason = $2, \
             channel_gone = true, updated_at = now() \
         WHERE channel_id = $1 AND state IN ('opening', 'open') RETURNING ",
        ticket_columns!(),
        ""
    ))
    .bind(to_db(channel_id))
    .bind(reason)
    .fetch_optional(db)
    .await
    .map_err(query_error("close ticket of a deleted channel"))?
    .map(Ticket::try_from)
    .transpose()
}

/// Records that a closing ticket's channel is gone (found missing while reading its history).
pub async fn mark_channel_gone(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query("UPDATE tickets SET channel_gone = true, updated_at = now() WHERE id = $1")
        .bind(ticket_id)
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
    sqlx::query(
        "UPDATE tickets SET message_count = GREATEST(message_count, $2), updated_at = now() \
         WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(count)
    .execute(db)
    .await
    .map_err(query_error("raise message count"))?;
    Ok(())
}

/// The advisory lock namespace of panel syncs (the first key of Postgres' two-key advisory locks).
const PANEL_LOCK_CLASS: i32 = 0x7061_6e6c; // "panl"

/// A Postgres session advisory lock held on a connection of its own. Released by
/// [`AdvisoryLock::release`]; if the holder is dropped instead (a cancelled task), the connection
/// is closed rather than returned to the pool, which releases the lock too.
#[derive(Debug)]
pub struct AdvisoryLock {
    connection: PoolConnection<Postgres>,
    class: i32,
    key: i32,
}

impl AdvisoryLock {
    async fn connection(pool: &PgPool) -> Result<PoolConnection<Postgres>> {
        let mut connection = pool
            .acquire()
            .await
            .map_err(query_error("acquire a connection for an advisory lock"))?;
        connection.close_on_drop();
        Ok(connection)
    }

    /// Releases the lock (and closes its connection).
    pub async fn release(mut self) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(self.class)
            .bind(self.key)
            .execute(&mut *self.connection)
            .await;
        if let Err(error) = unlocked {
            // Closing the connection (on drop) releases it all the same.
            tracing::debug!(error = %ErrorChain(&error), "could not release an advisory lock explicitly");
        }
    }
}

/// Takes the lease that lets one process (`holder`) drive a ticket's close for `ttl`; `false`
/// when another holder's lease has not expired. A lease is a row, not a session lock, so holding
/// one costs no pooled connection while the close waits on Discord or PrivateBin.
pub async fn take_close_lease(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    holder: i64,
    ttl: Duration,
) -> Result<bool> {
    let taken = sqlx::query(
        "INSERT INTO close_leases (ticket_id, holder, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3)) \
         ON CONFLICT (ticket_id) DO UPDATE \
         SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
         WHERE close_leases.expires_at < now()",
    )
    .bind(ticket_id)
    .bind(holder)
    .bind(ttl.as_secs_f64())
    .execute(db)
    .await
    .map_err(query_error("take the close lease"))?;
    Ok(taken.rows_affected() == 1)
}

/// Extends `holder`'s leases on `ticket_ids` to `ttl` from now (leases it no longer holds are
/// left alone).
pub async fn renew_close_leases(
    db: impl PgExecutor<'_>,
    holder: i64,
    ticket_ids: &[i64],
    ttl: Duration,
) -> Result<()> {
    sqlx::query(
        "UPDATE close_leases SET expires_at = now() + make_interval(secs => $3) \
         WHERE holder = $1 AND ticket_id = ANY($2)",
    )
    .bind(holder)
    .bind(ticket_ids)
    .bind(ttl.as_secs_f64())
    .execute(db)
    .await
    .map_err(query_error("renew the close leases"))?;
    Ok(())
}

/// Gives up `holder`'s lease on a ticket's close, so another process may drive it at once.
pub async fn release_close_lease(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    holder: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM close_leases WHERE ticket_id = $1 AND holder = $2")
        .bind(ticket_id)
        .bind(holder)
        .execute(db)
        .await
        .map_err(query_error("release the close lease"))?;
    Ok(())
}

/// Gives up every close lease of `holder` (at shutdown, so the next process need not wait for
/// them to expire).
pub async fn release_close_leases_of(db: impl PgExecutor<'_>, holder: i64) -> Result<()> {
    sqlx::query("DELETE FROM close_leases WHERE holder = $1")
        .bind(holder)
        .execute(db)
        .await
        .map_err(query_error("release the close leases"))?;
    Ok(())
}

/// Waits for the lock under which one process at a time syncs a category's panel. It pins a
/// connection for the sync, which is bearable because a process syncs one panel at a time
/// ([`crate::Context`]'s `panel_sync`); closes, which run by the dozen, use leases instead.
pub async fn lock_panel(pool: &PgPool, category_key: &str) -> Result<AdvisoryLock> {
    let mut connection = AdvisoryLock::connection(pool).await?;
    let key: i32 = sqlx::query_scalar("SELECT hashtext($1)")
        .bind(category_key)
        .fetch_one(&mut *connection)
        .await
        .map_err(query_error("hash the panel lock key"))?;
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(PANEL_LOCK_CLASS)
        .bind(key)
        .execute(&mut *connection)
        .await
        .map_err(query_error("take the panel lock"))?;
    Ok(AdvisoryLock {
        connection,
        class: PANEL_LOCK_CLASS,
        key,
    })
}

/// Tickets still `opening` that were started more than `older_than_seconds` ago: a crash
/// between the row and the channel left them half-made.
pub async fn stale_openings(
    db: impl PgExecutor<'_>,
    older_than_seconds: i64,
) -> Result<Vec<Ticket>> {
    sqlx::query_as::<_, TicketRow>(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets \
         WHERE state = 'opening' AND created_at < now() - $1 * interval '1 second' ORDER BY id"
    ))
    .bind(older_than_seconds)
    .fetch_all(db)
    .await
    .map_err(query_error("list stale openings"))?
    .into_iter()
    .map(Ticket::try_from)
    .collect()
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
/// than `older_than_seconds` ago (so an open still posting it is left alone).
pub async fn pending_welcomes(
    db: impl PgExecutor<'_>,
    older_than_seconds: i64,
) -> Result<Vec<PendingWelcome>> {
    let rows: Vec<(i64, i64, i64, String, Option<i64>, bool)> = sqlx::query_as(
        "SELECT id, channel_id, user_id, category_key, welcome_message_id, \
                updated_at < now() - $1 * interval '1 second' AS settled \
         FROM tickets \
         WHERE state = 'open' AND channel_id IS NOT NULL AND NOT welcome_pinned \
         ORDER BY id",
    )
    .bind(older_than_seconds)
    .fetch_all(db)
    .await
    .map_err(query_error("list tickets without their first message"))?;
    rows.into_iter()
        .map(
            |(ticket_id, channel, user, category_key, message, settled)| {
                Ok(PendingWelcome {
                    ticket_id,
                    channel_id: to_id("channel_id", channel)?,
                    user_id: to_id("user_id", user)?,
                    category_key,
                    message_id: message
                        .map(|id| to_id("welcome_message_id", id))
                        .transpose()?,
                    settled,
                })
            },
        )
        .collect()
}

/// Records that the ticket's first message was posted.
pub async fn record_welcome(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    message_id: Id<MessageMarker>,
) -> Result<()> {
    sqlx::query("UPDATE tickets SET welcome_message_id = $2, updated_at = now() WHERE id = $1")
        .bind(ticket_id)
        .bind(to_db(message_id))
        .execute(db)
        .await
        .map_err(query_error("record the first message"))?;
    Ok(())
}

/// Records that the ticket's first message is pinned: its welcome is complete.
pub async fn mark_welcome_pinned(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<()> {
    sqlx::query("UPDATE tickets SET welcome_pinned = true, updated_at = now() WHERE id = $1")
        .bind(ticket_id)
        .execute(db)
        .await
        .map_err(query_error("record the first message pinned"))?;
    Ok(())
}

/// Tickets whose close began but did not finish (to resume after a crash or an outage).
pub async fn unfinished_closes(db: impl PgExecutor<'_>) -> Result<Vec<Ticket>> {
    sqlx::query_as::<_, TicketRow>(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets \
         WHERE state NOT IN ('opening', 'open', 'closed') ORDER BY id"
    ))
    .fetch_all(db)
    .await
    .map_err(query_error("list unfinished closes"))?
    .into_iter()
    .map(Ticket::try_from)
    .collect()
}

/// An open ticket's channel and the newest message stored for it: where reading the channel's
/// history resumes after a gap in the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpTo {
    /// The ticket.
    pub ticket_id: i64,
    /// Its guild.
    pub guild_id: Id<GuildMarker>,
    /// Its channel.
    pub channel_id: Id<ChannelMarker>,
    /// The newest stored message, if any.
    pub last_message_id: Option<Id<MessageMarker>>,
}

/// Every open ticket with a channel, with the newest message stored for each.
pub async fn open_ticket_channels(db: impl PgExecutor<'_>) -> Result<Vec<StoredUpTo>> {
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT t.id, t.guild_id, t.channel_id, \
                (SELECT max(m.message_id) FROM ticket_messages m WHERE m.ticket_id = t.id) \
         FROM tickets t WHERE t.state = 'open' AND t.channel_id IS NOT NULL ORDER BY t.id",
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list open ticket channels"))?;
    rows.into_iter()
        .map(|(ticket_id, guild, channel, last)| {
            Ok(StoredUpTo {
                ticket_id,
                guild_id: to_id("guild_id", guild)?,
                channel_id: to_id("channel_id", channel)?,
                last_message_id: last.map(|id| to_id("message_id", id)).transpose()?,
            })
        })
        .collect()
}

/// Records a message sent in a ticket channel and counts it; `true` the first time this message is
/// seen, so replicas that all receive the same MESSAGE_CREATE count it once. A message already
/// stored takes this snapshot only if it is a later edit: an edit handled concurrently with its
/// create may record the message first, or race the create's insert.
pub async fn record_message(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    message_id: Id<MessageMarker>,
    author_id: Id<UserMarker>,
    snapshot: &serde_json::Value,
) -> Result<bool> {
    // `xmax = 0` tells a fresh insert from a row the conflict clause updated: only inserts count.
    let counted: Option<i64> = sqlx::query_scalar(
        "WITH stored AS ( \
             INSERT INTO ticket_messages (message_id, ticket_id, author_id, snapshot) \
             VALUES ($2, $1, $3, $4) \
             ON CONFLICT (message_id) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_at = now() \
             WHERE COALESCE((EXCLUDED.snapshot ->> 'edited_timestamp')::timestamptz, '-infinity') \
                 > COALESCE((ticket_messages.snapshot ->> 'edited_timestamp')::timestamptz, '-infinity') \
             RETURNING ticket_id, xmax = 0 AS inserted) \
         UPDATE tickets SET message_count = message_count + 1, updated_at = now() \
         WHERE id = (SELECT ticket_id FROM stored WHERE inserted) RETURNING id",
    )
    .bind(ticket_id)
    .bind(to_db(message_id))
    .bind(to_db(author_id))
    .bind(sqlx::types::Json(snapshot))
    .fetch_optional(db)
    .await
    .map_err(query_error("record message"))?;
    Ok(counted.is_some())
}

/// Replaces a stored message's snapshot after an edit; `false` when the message is not stored
/// (yet), so the caller can record it. Events are handled concurrently, so a snapshot never
/// replaces one with a later `edited_timestamp` (none = never edited).
pub async fn update_message(
    db: impl PgExecutor<'_>,
    message_id: Id<MessageMarker>,
    snapshot: &serde_json::Value,
) -> Result<bool> {
    let stored: Option<bool> = sqlx::query_scalar(
        "WITH updated AS ( \
             UPDATE ticket_messages SET snapshot = $2, updated_at = now() \
             WHERE message_id = $1 \
               AND COALESCE(($2::jsonb ->> 'edited_timestamp')::timestamptz, '-infinity') \
                   >= COALESCE((snapshot ->> 'edited_timestamp')::timestamptz, '-infinity') \
             RETURNING message_id) \
         SELECT true FROM ticket_messages WHERE message_id = $1",
    )
    .bind(to_db(message_id))
    .bind(sqlx::types::Json(snapshot))
    .fetch_optional(db)
    .await
    .map_err(query_error("update message"))?;
    Ok(stored.is_some())
}

/// Marks a stored message as deleted (it stays in the transcript, marked as such).
pub async fn mark_message_deleted(
    db: impl PgExecutor<'_>,
    message_id: Id<MessageMarker>,
) -> Result<()> {
    sqlx::query(
        "UPDATE ticket_messages SET deleted = true, updated_at = now() WHERE message_id = $1",
    )
    .bind(to_db(message_id))
    .execute(db)
    .await
    .map_err(query_error("mark message deleted"))?;
    Ok(())
}

/// A message as stored: the last snapshot seen and whether it was deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The message.
    pub message_id: Id<MessageMarker>,
    /// The Discord message JSON as last seen.
    pub snapshot: serde_json::Value,
    /// Whether someone deleted it.
    pub deleted: bool,
}

/// Every stored message of a ticket, oldest first (snowflakes order by creation time).
pub async fn stored_messages(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
) -> Result<Vec<StoredMessage>> {
    let rows: Vec<(i64, sqlx::types::Json<serde_json::Value>, bool)> = sqlx::query_as(
        "SELECT message_id, snapshot, deleted FROM ticket_messages WHERE ticket_id = $1 ORDER BY message_id",
    )
    .bind(ticket_id)
    .fetch_all(db)
    .await
    .map_err(query_error("list stored messages"))?;
    rows.into_iter()
        .map(|(message_id, snapshot, deleted)| {
            Ok(StoredMessage {
                message_id: to_id("message_id", message_id)?,
                snapshot: snapshot.0,
                deleted,
            })
        })
        .collect()
}

/// A category's panel message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// The category's stable key.
    pub category_key: String,
    /// The guild.
    pub guild_id: Id<GuildMarker>,
    /// The create channel the panel is posted in.
    pub channel_id: Id<ChannelMarker>,
    /// The panel message.
    pub message_id: Id<MessageMarker>,
    /// Hash of what was posted, to skip edits when nothing changed.
    pub content_hash: String,
}

/// The panel of a category, if one was posted.
pub async fn panel(db: impl PgExecutor<'_>, category_key: &str) -> Result<Option<Panel>> {
    let row: Option<(String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT category_key, guild_id, channel_id, message_id, content_hash FROM panels WHERE category_key = $1",
    )
    .bind(category_key)
    .fetch_optional(db)
    .await
    .map_err(query_error("load panel"))?;
    row.map(panel_from_row).transpose()
}

/// Every stored panel (to delete those whose category was removed).
pub async fn panels(db: impl PgExecutor<'_>) -> Result<Vec<Panel>> {
    let rows: Vec<(String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT category_key, guild_id, channel_id, message_id, content_hash FROM panels ORDER BY category_key",
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list panels"))?;
    rows.into_iter().map(panel_from_row).collect()
}

fn panel_from_row(
    (category_key, guild_id, channel_id, message_id, content_hash): (String, i64, i64, i64, String),
) -> Result<Panel> {
    Ok(Panel {
        category_key,
        guild_id: to_id("guild_id", guild_id)?,
        channel_id: to_id("channel_id", channel_id)?,
        message_id: to_id("message_id", message_id)?,
        content_hash,
    })
}

/// The panel whose message this is, if any (to re-post a panel deleted by hand).
pub async fn panel_by_message(
    db: impl PgExecutor<'_>,
    message_id: Id<MessageMarker>,
) -> Result<Option<Panel>> {
    let row: Option<(String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT category_key, guild_id, channel_id, message_id, content_hash FROM panels WHERE message_id = $1",
    )
    .bind(to_db(message_id))
    .fetch_optional(db)
    .await
    .map_err(query_error("load panel by message"))?;
    row.map(panel_from_row).transpose()
}

/// How many tickets are open (or opening) in each category that has any.
pub async fn open_ticket_counts(db: impl PgExecutor<'_>) -> Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT category_key, count(*) FROM tickets WHERE state IN ('opening', 'open') \
         GROUP BY category_key ORDER BY category_key",
    )
    .fetch_all(db)
    .await
    .map_err(query_error("count open tickets"))
}

/// Records (or replaces) a category's panel.
pub async fn save_panel(db: impl PgExecutor<'_>, panel: &Panel) -> Result<()> {
    sqlx::query(
        "INSERT INTO panels (category_key, guild_id, channel_id, message_id, content_hash) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (category_key) DO UPDATE SET guild_id = $2, channel_id = $3, message_id = $4, \
             content_hash = $5, updated_at = now()",
    )
    .bind(&panel.category_key)
    .bind(to_db(panel.guild_id))
    .bind(to_db(panel.channel_id))
    .bind(to_db(panel.message_id))
    .bind(&panel.content_hash)
    .execute(db)
    .await
    .map_err(query_error("save panel"))?;
    Ok(())
}

/// Forgets a category's panel (after deleting its message).
pub async fn delete_panel(db: impl PgExecutor<'_>, category_key: &str) -> Result<()> {
    sqlx::query("DELETE FROM panels WHERE category_key = $1")
        .bind(category_key)
        .execute(db)
        .await
        .map_err(query_error("delete panel"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TicketState;

    #[test]
    fn every_state_round_trips_through_its_column_value() {
        for state in TicketState::ALL {
            assert_eq!(TicketState::parse(state.as_str()), Some(state));
        }
        assert_eq!(TicketState::parse("reopened"), None);
    }

    #[test]
    fn the_close_sequence_visits_every_step_once_and_ends_closed() {
        let mut state = TicketState::Closing;
        let mut visited = vec![state];
        while let Some(next) = state.next_close_step() {
            visited.push(next);
            state = next;
        }
        assert_eq!(visited, TicketState::ALL[2..].to_vec());
        assert_eq!(TicketState::Open.next_close_step(), None);
    }
}
