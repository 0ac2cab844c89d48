//! The Close button: who may close (the creator, the category's roles, anyone who can manage
//! channels), then the durable close, which runs on after the answer.

use std::sync::Arc;

use twilight_model::application::interaction::Interaction;
use twilight_model::guild::Permissions;

use super::reply::Reply;
use super::{clicked_channel, clicker_id};
use crate::context::Context;
use crate::error::ErrorChain;
use crate::error::Result;
use crate::policy::{self, Clicker};
use crate::store;

pub(super) async fn close_ticket(
    ctx: &Arc<Context>,
    interaction: &Interaction,
    ticket_id: i64,
) -> Reply {
    match try_close(ctx, interaction, ticket_id).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not close a ticket");
            Reply::failed("close this ticket", "this", &error)
        }
    }
}

async fn try_close(ctx: &Arc<Context>, interaction: &Interaction, ticket_id: i64) -> Result<Reply> {
    let Some(ticket) = store::ticket(&ctx.pool, ticket_id).await? else {
        return Ok(Reply::TicketGone);
    };
    if !ticket.state.is_open() {
        return Ok(Reply::AlreadyClosing);
    }
    if ticket.channel_id.is_some() && clicked_channel(interaction) != ticket.channel_id {
        tracing::info!(
            ticket = ticket_id,
            "close button clicked outside its ticket channel"
        );
        return Ok(Reply::WrongChannel);
    }
    let config = ctx.config();
    let category = config.categories.get(&ticket.category_key);
    let ticket_roles = category.map_or(&[][..], |category| category.role_ids.as_slice());
    let team = category.map_or("ticket", |category| category.name.as_str());
    let (Some(member), Some(user_id)) = (interaction.member.as_ref(), clicker_id(interaction))
    else {
        return Ok(Reply::CloseOutsideServer);
    };
    let clicker = Clicker {
        user_id,
        roles: &member.roles,
        permissions: member.permissions.unwrap_or(Permissions::empty()),
    };
    let decision = policy::close_decision(&clicker, ticket.user_id, ticket_roles);
    if !decision.is_allowed() {
        tracing::info!(ticket = ticket_id, user = %user_id, "close refused");
        return Ok(Reply::CloseRefused {
            team: team.to_owned(),
        });
    }
    store::start_close(&ctx.pool, ticket.id, user_id, None).await?;
    crate::refresh_open_ticket_gauges(ctx).await;
    // The close runs on after the answer; if it fails, the resume loop retries it.
    crate::close::spawn_drive(ctx, ticket.id);
    tracing::info!(ticket = ticket_id, user = %user_id, ?decision, "ticket close started");
    Ok(Reply::Closing {
        ticket_id: ticket.id,
    })
}
