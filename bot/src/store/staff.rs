//! What staff change on an open ticket: who it is claimed by, who was added to it, and which
//! category it is in. Each change is one conditional `UPDATE` on an open ticket, so a command
//! handled twice, or by two replicas, changes it once, and a ticket that began to close in the
//! meantime is left alone.

use sqlx::{PgExecutor, PgPool};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, MessageMarker, UserMarker};

use sqlx::types::Json;

use super::tickets::{Ticket, TicketRow, TranscriptPart, ticket_query};
use super::{Result, TicketState, query_error, to_db, to_id};

/// The open ticket of this bot whose channel this is; `None` for any other channel (or a ticket
/// already closing).
pub async fn open_ticket_in_channel(
    db: impl PgExecutor<'_>,
    application_id: Id<ApplicationMarker>,
    channel_id: Id<ChannelMarker>,
) -> Result<Option<Ticket>> {
    ticket_query!(
        "SELECT ",
        " FROM tickets WHERE channel_id = $1 AND application_id = $2 AND state = $3",
        to_db(channel_id),
        to_db(application_id),
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("load the ticket of a channel"))?
    .map(Ticket::try_from)
    .transpose()
}

/// What a claim or an unclaim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimChange {
    /// The row changed; the ticket as it is now.
    Changed(Ticket),
    /// Nothing to do: the ticket already is as asked (claimed by this member, or by nobody).
    Unchanged(Ticket),
    /// Someone else holds the claim.
    ClaimedByOther(Id<UserMarker>),
    /// The ticket is no longer open.
    NotOpen,
}

/// Sets the ticket's claimer to `claimer` unless someone holds it (`Some`), or clears it
/// (`None`).
pub async fn set_claim(
    db: impl PgExecutor<'_> + Copy,
    ticket_id: i64,
    claimer: Option<Id<UserMarker>>,
) -> Result<ClaimChange> {
    let changed = ticket_query!(
        "UPDATE tickets
         SET claimed_by = $2, updated_at = now()
         WHERE id = $1 AND state = $3
           AND ($2::bigint IS NULL OR claimed_by IS NULL)
           AND claimed_by IS DISTINCT FROM $2
         RETURNING ",
        "",
        ticket_id,
        claimer.map(to_db),
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("claim a ticket"))?;
    if let Some(row) = changed {
        return Ok(ClaimChange::Changed(row.try_into()?));
    }
    let Some(ticket) = super::ticket(db, ticket_id).await? else {
        return Ok(ClaimChange::NotOpen);
    };
    Ok(if !ticket.state.is_open() {
        ClaimChange::NotOpen
    } else if ticket.claimed_by == claimer {
        ClaimChange::Unchanged(ticket)
    } else {
        match ticket.claimed_by {
            Some(holder) => ClaimChange::ClaimedByOther(holder),
            None => ClaimChange::Unchanged(ticket),
        }
    })
}

/// Adds `user` to the ticket's `additional_users` (once) or removes them; the ticket as it is
/// now, or `None` when it is no longer open.
pub async fn set_added_user(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    user: Id<UserMarker>,
    added: bool,
) -> Result<Option<Ticket>> {
    ticket_query!(
        "UPDATE tickets
         SET additional_users = CASE
                 WHEN $3 AND NOT ($2 = ANY(additional_users)) THEN array_append(additional_users, $2)
                 WHEN NOT $3 THEN array_remove(additional_users, $2)
                 ELSE additional_users
             END,
             updated_at = now()
         WHERE id = $1 AND state = $4
         RETURNING ",
        "",
        ticket_id,
        to_db(user),
        added,
        TicketState::Open as TicketState,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("change who is added to a ticket"))?
    .map(Ticket::try_from)
    .transpose()
}

/// What moving a ticket to another category found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Moved; the ticket as it is now.
    Moved(Box<Ticket>),
    /// Its creator already holds as many open tickets in that category as it allows.
    CreatorAtLimitThere,
    /// The ticket is no longer open.
    NotOpen,
}

/// Moves an open ticket to the category `category_key` of the same bot, into the lowest of its
/// creator's slots there that is free (1 up to `max_open_per_user`, that category's maximum).
pub async fn move_ticket(
    db: &PgPool,
    ticket_id: i64,
    category_key: &str,
    max_open_per_user: u16,
) -> Result<MoveOutcome> {
    let moved = ticket_query!(
        "UPDATE tickets SET category_key = $2, slot = free.slot, updated_at = now()
         FROM (SELECT candidate.slot::smallint AS slot
               FROM generate_series(1, $5::int) AS candidate(slot), tickets me
               WHERE me.id = $1
                 AND NOT EXISTS (
                     SELECT 1 FROM tickets held
                     WHERE held.application_id = me.application_id
                       AND held.guild_id = me.guild_id AND held.category_key = $2
                       AND held.user_id = me.user_id AND held.state IN ($3, $4)
                       AND held.slot = candidate.slot)
               ORDER BY candidate.slot
               LIMIT 1) AS free
         WHERE tickets.id = $1 AND tickets.state = $4
         RETURNING ",
        "",
        ticket_id,
        category_key,
        TicketState::Opening as TicketState,
        TicketState::Open as TicketState,
        i32::from(max_open_per_user.max(1)),
    )
    .fetch_optional(db)
    .await;
    match moved {
        Ok(Some(row)) => Ok(MoveOutcome::Moved(Box::new(row.try_into()?))),
        Ok(None) => {
            let still_open = sqlx::query_scalar!(
                r#"SELECT count(*) AS "open!" FROM tickets WHERE id = $1 AND state = $2"#,
                ticket_id,
                TicketState::Open as TicketState,
            )
            .fetch_one(db)
            .await
            .map_err(query_error("check a ticket is open"))?;
            Ok(if still_open > 0 {
                MoveOutcome::CreatorAtLimitThere
            } else {
                MoveOutcome::NotOpen
            })
        }
        // Another of the creator's tickets took the slot between the statement's read and write.
        Err(sqlx::Error::Database(error))
            if error.constraint() == Some("tickets_open_slot_per_user") =>
        {
            Ok(MoveOutcome::CreatorAtLimitThere)
        }
        Err(error) => Err(query_error("move a ticket")(error)),
    }
}

/// The ticket's first message, once posted (it is edited when the claim changes).
pub async fn welcome_message(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
) -> Result<Option<Id<MessageMarker>>> {
    let row = sqlx::query_scalar!(
        "SELECT welcome_message_id FROM tickets WHERE id = $1",
        ticket_id
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("load a ticket's first message"))?;
    row.flatten()
        .map(|id| to_id("welcome_message_id", id))
        .transpose()
}
