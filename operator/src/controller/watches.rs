//! What wakes a reconcile: the cached watches of the objects the reconciles read, and the maps
//! from a changed object (a Secret, a category, a bot) to the objects to reconcile for it.
//!
//! Apart from `run_controllers` so that it reads as the wiring alone,
//! and each filter here can be read with its reason.

use std::fmt::Debug;

use futures_util::Stream;
use k8s_openapi::api::core::v1::Secret;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store, reflector};
use kube::runtime::{Predicate, PredicateConfig, WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::crd::{TicketBot, TicketCategory};
use crate::status::{self, bot_condition};

/// The TicketBots in the Secret's namespace whose `tokenSecretRef` or `databaseSecretRef` names it.
pub(super) fn bots_referencing(
    bots: &Store<DeserializeGuard<TicketBot>>,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<DeserializeGuard<TicketBot>>> {
    let (Some(name), Some(namespace)) = (
        secret.metadata.name.as_deref(),
        secret.metadata.namespace.as_deref(),
    ) else {
        return Vec::new();
    };
    bots.state_filter(|guard| {
        guard.0.as_ref().is_ok_and(|bot| {
            bot.namespace().as_deref() == Some(namespace)
                && (bot.spec.token_secret_ref.name == name
                    || bot.spec.database_secret_ref.name == name)
        })
    })
    .iter()
    .map(|guard| ObjectRef::from_obj(guard.as_ref()))
    .collect()
}

/// The `metadata.generation` a deleted object is passed on with. The API server counts
/// generations from 1, so no generation predicate has seen it and the deletion is never filtered
/// out (a plain delete leaves the generation as it was).
const DELETED_GENERATION: i64 = -1;

/// The objects of `events` whose hash under `predicate` changed (a
/// [`predicates::generation`](kube::runtime::predicates::generation) one: their spec), plus every
/// deleted object: what the other controller must react to, without the status writes it would
/// otherwise be woken by.
fn changed_or_deleted<K, P>(
    events: impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    predicate: P,
) -> impl futures_util::Stream<Item = Result<K, watcher::Error>>
where
    K: Resource + Clone + 'static,
    P: Predicate<K> + 'static,
{
    use futures_util::TryStreamExt;
    events
        .map_ok(|event| match event {
            watcher::Event::Delete(mut object) => {
                object.meta_mut().generation = Some(DELETED_GENERATION);
                watcher::Event::Delete(object)
            }
            other => other,
        })
        .touched_objects()
        .predicate_filter(predicate, PredicateConfig::default())
}

/// The categories in the bot's namespace whose `botRef` names it.
pub(super) fn categories_of_bot(
    categories: &Store<DeserializeGuard<TicketCategory>>,
    guard: &DeserializeGuard<TicketBot>,
) -> Vec<ObjectRef<DeserializeGuard<TicketCategory>>> {
    let (name, namespace) = (guard.meta().name.clone(), guard.meta().namespace.clone());
    categories
        .state()
        .into_iter()
        .filter(|category| {
            category.0.as_ref().is_ok_and(|category| {
                Some(&category.spec.bot_ref.name) == name.as_ref()
                    && category.namespace() == namespace
            })
        })
        .map(|category| ObjectRef::from_obj(category.as_ref()))
        .collect::<Vec<_>>()
}

/// What a category's status takes from its bot besides its spec: the `Ready` condition.
pub(super) fn bot_readiness(guard: &DeserializeGuard<TicketBot>) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bot = guard.0.as_ref().ok()?;
    let ready = bot
        .status
        .as_ref()
        .and_then(|status| status::find(&status.conditions, bot_condition::READY))
        .map(|condition| (&condition.status, &condition.reason, &condition.message));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ready.hash(&mut hasher);
    Some(hasher.finish())
}

/// A watch of `api` under `config` whose objects, once `slim` has stripped what no reconcile
/// reads, are stored in the returned cache before each change is passed on.
pub(super) fn cached_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    slim: fn(&mut K),
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>>)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let changes =
        reflector(writer, watcher(api, config).default_backoff().modify(slim)).touched_objects();
    (store, changes)
}

/// A watch of every object of `api` (one of our own resources, kept whole), stored in the
/// returned cache before each change is passed on; what is passed on is what
/// [`changed_or_deleted`] lets through under `predicate`.
pub(super) fn cached_changes<K, P>(
    api: Api<K>,
    predicate: P,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>>)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    P: Predicate<K> + 'static,
{
    let (store, writer) = reflector::store();
    let events = reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    (store, changed_or_deleted(events, predicate))
}
