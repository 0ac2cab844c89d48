//! The TicketBot reconcile: while the bot lives, its children and then its status; once it is
//! deleted, the wait behind [`PANELS_FINALIZER`] for the bot to remove its panels.
//!
//! Apart from the category reconcile because the two share only the [`Context`].
//! `reconcile_bot_object` is long on purpose: it is one decision read top to bottom (render,
//! apply, report, status, Events, requeue), and cut into pieces it would hand half a dozen values
//! from one to the next.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, finalizer};
use kube::{Api, Resource, ResourceExt};
use tracing::{info, warn};

use super::children::{Children, Existing, apply};
use super::context::{Context, jittered_requeue, name_and_namespace, now, write_status};
use super::secrets::check_secrets;
use crate::bot_status;
use crate::builders::{self, BuildError};
use crate::caches::Caches;
use crate::crd::{TicketBot, TicketCategory};
use crate::error::{Error, Result};
use crate::policy;
use crate::status::{self, Observed, bot_condition};

/// The finalizer that holds a deleted TicketBot until its bot has removed its panels from
/// Discord (or [`Settings::panel_cleanup_timeout`](super::settings::Settings::panel_cleanup_timeout) has passed).
pub const PANELS_FINALIZER: &str = "ticketeer.dev/panels";

/// The TicketBot reconcile behind [`PANELS_FINALIZER`]: [`reconcile_bot_object`] while the bot
/// lives, [`clean_up_bot`] once it is deleted.
pub(super) async fn reconcile_bot_with_finalizer(
    bot: &TicketBot,
    ctx: &Context,
    caches: &Caches,
) -> Result<Action> {
    let (name, namespace) = name_and_namespace(bot)?;
    let api: Api<TicketBot> = ctx.api(&namespace);
    finalizer(
        &api,
        PANELS_FINALIZER,
        Arc::new(bot.clone()),
        |event| async move {
            match event {
                finalizer::Event::Apply(bot) => {
                    Box::pin(reconcile_bot_object(&bot, ctx, caches)).await
                }
                finalizer::Event::Cleanup(bot) => clean_up_bot(&bot, ctx, caches).await,
            }
        },
    )
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        other => Error::Finalizer {
            namespace,
            name,
            source: Box::new(other),
        },
    })
}

/// A deleted TicketBot's last reconcile: renders its ConfigMap with no categories (the bot then
/// deletes the panels of the categories it no longer serves), and releases the TicketBot once the
/// bot's `/status` shows no panel. Released at once when no bot pod runs to do it, and after
/// [`Settings::panel_cleanup_timeout`](super::settings::Settings::panel_cleanup_timeout) in any case.
///
/// # Errors
///
/// [`Error::PanelsRemaining`] while waiting (retried every [`Settings::panel_cleanup_poll`](super::settings::Settings::panel_cleanup_poll));
/// the API errors of reading or applying the ConfigMap.
async fn clean_up_bot(bot: &TicketBot, ctx: &Context, caches: &Caches) -> Result<Action> {
    let name = bot.name_any();
    let namespace = bot.namespace().unwrap_or_default();
    // Whatever happens to its panels, the TicketBot no longer holds its Discord bot.
    ctx.release_token(&format!("{namespace}/{name}"));
    // Its children go with it; a TicketBot made again under the name applies them afresh.
    ctx.applied.forget(
        &namespace,
        &[name.clone(), builders::config_map_name(&name)],
    );
    let existing = Box::pin(Existing::read(ctx, caches, &namespace, &name)).await?;
    let deployment = existing
        .deployment
        .as_ref()
        .filter(|deployment| builders::controlled_by(&deployment.metadata, bot));
    let (available, _) = status::deployment_availability(deployment);
    let config_map_is_ours = existing
        .config_map
        .as_ref()
        .is_some_and(|config_map| builders::controlled_by(&config_map.metadata, bot));
    if !available.status || !config_map_is_ours {
        info!(bot = %name, "no bot pod runs to remove the panels; releasing the TicketBot");
        return Ok(Action::await_change());
    }
    let emptied =
        builders::render_config(bot, &[]).and_then(|config| builders::config_map(bot, &config));
    match emptied {
        Ok(config_map) => {
            apply(&ctx.api(&namespace), &config_map).await?;
            ctx.record_rendered(&namespace, &name, &[]);
        }
        Err(error) => {
            // The spec no longer renders; the bot keeps its last config and its panels.
            warn!(bot = %name, %error, "cannot render the config without categories; releasing the TicketBot");
            return Ok(Action::await_change());
        }
    }
    let url = bot_status::status_url(&ctx.settings.status_url, &name, &namespace);
    let remaining = match ctx.status_client.fetch(&url).await {
        Ok(report) => Ok(report
            .categories
            .values()
            .filter(|category| category.panel_message_id.is_some())
            .count()),
        Err(error) => Err(error.to_string()),
    };
    if remaining == Ok(0) {
        info!(bot = %name, "the bot removed its panels; releasing the TicketBot");
        return Ok(Action::await_change());
    }
    let deleted_at = bot
        .meta()
        .deletion_timestamp
        .as_ref()
        .map_or_else(jiff::Timestamp::now, |time| time.0);
    let waited = jiff::Timestamp::now()
        .duration_since(deleted_at)
        .unsigned_abs();
    if waited >= ctx.settings.panel_cleanup_timeout {
        let left = match &remaining {
            Ok(panels) => format!("its /status still showed {panels} panels"),
            Err(cause) => format!("its /status could not be read ({cause})"),
        };
        ctx.warn(
            &bot.object_ref(&()),
            "PanelsLeftBehind",
            status::bounded_message(&format!(
                "the bot was given {:?} to remove its panels from Discord and {left}; the TicketBot is released, delete any panel left by hand",
                ctx.settings.panel_cleanup_timeout
            )),
            "RemovePanels",
        )
        .await;
        return Ok(Action::await_change());
    }
    Err(Error::PanelsRemaining {
        namespace,
        name,
        remaining: match remaining {
            Ok(panels) => format!("{panels} panels"),
            Err(cause) => format!("an unreadable /status: {cause}"),
        },
    })
}

/// The TicketBot reconcile: children, then status.
async fn reconcile_bot_object(bot: &TicketBot, ctx: &Context, caches: &Caches) -> Result<Action> {
    let (name, namespace) = name_and_namespace(bot)?;
    // An empty store before the first list would render the bot with no categories, and the bot
    // would delete their panels.
    let store = &caches.categories;
    if !store.ready.clone().await {
        return Err(Error::CategoriesUnavailable);
    }
    // A filter over the whole cache rather than an index by botRef: a scan of some thousand
    // categories in memory costs microseconds, and an index kept beside the cache could disagree
    // with it.
    let mut categories: Vec<TicketCategory> = store
        .store
        .state_filter(|guard| {
            guard
                .0
                .as_ref()
                .is_ok_and(|category| category.belongs_to(bot))
        })
        .iter()
        .filter_map(|guard| guard.0.as_ref().ok().cloned())
        .collect();
    // The cache has no order; the API's lists were by name.
    categories.sort_by_key(TicketCategory::key);
    let secrets = check_secrets(ctx, caches, &namespace, bot).await?;
    let token_keeper = secrets.bot_user_id.and_then(|id| {
        ctx.claim_token(&format!("{namespace}/{name}"), bot, id)
            .map(|keeper| (id, keeper))
    });

    let config_map_name = builders::config_map_name(&name);
    let existing = Box::pin(Existing::read(ctx, caches, &namespace, &name)).await?;
    // The config the bot runs now: a category refused as invalid keeps its entry from it.
    let running = existing
        .config_map
        .clone()
        .filter(|config_map| builders::controlled_by(&config_map.metadata, bot))
        .and_then(|config_map| config_map.data?.remove(ticketeer_config::CONFIG_FILE_NAME))
        .and_then(|text| ticketeer_config::BotConfig::from_yaml(&text).ok());
    // A refusal by the policy takes the bad-spec path below: nothing is applied.
    let desired = policy::check(
        &bot.spec,
        &ctx.settings.policy,
        &ctx.settings.build.default_image,
    )
    .map_err(BuildError::NotAllowed)
    .and_then(|()| match &token_keeper {
        Some((bot_user_id, keeper)) => Err(BuildError::TokenInUse {
            secret: bot.spec.token_secret_ref.name.clone(),
            bot_user_id: *bot_user_id,
            keeper: keeper.clone(),
        }),
        None => Ok(()),
    })
    .and_then(|()| builders::render_config_keeping(bot, &categories, running.as_ref()))
    .and_then(|config| {
        let children = Children::build(bot, &config, &ctx.settings.build, &secrets.digests)?;
        let keys: Vec<String> = config.categories.keys().cloned().collect();
        Ok((keys, children))
    });
    // Our own Deployment as it is, for its availability when this reconcile does not apply it.
    let current_deployment = existing
        .deployment
        .clone()
        .filter(|deployment| builders::controlled_by(&deployment.metadata, bot));
    // A child refused for good or taken by someone else: reported in the status, then returned
    // so the reconcile backs off.
    let mut blocked = None;
    let (config_rendered, served, deployment) = match desired {
        Ok((keys, children)) => {
            let served = keys.len();
            let rendered = Observed::yes(
                bot_condition::CONFIG_RENDERED,
                "ConfigRendered",
                format!("ConfigMap {config_map_name} holds the config with {served} categories"),
            );
            let applied = match existing.foreign(bot, &namespace) {
                Some(conflict) => Err(conflict),
                None => children.apply(ctx, &namespace, &existing).await,
            };
            match applied {
                Ok(deployment) => {
                    ctx.record_rendered(&namespace, &name, &keys);
                    (rendered, served, Some(deployment))
                }
                Err(error @ (Error::ChildRejected { .. } | Error::NameConflict { .. })) => {
                    let rendered = if matches!(
                        error,
                        Error::ChildRejected {
                            kind: "ConfigMap",
                            ..
                        }
                    ) {
                        Observed::no(
                            bot_condition::CONFIG_RENDERED,
                            status::CHILD_REJECTED,
                            status::bounded_message(&error.to_string()),
                        )
                    } else {
                        rendered
                    };
                    blocked = Some(error);
                    (rendered, served, current_deployment)
                }
                Err(error) => return Err(error),
            }
        }
        Err(
            error @ (BuildError::InvalidConfig(_)
            | BuildError::InvalidLogLevel { .. }
            | BuildError::ConfigTooLarge { .. }
            | BuildError::NotAllowed(_)
            | BuildError::TokenInUse { .. }),
        ) => {
            // Keep the last good ConfigMap and pods: a bad spec must not take a working bot down.
            (
                Observed::no(
                    bot_condition::CONFIG_RENDERED,
                    error.reason(),
                    format!("{error}; fix the TicketBot spec (the previous config stays in place)"),
                ),
                0,
                current_deployment,
            )
        }
        Err(source) => {
            return Err(Error::BuildChild {
                name: name.clone(),
                source,
            });
        }
    };
    let (available, ready_replicas) = status::deployment_availability(deployment.as_ref());
    // Read before the bot's status is written: its categories reconcile when the bot turns
    // Ready, and then the report is already there.
    let bot_key = format!("{namespace}/{name}");
    let report = if available.status {
        let (report, changed) = ctx.poll_report(&namespace, &name).await;
        if changed {
            ctx.reconcile_categories(&categories);
        }
        Some(report)
    } else {
        ctx.forget_report(&bot_key);
        None
    };
    let degraded = match &blocked {
        Some(error @ Error::NameConflict { .. }) => Observed::yes(
            bot_condition::DEGRADED,
            status::NAME_CONFLICT,
            status::bounded_message(&format!(
                "{error}; the operator does not take it over: rename the TicketBot or remove that object (nothing was applied)"
            )),
        ),
        Some(error) => Observed::yes(
            bot_condition::DEGRADED,
            status::CHILD_REJECTED,
            status::bounded_message(&format!(
                "{error}; fix the TicketBot spec (the children after it are left as they are)"
            )),
        ),
        None => secrets.problems.first().cloned().unwrap_or_else(|| {
            Observed::no(
                bot_condition::DEGRADED,
                "SecretsPresent",
                "the token and database Secrets have their keys",
            )
        }),
    };
    let ready = status::bot_ready(&config_rendered, &available, &degraded);
    let observed = [ready, config_rendered, available, degraded];
    let new_status = status::bot_status(bot, &observed, served, ready_replicas, &now());
    let previous_conditions = bot
        .status
        .as_ref()
        .map_or(&[][..], |status| &status.conditions);
    write_status::<TicketBot, _>(ctx, &namespace, &name, bot.status.as_ref(), &new_status).await?;
    let reference = bot.object_ref(&());
    if status::became(
        previous_conditions,
        &new_status.conditions,
        bot_condition::DEGRADED,
        true,
    ) {
        let action = if blocked.is_some() {
            "ApplyChild"
        } else {
            "CheckSecrets"
        };
        let message = observed[3].message.clone();
        ctx.warn(&reference, &observed[3].reason, message, action)
            .await;
    }
    if status::became(
        previous_conditions,
        &new_status.conditions,
        bot_condition::CONFIG_RENDERED,
        false,
    ) && blocked.is_none()
    {
        let message = observed[1].message.clone();
        ctx.warn(&reference, &observed[1].reason, message, "RenderConfig")
            .await;
    }
    if let Some(error) = blocked {
        // Retried with the growing backoff: the refusal stays until someone edits the spec or
        // the cluster's policy, and the status already says so.
        return Err(error);
    }
    let served_keys: Vec<String> = builders::served_categories(bot, &categories)
        .into_iter()
        .map(TicketCategory::key)
        .collect();
    let unsettled =
        report.is_some_and(|report| !report.settled(served_keys.iter().map(String::as_str)));
    if observed[1].status && unsettled {
        Ok(jittered_requeue(
            ctx.settings.status_requeue.min(ctx.settings.drift_requeue),
        ))
    } else if observed[1].status {
        Ok(ctx.drift_requeue())
    } else {
        // A bad spec only changes when someone edits it, which triggers a reconcile anyway.
        Ok(Action::await_change())
    }
}
