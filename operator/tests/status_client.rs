//! The client that reads a bot's `/status`, against a local HTTP server that misbehaves as a
//! compromised or broken bot could: it must not follow redirects, must stop reading an answer
//! past its size cap, and must pass on only bounded, printable text and well-formed ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ticketeer_operator::bot_status::{BODY_MAX_BYTES, StatusClient, StatusFetchError};

/// Serves the misbehaving endpoints on a free local port; returns its base URL and how many
/// requests reached `/elsewhere` (the redirect's target).
async fn serve() -> (String, Arc<AtomicUsize>) {
    let elsewhere = Arc::new(AtomicUsize::new(0));
    let hits = elsewhere.clone();
    let too_large = "x".repeat(BODY_MAX_BYTES + 1);
    let router = Router::new()
        .route(
            "/redirect",
            get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response()
            }),
        )
        .route(
            "/elsewhere",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { r#"{"gateway_connected": true, "categories": {}}"# }
            }),
        )
        .route("/large", get(move || async move { too_large }))
        .route(
            "/large-unsized",
            get(|| async {
                // Chunked, with no Content-Length: only counting the bytes read can stop it.
                let chunks = (0..=BODY_MAX_BYTES / 1024)
                    .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024])));
                Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
            }),
        )
        .route(
            "/error",
            get(|| async {
                let body = format!("line one\nline two\u{1b}[31m{}", "y".repeat(10_000));
                (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
            }),
        )
        .route(
            "/hostile",
            get(|| async {
                r#"{"gateway_connected": true, "categories": {"tickets/general": {
                    "name": "General", "panel_message_id": "<a href=x>click</a>\n",
                    "open_tickets": -5, "problems": []},
                  "tickets/billing": {"name": "Billing", "panel_message_id": "700000000000000001",
                    "open_tickets": 2, "problems": []}}}"#
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });
    (format!("http://{address}"), elsewhere)
}

fn client() -> StatusClient {
    StatusClient::new(Duration::from_secs(5)).expect("the client builds")
}

#[tokio::test]
async fn a_redirect_is_an_answer_and_is_not_followed() {
    let (base, elsewhere) = serve().await;
    let error = client()
        .fetch(&format!("{base}/redirect"))
        .await
        .expect_err("a redirect is no report");
    assert!(
        matches!(&error, StatusFetchError::HttpStatus { status, .. } if status.as_u16() == 302),
        "{error}"
    );
    assert_eq!(
        elsewhere.load(Ordering::SeqCst),
        0,
        "the target was never asked"
    );
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_refused_with_or_without_a_length() {
    let (base, _) = serve().await;
    for path in ["large", "large-unsized"] {
        let error = client()
            .fetch(&format!("{base}/{path}"))
            .await
            .expect_err("too large");
        assert!(
            error
                .to_string()
                .contains(&format!("the answer is larger than {BODY_MAX_BYTES} bytes")),
            "{path}: {error}"
        );
    }
}

#[tokio::test]
async fn an_error_body_is_quoted_short_and_printable() {
    let (base, _) = serve().await;
    let error = client()
        .fetch(&format!("{base}/error"))
        .await
        .expect_err("a 500 is no report");
    let StatusFetchError::HttpStatus { body, .. } = &error else {
        panic!("not an HTTP status error: {error}");
    };
    assert!(body.chars().count() <= 200, "{body:?}");
    assert!(!body.chars().any(char::is_control), "{body:?}");
    assert!(body.starts_with("line one line two"), "{body:?}");
}

#[tokio::test]
async fn a_report_keeps_only_well_formed_panel_ids_and_counts() {
    let (base, _) = serve().await;
    let report = client()
        .fetch(&format!("{base}/hostile"))
        .await
        .expect("a report");
    let general = &report.categories["tickets/general"];
    assert_eq!(general.panel_message_id, None, "not a Discord id");
    assert_eq!(general.open_tickets, 0);
    let billing = &report.categories["tickets/billing"];
    assert_eq!(
        billing.panel_message_id.as_deref(),
        Some("700000000000000001")
    );
    assert_eq!(billing.open_tickets, 2);
}
