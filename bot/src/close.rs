//! Closing a ticket: a durable state machine driven from the ticket's stored state.
//!
//! closing → (transcript uploaded) → `transcript_stored` → (link posted in the log channel) →
//! `logged` → (creator DMed, when enabled) → `notified` → (channel deleted) → `channel_deleted` →
//! `closed`. Each step is committed before the next begins, and each side effect is done so that
//! repeating it after a crash does nothing twice:
//! - the log post and the DM carry a marker (`Ticket #N` in an embed footer); before posting, the
//!   bot looks for its own message with that marker and skips the post when it finds one;
//! - deleting a channel that is already gone counts as done;
//! - one process at a time drives a ticket (a lease row in Postgres, renewed while it works, so
//!   no pooled connection is held across network IO), and every state write only moves from the
//!   state the step started in.
//!
//! The one thing a crash can repeat is the upload: a crash after PrivateBin stored the paste but
//! before its link was committed leaves one unreferenced paste, which expires with the configured
//! expiry. Avoiding it would need a second write before every upload; an orphaned ciphertext
//! nobody holds the key to is harmless.

use std::sync::Arc;

use ticketeer_config::{MESSAGE_MAX_CHARS, TRANSCRIPT_URL_PLACEHOLDER};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use twilight_model::channel::Message;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::channel::message::embed::{Embed, EmbedFooter};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, MessageMarker, UserMarker};

use crate::context::Context;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::metrics::Metrics;
use crate::privatebin::StoredTranscript;
use crate::retries::Retries;
use crate::store::{self, StoreError, Ticket, TicketState, TranscriptPart};
use crate::transcript::{
    Names, TranscriptMessage, TranscriptTicket, TranscriptUser, render_markdown,
};

/// The close reason recorded when someone deletes a ticket channel by hand.
pub const CHANNEL_DELETED_REASON: &str = "channel deleted by hand";

/// Most member lookups for names per transcript: names are cosmetic, and a close must not wait
/// on a long series of requests.
const MEMBER_NAME_LOOKUPS: usize = 10;

/// Discord's largest page of message history.
pub(crate) const HISTORY_PAGE: u16 = 100;
/// How many recent messages are searched for an earlier log post or DM of the same ticket.
const RECENT_MESSAGES: u16 = 100;
/// Discord: "Cannot send messages to this user" (DMs closed, no shared server, blocked).
const CANNOT_DM_USER: u64 = 50007;
/// Discord: "Missing Access".
const MISSING_ACCESS: u64 = 50001;
/// Discord: "Missing Permissions".
const MISSING_PERMISSIONS: u64 = 50013;
/// Discord: "Unknown User".
const UNKNOWN_USER: u64 = 10013;

/// How a [`drive`] call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveOutcome {
    /// The ticket is closed (now or before).
    Closed,
    /// Another task or replica is driving this close right now.
    Busy,
    /// The ticket is not being closed (or does not exist).
    NotClosing,
    /// Shutdown began; the close stopped between steps and resumes on the next start.
    Stopped,
}

/// Runs the remaining close steps of `ticket_id` from its stored state.
///
/// # Errors
///
/// The first step that failed ([`BotError::UploadTranscript`], [`BotError::Discord`],
/// [`BotError::Store`]); the state stays where it was, so calling again retries that step.
pub async fn drive(ctx: &Context, ticket_id: i64) -> Result<DriveOutcome> {
    let Some(_in_process) = DrivingGuard::claim(ctx, ticket_id) else {
        return Ok(DriveOutcome::Busy);
    };
    let lease_ttl = ctx.settings.close_lease_ttl;
    if !store::take_close_lease(&ctx.pool, ticket_id, ctx.lease_holder, lease_ttl).await? {
        return Ok(DriveOutcome::Busy);
    }
    let outcome = run_steps(ctx, ticket_id).await;
    if let Err(error) = store::release_close_lease(&ctx.pool, ticket_id, ctx.lease_holder).await {
        // The lease expires on its own; another process waits at most its ttl.
        tracing::warn!(error = %ErrorChain(&error), "could not release a close lease");
    }
    outcome
}

/// Keeps this process's close leases from expiring while their closes run (a close may wait
/// minutes in the upload queue behind PrivateBin's traffic limiter): renews every lease of the
/// tickets it is driving, three times per ttl. Ends when `stop` is cancelled.
pub async fn renew_leases_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let ttl = ctx.settings.close_lease_ttl;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(ttl / 3) => {}
        }
        let driving: Vec<i64> = match ctx.driving.lock() {
            Ok(driving) => driving.iter().copied().collect(),
            Err(poisoned) => poisoned.into_inner().iter().copied().collect(),
        };
        if driving.is_empty() {
            continue;
        }
        if let Err(error) =
            store::renew_close_leases(&ctx.pool, ctx.lease_holder, &driving, ttl).await
        {
            // Every state write advances only from the state it read, so a lease lost to an
            // outage can at worst let another replica repeat one step's Discord call.
            tracing::warn!(error = %ErrorChain(&error), "could not renew the close leases");
        }
    }
}

/// Starts [`drive`] on the task tracker; a failure is left to the resume loop to retry.
pub fn spawn_drive(ctx: &Arc<Context>, ticket_id: i64) {
    let task_ctx = Arc::clone(ctx);
    ctx.tracker.spawn(
        async move {
            match drive(&task_ctx, ticket_id).await {
                Ok(outcome) => tracing::debug!(?outcome, "close driven"),
                Err(error) => tracing::warn!(
                    error = %ErrorChain(&error),
                    discord_code = error.discord_code(),
                    "a close step failed; it will be retried"
                ),
            }
        }
        .instrument(tracing::info_span!("close", ticket = ticket_id)),
    );
}

/// Closes the ticket of a channel someone deleted by hand (a CHANNEL_DELETE of an open ticket's
/// channel), with a transcript of the messages the bot stored.
///
/// # Errors
///
/// [`BotError::Store`] when the ticket could not be moved to `closing`.
pub async fn on_channel_deleted(ctx: &Arc<Context>, channel_id: Id<ChannelMarker>) -> Result<()> {
    let Some(ticket) =
        store::close_channel_gone(&ctx.pool, channel_id, CHANNEL_DELETED_REASON).await?
    else {
        return Ok(());
    };
    tracing::info!(ticket = ticket.id, channel = %channel_id, "ticket channel deleted by hand; closing the ticket");
    crate::refresh_open_ticket_gauges(ctx).await;
    spawn_drive(ctx, ticket.id);
    Ok(())
}

/// Finds unfinished closes (after a crash or an outage) and drives them, once the gateway is up
/// and then every `close_retry_interval`; a ticket whose close keeps failing waits longer and
/// longer between attempts, up to `close_retry_max_backoff`. Ends when `stop` is cancelled.
pub async fn resume_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let interval = ctx.settings.close_retry_interval;
    let max_backoff = ctx.settings.close_retry_max_backoff;
    let mut close_retries = Retries::new(interval, max_backoff);
    let mut welcome_retries = Retries::new(interval, max_backoff);
    loop {
        if ctx.gateway_connected() {
            resume_once(&ctx, &stop, &mut close_retries).await;
            crate::interactions::repair_welcomes(&ctx, &mut welcome_retries).await;
        }
        // Unfinished closes are resumed as soon as the gateway is up (a restart should not
        // leave them waiting a whole interval), then on every tick.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
            () = ctx.gateway_up.notified() => {}
        }
    }
}

async fn resume_once(ctx: &Context, stop: &CancellationToken, retries: &mut Retries) {
    let unfinished = match store::unfinished_closes(&ctx.pool).await {
        Ok(unfinished) => unfinished,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list unfinished closes");
            return;
        }
    };
    let ids: Vec<i64> = unfinished.iter().map(|ticket| ticket.id).collect();
    retries.forget_all_but(&ids);
    for ticket in unfinished {
        if stop.is_cancelled() {
            return;
        }
        if !retries.is_due(ticket.id, Instant::now()) {
            continue;
        }
        let span = tracing::info_span!("close", ticket = ticket.id, resumed = true);
        match drive(ctx, ticket.id).instrument(span).await {
            Ok(DriveOutcome::Busy | DriveOutcome::Stopped) => {}
            Ok(DriveOutcome::Closed | DriveOutcome::NotClosing) => retries.succeeded(ticket.id),
            Err(error) => {
                // From now, not from the attempt's start: a close can take long to fail.
                let wait = retries.failed(ticket.id, Instant::now());
                tracing::warn!(
                    ticket = ticket.id,
                    state = ticket.state.as_str(),
                    error = %ErrorChain(&error),
                    discord_code = error.discord_code(),
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "a close step failed; retrying later"
                );
            }
        }
    }
}

/// Marks a ticket as driven by this process for as long as it lives.
struct DrivingGuard<'a> {
    ctx: &'a Context,
    ticket_id: i64,
}

impl<'a> DrivingGuard<'a> {
    fn claim(ctx: &'a Context, ticket_id: i64) -> Option<Self> {
        let mut driving = match ctx.driving.lock() {
            Ok(driving) => driving,
            Err(poisoned) => poisoned.into_inner(),
        };
        let claimed = driving.insert(ticket_id);
        drop(driving);
        // Not `then_some`: building a guard that is then dropped would release the claim.
        claimed.then(|| Self { ctx, ticket_id })
    }
}

impl Drop for DrivingGuard<'_> {
    fn drop(&mut self) {
        let mut driving = match self.ctx.driving.lock() {
            Ok(driving) => driving,
            Err(poisoned) => poisoned.into_inner(),
        };
        driving.remove(&self.ticket_id);
    }
}

async fn run_steps(ctx: &Context, ticket_id: i64) -> Result<DriveOutcome> {
    loop {
        if ctx.stopping.is_cancelled() {
            return Ok(DriveOutcome::Stopped);
        }
        // Read again before every step: another replica may have moved the ticket on.
        let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
            return Ok(DriveOutcome::NotClosing);
        };
        match ticket.state {
            TicketState::Opening | TicketState::Open => return Ok(DriveOutcome::NotClosing),
            TicketState::Closed => return Ok(DriveOutcome::Closed),
            TicketState::Closing => {
                if !store_transcript(ctx, &ticket).await? {
                    return Ok(DriveOutcome::Stopped);
                }
                continue;
            }
            TicketState::TranscriptStored => post_log(ctx, &ticket).await?,
            TicketState::Logged => notify_creator(ctx, &ticket).await?,
            TicketState::Notified => delete_channel(ctx, &ticket).await?,
            TicketState::ChannelDeleted => {}
        }
        let advanced = store::advance_close(&ctx.pool, ticket.id, ticket.state).await?;
        if advanced && ticket.state == TicketState::ChannelDeleted {
            ctx.metrics
                .tickets_closed
                .get_or_create(&Metrics::category(&ticket.category_key))
                .inc();
            tracing::info!(ticket = ticket.id, "ticket closed");
        }
    }
}

/// Reads the conversation, uploads it and records where it is; `false` when shutdown interrupted
/// the upload.
async fn store_transcript(ctx: &Context, ticket: &Ticket) -> Result<bool> {
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
    let text = render_markdown(&header, &transcript_messages, &names);
    let queue = ctx.upload_queue()?;
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
            return Err(BotError::UploadTranscript(error));
        }
    };
    let count = i32::try_from(transcript_messages.len()).unwrap_or(i32::MAX);
    store::raise_message_count(&ctx.pool, ticket.id, count).await?;
    match store::record_transcript(&ctx.pool, ticket.id, &parts(&stored)).await {
        Ok(_) => {
            tracing::info!(
                ticket = ticket.id,
                parts = stored.parts.len(),
                messages = count,
                "transcript stored"
            );
            Ok(true)
        }
        Err(StoreError::TicketNotFound(_)) => {
            // The ticket left `closing` meanwhile: another transcript is the one referenced.
            if let Err(error) = queue.delete(&stored).await {
                tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not delete a superfluous transcript");
            }
            Ok(true)
        }
        Err(error) => Err(error.into()),
    }
}

fn parts(stored: &StoredTranscript) -> Vec<TranscriptPart> {
    stored
        .parts
        .iter()
        .map(|part| TranscriptPart {
            id: part.id.clone(),
            url: part.url.clone(),
            delete_token: part.delete_token.clone(),
        })
        .collect()
}

/// Every message of a channel, oldest first, paged backwards 100 at a time.
async fn fetch_history(ctx: &Context, channel: Id<ChannelMarker>) -> Result<Vec<Message>> {
    const ROUTE: &str = "GET /channels/{channel_id}/messages";
    const ACTION: &str = "read the ticket's messages";
    let mut all: Vec<Message> = Vec::new();
    let mut before: Option<Id<MessageMarker>> = None;
    loop {
        let request = ctx.http.channel_messages(channel);
        let page: Vec<Message> = match before {
            None => {
                ctx.rest_list(ROUTE, ACTION, request.limit(HISTORY_PAGE))
                    .await?
            }
            Some(before) => {
                ctx.rest_list(ROUTE, ACTION, request.before(before).limit(HISTORY_PAGE))
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
        .rest_list(
            "GET /guilds/{guild_id}/roles",
            "read the guild's roles",
            ctx.http.roles(guild_id),
        )
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
        .rest_model(
            "GET /guilds/{guild_id}",
            "read the guild",
            ctx.http.guild(guild_id),
        )
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
/// messages never name them. Best effort, like [`learn_guild_names`].
async fn learn_member_names(ctx: &Context, ticket: &Ticket, names: &mut Names) {
    let mut wanted = names.incomplete_users();
    for id in std::iter::once(ticket.user_id).chain(ticket.closed_by) {
        if names.user(id).is_none() && !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    for id in wanted.into_iter().take(MEMBER_NAME_LOOKUPS) {
        match ctx
            .rest_model(
                "GET /guilds/{guild_id}/members/{user_id}",
                "read a member's names",
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
    let opened_at = crate::transcript::model::timestamp_from_twilight(ticket.created_at);
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
    }
}

/// The marker in the embed footer of every message the bot sends about a closed ticket.
pub fn marker(ticket_id: i64) -> String {
    format!("Ticket #{ticket_id}")
}

fn marker_embed(ticket_id: i64, title: Option<String>, url: Option<String>) -> Embed {
    Embed {
        author: None,
        color: None,
        description: None,
        fields: Vec::new(),
        flags: None,
        footer: Some(EmbedFooter {
            icon_url: None,
            proxy_icon_url: None,
            text: marker(ticket_id),
        }),
        image: None,
        kind: "rich".to_owned(),
        provider: None,
        thumbnail: None,
        timestamp: None,
        title,
        url,
        video: None,
    }
}

/// Whether `message` is the bot's earlier post about this ticket.
fn is_marked(message: &Message, bot: Id<UserMarker>, ticket_id: i64) -> bool {
    let marker = marker(ticket_id);
    message.author.id == bot
        && message.embeds.iter().any(|embed| {
            embed
                .footer
                .as_ref()
                .is_some_and(|footer| footer.text == marker)
        })
}

/// The text of the log channel post about a closed ticket.
pub fn log_text(ticket: &Ticket, category: &str, transcript_url: &str) -> String {
    let number = ticket.id;
    let how = if ticket.channel_gone {
        "was closed: its channel was deleted by hand. The transcript holds the messages seen \
         before that"
            .to_owned()
    } else {
        match ticket.closed_by {
            Some(closer) => format!("was closed by <@{closer}>"),
            None => "was closed".to_owned(),
        }
    };
    let reason = ticket
        .close_reason
        .as_deref()
        .filter(|reason| !reason.is_empty() && !ticket.channel_gone)
        .map(|reason| format!("\nReason: {reason}"))
        .unwrap_or_default();
    format!(
        "**Ticket #{number}** ({category}) opened by <@{opener}> {how}.\nMessages: {count}{reason}\nTranscript: {transcript_url}",
        opener = ticket.user_id,
        count = ticket.message_count,
    )
}

/// The DM text: the configured message with the transcript link, cut to Discord's 2000 characters.
pub fn dm_text(template: &str, transcript_url: &str) -> String {
    let text = template.replace(TRANSCRIPT_URL_PLACEHOLDER, transcript_url);
    if text.chars().count() <= MESSAGE_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MESSAGE_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

async fn recent_messages(ctx: &Context, channel: Id<ChannelMarker>) -> Result<Vec<Message>> {
    ctx.rest_list(
        "GET /channels/{channel_id}/messages",
        "read recent messages",
        ctx.http.channel_messages(channel).limit(RECENT_MESSAGES),
    )
    .await
}

fn transcript_url(ticket: &Ticket) -> &str {
    ticket.transcript_url.as_deref().unwrap_or_default()
}

/// Whether a Discord error means the bot can never post there (so waiting would not help).
fn cannot_post(error: &BotError) -> bool {
    error.is_unknown_resource()
        || matches!(
            error.discord_code(),
            Some(MISSING_ACCESS | MISSING_PERMISSIONS)
        )
}

async fn post_log(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let Some(channel) = category
        .and_then(|category| category.log_channel_id.get())
        .and_then(Id::new_checked)
    else {
        tracing::warn!(ticket = ticket.id, category = %ticket.category_key, "no log channel for the ticket's category; not logging its close");
        return Ok(());
    };
    let name = category.map_or(ticket.category_key.as_str(), |category| {
        category.name.as_str()
    });
    let outcome = post_once(
        ctx,
        ticket,
        channel,
        &log_text(ticket, name, transcript_url(ticket)),
    )
    .await;
    match outcome {
        Err(error) if cannot_post(&error) => {
            tracing::error!(
                ticket = ticket.id,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "cannot post in the log channel; the transcript link stays in the database"
            );
            Ok(())
        }
        other => other,
    }
}

/// Posts `content` (with the ticket's marker) in `channel` unless the bot already did.
async fn post_once(
    ctx: &Context,
    ticket: &Ticket,
    channel: Id<ChannelMarker>,
    content: &str,
) -> Result<()> {
    let recent = recent_messages(ctx, channel).await?;
    if recent
        .iter()
        .any(|message| is_marked(message, ctx.bot_user_id, ticket.id))
    {
        tracing::info!(ticket = ticket.id, channel = %channel, "already posted before a restart; not posting again");
        return Ok(());
    }
    let url = ticket.transcript_url.clone();
    let embeds = [marker_embed(
        ticket.id,
        url.as_ref().map(|_| "Transcript".to_owned()),
        url,
    )];
    let no_pings = AllowedMentions::default();
    ctx.rest(
        "POST /channels/{channel_id}/messages",
        "post about the closed ticket",
        ctx.http
            .create_message(channel)
            .content(content)
            .embeds(&embeds)
            .allowed_mentions(Some(&no_pings)),
    )
    .await?;
    Ok(())
}

async fn notify_creator(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let config = ctx.config();
    let Some(template) = config
        .categories
        .get(&ticket.category_key)
        .filter(|category| category.dm_on_close.enabled)
        .and_then(|category| category.dm_on_close.message.clone())
    else {
        return Ok(());
    };
    let text = dm_text(&template, transcript_url(ticket));
    let sent = async {
        let dm = ctx
            .rest_model(
                "POST /users/@me/channels",
                "open a DM with the ticket's creator",
                ctx.http.create_private_channel(ticket.user_id),
            )
            .await?;
        post_once(ctx, ticket, dm.id, &text).await
    }
    .await;
    match sent {
        Err(error)
            if matches!(error.discord_code(), Some(CANNOT_DM_USER | UNKNOWN_USER))
                || error.is_unknown_resource() =>
        {
            tracing::info!(
                ticket = ticket.id,
                user = %ticket.user_id,
                discord_code = error.discord_code(),
                "the ticket's creator does not accept DMs; closing without one"
            );
            Ok(())
        }
        other => other,
    }
}

async fn delete_channel(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let Some(channel) = ticket.channel_id.filter(|_| !ticket.channel_gone) else {
        return Ok(());
    };
    let deleted = ctx
        .rest(
            "DELETE /channels/{channel_id}",
            "delete the ticket channel",
            ctx.http.delete_channel(channel),
        )
        .await;
    match deleted {
        Err(error) if !error.is_unknown_resource() => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        let now = twilight_model::util::Timestamp::from_secs(1_700_000_000).expect("timestamp");
        Ticket {
            id: 42,
            guild_id: Id::new(1),
            category_key: "support".to_owned(),
            user_id: Id::new(7),
            channel_id: Some(Id::new(9)),
            state: TicketState::Logged,
            open_interaction_id: Id::new(3),
            message_count: 151,
            additional_users: Vec::new(),
            closed_by: Some(Id::new(8)),
            close_reason: None,
            transcript_url: Some("https://paste.example/?abc#key".to_owned()),
            transcript_delete_token: Some("token".to_owned()),
            transcript_parts: Vec::new(),
            channel_gone: false,
            created_at: now,
            updated_at: now,
            closed_at: None,
        }
    }

    #[test]
    fn the_log_post_names_the_ticket_closer_count_and_link() {
        let text = log_text(&ticket(), "Support", "https://paste.example/?abc#key");
        assert!(text.starts_with("**Ticket #42** (Support) opened by <@7> was closed by <@8>."));
        assert!(text.contains("Messages: 151"));
        assert!(text.ends_with("Transcript: https://paste.example/?abc#key"));
    }

    #[test]
    fn the_log_post_of_a_channel_deleted_by_hand_says_so() {
        let mut gone = ticket();
        gone.channel_gone = true;
        gone.closed_by = None;
        gone.close_reason = Some(CHANNEL_DELETED_REASON.to_owned());
        let text = log_text(&gone, "Support", "u");
        assert!(text.contains("its channel was deleted by hand"), "{text}");
        assert!(!text.contains("<@8>"));
    }

    #[test]
    fn the_dm_replaces_the_placeholder_and_fits_discords_limit() {
        assert_eq!(
            dm_text("Your transcript: {transcript_url}", "https://x/?1#k"),
            "Your transcript: https://x/?1#k"
        );
        let long = format!("{} {{transcript_url}}", "é".repeat(1990));
        let text = dm_text(&long, &"u".repeat(100));
        assert_eq!(text.chars().count(), MESSAGE_MAX_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn the_marker_names_the_ticket() {
        let embed = marker_embed(42, None, None);
        assert_eq!(
            embed.footer.map(|footer| footer.text),
            Some("Ticket #42".to_owned())
        );
    }
}
