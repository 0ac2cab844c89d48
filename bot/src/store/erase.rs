//! Erasing one user's data (`ticketeer-bot erase`): their tickets, and their traces in other
//! people's. Unlike the rest of the store these queries read every bot's rows: a person's data is
//! theirs whichever bot in the database holds it. Only closed tickets are changed, so nothing
//! here races a close the bot is still driving, and each query names the user, so a ticket id
//! gone stale cannot make it touch someone else's row.

use sqlx::PgExecutor;
use sqlx::types::Json;
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, GuildMarker, UserMarker};

use super::tickets::TranscriptPart;
use super::{Result, TicketState, query_error, to_db, to_id};

/// A ticket the user opened, with what erasing it must delete first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnTicket {
    /// The ticket number.
    pub id: i64,
    /// The bot it belongs to; `None` for a row no bot has claimed since migration `0006`.
    pub application_id: Option<Id<ApplicationMarker>>,
    /// Where it was opened.
    pub guild_id: Id<GuildMarker>,
    /// Only `closed` tickets are erased.
    pub state: TicketState,
    /// The pastes still to delete, first part first.
    pub transcript_parts: Vec<TranscriptPart>,
    /// The first part's link, also kept apart from the parts.
    pub transcript_url: Option<String>,
    /// The first part's delete token.
    pub transcript_delete_token: Option<String>,
}

/// Another person's ticket that names the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    /// The ticket number.
    pub ticket_id: i64,
    /// Where it is in its life; only `closed` tickets are scrubbed.
    pub state: TicketState,
    /// The user is in its `additional_users`.
    pub added: bool,
    /// The user is its `closed_by`.
    pub closed_it: bool,
    /// Messages of theirs stored for it (only while it is not closed yet).
    pub messages: i64,
}

/// Every ticket `user` opened (in `guild`, if given), of every bot, oldest first.
pub async fn tickets_opened_by(
    db: impl PgExecutor<'_>,
    user: Id<UserMarker>,
    guild: Option<Id<GuildMarker>>,
) -> Result<Vec<OwnTicket>> {
    let rows = sqlx::query!(
        r#"SELECT id, application_id, guild_id, state,
                  transcript_parts AS "transcript_parts: Json<Vec<TranscriptPart>>",
                  transcript_url, transcript_delete_token
           FROM tickets
           WHERE user_id = $1 AND ($2::bigint IS NULL OR guild_id = $2)
           ORDER BY id"#,
        to_db(user),
        guild.map(to_db),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list the tickets a user opened"))?;
    rows.into_iter()
        .map(|row| {
            Ok(OwnTicket {
                id: row.id,
                application_id: row
                    .application_id
                    .map(|id| to_id("application_id", id))
                    .transpose()?,
                guild_id: to_id("guild_id", row.guild_id)?,
                state: row.state,
                transcript_parts: row.transcript_parts.0,
                transcript_url: row.transcript_url,
                transcript_delete_token: row.transcript_delete_token,
            })
        })
        .collect()
}

/// Other people's tickets (in `guild`, if given) where `user` was added, closed the ticket, or
/// has messages stored, oldest first.
pub async fn tickets_mentioning(
    db: impl PgExecutor<'_>,
    user: Id<UserMarker>,
    guild: Option<Id<GuildMarker>>,
) -> Result<Vec<Mention>> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.state,
                  $1 = ANY(t.additional_users) AS "added!",
                  t.closed_by IS NOT DISTINCT FROM $1 AS "closed_it!",
                  (SELECT count(*) FROM ticket_messages m
                   WHERE m.ticket_id = t.id AND m.author_id = $1) AS "messages!"
           FROM tickets t
           WHERE t.user_id <> $1 AND ($2::bigint IS NULL OR t.guild_id = $2)
             AND ($1 = ANY(t.additional_users) OR t.closed_by = $1
                  OR EXISTS (SELECT 1 FROM ticket_messages m
                             WHERE m.ticket_id = t.id AND m.author_id = $1))
           ORDER BY t.id"#,
        to_db(user),
        guild.map(to_db),
    )
    .fetch_all(db)
    .await
    .map_err(query_error("list the tickets that name a user"))?;
    Ok(rows
        .into_iter()
        .map(|row| Mention {
            ticket_id: row.id,
            state: row.state,
            added: row.added,
            closed_it: row.closed_it,
            messages: row.messages,
        })
        .collect())
}

/// Forgets one paste of `user`'s closed ticket once it is deleted on PrivateBin: the part with
/// this id and token leaves `transcript_parts`, and the first part's columns are cleared when
/// they are this paste. Until this commits the row still holds the token, so a failure in between
/// only makes the next run delete an already deleted paste.
pub async fn forget_erased_paste(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    user: Id<UserMarker>,
    paste_id: &str,
    delete_token: &str,
) -> Result<()> {
    sqlx::query!(
        r#"UPDATE tickets
           SET transcript_parts = COALESCE(
                   (SELECT jsonb_agg(part ORDER BY position)
                    FROM jsonb_array_elements(transcript_parts) WITH ORDINALITY AS p(part, position)
                    WHERE NOT (part->>'id' = $3 AND part->>'delete_token' = $4)),
                   '[]'::jsonb),
               transcript_url = CASE WHEN transcript_delete_token = $4 THEN NULL
                                     ELSE transcript_url END,
               transcript_delete_token = NULLIF(transcript_delete_token, $4),
               updated_at = now()
           WHERE id = $1 AND user_id = $2 AND state = $5"#,
        ticket_id,
        to_db(user),
        paste_id,
        delete_token,
        TicketState::Closed as TicketState,
    )
    .execute(db)
    .await
    .map_err(query_error("forget an erased paste"))?;
    Ok(())
}

/// Deletes `user`'s closed ticket, its stored messages and lease with it, but only once it holds
/// no paste still to delete: a row is never the last record of a paste that exists. Returns
/// whether it was deleted.
pub async fn delete_erased_ticket(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    user: Id<UserMarker>,
) -> Result<bool> {
    let deleted = sqlx::query!(
        "DELETE FROM tickets
         WHERE id = $1 AND user_id = $2 AND state = $3
           AND transcript_parts = '[]'::jsonb AND transcript_delete_token IS NULL",
        ticket_id,
        to_db(user),
        TicketState::Closed as TicketState,
    )
    .execute(db)
    .await
    .map_err(query_error("delete an erased ticket"))?;
    Ok(deleted.rows_affected() == 1)
}

/// Removes `user` from the added users and the closer of other people's closed tickets (in
/// `guild`, if given), returning what each ticket held before.
pub async fn scrub_from_closed_tickets(
    db: impl PgExecutor<'_>,
    user: Id<UserMarker>,
    guild: Option<Id<GuildMarker>>,
) -> Result<Vec<Mention>> {
    let rows = sqlx::query!(
        r#"WITH named AS (
               SELECT id, $1 = ANY(additional_users) AS added,
                      closed_by IS NOT DISTINCT FROM $1 AS closed_it
               FROM tickets
               WHERE user_id <> $1 AND ($2::bigint IS NULL OR guild_id = $2) AND state = $3
                 AND ($1 = ANY(additional_users) OR closed_by = $1)
               FOR UPDATE
           )
           UPDATE tickets t
           SET additional_users = array_remove(t.additional_users, $1),
               closed_by = NULLIF(t.closed_by, $1),
               updated_at = now()
           FROM named
           WHERE t.id = named.id
           RETURNING t.id, named.added AS "added!", named.closed_it AS "closed_it!""#,
        to_db(user),
        guild.map(to_db),
        TicketState::Closed as TicketState,
    )
    .fetch_all(db)
    .await
    .map_err(query_error("scrub a user from other people's tickets"))?;
    let mut scrubbed: Vec<Mention> = rows
        .into_iter()
        .map(|row| Mention {
            ticket_id: row.id,
            state: TicketState::Closed,
            added: row.added,
            closed_it: row.closed_it,
            messages: 0,
        })
        .collect();
    scrubbed.sort_by_key(|mention| mention.ticket_id);
    Ok(scrubbed)
}
