//! The operator at scale against a real Kubernetes API server (the testkit's control plane):
//! 100 TicketBots with 10 TicketCategories each in one namespace, the operator binary running in
//! a process of its own as a ServiceAccount of its own, so the API server's audit log tells its
//! requests from the benchmark's and its peak RSS is its own. Prints figures; asserts nothing.
//!
//! Usage: `cargo build --release -p ticketeer-operator --bins --examples` then
//! `target/release/examples/bench_scale [BOTS CATEGORIES STEADY_SECONDS]` (the operator binary is
//! looked for beside the `examples` directory the benchmark runs from).
//!
//! There is no kubelet, so no bot pod runs and no Deployment becomes available: a bot counts as
//! converged when its ConfigMap holds all its categories, and the operator never reads a bot's
//! `/status` (it does so only once the Deployment is available), so no failing poll is in the
//! figures. The drift repair runs every 60 s here (5 minutes in production) so that the steady
//! state window holds whole drift periods.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt as _;
use serde_json::{Value, json};
use ticketeer_config::BotConfig;
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

/// The operator's requests by verb and resource (`patch configmaps`, `patch ticketbots/status`),
/// with when the first and the last of each reached the API server, in seconds after `since`.
fn by_resource(requests: &[AuditEvent], since: std::time::SystemTime) -> String {
    let mut rows = std::collections::BTreeMap::<String, (usize, f64, f64)>::new();
    for request in requests {
        let resource = request.object_ref.clone().unwrap_or_default();
        let key = match resource.subresource {
            Some(subresource) => format!("{} {}/{subresource}", request.verb, resource.resource),
            None => format!("{} {}", request.verb, resource.resource),
        };
        let at = request
            .received_at()
            .and_then(|at| at.duration_since(since).ok())
            .map_or(0.0, |elapsed| elapsed.as_secs_f64());
        let row = rows.entry(key).or_insert((0, f64::MAX, 0.0));
        row.0 += 1;
        row.1 = row.1.min(at);
        row.2 = row.2.max(at);
    }
    rows.iter()
        .map(|(key, (count, first, last))| {
            format!("  {key:<32} {count:>5}  {first:>6.2} s .. {last:>6.2} s")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The peak resident set (`VmHWM`) of the process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The operator binary beside the directory this example runs from (`target/<profile>/`).
fn operator_binary() -> PathBuf {
    let example = std::env::current_exe().expect("the benchmark's own path");
    let binary = example
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("ticketeer-operator"))
        .expect("a target directory");
    assert!(
        binary.exists(),
        "{} does not exist; build it first: cargo build --release -p ticketeer-operator --bins --examples",
        binary.display()
    );
    binary
}

/// A free local port (bound, then released for the operator to take).
fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// How many reconciles each controller has run, from the operator's `/metrics`.
async fn reconciles(http: std::net::SocketAddr) -> Vec<(String, f64)> {
    let text = reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("the operator's /metrics answers")
        .text()
        .await
        .expect("the metrics read");
    text.lines()
        .filter_map(|line| line.strip_prefix("ticketeer_operator_reconciles_total{controller=\""))
        .filter_map(|rest| {
            let (controller, count) = rest.split_once("\"} ")?;
            Some((controller.to_owned(), count.trim().parse().ok()?))
        })
        .collect()
}

/// Starts the operator binary as the ServiceAccount of `kubeconfig`, watching the benchmark's
/// namespace, with the benchmark's drift period.
fn start_operator(kubeconfig: &std::path::Path, http: std::net::SocketAddr) -> Child {
    Command::new(operator_binary())
        .env_clear()
        .env("KUBECONFIG", kubeconfig)
        .env("WATCH_NAMESPACE", NAMESPACE)
        .env("DRIFT_REPAIR_SECONDS", DRIFT.as_secs().to_string())
        .env("HTTP_LISTEN", http.to_string())
        .env("TICKETEER_BOT_IMAGE", "ghcr.io/ticketeer/ticketeer:bench")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the operator binary")
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
    let kubeconfig = plane.dir().join("bench-operator.kubeconfig");
    plane
        .write_service_account_kubeconfig(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, &kubeconfig)
        .await
        .expect("the operator's kubeconfig");
    let http = free_address();
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut operator = start_operator(&kubeconfig, http);

    // Watched, not polled: a list of every ConfigMap ten times a second would cost the API
    // server more than some of what is measured.
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(admin.clone(), NAMESPACE);
    let mut changes = std::pin::pin!(
        kube::runtime::watcher(config_maps, kube::runtime::watcher::Config::default())
            .applied_objects()
    );
    let mut complete = std::collections::BTreeSet::new();
    while complete.len() < bots {
        let config_map = changes
            .try_next()
            .await
            .expect("the ConfigMap watch")
            .expect("the watch goes on");
        let holds_all = config_map
            .data
            .as_ref()
            .and_then(|data| data.get("config.yaml"))
            .and_then(|text| BotConfig::from_yaml(text).ok())
            .is_some_and(|config| config.categories.len() == per_bot);
        if holds_all {
            complete.insert(config_map.metadata.name.unwrap_or_default());
        }
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
    println!(
        "by resource (count, first .. last after the operator started):\n{}",
        by_resource(&requests[..at_convergence], started_at)
    );

    // Let the burst of reconciles that convergence itself triggered finish before measuring.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let steady_start = plane
        .audit_events_of(&username)
        .expect("the audit log")
        .len();
    let reconciles_before = reconciles(http).await;
    tokio::time::sleep(steady).await;
    let reconciles_after = reconciles(http).await;
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
    for (controller, after) in &reconciles_after {
        let before = reconciles_before
            .iter()
            .find(|(name, _)| name == controller)
            .map_or(0.0, |(_, count)| *count);
        println!(
            "reconciles in the steady state window ({controller}): {}",
            after - before
        );
    }
    let operator_peak = peak_rss_kib(operator.id());
    let stopped = Command::new("kill")
        .args(["-TERM", &operator.id().to_string()])
        .status()
        .expect("the kill command");
    assert!(stopped.success(), "the operator could be signalled");
    let exit = tokio::task::spawn_blocking(move || operator.wait())
        .await
        .expect("the waiting thread")
        .expect("the operator exits");
    println!("the operator exited with {exit}");
    // A watch is logged when it ends, so only now are the watches in the log.
    let requests = plane.audit_events_of(&username).expect("the audit log");
    println!("all requests, watches included: {}", by_verb(&requests));
    println!(
        "all requests by resource:\n{}",
        by_resource(&requests, started_at)
    );
    println!(
        "peak RSS of the operator process: {:.1} MiB",
        f64::from(u32::try_from(operator_peak).unwrap_or(u32::MAX)) / 1024.0
    );
}
