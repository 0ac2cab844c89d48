//! Button clicks: acknowledge at once, claim, then do the work and edit the answer.
//!
//! Discord fails any interaction not acknowledged within 3 seconds, so nothing comes before the
//! acknowledgement: no database query (a slow or unreachable database must not cost the click),
//! no shared rate-limit queue (callbacks go through [`Context::interaction_http`]). Discord
//! accepts one acknowledgement per interaction and answers a second with 40060, so when two
//! replicas (or a redelivered event) race for a click, the loser learns it from Discord and stops.
//! The claim in the database afterwards records the click as handled. The answer is always
//! ephemeral: only the clicker sees it.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::guild::Permissions;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, GuildMarker, MessageMarker, UserMarker};

use ticketeer_config::CategoryConfig;

use crate::builders::{self, Clicker};
use crate::close;
use crate::context::Context;
use crate::custom_id::CustomId;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::metrics::Metrics;
use crate::retries::Retries;
use crate::store::{self, BeginTicket, NewTicket, Ticket};

const CALLBACK_ROUTE: &str = "POST /interactions/{interaction_id}/{interaction_token}/callback";
const EDIT_ORIGINAL_ROUTE: &str =
    "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";
/// Discord's "Interaction has already been acknowledged".
const ALREADY_ACKNOWLEDGED: u64 = 40060;
/// How long a second click waits for the first click's channel to exist.
const WAIT_FOR_CHANNEL: Duration = Duration::from_secs(10);

/// Handles one INTERACTION_CREATE received at `received`.
pub async fn handle(ctx: Arc<Context>, interaction: Interaction, received: Instant) {
    let Some(InteractionData::MessageComponent(data)) = &interaction.data else {
        // The bot registers no commands or modals; nothing else is addressed to it.
        tracing::debug!(kind = ?interaction.kind, "ignoring an interaction that is not a button");
        return;
    };
    let custom_id = data.custom_id.clone();
    if !acknowledge(&ctx, &interaction, received).await {
        return;
    }
    match store::claim_interaction(&ctx.pool, interaction.id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("interaction already handled (by another replica or a redelivery)");
            return;
        }
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "could not claim the interaction; answering without doing anything");
            let message = BotError::from(error).user_message("handle your click", "this");
            edit_answer(&ctx, &interaction, &message).await;
            return;
        }
    }
    let reply = match CustomId::parse(&custom_id) {
        Err(unknown) => {
            tracing::info!(custom_id = %unknown.custom_id, "click on an unknown or stale button");
            unknown.user_message().to_owned()
        }
        Ok(CustomId::Open { category_key }) => open_ticket(&ctx, &interaction, &category_key).await,
        Ok(CustomId::Close { ticket_id }) => close_ticket(&ctx, &interaction, ticket_id).await,
    };
    edit_answer(&ctx, &interaction, &reply).await;
}

/// Sends the deferred ephemeral acknowledgement; `false` when Discord refused it.
async fn acknowledge(ctx: &Context, interaction: &Interaction, received: Instant) -> bool {
    let deferred = InteractionResponse {
        kind: InteractionResponseType::DeferredChannelMessageWithSource,
        data: Some(InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        }),
    };
    let acknowledged = ctx
        .rest(
            CALLBACK_ROUTE,
            "acknowledge the click",
            ctx.interaction_http
                .interaction(ctx.application_id)
                .create_response(interaction.id, &interaction.token, &deferred),
        )
        .await;
    match acknowledged {
        Ok(_) => {
            ctx.metrics.observe_ack(received.elapsed());
            true
        }
        Err(error) if error.discord_code() == Some(ALREADY_ACKNOWLEDGED) => {
            tracing::debug!(
                "the click was already acknowledged (by another replica, or before a redelivery)"
            );
            false
        }
        Err(error) => {
            tracing::warn!(
                error = %ErrorChain(&error),
                discord_code = error.discord_code(),
                "could not acknowledge the click; the user sees \"This interaction failed\""
            );
            false
        }
    }
}

async fn edit_answer(ctx: &Context, interaction: &Interaction, reply: &str) {
    let no_pings = AllowedMentions::default();
    let edited = ctx
        .rest(
            EDIT_ORIGINAL_ROUTE,
            "answer the click",
            ctx.interaction_http
                .interaction(ctx.application_id)
                .update_response(&interaction.token)
                .content(Some(reply))
                .allowed_mentions(Some(&no_pings)),
        )
        .await;
    if let Err(error) = edited {
        tracing::warn!(error = %ErrorChain(&error), discord_code = error.discord_code(), "could not answer the click");
    }
}

fn clicker_id(interaction: &Interaction) -> Option<Id<UserMarker>> {
    interaction
        .member
        .as_ref()
        .and_then(|member| member.user.as_ref())
        .or(interaction.user.as_ref())
        .map(|user| user.id)
}

fn clicked_channel(interaction: &Interaction) -> Option<Id<ChannelMarker>> {
    interaction.channel.as_ref().map(|channel| channel.id)
}

async fn open_ticket(ctx: &Context, interaction: &Interaction, category_key: &str) -> String {
    let config = ctx.config();
    let Some(category) = config.categories.get(category_key) else {
        tracing::info!(category = %category_key, "click on the panel of a removed category");
        return "This ticket category no longer exists. Please use a current ticket panel."
            .to_owned();
    };
    let guild = category.guild_id.get().and_then(Id::new_checked);
    let (Some(guild_id), Some(user_id)) = (guild, clicker_id(interaction)) else {
        return "Tickets can only be opened from the server's ticket panel.".to_owned();
    };
    if interaction.guild_id != Some(guild_id) {
        tracing::info!(category = %category_key, "click on a panel from another server");
        return "This ticket panel belongs to another server. Please use this server's ticket panel."
            .to_owned();
    }
    let opening = Opening {
        ctx,
        category_key,
        category,
        guild_id,
        user_id,
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
            error.user_message("create your ticket channel", &category.name)
        }
    }
}

/// One ticket being opened.
struct Opening<'a> {
    ctx: &'a Context,
    category_key: &'a str,
    category: &'a CategoryConfig,
    guild_id: Id<GuildMarker>,
    user_id: Id<UserMarker>,
}

impl Opening<'_> {
    async fn run(&self, interaction: &Interaction) -> Result<String> {
        let ctx = self.ctx;
        let new = NewTicket {
            guild_id: self.guild_id,
            category_key: self.category_key.to_owned(),
            user_id: self.user_id,
            interaction_id: interaction.id,
        };
        let ticket = match store::begin_ticket(&ctx.pool, &new).await? {
            BeginTicket::AlreadyOpen(ticket) if is_stale_opening(&ticket) => {
                // A crash left this ticket half-made: repair it, then open as usual.
                return match repair_opening(ctx, &ticket).await? {
                    Some(channel) => Ok(format!("Your ticket is open: <#{channel}>")),
                    None => Box::pin(self.run(interaction)).await,
                };
            }
            BeginTicket::AlreadyOpen(ticket) => {
                return Ok(match wait_for_channel(ctx, ticket).await? {
                    Some(channel) => format!("You already have an open ticket: <#{channel}>"),
                    None => {
                        "Your ticket could not be set up. Please click the button again.".to_owned()
                    }
                });
            }
            BeginTicket::Created(ticket) => ticket,
        };
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
                    "DELETE /channels/{channel_id}",
                    "delete an orphaned ticket channel",
                    ctx.http.delete_channel(channel),
                )
                .await;
            self.abandon(&ticket).await;
            return Err(error.into());
        }
        ctx.metrics
            .tickets_opened
            .get_or_create(&Metrics::category(self.category_key))
            .inc();
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
        Ok(format!("Your ticket is open: <#{channel}>"))
    }

    async fn create_channel(&self, ticket: &Ticket) -> Result<Id<ChannelMarker>> {
        let ctx = self.ctx;
        let parent = self
            .category
            .parent_channel_id
            .get()
            .and_then(Id::new_checked);
        let roles = builders::category_roles(self.category);
        let overwrites =
            builders::ticket_overwrites(self.guild_id, self.user_id, &roles, ctx.bot_user_id);
        let name = builders::ticket_channel_name(ticket.id);
        let topic = builders::ticket_channel_topic(ticket.id, self.user_id, &self.category.name);
        let mut request = ctx
            .http
            .create_guild_channel(self.guild_id, &name)
            .kind(twilight_model::channel::ChannelType::GuildText)
            .permission_overwrites(&overwrites)
            .topic(&topic);
        if let Some(parent) = parent {
            request = request.parent_id(parent);
        }
        let channel = ctx
            .rest_model(
                "POST /guilds/{guild_id}/channels",
                "create the ticket channel",
                request,
            )
            .await?;
        Ok(channel.id)
    }

    async fn post_created_message(&self, ticket_id: i64, channel: Id<ChannelMarker>) -> Result<()> {
        post_created_message(self.ctx, ticket_id, self.user_id, self.category, channel).await
    }

    async fn abandon(&self, ticket: &Ticket) {
        if let Err(error) = store::abandon_opening(&self.ctx.pool, ticket.id).await {
            tracing::error!(ticket = ticket.id, error = %ErrorChain(&error), "could not abandon a ticket whose channel failed");
        }
    }
}

/// Posts and pins a ticket's first message (mentions and the Close button), recording each step
/// so that [`repair_welcomes`] finishes what a failure interrupted.
async fn post_created_message(
    ctx: &Context,
    ticket_id: i64,
    user_id: Id<UserMarker>,
    category: &CategoryConfig,
    channel: Id<ChannelMarker>,
) -> Result<()> {
    let message = post_welcome(ctx, ticket_id, user_id, category, channel).await?;
    pin_welcome(ctx, ticket_id, channel, message).await
}

async fn post_welcome(
    ctx: &Context,
    ticket_id: i64,
    user_id: Id<UserMarker>,
    category: &CategoryConfig,
    channel: Id<ChannelMarker>,
) -> Result<Id<MessageMarker>> {
    let created = builders::created_message(ticket_id, user_id, category);
    let message = ctx
        .rest_model(
            "POST /channels/{channel_id}/messages",
            "post the ticket's first message",
            ctx.http
                .create_message(channel)
                .content(&created.content)
                .components(&created.components)
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
        "PUT /channels/{channel_id}/messages/pins/{message_id}",
        "pin the ticket's first message",
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
    let older_than = i64::try_from(ctx.settings.welcome_repair_after.as_secs()).unwrap_or(i64::MAX);
    let pending = match store::pending_welcomes(&ctx.pool, older_than).await {
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
            "GET /channels/{channel_id}/messages",
            "read the ticket channel",
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

/// How old an `opening` ticket must be to count as left behind by a crash: creating a channel
/// takes one Discord request (10 s at most), so a live open is long done by then.
const STALE_OPENING_SECONDS: i64 = 60;

fn is_stale_opening(ticket: &Ticket) -> bool {
    let age_micros = jiff::Timestamp::now().as_microsecond() - ticket.created_at.as_micros();
    ticket.state == store::TicketState::Opening && age_micros > STALE_OPENING_SECONDS * 1_000_000
}

/// Repairs a ticket a crash left `opening`: adopts the channel Discord did create (found by its
/// name and topic), posting its first message, or frees the row so the user can open again.
/// Returns the adopted channel.
pub(crate) async fn repair_opening(
    ctx: &Context,
    ticket: &Ticket,
) -> Result<Option<Id<ChannelMarker>>> {
    let channels = ctx
        .rest_list(
            "GET /guilds/{guild_id}/channels",
            "list the server's channels",
            ctx.http.guild_channels(ticket.guild_id),
        )
        .await?;
    let name = builders::ticket_channel_name(ticket.id);
    let topic_start = builders::ticket_channel_topic_start(ticket.id, ticket.user_id);
    let created = channels.iter().find(|channel| {
        channel.name.as_deref() == Some(name.as_str())
            && channel
                .topic
                .as_deref()
                .is_some_and(|topic| topic.starts_with(&topic_start))
    });
    let Some(channel) = created else {
        store::abandon_opening(&ctx.pool, ticket.id).await?;
        tracing::info!(
            ticket = ticket.id,
            "freed a ticket left opening without a channel"
        );
        return Ok(None);
    };
    store::attach_channel(&ctx.pool, ticket.id, channel.id).await?;
    tracing::info!(ticket = ticket.id, channel = %channel.id, "adopted the channel of a ticket left opening");
    let config = ctx.config();
    if let Some(category) = config.categories.get(&ticket.category_key)
        && let Err(error) =
            post_created_message(ctx, ticket.id, ticket.user_id, category, channel.id).await
    {
        tracing::warn!(ticket = ticket.id, error = %ErrorChain(&error), "could not post the adopted ticket's first message");
    }
    Ok(Some(channel.id))
}

/// Repairs every ticket a crash left `opening` (at startup, once the gateway is up).
pub(crate) async fn repair_stale_openings(ctx: &Context) {
    let stale = match store::stale_openings(&ctx.pool, STALE_OPENING_SECONDS).await {
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

async fn close_ticket(ctx: &Arc<Context>, interaction: &Interaction, ticket_id: i64) -> String {
    match try_close(ctx, interaction, ticket_id).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not close a ticket");
            error.user_message("close this ticket", "this")
        }
    }
}

async fn try_close(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
) -> Result<String> {
    let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
        return Ok("This ticket no longer exists.".to_owned());
    };
    if !ticket.state.is_open() {
        return Ok("This ticket is already being closed.".to_owned());
    }
    if ticket.channel_id.is_some() && clicked_channel(interaction) != ticket.channel_id {
        tracing::info!(
            ticket = ticket_id,
            "close button clicked outside its ticket channel"
        );
        return Ok("This close button does not belong to this channel.".to_owned());
    }
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let ticket_roles = category.map(builders::category_roles).unwrap_or_default();
    let team = category.map_or("ticket", |category| category.name.as_str());
    let (Some(member), Some(user_id)) = (interaction.member.as_ref(), clicker_id(interaction))
    else {
        return Ok("Tickets can only be closed from their channel.".to_owned());
    };
    let clicker = Clicker {
        user_id,
        roles: &member.roles,
        permissions: member.permissions.unwrap_or(Permissions::empty()),
    };
    let decision = builders::close_decision(&clicker, ticket.user_id, &ticket_roles);
    if !decision.is_allowed() {
        tracing::info!(ticket = ticket_id, user = %user_id, "close refused");
        return Ok(format!(
            "You cannot close this ticket: only the person who opened it, the **{team}** team, \
             or someone who can manage channels can close it."
        ));
    }
    store::start_close(&ctx.pool, ticket.id, user_id, None).await?;
    crate::refresh_open_ticket_gauges(ctx).await;
    // The close runs on after the answer; if it fails, the resume loop retries it.
    close::spawn_drive(ctx, ticket.id);
    tracing::info!(ticket = ticket_id, user = %user_id, ?decision, "ticket close started");
    Ok(format!("Closing ticket #{}…", ticket.id))
}
