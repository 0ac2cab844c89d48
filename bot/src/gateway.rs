//! The gateway loop: one shard; every event is handled on the task tracker under its own span,
//! so a slow handler never holds up the next event and shutdown can wait for all of them.

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;
use tracing::Instrument as _;
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
};
use twilight_model::channel::Message;

use crate::context::Context;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::store::{self, TicketState};
use crate::uncounted::Missed;
use crate::{catch_up, close, commands, interactions, panels};

/// The intents the bot needs: guilds (channels), guild messages (counting, panel deletes) and
/// their content (transcripts).
pub(crate) const INTENTS: Intents = Intents::GUILDS
    .union(Intents::GUILD_MESSAGES)
    .union(Intents::MESSAGE_CONTENT);

const WANTED_EVENTS: EventTypeFlags = EventTypeFlags::READY
    .union(EventTypeFlags::RESUMED)
    .union(EventTypeFlags::INTERACTION_CREATE)
    .union(EventTypeFlags::CHANNEL_DELETE)
    .union(EventTypeFlags::THREAD_DELETE)
    .union(EventTypeFlags::MESSAGE_CREATE)
    .union(EventTypeFlags::MESSAGE_UPDATE)
    .union(EventTypeFlags::MESSAGE_DELETE)
    .union(EventTypeFlags::MESSAGE_DELETE_BULK)
    .union(EventTypeFlags::GUILD_DELETE)
    .union(GUILD_CHANGES);

/// Events after which `/status` reads a guild from Discord again (the GUILDS intent delivers
/// them; a member update only with the GUILD_MEMBERS intent, so the bot's own role changes are
/// otherwise seen when the cached read ages out).
const GUILD_CHANGES: EventTypeFlags = EventTypeFlags::GUILD_CREATE
    .union(EventTypeFlags::GUILD_UPDATE)
    .union(EventTypeFlags::CHANNEL_CREATE)
    .union(EventTypeFlags::CHANNEL_UPDATE)
    .union(EventTypeFlags::ROLE_CREATE)
    .union(EventTypeFlags::ROLE_UPDATE)
    .union(EventTypeFlags::ROLE_DELETE)
    .union(EventTypeFlags::MEMBER_UPDATE);

/// Runs the shard (close frames always come through, whatever the wanted events) until
/// `shutdown` resolves (then closes the gateway) or the gateway closes for good.
pub(crate) async fn run(ctx: &Arc<Context>, shutdown: impl Future<Output = ()>) -> Result<()> {
    let mut config = ConfigBuilder::new(ctx.token().to_owned(), INTENTS);
    if let Some(url) = &ctx.config().discord.gateway_url {
        config = config.proxy_url(url.clone());
    }
    let mut shard = Shard::with_config(ShardId::ONE, config.build());
    tokio::pin!(shutdown);
    // The code of the last close frame: when the shard gives up, it says why.
    let mut last_close_code = None;
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            event = shard.next_event(WANTED_EVENTS) => match event {
                // The shard has ended for good and must not be polled again (twilight panics).
                None => {
                    ctx.set_gateway_connected(false);
                    return Err(BotError::GatewayClosed(fatal_close_reason(last_close_code)));
                }
                Some(Err(error)) => tracing::warn!(error = %ErrorChain(&error), "could not receive a gateway event"),
                Some(Ok(event)) => {
                    if let Event::GatewayClose(frame) = &event {
                        last_close_code = frame.as_ref().map(|frame| frame.code);
                    }
                    dispatch(ctx, event);
                }
            },
        }
    }
    ctx.set_gateway_connected(false);
    close(&mut shard).await;
    Ok(())
}

/// What a person must fix when Discord closes the gateway with `code` for good.
///
/// See [Discord Docs/Gateway Close Event Codes].
///
/// [Discord Docs/Gateway Close Event Codes]: https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
fn fatal_close_reason(code: Option<u16>) -> String {
    match code {
        Some(4004) => "Discord refused the bot token (close code 4004, authentication failed): \
                       check DISCORD_TOKEN"
            .to_owned(),
        Some(4010) => "Discord refused the shard (close code 4010, invalid shard)".to_owned(),
        Some(4011) => "Discord requires sharding for this bot (close code 4011, sharding \
                       required): it is in too many guilds for one connection"
            .to_owned(),
        Some(4012) => "Discord refused the gateway API version (close code 4012)".to_owned(),
        Some(4013) => "Discord refused the intents the bot asked for (close code 4013, invalid \
                       intents)"
            .to_owned(),
        Some(4014) => "the Message Content intent is not enabled for this application (close \
                       code 4014, disallowed intents): enable it in the Discord Developer Portal \
                       under Bot > Privileged Gateway Intents"
            .to_owned(),
        Some(code) => format!("Discord closed the gateway for good (close code {code})"),
        None => "the gateway connection ended for good without a close code".to_owned(),
    }
}

/// Sends a close frame and waits briefly for the gateway to acknowledge it.
async fn close(shard: &mut Shard) {
    shard.close(CloseFrame::NORMAL);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        while let Some(event) = shard.next_event(EventTypeFlags::empty()).await {
            if matches!(event, Ok(Event::GatewayClose(_))) {
                break;
            }
        }
    })
    .await;
    if closed.is_err() {
        tracing::warn!("the gateway did not acknowledge the close in time");
    }
}

fn dispatch(ctx: &Arc<Context>, event: Event) {
    match event {
        Event::Ready(ready) => {
            tracing::info!("gateway connected (new session)");
            // Noted before anything else: edits and deletes made while no session was up are
            // never delivered, so older tickets are closed from their whole history.
            ctx.record_gap();
            ctx.set_gateway_connected(true);
            // A new session replays nothing (a RESUME replays missed events): messages written in
            // open tickets meanwhile are read from their history, and a panel deleted while no
            // session was up would go unnoticed, so every READY also checks all panels.
            let catching_up = Arc::clone(ctx);
            ctx.tracker.spawn(
                async move { catch_up::open_tickets(&catching_up).await }
                    .instrument(tracing::info_span!("message_catch_up")),
            );
            let registering = Arc::clone(ctx);
            let guilds: Vec<_> = ready.guilds.iter().map(|guild| guild.id).collect();
            ctx.tracker.spawn(
                async move { commands::register_commands(&registering, &guilds).await }
                    .instrument(tracing::info_span!("command_registration")),
            );
            let ctx = Arc::clone(ctx);
            ctx.tracker.clone().spawn(
                async move {
                    panels::sync_all(&ctx).await;
                    // Tickets a crash left half-made are repaired once Discord can be asked.
                    interactions::repair_stale_openings(&ctx).await;
                }
                .instrument(tracing::info_span!("panel_sync")),
            );
        }
        Event::Resumed => {
            tracing::info!("gateway session resumed");
            ctx.set_gateway_connected(true);
        }
        Event::GatewayClose(frame) => {
            tracing::warn!(?frame, "gateway connection closed; reconnecting");
            ctx.set_gateway_connected(false);
        }
        Event::InteractionCreate(interaction) => {
            let received = Instant::now();
            let span = tracing::info_span!(
                "interaction",
                id = %interaction.id,
                guild = ?interaction.guild_id,
            );
            ctx.tracker.spawn(
                interactions::handle(Arc::clone(ctx), interaction.0, received).instrument(span),
            );
        }
        Event::MessageCreate(message) => {
            let span = tracing::debug_span!("message_create", message = %message.id, channel = %message.channel_id);
            let ctx = Arc::clone(ctx);
            ctx.tracker.clone().spawn(
                async move {
                    let work = ctx.message_work.acquire().await;
                    if let Err(error) = count_message(&ctx, &message.message).await {
                        ctx.record_gap();
                        tracing::warn!(error = %ErrorChain(&error), "could not count a ticket message; trying again later");
                        keep_uncounted(&ctx, Missed::Created(message.message));
                    }
                    drop(work);
                    handled(&ctx, "MESSAGE_CREATE");
                }
                .instrument(span),
            );
        }
        Event::MessageUpdate(updated) => {
            let span = tracing::debug_span!("message_update", message = %updated.id);
            let ctx = Arc::clone(ctx);
            ctx.tracker.clone().spawn(
                async move {
                    let work = ctx.message_work.acquire().await;
                    if let Err(error) = store_edit(&ctx, &updated.0).await {
                        ctx.record_gap();
                        tracing::warn!(error = %ErrorChain(&error), "could not store an edited ticket message; trying again later");
                        keep_uncounted(&ctx, Missed::Edited(updated.0));
                    }
                    drop(work);
                    handled(&ctx, "MESSAGE_UPDATE");
                }
                .instrument(span),
            );
        }
        Event::GuildCreate(guild) => {
            ctx.guild_cache.guild_changed(guild.id());
            if let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) =
                guild.as_ref()
            {
                ctx.guild_names
                    .guild_seen(guild.id, &guild.name, &guild.roles);
                let ctx = Arc::clone(ctx);
                let (id, channels): (_, Vec<_>) =
                    (guild.id, guild.channels.iter().map(|c| c.id).collect());
                ctx.tracker.clone().spawn(async move {
                    crate::parents::forget_missing(&ctx, id, &channels).await;
                });
            }
        }
        Event::GuildUpdate(guild) => {
            ctx.guild_cache.guild_changed(guild.id);
            ctx.guild_names
                .guild_seen(guild.id, &guild.name, &guild.roles);
        }
        // Unavailable (an outage) or left: its names are read again when it comes back.
        Event::GuildDelete(guild) => ctx.guild_names.guild_gone(guild.id),
        Event::ChannelCreate(channel) => guild_channel_changed(ctx, channel.guild_id),
        Event::ChannelUpdate(channel) => guild_channel_changed(ctx, channel.guild_id),
        Event::RoleCreate(role) => {
            ctx.guild_cache.guild_changed(role.guild_id);
            ctx.guild_names.role_seen(role.guild_id, &role.role);
        }
        Event::RoleUpdate(role) => {
            ctx.guild_cache.guild_changed(role.guild_id);
            ctx.guild_names.role_seen(role.guild_id, &role.role);
        }
        Event::RoleDelete(role) => {
            ctx.guild_cache.guild_changed(role.guild_id);
            ctx.guild_names.role_deleted(role.guild_id, role.role_id);
        }
        Event::MemberUpdate(member) => ctx.guild_cache.guild_changed(member.guild_id),
        Event::ChannelDelete(deleted) => {
            guild_channel_changed(ctx, deleted.guild_id);
            if let Some(parent) = deleted.parent_id {
                ctx.full_parents.made_room(parent);
            }
            if deleted.kind == twilight_model::channel::ChannelType::GuildCategory {
                let ctx = Arc::clone(ctx);
                let channel = deleted.id;
                ctx.tracker
                    .clone()
                    .spawn(async move { crate::parents::forget_deleted(&ctx, channel).await });
            }
            spawn_close_of_deleted(ctx, deleted.id, "CHANNEL_DELETE");
        }
        // A thread-mode ticket's thread deleted by hand closes its ticket like a channel.
        Event::ThreadDelete(deleted) => spawn_close_of_deleted(ctx, deleted.id, "THREAD_DELETE"),
        Event::MessageDelete(deleted) => spawn_delete_check(ctx, vec![deleted.id]),
        Event::MessageDeleteBulk(deleted) => spawn_delete_check(ctx, deleted.ids),
        _ => {}
    }
}

fn guild_channel_changed(
    ctx: &Context,
    guild_id: Option<twilight_model::id::Id<twilight_model::id::marker::GuildMarker>>,
) {
    if let Some(guild_id) = guild_id {
        ctx.guild_cache.guild_changed(guild_id);
    }
}

/// Marks deleted ticket messages as such and re-posts a deleted panel.
/// Closes the ticket of a channel or thread deleted by hand, from its stored messages.
fn spawn_close_of_deleted(
    ctx: &Arc<Context>,
    channel_id: twilight_model::id::Id<twilight_model::id::marker::ChannelMarker>,
    event: &'static str,
) {
    let span = tracing::info_span!("channel_delete", channel = %channel_id, event);
    let ctx = Arc::clone(ctx);
    ctx.tracker.clone().spawn(
        async move {
            if let Err(error) = close::on_channel_deleted(&ctx, channel_id).await {
                tracing::warn!(error = %ErrorChain(&error), "could not close the ticket of a deleted channel");
            }
            handled(&ctx, event);
        }
        .instrument(span),
    );
}

fn spawn_delete_check(
    ctx: &Arc<Context>,
    message_ids: Vec<twilight_model::id::Id<twilight_model::id::marker::MessageMarker>>,
) {
    let ctx = Arc::clone(ctx);
    let span = tracing::debug_span!("message_delete");
    ctx.tracker.clone().spawn(
        async move {
            for message_id in message_ids {
                let work = ctx.message_work.acquire().await;
                if let Err(error) = store::mark_message_deleted(&ctx.pool, message_id).await {
                    ctx.record_gap();
                    tracing::warn!(error = %ErrorChain(&error), "could not mark a ticket message deleted");
                }
                // Re-posting a panel is Discord work, not the record's: it does not hold a permit.
                drop(work);
                if let Err(error) = panels::on_message_deleted(&ctx, message_id).await {
                    tracing::warn!(error = %ErrorChain(&error), discord_code = error.discord_code(), "could not re-post a deleted panel");
                }
            }
            handled(&ctx, "MESSAGE_DELETE");
        }
        .instrument(span),
    );
}

/// Stores an edit of a ticket message. Events are handled concurrently, so the edit of a message
/// just written can be handled before its MESSAGE_CREATE: a message not stored yet is recorded from
/// the edit (which carries the whole message), and the create then keeps the newer snapshot.
async fn store_edit(ctx: &Context, message: &Message) -> Result<()> {
    let snapshot = serde_json::to_value(message).unwrap_or(serde_json::Value::Null);
    if !store::update_message(&ctx.pool, message.id, &snapshot).await? {
        count_message(ctx, message).await?;
    }
    Ok(())
}

fn keep_uncounted(ctx: &Context, missed: Missed) {
    if !ctx.uncounted.keep(missed) {
        tracing::warn!(
            kept = crate::uncounted::MAX_KEPT,
            "too many ticket messages wait to be stored; this one is dropped (its ticket's close reads the whole history)"
        );
    }
}

/// Stores the ticket messages the database could not take when they arrived (see
/// `uncounted.rs`); those that fail again wait for the next round.
pub(crate) async fn store_uncounted(ctx: &Context) {
    let waiting = ctx.uncounted.take_all();
    if waiting.is_empty() {
        return;
    }
    let (mut stored, mut failed) = (0_usize, None);
    for missed in waiting {
        let result = match &missed {
            Missed::Created(message) => count_message(ctx, message).await,
            Missed::Edited(message) => store_edit(ctx, message).await,
        };
        match result {
            Ok(()) => stored += 1,
            Err(error) => {
                failed = Some(error);
                keep_uncounted(ctx, missed);
            }
        }
    }
    match failed {
        None => tracing::info!(
            stored,
            "stored the ticket messages the database had refused"
        ),
        Some(error) => tracing::warn!(
            stored,
            waiting = ctx.uncounted.len(),
            error = %ErrorChain(&error),
            "could not store every ticket message the database had refused; trying again later"
        ),
    }
}

/// Counts a message if it was sent in the channel of a ticket whose transcript is not stored
/// yet (what is written after that is in no transcript, and no snapshot of it is kept).
async fn count_message(ctx: &Context, message: &Message) -> Result<()> {
    if message.guild_id.is_none() {
        return Ok(());
    }
    let Some(ticket) = store::ticket_by_channel(&ctx.pool, message.channel_id).await? else {
        return Ok(());
    };
    if !matches!(
        ticket.state,
        TicketState::Opening | TicketState::Open | TicketState::Closing
    ) {
        return Ok(());
    }
    catch_up::record(ctx, ticket.id, message).await?;
    ctx.metrics.ticket_messages_seen.inc();
    crate::inactivity::on_message(ctx, &ticket, message.author.id).await?;
    Ok(())
}

/// Counts a dispatch whose handling finished (tests wait on it instead of sleeping).
fn handled(ctx: &Context, event: &str) {
    ctx.metrics.count_event_handled(event);
}

#[cfg(test)]
mod tests {
    use super::fatal_close_reason;

    #[test]
    fn each_fatal_close_code_says_what_to_fix() {
        assert!(fatal_close_reason(Some(4004)).contains("DISCORD_TOKEN"));
        assert!(fatal_close_reason(Some(4014)).contains("Message Content intent is not enabled"));
        for code in 4010..=4013 {
            assert!(
                fatal_close_reason(Some(code)).contains(&code.to_string()),
                "{code}"
            );
        }
        assert!(fatal_close_reason(None).contains("without a close code"));
    }
}
