//! Each ticket's first message: it pings the staff and carries the Close button, so it is posted
//! and pinned as durable steps (recorded in the ticket's row) and repaired until both are done.

use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker, UserMarker};

use tokio::time::Instant;

use crate::config::Category;
use crate::context::Context;
use crate::custom_id::CustomId;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::messages;
use crate::retries::Retries;
use crate::store;

/// Posts and pins a ticket's first message (mentions and the Close button), recording each step
/// so that [`repair_welcomes`] finishes what a failure interrupted.
pub(super) async fn post_created_message(
    ctx: &Context,
    ticket_id: i64,
    user_id: Id<UserMarker>,
    category: &Category,
    channel: Id<ChannelMarker>,
) -> Result<()> {
    let message = post_welcome(ctx, ticket_id, user_id, category, channel).await?;
    pin_welcome(ctx, ticket_id, channel, message).await
}

async fn post_welcome(
    ctx: &Context,
    ticket_id: i64,
    user_id: Id<UserMarker>,
    category: &Category,
    channel: Id<ChannelMarker>,
) -> Result<Id<MessageMarker>> {
    let created = messages::created_message(ticket_id, user_id, category, None);
    // The answers are read back rather than passed in, so a repair posts them too.
    let answers = store::form_answers(&ctx.pool, ticket_id).await?;
    let embeds: Vec<_> = messages::form_answers_embed(&answers).into_iter().collect();
    let message = ctx
        .rest_model(
            DiscordCall::PostWelcome,
            ctx.http
                .create_message(channel)
                .content(&created.content)
                .components(&created.components)
                .embeds(&embeds)
                .allowed_mentions(Some(&created.allowed_mentions)),
        )
        .await?;
    store::record_welcome(&ctx.pool, ticket_id, message.id).await?;
    Ok(message.id)
}

async fn pin_welcome(
    ctx: &Context,
    ticket_id: i64,
    channel: Id<ChannelMarker>,
    message: Id<MessageMarker>,
) -> Result<()> {
    ctx.rest(
        DiscordCall::PinWelcome,
        ctx.http.create_pin(channel, message),
    )
    .await?;
    store::mark_welcome_pinned(&ctx.pool, ticket_id).await?;
    Ok(())
}

/// Finishes the first message of every open ticket whose post or pin failed (a Discord error, a
/// crash): the welcome carries the Close button and pings the staff, so a ticket must not stay
/// without it. A message already posted is found (by its Close button) rather than posted twice.
/// A ticket whose repair fails waits longer after each failure (`retries`): a refusal that lasts
/// (the bot may not pin there) must not be repeated every tick.
pub(crate) async fn repair_welcomes(ctx: &Context, retries: &mut Retries) {
    let pending = match store::pending_welcomes(
        &ctx.pool,
        ctx.application_id,
        ctx.settings.welcome_repair_after,
    )
    .await
    {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list tickets without their first message");
            return;
        }
    };
    let ids: Vec<i64> = pending.iter().map(|welcome| welcome.ticket_id).collect();
    retries.forget_all_but(&ids);
    let config = ctx.config();
    for welcome in pending {
        // Failures are kept for unsettled tickets too: a message in the ticket must not reset
        // the wait of a refusal that lasts.
        if !welcome.settled || !retries.is_due(welcome.ticket_id, Instant::now()) {
            continue;
        }
        let Some(category) = config.categories.get(&welcome.category_key) else {
            continue;
        };
        let repaired = async {
            let message = match welcome.message_id {
                Some(message) => message,
                None => match find_welcome(ctx, &welcome).await? {
                    Some(message) => {
                        store::record_welcome(&ctx.pool, welcome.ticket_id, message).await?;
                        message
                    }
                    None => {
                        post_welcome(
                            ctx,
                            welcome.ticket_id,
                            welcome.user_id,
                            category,
                            welcome.channel_id,
                        )
                        .await?
                    }
                },
            };
            pin_welcome(ctx, welcome.ticket_id, welcome.channel_id, message).await
        };
        match repaired.await {
            Ok(()) => {
                retries.succeeded(welcome.ticket_id);
                tracing::info!(
                    ticket = welcome.ticket_id,
                    "the ticket's first message is posted and pinned"
                );
            }
            Err(error) => {
                // From now, not from the attempt's start: a slow attempt (a rate-limit wait)
                // must not eat the wait.
                let wait = retries.failed(welcome.ticket_id, Instant::now());
                tracing::warn!(
                    ticket = welcome.ticket_id,
                    error = %ErrorChain(&error),
                    discord_code = error.discord_code(),
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "could not finish the ticket's first message; retrying later"
                );
            }
        }
    }
}

/// The bot's message in the ticket channel carrying this ticket's Close button, if posted.
async fn find_welcome(
    ctx: &Context,
    welcome: &store::PendingWelcome,
) -> Result<Option<Id<MessageMarker>>> {
    let close_id = CustomId::Close {
        ticket_id: welcome.ticket_id,
    }
    .to_string();
    let recent = ctx
        .rest_list(
            DiscordCall::ReadTicketChannel,
            ctx.http.channel_messages(welcome.channel_id).limit(50),
        )
        .await?;
    Ok(recent
        .iter()
        .find(|message| {
            message.author.id == ctx.bot_user_id
                && serde_json::to_string(&message.components)
                    .is_ok_and(|components| components.contains(&format!("\"{close_id}\"")))
        })
        .map(|message| message.id))
}
