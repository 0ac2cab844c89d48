//! The operator's `/healthz`, `/readyz` and `/metrics` endpoints; `/healthz` also against a real
//! API server whose TicketCategory CRD is deleted under the running controllers.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/wait.rs"]
mod wait;

use std::sync::Arc;
use std::time::Duration;

use cluster::Cluster;
use fixtures::{billing_json, bot_json, secrets_json};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::DeleteParams;
use prometheus_client::registry::Registry;
use serde_json::Value;
use ticketeer_operator::controller::{CATEGORY_CONTROLLER, Context, Settings, run_controllers};
use ticketeer_operator::health::{Health, HealthSettings, Leadership};
use ticketeer_operator::http::router;
use ticketeer_operator::metrics::Metrics;
use tokio::sync::oneshot;
use tower::ServiceExt;
use wait::eventually;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(
            Request::get(path)
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("the router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn readiness_follows_the_flag_and_names_the_replicas_part() {
    let health = Arc::new(Health::default());
    let app = router(Arc::new(Registry::default()), health.clone());
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    assert_eq!(
        get(&app, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    health.set_ready(true);
    assert_eq!(
        get(&app, "/readyz").await,
        (StatusCode::OK, "ready".to_owned())
    );
    health.set_leadership(Leadership::Standby);
    assert_eq!(
        get(&app, "/readyz").await,
        (StatusCode::OK, "ready: standby".to_owned())
    );
    health.set_leadership(Leadership::Leading);
    assert_eq!(
        get(&app, "/readyz").await,
        (StatusCode::OK, "ready: leading".to_owned())
    );
}

#[tokio::test]
async fn metrics_expose_reconciles_failures_durations_and_leadership() {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    metrics.record_reconcile("ticketbot", 0.02);
    metrics.record_failure("ticketbot", "apply_child");
    metrics.set_leader(true);
    metrics.record_lease_acquire_attempt();
    let app = router(Arc::new(registry), Arc::new(Health::default()));
    let (status, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "ticketeer_operator_reconciles_total{controller=\"ticketbot\"} 1",
        "ticketeer_operator_reconcile_failures_total{controller=\"ticketbot\",error=\"apply_child\"} 1",
        "ticketeer_operator_reconcile_duration_seconds_count{controller=\"ticketbot\"} 1",
        "ticketeer_operator_leader 1",
        "ticketeer_operator_lease_acquire_attempts_total 1",
    ] {
        assert!(body.contains(expected), "missing {expected} in:\n{body}");
    }
}

/// The generated TicketCategory CRD, as installed at the cluster's start.
fn category_crd() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/ticketcategories.ticketeer.dev.yaml");
    let text = std::fs::read_to_string(&path).expect("the generated CRD");
    serde_saphyr::from_str(&text).expect("the CRD parses")
}

#[tokio::test]
async fn healthz_fails_while_a_watched_resource_cannot_be_listed_and_recovers_after() {
    let cluster = Cluster::start().await;
    for secret in secrets_json() {
        cluster.put(secret).await;
    }
    cluster.put(bot_json()).await;
    cluster.put(billing_json()).await;
    let health = Arc::new(Health::new(HealthSettings {
        watch_failure_threshold: Duration::from_secs(1),
        watch_quiet_window: Duration::from_secs(10),
    }));
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let context = Arc::new(
        Context::new(
            cluster.operator_client().await,
            Settings::new("ghcr.io/ticketeer/ticketeer:test"),
            metrics.clone(),
        )
        .expect("the context builds")
        .with_health(health.clone()),
    );
    let app = router(Arc::new(registry), health);
    let (stop, stopped) = oneshot::channel::<()>();
    let controllers = tokio::spawn(run_controllers(context, async move {
        let _ = stopped.await;
    }));
    eventually("the category is reconciled", async || {
        metrics.reconciles(CATEGORY_CONTROLLER) > 0
    })
    .await;
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);

    // The fault: the TicketCategory CRD goes, so both controllers' watches of it end and every
    // list of it is answered 404 while the controllers retry.
    let crd = category_crd();
    let crd_name = crd["metadata"]["name"].as_str().expect("a name").to_owned();
    Api::<CustomResourceDefinition>::all(cluster.admin.clone())
        .delete(&crd_name, &DeleteParams::default())
        .await
        .expect("the CRD is deleted");
    let mut answer = (StatusCode::OK, String::new());
    eventually("/healthz fails", async || {
        answer = get(&app, "/healthz").await;
        answer.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert!(answer.1.contains("watches have been failing"), "{answer:?}");

    cluster.apply_crd(&crd).await;
    cluster
        .plane
        .wait_established(&crd_name)
        .await
        .expect("the CRD is back");
    eventually(
        "/healthz recovers once the lists succeed again",
        async || get(&app, "/healthz").await.0 == StatusCode::OK,
    )
    .await;
    let _ = stop.send(());
    controllers.await.expect("the controllers stop");
}
