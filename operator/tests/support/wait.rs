//! Waiting for a condition against a real API server, which is slower than an in-process fake
//! (and much slower on a busy machine): poll often, give up late.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use tokio::time::Instant;

/// How long a condition may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// How often a condition is checked.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `check` every [`POLL`] until it holds, failing the test after [`TIMEOUT`].
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting until {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
