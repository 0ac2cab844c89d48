//! Panels: the messages with the open buttons (or the select menu), one per category of its own
//! and one per shared panel ([`plan`]), kept in line with the config.
//!
//! Posted when missing, edited in place when its text or components change (a panel keeps its
//! message across reloads, also when categories join or leave it), re-posted at once when
//! someone deletes it, deleted when the config no longer asks for it. Syncs run one at a time.

pub(crate) mod plan;

use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker};

use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::messages::{self, PanelMessage};
use crate::store::{self, Panel};
use plan::PanelPlan;

/// What a sync did to one panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanelAction {
    /// Posted a new panel message.
    Posted,
    /// Edited the existing message in place.
    Edited,
    /// Nothing to do.
    Unchanged,
}

/// Brings every panel in line with the config, and deletes the panels it no longer asks for.
/// Failures are logged per panel and do not stop the others.
pub(crate) async fn sync_all(ctx: &Context) {
    let _one_at_a_time = ctx.panel_sync.lock().await;
    let config = ctx.config();
    let plans = plan::plan_panels(&config.categories);
    for plan in plans.values() {
        if !plan.left_off.is_empty() {
            tracing::warn!(
                panel = %plan.key,
                left_off = ?plan.left_off,
                "a panel shows at most {} categories; these are left off",
                plan::MAX_ENTRIES
            );
        }
        match sync_panel_locked(ctx, plan).await {
            Ok(action) => tracing::debug!(panel = %plan.key, ?action, "panel synced"),
            Err(error) => tracing::warn!(
                panel = %plan.key,
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
        .filter(|panel| !plans.contains_key(&panel.key))
    {
        match remove_panel_locked(ctx, &panel).await {
            Ok(()) => {
                tracing::info!(panel = %panel.key, "removed a panel the config no longer asks for");
            }
            Err(error) => tracing::warn!(
                panel = %panel.key,
                error = %ErrorChain(&error),
                "could not delete a panel the config no longer asks for"
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
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, &first_seen.key).await?;
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
    let plans = plan::plan_panels(&config.categories);
    let Some(plan) = plans.get(&panel.key) else {
        store::delete_panel(&ctx.pool, ctx.application_id, &panel.key).await?;
        return Ok(());
    };
    post_panel(ctx, plan, &messages::panel_message(plan)).await?;
    tracing::info!(panel = %panel.key, "re-posted a panel deleted by hand");
    Ok(())
}

/// Syncs one panel under its cross-replica lock, so two replicas never both post it.
async fn sync_panel_locked(ctx: &Context, plan: &PanelPlan<'_>) -> Result<PanelAction> {
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, &plan.key).await?;
    let action = sync_panel(ctx, plan, true).await;
    lock.release().await;
    action
}

async fn remove_panel_locked(ctx: &Context, panel: &Panel) -> Result<()> {
    let lock = store::lock_panel(&ctx.pool, ctx.application_id, &panel.key).await?;
    // Another replica may have removed it (or the config asks for it again) meanwhile.
    let removed = match store::panel(&ctx.pool, ctx.application_id, &panel.key).await {
        Ok(Some(current)) if current == *panel => remove_panel(ctx, panel).await,
        Ok(_) => Ok(()),
        Err(error) => Err(error.into()),
    };
    lock.release().await;
    removed
}

async fn sync_panel(
    ctx: &Context,
    plan: &PanelPlan<'_>,
    check_exists: bool,
) -> Result<PanelAction> {
    let wanted = messages::panel_message(plan);
    let Some(stored) = store::panel(&ctx.pool, ctx.application_id, &plan.key).await? else {
        post_panel(ctx, plan, &wanted).await?;
        return Ok(PanelAction::Posted);
    };
    if stored.channel_id != plan.channel_id {
        remove_message(ctx, stored.channel_id, stored.message_id).await?;
        post_panel(ctx, plan, &wanted).await?;
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
                post_panel(ctx, plan, &wanted).await?;
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
                post_panel(ctx, plan, &wanted).await?;
                return Ok(PanelAction::Posted);
            }
            Err(error) => return Err(error),
            Ok(_) => {}
        }
    }
    Ok(PanelAction::Unchanged)
}

async fn post_panel(ctx: &Context, plan: &PanelPlan<'_>, wanted: &PanelMessage) -> Result<()> {
    let message = ctx
        .rest_model(
            DiscordCall::PostPanel,
            ctx.http
                .create_message(plan.channel_id)
                .content(&wanted.content)
                .components(&wanted.components),
        )
        .await?;
    store::save_panel(
        &ctx.pool,
        ctx.application_id,
        &Panel {
            key: plan.key.clone(),
            guild_id: plan.guild_id,
            channel_id: plan.channel_id,
            message_id: message.id,
            content_hash: wanted.content_hash.clone(),
        },
    )
    .await?;
    Ok(())
}

async fn remove_panel(ctx: &Context, panel: &Panel) -> Result<()> {
    remove_message(ctx, panel.channel_id, panel.message_id).await?;
    store::delete_panel(&ctx.pool, ctx.application_id, &panel.key).await?;
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
