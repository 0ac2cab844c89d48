//! The operator's HTTP endpoints: `/healthz`, `/readyz` and `/metrics`.
//!
//! `/healthz` answers 503 with the reason when [`Health::liveness_problem`] finds one; `/readyz`
//! answers 200 while the process serves, with `ready: leading`, `ready: standby` or `ready` (no
//! leader election) as its body, so a standby replica stays in its Service.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

use crate::health::{Health, Leadership};

#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    health: Arc<Health>,
}

/// The router serving the three endpoints.
pub fn router(registry: Arc<Registry>, health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(AppState { registry, health })
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.health.liveness_problem() {
        None => (StatusCode::OK, "ok".to_owned()),
        Some(problem) => (StatusCode::SERVICE_UNAVAILABLE, problem),
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.health.ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    let body = match state.health.leadership() {
        Leadership::NotElecting => "ready",
        Leadership::Standby => "ready: standby",
        Leadership::Leading => "ready: leading",
    };
    (StatusCode::OK, body)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
