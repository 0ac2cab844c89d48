//! Leader election against a real API server: only the Lease holder reconciles, a standby takes
//! over when the Lease expires, and a leader that loses its Lease stops (the binary then exits
//! non-zero). The chart is rendered with leader election on, so the operator's ServiceAccount gets
//! exactly the chart's Role for its Lease.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/wait.rs"]
mod wait;

use std::sync::Arc;
use std::time::Duration;

use cluster::{Cluster, OPERATOR_NAMESPACE, RELEASE, api_resource};
use fixtures::{NAMESPACE, billing_json, bot_json, secrets_json};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use ticketeer_operator::controller::{BOT_CONTROLLER, Context, Settings, run_controllers};
use ticketeer_operator::health::Health;
use ticketeer_operator::leader::{LeaderElection, run_while_leading};
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use wait::eventually;

/// The Lease's name: the chart's (the release's full name), the only Lease its Role grants.
const LEASE: &str = RELEASE;
/// The chart's leader-election Role and RoleBinding.
const LEASE_ROLE: &str = "ticketeer-leader-election";
/// How long the other replica's Lease is valid without renewal, in seconds.
const OTHER_LEASE_SECONDS: u64 = 2;

/// A cluster whose operator RBAC includes the chart's leader-election Role, with the example
/// Secrets, bot and one category.
async fn seeded() -> Cluster {
    let cluster = Cluster::start_with_chart_values(&["--set", "leaderElection.enabled=true"]).await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot_json()).await;
    cluster.put(billing_json()).await;
    cluster
}

fn micro_time(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

async fn lease(cluster: &Cluster) -> Option<Value> {
    cluster.get("leases", OPERATOR_NAMESPACE, LEASE).await
}

async fn lease_holder(cluster: &Cluster) -> Option<String> {
    lease(cluster).await.and_then(|lease| {
        lease
            .pointer("/spec/holderIdentity")
            .and_then(|holder| holder.as_str().map(str::to_owned))
    })
}

async fn bot_deployment_exists(cluster: &Cluster) -> bool {
    cluster
        .get("deployments", NAMESPACE, "support")
        .await
        .is_some()
}

/// The operator's requests for the Lease with `verbs`, so far.
fn lease_requests(cluster: &Cluster, verbs: &[&str]) -> Vec<String> {
    cluster
        .operator_requests()
        .into_iter()
        .filter(|request| {
            request.resource() == "coordination.k8s.io/leases"
                && verbs.contains(&request.verb.as_str())
        })
        .map(|request| {
            format!(
                "{} {} {}",
                request.verb,
                request.request_uri,
                request.code()
            )
        })
        .collect()
}

/// A Lease held by another replica, renewed now.
fn other_replicas_lease() -> Value {
    let now = micro_time(jiff::Timestamp::now());
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": OPERATOR_NAMESPACE},
        "spec": {
            "holderIdentity": "operator-elsewhere",
            "leaseDurationSeconds": OTHER_LEASE_SECONDS,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        },
    })
}

/// Starts one replica with leader election, as the chart's operator ServiceAccount; returns its
/// metrics, a stop handle and its task.
async fn start_replica(
    cluster: &Cluster,
    identity: &str,
) -> (
    Metrics,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<ticketeer_operator::Result<()>>,
) {
    start_replica_of(cluster, identity, LEASE).await
}

/// Like [`start_replica`], holding the Lease `lease`.
async fn start_replica_of(
    cluster: &Cluster,
    identity: &str,
    lease: &str,
) -> (
    Metrics,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<ticketeer_operator::Result<()>>,
) {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let mut settings = Settings::new("ghcr.io/ticketeer/ticketeer:test");
    settings.drift_requeue = Duration::from_millis(300);
    let client = cluster.operator_client().await;
    let context = Arc::new(
        Context::new(client.clone(), settings, metrics.clone()).expect("the context builds"),
    );
    let election = LeaderElection {
        lease_name: lease.to_owned(),
        // Short, for quick takeovers, with a margin for API calls on a busy machine.
        lease_seconds: 4,
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_millis(300),
        ..LeaderElection::new(OPERATOR_NAMESPACE, identity)
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let replica_metrics = metrics.clone();
    let task = tokio::spawn(async move {
        run_while_leading(
            client,
            election,
            replica_metrics,
            Arc::new(Health::default()),
            async move {
                let _ = stopped.await;
            },
            |stop| run_controllers(context, stop),
        )
        .await
    });
    (metrics, stop, task)
}

/// Stops a replica, then fails the test if the chart's RBAC refused any request it made.
async fn stop_replica(
    cluster: &Cluster,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<ticketeer_operator::Result<()>>,
) {
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the replica stops")
        .expect("no panic")
        .expect("no leader election error");
    cluster.assert_operator_never_refused();
}

#[tokio::test]
async fn the_lease_holder_reconciles_and_releases_the_lease_on_shutdown() {
    let cluster = seeded().await;
    let (_metrics, stop, task) = start_replica(&cluster, "operator-a").await;
    eventually("replica a holds the Lease", async || {
        lease_holder(&cluster).await.as_deref() == Some("operator-a")
    })
    .await;
    eventually("the leader reconciles", async || {
        bot_deployment_exists(&cluster).await
    })
    .await;
    stop_replica(&cluster, stop, task).await;
    assert_eq!(
        lease_holder(&cluster).await,
        None,
        "the Lease is released for the next replica"
    );
}

#[tokio::test]
async fn a_standby_does_not_reconcile_until_the_lease_expires() {
    let cluster = seeded().await;
    cluster.put(other_replicas_lease()).await;
    let first_renewal = lease(&cluster).await.expect("the Lease")["spec"]["renewTime"].clone();
    // The other replica is alive: it renews its Lease well within its duration, as the test's
    // administrator, until the test stops it.
    let leases: Api<DynamicObject> = Api::namespaced_with(
        cluster.admin.clone(),
        OPERATOR_NAMESPACE,
        &api_resource("leases"),
    );
    let renewer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let renewal = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "spec": {"renewTime": micro_time(jiff::Timestamp::now())},
            });
            leases
                .patch(LEASE, &PatchParams::default(), &Patch::Merge(&renewal))
                .await
                .expect("the other replica renews its Lease");
        }
    });

    let (metrics, stop, task) = start_replica(&cluster, "operator-b").await;
    // Each attempt reads the Lease; ten attempts at 300 ms outlast the other replica's 2-second
    // Lease, which it keeps renewing, so the standby has found it live each time.
    eventually(
        "the standby has tried to take the Lease ten times",
        async || metrics.lease_acquire_attempts() >= 10,
    )
    .await;
    assert!(!metrics.is_leader());
    assert_eq!(
        metrics.reconciles(BOT_CONTROLLER),
        0,
        "a standby does not reconcile"
    );
    assert!(!bot_deployment_exists(&cluster).await);
    assert_eq!(
        lease_requests(&cluster, &["create", "update", "patch"]),
        Vec::<String>::new(),
        "a standby does not touch a live Lease"
    );
    let held = lease(&cluster).await.expect("the Lease");
    assert_eq!(held["spec"]["holderIdentity"], "operator-elsewhere");
    assert_ne!(
        held["spec"]["renewTime"], first_renewal,
        "the other replica kept renewing"
    );

    // The other replica stops renewing: once its Lease expires this one takes over.
    renewer.abort();
    let _ = renewer.await;
    eventually("replica b takes the Lease", async || {
        lease_holder(&cluster).await.as_deref() == Some("operator-b")
    })
    .await;
    eventually("and reconciles", async || {
        bot_deployment_exists(&cluster).await
    })
    .await;
    stop_replica(&cluster, stop, task).await;
}

/// Writes the Lease as another replica's, renewed now: what a replica sees when another took
/// the Lease from it (its own renewals were lost, or someone edited the Lease).
async fn take_lease_as_another_replica(cluster: &Cluster) {
    cluster.put(other_replicas_lease()).await;
}

/// Waits for a replica's task to end, returning what it returned.
async fn ended(
    task: tokio::task::JoinHandle<ticketeer_operator::Result<()>>,
) -> ticketeer_operator::Result<()> {
    tokio::time::timeout(wait::TIMEOUT, task)
        .await
        .expect("the replica stops by itself")
        .expect("no panic")
}

#[tokio::test]
async fn a_leader_whose_lease_another_replica_holds_stops_with_an_error() {
    let cluster = seeded().await;
    let (metrics, _stop, task) = start_replica(&cluster, "operator-a").await;
    eventually("the leader reconciles", async || {
        bot_deployment_exists(&cluster).await && metrics.is_leader()
    })
    .await;
    take_lease_as_another_replica(&cluster).await;
    let error = ended(task)
        .await
        .expect_err("the leader stops with an error");
    assert!(
        matches!(
            &error,
            ticketeer_operator::Error::LeaseTaken { holder, .. } if holder == "operator-elsewhere"
        ),
        "{error}"
    );
    assert!(!metrics.is_leader());
    assert_eq!(
        lease_holder(&cluster).await.as_deref(),
        Some("operator-elsewhere")
    );
    cluster.assert_operator_never_refused();
}

#[tokio::test]
async fn a_leader_that_cannot_renew_its_lease_stops_at_the_renew_deadline() {
    let cluster = seeded().await;
    let (metrics, _stop, task) = start_replica(&cluster, "operator-a").await;
    eventually("the leader reconciles", async || {
        bot_deployment_exists(&cluster).await && metrics.is_leader()
    })
    .await;
    // The fault: the Lease Role's binding goes, so every renewal is refused (403).
    Api::<RoleBinding>::namespaced(cluster.admin.clone(), OPERATOR_NAMESPACE)
        .delete(LEASE_ROLE, &DeleteParams::default())
        .await
        .expect("the RoleBinding is deleted");
    let error = ended(task)
        .await
        .expect_err("the leader stops with an error");
    assert!(
        matches!(
            error,
            ticketeer_operator::Error::LeaseNotRenewed { seconds: 3, .. }
        ),
        "{error}"
    );
    let refused = cluster.operator_refusals();
    assert!(
        refused
            .iter()
            .any(|refusal| refusal.starts_with("get coordination.k8s.io/leases")),
        "the renewals were refused: {refused:?}"
    );
}

/// Kills the operator process when the test ends, however it ends.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_operator_binary_exits_non_zero_with_the_reason_when_its_lease_is_taken() {
    let cluster = seeded().await;
    let dir = std::env::temp_dir().join(format!(
        "ticketeer-leader-exit-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let kubeconfig = dir.join("kubeconfig");
    cluster
        .plane
        .write_service_account_kubeconfig(
            OPERATOR_NAMESPACE,
            &cluster.operator_account,
            &kubeconfig,
        )
        .await
        .expect("a kubeconfig for the operator");
    let log = dir.join("operator.log");
    let output = std::fs::File::create(&log).expect("the log file");
    let mut process = Process(
        std::process::Command::new(env!("CARGO_BIN_EXE_ticketeer-operator"))
            .env_clear()
            .env("KUBECONFIG", &kubeconfig)
            .env("LEADER_ELECTION", "true")
            .env("LEADER_ELECTION_LEASE", LEASE)
            .env("POD_NAMESPACE", OPERATOR_NAMESPACE)
            .env("POD_NAME", "operator-a")
            .env("HTTP_LISTEN", "127.0.0.1:0")
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info")
            .stdout(output.try_clone().expect("the log file"))
            .stderr(output)
            .spawn()
            .expect("the operator starts"),
    );
    eventually("the operator leads and reconciles", async || {
        lease_holder(&cluster).await.as_deref() == Some("operator-a")
            && bot_deployment_exists(&cluster).await
    })
    .await;
    take_lease_as_another_replica(&cluster).await;
    let mut status = None;
    eventually("the operator exits", async || {
        status = process.0.try_wait().expect("the process can be waited for");
        status.is_some()
    })
    .await;
    let status = status.expect("an exit status");
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!status.success(), "exited with {status}; log:\n{logged}");
    assert!(
        logged.contains("ERROR") && logged.contains("is held by operator-elsewhere"),
        "the reason is logged as an error:\n{logged}"
    );
}

#[tokio::test]
async fn the_charts_role_grants_only_the_releases_lease() {
    let cluster = seeded().await;
    let (metrics, stop, task) = start_replica_of(&cluster, "operator-a", "someone-elses").await;
    eventually("reading another Lease is refused", async || {
        cluster.operator_refusals().iter().any(|refusal| {
            refusal.starts_with("get coordination.k8s.io/leases")
                && refusal.ends_with("/leases/someone-elses")
        })
    })
    .await;
    assert!(!metrics.is_leader());
    assert_eq!(
        cluster
            .get("leases", OPERATOR_NAMESPACE, "someone-elses")
            .await,
        None
    );
    assert!(!bot_deployment_exists(&cluster).await);
    let _ = stop.send(());
    ended(task).await.expect("a standby stops cleanly");
}
