//! Helpers for the hostile-input tests: the operator run in-process against a real API server as
//! the chart's ServiceAccount, a poll helper, and the API server's audit log read with the
//! answer's reason and message (the testkit's `AuditEvent` keeps only the code).

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use serde_json::Value;
use ticketeer_operator::builders::MANAGER;
use ticketeer_operator::controller::{
    BOT_CONTROLLER, BackoffPolicy, Context, Settings, run_controllers,
};
use ticketeer_operator::metrics::Metrics;
use ticketeer_testkit::control_plane::AuditEvent;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::cluster::Cluster;
use super::fixtures::{NAMESPACE, bot_json, secrets_json};

/// How often [`eventually`] checks.
const POLL_PERIOD: Duration = Duration::from_millis(50);
/// How long [`eventually`] waits for a positive signal.
const POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// Polls `check` every 50 ms until it returns `Some`, for at most 30 s.
///
/// # Panics
/// On the timeout, naming `what`.
pub async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(POLL_TIMEOUT, what, check).await
}

/// Like [`eventually`], for at most `timeout`.
///
/// # Panics
/// On the timeout, naming `what`.
pub async fn eventually_within<T>(
    timeout: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        tokio::time::sleep(POLL_PERIOD).await;
    }
}

/// Sends the operator's logs to the test's output (shown for a failing test); `RUST_LOG`
/// overrides the default filter.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ticketeer_operator=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// The operator's controllers, run in-process with the chart ServiceAccount's client.
pub struct Operator {
    /// Its metrics (failed reconciles are counted here).
    pub metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Operator {
    /// Starts the controllers for every namespace (the chart's default, cluster scope).
    pub async fn start(cluster: &Cluster) -> Self {
        Self::start_with(cluster, |_| ()).await
    }

    /// Like [`start`](Self::start), with `edit` applied to the settings (e.g. its policy).
    pub async fn start_with(cluster: &Cluster, edit: impl FnOnce(&mut Settings)) -> Self {
        init_logging();
        let client = cluster.operator_client().await;
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let mut settings = Settings::new("ghcr.io/ticketeer/ticketeer:test");
        // Quick retries, so a refused child is retried (and refused again) within a test.
        settings.backoff = BackoffPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        // No pods ever run, so no Deployment becomes available and `/status` is never read;
        // a closed port keeps a stray read from reaching anything.
        "http://127.0.0.1:9/status".clone_into(&mut settings.status_url);
        settings.status_timeout = Duration::from_millis(500);
        edit(&mut settings);
        let context =
            Arc::new(Context::new(client, settings, metrics.clone()).expect("the context builds"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_controllers(context, async move {
            let _ = stopped.await;
        }));
        Self {
            metrics,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// How many TicketBot reconciles failed applying a child (a transient failure).
    pub fn failed_applies(&self) -> u64 {
        self.metrics.failures(BOT_CONTROLLER, "apply_child")
    }

    /// How many TicketBot reconciles stopped at a child the API server refused for good.
    pub fn rejected_applies(&self) -> u64 {
        self.metrics.failures(BOT_CONTROLLER, "child_rejected")
    }

    /// Stops the controllers and waits for them.
    pub async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the controllers stop on shutdown")
                .expect("the controllers do not panic");
        }
    }
}

/// A control plane with the example's Secrets and `bot` (a TicketBot as JSON) stored, and the
/// operator running. Returns both; the test stops them with [`finish`].
pub async fn start_with_bot(bot: Value) -> (Cluster, Operator) {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot).await;
    let operator = Operator::start(&cluster).await;
    (cluster, operator)
}

/// The example bot with `name`.
pub fn named_bot(name: &str) -> Value {
    let mut bot = bot_json();
    bot["metadata"]["name"] = Value::from(name);
    bot
}

/// Stops the operator, then the control plane.
pub async fn finish(cluster: Cluster, operator: Operator) {
    operator.shut_down().await;
    cluster.plane.shutdown().await;
}

/// One request from the API server's audit log, with the answer's reason and message.
pub type Audited = AuditEvent;

/// Whether `event` was a server-side apply by the operator's field manager, with force.
pub fn is_forced_operator_apply(event: &Audited) -> bool {
    event.verb == "patch"
        && event.has_query("fieldManager", MANAGER)
        && event.has_query("force", "true")
}

/// Every completed request the operator made so far, oldest first, with reasons and messages.
pub fn operator_audit(cluster: &Cluster) -> Vec<Audited> {
    cluster.operator_requests()
}

/// Waits until the audit log shows the operator's server-side apply of `resource` `name`
/// refused, and returns that request.
pub async fn refused_apply(cluster: &Cluster, resource: &str, name: &str) -> Audited {
    eventually(
        &format!("the API server refuses the operator's apply of {resource} {name}"),
        async || {
            operator_audit(cluster).into_iter().find(|event| {
                event.is_about(resource, name)
                    && is_forced_operator_apply(event)
                    && event.code() >= 400
            })
        },
    )
    .await
}

/// The operator's requests about `resource` `name`, as `(verb, code)`.
pub fn requests_about(cluster: &Cluster, resource: &str, name: &str) -> Vec<(String, u16)> {
    operator_audit(cluster)
        .into_iter()
        .filter(|event| event.is_about(resource, name))
        .map(|event| (event.verb.clone(), event.code()))
        .collect()
}

/// Waits until the object exists and returns it.
pub async fn exists(cluster: &Cluster, plural: &str, name: &str) -> Value {
    eventually(&format!("{plural} {name} exists"), async || {
        cluster.get(plural, NAMESPACE, name).await
    })
    .await
}

/// The field managers of `object`'s `managedFields`, each with its operation and field set.
pub fn managers(object: &Value) -> Vec<(String, String, Value)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| {
                    (
                        entry["manager"].as_str().unwrap_or_default().to_owned(),
                        entry["operation"].as_str().unwrap_or_default().to_owned(),
                        entry["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `manager`'s entry in `object`'s `managedFields` owns the field at `path` (a list of
/// `fieldsV1` keys such as `["f:data", "f:config.yaml"]`).
pub fn owns(object: &Value, manager: &str, path: &[&str]) -> bool {
    managers(object)
        .iter()
        .filter(|(name, _, _)| name == manager)
        .any(|(_, _, fields)| {
            path.iter()
                .try_fold(fields, |node, key| node.get(*key))
                .is_some()
        })
}
