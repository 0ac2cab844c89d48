//! The transcript step: gather the conversation (the stored messages brought up to date by the
//! channel's newest page when the bot saw every message of the ticket, else the channel's whole
//! history, or the stored messages when the channel is gone), learn the names to show, keep its
//! files (`attachments`), render it as Markdown, upload it to PrivateBin, and record every
//! paste's link, delete token and SHA-256 with the whole transcript's hash, moving `closing` →
//! `transcript_stored`.

use std::collections::{BTreeMap, HashSet};

use twilight_model::channel::Message;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, MessageMarker, UserMarker};

use super::{HISTORY_PAGE, attachments};
use crate::context::Context;
use crate::digest::sha256_hex;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::privatebin::{StoredPart, StoredTranscript};
use crate::store::{self, PartKind, RecordedTranscript, StoreError, Ticket, TranscriptPart};
use crate::transcript::{
    Names, TranscriptMessage, TranscriptTicket, TranscriptUser, render_markdown,
    timestamp_from_twilight,
};

/// Most member lookups for names per transcript: names are cosmetic, and a close must not wait
/// on a long series of requests.
const MEMBER_NAME_LOOKUPS: usize = 10;

/// Reads the conversation, uploads it and records where it is; `false` when shutdown interrupted
/// the upload.
pub(super) async fn store_transcript(ctx: &Context, ticket: &Ticket) -> Result<bool> {
    let mut channel_gone = ticket.channel_gone;
    let mut messages = None;
    if let (false, Some(channel)) = (channel_gone, ticket.channel_id) {
        match read_channel(ctx, ticket, channel).await {
            Ok(history) => messages = Some(history),
            Err(error) if error.is_unknown_resource() => {
                tracing::info!(
                    ticket = ticket.id,
                    "the ticket channel is gone; using the stored messages"
                );
                store::mark_channel_gone(&ctx.pool, ticket.id).await?;
                channel_gone = true;
            }
            Err(error) => return Err(error),
        }
    }
    let messages = match messages {
        Some(messages) => messages,
        None => stored_history(ctx, ticket.id).await?,
    };
    let mut names = Names::new();
    for message in &messages {
        names.learn_from_message(message);
    }
    let mut transcript_messages: Vec<TranscriptMessage> =
        messages.iter().map(TranscriptMessage::from).collect();
    // Discord's messages are the step's largest allocation and nothing below reads them: a long
    // ticket's would otherwise stay alive through every request and the upload.
    drop(messages);
    let guild_name = learn_guild_names(ctx, ticket.guild_id, &mut names).await;
    learn_member_names(ctx, ticket, &mut names).await;
    if channel_gone {
        mark_deleted(ctx, ticket.id, &mut transcript_messages).await?;
    }
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key).map_or_else(
        || ticket.category_key.clone(),
        |category| category.name.clone(),
    );
    let mut header = transcript_ticket(ticket, category, &names);
    header.guild_name = guild_name;
    let queue = ctx.upload_queue()?;
    let Some(files) =
        attachments::keep_files(ctx, &queue, ticket.id, &mut transcript_messages).await?
    else {
        return Ok(false);
    };
    let text = render_markdown(&header, &transcript_messages, &names);
    let sha256 = sha256_hex(text.as_bytes());
    let uploaded = tokio::select! {
        uploaded = queue.upload(text) => uploaded,
        () = ctx.stopping.cancelled() => return Ok(false),
    };
    let stored = match uploaded {
        Ok(stored) => {
            ctx.metrics.transcript_uploads.inc();
            stored
        }
        Err(error) => {
            ctx.metrics.transcript_upload_failures.inc();
            queue.delete_unreferenced(&files).await;
            return Err(BotError::UploadTranscript(error));
        }
    };
    let count = i32::try_from(transcript_messages.len()).unwrap_or(i32::MAX);
    let parts = parts(&stored, &files);
    let recorded = RecordedTranscript {
        parts: &parts,
        sha256: &sha256,
    };
    match commit_transcript(ctx, ticket.id, count, &recorded).await {
        Ok(snapshots) => {
            tracing::info!(
                ticket = ticket.id,
                parts = stored.parts.len(),
                files = files.len(),
                messages = count,
                snapshots_deleted = snapshots,
                sha256,
                "transcript stored"
            );
            Ok(true)
        }
        Err(StoreError::TicketNotFound(_)) => {
            // The ticket left `closing` meanwhile: another transcript is the one referenced.
            queue.delete_unreferenced(&stored.parts).await;
            queue.delete_unreferenced(&files).await;
            Ok(true)
        }
        Err(error) => Err(error.into()),
    }
}

/// Records the stored transcript and deletes the ticket's message snapshots in one transaction:
/// a crash before the commit leaves the ticket `closing` with its snapshots (the close is resumed
/// and uploads again), a crash after it leaves the transcript recorded and no snapshot. Returns
/// how many snapshots were deleted.
async fn commit_transcript(
    ctx: &Context,
    ticket_id: i64,
    message_count: i32,
    transcript: &RecordedTranscript<'_>,
) -> store::Result<u64> {
    let mut transaction = store::begin(&ctx.pool).await?;
    store::raise_message_count(&mut *transaction, ticket_id, message_count).await?;
    let lifetime = ctx.config().privatebin.expire.lifetime();
    store::record_transcript(&mut *transaction, ticket_id, transcript, lifetime).await?;
    let deleted = store::delete_snapshots(&mut *transaction, ticket_id).await?;
    store::delete_form_answers(&mut *transaction, ticket_id).await?;
    store::commit(transaction).await?;
    Ok(deleted)
}

/// Every paste as the ticket row keeps it: the text parts in order, then the files.
fn parts(stored: &StoredTranscript, files: &[StoredPart]) -> Vec<TranscriptPart> {
    let text = stored.parts.iter().map(|part| (part, PartKind::Text));
    let files = files.iter().map(|part| (part, PartKind::File));
    text.chain(files)
        .map(|(part, kind)| TranscriptPart {
            id: part.id.clone(),
            url: part.url.clone(),
            delete_token: part.delete_token.clone(),
            kind,
            sha256: Some(part.sha256.clone()),
        })
        .collect()
}

/// The ticket channel's conversation, oldest first. When this process saw every message event of
/// the ticket ([`Context::record_is_complete_for`]), the stored messages brought up to date by
/// the newest history page ([`from_record`]): one request however long the ticket. Otherwise
/// (a ticket older than the gateway session, a message that could not be stored) the whole
/// history, a request per 100 messages.
async fn read_channel(
    ctx: &Context,
    ticket: &Ticket,
    channel: Id<ChannelMarker>,
) -> Result<Vec<Message>> {
    // Settled first: a message event still queued may yet fail to be stored, which is a gap the
    // check must see, and one stored meanwhile belongs in the record read.
    let settled = ctx.settle_message_work().await;
    let complete = ctx.record_is_complete_for(timestamp_from_twilight(ticket.created_at));
    if settled
        && complete
        && let Some(messages) = from_record(ctx, ticket.id, channel).await?
    {
        tracing::info!(
            ticket = ticket.id,
            source = "record",
            messages = messages.len(),
            "read the conversation from the stored messages and the newest history page"
        );
        return Ok(messages);
    }
    let messages = fetch_history(ctx, channel).await?;
    tracing::info!(
        ticket = ticket.id,
        source = "history",
        record_complete = complete,
        settled,
        messages = messages.len(),
        "read the conversation from the channel's whole history"
    );
    Ok(messages)
}

/// The stored messages merged with the channel's newest history page ([`merge_recorded`]), with
/// the messages that list files and that the page did not bring read again: Discord's attachment
/// links expire, and the stored ones may be too old to download. `None` when those reads would
/// cost more requests than reading the whole history.
async fn from_record(
    ctx: &Context,
    ticket_id: i64,
    channel: Id<ChannelMarker>,
) -> Result<Option<Vec<Message>>> {
    // Read before the page, so every stored message already existed when the page was read.
    let stored = store::stored_messages(&ctx.pool, ticket_id).await?;
    let stored = stored
        .into_iter()
        .filter(|stored| !stored.deleted)
        .filter_map(readable)
        .collect();
    let page: Vec<Message> = ctx
        .rest_list(
            DiscordCall::ReadTranscriptMessages,
            ctx.http.channel_messages(channel).limit(HISTORY_PAGE),
        )
        .await?;
    let fresh: HashSet<Id<MessageMarker>> = page.iter().map(|message| message.id).collect();
    let mut messages = merge_recorded(stored, page);
    let stale = messages
        .iter()
        .filter(|message| !message.attachments.is_empty() && !fresh.contains(&message.id))
        .count();
    let history_pages = messages.len().div_ceil(usize::from(HISTORY_PAGE)).max(1);
    if 1 + stale > history_pages {
        return Ok(None);
    }
    let mut gone = HashSet::new();
    for message in &mut messages {
        if message.attachments.is_empty() || fresh.contains(&message.id) {
            continue;
        }
        let request = ctx.http.message(channel, message.id);
        match ctx
            .rest_model(DiscordCall::ReadTranscriptMessage, request)
            .await
        {
            Ok(current) => *message = current,
            // Deleted since it was stored (the delete is in flight): the history would not show it.
            Err(error) if error.is_unknown_message() => {
                gone.insert(message.id);
            }
            Err(error) => return Err(error),
        }
    }
    messages.retain(|message| !gone.contains(&message.id));
    Ok(Some(messages))
}

/// The conversation, oldest first, from the stored messages not marked deleted and the
/// channel's newest history page read after them. The page is Discord's current word on the
/// span it covers (from its oldest message on, or everything when it is not full, since then it
/// is the whole history): there its messages replace the stored ones, which carry an edit only
/// once its event was stored, it adds the messages the bot has not stored yet, and a stored
/// message it lacks was deleted. Older stored messages are kept as stored.
fn merge_recorded(stored: Vec<Message>, newest_page: Vec<Message>) -> Vec<Message> {
    let whole_history = newest_page.len() < usize::from(HISTORY_PAGE);
    let span_start = newest_page.iter().map(|message| message.id).min();
    let before_span =
        |message: &Message| !whole_history && span_start.is_some_and(|oldest| message.id < oldest);
    let mut merged: BTreeMap<Id<MessageMarker>, Message> = stored
        .into_iter()
        .filter(before_span)
        .map(|message| (message.id, message))
        .collect();
    merged.extend(newest_page.into_iter().map(|message| (message.id, message)));
    merged.into_values().collect()
}

/// Every message of a channel, oldest first, paged backwards 100 at a time.
async fn fetch_history(ctx: &Context, channel: Id<ChannelMarker>) -> Result<Vec<Message>> {
    let mut all: Vec<Message> = Vec::new();
    let mut before: Option<Id<MessageMarker>> = None;
    loop {
        let request = ctx.http.channel_messages(channel);
        let page: Vec<Message> = match before {
            None => {
                ctx.rest_list(
                    DiscordCall::ReadTranscriptMessages,
                    request.limit(HISTORY_PAGE),
                )
                .await?
            }
            Some(before) => {
                ctx.rest_list(
                    DiscordCall::ReadTranscriptMessages,
                    request.before(before).limit(HISTORY_PAGE),
                )
                .await?
            }
        };
        let full_page = page.len() >= usize::from(HISTORY_PAGE);
        let oldest = page.iter().map(|message| message.id).min();
        all.extend(page);
        match oldest {
            Some(oldest) if full_page => before = Some(oldest),
            _ => break,
        }
    }
    all.sort_by_key(|message| message.id);
    Ok(all)
}

/// The messages the bot stored for a ticket whose channel is gone, oldest first.
async fn stored_history(ctx: &Context, ticket_id: i64) -> Result<Vec<Message>> {
    let stored = store::stored_messages(&ctx.pool, ticket_id).await?;
    Ok(stored.into_iter().filter_map(readable).collect())
}

/// A stored message's snapshot as a message; `None` (logged) when it cannot be read. Takes the
/// row so that its text is freed as soon as it is parsed.
fn readable(stored: store::StoredMessage) -> Option<Message> {
    let store::StoredMessage {
        message_id,
        snapshot,
        ..
    } = stored;
    match serde_json::from_str::<Message>(&snapshot) {
        Ok(message) => Some(message),
        Err(error) => {
            tracing::warn!(message = %message_id, error = %ErrorChain(&error), "a stored message cannot be read; leaving it out");
            None
        }
    }
}

/// Marks the messages someone deleted before the channel went, so the transcript says so.
async fn mark_deleted(
    ctx: &Context,
    ticket_id: i64,
    messages: &mut [TranscriptMessage],
) -> Result<()> {
    let stored = store::stored_messages(&ctx.pool, ticket_id).await?;
    for message in messages.iter_mut() {
        if stored
            .iter()
            .any(|stored| stored.deleted && stored.message_id == message.id)
        {
            message.content = format!("(deleted) {}", message.content);
        }
    }
    Ok(())
}

fn transcript_user(id: Id<UserMarker>, names: &Names) -> TranscriptUser {
    TranscriptUser {
        id,
        display_name: names
            .user(id)
            .map_or_else(|| format!("user {id}"), ToOwned::to_owned),
        bot: false,
    }
}

/// Teaches the transcript the guild's name and its roles' names, so role mentions read as names:
/// from what the gateway told this process ([`crate::guild_names`]), else read from Discord.
/// Best effort: names are cosmetic, and a failure here must never hold up a close.
async fn learn_guild_names(
    ctx: &Context,
    guild_id: Id<GuildMarker>,
    names: &mut Names,
) -> Option<String> {
    if let Some(known) = ctx.guild_names.get(guild_id) {
        for (id, name) in known.roles {
            names.insert_role(id, name);
        }
        return Some(known.name);
    }
    match ctx
        .rest_list(DiscordCall::ReadTranscriptRoles, ctx.http.roles(guild_id))
        .await
    {
        Ok(roles) => {
            for role in roles {
                names.insert_role(role.id, role.name);
            }
        }
        Err(error) => {
            tracing::debug!(error = %ErrorChain(&error), "role names unavailable for the transcript");
        }
    }
    match ctx
        .rest_model(DiscordCall::ReadTranscriptGuild, ctx.http.guild(guild_id))
        .await
    {
        Ok(guild) => Some(guild.name),
        Err(error) => {
            tracing::debug!(error = %ErrorChain(&error), "the guild's name is unavailable for the transcript");
            None
        }
    }
}

/// Looks up, as server members, the people the messages do not name for sure: users only
/// mentioned (a mention lacks the global display name), and the opener and closer when the
/// messages never name them, and the people added to the ticket. Best effort, like [`learn_guild_names`].
async fn learn_member_names(ctx: &Context, ticket: &Ticket, names: &mut Names) {
    let mut wanted = names.incomplete_users();
    let named_in_header = std::iter::once(ticket.user_id)
        .chain(ticket.closed_by)
        .chain(ticket.additional_users.iter().copied());
    for id in named_in_header {
        if names.user(id).is_none() && !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    for id in wanted.into_iter().take(MEMBER_NAME_LOOKUPS) {
        match ctx
            .rest_model(
                DiscordCall::ReadTranscriptMember,
                ctx.http.guild_member(ticket.guild_id, id),
            )
            .await
        {
            Ok(member) => {
                names.learn_member(&member);
            }
            // Someone who left the server keeps the name the mention gave.
            Err(error) => {
                tracing::debug!(user = %id, error = %error, "a member's names are unavailable for the transcript");
            }
        }
    }
}

fn transcript_ticket(ticket: &Ticket, category: String, names: &Names) -> TranscriptTicket {
    let opened_at = crate::transcript::timestamp_from_twilight(ticket.created_at);
    TranscriptTicket {
        number: u64::try_from(ticket.id).unwrap_or_default(),
        category,
        guild_id: ticket.guild_id,
        guild_name: None,
        opened_by: transcript_user(ticket.user_id, names),
        opened_at,
        closed_by: ticket.closed_by.map(|id| transcript_user(id, names)),
        closed_at: Some(jiff::Timestamp::now()),
        close_reason: ticket.close_reason.clone(),
        added: ticket
            .additional_users
            .iter()
            .map(|id| transcript_user(*id, names))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use twilight_model::channel::Message;

    use super::{HISTORY_PAGE, merge_recorded};

    /// A message as Discord's JSON has it: `id`, its text, and whether it was edited.
    fn message(id: u64, content: &str, edited: bool) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(),
            "channel_id": "300000000000000009",
            "author": {"id": "500000000000000001", "username": "alice", "discriminator": "0", "avatar": null},
            "content": content,
            "timestamp": "2025-01-01T00:00:00.000000+00:00",
            "edited_timestamp": edited.then_some("2025-01-01T01:00:00.000000+00:00"),
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
        }))
        .expect("a valid message")
    }

    /// Messages `ids` with their plain text, newest first as Discord pages them.
    fn page(ids: std::ops::RangeInclusive<u64>) -> Vec<Message> {
        ids.rev()
            .map(|id| message(id, &format!("message {id}"), false))
            .collect()
    }

    fn contents(messages: &[Message]) -> Vec<(u64, &str)> {
        messages
            .iter()
            .map(|message| (message.id.get(), message.content.as_str()))
            .collect()
    }

    #[test]
    fn the_page_replaces_what_it_spans_and_older_stored_messages_are_kept() {
        let newest = u64::from(HISTORY_PAGE) + 50;
        let mut stored = page(1..=newest);
        stored.reverse();
        // An early edit the bot stored; a late edit it has not stored yet (only the page has it).
        stored[4] = message(5, "early edit", true);
        let mut newest_page = page(51..=newest);
        newest_page[0] = message(newest, "late edit", true);
        let merged = merge_recorded(stored, newest_page);
        assert_eq!(merged.len(), 150);
        let seen = contents(&merged);
        assert_eq!(seen[4], (5, "early edit"));
        assert_eq!(seen[149], (150, "late edit"));
        assert_eq!(seen[50], (51, "message 51"));
        assert!(
            merged.windows(2).all(|pair| pair[0].id < pair[1].id),
            "oldest first"
        );
    }

    #[test]
    fn a_message_only_the_page_has_is_added_in_its_place() {
        let full = u64::from(HISTORY_PAGE);
        // Stored out of order, with a gap at 60 and nothing after 110: the page brings both.
        let stored: Vec<Message> = (1..=110)
            .rev()
            .filter(|id| *id != 60)
            .map(|id| message(id, &format!("message {id}"), false))
            .collect();
        let merged = merge_recorded(stored, page(21..=20 + full));
        let ids: Vec<u64> = merged.iter().map(|message| message.id.get()).collect();
        assert_eq!(ids, (1..=20 + full).collect::<Vec<_>>());
    }

    #[test]
    fn a_stored_message_the_page_should_hold_but_lacks_was_deleted() {
        let full = u64::from(HISTORY_PAGE);
        let stored: Vec<Message> = page(1..=full + 10).into_iter().rev().collect();
        // 50 is in the page's span: deleted. 5 is older than the page: kept as stored.
        let newest_page: Vec<Message> = page(11..=full + 10)
            .into_iter()
            .filter(|message| message.id.get() != 50)
            .chain(std::iter::once(message(10, "message 10", false)))
            .collect();
        assert_eq!(newest_page.len(), usize::from(HISTORY_PAGE));
        let ids: Vec<u64> = merge_recorded(stored, newest_page)
            .iter()
            .map(|message| message.id.get())
            .collect();
        assert!(!ids.contains(&50), "{ids:?}");
        assert!(ids.contains(&5), "{ids:?}");
        assert_eq!(ids.len(), usize::from(HISTORY_PAGE) + 9);
    }

    #[test]
    fn a_page_shorter_than_a_full_one_is_the_whole_history() {
        let stored: Vec<Message> = page(1..=5).into_iter().rev().collect();
        let newest_page: Vec<Message> = page(1..=5)
            .into_iter()
            .filter(|message| message.id.get() != 1)
            .collect();
        let ids: Vec<u64> = merge_recorded(stored, newest_page)
            .iter()
            .map(|message| message.id.get())
            .collect();
        assert_eq!(ids, [2, 3, 4, 5], "the first message was deleted");
    }
}
