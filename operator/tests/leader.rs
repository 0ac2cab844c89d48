//! Leader election: only the Lease holder reconciles, and a standby takes over when the Lease
//! expires.

#[path = "support/fake_api.rs"]
mod fake_api;
#[path = "support/fixtures.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::Duration;

use fake_api::FakeApi;
use fixtures::{NAMESPACE, billing_json, bot_json, secrets_json};
use prometheus_client::registry::Registry;
use serde_json::json;
use ticketeer_operator::controller::{BOT_CONTROLLER, Context, Settings, run_controllers};
use ticketeer_operator::leader::{LeaderElection, run_while_leading};
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;

const OPERATOR_NAMESPACE: &str = "ticketeer-system";

fn seeded() -> FakeApi {
    let api = FakeApi::new();
    for secret in secrets_json() {
        api.put(secret);
    }
    api.put(bot_json());
    api.put(billing_json());
    api
}

fn micro_time(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn lease_holder(api: &FakeApi) -> Option<String> {
    api.get("leases", OPERATOR_NAMESPACE, "ticketeer-operator")
        .and_then(|lease| {
            lease
                .pointer("/spec/holderIdentity")
                .and_then(|holder| holder.as_str().map(str::to_owned))
        })
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Starts one replica with leader election; returns its metrics, a stop handle and its task.
fn start_replica(
    api: &FakeApi,
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
    let context = Arc::new(
        Context::new(api.client(), settings, metrics.clone()).expect("the context builds"),
    );
    let mut election = LeaderElection::new(OPERATOR_NAMESPACE, identity);
    election.lease_seconds = 2;
    election.grace_seconds = 1;
    let (stop, stopped) = oneshot::channel::<()>();
    let client = api.client();
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

#[tokio::test]
async fn the_lease_holder_reconciles_and_releases_the_lease_on_shutdown() {
    let api = seeded();
    let (_metrics, stop, task) = start_replica(&api, "operator-a");
    eventually("replica a holds the Lease", || {
        lease_holder(&api).as_deref() == Some("operator-a")
    })
    .await;
    eventually("the leader reconciles", || {
        api.get("deployments", NAMESPACE, "support").is_some()
    })
    .await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the replica stops")
        .expect("no panic")
        .expect("no leader election error");
    assert_eq!(
        lease_holder(&api),
        None,
        "the Lease is released for the next replica"
    );
}

#[tokio::test]
async fn a_standby_does_not_reconcile_until_the_lease_expires() {
    let api = seeded();
    api.put(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "ticketeer-operator", "namespace": OPERATOR_NAMESPACE},
        "spec": {
            "holderIdentity": "operator-elsewhere",
            "leaseDurationSeconds": 2,
            "acquireTime": micro_time(jiff::Timestamp::now()),
            "renewTime": micro_time(jiff::Timestamp::now()),
            "leaseTransitions": 0,
        },
    }));
    let (metrics, stop, task) = start_replica(&api, "operator-b");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        metrics.reconciles(BOT_CONTROLLER),
        0,
        "a standby does not reconcile"
    );
    assert!(api.get("deployments", NAMESPACE, "support").is_none());
    // The other replica stopped renewing: once its Lease expires this one takes over.
    eventually("replica b takes the Lease", || {
        lease_holder(&api).as_deref() == Some("operator-b")
    })
    .await;
    eventually("and reconciles", || {
        api.get("deployments", NAMESPACE, "support").is_some()
    })
    .await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the replica stops")
        .expect("no panic")
        .expect("no leader election error");
}
