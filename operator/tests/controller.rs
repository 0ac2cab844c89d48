//! The real kube `Controller`s running against the in-process fake API server.

#[path = "support/fake_api.rs"]
mod fake_api;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/status_server.rs"]
mod status_server;

use std::sync::Arc;
use std::time::Duration;

use fake_api::FakeApi;
use fixtures::{
    Edit, NAMESPACE, billing_json, bot_json, category_json, general_json, secrets_json,
};
use http::Method;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use status_server::{Answer, StatusServer, entry, healthy, report};
use ticketeer_config::{BotConfig, Problem};
use ticketeer_operator::builders::POD_INPUTS_HASH_ANNOTATION;
use ticketeer_operator::controller::{
    BOT_CONTROLLER, BackoffPolicy, CATEGORY_CONTROLLER, Context, Settings, run_controllers,
};
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const BOT: &str = "support";
/// Every category key the tests use.
const KEYS: [&str; 4] = [
    "tickets/billing",
    "tickets/general",
    "tickets/orphan",
    "tickets/sales",
];

struct Operator {
    metrics: Metrics,
    /// The bot's `/status`, healthy for every category in [`KEYS`] until a test changes it.
    status: StatusServer,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Operator {
    async fn start(api: &FakeApi) -> Self {
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
        let context = Arc::new(
            Context::new(api.client(), settings, metrics.clone()).expect("the context builds"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_controllers(context, async move {
            let _ = stopped.await;
        }));
        Self {
            metrics,
            status,
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

#[track_caller]
fn wait_message(what: &str) -> String {
    format!("timed out waiting until {what}")
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{}", wait_message(what));
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

fn rendered_config(api: &FakeApi) -> Option<BotConfig> {
    let config_map = api.get("configmaps", NAMESPACE, "support-config")?;
    let text = config_map.pointer("/data/config.yaml")?.as_str()?;
    Some(BotConfig::from_yaml(text).expect("the rendered config is valid"))
}

fn category_keys(api: &FakeApi) -> Vec<String> {
    rendered_config(api)
        .map(|config| config.categories.keys().cloned().collect())
        .unwrap_or_default()
}

fn deployment(api: &FakeApi) -> Option<Value> {
    api.get("deployments", NAMESPACE, BOT)
}

fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// `(status, reason, message)` of a condition of the stored object.
fn condition(
    api: &FakeApi,
    plural: &str,
    name: &str,
    type_: &str,
) -> Option<(String, String, String)> {
    let object = api.get(plural, NAMESPACE, name)?;
    let conditions = object.pointer("/status/conditions")?.as_array()?;
    let found = conditions
        .iter()
        .find(|condition| condition["type"] == type_)?;
    let text = |field: &str| found[field].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

fn condition_status(api: &FakeApi, plural: &str, name: &str, type_: &str) -> Option<String> {
    condition(api, plural, name, type_).map(|(status, _, _)| status)
}

fn make_available(api: &FakeApi) {
    let current = deployment(api).expect("the Deployment exists");
    api.set_status(
        "deployments",
        NAMESPACE,
        BOT,
        json!({
            "observedGeneration": generation(&current),
            "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
        }),
    );
}

fn warning_reasons(api: &FakeApi) -> Vec<String> {
    api.list("events")
        .iter()
        .filter(|event| event["type"] == "Warning")
        .map(|event| event["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn converged(api: &FakeApi) {
    eventually("the Deployment exists", || deployment(api).is_some()).await;
    make_available(api);
    eventually("the bot is Ready", || {
        condition_status(api, "ticketbots", BOT, "Ready").as_deref() == Some("True")
    })
    .await;
    eventually("both categories are Ready", || {
        ["billing", "general"].iter().all(|name| {
            condition_status(api, "ticketcategories", name, "Ready").as_deref() == Some("True")
        })
    })
    .await;
}

#[tokio::test]
async fn children_appear_with_owner_references_and_labels() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    eventually("all four children exist", || {
        api.get("configmaps", NAMESPACE, "support-config").is_some()
            && api.get("serviceaccounts", NAMESPACE, BOT).is_some()
            && api.get("services", NAMESPACE, BOT).is_some()
            && deployment(&api).is_some()
    })
    .await;
    let bot_uid = api.get("ticketbots", NAMESPACE, BOT).expect("bot")["metadata"]["uid"].clone();
    for (plural, name) in [
        ("configmaps", "support-config"),
        ("serviceaccounts", BOT),
        ("services", BOT),
        ("deployments", BOT),
    ] {
        let child = api.get(plural, NAMESPACE, name).expect("child");
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
    }
    assert_eq!(category_keys(&api), ["tickets/billing", "tickets/general"]);
    let applies = api
        .requests()
        .into_iter()
        .filter(|request| request.method == Method::PATCH && !request.path.ends_with("/status"))
        .all(|request| request.query.contains("fieldManager=ticketeer-operator"));
    assert!(applies, "every apply uses the one field manager");
    operator.shut_down().await;
}

#[tokio::test]
async fn category_changes_update_the_config_map_without_rolling_the_deployment() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    let before = deployment(&api).expect("deployment");

    api.put(category_json("sales", BOT));
    eventually("a new category is added", || {
        category_keys(&api) == ["tickets/billing", "tickets/general", "tickets/sales"]
    })
    .await;
    api.put(billing_json().set("/spec/createButton/label", json!("Ask billing")));
    eventually("a changed category is rendered", || {
        rendered_config(&api).is_some_and(|config| {
            config.categories["tickets/billing"].create_button.label == "Ask billing"
        })
    })
    .await;
    api.delete("ticketcategories", NAMESPACE, "general");
    eventually("a removed category leaves the config", || {
        category_keys(&api) == ["tickets/billing", "tickets/sales"]
    })
    .await;
    eventually("the bot counts three categories then two", || {
        api.get("ticketbots", NAMESPACE, BOT)
            .is_some_and(|bot| bot["status"]["categories"] == 2)
    })
    .await;

    let after = deployment(&api).expect("deployment");
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "the Deployment was not written"
    );
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
    operator.shut_down().await;
}

#[tokio::test]
async fn an_image_change_rolls_the_deployment() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    let before = deployment(&api).expect("deployment");
    api.put(bot_json().set("/spec/image", json!("ghcr.io/ticketeer/ticketeer:0.2.0")));
    eventually("the new image is in the pod template", || {
        deployment(&api).is_some_and(|deployment| {
            deployment["spec"]["template"]["spec"]["containers"][0]["image"]
                == "ghcr.io/ticketeer/ticketeer:0.2.0"
        })
    })
    .await;
    let after = deployment(&api).expect("deployment");
    assert!(generation(&after) > generation(&before));
    let hash = |deployment: &Value| {
        deployment["spec"]["template"]["metadata"]["annotations"][POD_INPUTS_HASH_ANNOTATION]
            .clone()
    };
    assert_ne!(hash(&after), hash(&before));
    eventually("the bot waits for the rollout", || {
        condition(&api, "ticketbots", BOT, "Available")
            .is_some_and(|(status, reason, _)| status == "False" && reason == "RolloutInProgress")
    })
    .await;
    operator.shut_down().await;
}

#[tokio::test]
async fn a_deleted_child_is_put_back() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    api.delete("configmaps", NAMESPACE, "support-config");
    api.delete("services", NAMESPACE, BOT);
    eventually("the ConfigMap and Service are back", || {
        api.get("configmaps", NAMESPACE, "support-config").is_some()
            && api.get("services", NAMESPACE, BOT).is_some()
    })
    .await;
    assert_eq!(category_keys(&api), ["tickets/billing", "tickets/general"]);
    operator.shut_down().await;
}

#[tokio::test]
async fn ready_follows_the_deployments_availability() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    eventually("the bot reports a rollout in progress", || {
        condition(&api, "ticketbots", BOT, "Ready")
            .is_some_and(|(status, reason, _)| status == "False" && reason == "RolloutInProgress")
    })
    .await;
    assert_eq!(
        condition_status(&api, "ticketbots", BOT, "ConfigRendered").as_deref(),
        Some("True")
    );
    assert_eq!(
        condition_status(&api, "ticketcategories", "billing", "Ready").as_deref(),
        Some("False")
    );
    converged(&api).await;
    let bot = api.get("ticketbots", NAMESPACE, BOT).expect("bot");
    assert_eq!(bot["status"]["readyReplicas"], 1);
    assert_eq!(
        bot["status"]["observedGeneration"],
        bot["metadata"]["generation"]
    );

    api.set_status("deployments", NAMESPACE, BOT, json!({"observedGeneration": generation(&deployment(&api).expect("deployment")), "replicas": 1, "availableReplicas": 0}));
    eventually("the bot is no longer Ready", || {
        condition_status(&api, "ticketbots", BOT, "Ready").as_deref() == Some("False")
    })
    .await;
    eventually("its categories follow", || {
        condition_status(&api, "ticketcategories", "general", "Ready").as_deref() == Some("False")
    })
    .await;
    operator.shut_down().await;
}

#[tokio::test]
async fn a_category_whose_bot_does_not_exist_is_not_accepted() {
    let api = seeded();
    api.put(category_json("orphan", "no-such-bot"));
    let operator = Operator::start(&api).await;
    eventually("the orphan is Accepted=False", || {
        condition(&api, "ticketcategories", "orphan", "Accepted").is_some_and(
            |(status, reason, message)| {
                status == "False" && reason == "BotNotFound" && message.contains("\"no-such-bot\"")
            },
        )
    })
    .await;
    eventually("a Warning event says so", || {
        warning_reasons(&api).contains(&"BotNotFound".to_owned())
    })
    .await;
    eventually("the bot's categories are accepted", || {
        condition_status(&api, "ticketcategories", "billing", "Accepted").as_deref() == Some("True")
    })
    .await;
    assert!(!category_keys(&api).contains(&"tickets/orphan".to_owned()));

    api.put(bot_json().set("/metadata/name", json!("no-such-bot")));
    eventually("creating the bot accepts the orphan", || {
        condition_status(&api, "ticketcategories", "orphan", "Accepted").as_deref() == Some("True")
    })
    .await;
    operator.shut_down().await;
}

#[tokio::test]
async fn a_missing_secret_key_degrades_the_bot_with_an_actionable_message() {
    let api = seeded();
    api.put(
        secrets_json()[0]
            .clone()
            .set("/data", json!({"wrong": "eA=="})),
    );
    let operator = Operator::start(&api).await;
    eventually("the bot is Degraded", || {
        condition(&api, "ticketbots", BOT, "Degraded").is_some_and(|(status, reason, message)| {
            status == "True"
                && reason == "SecretKeyMissing"
                && message.starts_with("Secret discord-token has no key token")
        })
    })
    .await;
    assert_eq!(
        condition(&api, "ticketbots", BOT, "Ready")
            .map(|(_, reason, _)| reason)
            .as_deref(),
        Some("SecretKeyMissing")
    );
    eventually("a Warning event is published", || {
        warning_reasons(&api).contains(&"SecretKeyMissing".to_owned())
    })
    .await;

    api.put(secrets_json()[0].clone());
    eventually("fixing the Secret clears Degraded on the next pass", || {
        condition_status(&api, "ticketbots", BOT, "Degraded").as_deref() == Some("False")
    })
    .await;
    operator.shut_down().await;
}

#[tokio::test]
async fn an_invalid_object_does_not_stop_the_watch() {
    let api = FakeApi::new();
    for secret in secrets_json() {
        api.put(secret);
    }
    // Written under some other schema: replicas is not a number.
    api.put(
        bot_json()
            .set("/metadata/name", json!("broken"))
            .set("/spec/replicas", json!("many")),
    );
    let operator = Operator::start(&api).await;
    api.put(bot_json());
    api.put(general_json());
    eventually("the valid bot is reconciled", || {
        category_keys(&api) == ["tickets/general"]
    })
    .await;
    eventually("the invalid bot gets a Warning event", || {
        warning_reasons(&api).contains(&"InvalidObject".to_owned())
    })
    .await;
    assert!(api.get("deployments", NAMESPACE, "broken").is_none());
    operator.shut_down().await;
}

#[tokio::test]
async fn injected_server_errors_back_off_and_count_a_failure() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    api.inject_error(Some(Method::PATCH), "/configmaps/support-config", 500, 3);
    api.put(category_json("sales", BOT));
    eventually("the change lands once the errors stop", || {
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

#[tokio::test]
async fn after_convergence_further_reconciles_write_nothing() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    // Let trailing reconciles triggered by the convergence itself settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mark_version = api.resource_version();
    let mark_requests = api.requests().len();
    let bot_reconciles = operator.metrics.reconciles(BOT_CONTROLLER);
    let category_reconciles = operator.metrics.reconciles(CATEGORY_CONTROLLER);
    eventually(
        "drift repair has reconciled everything several times",
        || {
            operator.metrics.reconciles(BOT_CONTROLLER) >= bot_reconciles + 3
                && operator.metrics.reconciles(CATEGORY_CONTROLLER) >= category_reconciles + 6
        },
    )
    .await;
    let changes: Vec<String> = api
        .changes()
        .into_iter()
        .filter(|change| change.resource_version > mark_version)
        .map(|change| {
            format!(
                "{} {} {}",
                change.type_, change.plural, change.object["metadata"]["name"]
            )
        })
        .collect();
    assert_eq!(changes, Vec::<String>::new(), "no object changed");
    let status_writes = api.requests()[mark_requests..]
        .iter()
        .filter(|request| {
            request.is_write()
                && (request.path.ends_with("/status") || request.path.contains("/events"))
        })
        .count();
    assert_eq!(status_writes, 0, "no status or event writes");
    operator.shut_down().await;
}

fn category_field(api: &FakeApi, name: &str, pointer: &str) -> Value {
    api.get("ticketcategories", NAMESPACE, name)
        .and_then(|category| category.pointer(pointer).cloned())
        .unwrap_or(Value::Null)
}

fn ready_transition_time(api: &FakeApi, name: &str) -> Value {
    let conditions = category_field(api, name, "/status/conditions");
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

fn category_status_writes(api: &FakeApi, from: usize) -> usize {
    api.requests()[from..]
        .iter()
        .filter(|request| {
            request.is_write()
                && request.path.contains("/ticketcategories/")
                && request.path.ends_with("/status")
        })
        .count()
}

#[tokio::test]
async fn category_readiness_follows_the_bots_status_report() {
    let api = seeded();
    let mut operator = Operator::start(&api).await;
    let general = (
        "tickets/general".to_owned(),
        entry(Some("700000000000000009"), 0, vec![]),
    );
    operator.status.answer(Answer::Report(report([
        ("tickets/billing".to_owned(), entry(None, 0, vec![])),
        general.clone(),
    ])));
    eventually("the Deployment exists", || deployment(&api).is_some()).await;
    make_available(&api);

    eventually("billing waits for its panel", || {
        condition(&api, "ticketcategories", "billing", "Ready").is_some_and(
            |(status, reason, message)| {
                status == "False"
                    && reason == "PanelNotPosted"
                    && message.contains("createChannelId")
            },
        )
    })
    .await;
    assert_eq!(
        condition_status(&api, "ticketcategories", "general", "Ready").as_deref(),
        Some("True")
    );
    assert_eq!(
        category_field(&api, "general", "/status/panelMessageId"),
        "700000000000000009"
    );

    operator.status.answer(Answer::Report(report([
        (
            "tickets/billing".to_owned(),
            entry(Some("700000000000000001"), 2, vec![]),
        ),
        general.clone(),
    ])));
    eventually("billing is Ready once its panel is posted", || {
        condition(&api, "ticketcategories", "billing", "Ready")
            .is_some_and(|(status, reason, _)| status == "True" && reason == "PanelPosted")
            && category_field(&api, "billing", "/status/panelMessageId") == "700000000000000001"
            && category_field(&api, "billing", "/status/openTickets") == 2
    })
    .await;

    let parent = "300000000000000001";
    operator.status.answer(Answer::Report(report([
        (
            "tickets/billing".to_owned(),
            entry(
                Some("700000000000000001"),
                2,
                vec![Problem::MissingPermissions {
                    field: "parentChannelId".to_owned(),
                    channel_id: parent.to_owned(),
                    missing: vec!["MANAGE_CHANNELS".to_owned()],
                }],
            ),
        ),
        general.clone(),
    ])));
    eventually(
        "a reported problem makes billing not Ready, in words",
        || {
            condition(&api, "ticketcategories", "billing", "Ready").is_some_and(
            |(status, reason, message)| {
                status == "False"
                    && reason == "DiscordProblem"
                    && message == format!(
                        "the bot lacks Manage Channels in category {parent} (parentChannelId)"
                    )
            },
        )
        },
    )
    .await;
    let flipped_at = ready_transition_time(&api, "billing");

    operator.status.stop().await;
    eventually(
        "an unreachable /status makes the categories not Ready",
        || {
            ["billing", "general"].iter().all(|name| {
                condition(&api, "ticketcategories", name, "Ready").is_some_and(
                    |(status, reason, message)| {
                        status == "False"
                            && reason == "StatusUnreachable"
                            && message.starts_with("the bot's /status is unreachable: ")
                    },
                )
            })
        },
    )
    .await;
    assert_eq!(
        ready_transition_time(&api, "billing"),
        flipped_at,
        "False stays False: the transition time does not move"
    );
    assert_eq!(
        category_field(&api, "billing", "/status/panelMessageId"),
        "700000000000000001",
        "the last reported panel is kept"
    );
    assert_eq!(
        condition_status(&api, "ticketbots", BOT, "Ready").as_deref(),
        Some("True"),
        "an unreachable /status is not the bot's failure"
    );

    // Unreachable is a settled answer: reconciles go on, succeed, and write nothing more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mark = api.requests().len();
    let reconciles = operator.metrics.reconciles(BOT_CONTROLLER);
    eventually("the bot is reconciled several more times", || {
        operator.metrics.reconciles(BOT_CONTROLLER) >= reconciles + 3
    })
    .await;
    assert_eq!(category_status_writes(&api, mark), 0, "no status storm");
    for label in [
        "apply_child",
        "write_status",
        "list_categories",
        "read_secret",
    ] {
        assert_eq!(
            operator.metrics.failures(BOT_CONTROLLER, label),
            0,
            "{label}"
        );
    }
    operator.shut_down().await;
}

#[tokio::test]
async fn once_converged_polling_the_status_writes_nothing() {
    let api = seeded();
    let operator = Operator::start(&api).await;
    converged(&api).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mark = api.requests().len();
    let polls = operator.status.requests();
    eventually("the bot's /status is read several more times", || {
        operator.status.requests() >= polls + 3
    })
    .await;
    assert_eq!(category_status_writes(&api, mark), 0);
    operator.shut_down().await;
}

/// The RBAC verb a request needs, with its API group and resource (`plural` or `plural/sub`).
fn rbac_need(request: &fake_api::RecordedRequest) -> (String, String, &'static str) {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => ((*group).to_owned(), rest),
        _ => panic!("unexpected path {}", request.path),
    };
    let rest = match rest {
        ["namespaces", _namespace, rest @ ..] => rest,
        rest => rest,
    };
    let (resource, named) = match rest {
        [plural] => ((*plural).to_owned(), false),
        [plural, _name] => ((*plural).to_owned(), true),
        [plural, _name, sub] => (format!("{plural}/{sub}"), true),
        _ => panic!("unexpected path {}", request.path),
    };
    let verb = match (&request.method, named) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if request.query.contains("watch=true") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PATCH, _) => "patch",
        (&Method::PUT, _) => "update",
        (&Method::DELETE, _) => "delete",
        (method, _) => panic!("unexpected method {method}"),
    };
    (group, resource, verb)
}

#[tokio::test]
async fn every_request_the_operator_makes_is_allowed_by_its_rbac_rules() {
    let api = seeded();
    api.put(category_json("orphan", "no-such-bot"));
    let operator = Operator::start(&api).await;
    converged(&api).await;
    eventually("an event is published", || {
        !warning_reasons(&api).is_empty()
    })
    .await;
    operator.shut_down().await;
    let mut denied: Vec<String> = api
        .requests()
        .iter()
        .map(rbac_need)
        .filter(|(group, resource, verb)| {
            !ticketeer_operator::rbac::RULES.iter().any(|rule| {
                rule.api_group == group
                    && rule.resources.contains(&resource.as_str())
                    && rule.verbs.contains(verb)
            })
        })
        .map(|(group, resource, verb)| format!("{verb} {group}/{resource}"))
        .collect();
    denied.dedup();
    assert_eq!(denied, Vec::<String>::new(), "requests RBAC would deny");
}
