//! The operator's `/healthz`, `/readyz` and `/metrics` endpoints.

use std::sync::Arc;

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use prometheus_client::registry::Registry;
use ticketeer_operator::http::{Readiness, router};
use ticketeer_operator::metrics::Metrics;
use tower::ServiceExt;

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
async fn health_is_always_ok_and_readiness_follows_the_flag() {
    let readiness = Arc::new(Readiness::default());
    let app = router(Arc::new(Registry::default()), readiness.clone());
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    assert_eq!(
        get(&app, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    readiness.set(true);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_expose_reconciles_failures_and_durations() {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    metrics.record_reconcile("ticketbot", 0.02);
    metrics.record_failure("ticketbot", "apply_child");
    let app = router(Arc::new(registry), Arc::new(Readiness::default()));
    let (status, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "ticketeer_operator_reconciles_total{controller=\"ticketbot\"} 1",
        "ticketeer_operator_reconcile_failures_total{controller=\"ticketbot\",error=\"apply_child\"} 1",
        "ticketeer_operator_reconcile_duration_seconds_count{controller=\"ticketbot\"} 1",
    ] {
        assert!(body.contains(expected), "missing {expected} in:\n{body}");
    }
}
