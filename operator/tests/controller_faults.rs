//! Server errors, against the in-process fake API server (support/fake_api.rs).
//!
//! Why a fake here, when every other controller test runs against a real API server
//! (controller.rs): this test needs the server to answer one chosen request (the ConfigMap's
//! apply) with a 500 a few times and then recover, and a real kube-apiserver cannot be made to
//! fail one call on demand. Everything else the fake once stood in for is tested for real.

#[path = "support/fake_api.rs"]
mod fake_api;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/status_server.rs"]
mod status_server;
#[path = "support/wait.rs"]
mod wait;

use std::sync::Arc;
use std::time::Duration;

use fake_api::FakeApi;
use fixtures::{NAMESPACE, billing_json, bot_json, category_json, general_json, secrets_json};
use http::Method;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use status_server::{Answer, StatusServer, healthy};
use ticketeer_config::BotConfig;
use ticketeer_operator::controller::{
    BOT_CONTROLLER, BackoffPolicy, Context, Settings, run_controllers,
};
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wait::eventually;

const BOT: &str = "support";

struct Operator {
    metrics: Metrics,
    /// The bot's `/status`, healthy for every category; kept alive while the operator runs.
    _status: StatusServer,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Operator {
    async fn start(api: &FakeApi) -> Self {
        Self::start_with(api, |_| {}).await
    }

    /// Like [`start`](Self::start), with `adjust` applied to the test settings.
    async fn start_with(api: &FakeApi, adjust: impl FnOnce(&mut Settings)) -> Self {
        let status = StatusServer::start(Answer::Report(healthy(&[
            "tickets/billing",
            "tickets/general",
            "tickets/sales",
        ])))
        .await;
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
        adjust(&mut settings);
        let context = Arc::new(
            Context::new(api.client(), settings, metrics.clone()).expect("the context builds"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_controllers(context, async move {
            let _ = stopped.await;
        }));
        Self {
            metrics,
            _status: status,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn shut_down(mut self) {
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

fn seeded() -> FakeApi {
    let api = FakeApi::new();
    for secret in secrets_json() {
        api.put(secret);
    }
    api.put(bot_json());
    api.put(billing_json());
    api.put(general_json());
    api
}

fn category_keys(api: &FakeApi) -> Vec<String> {
    api.get("configmaps", NAMESPACE, "support-config")
        .and_then(|config_map| {
            let text = config_map
                .pointer("/data/config.yaml")?
                .as_str()?
                .to_owned();
            Some(BotConfig::from_yaml(&text).expect("the rendered config is valid"))
        })
        .map(|config| config.categories.keys().cloned().collect())
        .unwrap_or_default()
}

fn ready_condition(api: &FakeApi, plural: &str, name: &str) -> Option<Value> {
    api.get(plural, NAMESPACE, name).and_then(|object| {
        object
            .pointer("/status/conditions")?
            .as_array()?
            .iter()
            .find(|condition| condition["type"] == "Ready")
            .cloned()
    })
}

fn ready(api: &FakeApi, plural: &str, name: &str) -> bool {
    ready_condition(api, plural, name).is_some_and(|condition| condition["status"] == "True")
}

async fn converged(api: &FakeApi) {
    eventually("the Deployment exists", async || {
        api.get("deployments", NAMESPACE, BOT).is_some()
    })
    .await;
    let deployment = api
        .get("deployments", NAMESPACE, BOT)
        .expect("the Deployment");
    let generation = deployment
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    api.set_status(
        "deployments",
        NAMESPACE,
        BOT,
        json!({
            "observedGeneration": generation,
            "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
        }),
    );
    eventually("the bot and both categories are Ready", async || {
        ready(api, "ticketbots", BOT)
            && ready(api, "ticketcategories", "billing")
            && ready(api, "ticketcategories", "general")
    })
    .await;
}

#[tokio::test]
async fn injected_server_errors_back_off_and_count_a_failure() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    api.inject_error(Some(Method::PATCH), "/configmaps/support-config", 500, 3);
    api.put(category_json("sales", BOT));
    eventually("the change lands once the errors stop", async || {
        category_keys(&api).contains(&"tickets/sales".to_owned())
    })
    .await;
    assert!(operator.metrics.failures(BOT_CONTROLLER, "apply_child") >= 1);
    let attempts: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|request| {
            request.method == Method::PATCH && request.path.ends_with("/configmaps/support-config")
        })
        .filter(|request| request.status == 500)
        .collect();
    // kube's client retries a 500 itself; each reconcile attempt may reach the server more than
    // once, but the three injected errors are used up and nothing more.
    assert_eq!(attempts.len(), 3);
    operator.shut_down().await;
}

/// A category waits for its bot's first status before writing its own, but not for ever: here
/// every write of the bot's status fails, and the categories still get theirs.
#[tokio::test]
async fn categories_of_a_bot_whose_status_never_lands_get_theirs_after_the_wait() {
    let api = seeded();
    api.inject_error(
        Some(Method::PATCH),
        "/ticketbots/support/status",
        500,
        usize::MAX,
    );
    let operator = Operator::start_with(&api, |settings| {
        settings.first_bot_status_wait = Duration::from_millis(500);
    })
    .await;
    eventually(
        "both categories say their bot has not reported",
        async || {
            ["billing", "general"].iter().all(|name| {
                ready_condition(&api, "ticketcategories", name).is_some_and(|condition| {
                    condition["message"]
                        .as_str()
                        .is_some_and(|message| message.contains("has not reported its status yet"))
                })
            })
        },
    )
    .await;
    let bot_status = api
        .get("ticketbots", NAMESPACE, BOT)
        .and_then(|bot| bot.get("status").cloned());
    assert_eq!(bot_status, None, "the bot's status writes all failed");
    operator.shut_down().await;
}
