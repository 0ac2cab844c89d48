//! The TicketCategory reconcile: `Accepted` from the category's spec and its bot, `Ready`,
//! `panelMessageId` and `openTickets` from the bot's last `/status` report.
//!
//! Apart from the bot reconcile because a category writes nothing but its own status: it reads
//! its bot (from the cache) and the report the bot reconcile keeps in the [`Context`].

use kube::Resource;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;

use super::context::{Context, name_and_namespace, now, write_status};
use crate::builders;
use crate::caches::{Caches, cached};
use crate::crd::{TicketBot, TicketCategory};
use crate::error::{Error, Result};
use crate::status::{self, category_condition};

/// The TicketCategory reconcile: `Accepted` and `Ready`.
pub(super) async fn reconcile_category_object(
    category: &TicketCategory,
    ctx: &Context,
    caches: &Caches,
) -> Result<Action> {
    let (name, namespace) = name_and_namespace(category)?;
    let bot_name = &category.spec.bot_ref.name;
    // The cache is fed by the watch that reconciles the categories when their bot changes, and
    // stores each change before passing it on; a bot not in it is read by name.
    let bot = match cached(&caches.bots, &namespace, bot_name) {
        Some(guard) => Some(guard),
        None => ctx
            .api::<DeserializeGuard<TicketBot>>(&namespace)
            .get_opt(bot_name)
            .await
            .map_err(|source| Error::ReadBot {
                namespace: namespace.clone(),
                name: bot_name.clone(),
                source,
            })?,
    }
    .and_then(|guard| guard.0.ok());
    let bot_conditions = bot
        .as_ref()
        .and_then(|bot| bot.status.as_ref())
        .map(|status| status.conditions.clone())
        .unwrap_or_default();
    let acceptance = builders::accept_category(category, bot.as_ref());
    let key = category.key();
    // The bot's first status write reconciles this category again (the bot watch passes on
    // changes of its Ready condition).
    let bot_unreported = bot.as_ref().is_some_and(|bot| bot.status.is_none());
    if bot_unreported
        && acceptance.is_ok()
        && let Some(left) = ctx.wait_for_first_bot_status(&key)
    {
        return Ok(Action::requeue(left));
    }
    ctx.stop_waiting_for_bot_status(&key);
    let report = ctx.report(&format!("{namespace}/{bot_name}"));
    let create_channel_id = category.spec.category.create_channel_id.to_string();
    let observation = status::observe_category(&status::CategoryInputs {
        key: &key,
        create_channel_id: &create_channel_id,
        bot_name,
        acceptance: acceptance.as_ref().copied(),
        bot_conditions: &bot_conditions,
        report: report.as_ref(),
        previous: category.status.as_ref(),
    });
    let accepted = observation.accepted.clone();
    let new_status = status::category_status(
        category.status.as_ref(),
        &observation,
        category.metadata.generation,
        &now(),
    );
    let previous_conditions = category
        .status
        .as_ref()
        .map_or(&[][..], |status| &status.conditions);
    write_status::<TicketCategory, _>(
        ctx,
        &namespace,
        &name,
        category.status.as_ref(),
        &new_status,
    )
    .await?;
    if status::became(
        previous_conditions,
        &new_status.conditions,
        category_condition::ACCEPTED,
        false,
    ) {
        ctx.warn(
            &category.object_ref(&()),
            &accepted.reason,
            accepted.message.clone(),
            "AcceptCategory",
        )
        .await;
    }
    Ok(ctx.drift_requeue())
}
