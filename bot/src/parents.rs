//! The parent categories a category's ticket channels may go into: its parent, its overflow
//! parents in order, then the categories the bot created for it (`createOverflowParents`), and
//! creating one more when all of them are full. Created parents are rows in Postgres, decided
//! under a cross-replica lock, so racing opens on any number of replicas create one category
//! per need; a creation a crash interrupted is found again by its name.

use std::future::Future;
use std::time::Instant;

use twilight_model::channel::ChannelType;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker};

use crate::config::Category;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{DiscordProblem, ErrorChain, Result};
use crate::messages;
use crate::store;

/// Puts a ticket channel (a new one, or one moved) under the first of the category's parents
/// with room: `attempt` runs with each in turn, those known full last; one that Discord answers
/// full is remembered as such ([`crate::capacity::FullParents`]) and the next one tried; when
/// all are full, one more parent is created if the category allows it, else Discord's refusal
/// is the answer.
pub(crate) async fn into_first_with_room<T, F, Fut>(
    ctx: &Context,
    guild: Id<GuildMarker>,
    category_key: &str,
    category: &Category,
    attempt: F,
) -> Result<T>
where
    F: Fn(Id<ChannelMarker>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let candidates = candidates(ctx, guild, category_key, category).await?;
    let order = ctx.full_parents.order(&candidates, Instant::now());
    let mut refused = None;
    for &parent in &order {
        match attempt(parent).await {
            Err(error) if error.discord_problem() == Some(DiscordProblem::CategoryFull) => {
                ctx.full_parents.mark_full(parent, Instant::now());
                tracing::info!(category = category_key, parent = %parent, "the ticket parent is full; trying the next");
                refused = Some(error);
            }
            done => return done,
        }
    }
    let Some(refused) = refused else {
        // Not reached: the configured parent is always a candidate.
        return attempt(category.parent_channel_id).await;
    };
    match create_next(ctx, guild, category_key, category, &order).await? {
        Some(parent) => attempt(parent).await,
        None => Err(refused),
    }
}

/// Every parent of the category in the order tried: the parent, the overflow parents, and the
/// created ones it may still use (at most `createOverflowParents`, the oldest first).
async fn candidates(
    ctx: &Context,
    guild: Id<GuildMarker>,
    category_key: &str,
    category: &Category,
) -> Result<Vec<Id<ChannelMarker>>> {
    let mut parents = vec![category.parent_channel_id];
    parents.extend(&category.overflow_parent_ids);
    if category.create_overflow_parents > 0 {
        let created =
            store::created_parents(&ctx.pool, ctx.application_id, guild, category_key).await?;
        parents.extend(
            created
                .iter()
                .take(usize::from(category.create_overflow_parents))
                .map(|parent| parent.channel_id),
        );
    }
    Ok(parents)
}

/// A parent with room, when every one in `tried` answered full: one another process created
/// meanwhile, or a new one, unless the category may create no more (`None`).
async fn create_next(
    ctx: &Context,
    guild: Id<GuildMarker>,
    category_key: &str,
    category: &Category,
    tried: &[Id<ChannelMarker>],
) -> Result<Option<Id<ChannelMarker>>> {
    if category.create_overflow_parents == 0 {
        return Ok(None);
    }
    let lock =
        store::lock_created_parents(&ctx.pool, ctx.application_id, guild, category_key).await?;
    let next = create_next_locked(ctx, guild, category_key, category, tried).await;
    lock.release().await;
    next
}

async fn create_next_locked(
    ctx: &Context,
    guild: Id<GuildMarker>,
    category_key: &str,
    category: &Category,
    tried: &[Id<ChannelMarker>],
) -> Result<Option<Id<ChannelMarker>>> {
    let created =
        store::created_parents(&ctx.pool, ctx.application_id, guild, category_key).await?;
    if let Some(fresh) = created
        .iter()
        .take(usize::from(category.create_overflow_parents))
        .find(|parent| !tried.contains(&parent.channel_id))
    {
        return Ok(Some(fresh.channel_id));
    }
    if created.len() >= usize::from(category.create_overflow_parents) {
        return Ok(None);
    }
    let ordinal = created
        .last()
        .map_or(1, |last| last.ordinal.saturating_add(1));
    let parent = ctx
        .rest_model(
            DiscordCall::ReadTicketParent,
            ctx.http.channel(category.parent_channel_id),
        )
        .await?;
    // The configured parent is the first, so the first created one is number 2.
    let number = u32::try_from(ordinal).unwrap_or(1) + 1;
    let name = messages::created_parent_name(parent.name.as_deref().unwrap_or("Tickets"), number);
    // A crash between Discord's answer and the row leaves a category of that name behind.
    let left_behind = ctx
        .rest_list(
            DiscordCall::FindCreatedParent,
            ctx.http.guild_channels(guild),
        )
        .await?
        .into_iter()
        .find(|channel| {
            channel.kind == ChannelType::GuildCategory
                && channel.name.as_deref() == Some(name.as_str())
                && !tried.contains(&channel.id)
                && !created.iter().any(|known| known.channel_id == channel.id)
        });
    let channel = if let Some(channel) = left_behind {
        channel.id
    } else {
        let overwrites = parent.permission_overwrites.unwrap_or_default();
        ctx.rest_model(
            DiscordCall::CreateOverflowParent,
            ctx.http
                .create_guild_channel(guild, &name)
                .kind(ChannelType::GuildCategory)
                .permission_overwrites(&overwrites),
        )
        .await?
        .id
    };
    if let Err(error) = store::record_created_parent(
        &ctx.pool,
        ctx.application_id,
        guild,
        category_key,
        ordinal,
        channel,
    )
    .await
    {
        // Found again by its name on the next try.
        tracing::warn!(channel = %channel, error = %ErrorChain(&error), "could not record a created overflow parent");
        return Err(error.into());
    }
    tracing::info!(category = category_key, channel = %channel, name, "created an overflow parent category");
    Ok(Some(channel))
}

/// Forgets the created parents of `guild` missing from its channel list (GUILD_CREATE's, sent
/// to every new session): a category deleted while no session was up sent its CHANNEL_DELETE to
/// nobody, and a row left for it would send opens to a channel that is gone.
pub(crate) async fn forget_missing(
    ctx: &Context,
    guild: Id<GuildMarker>,
    channels: &[Id<ChannelMarker>],
) {
    match store::forget_created_parents_missing_from(&ctx.pool, ctx.application_id, guild, channels)
        .await
    {
        Ok(0) => {}
        Ok(forgotten) => {
            tracing::info!(guild = %guild, forgotten, "created overflow parents were deleted while the gateway was away");
        }
        Err(error) => {
            tracing::warn!(guild = %guild, error = %ErrorChain(&error), "could not check the created overflow parents");
        }
    }
}

/// Forgets a created parent deleted by hand, so the next one is created when needed.
pub(crate) async fn forget_deleted(ctx: &Context, channel: Id<ChannelMarker>) {
    match store::forget_created_parent(&ctx.pool, ctx.application_id, channel).await {
        Ok(true) => tracing::info!(channel = %channel, "a created overflow parent was deleted"),
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(channel = %channel, error = %ErrorChain(&error), "could not forget a deleted overflow parent");
        }
    }
}
