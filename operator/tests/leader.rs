//! Leader election against a real API server: only the Lease holder reconciles, and a standby
//! takes over when the Lease expires. The chart is rendered with leader election on, so the
//! operator's ServiceAccount gets exactly the chart's Role for its Lease.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/wait.rs"]
mod wait;

use std::sync::Arc;
use std::time::Duration;

use cluster::{Cluster, OPERATOR_NAMESPACE, api_resource};
use fixtures::{NAMESPACE, billing_json, bot_json, secrets_json};
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use ticketeer_operator::builders::MANAGER;
use ticketeer_operator::controller::{BOT_CONTROLLER, Context, Settings, run_controllers};
use ticketeer_operator::leader::{LeaderElection, run_while_leading};
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use wait::eventually;

/// The Lease's name: [`LeaderElection::new`]'s default.
const LEASE: &str = MANAGER;
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
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let mut settings = Settings::new("ghcr.io/ticketeer/ticketeer:test");
    settings.drift_requeue = Duration::from_millis(300);
    let client = cluster.operator_client().await;
    let context = Arc::new(
        Context::new(client.clone(), settings, metrics.clone()).expect("the context builds"),
    );
    let mut election = LeaderElection::new(OPERATOR_NAMESPACE, identity);
    election.lease_seconds = 2;
    election.grace_seconds = 1;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        run_while_leading(
            client,
            election,
            async move {
                let _ = stopped.await;
            },
            |stop| run_controllers(context.clone(), stop),
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
    // The standby reads the Lease once to create it if missing, once to sync, then once each
    // time the Lease it saw would have expired. Four reads: it has twice outlived a Lease it saw,
    // found it renewed, and stood by.
    eventually(
        "the standby has read the renewed Lease repeatedly",
        async || lease_requests(&cluster, &["get"]).len() >= 4,
    )
    .await;
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
