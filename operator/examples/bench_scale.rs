//! The operator at scale against a real Kubernetes API server (the testkit's control plane):
//! 100 TicketBots with 10 TicketCategories each in one namespace, the operator running in this
//! process as a ServiceAccount of its own, so the API server's audit log tells its requests from
//! the benchmark's. Prints figures; asserts nothing.
//!
//! Usage: `cargo run --release -p ticketeer-operator --example bench_scale [-- BOTS CATEGORIES STEADY_SECONDS]`
//!
//! There is no kubelet, so no bot pod runs and no Deployment becomes available: a bot counts as
//! converged when its ConfigMap holds all its categories, and the operator never reads a bot's
//! `/status` (it does so only once the Deployment is available), so no failing poll is in the
//! figures. The drift repair runs every 60 s here (5 minutes in production) so that the steady
//! state window holds whole drift periods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use ticketeer_config::BotConfig;
use ticketeer_operator::controller::{Context, Settings, run_controllers};
use ticketeer_operator::metrics::Metrics;
use ticketeer_testkit::control_plane::{AuditEvent, ControlPlane, service_account_username};

const NAMESPACE: &str = "bench";
const OPERATOR_NAMESPACE: &str = "ticketeer";
const OPERATOR_ACCOUNT: &str = "bench-operator";
const DRIFT: Duration = Duration::from_mins(1);

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1alpha1", kind), plural)
}

async fn put(api: &Api<DynamicObject>, object: Value) {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let object: DynamicObject = serde_json::from_value(object).expect("a Kubernetes object");
    api.patch(
        &name,
        &PatchParams::apply("bench").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|error| panic!("applying {name}: {error}"));
}

fn example(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/examples")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("the example reads");
    serde_saphyr::from_str(&text).expect("the example parses")
}

/// The example TicketBot, renamed into the benchmark's namespace.
fn bot(template: &Value, name: &str) -> Value {
    let mut bot = template.clone();
    bot["metadata"] = json!({"name": name, "namespace": NAMESPACE});
    bot
}

/// The example category `general`, the `index`th of `bot`, with a panel channel of its own.
fn category(template: &Value, bot: &str, index: usize) -> Value {
    let mut category = template.clone();
    category["metadata"] = json!({"name": format!("{bot}-c{index}"), "namespace": NAMESPACE});
    category["spec"]["botRef"]["name"] = json!(bot);
    category["spec"]["name"] = json!(format!("Category {index}"));
    category["spec"]["createChannelId"] = json!(format!("1090000000000001{index:03}"));
    category
}

/// The operator's requests by verb, and how many there were.
fn by_verb(requests: &[AuditEvent]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for request in requests {
        *counts.entry(request.verb.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(verb, count)| format!("{verb} {count}"))
        .collect();
    format!("{} ({})", requests.len(), parts.join(", "))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|arg| arg.parse::<usize>().expect("a number"));
    let bots = args.next().unwrap_or(100);
    let per_bot = args.next().unwrap_or(10);
    let steady = Duration::from_secs(u64::try_from(args.next().unwrap_or(120)).unwrap_or(120));

    let plane = ControlPlane::start()
        .await
        .expect("the control plane starts");
    let crds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    plane.install_crds(&crds).await.expect("the CRDs install");
    for namespace in [OPERATOR_NAMESPACE, NAMESPACE] {
        plane
            .create_namespace(namespace)
            .await
            .expect("the namespace");
    }
    plane
        .apply_yaml(
            &format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {OPERATOR_ACCOUNT}, namespace: {OPERATOR_NAMESPACE}}}\n---\n\
                 apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {OPERATOR_ACCOUNT}}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n\
                 subjects: [{{kind: ServiceAccount, name: {OPERATOR_ACCOUNT}, namespace: {OPERATOR_NAMESPACE}}}]\n"
            ),
            OPERATOR_NAMESPACE,
        )
        .await
        .expect("the operator's account");
    let admin = plane.admin_client().expect("an admin client");
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        admin.clone(),
        NAMESPACE,
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets"),
    );
    for (name, key) in [("discord-token", "token"), ("ticketeer-db", "url")] {
        put(
            &secrets,
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": name, "namespace": NAMESPACE},
                   "stringData": {key: "bench"}}),
        )
        .await;
    }
    let bot_api: Api<DynamicObject> = Api::namespaced_with(
        admin.clone(),
        NAMESPACE,
        &resource("ticketeer.dev", "TicketBot", "ticketbots"),
    );
    let category_api: Api<DynamicObject> = Api::namespaced_with(
        admin.clone(),
        NAMESPACE,
        &resource("ticketeer.dev", "TicketCategory", "ticketcategories"),
    );
    let (bot_template, category_template) = (
        example("ticketbot.yaml"),
        example("ticketcategory-general.yaml"),
    );
    for name in (0..bots).map(|index| format!("bot-{index:03}")) {
        put(&bot_api, bot(&bot_template, &name)).await;
        for index in 0..per_bot {
            put(&category_api, category(&category_template, &name, index)).await;
        }
    }
    println!("created {bots} TicketBots with {per_bot} TicketCategories each");

    let username = service_account_username(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT);
    let client = plane
        .service_account_client(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)
        .await
        .expect("the operator's client");
    let mut settings = Settings::new("ghcr.io/ticketeer/ticketeer:bench");
    settings.namespace = Some(NAMESPACE.to_owned());
    settings.drift_requeue = DRIFT;
    let mut registry = Registry::default();
    let context = Arc::new(
        Context::new(client, settings, Metrics::register(&mut registry)).expect("the context"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let operator = tokio::spawn(run_controllers(context, async move {
        let _ = stopped.await;
    }));

    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(admin.clone(), NAMESPACE);
    loop {
        let complete = config_maps
            .list(&ListParams::default())
            .await
            .expect("the ConfigMaps list")
            .items
            .iter()
            .filter_map(|config_map| config_map.data.as_ref()?.get("config.yaml").cloned())
            .filter_map(|text| BotConfig::from_yaml(&text).ok())
            .filter(|config| config.categories.len() == per_bot)
            .count();
        if complete == bots {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let converged = started.elapsed();
    let at_convergence = plane
        .audit_events_of(&username)
        .expect("the audit log")
        .len();
    println!(
        "converged in {:.2} s: every ConfigMap holds its {per_bot} categories",
        converged.as_secs_f64()
    );
    let requests = plane.audit_events_of(&username).expect("the audit log");
    println!(
        "requests until converged: {}",
        by_verb(&requests[..at_convergence])
    );

    // Let the burst of reconciles that convergence itself triggered finish before measuring.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let steady_start = plane
        .audit_events_of(&username)
        .expect("the audit log")
        .len();
    tokio::time::sleep(steady).await;
    let requests = plane.audit_events_of(&username).expect("the audit log");
    let window = &requests[steady_start..];
    let minutes = steady.as_secs_f64() / 60.0;
    let count = |n: usize| f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    println!(
        "steady state over {} s: {} = {:.0} requests/min, {:.2} requests per bot per drift period ({} s)",
        steady.as_secs(),
        by_verb(window),
        count(window.len()) / minutes,
        count(window.len()) / count(bots) / (steady.as_secs_f64() / DRIFT.as_secs_f64()),
        DRIFT.as_secs()
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), operator).await;
    // A watch is logged when it ends, so only now are the watches in the log.
    let requests = plane.audit_events_of(&username).expect("the audit log");
    println!("all requests, watches included: {}", by_verb(&requests));
    println!(
        "peak RSS of this process (operator, its caches and the benchmark's own objects; the control plane runs in its own processes): {:.1} MiB",
        f64::from(u32::try_from(peak_rss_kib()).unwrap_or(u32::MAX)) / 1024.0
    );
}
