//! The bot's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::{BotError, Result};
use crate::status;

/// Binds `address` (the config's `http.listen`).
pub(crate) async fn bind(address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|source| BotError::BindHttp { address, source })
}

/// Serves the endpoints on `listener` until `stop` is cancelled.
pub(crate) fn serve(
    ctx: Arc<Context>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<Result<()>> {
    let router = router(ctx);
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(BotError::ServeHttp)
    })
}

/// The routes, on a context.
pub fn router(ctx: Arc<Context>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(ctx)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ctx): State<Arc<Context>>) -> Response {
    if !ctx.gateway_connected() {
        return (StatusCode::SERVICE_UNAVAILABLE, "gateway not connected\n").into_response();
    }
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&ctx.pool),
    )
    .await;
    match reachable {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database not reachable\n").into_response(),
    }
}

async fn metrics(State(ctx): State<Arc<Context>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics.render(),
    )
        .into_response()
}

async fn status(State(ctx): State<Arc<Context>>) -> Response {
    match status::report(&ctx).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "could not build the status report");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "status unavailable: the database is not reachable\n",
            )
                .into_response()
        }
    }
}
