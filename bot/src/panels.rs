//! Panels: one message with an open button per category, kept in line with the config.
//!
//! Posted when missing, edited in place when its text or button changes, re-posted at once when
//! someone deletes it, deleted when its category is removed. Syncs run one at a time.

use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker};

use crate::config::Category;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::messages::{self, PanelMessage};
use crate::store::{self, Panel};

/// What a sync did to one category's panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanelAction {
    /// Posted a new panel message.
    Posted,
    /// Edited the existing message in place.
    Edited,
    /// Nothing to do.
    Unchanged,
}

/// Brings every category's panel in line with the config, and deletes the panels of removed
/// categories. Failures are logged per category and do not stop the others.
pub(crate) async fn sync_all(ctx: &Context) {
    let _one_at_a_time = ctx.panel_sync.lock().await;
    let config = ctx.config();
    for (key, category) in &config.categories {
        match sync_category_locked(ctx, key, category).await {
            Ok(action) => tracing::debug!(category = %key, ?action, "panel synced"),
            Err(error) => tracing::warn!(
                category = %key,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not sync the panel"
            ),
        }
    }
    let stored = match store::panels(&ctx.pool, ctx.application_id).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list stored panels");
            return;
        }
    };
    for panel in stored
        .into_iter()
        .filter(|panel| !config.categories.contains_key(&panel.category_key))
    {
        match remove_panel_locked(ctx, &panel).await {
            Ok(()) => {
                tracing::info!(category = %panel.category_key, "removed the panel of a removed category");
            }
            Err(error) => tracing::warn!(
                category = %panel.category_key,
                error = %ErrorChain(&error),
                "could not delete the panel of a removed category"
            ),
        }
    }
}

/// Re-posts a panel at once when its message was deleted (a MESSAGE_DELETE for one of ours).
pub(crate) async fn on_message_deleted(ctx: &Context, message_id: Id<MessageMarker>) -> Result<()> {
    let Some(first_seen) =
        store::panel_by_message(&ctx.pool, ctx.application_id, message_id).await?
    else {
        return Ok(());
    };
    let _one_at_a_time = ctx.panel_sync.lock().await;
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, &first_seen.category_key).await?;
    let reposted = repost_deleted(ctx, message_id).await;
    lock.release().await;
    reposted
}

async fn repost_deleted(ctx: &Context, message_id: Id<MessageMarker>) -> Result<()> {
    // Look again under the lock: a sync (here or on another replica) may have replaced the
    // panel meanwhile.
    let Some(panel) = store::panel_by_message(&ctx.pool, ctx.application_id, message_id).await?
    else {
        return Ok(());
    };
    let config = ctx.config();
    let Some(category) = config.categories.get(&panel.category_key) else {
        store::delete_panel(&ctx.pool, ctx.application_id, &panel.category_key).await?;
        return Ok(());
    };
    let wanted = messages::panel_message(&panel.category_key, category);
    post_panel(ctx, &panel.category_key, category, &wanted).await?;
    tracing::info!(category = %panel.category_key, "re-posted a panel deleted by hand");
    Ok(())
}

/// Syncs one category under its cross-replica lock, so two replicas never both post its panel.
async fn sync_category_locked(
    ctx: &Context,
    key: &str,
    category: &Category,
) -> Result<PanelAction> {
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, key).await?;
    let action = sync_category(ctx, key, category, true).await;
    lock.release().await;
    action
}

async fn remove_panel_locked(ctx: &Context, panel: &Panel) -> Result<()> {
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, &panel.category_key).await?;
    // Another replica may have removed it (or the category came back) meanwhile.
    let removed = match store::panel(&ctx.pool, ctx.application_id, &panel.category_key).await {
        Ok(Some(current)) if current == *panel => remove_panel(ctx, panel).await,
        Ok(_) => Ok(()),
        Err(error) => Err(error.into()),
    };
    lock.release().await;
    removed
}

async fn sync_category(
    ctx: &Context,
    key: &str,
    category: &Category,
    check_exists: bool,
) -> Result<PanelAction> {
    let wanted = messages::panel_message(key, category);
    let channel = category.create_channel_id;
    let Some(stored) = store::panel(&ctx.pool, ctx.application_id, key).await? else {
        post_panel(ctx, key, category, &wanted).await?;
        return Ok(PanelAction::Posted);
    };
    if stored.channel_id != channel {
        remove_message(ctx, stored.channel_id, stored.message_id).await?;
        post_panel(ctx, key, category, &wanted).await?;
        return Ok(PanelAction::Posted);
    }
    if stored.content_hash != wanted.content_hash {
        let edited = ctx
            .rest(
                DiscordCall::EditPanel,
                ctx.http
                    .update_message(stored.channel_id, stored.message_id)
                    .content(Some(&wanted.content))
                    .components(Some(&wanted.components)),
            )
            .await;
        return match edited {
            Ok(_) => {
                store::save_panel(
                    &ctx.pool,
                    ctx.application_id,
                    &Panel {
                        content_hash: wanted.content_hash.clone(),
                        ..stored
                    },
                )
                .await?;
                Ok(PanelAction::Edited)
            }
            Err(error) if error.is_unknown_resource() => {
                post_panel(ctx, key, category, &wanted).await?;
                Ok(PanelAction::Posted)
            }
            Err(error) => Err(error),
        };
    }
    if check_exists {
        let found = ctx
            .rest(
                DiscordCall::ReadPanel,
                ctx.http.message(stored.channel_id, stored.message_id),
            )
            .await;
        match found {
            Err(error) if error.is_unknown_resource() => {
                post_panel(ctx, key, category, &wanted).await?;
                return Ok(PanelAction::Posted);
            }
            Err(error) => return Err(error),
            Ok(_) => {}
        }
    }
    Ok(PanelAction::Unchanged)
}

async fn post_panel(
    ctx: &Context,
    key: &str,
    category: &Category,
    wanted: &PanelMessage,
) -> Result<()> {
    let (channel, guild) = (category.create_channel_id, category.guild_id);
    let message = ctx
        .rest_model(
            DiscordCall::PostPanel,
            ctx.http
                .create_message(channel)
                .content(&wanted.content)
                .components(&wanted.components),
        )
        .await?;
    store::save_panel(
        &ctx.pool,
        ctx.application_id,
        &Panel {
            category_key: key.to_owned(),
            guild_id: guild,
            channel_id: channel,
            message_id: message.id,
            content_hash: wanted.content_hash.clone(),
        },
    )
    .await?;
    Ok(())
}

async fn remove_panel(ctx: &Context, panel: &Panel) -> Result<()> {
    remove_message(ctx, panel.channel_id, panel.message_id).await?;
    store::delete_panel(&ctx.pool, ctx.application_id, &panel.category_key).await?;
    Ok(())
}

async fn remove_message(
    ctx: &Context,
    channel: Id<ChannelMarker>,
    message: Id<MessageMarker>,
) -> Result<()> {
    let deleted = ctx
        .rest(
            DiscordCall::DeletePanel,
            ctx.http.delete_message(channel, message),
        )
        .await;
    match deleted {
        // Already gone (deleted by hand, or its channel was): nothing left to remove.
        Err(error) if !error.is_unknown_resource() => Err(error),
        _ => Ok(()),
    }
}
