//! The `ticket_messages` table: every message of a ticket whose transcript is not stored yet,
//! kept (as Discord's JSON) in case its channel vanishes before the transcript is read, and
//! counted once however many replicas see it. The transcript's transaction deletes them.

use sqlx::PgExecutor;
use sqlx::types::Json;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, MessageMarker, UserMarker};

use super::{Result, TicketState, query_error, to_db, to_id};

/// Records a message sent in a ticket channel and counts it; `true` the first time this message is
/// seen, so replicas that all receive the same MESSAGE_CREATE count it once. A message already
/// stored takes this snapshot only if it is a later edit: an edit handled concurrently with its
/// create may record the message first, or race the create's insert.
///
/// Only a ticket whose transcript is not stored yet keeps messages (`false` otherwise): after
/// that the snapshots are deleted ([`delete_snapshots`]) and none may come back.
pub async fn record_message(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    message_id: Id<MessageMarker>,
    author_id: Id<UserMarker>,
    snapshot: &serde_json::Value,
) -> Result<bool> {
    // `xmax = 0` tells a fresh insert from a row the conflict clause updated: only inserts count.
    // Locking the ticket's row first orders the insert with the transaction that stores the
    // transcript, which updates that row before deleting the snapshots: either this insert waits
    // for it and then finds the ticket past `closing`, or that transaction's delete waits for
    // this one and sees the row it inserted. The lock is the one the count's UPDATE takes anyway
    // (a weaker `FOR SHARE` first would deadlock two messages upgrading it at once).
    let counted = sqlx::query_scalar!(
        "WITH keeping AS (
             SELECT id FROM tickets WHERE id = $1 AND state IN ($5, $6, $7)
             FOR NO KEY UPDATE
         ), stored AS (
             INSERT INTO ticket_messages (message_id, ticket_id, author_id, snapshot)
             SELECT $2, id, $3, $4 FROM keeping
             ON CONFLICT (message_id) DO UPDATE
             SET snapshot = EXCLUDED.snapshot, updated_at = now()
             WHERE COALESCE((EXCLUDED.snapshot ->> 'edited_timestamp')::timestamptz, '-infinity')
                 > COALESCE((ticket_messages.snapshot ->> 'edited_timestamp')::timestamptz, '-infinity')
             RETURNING ticket_id, xmax = 0 AS inserted
         )
         UPDATE tickets SET message_count = message_count + 1, updated_at = now()
         WHERE id = (SELECT ticket_id FROM stored WHERE inserted)
         RETURNING id",
        ticket_id,
        to_db(message_id),
        to_db(author_id),
        Json(snapshot) as _,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        TicketState::Closing as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("record message"))?;
    Ok(counted.is_some())
}

/// Deletes every message snapshot of a ticket; how many there were. Called in the transaction
/// that records the ticket's stored transcript: from then on the encrypted transcript is the
/// conversation's only copy, and the snapshots would be a plain-text one kept for ever.
pub async fn delete_snapshots(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<u64> {
    let deleted = sqlx::query!(
        "DELETE FROM ticket_messages WHERE ticket_id = $1",
        ticket_id
    )
    .execute(db)
    .await
    .map_err(query_error("delete message snapshots"))?;
    Ok(deleted.rows_affected())
}

/// Replaces a stored message's snapshot after an edit; `false` when the message is not stored
/// (yet), so the caller can record it. Events are handled concurrently, so a snapshot never
/// replaces one with a later `edited_timestamp` (none = never edited).
pub async fn update_message(
    db: impl PgExecutor<'_>,
    message_id: Id<MessageMarker>,
    snapshot: &serde_json::Value,
) -> Result<bool> {
    let stored = sqlx::query_scalar!(
        r#"WITH updated AS (
               UPDATE ticket_messages SET snapshot = $2, updated_at = now()
               WHERE message_id = $1
                 AND COALESCE(($2::jsonb ->> 'edited_timestamp')::timestamptz, '-infinity')
                     >= COALESCE((snapshot ->> 'edited_timestamp')::timestamptz, '-infinity')
               RETURNING message_id
           )
           SELECT true AS "stored!" FROM ticket_messages WHERE message_id = $1"#,
        to_db(message_id),
        Json(snapshot) as _,
    )
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
    sqlx::query!(
        "UPDATE ticket_messages SET deleted = true, updated_at = now() WHERE message_id = $1",
        to_db(message_id)
    )
    .execute(db)
    .await
    .map_err(query_error("mark message deleted"))?;
    Ok(())
}

/// A message as stored: the last snapshot seen and whether it was deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The message's id; stored messages come back in id order, which is the order they were sent.
    pub message_id: Id<MessageMarker>,
    /// The Discord message JSON as last seen, as text: a long ticket's snapshots are read at its
    /// close, and parsed straight into messages they take a fraction of the memory a
    /// `serde_json::Value` per message would.
    pub snapshot: String,
    /// Whether someone deleted it.
    pub deleted: bool,
}

/// Every stored message of a ticket, oldest first (snowflakes order by creation time).
pub async fn stored_messages(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
) -> Result<Vec<StoredMessage>> {
    let rows = sqlx::query!(
        r#"SELECT message_id, snapshot::text AS "snapshot!", deleted
         FROM ticket_messages
         WHERE ticket_id = $1
         ORDER BY message_id"#,
        ticket_id
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list stored messages"))?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredMessage {
                message_id: to_id("message_id", row.message_id)?,
                snapshot: row.snapshot,
                deleted: row.deleted,
            })
        })
        .collect()
}

/// An open ticket's channel and the newest message stored for it: where reading the channel's
/// history resumes after a gap in the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpTo {
    /// The ticket the channel's messages are stored under.
    pub ticket_id: i64,
    /// The ticket's guild, filled into the messages read: REST history leaves it out, and stored
    /// snapshots carry it as the gateway's messages do.
    pub guild_id: Id<GuildMarker>,
    /// The ticket channel whose history is read.
    pub channel_id: Id<ChannelMarker>,
    /// The newest stored message, if any: history is read from after it.
    pub last_message_id: Option<Id<MessageMarker>>,
}

/// Every open ticket with a channel, with the newest message stored for each.
pub async fn open_ticket_channels(db: impl PgExecutor<'_>) -> Result<Vec<StoredUpTo>> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.guild_id, t.channel_id AS "channel_id!",
                  (SELECT max(m.message_id) FROM ticket_messages m WHERE m.ticket_id = t.id)
                      AS last_message_id
           FROM tickets t
           WHERE t.state = $1 AND t.channel_id IS NOT NULL
           ORDER BY t.id"#,
        TicketState::Open as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list open ticket channels"))?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredUpTo {
                ticket_id: row.id,
                guild_id: to_id("guild_id", row.guild_id)?,
                channel_id: to_id("channel_id", row.channel_id)?,
                last_message_id: row
                    .last_message_id
                    .map(|id| to_id("message_id", id))
                    .transpose()?,
            })
        })
        .collect()
}
