//! A stand-in for a bot's `/status`: a local HTTP server answering with a canned report that a
//! test changes as it goes, and that can go away (connection refused).

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ticketeer_config::{CategoryStatus, Problem, StatusReport};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this report.
    Report(StatusReport),
    /// This status and plain-text body.
    Error(u16, String),
}

#[derive(Clone)]
struct Shared {
    answer: Arc<Mutex<Answer>>,
    requests: Arc<AtomicUsize>,
}

/// The running server.
pub struct StatusServer {
    address: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

async fn status(State(shared): State<Shared>) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let answer = shared.answer.lock().expect("answer lock").clone();
    // No keep-alive: once the server stops, the next poll must find nothing listening.
    let close = [(header::CONNECTION, "close")];
    match answer {
        Answer::Report(report) => (close, axum::Json(report)).into_response(),
        Answer::Error(code, body) => (
            StatusCode::from_u16(code).expect("a valid status"),
            close,
            body,
        )
            .into_response(),
    }
}

impl StatusServer {
    /// Starts serving `answer` on a free local port.
    pub async fn start(answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let address = listener.local_addr().expect("local address");
        let shared = Shared {
            answer: Arc::new(Mutex::new(answer)),
            requests: Arc::new(AtomicUsize::new(0)),
        };
        let router = Router::new()
            .route("/status", get(status))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the status server runs");
        });
        Self {
            address,
            shared,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The URL of its `/status`.
    pub fn url(&self) -> String {
        format!("http://{}/status", self.address)
    }

    /// Answers `answer` from now on.
    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().expect("answer lock") = answer;
    }

    /// How many requests it has answered.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Stops listening; later requests are refused.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("the status server stops")
                .expect("the status server does not panic");
        }
    }
}

/// One category's entry: `panel` posted or not, `open` tickets, `problems`.
pub fn entry(panel: Option<&str>, open: i64, problems: Vec<Problem>) -> CategoryStatus {
    CategoryStatus {
        name: "Category".to_owned(),
        panel_message_id: panel.map(str::to_owned),
        open_tickets: open,
        problems,
        parents: Vec::new(),
    }
}

/// A connected bot's report with these category entries.
pub fn report(entries: impl IntoIterator<Item = (String, CategoryStatus)>) -> StatusReport {
    StatusReport {
        gateway_connected: true,
        categories: entries.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

/// A report in which each of `keys` has its panel posted and no problem.
pub fn healthy(keys: &[&str]) -> StatusReport {
    report(keys.iter().enumerate().map(|(index, key)| {
        (
            (*key).to_owned(),
            entry(Some(&format!("70000000000000000{index}")), 0, Vec::new()),
        )
    }))
}
