//! The bookkeeping of each ticket's first message (posted, then pinned), in the `tickets` table,
//! so the resume loop can finish what a crash or a refusal left undone.

use std::time::Duration;

use sqlx::PgExecutor;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, MessageMarker, UserMarker};

use super::{Result, TicketState, query_error, to_db, to_id};

/// An open ticket whose first message is not yet posted and pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWelcome {
    /// The ticket's number ([`Ticket::id`](super::Ticket::id)).
    pub ticket_id: i64,
    /// The ticket channel the first message goes in.
    pub channel_id: Id<ChannelMarker>,
    /// Who opened it: the first message mentions them.
    pub user_id: Id<UserMarker>,
    /// The ticket's category key, whose config holds the first message's text.
    pub category_key: String,
    /// The first message, once posted; then only pinning it is left.
    pub message_id: Option<Id<MessageMarker>>,
    /// Whether the ticket was last changed long enough ago that no open is still posting it.
    pub settled: bool,
}

/// Open tickets whose first message is not posted and pinned; `settled` when last changed more
/// than `settle_after` ago (so an open still posting it is left alone).
pub async fn pending_welcomes(
    db: impl PgExecutor<'_>,
    bot: Id<ApplicationMarker>,
    settle_after: Duration,
) -> Result<Vec<PendingWelcome>> {
    let rows = sqlx::query!(
        r#"SELECT id, channel_id AS "channel_id!", user_id, category_key, welcome_message_id,
                  updated_at < now() - make_interval(secs => $1) AS "settled!"
           FROM tickets
           WHERE application_id = $3 AND state = $2 AND channel_id IS NOT NULL
             AND NOT welcome_pinned
           ORDER BY id"#,
        settle_after.as_secs_f64(),
        TicketState::Open as TicketState,
        to_db(bot),
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
