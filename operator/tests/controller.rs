//! The real kube `Controller`s against a real Kubernetes API server (support/cluster.rs): the
//! operator runs in-process, authenticated as the chart's ServiceAccount with exactly the chart's
//! RBAC, and every test ends by checking that the API server refused none of its requests.
//!
//! There is no kubelet and no Deployment controller: a test writes a Deployment's status to stand
//! in for running pods, and support/status_server.rs stands in for the bot's `/status`.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/reconcile_log.rs"]
mod reconcile_log;
#[path = "support/status_server.rs"]
mod status_server;
#[path = "support/wait.rs"]
mod wait;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cluster::{Cluster, api_resource};
use fixtures::{
    Edit, NAMESPACE, billing_json, bot_json, category_json, general_json, secrets_json,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DynamicObject, ListParams, PostParams};
use prometheus_client::registry::Registry;
use reconcile_log::ReconcileLog;
use serde_json::{Value, json};
use status_server::{Answer, StatusServer, entry, healthy, report};
use ticketeer_config::{BotConfig, Problem};
use ticketeer_operator::builders::{MANAGER, POD_INPUTS_HASH_ANNOTATION};
use ticketeer_operator::controller::{
    BOT_CONTROLLER, BackoffPolicy, CATEGORY_CONTROLLER, Context, PANELS_FINALIZER, Settings,
    run_controllers,
};
use ticketeer_operator::crd::TicketBot;
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};
use wait::eventually;

const BOT: &str = "support";
/// Every category key the tests use.
const KEYS: [&str; 4] = [
    "tickets/billing",
    "tickets/general",
    "tickets/orphan",
    "tickets/sales",
];
/// Every kind of object in the examples' namespace the operator reads or writes.
const PLURALS: [&str; 8] = [
    "ticketbots",
    "ticketcategories",
    "configmaps",
    "serviceaccounts",
    "services",
    "deployments",
    "secrets",
    "events",
];

struct Operator {
    metrics: Metrics,
    /// Its reconciles, which the API server's log shows only when they sent a request.
    reconciles: ReconcileLog,
    /// Keeps `reconciles` recording: the tests run on a current-thread runtime, so the thread's
    /// default subscriber sees every task the operator spawns (kube spawns each reconcile), and
    /// the tests of this binary, each on a thread of its own, do not see each other's.
    _recording: tracing::subscriber::DefaultGuard,
    /// The bot's `/status`, healthy for every category in [`KEYS`] until a test changes it.
    status: StatusServer,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Operator {
    /// Runs both controllers in-process as the chart's operator ServiceAccount.
    async fn start(cluster: &Cluster) -> Self {
        Self::start_with(cluster, |_| {}).await
    }

    /// Like [`start`](Self::start), with `adjust` applied to the test settings.
    async fn start_with(cluster: &Cluster, adjust: impl FnOnce(&mut Settings)) -> Self {
        let status = StatusServer::start(Answer::Report(healthy(&KEYS))).await;
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let mut settings = Settings::new("ghcr.io/ticketeer/ticketeer:test");
        settings.drift_requeue = Duration::from_millis(300);
        settings.backoff = BackoffPolicy {
            base: Duration::from_millis(50),
            max: Duration::from_millis(400),
        };
        settings.status_url = status.url();
        settings.status_timeout = Duration::from_millis(500);
        settings.status_requeue = Duration::from_millis(100);
        settings.status_min_interval = Duration::from_millis(50);
        settings.panel_cleanup_poll = Duration::from_millis(100);
        adjust(&mut settings);
        let context = Arc::new(
            Context::new(cluster.operator_client().await, settings, metrics.clone())
                .expect("the context builds"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let reconciles = ReconcileLog::default();
        let logs = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(EnvFilter::new("ticketeer_operator=info"));
        let subscriber = tracing_subscriber::registry()
            .with(reconciles.clone())
            .with(logs);
        let recording = tracing::subscriber::set_default(subscriber);
        let task = tokio::spawn(run_controllers(context, async move {
            let _ = stopped.await;
        }));
        Self {
            metrics,
            reconciles,
            _recording: recording,
            status,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the controllers, then fails the test if the chart's RBAC refused any request the
    /// operator made (every test thereby checks the RBAC on the paths it exercised).
    async fn shut_down(mut self, cluster: &Cluster) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the controllers stop on shutdown")
                .expect("the controllers do not panic");
        }
        cluster.assert_operator_never_refused();
    }

    /// Waits until both controllers have run a couple more rounds of reconciles, so that what
    /// convergence itself triggered has been reconciled (the positive signal a sleep would
    /// only hope for).
    async fn settle(&self) {
        let bots = self.metrics.reconciles(BOT_CONTROLLER);
        let categories = self.metrics.reconciles(CATEGORY_CONTROLLER);
        eventually(
            "the reconciles triggered by convergence have run",
            async || {
                self.metrics.reconciles(BOT_CONTROLLER) >= bots + 2
                    && self.metrics.reconciles(CATEGORY_CONTROLLER) >= categories + 4
            },
        )
        .await;
    }
}

/// A cluster with the example Secrets, bot and its two categories.
async fn seeded() -> Cluster {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot_json()).await;
    cluster.put(billing_json()).await;
    cluster.put(general_json()).await;
    cluster
}

async fn rendered_config(cluster: &Cluster) -> Option<BotConfig> {
    let config_map = cluster
        .get("configmaps", NAMESPACE, "support-config")
        .await?;
    let text = config_map.pointer("/data/config.yaml")?.as_str()?;
    Some(BotConfig::from_yaml(text).expect("the rendered config is valid"))
}

async fn category_keys(cluster: &Cluster) -> Vec<String> {
    rendered_config(cluster)
        .await
        .map(|config| config.categories.keys().cloned().collect())
        .unwrap_or_default()
}

async fn deployment(cluster: &Cluster) -> Option<Value> {
    cluster.get("deployments", NAMESPACE, BOT).await
}

fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// `(status, reason, message)` of a condition of the stored object.
async fn condition(
    cluster: &Cluster,
    plural: &str,
    name: &str,
    type_: &str,
) -> Option<(String, String, String)> {
    let object = cluster.get(plural, NAMESPACE, name).await?;
    let conditions = object.pointer("/status/conditions")?.as_array()?;
    let found = conditions
        .iter()
        .find(|condition| condition["type"] == type_)?;
    let text = |field: &str| found[field].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

async fn condition_status(
    cluster: &Cluster,
    plural: &str,
    name: &str,
    type_: &str,
) -> Option<String> {
    condition(cluster, plural, name, type_)
        .await
        .map(|(status, _, _)| status)
}

/// Writes the Deployment's status as the Deployment controller would once its one pod runs.
async fn make_available(cluster: &Cluster) {
    let current = deployment(cluster).await.expect("the Deployment exists");
    cluster
        .set_status(
            "deployments",
            NAMESPACE,
            BOT,
            json!({
                "observedGeneration": generation(&current),
                "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
            }),
        )
        .await;
}

async fn warning_reasons(cluster: &Cluster) -> Vec<String> {
    cluster
        .list("events", NAMESPACE)
        .await
        .iter()
        .filter(|event| event["type"] == "Warning")
        .map(|event| event["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn converged(cluster: &Cluster) {
    eventually("the Deployment exists", async || {
        deployment(cluster).await.is_some()
    })
    .await;
    make_available(cluster).await;
    eventually("the bot is Ready", async || {
        condition_status(cluster, "ticketbots", BOT, "Ready")
            .await
            .as_deref()
            == Some("True")
    })
    .await;
    eventually("both categories are Ready", async || {
        for name in ["billing", "general"] {
            let status = condition_status(cluster, "ticketcategories", name, "Ready").await;
            if status.as_deref() != Some("True") {
                return false;
            }
        }
        true
    })
    .await;
}

/// What differs between two [`Cluster::resource_versions`] snapshots.
fn changed_objects(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| match (before.get(key), after.get(key)) {
            (Some(old), Some(new)) if old == new => None,
            (Some(_), Some(_)) => Some(format!("changed {key}")),
            (None, _) => Some(format!("created {key}")),
            (_, None) => Some(format!("deleted {key}")),
        })
        .collect()
}

#[tokio::test]
async fn children_appear_with_owner_references_and_labels() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    eventually("all four children exist", async || {
        cluster
            .get("configmaps", NAMESPACE, "support-config")
            .await
            .is_some()
            && cluster
                .get("serviceaccounts", NAMESPACE, BOT)
                .await
                .is_some()
            && cluster.get("services", NAMESPACE, BOT).await.is_some()
            && deployment(&cluster).await.is_some()
    })
    .await;
    let bot = cluster
        .get("ticketbots", NAMESPACE, BOT)
        .await
        .expect("bot");
    let bot_uid = bot["metadata"]["uid"].clone();
    for (plural, name) in [
        ("configmaps", "support-config"),
        ("serviceaccounts", BOT),
        ("services", BOT),
        ("deployments", BOT),
    ] {
        let child = cluster.get(plural, NAMESPACE, name).await.expect("child");
        let owner = &child["metadata"]["ownerReferences"][0];
        assert_eq!(owner["uid"], bot_uid, "{plural}");
        assert_eq!(owner["kind"], "TicketBot", "{plural}");
        assert_eq!(owner["controller"], true, "{plural}");
        assert_eq!(
            child["metadata"]["labels"]["app.kubernetes.io/managed-by"], "ticketeer-operator",
            "{plural}"
        );
        assert_eq!(
            child["metadata"]["labels"]["app.kubernetes.io/instance"], BOT,
            "{plural}"
        );
        // The server's record of who applied the child: the operator's one field manager only.
        let appliers: Vec<&str> = child["metadata"]["managedFields"]
            .as_array()
            .expect("managed fields")
            .iter()
            .filter(|entry| entry["operation"] == "Apply")
            .filter_map(|entry| entry["manager"].as_str())
            .collect();
        assert_eq!(appliers, [MANAGER], "{plural}");
    }
    assert_eq!(
        category_keys(&cluster).await,
        ["tickets/billing", "tickets/general"]
    );
    let applies: Vec<_> = cluster
        .operator_requests()
        .into_iter()
        .filter(|request| {
            request.verb == "patch"
                && !request.resource().ends_with("/status")
                && !request.resource().ends_with("/events")
                // The TicketBot's finalizer is a JSON patch of the bot, not an apply of a child.
                && !request.resource().ends_with("ticketbots")
        })
        .collect();
    assert!(!applies.is_empty(), "the children were applied");
    let other_managers: Vec<&str> = applies
        .iter()
        .filter(|request| {
            !request
                .request_uri
                .contains("fieldManager=ticketeer-operator")
        })
        .map(|request| request.request_uri.as_str())
        .collect();
    assert_eq!(
        other_managers,
        Vec::<&str>::new(),
        "every apply uses the one field manager"
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn told_to_stop_before_its_first_lists_return_the_operator_still_stops() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    // The stop comes before the controllers' first poll, so before any list has come back: kube
    // holds a controller's graceful shutdown until its store is ready, which then never happens
    // (a shutdown on SIGTERM, or on losing leadership, just after starting). The shutdown fails
    // the test if the controllers do not end within its timeout.
    assert_eq!(operator.metrics.reconciles(BOT_CONTROLLER), 0);
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn category_changes_update_the_config_map_without_rolling_the_deployment() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    let before = deployment(&cluster).await.expect("deployment");

    cluster.put(category_json("sales", BOT)).await;
    eventually("a new category is added", async || {
        category_keys(&cluster).await == ["tickets/billing", "tickets/general", "tickets/sales"]
    })
    .await;
    cluster
        .put(billing_json().set("/spec/createButton/label", json!("Ask billing")))
        .await;
    eventually("a changed category is rendered", async || {
        rendered_config(&cluster).await.is_some_and(|config| {
            config.categories["tickets/billing"].create_button.label == "Ask billing"
        })
    })
    .await;
    cluster
        .delete("ticketcategories", NAMESPACE, "general")
        .await;
    eventually("a removed category leaves the config", async || {
        category_keys(&cluster).await == ["tickets/billing", "tickets/sales"]
    })
    .await;
    eventually("the bot counts three categories then two", async || {
        cluster
            .get("ticketbots", NAMESPACE, BOT)
            .await
            .is_some_and(|bot| bot["status"]["categories"] == 2)
    })
    .await;

    let after = deployment(&cluster).await.expect("deployment");
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "the Deployment was not written"
    );
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_button_emoji_discord_does_not_know_is_refused_and_the_running_config_is_kept() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    let before = rendered_config(&cluster).await.expect("rendered");

    cluster
        .put(billing_json().set("/spec/createButton/emoji", json!("ab")))
        .await;
    eventually("billing is refused naming the field", async || {
        condition(&cluster, "ticketcategories", "billing", "Accepted")
            .await
            .is_some_and(|(status, reason, message)| {
                status == "False"
                    && reason == "InvalidSpec"
                    && message.contains("spec.createButton.emoji")
            })
    })
    .await;
    operator.settle().await;
    assert_eq!(
        rendered_config(&cluster)
            .await
            .expect("rendered")
            .categories,
        before.categories,
        "the bot keeps running the last accepted billing"
    );

    cluster
        .put(billing_json().set("/spec/createButton/emoji", json!("💳")))
        .await;
    eventually("the fixed emoji is rendered", async || {
        rendered_config(&cluster).await.is_some_and(|config| {
            config.categories["tickets/billing"]
                .create_button
                .emoji
                .as_deref()
                == Some("💳")
        })
    })
    .await;
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn an_image_change_rolls_the_deployment() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    let before = deployment(&cluster).await.expect("deployment");
    cluster
        .put(bot_json().set("/spec/image", json!("ghcr.io/ticketeer/ticketeer:0.2.0")))
        .await;
    eventually("the new image is in the pod template", async || {
        deployment(&cluster).await.is_some_and(|deployment| {
            deployment["spec"]["template"]["spec"]["containers"][0]["image"]
                == "ghcr.io/ticketeer/ticketeer:0.2.0"
        })
    })
    .await;
    let after = deployment(&cluster).await.expect("deployment");
    assert!(generation(&after) > generation(&before));
    let hash = |deployment: &Value| {
        deployment["spec"]["template"]["metadata"]["annotations"][POD_INPUTS_HASH_ANNOTATION]
            .clone()
    };
    assert_ne!(hash(&after), hash(&before));
    eventually("the bot waits for the rollout", async || {
        condition(&cluster, "ticketbots", BOT, "Available")
            .await
            .is_some_and(|(status, reason, _)| status == "False" && reason == "RolloutInProgress")
    })
    .await;
    operator.shut_down(&cluster).await;
}

/// Settings under which nothing but a watch event reconciles a converged bot within a test.
fn only_watches(settings: &mut Settings) {
    settings.drift_requeue = Duration::from_hours(1);
    settings.status_requeue = Duration::from_hours(1);
}

/// Waits until a whole reconcile of `bot` has run after the operator's last write of the bot's
/// status or one of its children. Each write that can wake the bot is followed by a reconcile; a
/// reconcile that writes nothing new wakes nothing, so from then on nothing but a new event
/// reconciles the bot (under [`only_watches`]).
async fn quiesced(cluster: &Cluster, operator: &Operator, bot: &str) {
    let children = [
        ("ticketbots", bot.to_owned()),
        ("serviceaccounts", bot.to_owned()),
        ("configmaps", format!("{bot}-config")),
        ("services", bot.to_owned()),
        ("deployments", bot.to_owned()),
    ];
    let object = format!("TicketBot/{NAMESPACE}/{bot}");
    eventually(
        "the bot has reconciled after the last write that could wake it",
        async || {
            let last_write = cluster
                .operator_requests()
                .iter()
                .filter(|request| {
                    request.is_write()
                        && request.object_ref.as_ref().is_some_and(|target| {
                            children.iter().any(|(plural, name)| {
                                target.resource == *plural
                                    && target.name.as_deref() == Some(name.as_str())
                            })
                        })
                })
                .filter_map(ticketeer_testkit::control_plane::AuditEvent::received_at)
                .max();
            last_write.is_some_and(|at| operator.reconciles.completed_after(&object, at) > 0)
        },
    )
    .await;
}

fn pod_inputs_hash(deployment: &Value) -> Value {
    deployment["spec"]["template"]["metadata"]["annotations"][POD_INPUTS_HASH_ANNOTATION].clone()
}

#[tokio::test]
async fn a_rotated_token_rolls_the_deployment_without_waiting_for_the_drift_requeue() {
    let cluster = seeded().await;
    let operator = Operator::start_with(&cluster, only_watches).await;
    converged(&cluster).await;
    quiesced(&cluster, &operator, BOT).await;
    let before = deployment(&cluster).await.expect("deployment");
    let [token, _] = secrets_json();
    // "rotated-token-456"
    cluster
        .put(token.set("/data/token", json!("cm90YXRlZC10b2tlbi00NTY=")))
        .await;
    eventually("the rotated token rolls the pod template", async || {
        deployment(&cluster)
            .await
            .is_some_and(|deployment| pod_inputs_hash(&deployment) != pod_inputs_hash(&before))
    })
    .await;
    let after = deployment(&cluster).await.expect("deployment");
    assert!(generation(&after) > generation(&before));
    let template = serde_json::to_string(&after["spec"]["template"]).expect("serialises");
    for secret in ["rotated-token-456", "cm90YXRlZC10b2tlbi00NTY="] {
        assert!(
            !template.contains(secret),
            "the pod template carries no Secret value"
        );
    }
    operator.shut_down(&cluster).await;
}

async fn config_keys(cluster: &Cluster, config_map: &str) -> Option<Vec<String>> {
    let config_map = cluster.get("configmaps", NAMESPACE, config_map).await?;
    let text = config_map.pointer("/data/config.yaml")?.as_str()?;
    let config = BotConfig::from_yaml(text).expect("the rendered config is valid");
    Some(config.categories.keys().cloned().collect())
}

#[tokio::test]
async fn a_category_moved_to_another_bot_leaves_the_old_bots_config_at_once() {
    let cluster = seeded().await;
    cluster
        .put(bot_json().set("/metadata/name", json!("other")))
        .await;
    let operator = Operator::start_with(&cluster, only_watches).await;
    converged(&cluster).await;
    eventually("the other bot's ConfigMap exists, empty", async || {
        config_keys(&cluster, "other-config").await == Some(Vec::new())
    })
    .await;
    quiesced(&cluster, &operator, BOT).await;
    quiesced(&cluster, &operator, "other").await;

    cluster
        .put(general_json().set("/spec/botRef/name", json!("other")))
        .await;
    eventually(
        "general left the old bot's config and is in the new one's",
        async || {
            config_keys(&cluster, "support-config").await
                == Some(vec!["tickets/billing".to_owned()])
                && config_keys(&cluster, "other-config").await
                    == Some(vec!["tickets/general".to_owned()])
        },
    )
    .await;
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn bot_reconciles_read_categories_from_the_watch_not_with_a_list_each() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    operator.settle().await;
    let category_lists = |requests: &[ticketeer_testkit::control_plane::AuditEvent]| {
        requests
            .iter()
            .filter(|request| {
                request.verb == "list" && request.resource() == "ticketeer.dev/ticketcategories"
            })
            .count()
    };
    let mark = cluster.operator_requests();
    let reconciles = operator.metrics.reconciles(BOT_CONTROLLER);
    eventually("the bot has been reconciled ten more times", async || {
        operator.metrics.reconciles(BOT_CONTROLLER) >= reconciles + 10
    })
    .await;
    let after = cluster.operator_requests();
    assert_eq!(
        category_lists(&after),
        category_lists(&mark),
        "no reconcile listed the TicketCategories"
    );
    // Only the watches' initial lists: one per controller watching categories.
    assert!(category_lists(&after) <= 2, "{}", category_lists(&after));
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_category_status_write_does_not_reconcile_its_bot() {
    let cluster = seeded().await;
    let operator = Operator::start_with(&cluster, only_watches).await;
    converged(&cluster).await;
    quiesced(&cluster, &operator, BOT).await;

    // A status write (the administrator's), which the category controller then puts back with
    // a status write of its own.
    let open = category_field(&cluster, "billing", "/status/openTickets").await;
    cluster
        .set_status(
            "ticketcategories",
            NAMESPACE,
            "billing",
            json!({"openTickets": 4242}),
        )
        .await;
    eventually("the operator puts billing's status back", async || {
        category_field(&cluster, "billing", "/status/openTickets").await == open
    })
    .await;

    // Then a spec change on the same watch, which the watch delivers after the status writes.
    // Its bot reconcile writes nothing (a refused category keeps its running entry), so it
    // triggers no other.
    let before_spec_change = SystemTime::now();
    cluster
        .put(billing_json().set("/spec/createButton/emoji", json!("ab")))
        .await;
    let bot = format!("TicketBot/{NAMESPACE}/{BOT}");
    eventually(
        "the spec change is reconciled by both controllers",
        async || {
            operator
                .reconciles
                .completed_after(&bot, before_spec_change)
                > 0
                && condition_status(&cluster, "ticketcategories", "billing", "Accepted")
                    .await
                    .as_deref()
                    == Some("False")
        },
    )
    .await;
    // Counted from the administrator's status write in the server's log, so that a reconcile
    // convergence still owed before it cannot count.
    let everyone = cluster.plane.audit_events().expect("the audit log reads");
    let status_write = everyone
        .iter()
        .rfind(|request| {
            request.verb == "patch"
                && request.user.username != cluster.operator_username()
                && request
                    .request_uri
                    .contains("/ticketcategories/billing/status")
        })
        .and_then(ticketeer_testkit::control_plane::AuditEvent::received_at)
        .expect("the administrator's status write is logged");
    assert_eq!(
        operator.reconciles.started_after(&bot, status_write),
        1,
        "only the spec change reconciled the bot"
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_deleted_child_is_put_back() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    let uid = async |plural: &str, name: &str| {
        cluster
            .get(plural, NAMESPACE, name)
            .await
            .map(|object| object["metadata"]["uid"].clone())
    };
    let config_map_uid = uid("configmaps", "support-config").await;
    let service_uid = uid("services", BOT).await;
    cluster
        .delete("configmaps", NAMESPACE, "support-config")
        .await;
    cluster.delete("services", NAMESPACE, BOT).await;
    // Put back means a new object (a new uid), not the old one seen before the delete landed.
    eventually("the ConfigMap and Service are back", async || {
        let config_map = uid("configmaps", "support-config").await;
        let service = uid("services", BOT).await;
        config_map.is_some()
            && config_map != config_map_uid
            && service.is_some()
            && service != service_uid
    })
    .await;
    assert_eq!(
        category_keys(&cluster).await,
        ["tickets/billing", "tickets/general"]
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn ready_follows_the_deployments_availability() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    eventually("the bot reports a rollout in progress", async || {
        condition(&cluster, "ticketbots", BOT, "Ready")
            .await
            .is_some_and(|(status, reason, _)| status == "False" && reason == "RolloutInProgress")
    })
    .await;
    assert_eq!(
        condition_status(&cluster, "ticketbots", BOT, "ConfigRendered")
            .await
            .as_deref(),
        Some("True")
    );
    assert_eq!(
        condition_status(&cluster, "ticketcategories", "billing", "Ready")
            .await
            .as_deref(),
        Some("False")
    );
    converged(&cluster).await;
    let bot = cluster
        .get("ticketbots", NAMESPACE, BOT)
        .await
        .expect("bot");
    assert_eq!(bot["status"]["readyReplicas"], 1);
    assert_eq!(
        bot["status"]["observedGeneration"],
        bot["metadata"]["generation"]
    );

    // The pod stops being ready: the Deployment controller would report none ready or available.
    let current = deployment(&cluster).await.expect("deployment");
    cluster
        .set_status(
            "deployments",
            NAMESPACE,
            BOT,
            json!({
                "observedGeneration": generation(&current),
                "replicas": 1, "readyReplicas": 0, "availableReplicas": 0,
                "unavailableReplicas": 1,
            }),
        )
        .await;
    eventually("the bot is no longer Ready", async || {
        condition_status(&cluster, "ticketbots", BOT, "Ready")
            .await
            .as_deref()
            == Some("False")
    })
    .await;
    eventually("its categories follow", async || {
        condition_status(&cluster, "ticketcategories", "general", "Ready")
            .await
            .as_deref()
            == Some("False")
    })
    .await;
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_category_whose_bot_does_not_exist_is_not_accepted() {
    let cluster = seeded().await;
    cluster.put(category_json("orphan", "no-such-bot")).await;
    let operator = Operator::start(&cluster).await;
    eventually("the orphan is Accepted=False", async || {
        condition(&cluster, "ticketcategories", "orphan", "Accepted")
            .await
            .is_some_and(|(status, reason, message)| {
                status == "False" && reason == "BotNotFound" && message.contains("\"no-such-bot\"")
            })
    })
    .await;
    eventually("a Warning event says so", async || {
        warning_reasons(&cluster)
            .await
            .contains(&"BotNotFound".to_owned())
    })
    .await;
    eventually("the bot's categories are accepted", async || {
        condition_status(&cluster, "ticketcategories", "billing", "Accepted")
            .await
            .as_deref()
            == Some("True")
    })
    .await;
    assert!(
        !category_keys(&cluster)
            .await
            .contains(&"tickets/orphan".to_owned())
    );

    cluster
        .put(bot_json().set("/metadata/name", json!("no-such-bot")))
        .await;
    eventually("creating the bot accepts the orphan", async || {
        condition_status(&cluster, "ticketcategories", "orphan", "Accepted")
            .await
            .as_deref()
            == Some("True")
    })
    .await;
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_missing_secret_key_degrades_the_bot_with_an_actionable_message() {
    let cluster = seeded().await;
    cluster
        .put(
            secrets_json()[0]
                .clone()
                .set("/data", json!({"wrong": "eA=="})),
        )
        .await;
    let operator = Operator::start(&cluster).await;
    eventually("the bot is Degraded", async || {
        condition(&cluster, "ticketbots", BOT, "Degraded")
            .await
            .is_some_and(|(status, reason, message)| {
                status == "True"
                    && reason == "SecretKeyMissing"
                    && message.starts_with("Secret discord-token has no key token")
            })
    })
    .await;
    assert_eq!(
        condition(&cluster, "ticketbots", BOT, "Ready")
            .await
            .map(|(_, reason, _)| reason)
            .as_deref(),
        Some("SecretKeyMissing")
    );
    eventually("a Warning event is published", async || {
        warning_reasons(&cluster)
            .await
            .contains(&"SecretKeyMissing".to_owned())
    })
    .await;

    cluster.put(secrets_json()[0].clone()).await;
    eventually(
        "fixing the Secret clears Degraded on the next pass",
        async || {
            condition_status(&cluster, "ticketbots", BOT, "Degraded")
                .await
                .as_deref()
                == Some("False")
        },
    )
    .await;
    operator.shut_down(&cluster).await;
}

/// The TicketBot CRD's `spec.replicas` schema, by JSON pointer into the CRD.
const REPLICAS_SCHEMA: &str =
    "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/replicas";

fn ticketbot_crd() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/ticketbots.ticketeer.dev.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_saphyr::from_str(&text).expect("the CRD parses")
}

/// Whether the API server currently accepts `bot` (a dry-run create: nothing is stored). A create,
/// not an apply: the server answers an apply that does not fit the schema with a 500 ("failed to
/// create typed patch object"), a create with the schema's 422.
async fn accepts(cluster: &Cluster, bot: &Value) -> Result<(), kube::Error> {
    let bots: Api<DynamicObject> = Api::namespaced_with(
        cluster.admin.clone(),
        NAMESPACE,
        &api_resource("ticketbots"),
    );
    let object: DynamicObject = serde_json::from_value(bot.clone()).expect("a TicketBot");
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    bots.create(&params, &object).await.map(|_| ())
}

#[tokio::test]
async fn an_invalid_object_does_not_stop_the_watch() {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    // Stored under another schema, as after a CRD upgrade: a TicketBot written while the CRD let
    // `spec.replicas` be a string, then the real CRD applied again (stored objects are not
    // revalidated).
    let real = ticketbot_crd();
    let mut loose = real.clone();
    let replicas = loose
        .pointer_mut(REPLICAS_SCHEMA)
        .expect("the CRD has spec.replicas");
    *replicas = json!({
        "description": replicas["description"],
        "nullable": true,
        "x-kubernetes-int-or-string": true,
    });
    cluster.apply_crd(&loose).await;
    let broken = bot_json()
        .set("/metadata/name", json!("broken"))
        .set("/spec/replicas", json!("many"));
    // The server switches to a changed schema asynchronously.
    eventually("the loosened schema stores the broken bot", async || {
        cluster.try_put(&broken).await.is_ok()
    })
    .await;
    cluster.apply_crd(&real).await;
    let probe = broken.clone().set("/metadata/name", json!("probe"));
    eventually("the real schema refuses a string again", async || {
        matches!(accepts(&cluster, &probe).await, Err(kube::Error::Api(status)) if status.code == 422)
    })
    .await;
    assert_eq!(
        cluster
            .get("ticketbots", NAMESPACE, "broken")
            .await
            .expect("the broken bot is stored")["spec"]["replicas"],
        "many",
        "the stored object keeps the old schema's value"
    );

    let operator = Operator::start(&cluster).await;
    cluster.put(bot_json()).await;
    cluster.put(general_json()).await;
    eventually("the valid bot is reconciled", async || {
        category_keys(&cluster).await == ["tickets/general"]
    })
    .await;
    eventually("the invalid bot gets a Warning event", async || {
        warning_reasons(&cluster)
            .await
            .contains(&"InvalidObject".to_owned())
    })
    .await;
    assert!(
        cluster
            .get("deployments", NAMESPACE, "broken")
            .await
            .is_none()
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn after_convergence_further_reconciles_send_no_request() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    operator.settle().await;
    let mark_versions = cluster.resource_versions(&PLURALS, NAMESPACE).await;
    let mark_requests = cluster.operator_requests().len();
    let bot_reconciles = operator.metrics.reconciles(BOT_CONTROLLER);
    let category_reconciles = operator.metrics.reconciles(CATEGORY_CONTROLLER);
    eventually(
        "drift repair has reconciled everything several times",
        async || {
            operator.metrics.reconciles(BOT_CONTROLLER) >= bot_reconciles + 3
                && operator.metrics.reconciles(CATEGORY_CONTROLLER) >= category_reconciles + 6
        },
    )
    .await;
    let after_versions = cluster.resource_versions(&PLURALS, NAMESPACE).await;
    assert_eq!(
        changed_objects(&mark_versions, &after_versions),
        Vec::<String>::new(),
        "no object changed"
    );
    let requests = cluster.operator_requests();
    let status_writes: Vec<String> = requests[mark_requests..]
        .iter()
        .filter(|request| {
            request.is_write()
                && (request.resource().ends_with("/status")
                    || request.resource() == "events.k8s.io/events")
        })
        .map(|request| format!("{} {}", request.verb, request.request_uri))
        .collect();
    assert_eq!(
        status_writes,
        Vec::<String>::new(),
        "no status or event writes"
    );
    // The drift repairs read what the watches hold and found nothing to apply: not even a read
    // reached the server (the watches' own requests aside).
    let requests_but_watches: Vec<String> = requests[mark_requests..]
        .iter()
        .filter(|request| request.verb != "watch")
        .map(|request| format!("{} {}", request.verb, request.request_uri))
        .collect();
    assert_eq!(
        requests_but_watches,
        Vec::<String>::new(),
        "the drift repairs sent no request"
    );
    operator.shut_down(&cluster).await;
}

async fn category_field(cluster: &Cluster, name: &str, pointer: &str) -> Value {
    cluster
        .get("ticketcategories", NAMESPACE, name)
        .await
        .and_then(|category| category.pointer(pointer).cloned())
        .unwrap_or(Value::Null)
}

async fn ready_transition_time(cluster: &Cluster, name: &str) -> Value {
    let conditions = category_field(cluster, name, "/status/conditions").await;
    conditions
        .as_array()
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition["type"] == "Ready")
        })
        .map_or(Value::Null, |condition| {
            condition["lastTransitionTime"].clone()
        })
}

/// The operator's writes to a TicketCategory's status since its `from`-th request.
fn category_status_writes(cluster: &Cluster, from: usize) -> Vec<String> {
    cluster.operator_requests()[from..]
        .iter()
        .filter(|request| {
            request.is_write() && request.resource() == "ticketeer.dev/ticketcategories/status"
        })
        .map(|request| format!("{} {}", request.verb, request.request_uri))
        .collect()
}

/// Categories whose bots are as new as they are wait for their bot's first status, so each is
/// written once, with what its bot says, instead of "has not reported" and a second later again.
#[tokio::test]
async fn a_new_bots_categories_have_their_status_written_once() {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    let bots = ["alpha", "beta", "gamma", "delta"];
    let mut categories = Vec::new();
    for bot in bots {
        cluster
            .put(bot_json().set("/metadata/name", json!(bot)))
            .await;
        for index in 0..5 {
            let name = format!("{bot}-{index}");
            cluster
                .put(category_json(&name, bot).set(
                    "/spec/createChannelId",
                    json!(format!("10900000000000020{index:02}")),
                ))
                .await;
            categories.push(name);
        }
    }
    let operator = Operator::start(&cluster).await;
    eventually(
        "every category says what its bot's status says",
        async || {
            let mut all = true;
            for name in &categories {
                let conditions = category_field(&cluster, name, "/status/conditions").await;
                let ready = conditions
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|condition| condition["type"] == "Ready");
                all &= ready.is_some_and(|ready| {
                    ready["message"]
                        .as_str()
                        .is_some_and(|message| message.contains("is not ready"))
                });
            }
            all
        },
    )
    .await;
    operator.settle().await;
    let writes = category_status_writes(&cluster, 0);
    for name in &categories {
        let of_this: Vec<&String> = writes
            .iter()
            .filter(|write| {
                write
                    .split('?')
                    .next()
                    .is_some_and(|path| path.ends_with(&format!("/ticketcategories/{name}/status")))
            })
            .collect();
        assert_eq!(of_this.len(), 1, "{name}'s status writes: {of_this:?}");
    }
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn category_readiness_follows_the_bots_status_report() {
    let cluster = seeded().await;
    let mut operator = Operator::start(&cluster).await;
    let general = (
        "tickets/general".to_owned(),
        entry(Some("700000000000000009"), 0, vec![]),
    );
    operator.status.answer(Answer::Report(report([
        ("tickets/billing".to_owned(), entry(None, 0, vec![])),
        general.clone(),
    ])));
    eventually("the Deployment exists", async || {
        deployment(&cluster).await.is_some()
    })
    .await;
    make_available(&cluster).await;

    eventually("billing waits for its panel", async || {
        condition(&cluster, "ticketcategories", "billing", "Ready")
            .await
            .is_some_and(|(status, reason, message)| {
                status == "False"
                    && reason == "PanelNotPosted"
                    && message.contains("createChannelId")
            })
    })
    .await;
    assert_eq!(
        condition_status(&cluster, "ticketcategories", "general", "Ready")
            .await
            .as_deref(),
        Some("True")
    );
    assert_eq!(
        category_field(&cluster, "general", "/status/panelMessageId").await,
        "700000000000000009"
    );

    operator.status.answer(Answer::Report(report([
        (
            "tickets/billing".to_owned(),
            entry(Some("700000000000000001"), 2, vec![]),
        ),
        general.clone(),
    ])));
    eventually("billing is Ready once its panel is posted", async || {
        condition(&cluster, "ticketcategories", "billing", "Ready")
            .await
            .is_some_and(|(status, reason, _)| status == "True" && reason == "PanelPosted")
            && category_field(&cluster, "billing", "/status/panelMessageId").await
                == "700000000000000001"
            && category_field(&cluster, "billing", "/status/openTickets").await == 2
    })
    .await;

    let parent = "300000000000000001";
    let staff = "400000000000000001";
    let problems = [
        (
            Problem::MissingPermissions {
                field: "parentChannelId".to_owned(),
                channel_id: parent.to_owned(),
                missing: vec!["MANAGE_CHANNELS".to_owned()],
            },
            format!("the bot lacks Manage Channels in category {parent} (parentChannelId)"),
        ),
        (
            Problem::RoleNotPinged {
                field: "roleIds[0]".to_owned(),
                role_id: staff.to_owned(),
            },
            format!(
                "role {staff} (roleIds[0]) is not notified of new tickets: make it mentionable or give the bot Mention Everyone"
            ),
        ),
    ];
    for (problem, sentence) in problems {
        operator.status.answer(Answer::Report(report([
            (
                "tickets/billing".to_owned(),
                entry(Some("700000000000000001"), 2, vec![problem]),
            ),
            general.clone(),
        ])));
        eventually(
            "a reported problem makes billing not Ready, in words",
            async || {
                condition(&cluster, "ticketcategories", "billing", "Ready")
                    .await
                    .is_some_and(|(status, reason, message)| {
                        status == "False" && reason == "DiscordProblem" && message == sentence
                    })
            },
        )
        .await;
    }
    let flipped_at = ready_transition_time(&cluster, "billing").await;

    operator.status.stop().await;
    eventually(
        "an unreachable /status makes the categories not Ready",
        async || {
            for name in ["billing", "general"] {
                let unreachable = condition(&cluster, "ticketcategories", name, "Ready")
                    .await
                    .is_some_and(|(status, reason, message)| {
                        status == "False"
                            && reason == "StatusUnreachable"
                            && message.starts_with("the bot's /status is unreachable: ")
                    });
                if !unreachable {
                    return false;
                }
            }
            true
        },
    )
    .await;
    assert_eq!(
        ready_transition_time(&cluster, "billing").await,
        flipped_at,
        "False stays False: the transition time does not move"
    );
    assert_eq!(
        category_field(&cluster, "billing", "/status/panelMessageId").await,
        "700000000000000001",
        "the last reported panel is kept"
    );
    assert_eq!(
        condition_status(&cluster, "ticketbots", BOT, "Ready")
            .await
            .as_deref(),
        Some("True"),
        "an unreachable /status is not the bot's failure"
    );

    // Unreachable is a settled answer: reconciles go on, succeed, and write nothing more.
    operator.settle().await;
    let mark = cluster.operator_requests().len();
    let reconciles = operator.metrics.reconciles(BOT_CONTROLLER);
    eventually("the bot is reconciled several more times", async || {
        operator.metrics.reconciles(BOT_CONTROLLER) >= reconciles + 3
    })
    .await;
    assert_eq!(
        category_status_writes(&cluster, mark),
        Vec::<String>::new(),
        "no status storm"
    );
    for label in [
        "apply_child",
        "write_status",
        "categories_unavailable",
        "read_secret",
    ] {
        assert_eq!(
            operator.metrics.failures(BOT_CONTROLLER, label),
            0,
            "{label}"
        );
    }
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn once_converged_polling_the_status_writes_nothing() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    operator.settle().await;
    let mark = cluster.operator_requests().len();
    let polls = operator.status.requests();
    eventually("the bot's /status is read several more times", async || {
        operator.status.requests() >= polls + 3
    })
    .await;
    assert_eq!(category_status_writes(&cluster, mark), Vec::<String>::new());
    operator.shut_down(&cluster).await;
}

/// `(API group, resource)` of an audit log resource (`group/plural[/sub]`, `core` for `""`).
fn rbac_target(resource: &str) -> (String, String) {
    let (group, rest) = resource.split_once('/').expect("group/resource");
    let group = if group == "core" { "" } else { group };
    (group.to_owned(), rest.to_owned())
}

#[tokio::test]
async fn every_request_the_operator_makes_is_allowed_by_its_rbac_rules() {
    let cluster = seeded().await;
    // An orphan category: a Warning event, and a TicketBot read that finds nothing.
    cluster.put(category_json("orphan", "no-such-bot")).await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    eventually("an event is published", async || {
        !warning_reasons(&cluster).await.is_empty()
    })
    .await;
    // The shutdown checks that the server refused nothing.
    operator.shut_down(&cluster).await;

    let requests = cluster.operator_requests();
    let summary: BTreeSet<(String, String, u16)> = requests
        .iter()
        // kube's finalizer helper adds the finalizer with a JSON Patch whose `test` step guards
        // against a stale object: when a second reconcile read the bot from the cache before the
        // first one's write arrived, the server refuses it (422) and the reconcile runs again.
        // That is optimistic concurrency doing its job, not a request the rules failed to allow.
        .filter(|request| !is_stale_finalizer_patch(request))
        .map(|request| (request.verb.clone(), request.resource(), request.code()))
        .collect();
    // Allowed and answered: a success, or a read that found nothing (the orphan's bot).
    let unsuccessful: Vec<&(String, String, u16)> = summary
        .iter()
        .filter(|(verb, _, code)| !((200..300).contains(code) || (verb == "get" && *code == 404)))
        .collect();
    assert_eq!(
        unsuccessful,
        Vec::<&(String, String, u16)>::new(),
        "requests the server did not carry out"
    );
    for (verb, resource) in [
        ("list", "ticketeer.dev/ticketbots"),
        ("list", "ticketeer.dev/ticketcategories"),
        ("get", "ticketeer.dev/ticketbots"),
        ("patch", "ticketeer.dev/ticketbots/status"),
        ("patch", "ticketeer.dev/ticketcategories/status"),
        ("get", "core/secrets"),
        ("list", "core/secrets"),
        ("watch", "core/secrets"),
        ("list", "core/configmaps"),
        ("patch", "core/configmaps"),
        ("patch", "core/serviceaccounts"),
        ("patch", "core/services"),
        ("patch", "apps/deployments"),
        ("create", "events.k8s.io/events"),
    ] {
        assert!(
            // A read of a name that is not there is allowed too (the server says 403 otherwise):
            // the categories read their bot from the watch's cache, and only the orphan's by GET.
            summary.iter().any(|(seen_verb, seen_resource, code)| {
                seen_verb == verb
                    && seen_resource == resource
                    && ((200..300).contains(code) || (verb == "get" && *code == 404))
            }),
            "the operator was allowed to {verb} {resource}: {summary:#?}"
        );
    }
    // What the server allowed is also what the code declares (and the chart tests compare).
    let mut undeclared: Vec<String> = requests
        .iter()
        .filter(|request| request.object_ref.is_some())
        .filter(|request| {
            let (group, resource) = rbac_target(&request.resource());
            !ticketeer_operator::rbac::RULES.iter().any(|rule| {
                rule.api_group == group
                    && rule.resources.contains(&resource.as_str())
                    && rule.verbs.contains(&request.verb.as_str())
            })
        })
        .map(|request| format!("{} {}", request.verb, request.resource()))
        .collect();
    undeclared.dedup();
    assert_eq!(
        undeclared,
        Vec::<String>::new(),
        "requests outside operator/src/rbac.rs"
    );

    // The check has teeth: a request outside the chart's RBAC is refused and shows up in it.
    let secrets: Api<Secret> = Api::namespaced(cluster.operator_client().await, NAMESPACE);
    let refused = secrets
        .delete("discord-token", &kube::api::DeleteParams::default())
        .await
        .expect_err("deleting Secrets is outside the operator's RBAC");
    assert!(
        matches!(&refused, kube::Error::Api(status) if status.is_forbidden()),
        "{refused:?}"
    );
    let refusals = cluster.operator_refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].starts_with("delete core/secrets "),
        "{refusals:?}"
    );
}

/// Whether the TicketBot carries the operator's finalizer.
async fn has_panels_finalizer(cluster: &Cluster) -> bool {
    cluster
        .get("ticketbots", NAMESPACE, BOT)
        .await
        .and_then(|bot| bot["metadata"]["finalizers"].as_array().cloned())
        .is_some_and(|finalizers| finalizers.iter().any(|name| name == PANELS_FINALIZER))
}

#[tokio::test]
async fn a_deleted_bot_is_held_until_its_panels_are_gone_with_its_categories_removed_from_its_config()
 {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    converged(&cluster).await;
    eventually("the TicketBot carries the finalizer", async || {
        has_panels_finalizer(&cluster).await
    })
    .await;

    cluster.delete("ticketbots", NAMESPACE, BOT).await;
    // The bot is told to serve no category, so it deletes their panels.
    eventually("the config holds no category", async || {
        rendered_config(&cluster)
            .await
            .is_some_and(|config| config.categories.is_empty())
    })
    .await;
    // While its /status still shows panels, the TicketBot stays (checked on several reads).
    let reads = operator.status.requests();
    eventually("the operator reads /status a few more times", async || {
        operator.status.requests() >= reads + 3
    })
    .await;
    let held = cluster
        .get("ticketbots", NAMESPACE, BOT)
        .await
        .expect("the TicketBot is held");
    assert!(!held["metadata"]["deletionTimestamp"].is_null(), "{held}");

    // The bot has removed its panels: the TicketBot goes.
    operator.status.answer(Answer::Report(report([])));
    eventually("the TicketBot is gone", async || {
        cluster.get("ticketbots", NAMESPACE, BOT).await.is_none()
    })
    .await;
    assert!(
        !warning_reasons(&cluster)
            .await
            .contains(&"PanelsLeftBehind".to_owned())
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_deleted_bot_whose_panels_stay_is_released_after_the_bounded_wait() {
    let cluster = seeded().await;
    let operator = Operator::start_with(&cluster, |settings| {
        settings.panel_cleanup_timeout = Duration::from_secs(2);
    })
    .await;
    converged(&cluster).await;
    eventually("the TicketBot carries the finalizer", async || {
        has_panels_finalizer(&cluster).await
    })
    .await;
    cluster.delete("ticketbots", NAMESPACE, BOT).await;
    // The /status keeps showing every panel; the wait is bounded.
    eventually("the TicketBot is gone", async || {
        cluster.get("ticketbots", NAMESPACE, BOT).await.is_none()
    })
    .await;
    assert!(
        warning_reasons(&cluster)
            .await
            .contains(&"PanelsLeftBehind".to_owned())
    );
    operator.shut_down(&cluster).await;
}

#[tokio::test]
async fn a_deleted_bot_without_running_pods_is_released_at_once() {
    let cluster = seeded().await;
    let operator = Operator::start(&cluster).await;
    eventually("the TicketBot carries the finalizer", async || {
        has_panels_finalizer(&cluster).await
    })
    .await;
    eventually("the Deployment exists", async || {
        deployment(&cluster).await.is_some()
    })
    .await;
    // No pod is available to remove panels, so there is nothing to wait for.
    cluster.delete("ticketbots", NAMESPACE, BOT).await;
    eventually("the TicketBot is gone", async || {
        cluster.get("ticketbots", NAMESPACE, BOT).await.is_none()
    })
    .await;
    assert_eq!(operator.status.requests(), 0, "nothing to ask the bot");
    operator.shut_down(&cluster).await;
}

/// A client for a ServiceAccount `name` in the examples' namespace bound (by a RoleBinding there)
/// to the chart's ClusterRole `role`.
async fn namespace_user(cluster: &Cluster, name: &str, role: &str) -> kube::Client {
    cluster
        .put(json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": NAMESPACE},
        }))
        .await;
    cluster
        .plane
        .apply_yaml(
            &serde_json::to_string(&json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}],
            }))
            .expect("JSON"),
            NAMESPACE,
        )
        .await
        .expect("the RoleBinding applies");
    cluster
        .plane
        .service_account_client(NAMESPACE, name)
        .await
        .expect("a token")
}

#[tokio::test]
async fn the_charts_view_and_edit_roles_let_namespace_users_read_and_manage_ticketbots() {
    let cluster = Cluster::start().await;
    let roles = cluster::helm_template(&["--show-only", "templates/aggregate-roles.yaml"]);
    cluster
        .plane
        .apply_yaml(&roles, NAMESPACE)
        .await
        .expect("the aggregated roles apply");
    let editor = namespace_user(&cluster, "editor", "ticketeer-edit").await;
    let viewer = namespace_user(&cluster, "viewer", "ticketeer-view").await;
    let bot: TicketBot = serde_json::from_value(bot_json()).expect("a TicketBot");
    let as_editor: Api<TicketBot> = Api::namespaced(editor.clone(), NAMESPACE);
    as_editor
        .create(&PostParams::default(), &bot)
        .await
        .expect("an editor creates a TicketBot");
    let as_viewer: Api<TicketBot> = Api::namespaced(viewer, NAMESPACE);
    assert_eq!(
        as_viewer
            .list(&ListParams::default())
            .await
            .expect("a viewer lists TicketBots")
            .items
            .len(),
        1
    );
    let refused = as_viewer
        .delete(BOT, &kube::api::DeleteParams::default())
        .await
        .expect_err("a viewer may not delete");
    assert!(
        matches!(&refused, kube::Error::Api(status) if status.code == 403),
        "{refused:?}"
    );
    // The status is the operator's: an editor cannot write it.
    let refused = as_editor
        .patch_status(
            BOT,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"categories": 3}})),
        )
        .await
        .expect_err("an editor may not write the status");
    assert!(
        matches!(&refused, kube::Error::Api(status) if status.code == 403),
        "{refused:?}"
    );
    cluster.plane.shutdown().await;
}

/// A finalizer JSON Patch on a TicketBot that the server refused because its `test` step saw a
/// newer object than the reconcile had. The operator patches the TicketBot itself (not its
/// status) only to add or remove the finalizer. The API server words the refusal two ways: a
/// failed `test` step comes back as its generic 422 message (the detail is in the status causes,
/// which the audit log drops), a finalizer added during a deletion names `metadata.finalizers`.
fn is_stale_finalizer_patch(request: &ticketeer_testkit::control_plane::AuditEvent) -> bool {
    const FAILED_JSON_PATCH: &str =
        "the server rejected our request due to an error in our request";
    request.verb == "patch"
        && request.resource() == "ticketeer.dev/ticketbots"
        && request.code() == 422
        && (request.message() == FAILED_JSON_PATCH || request.message().contains("finalizers"))
}
