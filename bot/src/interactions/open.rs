//! The Open button: at most the category's `maxOpenPerUser` open tickets per member and the
//! guild's cap (the database decides between racing clicks and replicas), the ticket's channel,
//! and the repair of tickets a crash left half-made.

use std::time::Duration;

use tokio::time::Instant;
use twilight_model::application::interaction::Interaction;
use twilight_model::channel::thread::AutoArchiveDuration;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, UserMarker};

use super::reply::Reply;
use super::{clicker_id, welcome};
use crate::config::Category;
use crate::context::Context;
use crate::discord_call::DiscordCall;
use crate::error::{ErrorChain, Result};
use crate::limits;
use crate::messages;
use crate::parents;
use crate::policy;
use crate::store::{self, BeginTicket, FormAnswer, NewTicket, Ticket};

/// How long a second click waits for the first click's channel to exist.
const WAIT_FOR_CHANNEL: Duration = Duration::from_secs(10);

pub(super) async fn open_ticket(
    ctx: &Context,
    interaction: &Interaction,
    category_key: &str,
    answers: Vec<FormAnswer>,
) -> Reply {
    let config = ctx.config();
    let Some(category) = config.categories.get(category_key) else {
        tracing::info!(category = %category_key, "click on the panel of a removed category");
        return Reply::CategoryRemoved;
    };
    let guild_id = category.guild_id;
    let Some(user_id) = clicker_id(interaction) else {
        return Reply::NotFromPanel;
    };
    if interaction.guild_id != Some(guild_id) {
        tracing::info!(category = %category_key, "click on a panel from another server");
        return Reply::OtherServer;
    }
    if let Some(refusal) = refusal(ctx, interaction, category_key, category, user_id).await {
        return refusal;
    }
    let opening = Opening {
        ctx,
        category_key,
        category,
        guild_id,
        user_id,
        answers,
    };
    match opening.run(interaction).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(
                category = %category_key,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                http_status = error.discord_status(),
                "could not open a ticket"
            );
            Reply::failed("create your ticket channel", &category.name, &error)
        }
    }
}

/// What to answer when the category's roles or cooldown refuse this member, if they do.
async fn refusal(
    ctx: &Context,
    interaction: &Interaction,
    category_key: &str,
    category: &Category,
    user_id: Id<UserMarker>,
) -> Option<Reply> {
    let roles = interaction
        .member
        .as_ref()
        .map_or(&[][..], |member| member.roles.as_slice());
    let mut decided = limits::check_roles(category, roles);
    if decided.is_ok() && !category.cooldown.is_zero() {
        let last =
            store::last_close_unix(&ctx.pool, ctx.application_id, category_key, user_id).await;
        match last {
            Ok(last) => {
                decided = limits::check_cooldown(
                    category.cooldown,
                    last,
                    jiff::Timestamp::now().as_second(),
                );
            }
            Err(error) => {
                tracing::warn!(category = %category_key, error = %ErrorChain(&error), "could not read the last close for the cooldown");
                return Some(Reply::failed(
                    "check when you may open again",
                    &category.name,
                    &error.into(),
                ));
            }
        }
    }
    let refusal = decided.err()?;
    tracing::info!(category = %category_key, reason = refusal.reason(), "an open refused by the category's limits");
    ctx.metrics
        .count_open_refused(category_key, refusal.reason());
    Some(Reply::Refused(refusal))
}

/// One ticket being opened.
struct Opening<'a> {
    ctx: &'a Context,
    category_key: &'a str,
    category: &'a Category,
    guild_id: Id<GuildMarker>,
    user_id: Id<UserMarker>,
    /// The answers to the category's questions (empty when it asks none).
    answers: Vec<FormAnswer>,
}

impl Opening<'_> {
    async fn run(&self, interaction: &Interaction) -> Result<Reply> {
        let ctx = self.ctx;
        let new = NewTicket {
            application_id: ctx.application_id,
            guild_id: self.guild_id,
            category_key: self.category_key.to_owned(),
            user_id: self.user_id,
            interaction_id: interaction.id,
            max_open_per_user: self.category.max_open_per_user,
            max_open_in_guild: ctx.config().max_open_tickets_per_guild,
        };
        let ticket = match store::begin_ticket(&ctx.pool, &new).await? {
            BeginTicket::Created(ticket) => ticket,
            BeginTicket::SameClick(ticket) => {
                return self.answer_held(interaction, vec![ticket], true).await;
            }
            BeginTicket::AtLimit(held) => {
                let one = self.category.max_open_per_user <= 1;
                return self.answer_held(interaction, held, one).await;
            }
            BeginTicket::GuildAtCap { cap } => {
                let refusal = limits::Refusal::GuildCap { cap };
                tracing::info!(category = %self.category_key, cap, "an open refused: the guild holds its cap of open tickets");
                ctx.metrics
                    .count_open_refused(self.category_key, refusal.reason());
                return Ok(Reply::Refused(refusal));
            }
        };
        if let Err(error) = store::save_form_answers(&ctx.pool, ticket.id, &self.answers).await {
            self.abandon(&ticket).await;
            return Err(error.into());
        }
        let channel = match self.create_channel(&ticket).await {
            Ok(channel) => channel,
            Err(error) => {
                self.abandon(&ticket).await;
                return Err(error);
            }
        };
        if let Err(error) = store::attach_channel(&ctx.pool, ticket.id, channel).await {
            // Without the row the channel is an orphan nobody can close: take it back.
            let _ = ctx
                .rest(
                    DiscordCall::DeleteOrphanedChannel,
                    ctx.http.delete_channel(channel),
                )
                .await;
            self.abandon(&ticket).await;
            return Err(error.into());
        }
        crate::inactivity::arm_opened(ctx, ticket.id, self.category_key).await;
        ctx.metrics.count_ticket_opened(self.category_key);
        crate::refresh_open_ticket_gauges(ctx).await;
        tracing::info!(ticket = ticket.id, channel = %channel, category = %self.category_key, "ticket opened");
        if let Err(error) = self.post_created_message(ticket.id, channel).await {
            // The channel works without it; staff can still talk to the user there.
            tracing::warn!(
                ticket = ticket.id,
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not post or pin the ticket's first message"
            );
        }
        Ok(Reply::Opened(channel))
    }

    /// The answer when the member's tickets stand in the way of a new one (this click's own
    /// ticket, delivered twice, or as many as the category allows): a ticket a crash left
    /// half-made is repaired (and the open tried again when it cannot be); otherwise the member
    /// is shown the one ticket (`one`, once its channel exists) or the tickets they hold.
    async fn answer_held(
        &self,
        interaction: &Interaction,
        held: Vec<Ticket>,
        one: bool,
    ) -> Result<Reply> {
        if let Some(stale) = held.iter().find(|ticket| is_stale_opening(ticket)) {
            return match repair_opening(self.ctx, stale).await? {
                Some(channel) => Ok(Reply::Opened(channel)),
                None => Box::pin(self.run(interaction)).await,
            };
        }
        if one && let Some(ticket) = held.first().cloned() {
            return Ok(match wait_for_channel(self.ctx, ticket).await? {
                Some(channel) => Reply::AlreadyOpen(channel),
                None => Reply::OpenFailedElsewhere,
            });
        }
        Ok(Reply::AtLimit {
            limit: self.category.max_open_per_user,
            channels: held.iter().filter_map(|ticket| ticket.channel_id).collect(),
        })
    }

    async fn create_channel(&self, ticket: &Ticket) -> Result<Id<ChannelMarker>> {
        if self.category.thread_mode {
            return self.create_thread(ticket).await;
        }
        let ctx = self.ctx;
        let overwrites = policy::ticket_overwrites(&policy::TicketAccess {
            guild_id: self.guild_id,
            creator: self.user_id,
            roles: &self.category.role_ids,
            added: &[],
            claimer: None,
            claim_locks_writing: self.category.claim_locks_writing,
            bot: ctx.bot_user_id,
        });
        let name = messages::ticket_channel_name(ticket.id);
        let topic =
            messages::ticket_channel_topic(ticket.id, self.user_id, &self.category.name, None);
        let (name, topic, overwrites) = (&name, &topic, &overwrites);
        parents::into_first_with_room(
            ctx,
            self.guild_id,
            self.category_key,
            self.category,
            |parent| async move {
                let request = ctx
                    .http
                    .create_guild_channel(self.guild_id, name)
                    .kind(twilight_model::channel::ChannelType::GuildText)
                    .permission_overwrites(overwrites)
                    .topic(topic)
                    .parent_id(parent);
                let created = ctx
                    .rest_model(DiscordCall::CreateTicketChannel, request)
                    .await?;
                Ok(created.id)
            },
        )
        .await
    }

    /// A thread-mode ticket: a private thread of the panel's channel that only its members
    /// and those who may manage threads there see, with its creator as a member. Members
    /// cannot invite others, and it archives only after a week without a message (Discord's
    /// longest), since a ticket may wait that long for an answer.
    async fn create_thread(&self, ticket: &Ticket) -> Result<Id<ChannelMarker>> {
        let ctx = self.ctx;
        let name = messages::ticket_channel_name(ticket.id);
        let request = ctx
            .http
            .create_thread(
                self.category.create_channel_id,
                &name,
                twilight_model::channel::ChannelType::PrivateThread,
            )
            .auto_archive_duration(AutoArchiveDuration::Week)
            .invitable(false);
        let thread = ctx
            .rest_model(DiscordCall::CreateTicketThread, request)
            .await?
            .id;
        let added = ctx
            .rest(
                DiscordCall::AddThreadMember,
                ctx.http.add_thread_member(thread, self.user_id),
            )
            .await;
        if let Err(error) = added {
            // A thread its creator cannot see is of no use: take it back.
            let _ = ctx
                .rest(
                    DiscordCall::DeleteOrphanedChannel,
                    ctx.http.delete_channel(thread),
                )
                .await;
            return Err(error);
        }
        Ok(thread)
    }

    async fn post_created_message(&self, ticket_id: i64, channel: Id<ChannelMarker>) -> Result<()> {
        welcome::post_created_message(self.ctx, ticket_id, self.user_id, self.category, channel)
            .await
    }

    async fn abandon(&self, ticket: &Ticket) {
        if let Err(error) = store::abandon_opening(&self.ctx.pool, ticket.id).await {
            tracing::error!(ticket = ticket.id, error = %ErrorChain(&error), "could not abandon a ticket whose channel failed");
        }
    }
}

/// How old an `opening` ticket must be to count as left behind by a crash: creating a channel
/// takes one Discord request (10 s at most), so a live open is long done by then.
const STALE_OPENING: Duration = Duration::from_mins(1);

fn is_stale_opening(ticket: &Ticket) -> bool {
    let age_micros = jiff::Timestamp::now().as_microsecond() - ticket.created_at.as_micros();
    let stale_micros = i64::try_from(STALE_OPENING.as_micros()).unwrap_or(i64::MAX);
    ticket.state == store::TicketState::Opening && age_micros > stale_micros
}

/// Repairs a ticket a crash left `opening`: adopts the channel Discord did create (found by its
/// name and topic), posting its first message, or frees the row so the user can open again.
/// Returns the adopted channel.
pub(crate) async fn repair_opening(
    ctx: &Context,
    ticket: &Ticket,
) -> Result<Option<Id<ChannelMarker>>> {
    let name = messages::ticket_channel_name(ticket.id);
    let config = ctx.config();
    let thread_parent = config
        .categories
        .get(&ticket.category_key)
        .filter(|category| category.thread_mode)
        .map(|category| category.create_channel_id);
    // A thread has no topic: its name (the ticket number) in the panel's channel, made by the
    // bot, identifies it.
    let created = if let Some(parent) = thread_parent {
        ctx.rest_model(
            DiscordCall::FindCreatedThread,
            ctx.http.active_threads(ticket.guild_id),
        )
        .await?
        .threads
        .into_iter()
        .find(|thread| {
            thread.name.as_deref() == Some(name.as_str())
                && thread.parent_id == Some(parent)
                && thread.owner_id == Some(ctx.bot_user_id)
        })
    } else {
        let topic_start = messages::ticket_channel_topic_start(ticket.id, ticket.user_id);
        ctx.rest_list(
            DiscordCall::FindCreatedChannel,
            ctx.http.guild_channels(ticket.guild_id),
        )
        .await?
        .into_iter()
        .find(|channel| {
            channel.name.as_deref() == Some(name.as_str())
                && channel
                    .topic
                    .as_deref()
                    .is_some_and(|topic| topic.starts_with(&topic_start))
        })
    };
    let Some(channel) = &created else {
        store::abandon_opening(&ctx.pool, ticket.id).await?;
        tracing::info!(
            ticket = ticket.id,
            "freed a ticket left opening without a channel"
        );
        return Ok(None);
    };
    if thread_parent.is_some() {
        // The crash may have come before the creator was added; adding again changes nothing.
        ctx.rest(
            DiscordCall::AddThreadMember,
            ctx.http.add_thread_member(channel.id, ticket.user_id),
        )
        .await?;
    }
    store::attach_channel(&ctx.pool, ticket.id, channel.id).await?;
    crate::inactivity::arm_opened(ctx, ticket.id, &ticket.category_key).await;
    tracing::info!(ticket = ticket.id, channel = %channel.id, "adopted the channel of a ticket left opening");
    if let Some(category) = config.categories.get(&ticket.category_key)
        && let Err(error) =
            welcome::post_created_message(ctx, ticket.id, ticket.user_id, category, channel.id)
                .await
    {
        tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not post the adopted ticket's first message");
    }
    Ok(Some(channel.id))
}

/// Repairs every ticket a crash left `opening` (at startup, once the gateway is up).
pub(crate) async fn repair_stale_openings(ctx: &Context) {
    let stale = match store::stale_openings(&ctx.pool, ctx.application_id, STALE_OPENING).await {
        Ok(stale) => stale,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "could not list tickets left opening");
            return;
        }
    };
    for ticket in stale {
        if let Err(error) = repair_opening(ctx, &ticket).await {
            tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not repair a ticket left opening");
        }
    }
}

/// Waits for a ticket another click is opening to get its channel; `None` when that open failed.
async fn wait_for_channel(ctx: &Context, ticket: Ticket) -> Result<Option<Id<ChannelMarker>>> {
    if let Some(channel) = ticket.channel_id {
        return Ok(Some(channel));
    }
    let give_up = Instant::now() + WAIT_FOR_CHANNEL;
    while Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match store::ticket(&ctx.pool, ticket.id).await? {
            Some(current) if current.channel_id.is_some() => return Ok(current.channel_id),
            Some(current) if current.state.is_open() => {}
            // Abandoned (the channel could not be created) or already closing.
            _ => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use twilight_model::application::interaction::Interaction;

    use super::*;
    use crate::context::test_context;

    const GUILD: u64 = 200_000_000_000_000_001;

    fn config() -> String {
        format!(
            r#"privatebin:
  url: "https://paste.example/"
categories:
  support:
    guildId: "{GUILD}"
    name: Support
    parentChannelId: "300000000000000001"
    createChannelId: "300000000000000002"
    roleIds: ["400000000000000001"]
    logChannelId: "300000000000000003"
    createMessage: "Need help?"
    createdMessage: "Someone will be with you shortly."
"#
        )
    }

    /// A click on a panel button as Discord sends it, in guild `guild`.
    fn click(guild: u64, custom_id: &str) -> Interaction {
        serde_json::from_value(serde_json::json!({
            "id": "900000000000000001",
            "application_id": "1000000000000000001",
            "type": 3,
            "token": "interaction-token",
            "version": 1,
            "guild_id": guild.to_string(),
            "channel": {"id": "300000000000000002", "type": 0},
            "channel_id": "300000000000000002",
            "member": {
                "user": {"id": "500000000000000001", "username": "alice", "discriminator": "0"},
                "roles": [],
                "joined_at": "2026-01-01T00:00:00.000000+00:00",
                "deaf": false,
                "mute": false,
                "flags": 0,
                "permissions": "1024"
            },
            "data": {"custom_id": custom_id, "component_type": 2},
            "entitlements": [],
            "authorizing_integration_owners": {},
            "app_permissions": "0",
            "attachment_size_limit": 10_u64 << 20
        }))
        .expect("a component interaction")
    }

    #[tokio::test]
    async fn a_click_on_a_removed_categorys_panel_is_answered_without_io() {
        let ctx = test_context(&config());
        let reply = open_ticket(
            &ctx,
            &click(GUILD, "ticketeer:open:gone"),
            "gone",
            Vec::new(),
        )
        .await;
        assert_eq!(reply, Reply::CategoryRemoved);
    }

    #[tokio::test]
    async fn a_click_on_another_servers_panel_is_refused_without_io() {
        let ctx = test_context(&config());
        let reply = open_ticket(
            &ctx,
            &click(GUILD + 1, "ticketeer:open:support"),
            "support",
            Vec::new(),
        )
        .await;
        assert_eq!(reply, Reply::OtherServer);
    }

    #[tokio::test]
    async fn with_the_database_unreachable_the_clicker_is_told_to_try_again() {
        let ctx = test_context(&config());
        let reply = open_ticket(
            &ctx,
            &click(GUILD, "ticketeer:open:support"),
            "support",
            Vec::new(),
        )
        .await;
        assert!(
            matches!(
                reply,
                Reply::Failed {
                    cause: super::super::reply::FailureCause::DatabaseDown,
                    ..
                }
            ),
            "{reply:?}"
        );
    }
}
