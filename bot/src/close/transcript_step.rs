//! The transcript step: gather the conversation (the channel's history, or the stored messages
//! when the channel is gone), learn the names to show, keep its files (`attachments`), render it
//! as Markdown, upload it to PrivateBin, and record every paste's link, delete token and SHA-256
//! with the whole transcript's hash, moving `closing` → `transcript_stored`.

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
        match fetch_history(ctx, channel).await {
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
    let guild_name = learn_guild_names(ctx, ticket.guild_id, &mut names).await;
    learn_member_names(ctx, ticket, &mut names).await;
    let mut transcript_messages: Vec<TranscriptMessage> =
        messages.iter().map(TranscriptMessage::from).collect();
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
    Ok(stored
        .into_iter()
        .filter_map(|stored| match serde_json::from_value::<Message>(stored.snapshot) {
            Ok(message) => Some(message),
            Err(error) => {
                tracing::warn!(message = %stored.message_id, error = %ErrorChain(&error), "a stored message cannot be read; leaving it out");
                None
            }
        })
        .collect())
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

/// Teaches the transcript the guild's name and its roles' names, so role mentions read as names.
/// Best effort: names are cosmetic, and a failure here must never hold up a close.
async fn learn_guild_names(
    ctx: &Context,
    guild_id: Id<GuildMarker>,
    names: &mut Names,
) -> Option<String> {
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
