//! The [`Context`] both controllers share, and the small helpers every reconcile uses: object
//! keys, a namespaced object's name, the status time stamp and the status write.
//!
//! Apart from the reconciles because it is their common ground: each reconcile room reads it and
//! none of them is read by it.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, Resource, ResourceExt};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::settings::Settings;
use crate::bot_status::{self, StatusClient, StatusFetchError};
use crate::builders::MANAGER;
use crate::caches::{AppliedChildren, SecretValues};
use crate::crd::{TicketBot, TicketCategory};
use crate::discord_token;
use crate::error::{Error, Result};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::status::{self, BotReport};

/// A bot's last report and when it was read.
pub(super) struct LastReport {
    read_at: Instant,
    report: BotReport,
}

/// The category controller's trigger: the categories to reconcile now.
type CategoryTrigger = mpsc::UnboundedSender<ObjectRef<DeserializeGuard<TicketCategory>>>;

/// Shared state of both controllers.
pub struct Context {
    pub(super) client: Client,
    pub(super) settings: Settings,
    pub(super) metrics: Metrics,
    pub(super) recorder: Recorder,
    /// Consecutive failures per object (`kind/namespace/name`), for [`BackoffPolicy`](super::settings::BackoffPolicy).
    pub(super) failures: Mutex<HashMap<String, u32>>,
    pub(super) status_client: StatusClient,
    /// The last `/status` report per bot (`namespace/name`), while its Deployment is available.
    pub(super) reports: Mutex<HashMap<String, LastReport>>,
    /// Set while the controllers run.
    pub(super) category_trigger: Mutex<Option<CategoryTrigger>>,
    /// Where the controllers report failing watches, for `/healthz`.
    pub(super) health: Arc<Health>,
    /// The bot whose ConfigMap each category (by key, `namespace/name`) was last applied into:
    /// a category moved to another bot must also reconcile the bot it leaves, and by then its
    /// spec names only the new one.
    pub(super) rendered_into: Mutex<HashMap<String, String>>,
    /// The Discord bot each TicketBot's token names, with when the TicketBot was created: of
    /// several TicketBots on one Discord bot, the oldest keeps it.
    pub(super) token_claims: Mutex<HashMap<String, (i64, u64)>>,
    /// The referenced Secret keys' digests, by the Secrets' versions.
    pub(super) secret_values: SecretValues,
    /// What was last applied to each child.
    pub(super) applied: AppliedChildren,
    /// The categories (by key) whose status waits for their bot's first status, since when.
    pub(super) awaiting_bot_status: Mutex<HashMap<String, Instant>>,
}

impl Context {
    /// Creates the context.
    ///
    /// # Errors
    ///
    /// [`StatusFetchError::BuildClient`] when the HTTP client for the bots' `/status` cannot be
    /// created.
    pub fn new(
        client: Client,
        settings: Settings,
        metrics: Metrics,
    ) -> Result<Self, StatusFetchError> {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.to_owned(),
                instance: Some(settings.instance.clone()),
            },
        );
        let status_client = StatusClient::new(settings.status_timeout)?;
        Ok(Self {
            client,
            settings,
            metrics,
            recorder,
            failures: Mutex::new(HashMap::new()),
            status_client,
            reports: Mutex::new(HashMap::new()),
            category_trigger: Mutex::new(None),
            health: Arc::new(Health::default()),
            rendered_into: Mutex::new(HashMap::new()),
            token_claims: Mutex::new(HashMap::new()),
            secret_values: SecretValues::default(),
            applied: AppliedChildren::default(),
            awaiting_bot_status: Mutex::new(HashMap::new()),
        })
    }

    /// Reports to `health` instead of a record of its own.
    #[must_use]
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = health;
        self
    }

    pub(super) fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub(super) fn watched<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.settings.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        }
    }

    pub(super) fn drift_requeue(&self) -> Action {
        jittered_requeue(self.settings.drift_requeue)
    }

    /// The last report of the bot `key` (`namespace/name`), if one was read.
    pub(super) fn report(&self, key: &str) -> Option<BotReport> {
        let reports = self.reports.lock().ok()?;
        reports.get(key).map(|last| last.report.clone())
    }

    pub(super) fn forget_report(&self, key: &str) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.remove(key);
        }
    }

    /// Reads the `/status` of the bot `name` in `namespace` (or reuses a report younger than
    /// [`Settings::status_min_interval`]), stores it, and says whether it differs from the last.
    pub(super) async fn poll_report(&self, namespace: &str, name: &str) -> (BotReport, bool) {
        let key = format!("{namespace}/{name}");
        let recent = self.reports.lock().ok().and_then(|reports| {
            reports
                .get(&key)
                .filter(|last| last.read_at.elapsed() < self.settings.status_min_interval)
                .map(|last| last.report.clone())
        });
        if let Some(report) = recent {
            return (report, false);
        }
        let url = bot_status::status_url(&self.settings.status_url, name, namespace);
        let report = match self.status_client.fetch(&url).await {
            Ok(report) => BotReport::Reported(report),
            Err(error) => {
                debug!(%error, "the bot's /status is unreachable");
                BotReport::Unreachable(status::bounded_message(&error.to_string()))
            }
        };
        let changed = self.reports.lock().map_or(true, |mut reports| {
            let previous = reports.insert(
                key,
                LastReport {
                    read_at: Instant::now(),
                    report: report.clone(),
                },
            );
            previous.is_none_or(|previous| previous.report != report)
        });
        (report, changed)
    }

    /// Asks the category controller to reconcile `categories` now.
    pub(super) fn reconcile_categories(&self, categories: &[TicketCategory]) {
        let Ok(trigger) = self.category_trigger.lock() else {
            return;
        };
        let Some(trigger) = trigger.as_ref() else {
            return;
        };
        for category in categories {
            if let Some(namespace) = category.namespace() {
                // The receiver lives as long as the controllers; when they stop, nothing is owed.
                let _ = trigger.send(ObjectRef::new(&category.name_any()).within(&namespace));
            }
        }
    }

    /// Records that the TicketBot `key` runs the Discord bot `bot_user_id`; returns the TicketBot
    /// that keeps that Discord bot when it is another one (an older claim, or the first by name).
    pub(super) fn claim_token(
        &self,
        key: &str,
        bot: &TicketBot,
        bot_user_id: u64,
    ) -> Option<String> {
        let created = bot
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(i64::MAX, |time| time.0.as_second());
        let Ok(mut claims) = self.token_claims.lock() else {
            return None;
        };
        claims.insert(key.to_owned(), (created, bot_user_id));
        let keeper = discord_token::keeper(
            claims
                .iter()
                .filter(|(_, (_, id))| *id == bot_user_id)
                .map(|(claimant, (created, _))| (claimant.as_str(), *created)),
        )?;
        (keeper != key).then(|| keeper.to_owned())
    }

    /// Forgets the Discord bot of a deleted TicketBot.
    pub(super) fn release_token(&self, key: &str) {
        if let Ok(mut claims) = self.token_claims.lock() {
            claims.remove(key);
        }
    }

    /// Records that the ConfigMap of the bot `name` in `namespace` now holds exactly the
    /// categories `keys`.
    pub(super) fn record_rendered(&self, namespace: &str, name: &str, keys: &[String]) {
        let Ok(mut rendered) = self.rendered_into.lock() else {
            return;
        };
        let prefix = format!("{namespace}/");
        rendered.retain(|key, bot| bot != name || !key.starts_with(&prefix));
        for key in keys {
            rendered.insert(key.clone(), name.to_owned());
        }
    }

    /// The bots to reconcile when `guard` changed: the one its spec names and the one whose
    /// ConfigMap it was last applied into, if that is another.
    pub(super) fn bots_of_category(
        &self,
        guard: &DeserializeGuard<TicketCategory>,
    ) -> Vec<ObjectRef<DeserializeGuard<TicketBot>>> {
        let Some(namespace) = guard.meta().namespace.clone() else {
            return Vec::new();
        };
        let key = format!(
            "{namespace}/{}",
            guard.meta().name.clone().unwrap_or_default()
        );
        let rendered = self
            .rendered_into
            .lock()
            .ok()
            .and_then(|rendered| rendered.get(&key).cloned());
        let named = guard
            .0
            .as_ref()
            .ok()
            .map(|category| category.spec.bot_ref.name.clone());
        let mut bots: Vec<String> = named.into_iter().chain(rendered).collect();
        bots.dedup();
        bots.into_iter()
            .map(|bot| ObjectRef::new(&bot).within(&namespace))
            .collect()
    }

    /// Whether the status of the category `key` still waits for its bot's first status: for how
    /// much longer, or `None` once [`Settings::first_bot_status_wait`] has passed since it began
    /// waiting.
    pub(super) fn wait_for_first_bot_status(&self, key: &str) -> Option<Duration> {
        let wait = self.settings.first_bot_status_wait;
        let mut waiting = self.awaiting_bot_status.lock().ok()?;
        // A category deleted while waiting is never reconciled again to remove its entry; one
        // whose wait is over keeps it until its status is written, so that it waits only once.
        waiting.retain(|_, since| since.elapsed() < wait.saturating_mul(4));
        let since = *waiting.entry(key.to_owned()).or_insert_with(Instant::now);
        wait.checked_sub(since.elapsed())
            .filter(|left| !left.is_zero())
    }

    pub(super) fn stop_waiting_for_bot_status(&self, key: &str) {
        if let Ok(mut waiting) = self.awaiting_bot_status.lock() {
            waiting.remove(key);
        }
    }

    pub(super) fn reset_failures(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }

    pub(super) fn next_backoff(&self, key: &str) -> Duration {
        let count = self.failures.lock().map_or(1, |mut failures| {
            let count = failures.entry(key.to_owned()).or_insert(0);
            *count = count.saturating_add(1);
            *count
        });
        self.settings
            .backoff
            .delay(count, rand::rng().random_range(0.0..1.0))
    }

    pub(super) async fn warn(
        &self,
        reference: &ObjectReference,
        reason: &str,
        note: String,
        action: &str,
    ) {
        let event = Event {
            type_: EventType::Warning,
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, reference).await {
            // An Event is a courtesy to people; failing to post one must not fail the reconcile.
            warn!(%error, reason, "could not publish a Warning event");
        }
    }
}

pub(super) fn jittered_requeue(delay: Duration) -> Action {
    let jitter = rand::rng().random_range(0.9..1.1);
    Action::requeue(delay.mul_f64(jitter))
}

pub(super) fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.clone().unwrap_or_default(),
        object.meta().name.clone().unwrap_or_default()
    )
}

/// The object's name and namespace; both our resources are namespaced, so a missing namespace
/// means the API server sent something unexpected.
#[expect(
    clippy::result_large_err,
    reason = "the crate's one error type, which every caller returns on as it is"
)]
pub(super) fn name_and_namespace<K: Resource<DynamicType = ()>>(
    object: &K,
) -> Result<(String, String)> {
    let name = object.name_any();
    match object.namespace() {
        Some(namespace) => Ok((name, namespace)),
        None => Err(Error::MissingNamespace {
            kind: kind_name::<K>(),
            name,
        }),
    }
}

pub(super) fn now() -> Time {
    // The API server stores times with second precision; rounding here keeps a re-read status
    // equal to the one written.
    let seconds = jiff::Timestamp::now().as_second();
    Time(jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

pub(super) fn kind_name<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()).as_ref() {
        "ConfigMap" => "ConfigMap",
        "ServiceAccount" => "ServiceAccount",
        "Service" => "Service",
        "Deployment" => "Deployment",
        "TicketBot" => "TicketBot",
        "TicketCategory" => "TicketCategory",
        _ => "object",
    }
}

/// Writes `status` as the status of the `K` named `name` in `namespace` (a merge patch under the
/// operator's field manager), unless `current`, the status it has, is `status` already.
pub(super) async fn write_status<K, S>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    current: Option<&S>,
    status: &S,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let params = PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    };
    ctx.api::<K>(namespace)
        .patch_status(
            name,
            &params,
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await
        .map_err(|source| Error::WriteStatus {
            kind: kind_name::<K>(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        })?;
    Ok(())
}
