//! [`run_controllers`]: the two `Controller`s, the watches that feed them, and the wrapper every
//! reconcile runs in (its span, metrics, Events for unreadable objects, backoff).
//!
//! Apart from the reconciles because it decides when they run, not what they do.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret, Service, ServiceAccount};
use kube::Resource;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{self, Action};
use kube::runtime::{Controller, Predicate, PredicateConfig, WatchStreamExt, predicates, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tracing::{Instrument, field, info, info_span, warn};

use super::bot::reconcile_bot_with_finalizer;
use super::category::reconcile_category_object;
use super::context::{Context, object_key};
use super::watches::{
    bot_readiness, bots_referencing, cached_changes, cached_watch, categories_of_bot,
};
use crate::builders::{MANAGED_BY_LABEL, MANAGER};
use crate::caches::{self, Caches, CategoryStore};
use crate::crd::{TicketBot, TicketCategory};
use crate::error::{Error, Result};

/// The `controller` label of the TicketBot controller's metrics.
pub const BOT_CONTROLLER: &str = "ticketbot";
/// The `controller` label of the TicketCategory controller's metrics.
pub const CATEGORY_CONTROLLER: &str = "ticketcategory";

fn invalid_reference<K: Resource<DynamicType = ()>>(
    invalid: &kube::core::error_boundary::InvalidObject,
) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: invalid.metadata.name.clone(),
        namespace: invalid.metadata.namespace.clone(),
        uid: invalid.metadata.uid.clone(),
        resource_version: invalid.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

/// Runs one reconcile of `guard` with its span, metrics and backoff bookkeeping.
async fn reconcile_guarded<K, F, Fut>(
    controller: &'static str,
    guard: Arc<DeserializeGuard<K>>,
    ctx: Arc<Context>,
    reconcile: F,
) -> Result<Action>
where
    K: Resource<DynamicType = ()>,
    F: FnOnce(Arc<DeserializeGuard<K>>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action>>,
{
    let key = object_key(guard.as_ref());
    let span = info_span!("reconcile", controller, object = %key, outcome = field::Empty);
    let started = Instant::now();
    let invalid = guard.0.as_ref().err().cloned();
    let result = if let Some(invalid) = invalid {
        // The API server validates our CRDs, so this is an object written under an older or
        // foreign schema; say so once and wait for someone to fix it.
        let reference = invalid_reference::<K>(&invalid);
        ctx.warn(
            &reference,
            "InvalidObject",
            format!("the operator cannot read this object: {}", invalid.error),
            "Reconcile",
        )
        .instrument(span.clone())
        .await;
        Ok(Action::await_change())
    } else {
        reconcile(guard, ctx.clone()).instrument(span.clone()).await
    };
    ctx.metrics
        .record_reconcile(controller, started.elapsed().as_secs_f64());
    match &result {
        Ok(_) => {
            span.record("outcome", "ok");
            ctx.reset_failures(&key);
        }
        Err(error) => {
            span.record("outcome", error.metric_label());
            ctx.metrics.record_failure(controller, error.metric_label());
        }
    }
    result
}

fn error_policy<K: Resource<DynamicType = ()>>(
    object: &Arc<DeserializeGuard<K>>,
    error: &Error,
    ctx: &Context,
) -> Action {
    let key = object_key(object.as_ref());
    let delay = match error {
        // Waiting, not failing: the bot removes its panels at its own pace.
        Error::PanelsRemaining { .. } => ctx.settings.panel_cleanup_poll,
        _ => ctx.next_backoff(&key),
    };
    warn!(object = %key, %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Runs `controller` (one `Controller::run` stream, drained) until it ends.
///
/// kube's graceful shutdown holds a controller's runner until its store is ready, and once the
/// shutdown has begun nothing fills the store any more: a controller told to stop before its first
/// list completed would never end (nor would leader election release its Lease). Such a
/// controller has reconciled nothing, so it is dropped at once instead; one whose store is ready
/// finishes its reconciles in flight as usual.
async fn until_stopped<K>(
    controller: impl Future<Output = ()>,
    store: &kube::runtime::reflector::Store<K>,
    shutdown: impl Future<Output = ()>,
) where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let never_started = async {
        shutdown.await;
        if futures_util::FutureExt::now_or_never(store.wait_until_ready()).is_some() {
            // Started: the graceful shutdown ends the controller.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = controller => {}
        () = never_started => {}
    }
}

/// Runs `controller` (its watches attached) until `shutdown`: each object's reconcile is
/// `reconcile` inside [`reconcile_guarded`] (an unreadable object never reaches it), a failed one
/// is retried as [`error_policy`] says, and each result is reported to `/healthz` and a failure
/// logged as `label`'s.
fn drive<K, F>(
    controller: Controller<DeserializeGuard<K>>,
    name: &'static str,
    label: &'static str,
    ctx: &Arc<Context>,
    caches: Caches,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    reconcile: F,
) -> impl Future<Output = ()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: for<'a> Fn(&'a K, &'a Context, &'a Caches) -> BoxFuture<'a, Result<Action>>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let health = ctx.health.clone();
    controller
        .graceful_shutdown_on(shutdown)
        .run(
            move |guard, ctx| {
                let (caches, reconcile) = (caches.clone(), reconcile.clone());
                reconcile_guarded(name, guard, ctx, |guard, ctx| async move {
                    match &guard.0 {
                        Ok(object) => reconcile(object, &ctx, &caches).await,
                        Err(_) => Ok(Action::await_change()),
                    }
                })
            },
            |guard, error, ctx| error_policy(&guard, error, &ctx),
            ctx.clone(),
        )
        .for_each(move |result| {
            health.observe_controller(&result);
            async move {
                if let Err(error) = result {
                    warn!(%error, "{label}");
                }
            }
        })
}

/// Runs both controllers until `shutdown` completes.
pub async fn run_controllers(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let shutdown = futures_util::FutureExt::shared(Box::pin(shutdown));
    // A fresh channel per run: with leader election the controllers may run several times.
    let (trigger, triggered) = mpsc::unbounded_channel();
    if let Ok(mut slot) = ctx.category_trigger.lock() {
        *slot = Some(trigger);
    }
    let triggered = stream::unfold(triggered, |mut receiver| async move {
        receiver.recv().await.map(|category| (category, receiver))
    });
    let owned = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGER}"));
    let config = controller::Config::default().concurrency(ctx.settings.concurrency);

    let category_controller = Controller::new(
        ctx.watched::<DeserializeGuard<TicketCategory>>(),
        watcher::Config::default(),
    )
    .with_config(config.clone());
    let category_store = category_controller.store();

    let bot_controller = Controller::new(
        ctx.watched::<DeserializeGuard<TicketBot>>(),
        watcher::Config::default(),
    )
    .with_config(config);
    let bot_store = bot_controller.store();
    // Metadata only: a changed resourceVersion is all the trigger needs, and the operator then
    // receives no Secret's data but the two referenced ones' (read by name, when a cached version
    // is newer than the one their digest was taken at; the pods roll only when a referenced key's
    // value changed). Deletions pass too, so a bot whose Secret disappears turns Degraded at once.
    let (secrets_reader, secrets) = cached_watch(
        ctx.watched::<PartialObjectMeta<Secret>>(),
        watcher::Config::default(),
        caches::slim,
    );
    let secrets =
        secrets.predicate_filter(predicates::resource_version, PredicateConfig::default());
    let referencing = bot_store.clone();
    // The bot controller's own cache of the categories, filled by the watch that triggers its
    // reconciles: the reflector stores each change before passing it on, so a reconcile never
    // reads an older category than the one that triggered it (the category controller's cache
    // is fed by another watch, which may lag behind this one).
    // A bot renders its categories' specs only: their status writes must not reconcile it.
    let (categories_reader, category_changes) = cached_changes(
        ctx.watched::<DeserializeGuard<TicketCategory>>(),
        predicates::generation,
    );
    // The children, cached by the watches that reconcile their bot when they change.
    let (service_accounts, service_account_changes) = cached_watch(
        ctx.watched::<PartialObjectMeta<ServiceAccount>>(),
        owned.clone(),
        caches::slim,
    );
    let (services, service_changes) = cached_watch(
        ctx.watched::<PartialObjectMeta<Service>>(),
        owned.clone(),
        caches::slim,
    );
    let (config_maps, config_map_changes) = cached_watch(
        ctx.watched::<ConfigMap>(),
        owned.clone(),
        caches::slim_config_map,
    );
    let (deployments, deployment_changes) =
        cached_watch(ctx.watched::<Deployment>(), owned, caches::slim_deployment);
    // A category's status follows its bot's spec and Ready condition, not the rest of the bot's
    // status (replica counts, times).
    let (bots_reader, bot_changes) = cached_changes(
        ctx.watched::<DeserializeGuard<TicketBot>>(),
        predicates::generation.combine(bot_readiness),
    );
    let caches = Caches {
        categories: CategoryStore::new(categories_reader),
        bots: bots_reader,
        secrets: secrets_reader,
        service_accounts,
        config_maps,
        services,
        deployments,
    };
    let bot_caches = caches.clone();
    let moved_from = ctx.clone();
    let bot_controller = bot_controller
        .owns_stream(config_map_changes)
        .owns_stream(service_account_changes)
        .owns_stream(service_changes)
        .owns_stream(deployment_changes)
        .watches_stream(secrets, move |secret| {
            bots_referencing(&referencing, &secret)
        })
        .watches_stream(category_changes, move |guard| {
            moved_from.bots_of_category(&guard)
        });
    let bots = drive(
        bot_controller,
        BOT_CONTROLLER,
        "TicketBot controller",
        &ctx,
        bot_caches,
        shutdown.clone(),
        |bot, ctx, caches| Box::pin(reconcile_bot_with_finalizer(bot, ctx, caches)),
    );

    let categories = category_store.clone();
    let category_controller = category_controller
        .reconcile_on(triggered)
        .watches_stream(bot_changes, move |guard| {
            categories_of_bot(&categories, &guard)
        });
    let categories = drive(
        category_controller,
        CATEGORY_CONTROLLER,
        "TicketCategory controller",
        &ctx,
        caches,
        shutdown.clone(),
        |category, ctx, caches| Box::pin(reconcile_category_object(category, ctx, caches)),
    );
    info!("controllers started");
    futures_util::future::join(
        until_stopped(bots, &bot_store, shutdown.clone()),
        until_stopped(categories, &category_store, shutdown),
    )
    .await;
    if let Ok(mut slot) = ctx.category_trigger.lock() {
        *slot = None;
    }
    info!("controllers stopped");
}
