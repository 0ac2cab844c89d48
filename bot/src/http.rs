//! The bot's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::ErrorChain;
use crate::error::{BotError, Result};
use crate::status;

/// Binds `address` (the config's `http.listen`).
pub(crate) async fn bind(address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|source| BotError::BindHttp { address, source })
}

/// Serves the endpoints on `listener` until `stop` is cancelled, then waits at most
/// `http_shutdown_wait` for requests in flight.
///
/// Each connection must send its headers within `http_header_timeout` and lives at most
/// `http_connection_lifetime`: the endpoints are cheap, and nothing a client does should hold
/// the process (or its shutdown) hostage.
pub(crate) fn serve(
    ctx: Arc<Context>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let settings = ctx.settings.clone();
    let router = router(ctx);
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: keep serving the connections we have.
                    tracing::warn!(error = %ErrorChain(&error), "could not accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(settings.http_header_timeout);
            let service = TowerToHyperService::new(router.clone());
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            let lifetime = settings.http_connection_lifetime;
            tokio::spawn(async move {
                // An error here is one client's broken or timed-out connection.
                let _ = tokio::time::timeout(lifetime, connection).await;
            });
        }
        if tokio::time::timeout(settings.http_shutdown_wait, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("HTTP connections still open at shutdown were dropped");
        }
    })
}

/// The routes, on a context.
pub(crate) fn router(ctx: Arc<Context>) -> Router {
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
    let reachable =
        tokio::time::timeout(Duration::from_secs(2), crate::store::ping(&ctx.pool)).await;
    match reachable {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
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
            tracing::warn!(error = %ErrorChain(&error), "could not build the status report");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "status unavailable: the database is not reachable\n",
            )
                .into_response()
        }
    }
}
