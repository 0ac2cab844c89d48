//! The steps after the transcript: the log post, the DM to the creator and the channel's
//! deletion. Posts carry the ticket's marker, and the bot looks for its own marked message before
//! posting, so a step repeated after a crash does nothing twice.

use twilight_model::channel::Message;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;
use twilight_model::id::marker::ChannelMarker;

use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::{BotError, DiscordProblem, Result};
use crate::messages::{
    closed_dm_text, dm_text, feedback_question, is_marked, log_text, marker_embed, rating_buttons,
};
use crate::privatebin::link::without_key;
use crate::store::{self, Ticket, TranscriptPart};

/// How many recent messages are searched for an earlier log post or DM of the same ticket.
const RECENT_MESSAGES: u16 = 100;

async fn recent_messages(ctx: &Context, channel: Id<ChannelMarker>) -> Result<Vec<Message>> {
    ctx.rest_list(
        DiscordCall::ReadRecentMessages,
        ctx.http.channel_messages(channel).limit(RECENT_MESSAGES),
    )
    .await
}

fn transcript_url(ticket: &Ticket) -> &str {
    ticket.transcript_url.as_deref().unwrap_or_default()
}

/// Whether a Discord error means the bot can never post there (so waiting would not help).
fn cannot_post(error: &BotError) -> bool {
    error
        .discord_problem()
        .is_some_and(DiscordProblem::forbids_posting)
}

pub(super) async fn post_log(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let Some(channel) = category.map(|category| category.log_channel_id) else {
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
        &[],
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

/// The bot's post about ticket `ticket_id` (its log post, or the DM) among the recent messages
/// of `channel`, if there is one.
pub(crate) async fn marked_post(
    ctx: &Context,
    channel: Id<ChannelMarker>,
    ticket_id: i64,
) -> Result<Option<Message>> {
    let recent = recent_messages(ctx, channel).await?;
    Ok(recent
        .into_iter()
        .find(|message| is_marked(message, ctx.bot_user_id, ticket_id)))
}

/// Posts `content` (with the ticket's marker) and `components` in `channel` unless the bot
/// already did.
async fn post_once(
    ctx: &Context,
    ticket: &Ticket,
    channel: Id<ChannelMarker>,
    content: &str,
    components: &[twilight_model::channel::message::Component],
) -> Result<()> {
    if marked_post(ctx, channel, ticket.id).await?.is_some() {
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
        DiscordCall::PostClosedNotice,
        ctx.http
            .create_message(channel)
            .content(content)
            .embeds(&embeds)
            .components(components)
            .allowed_mentions(Some(&no_pings)),
    )
    .await?;
    Ok(())
}

pub(super) async fn notify_creator(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let template = category.and_then(|category| category.dm_on_close.clone());
    let question = category
        .filter(|category| category.ask_feedback)
        .map(|category| feedback_question(ticket.id, &category.name));
    if template.is_none() && question.is_none() {
        return Ok(());
    }
    // A channel deleted by hand has the bot's own words as its reason, not the closer's.
    let reason = ticket
        .close_reason
        .as_deref()
        .filter(|_| !ticket.channel_gone);
    let closing = template.map(|template| dm_text(&template, transcript_url(ticket), reason));
    let components = if question.is_some() {
        rating_buttons(ticket.id)
    } else {
        Vec::new()
    };
    let text = closed_dm_text(closing, question);
    let sent = async {
        let dm = ctx
            .rest_model(
                DiscordCall::OpenCreatorDm,
                ctx.http.create_private_channel(ticket.user_id),
            )
            .await?;
        post_once(ctx, ticket, dm.id, &text, &components).await
    }
    .await;
    match sent {
        Err(error)
            if matches!(
                error.discord_problem(),
                Some(
                    DiscordProblem::CannotMessageUser
                        | DiscordProblem::UnknownUser
                        | DiscordProblem::UnknownResource
                )
            ) =>
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

pub(super) async fn delete_channel(ctx: &Context, ticket: &Ticket) -> Result<()> {
    let Some(channel) = ticket.channel_id.filter(|_| !ticket.channel_gone) else {
        return Ok(());
    };
    let deleted = ctx
        .rest(
            DiscordCall::DeleteTicketChannel,
            ctx.http.delete_channel(channel),
        )
        .await;
    match deleted {
        Err(error) if !error.is_unknown_resource() => Err(error),
        _ => Ok(()),
    }
}

/// The last step, when the bot's `privatebin.storeKey` is off: removes the decryption key from
/// the stored links. The log post and the DM, sent by now, are then the only places the key is.
/// Repeated after a crash, it finds nothing left to remove.
pub(super) async fn forget_transcript_key(ctx: &Context, ticket: &Ticket) -> Result<()> {
    if ctx.config().privatebin.store_key {
        return Ok(());
    }
    let parts: Vec<TranscriptPart> = ticket
        .transcript_parts
        .iter()
        .map(|part| TranscriptPart {
            url: without_key(&part.url),
            ..part.clone()
        })
        .collect();
    if parts == ticket.transcript_parts {
        return Ok(());
    }
    store::replace_transcript_links(&ctx.pool, ticket.id, &parts).await?;
    Ok(())
}
