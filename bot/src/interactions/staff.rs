//! The staff tools on an open ticket: adding and removing people, claiming (command or button),
//! renaming and moving. The database is changed first, with a conditional update that makes a
//! repeated command change nothing; then Discord is brought in line with it: the channel's
//! permission overwrites are compared with what the ticket's row says they should be, and only
//! the ones that differ are written, so running a command again also repairs an edit that failed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use twilight_model::application::interaction::Interaction;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::channel::permission_overwrite::{PermissionOverwrite, PermissionOverwriteType};
use twilight_model::http::permission_overwrite::{
    PermissionOverwrite as HttpOverwrite, PermissionOverwriteType as HttpOverwriteType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, UserMarker};

use super::reply::Reply;
use super::{acting_user, clicked_channel};
use crate::commands::TicketCommand;
use crate::config::{Category, Config};
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{DiscordProblem, ErrorChain, Result};
use crate::messages;
use crate::parents;
use crate::policy::{self, Action, OverwriteChange, TicketAccess};
use crate::store::{self, ClaimChange, MoveOutcome, Ticket};

/// How long a rename may wait for Discord: a channel may be renamed twice per 10 minutes, and a
/// rename over that limit would otherwise wait in the rate limiter for minutes.
const RENAME_PATIENCE: Duration = Duration::from_secs(10);

/// Runs a slash command in the channel it was used in.
pub(super) async fn run_command(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    command: TicketCommand,
) -> Reply {
    match try_command(ctx, interaction, command).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), discord_code = error.discord_code(), "a ticket command failed");
            Reply::failed("do this", "this", &error)
        }
    }
}

async fn try_command(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    command: TicketCommand,
) -> Result<Reply> {
    let Some(channel) = clicked_channel(interaction) else {
        return Ok(Reply::NotInTicket);
    };
    let Some(ticket) =
        store::open_ticket_in_channel(&ctx.pool, ctx.application_id, channel).await?
    else {
        return Ok(Reply::NotInTicket);
    };
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let action = match command {
        TicketCommand::Close { .. } => Action::Close,
        _ => Action::StaffTool,
    };
    let user = match acting_user(interaction, &ticket, category, action) {
        Ok(user) => user,
        Err(reply) => return Ok(reply),
    };
    if let TicketCommand::Close { reason } = &command {
        return super::close::begin_close(ctx, &ticket, user, reason.as_deref()).await;
    }
    let Some(category) = category else {
        return Ok(Reply::CategoryRemoved);
    };
    tracing::info!(ticket = ticket.id, user = %user, ?command, "ticket command");
    match command {
        TicketCommand::Add { user, is_member } => {
            add(ctx, &ticket, category, channel, user, is_member).await
        }
        TicketCommand::Remove { user } => remove(ctx, &ticket, category, channel, user).await,
        TicketCommand::Claim => claim(ctx, &ticket, category, channel, Some(user)).await,
        TicketCommand::Unclaim => claim(ctx, &ticket, category, channel, None).await,
        TicketCommand::RequestClose { reason } => {
            super::close::request_close(ctx, &ticket, category, channel, user, reason).await
        }
        TicketCommand::Rename { name } => rename(ctx, channel, &name).await,
        TicketCommand::Move { category: wanted } => {
            move_to(ctx, &config, &ticket, channel, &wanted).await
        }
        TicketCommand::Close { .. } => unreachable!("handled above"),
    }
}

/// The Claim (or Unclaim) button on a ticket's first message.
pub(super) async fn claim_button(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
    claiming: bool,
) -> Reply {
    let handled = async {
        let ticket = match super::ticket_of_button(ctx, interaction, ticket_id).await? {
            Ok(ticket) => ticket,
            Err(reply) => return Ok(reply),
        };
        let config = ctx.config();
        let category = config.categories.get(&ticket.category_key);
        let user = match acting_user(interaction, &ticket, category, Action::StaffTool) {
            Ok(user) => user,
            Err(reply) => return Ok(reply),
        };
        let (Some(category), Some(channel)) = (category, ticket.channel_id) else {
            return Ok(Reply::CategoryRemoved);
        };
        claim(ctx, &ticket, category, channel, claiming.then_some(user)).await
    };
    match handled.await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not change a ticket's claim");
            Reply::failed("change the claim", "this", &error)
        }
    }
}

/// Who may see and write in `ticket`'s channel, as its row says.
fn access<'a>(ctx: &Context, ticket: &'a Ticket, category: &'a Category) -> TicketAccess<'a> {
    TicketAccess {
        guild_id: ticket.guild_id,
        creator: ticket.user_id,
        roles: &category.role_ids,
        added: &ticket.additional_users,
        claimer: ticket.claimed_by,
        claim_locks_writing: category.claim_locks_writing,
        bot: ctx.bot_user_id,
    }
}

/// Brings the channel's overwrites from what the row `before` implied to what `after` implies:
/// the overwrites the ticket manages (those of either) are read from Discord and only the ones
/// that differ are written. Overwrites someone added by hand for others are left alone.
async fn apply_access(
    ctx: &Context,
    channel: Id<ChannelMarker>,
    category: &Category,
    before: &Ticket,
    after: &Ticket,
) -> Result<()> {
    if category.thread_mode {
        return apply_thread_members(ctx, channel, before, after).await;
    }
    let (before, after) = (
        policy::ticket_overwrites(&access(ctx, before, category)),
        policy::ticket_overwrites(&access(ctx, after, category)),
    );
    let current = ctx
        .rest_model(DiscordCall::ReadTicketAccess, ctx.http.channel(channel))
        .await?
        .permission_overwrites
        .unwrap_or_default();
    let managed: Vec<PermissionOverwrite> = current
        .into_iter()
        .filter(|overwrite| {
            before
                .iter()
                .chain(&after)
                .any(|ours| ours.id == overwrite.id)
        })
        .collect();
    for change in policy::overwrite_changes(&managed, &after) {
        match change {
            OverwriteChange::Put(overwrite) => {
                let edit = HttpOverwrite {
                    allow: Some(overwrite.allow),
                    deny: Some(overwrite.deny),
                    id: overwrite.id,
                    kind: match overwrite.kind {
                        PermissionOverwriteType::Role => HttpOverwriteType::Role,
                        _ => HttpOverwriteType::Member,
                    },
                };
                ctx.rest(
                    DiscordCall::EditTicketAccess,
                    ctx.http.update_channel_permission(channel, &edit),
                )
                .await?;
            }
            OverwriteChange::Delete(overwrite) => {
                let delete = ctx.http.delete_channel_permission(channel);
                let request = match overwrite.kind {
                    PermissionOverwriteType::Role => delete.role(overwrite.id.cast()),
                    _ => delete.member(overwrite.id.cast()),
                };
                ctx.rest(DiscordCall::RemoveTicketAccess, request).await?;
            }
        }
    }
    Ok(())
}

/// A thread has no overwrites: who may see a thread-mode ticket is who is a member of its
/// thread, so the people added and removed join and leave it (the creator and the bot always
/// are; staff see it through Manage Threads).
async fn apply_thread_members(
    ctx: &Context,
    thread: Id<ChannelMarker>,
    before: &Ticket,
    after: &Ticket,
) -> Result<()> {
    for &user in &after.additional_users {
        if !before.additional_users.contains(&user) {
            unarchiving(ctx, thread, || {
                ctx.rest(
                    DiscordCall::AddThreadMember,
                    ctx.http.add_thread_member(thread, user),
                )
            })
            .await?;
        }
    }
    for &user in &before.additional_users {
        if !after.additional_users.contains(&user) {
            unarchiving(ctx, thread, || {
                ctx.rest(
                    DiscordCall::RemoveThreadMember,
                    ctx.http.remove_thread_member(thread, user),
                )
            })
            .await?;
        }
    }
    Ok(())
}

/// Makes a change to a ticket's channel or thread. Discord archives a thread left a week without
/// messages, and an archived thread refuses member and name changes (50083): it is unarchived
/// then, and the change made once more.
async fn unarchiving<T, Change, Changed>(
    ctx: &Context,
    channel: Id<ChannelMarker>,
    change: Change,
) -> Result<T>
where
    Change: Fn() -> Changed,
    Changed: Future<Output = Result<T>>,
{
    match change().await {
        Err(error) if error.discord_problem() == Some(DiscordProblem::ThreadArchived) => {
            ctx.rest(
                DiscordCall::UnarchiveThread,
                ctx.http.update_thread(channel).archived(false),
            )
            .await?;
            change().await
        }
        done => done,
    }
}

async fn add(
    ctx: &Context,
    ticket: &Ticket,
    category: &Category,
    channel: Id<ChannelMarker>,
    user: Id<UserMarker>,
    is_member: bool,
) -> Result<Reply> {
    if user == ticket.user_id || user == ctx.bot_user_id {
        return Ok(Reply::HasAccessAnyway(user));
    }
    if !is_member {
        return Ok(Reply::NotAMember(user));
    }
    let Some(after) = store::set_added_user(&ctx.pool, ticket.id, user, true).await? else {
        return Ok(Reply::AlreadyClosing);
    };
    apply_access(ctx, channel, category, ticket, &after).await?;
    Ok(Reply::Added(user))
}

async fn remove(
    ctx: &Context,
    ticket: &Ticket,
    category: &Category,
    channel: Id<ChannelMarker>,
    user: Id<UserMarker>,
) -> Result<Reply> {
    if user == ticket.user_id {
        return Ok(Reply::CannotRemoveCreator);
    }
    let was_added = ticket.additional_users.contains(&user);
    let Some(after) = store::set_added_user(&ctx.pool, ticket.id, user, false).await? else {
        return Ok(Reply::AlreadyClosing);
    };
    // Also when they were not added: an earlier remove may have failed halfway at Discord.
    apply_access(ctx, channel, category, ticket, &after).await?;
    Ok(if was_added {
        Reply::Removed(user)
    } else {
        Reply::NotAdded(user)
    })
}

/// Claims the ticket for `claimer`, or gives the claim up (`None`).
async fn claim(
    ctx: &Context,
    ticket: &Ticket,
    category: &Category,
    channel: Id<ChannelMarker>,
    claimer: Option<Id<UserMarker>>,
) -> Result<Reply> {
    let (after, changed) = match store::set_claim(&ctx.pool, ticket.id, claimer).await? {
        ClaimChange::Changed(after) => (after, true),
        ClaimChange::Unchanged(after) => (after, false),
        ClaimChange::ClaimedByOther(holder) => return Ok(Reply::ClaimedByOther(holder)),
        ClaimChange::NotOpen => return Ok(Reply::AlreadyClosing),
    };
    apply_access(ctx, channel, category, ticket, &after).await?;
    if changed {
        show_claim(ctx, &after, category, channel).await;
    }
    Ok(match (claimer, changed) {
        (Some(_), _) => Reply::Claimed,
        (None, true) => Reply::Unclaimed,
        (None, false) => Reply::NotClaimed,
    })
}

/// Shows the claim in the first message and the channel topic. Neither is needed for the claim
/// to hold, so a failure is only logged: the next claim change writes both again.
async fn show_claim(
    ctx: &Context,
    ticket: &Ticket,
    category: &Category,
    channel: Id<ChannelMarker>,
) {
    match store::welcome_message(&ctx.pool, ticket.id).await {
        Ok(Some(message)) => {
            let welcome =
                messages::created_message(ticket.id, ticket.user_id, category, ticket.claimed_by);
            let no_pings = AllowedMentions::default();
            let edited = ctx
                .rest(
                    DiscordCall::EditWelcome,
                    ctx.http
                        .update_message(channel, message)
                        .content(Some(&welcome.content))
                        .components(Some(&welcome.components))
                        .allowed_mentions(Some(&no_pings)),
                )
                .await;
            if let Err(error) = edited {
                tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not show the claim in the first message");
            }
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not find the first message to show the claim");
        }
    }
    retopic(ctx, ticket, category, channel).await;
}

/// Writes the channel topic the ticket's row implies. Discord allows two topic or name changes
/// per channel in 10 minutes; past that the rate limiter would hold the request for minutes, so
/// it gets a short wait, and a topic left behind is only logged (it is informative).
async fn retopic(ctx: &Context, ticket: &Ticket, category: &Category, channel: Id<ChannelMarker>) {
    if category.thread_mode {
        // A thread has no topic; the first message shows the claim.
        return;
    }
    let topic = messages::ticket_channel_topic(
        ticket.id,
        ticket.user_id,
        &category.name,
        ticket.claimed_by,
    );
    let retopic = ctx.rest(
        DiscordCall::EditTicketChannel,
        ctx.http.update_channel(channel).topic(&topic),
    );
    match tokio::time::timeout(RENAME_PATIENCE, retopic).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not update the channel topic");
        }
        Err(_) => {
            tracing::info!(
                ticket = ticket.id,
                "Discord's limit on topic changes held the new topic; it stays as it was"
            );
        }
    }
}

/// Puts the ticket channel under the first of the category's parents with room (creating one if
/// allowed), with the category's overwrites. One edit each: the parent and the whole overwrite
/// set, so the old roles lose access exactly when the new ones gain it. The topic (which names
/// the category) is its own edit, because Discord limits topic changes and a parent change must
/// not wait for that.
async fn move_channel(
    ctx: &Context,
    channel: Id<ChannelMarker>,
    (to_key, to): (&str, &Category),
    overwrites: &[PermissionOverwrite],
) -> Result<()> {
    parents::into_first_with_room(ctx, to.guild_id, to_key, to, |parent| async move {
        ctx.rest(
            DiscordCall::EditTicketChannel,
            ctx.http
                .update_channel(channel)
                .parent_id(Some(parent))
                .permission_overwrites(overwrites),
        )
        .await
        .map(drop)
    })
    .await
}

async fn rename(ctx: &Context, channel: Id<ChannelMarker>, name: &str) -> Result<Reply> {
    let renamed = unarchiving(ctx, channel, || {
        ctx.rest(
            DiscordCall::EditTicketChannel,
            ctx.http.update_channel(channel).name(name),
        )
    });
    match tokio::time::timeout(RENAME_PATIENCE, renamed).await {
        Ok(Ok(_)) => Ok(Reply::Renamed),
        Ok(Err(error)) if error.discord_status() == Some(429) => Ok(Reply::RenameLimited),
        Ok(Err(error)) => Err(error),
        Err(_) => Ok(Reply::RenameLimited),
    }
}

/// Moves the ticket to another category of the same server: the row first (the category's
/// maximum of open tickets per member still holds), then the channel's parent and the new roles'
/// access.
async fn move_to(
    ctx: &Context,
    config: &Config,
    ticket: &Ticket,
    channel: Id<ChannelMarker>,
    wanted: &str,
) -> Result<Reply> {
    let found = config
        .categories
        .iter()
        .filter(|(_, category)| category.guild_id == ticket.guild_id)
        .find(|(key, category)| *key == wanted || category.name.eq_ignore_ascii_case(wanted));
    let Some((key, to)) = found else {
        return Ok(Reply::UnknownCategory(wanted.to_owned()));
    };
    if *key == ticket.category_key {
        return Ok(Reply::AlreadyInCategory);
    }
    let from = config.categories.get(&ticket.category_key);
    let from_thread_channel = from
        .filter(|from| from.thread_mode)
        .map(|from| from.create_channel_id);
    let to_thread_channel = to.thread_mode.then_some(to.create_channel_id);
    if from_thread_channel != to_thread_channel {
        // A thread cannot leave its channel, nor a channel become a thread.
        return Ok(Reply::MoveAcrossThreadMode);
    }
    let after = match store::move_ticket(&ctx.pool, ticket.id, key, to.max_open_per_user).await? {
        MoveOutcome::Moved(after) => *after,
        MoveOutcome::CreatorAtLimitThere => {
            return Ok(Reply::CreatorAtLimitThere {
                limit: to.max_open_per_user,
            });
        }
        MoveOutcome::NotOpen => return Ok(Reply::AlreadyClosing),
    };
    let overwrites = policy::ticket_overwrites(&access(ctx, &after, to));
    let moved = if to.thread_mode {
        // The same thread serves: who is in it does not depend on the category.
        Ok(())
    } else {
        move_channel(ctx, channel, (key, to), &overwrites).await
    };
    if let Err(error) = moved {
        // The channel stayed where it was: so does the ticket, as far as the slots allow.
        if let Some(from) = from {
            let back = store::move_ticket(
                &ctx.pool,
                ticket.id,
                &ticket.category_key,
                from.max_open_per_user,
            )
            .await;
            if !matches!(back, Ok(MoveOutcome::Moved(_))) {
                tracing::warn!(
                    ticket = ticket.id,
                    "a move whose channel edit failed left the ticket in the new category"
                );
            }
        }
        return Err(error);
    }
    retopic(ctx, &after, to, channel).await;
    crate::refresh_open_ticket_gauges(ctx).await;
    Ok(Reply::Moved {
        category: to.name.clone(),
    })
}
