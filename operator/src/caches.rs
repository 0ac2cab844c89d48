//! What the watches already hold, read by the reconciles instead of asking the API server again,
//! and what the operator remembers of its own writes.
//!
//! A reconcile repeated with nothing changed (the drift repair, or the watch event of our own
//! apply) then makes no request at all: a bot's children, its Secrets' versions and a category's
//! bot come from the reflectors' [`Caches`], a referenced key's digest from [`SecretValues`], and
//! a child whose stored version is the one our last apply returned, for the same desired object,
//! is not applied again ([`AppliedChildren`]). A name missing from a store is read by GET as
//! before: a store may lag behind the API server, and an object someone else made there (which
//! carries none of the labels the owned watches select on) is only ever found by name.
//!
//! The stores hold no managed fields (stripped before storing: they are much of an object's size
//! and nothing reads them), the child stores only what a reconcile reads (metadata, plus the
//! ConfigMap's data and the Deployment's replicas and status), and the Secrets' store only metadata: of a
//! Secret's value the operator keeps a digest, never the value.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;

use crate::crd::{TicketBot, TicketCategory};

/// A cache of every watched TicketCategory, which the bot reconcile reads a bot's categories from.
#[derive(Clone)]
pub(crate) struct CategoryStore {
    pub(crate) store: Store<DeserializeGuard<TicketCategory>>,
    /// Resolves once the cache has listed the categories, to whether it did (not when its watch
    /// stopped first). One wait shared by every reconcile: the store's own wakes only the last
    /// of several waiting at once, and the others would wait for ever.
    pub(crate) ready: futures_util::future::Shared<futures_util::future::BoxFuture<'static, bool>>,
}

impl CategoryStore {
    pub(crate) fn new(store: Store<DeserializeGuard<TicketCategory>>) -> Self {
        let waited = store.clone();
        let ready = futures_util::FutureExt::shared(futures_util::FutureExt::boxed(async move {
            waited.wait_until_ready().await.is_ok()
        }));
        Self { store, ready }
    }
}

/// The reflectors' stores the reconciles read from, made afresh each time the controllers start.
#[derive(Clone)]
pub(crate) struct Caches {
    /// The bot controller's categories.
    pub(crate) categories: CategoryStore,
    /// The TicketBots, as the category controller's watch of them last saw them.
    pub(crate) bots: Store<DeserializeGuard<TicketBot>>,
    /// The referenced Secrets' metadata (every Secret of the watched namespaces).
    pub(crate) secrets: Store<PartialObjectMeta<Secret>>,
    /// The children carrying the operator's label.
    pub(crate) service_accounts: Store<PartialObjectMeta<ServiceAccount>>,
    pub(crate) config_maps: Store<ConfigMap>,
    pub(crate) services: Store<PartialObjectMeta<Service>>,
    pub(crate) deployments: Store<Deployment>,
}

/// Looks `name` in `namespace` up in `store`.
pub(crate) fn cached<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<K>
where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    store
        .get(&ObjectRef::new(name).within(namespace))
        .map(|object| object.as_ref().clone())
}

/// Strips what no reconcile reads before an object is stored.
pub(crate) fn slim<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// A ConfigMap as the bot reconcile reads it: metadata without managed fields, and its data.
pub(crate) fn slim_config_map(config_map: &mut ConfigMap) {
    slim(config_map);
    config_map.binary_data = None;
}

/// A Deployment as the bot reconcile reads it: metadata, replicas and status (its availability);
/// the pod template, most of the object, is ours and compared through [`AppliedChildren`].
pub(crate) fn slim_deployment(deployment: &mut Deployment) {
    slim(deployment);
    if let Some(spec) = deployment.spec.as_mut() {
        spec.template = k8s_openapi::api::core::v1::PodTemplateSpec::default();
    }
}

/// What a referenced Secret key holds, as far as a reconcile needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SecretKeyValue {
    /// The Secret has no such key.
    KeyMissing,
    /// The key's value, as a digest (a changed value rolls the bot's pods), and the Discord bot
    /// the value names if it is a bot token.
    Present {
        digest: String,
        bot_user_id: Option<u64>,
    },
}

/// The last read value of each referenced Secret key, with the Secret's `resourceVersion` then:
/// a Secret whose stored version is unchanged is not read again.
#[derive(Default)]
pub(crate) struct SecretValues {
    read: Mutex<HashMap<SecretKeyId, ReadValue>>,
}

/// A key of a Secret.
#[derive(Hash, PartialEq, Eq)]
struct SecretKeyId {
    namespace: String,
    name: String,
    key: String,
}

impl SecretKeyId {
    fn new(namespace: &str, name: &str, key: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// A key's value as read with its Secret at `resource_version`.
struct ReadValue {
    resource_version: String,
    value: SecretKeyValue,
}

impl SecretValues {
    /// The value of `key` in the Secret `namespace/name`, if it was read at `resource_version`.
    pub(crate) fn get(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        resource_version: &str,
    ) -> Option<SecretKeyValue> {
        let read = self.read.lock().ok()?;
        read.get(&SecretKeyId::new(namespace, name, key))
            .filter(|read| read.resource_version == resource_version)
            .map(|read| read.value.clone())
    }

    /// Records what `key` in the Secret `namespace/name` held at `resource_version`.
    pub(crate) fn record(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        resource_version: &str,
        value: SecretKeyValue,
    ) {
        if let Ok(mut read) = self.read.lock() {
            read.insert(
                SecretKeyId::new(namespace, name, key),
                ReadValue {
                    resource_version: resource_version.to_owned(),
                    value,
                },
            );
        }
    }
}

/// What the operator last applied to each child (by kind, namespace and name): a digest of the
/// desired object and the `resourceVersion` the API server answered with. A child that still has
/// that version was changed by nobody since (every write moves it), so applying the same desired
/// object again would change nothing.
#[derive(Default)]
pub(crate) struct AppliedChildren {
    applied: Mutex<HashMap<ChildId, AppliedChild>>,
}

/// A child by kind, namespace and name.
#[derive(Hash, PartialEq, Eq)]
struct ChildId {
    kind: &'static str,
    namespace: String,
    name: String,
}

/// What one apply sent (as a digest) and the version it left the object at.
struct AppliedChild {
    digest: u64,
    resource_version: String,
}

fn digest<K: Serialize>(desired: &K) -> Option<u64> {
    // The Kubernetes types keep their maps sorted, so equal objects serialize equally.
    let bytes = serde_json::to_vec(desired).ok()?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

fn child_id(kind: &'static str, metadata: &ObjectMeta) -> ChildId {
    ChildId {
        kind,
        namespace: metadata.namespace.clone().unwrap_or_default(),
        name: metadata.name.clone().unwrap_or_default(),
    }
}

impl AppliedChildren {
    /// Whether `desired` is what was last applied to the object that now stands as `current`.
    pub(crate) fn unchanged<K: Resource + Serialize>(
        &self,
        kind: &'static str,
        desired: &K,
        current: Option<&ObjectMeta>,
    ) -> bool {
        let (Some(current), Some(digest)) = (current, digest(desired)) else {
            return false;
        };
        let Some(version) = current.resource_version.as_deref() else {
            return false;
        };
        self.applied.lock().is_ok_and(|applied| {
            applied
                .get(&child_id(kind, desired.meta()))
                .is_some_and(|applied| {
                    applied.digest == digest && applied.resource_version == version
                })
        })
    }

    /// Records that applying `desired` left the object as `applied`.
    pub(crate) fn record<K: Resource + Serialize>(
        &self,
        kind: &'static str,
        desired: &K,
        applied: &ObjectMeta,
    ) {
        let (Some(digest), Some(version)) = (digest(desired), applied.resource_version.clone())
        else {
            return;
        };
        if let Ok(mut children) = self.applied.lock() {
            children.insert(
                child_id(kind, desired.meta()),
                AppliedChild {
                    digest,
                    resource_version: version,
                },
            );
        }
    }

    /// Forgets the children named `names` in `namespace` (their bot is gone).
    pub(crate) fn forget(&self, namespace: &str, names: &[String]) {
        if let Ok(mut children) = self.applied.lock() {
            children
                .retain(|child, _| child.namespace != namespace || !names.contains(&child.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn config_map(value: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("bot-config".to_owned()),
                namespace: Some("tickets".to_owned()),
                ..ObjectMeta::default()
            },
            data: Some([("config.yaml".to_owned(), value.to_owned())].into()),
            ..ConfigMap::default()
        }
    }

    fn at_version(version: &str) -> ObjectMeta {
        ObjectMeta {
            resource_version: Some(version.to_owned()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn the_same_desired_child_at_the_version_our_apply_left_is_unchanged() {
        let applied = AppliedChildren::default();
        let desired = config_map("a");
        assert!(!applied.unchanged("ConfigMap", &desired, Some(&at_version("7"))));
        applied.record("ConfigMap", &desired, &at_version("7"));
        assert!(applied.unchanged("ConfigMap", &desired, Some(&at_version("7"))));
    }

    #[test]
    fn another_desired_child_a_newer_version_or_no_object_is_applied() {
        let applied = AppliedChildren::default();
        applied.record("ConfigMap", &config_map("a"), &at_version("7"));
        assert!(!applied.unchanged("ConfigMap", &config_map("b"), Some(&at_version("7"))));
        assert!(!applied.unchanged("ConfigMap", &config_map("a"), Some(&at_version("8"))));
        assert!(!applied.unchanged("ConfigMap", &config_map("a"), None));
        assert!(!applied.unchanged("Service", &config_map("a"), Some(&at_version("7"))));
    }

    #[test]
    fn a_forgotten_bot_s_children_are_applied_again() {
        let applied = AppliedChildren::default();
        applied.record("ConfigMap", &config_map("a"), &at_version("7"));
        applied.forget("tickets", &["bot-config".to_owned()]);
        assert!(!applied.unchanged("ConfigMap", &config_map("a"), Some(&at_version("7"))));
    }

    #[test]
    fn a_secret_key_is_read_again_once_the_secret_changed() {
        let values = SecretValues::default();
        let present = SecretKeyValue::Present {
            digest: "0a".to_owned(),
            bot_user_id: None,
        };
        values.record("tickets", "token", "token", "3", present.clone());
        assert_eq!(values.get("tickets", "token", "token", "3"), Some(present));
        assert_eq!(values.get("tickets", "token", "token", "4"), None);
        assert_eq!(values.get("tickets", "token", "other", "3"), None);
    }
}
