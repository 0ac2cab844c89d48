//! The two controllers: TicketBot (children + bot status) and TicketCategory (category status).
//!
//! Each reconcile is dereference → validate → build (pure, [`crate::builders`]) → apply
//! (server-side, one field manager) → status (written only when it changed).
//!
//! Once a bot's Deployment is available, its reconcile also reads the bot's `/status` and keeps
//! the report in the [`Context`]; when the report changes it reconciles that bot's categories,
//! whose `Ready`, `panelMessageId` and `openTickets` follow the report. The category controller
//! is thus the only writer of category status, and the bot (which asks Discord to build the
//! report) is asked once per bot reconcile, not once per category.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Patch, PatchParams};
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store, reflector};
use kube::runtime::{Controller, Predicate, PredicateConfig, WatchStreamExt, predicates, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tracing::{Instrument, debug, field, info, info_span, warn};

use crate::bot_status::{self, StatusClient, StatusFetchError};
use crate::builders::{self, BuildError, BuildSettings, MANAGED_BY_LABEL, MANAGER};
use crate::caches::{
    self, AppliedChildren, Caches, CategoryStore, SecretKeyValue, SecretValues, cached,
};
use crate::crd::{SecretKeyRef, TicketBot, TicketCategory};
use crate::discord_token;
use crate::error::{Error, Result};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::policy::{self, Policy};
use crate::status::{self, BotReport, Observed, bot_condition, category_condition};

/// The `controller` label of the TicketBot controller's metrics.
pub const BOT_CONTROLLER: &str = "ticketbot";
/// The `controller` label of the TicketCategory controller's metrics.
pub const CATEGORY_CONTROLLER: &str = "ticketcategory";

/// Per-object exponential backoff for failed reconciles (kube-runtime has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl BackoffPolicy {
    /// The delay before retrying after `failures` consecutive failures (at least 1), given
    /// `jitter` in `[0, 1)`: `base · 2^(failures−1)` capped at `max`, scaled into its upper half
    /// so that many objects failing together spread their retries.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1_u32 << exponent).min(self.max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Settings of the controllers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// What the builders need (the default bot image).
    pub build: BuildSettings,
    /// What TicketBots may ask for beyond the defaults (nothing, by default).
    pub policy: Policy,
    /// How often a converged object is reconciled again to repair drift (jittered ±10 %).
    pub drift_requeue: Duration,
    /// Backoff for failed reconciles.
    pub backoff: BackoffPolicy,
    /// This operator instance's name in Events (its pod name).
    pub instance: String,
    /// Where a bot's `/status` is, with `{name}` and `{namespace}` standing for the TicketBot's;
    /// by default its Service (`http://{name}.{namespace}.svc:8080/status`).
    pub status_url: String,
    /// How long to wait for a bot's `/status`.
    pub status_timeout: Duration,
    /// How soon a bot is reconciled (and its `/status` read) again while its report is not
    /// settled (unreachable, a panel missing, a problem reported); jittered ±10 %.
    pub status_requeue: Duration,
    /// The shortest time between two reads of one bot's `/status`: building the report costs the
    /// bot Discord API calls, and reconciles can come in bursts.
    pub status_min_interval: Duration,
    /// How long a deleted TicketBot is held for its bot to remove its panels from Discord,
    /// counted from the deletion; after that it is released with a Warning Event.
    pub panel_cleanup_timeout: Duration,
    /// How often a deleted TicketBot's `/status` is read while its panels remain.
    pub panel_cleanup_poll: Duration,
    /// How many objects each controller reconciles at once (never one object twice at once),
    /// 0 for no bound: bounds the operator's burst of API requests and memory when it starts
    /// with many TicketBots, each reconcile being a dozen requests.
    pub concurrency: u16,
    /// How long a category's first status waits for its bot's first one. A bot's first status
    /// changes every one of its categories' `Ready` (from "has not reported" to what the bot
    /// reports), so a category written before it is written twice: with a hundred new bots the
    /// operator would send a thousand status writes that are replaced a second later. The wait
    /// is bounded so that a bot whose reconcile keeps failing still leaves its categories a
    /// status.
    pub first_bot_status_wait: Duration,
}

impl Settings {
    /// Production defaults: all namespaces, 5-minute drift repair, 1 s → 5 min backoff.
    pub fn new(default_image: impl Into<String>) -> Self {
        Self {
            namespace: None,
            build: BuildSettings {
                default_image: default_image.into(),
                default_image_pull_secrets: Vec::new(),
            },
            policy: Policy::default(),
            drift_requeue: Duration::from_mins(5),
            backoff: BackoffPolicy {
                base: Duration::from_secs(1),
                max: Duration::from_mins(5),
            },
            instance: "ticketeer-operator".to_owned(),
            status_url: bot_status::default_status_url_template(),
            status_timeout: Duration::from_secs(3),
            status_requeue: Duration::from_secs(30),
            status_min_interval: Duration::from_secs(10),
            panel_cleanup_timeout: Duration::from_mins(1),
            panel_cleanup_poll: Duration::from_secs(2),
            concurrency: 8,
            first_bot_status_wait: Duration::from_secs(20),
        }
    }
}

/// A bot's last report and when it was read.
struct LastReport {
    read_at: Instant,
    report: BotReport,
}

/// The category controller's trigger: the categories to reconcile now.
type CategoryTrigger = mpsc::UnboundedSender<ObjectRef<DeserializeGuard<TicketCategory>>>;

/// Shared state of both controllers.
pub struct Context {
    client: Client,
    settings: Settings,
    metrics: Metrics,
    recorder: Recorder,
    /// Consecutive failures per object (`kind/namespace/name`), for [`BackoffPolicy`].
    failures: Mutex<HashMap<String, u32>>,
    status_client: StatusClient,
    /// The last `/status` report per bot (`namespace/name`), while its Deployment is available.
    reports: Mutex<HashMap<String, LastReport>>,
    /// Set while the controllers run.
    category_trigger: Mutex<Option<CategoryTrigger>>,
    /// Where the controllers report failing watches, for `/healthz`.
    health: Arc<Health>,
    /// The bot whose ConfigMap each category (by key, `namespace/name`) was last applied into:
    /// a category moved to another bot must also reconcile the bot it leaves, and by then its
    /// spec names only the new one.
    rendered_into: Mutex<HashMap<String, String>>,
    /// The Discord bot each TicketBot's token names, with when the TicketBot was created: of
    /// several TicketBots on one Discord bot, the oldest keeps it.
    token_claims: Mutex<HashMap<String, (i64, u64)>>,
    /// The referenced Secret keys' digests, by the Secrets' versions.
    secret_values: SecretValues,
    /// What was last applied to each child.
    applied: AppliedChildren,
    /// The categories (by key) whose status waits for their bot's first status, since when.
    awaiting_bot_status: Mutex<HashMap<String, Instant>>,
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

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn watched<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.settings.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        }
    }

    fn drift_requeue(&self) -> Action {
        jittered_requeue(self.settings.drift_requeue)
    }

    /// The last report of the bot `key` (`namespace/name`), if one was read.
    fn report(&self, key: &str) -> Option<BotReport> {
        let reports = self.reports.lock().ok()?;
        reports.get(key).map(|last| last.report.clone())
    }

    fn forget_report(&self, key: &str) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.remove(key);
        }
    }

    /// Reads the `/status` of the bot `name` in `namespace` (or reuses a report younger than
    /// [`Settings::status_min_interval`]), stores it, and says whether it differs from the last.
    async fn poll_report(&self, namespace: &str, name: &str) -> (BotReport, bool) {
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
    fn reconcile_categories(&self, categories: &[TicketCategory]) {
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
    fn claim_token(&self, key: &str, bot: &TicketBot, bot_user_id: u64) -> Option<String> {
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
    fn release_token(&self, key: &str) {
        if let Ok(mut claims) = self.token_claims.lock() {
            claims.remove(key);
        }
    }

    /// Records that the ConfigMap of the bot `name` in `namespace` now holds exactly the
    /// categories `keys`.
    fn record_rendered(&self, namespace: &str, name: &str, keys: &[String]) {
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
    fn bots_of_category(
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
    fn wait_for_first_bot_status(&self, key: &str) -> Option<Duration> {
        let wait = self.settings.first_bot_status_wait;
        let mut waiting = self.awaiting_bot_status.lock().ok()?;
        // A category deleted while waiting is never reconciled again to remove its entry; one
        // whose wait is over keeps it until its status is written, so that it waits only once.
        waiting.retain(|_, since| since.elapsed() < wait.saturating_mul(4));
        let since = *waiting.entry(key.to_owned()).or_insert_with(Instant::now);
        wait.checked_sub(since.elapsed())
            .filter(|left| !left.is_zero())
    }

    fn stop_waiting_for_bot_status(&self, key: &str) {
        if let Ok(mut waiting) = self.awaiting_bot_status.lock() {
            waiting.remove(key);
        }
    }

    fn reset_failures(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }

    fn next_backoff(&self, key: &str) -> Duration {
        let count = self.failures.lock().map_or(1, |mut failures| {
            let count = failures.entry(key.to_owned()).or_insert(0);
            *count = count.saturating_add(1);
            *count
        });
        self.settings
            .backoff
            .delay(count, rand::rng().random_range(0.0..1.0))
    }

    async fn warn(&self, reference: &ObjectReference, reason: &str, note: String, action: &str) {
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

fn jittered_requeue(delay: Duration) -> Action {
    let jitter = rand::rng().random_range(0.9..1.1);
    Action::requeue(delay.mul_f64(jitter))
}

fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
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
fn name_and_namespace<K: Resource<DynamicType = ()>>(object: &K) -> Result<(String, String)> {
    let name = object.name_any();
    match object.namespace() {
        Some(namespace) => Ok((name, namespace)),
        None => Err(Error::MissingNamespace {
            kind: kind_name::<K>(),
            name,
        }),
    }
}

fn now() -> Time {
    // The API server stores times with second precision; rounding here keeps a re-read status
    // equal to the one written.
    let seconds = jiff::Timestamp::now().as_second();
    Time(jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

async fn apply<K>(api: &Api<K>, object: &K) -> Result<K>
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

fn kind_name<K: Resource<DynamicType = ()>>() -> &'static str {
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

/// What the referenced Secrets look like: problems to report, and a digest of each key's value.
struct SecretCheck {
    problems: Vec<Observed>,
    digests: Vec<String>,
    /// The Discord bot the token names (see [`discord_token`]).
    bot_user_id: Option<u64>,
}

async fn check_secrets(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    bot: &TicketBot,
) -> Result<SecretCheck> {
    let mut check = SecretCheck {
        problems: Vec::new(),
        digests: Vec::new(),
        bot_user_id: None,
    };
    let references: [(&str, &SecretKeyRef); 2] = [
        ("tokenSecretRef", &bot.spec.token_secret_ref),
        ("databaseSecretRef", &bot.spec.database_secret_ref),
    ];
    for (field, reference) in references {
        let problem = match read_secret_key(ctx, caches, namespace, reference).await? {
            None => Observed::yes(
                bot_condition::DEGRADED,
                "SecretNotFound",
                format!(
                    "Secret {} (spec.{field}) does not exist in namespace {namespace}; create it with key {}",
                    reference.name, reference.key
                ),
            ),
            Some(SecretKeyValue::KeyMissing) => Observed::yes(
                bot_condition::DEGRADED,
                "SecretKeyMissing",
                format!(
                    "Secret {} has no key {} (spec.{field})",
                    reference.name, reference.key
                ),
            ),
            Some(SecretKeyValue::Present {
                digest,
                bot_user_id,
            }) => {
                if field == "tokenSecretRef" {
                    check.bot_user_id = bot_user_id;
                }
                check.digests.push(digest);
                continue;
            }
        };
        check.problems.push(problem);
        // A slot per reference, so the Secret appearing later changes the pod hash and rolls.
        check.digests.push(format!("missing:{}", reference.name));
    }
    Ok(check)
}

/// What the key `reference` names holds (`None`: no such Secret). Read by GET only when the
/// Secret's cached version is not the one it was last read at.
async fn read_secret_key(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<Option<SecretKeyValue>> {
    let cached_version = cached(&caches.secrets, namespace, &reference.name)
        .and_then(|secret| secret.metadata.resource_version);
    if let Some(known) = cached_version.as_deref().and_then(|version| {
        ctx.secret_values
            .get(namespace, &reference.name, &reference.key, version)
    }) {
        return Ok(Some(known));
    }
    let secret = ctx
        .api::<Secret>(namespace)
        .get_opt(&reference.name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.to_owned(),
            name: reference.name.clone(),
            source,
        })?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let data = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .map(|bytes| bytes.0.clone());
    let string_data = secret
        .string_data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .map(|text| text.as_bytes().to_vec());
    let value = match data.or(string_data) {
        None => SecretKeyValue::KeyMissing,
        Some(value) => SecretKeyValue::Present {
            digest: builders::secret_digest(&value),
            // Only the token's is used; reading it from another key is harmless.
            bot_user_id: std::str::from_utf8(&value)
                .ok()
                .and_then(discord_token::bot_user_id),
        },
    };
    if let Some(version) = secret.metadata.resource_version.as_deref() {
        ctx.secret_values.record(
            namespace,
            &reference.name,
            &reference.key,
            version,
            value.clone(),
        );
    }
    Ok(Some(value))
}

/// The children of one TicketBot, all built before any is applied, so a spec that cannot be
/// built changes nothing.
struct Children {
    service_account: ServiceAccount,
    config_map: ConfigMap,
    service: Service,
    deployment: Deployment,
}

impl Children {
    fn build(
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
    async fn apply(
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
struct Existing {
    service_account: Option<ObjectMeta>,
    config_map: Option<ConfigMap>,
    service: Option<ObjectMeta>,
    deployment: Option<Deployment>,
}

impl Existing {
    /// Looks each child's name up in its cache, and reads it by GET when it is not there (a
    /// stranger's object carries none of the labels the owned watches select on, so only a read
    /// by name finds it).
    /// The reads run at once: a new bot's first reconcile finds none of its four children.
    async fn read(ctx: &Context, caches: &Caches, namespace: &str, name: &str) -> Result<Self> {
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
    fn foreign(&self, bot: &TicketBot, namespace: &str) -> Option<Error> {
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

/// The finalizer that holds a deleted TicketBot until its bot has removed its panels from
/// Discord (or [`Settings::panel_cleanup_timeout`] has passed).
pub const PANELS_FINALIZER: &str = "ticketeer.dev/panels";

/// The TicketBot reconcile behind [`PANELS_FINALIZER`]: [`reconcile_bot_object`] while the bot
/// lives, [`clean_up_bot`] once it is deleted.
async fn reconcile_bot_with_finalizer(
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
/// [`Settings::panel_cleanup_timeout`] in any case.
///
/// # Errors
///
/// [`Error::PanelsRemaining`] while waiting (retried every [`Settings::panel_cleanup_poll`]);
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
        .map(|status| status.conditions.clone())
        .unwrap_or_default();
    if bot.status.as_ref() != Some(&new_status) {
        write_status(
            &ctx.api::<TicketBot>(&namespace),
            "TicketBot",
            &namespace,
            &name,
            &new_status,
        )
        .await?;
    }
    let reference = bot.object_ref(&());
    if status::became(
        &previous_conditions,
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
        &previous_conditions,
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

async fn write_status<K, S>(
    api: &Api<K>,
    kind: &'static str,
    namespace: &str,
    name: &str,
    status: &S,
) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
    S: Serialize,
{
    let params = PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api.patch_status(
        name,
        &params,
        &Patch::Merge(serde_json::json!({ "status": status })),
    )
    .await
    .map_err(|source| Error::WriteStatus {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        source,
    })?;
    Ok(())
}

/// The TicketCategory reconcile: `Accepted` and `Ready`.
async fn reconcile_category_object(
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
        .map(|status| status.conditions.clone())
        .unwrap_or_default();
    if category.status.as_ref() != Some(&new_status) {
        write_status(
            &ctx.api::<TicketCategory>(&namespace),
            "TicketCategory",
            &namespace,
            &name,
            &new_status,
        )
        .await?;
    }
    if status::became(
        &previous_conditions,
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

/// The TicketBots in the Secret's namespace whose `tokenSecretRef` or `databaseSecretRef` names it.
fn bots_referencing(
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

/// The objects of `events` whose hash under `predicate` changed (a [`predicates::generation`]
/// one: their spec), plus every deleted object: what the other controller must react to, without
/// the status writes it would otherwise be woken by.
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

/// What a category's status takes from its bot besides its spec: the `Ready` condition.
fn bot_readiness(guard: &DeserializeGuard<TicketBot>) -> Option<u64> {
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
    let (bot_health, category_health) = (ctx.health.clone(), ctx.health.clone());
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
    let (secrets_reader, secrets_writer) = reflector::store();
    let secrets = reflector(
        secrets_writer,
        watcher(
            ctx.watched::<PartialObjectMeta<Secret>>(),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(caches::slim),
    )
    .touched_objects()
    .predicate_filter(predicates::resource_version, PredicateConfig::default());
    let referencing = bot_store.clone();
    // The bot controller's own cache of the categories, filled by the watch that triggers its
    // reconciles: the reflector stores each change before passing it on, so a reconcile never
    // reads an older category than the one that triggered it (the category controller's cache
    // is fed by another watch, which may lag behind this one).
    let (categories_reader, categories_writer) = reflector::store();
    // A bot renders its categories' specs only: their status writes must not reconcile it.
    let category_changes = changed_or_deleted(
        reflector(
            categories_writer,
            watcher(
                ctx.watched::<DeserializeGuard<TicketCategory>>(),
                watcher::Config::default(),
            )
            .default_backoff(),
        ),
        predicates::generation,
    );
    // The children, cached by the watches that reconcile their bot when they change.
    let (service_accounts, service_accounts_writer) = reflector::store();
    let service_account_changes = reflector(
        service_accounts_writer,
        watcher(
            ctx.watched::<PartialObjectMeta<ServiceAccount>>(),
            owned.clone(),
        )
        .default_backoff()
        .modify(caches::slim),
    )
    .touched_objects();
    let (services, services_writer) = reflector::store();
    let service_changes = reflector(
        services_writer,
        watcher(ctx.watched::<PartialObjectMeta<Service>>(), owned.clone())
            .default_backoff()
            .modify(caches::slim),
    )
    .touched_objects();
    let (config_maps, config_maps_writer) = reflector::store();
    let config_map_changes = reflector(
        config_maps_writer,
        watcher(ctx.watched::<ConfigMap>(), owned.clone())
            .default_backoff()
            .modify(caches::slim_config_map),
    )
    .touched_objects();
    let (deployments, deployments_writer) = reflector::store();
    let deployment_changes = reflector(
        deployments_writer,
        watcher(ctx.watched::<Deployment>(), owned)
            .default_backoff()
            .modify(caches::slim_deployment),
    )
    .touched_objects();
    let (bots_reader, bots_writer) = reflector::store();
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
    let bots = bot_controller
        .owns_stream(config_map_changes)
        .owns_stream(service_account_changes)
        .owns_stream(service_changes)
        .owns_stream(deployment_changes)
        .watches_stream(secrets, move |secret| {
            bots_referencing(&referencing, &secret)
        })
        .watches_stream(category_changes, move |guard| {
            moved_from.bots_of_category(&guard)
        })
        .graceful_shutdown_on(shutdown.clone())
        .run(
            move |guard, ctx| {
                let caches = bot_caches.clone();
                reconcile_guarded(BOT_CONTROLLER, guard, ctx, |guard, ctx| async move {
                    match &guard.0 {
                        Ok(bot) => Box::pin(reconcile_bot_with_finalizer(bot, &ctx, &caches)).await,
                        Err(_) => Ok(Action::await_change()),
                    }
                })
            },
            |guard, error, ctx| error_policy(&guard, error, &ctx),
            ctx.clone(),
        )
        .for_each(|result| {
            bot_health.observe_controller(&result);
            async move {
                if let Err(error) = result {
                    warn!(%error, "TicketBot controller");
                }
            }
        });

    let categories = category_store.clone();
    let categories = category_controller
        .reconcile_on(triggered)
        .watches_stream(
            // A category's status follows its bot's spec and Ready condition, not the rest of
            // the bot's status (replica counts, times).
            changed_or_deleted(
                reflector(
                    bots_writer,
                    watcher(
                        ctx.watched::<DeserializeGuard<TicketBot>>(),
                        watcher::Config::default(),
                    )
                    .default_backoff(),
                ),
                predicates::generation.combine(bot_readiness),
            ),
            move |guard| {
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
            },
        )
        .graceful_shutdown_on(shutdown.clone())
        .run(
            move |guard, ctx| {
                let caches = caches.clone();
                reconcile_guarded(CATEGORY_CONTROLLER, guard, ctx, |guard, ctx| async move {
                    match &guard.0 {
                        Ok(category) => reconcile_category_object(category, &ctx, &caches).await,
                        Err(_) => Ok(Action::await_change()),
                    }
                })
            },
            |guard, error, ctx| error_policy(&guard, error, &ctx),
            ctx.clone(),
        )
        .for_each(|result| {
            category_health.observe_controller(&result);
            async move {
                if let Err(error) = result {
                    warn!(%error, "TicketCategory controller");
                }
            }
        });
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
