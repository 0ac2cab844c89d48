//! Catching up on ticket messages that a new gateway session never delivers.
//!
//! Discord replays missed dispatches only to a RESUME. When the gateway starts a new session
//! instead (READY: a start, INVALID_SESSION with `d: false`, a session expired while
//! disconnected), whatever was written in open tickets during the gap never arrives as
//! MESSAGE_CREATE. So after every READY each open ticket's channel history is read from the
//! newest stored message onwards, and what is missing is stored. Storing is keyed by message id,
//! so a live MESSAGE_CREATE racing the read, or another replica doing the same, counts it once.
//!
//! What history cannot tell: a message deleted during the gap is simply absent (never stored if it
//! was written in the gap; still stored as not deleted if it was stored before), and an edit during
//! the gap to a message stored before it is not seen, since only newer messages are read. Both
//! matter only for a channel later deleted by hand: while the channel exists, the close of a
//! ticket opened before the READY (a gap, `Context::record_gap`) reads its whole history from
//! Discord.

use twilight_model::channel::Message;
use twilight_model::id::Id;
use twilight_model::id::marker::MessageMarker;

use crate::close::HISTORY_PAGE;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::store::{self, StoredUpTo};

/// Stores a ticket channel's message and counts it; `true` the first time it is seen.
pub(crate) async fn record(ctx: &Context, ticket_id: i64, message: &Message) -> Result<bool> {
    let snapshot = serde_json::to_value(message).unwrap_or(serde_json::Value::Null);
    Ok(store::record_message(
        &ctx.pool,
        ticket_id,
        message.id,
        message.author.id,
        &snapshot,
    )
    .await?)
}

/// Stores, for every open ticket, the messages written since the newest one stored.
pub(crate) async fn open_tickets(ctx: &Context) {
    let tickets = match store::open_ticket_channels(&ctx.pool).await {
        Ok(tickets) => tickets,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list open tickets to catch up on their messages");
            return;
        }
    };
    for ticket in tickets {
        match catch_up(ctx, &ticket).await {
            Ok(0) => {}
            Ok(stored) => tracing::info!(
                ticket = ticket.ticket_id,
                stored,
                "stored ticket messages the gateway did not deliver"
            ),
            Err(error) => tracing::warn!(
                ticket = ticket.ticket_id,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not catch up on a ticket's messages"
            ),
        }
    }
}

/// Reads the channel's history after the newest stored message, oldest page first, and stores
/// each message; returns how many were new.
async fn catch_up(ctx: &Context, ticket: &StoredUpTo) -> Result<usize> {
    // Snowflakes order by creation time and the channel predates its messages, so with nothing
    // stored yet the channel's own id marks the start of its history.
    let mut after: Id<MessageMarker> = ticket
        .last_message_id
        .unwrap_or_else(|| ticket.channel_id.cast());
    let mut stored = 0;
    loop {
        // `after` yields the messages right after the anchor (newest first within the page).
        let request = ctx
            .http
            .channel_messages(ticket.channel_id)
            .after(after)
            .limit(HISTORY_PAGE);
        let page: Vec<Message> = ctx.rest_list(DiscordCall::CatchUpMessages, request).await?;
        let full_page = page.len() >= usize::from(HISTORY_PAGE);
        let Some(newest) = page.iter().map(|message| message.id).max() else {
            break;
        };
        for mut message in page {
            // REST messages carry no guild id; the gateway's do, and stored snapshots match them.
            message.guild_id = Some(ticket.guild_id);
            if record(ctx, ticket.ticket_id, &message).await? {
                stored += 1;
            }
        }
        if !full_page {
            break;
        }
        after = newest;
    }
    Ok(stored)
}
