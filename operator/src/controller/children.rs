//! A TicketBot's four children (ServiceAccount, ConfigMap, Service, Deployment): built together,
//! read where they stand (from the caches, or by name), and applied only when they changed.
//!
//! Apart from the bot reconcile because this is where the operator writes objects other than its
//! own resources' status: the apply, its refusals and the reads that come before it.

use std::fmt::Debug;
use std::future::Future;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, kind_name};
use crate::builders::{self, BuildError, BuildSettings, MANAGER};
use crate::caches::{Caches, cached};
use crate::crd::TicketBot;
use crate::error::{Error, Result};

pub(super) async fn apply<K>(api: &Api<K>, object: &K) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let name = object.meta().name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(|source| {
        let kind = kind_name::<K>();
        let namespace = object.meta().namespace.clone().unwrap_or_default();
        match permanent_refusal(&source) {
            Some((code, message)) => Error::ChildRejected {
                kind,
                namespace,
                name,
                code,
                message,
            },
            None => Error::ApplyChild {
                kind,
                namespace,
                name,
                source,
            },
        }
    })
}

/// The code and message of an answer that retrying cannot change: the object is invalid (422),
/// malformed (400) or not allowed (403). Anything else (conflicts, throttling, server and
/// network faults) is transient.
fn permanent_refusal(error: &kube::Error) -> Option<(u16, String)> {
    match error {
        kube::Error::Api(status) if matches!(status.code, 400 | 403 | 422) => {
            Some((status.code, status.message.clone()))
        }
        _ => None,
    }
}

/// The children of one TicketBot, all built before any is applied, so a spec that cannot be
/// built changes nothing.
pub(super) struct Children {
    service_account: ServiceAccount,
    config_map: ConfigMap,
    service: Service,
    deployment: Deployment,
}

impl Children {
    pub(super) fn build(
        bot: &TicketBot,
        config: &ticketeer_config::BotConfig,
        settings: &BuildSettings,
        secret_digests: &[String],
    ) -> Result<Self, BuildError> {
        Ok(Self {
            service_account: builders::service_account(bot)?,
            config_map: builders::config_map(bot, config)?,
            service: builders::service(bot)?,
            deployment: builders::deployment(bot, settings, secret_digests)?,
        })
    }

    /// Applies the children in order (the ConfigMap before the Deployment that mounts it), each
    /// unless `existing` shows it as our last apply left it, and returns the Deployment.
    ///
    /// # Errors
    ///
    /// [`Error::ChildRejected`] for the first child the API server refuses for good (the ones
    /// after it are left as they are); [`Error::ApplyChild`] for a transient failure.
    pub(super) async fn apply(
        &self,
        ctx: &Context,
        namespace: &str,
        existing: &Existing,
    ) -> Result<Deployment> {
        apply_changed(
            ctx,
            namespace,
            &self.service_account,
            existing.service_account.as_ref(),
        )
        .await?;
        apply_changed(
            ctx,
            namespace,
            &self.config_map,
            existing.config_map.as_ref().map(|object| &object.metadata),
        )
        .await?;
        apply_changed(ctx, namespace, &self.service, existing.service.as_ref()).await?;
        let current = existing.deployment.as_ref();
        let applied = apply_changed(
            ctx,
            namespace,
            &self.deployment,
            current.map(|object| &object.metadata),
        )
        .await?;
        Ok(applied.or_else(|| current.cloned()).unwrap_or_default())
    }
}

/// Applies `desired` unless `current` (the object standing there, as cached) is what our last
/// apply of the same desired object left; returns the applied object, `None` when skipped.
async fn apply_changed<K>(
    ctx: &Context,
    namespace: &str,
    desired: &K,
    current: Option<&ObjectMeta>,
) -> Result<Option<K>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let kind = kind_name::<K>();
    if ctx.applied.unchanged(kind, desired, current) {
        return Ok(None);
    }
    let applied = apply(&ctx.api(namespace), desired).await?;
    ctx.applied.record(kind, desired, applied.meta());
    Ok(Some(applied))
}

/// The objects that stand where a bot's children go: our own from the caches, any other read by
/// name.
pub(super) struct Existing {
    service_account: Option<ObjectMeta>,
    pub(super) config_map: Option<ConfigMap>,
    service: Option<ObjectMeta>,
    pub(super) deployment: Option<Deployment>,
}

impl Existing {
    /// Looks each child's name up in its cache, and reads it by GET when it is not there (a
    /// stranger's object carries none of the labels the owned watches select on, so only a read
    /// by name finds it).
    /// The reads run at once: a new bot's first reconcile finds none of its four children.
    pub(super) async fn read(
        ctx: &Context,
        caches: &Caches,
        namespace: &str,
        name: &str,
    ) -> Result<Self> {
        let config_map_name = builders::config_map_name(name);
        let (service_account, config_map, service, deployment) = futures_util::try_join!(
            cached_or_read(
                cached(&caches.service_accounts, namespace, name).map(|object| object.metadata),
                read_child_metadata::<ServiceAccount>(ctx, namespace, name),
            ),
            cached_or_read(
                cached(&caches.config_maps, namespace, &config_map_name),
                read_child(ctx, namespace, &config_map_name),
            ),
            cached_or_read(
                cached(&caches.services, namespace, name).map(|object| object.metadata),
                read_child_metadata::<Service>(ctx, namespace, name),
            ),
            cached_or_read(
                cached(&caches.deployments, namespace, name),
                read_child(ctx, namespace, name),
            ),
        )?;
        Ok(Self {
            service_account,
            config_map,
            service,
            deployment,
        })
    }

    /// The first object that exists but is not controlled by `bot`, as [`Error::NameConflict`].
    pub(super) fn foreign(&self, bot: &TicketBot, namespace: &str) -> Option<Error> {
        let metadata = [
            ("ServiceAccount", self.service_account.as_ref()),
            (
                "ConfigMap",
                self.config_map.as_ref().map(|object| &object.metadata),
            ),
            ("Service", self.service.as_ref()),
            (
                "Deployment",
                self.deployment.as_ref().map(|object| &object.metadata),
            ),
        ];
        metadata.into_iter().find_map(|(kind, metadata)| {
            let metadata = metadata?;
            (!builders::controlled_by(metadata, bot)).then(|| Error::NameConflict {
                kind,
                namespace: namespace.to_owned(),
                name: metadata.name.clone().unwrap_or_default(),
                bot: bot.name_any(),
            })
        })
    }
}

/// `cached`, or what `read` finds when the cache holds nothing (`read` runs only then).
async fn cached_or_read<T>(
    cached: Option<T>,
    read: impl Future<Output = Result<Option<T>>>,
) -> Result<Option<T>> {
    match cached {
        Some(object) => Ok(Some(object)),
        None => read.await,
    }
}

fn read_child_error<K: Resource<DynamicType = ()>>(
    namespace: &str,
    name: &str,
) -> impl FnOnce(kube::Error) -> Error {
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    move |source| Error::ReadChild {
        kind: kind_name::<K>(),
        namespace,
        name,
        source,
    }
}

async fn read_child<K>(ctx: &Context, namespace: &str, name: &str) -> Result<Option<K>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
{
    ctx.api::<K>(namespace)
        .get_opt(name)
        .await
        .map_err(read_child_error::<K>(namespace, name))
}

async fn read_child_metadata<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<ObjectMeta>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
{
    Ok(ctx
        .api::<K>(namespace)
        .get_metadata_opt(name)
        .await
        .map_err(read_child_error::<K>(namespace, name))?
        .map(|object| object.metadata))
}
