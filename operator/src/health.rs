//! What `/healthz` and `/readyz` answer, from signals the controllers and the leader election
//! record as they run.
//!
//! Liveness fails when the operator can no longer do its job and a restart is the remedy:
//!
//! - the controllers' watches have kept failing (kube's `Controller` yields a
//!   `controller::Error::QueueError` for each failed list or watch, then retries with its own
//!   backoff of at most 30 s) for longer than [`HealthSettings::watch_failure_threshold`];
//! - the leader has not renewed its Lease within its renew deadline (it is then stopping, and
//!   another replica may already lead).
//!
//! Readiness only says whether the process serves; a standby replica is ready, and whether this
//! replica leads is in the `/readyz` body and the `ticketeer_operator_leader` gauge.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use kube::runtime::controller;
use kube::runtime::watcher;

/// How long watch failures must last before liveness fails, and how long without one ends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    /// How long the watches must keep failing before `/healthz` fails.
    pub watch_failure_threshold: Duration,
    /// How long without a watch failure ends a run of failures. Longer than kube's longest
    /// watcher backoff (30 s), so that a fault that persists is never taken for a recovery.
    pub watch_quiet_window: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            watch_failure_threshold: Duration::from_mins(1),
            watch_quiet_window: Duration::from_mins(1),
        }
    }
}

/// Whether this replica takes part in leader election, and its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leadership {
    /// No leader election: this replica always runs the controllers.
    NotElecting = 0,
    /// Waiting for the Lease; the controllers do not run.
    Standby = 1,
    /// Holding the Lease and running the controllers.
    Leading = 2,
}

impl Leadership {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Standby,
            2 => Self::Leading,
            _ => Self::NotElecting,
        }
    }
}

/// A run of watch failures with no quiet window in between.
#[derive(Debug, Clone, Copy)]
struct FailureRun {
    first: Instant,
    last: Instant,
}

/// The operator's liveness and readiness.
#[derive(Debug)]
pub struct Health {
    settings: HealthSettings,
    ready: AtomicBool,
    leadership: AtomicU8,
    watch_failures: Mutex<Option<FailureRun>>,
    /// While leading: the last successful renewal and the renew deadline.
    renewal: Mutex<Option<(Instant, Duration)>>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(HealthSettings::default())
    }
}

impl Health {
    /// A health record that is live, not ready and not electing.
    pub fn new(settings: HealthSettings) -> Self {
        Self {
            settings,
            ready: AtomicBool::new(false),
            leadership: AtomicU8::new(Leadership::NotElecting as u8),
            watch_failures: Mutex::new(None),
            renewal: Mutex::new(None),
        }
    }

    /// Marks the operator ready to serve or not (it is not while starting and shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the operator is ready to serve.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records this replica's part in leader election.
    pub fn set_leadership(&self, leadership: Leadership) {
        self.leadership.store(leadership as u8, Ordering::Release);
        if leadership != Leadership::Leading
            && let Ok(mut renewal) = self.renewal.lock()
        {
            *renewal = None;
        }
    }

    /// This replica's part in leader election.
    pub fn leadership(&self) -> Leadership {
        Leadership::from_u8(self.leadership.load(Ordering::Acquire))
    }

    /// Records a successful renewal of the Lease this replica leads with.
    pub(crate) fn record_renewal(&self, deadline: Duration) {
        self.record_renewal_at(Instant::now(), deadline);
    }

    fn record_renewal_at(&self, renewed: Instant, deadline: Duration) {
        if let Ok(mut renewal) = self.renewal.lock() {
            *renewal = Some((renewed, deadline));
        }
    }

    /// Records one item of a controller's output stream: a queue error is a failed list or watch.
    pub(crate) fn observe_controller<T, E>(
        &self,
        result: &Result<T, controller::Error<E, watcher::Error>>,
    ) {
        if matches!(result, Err(controller::Error::QueueError(_))) {
            self.record_watch_failure(Instant::now());
        }
    }

    fn record_watch_failure(&self, now: Instant) {
        let Ok(mut failures) = self.watch_failures.lock() else {
            return;
        };
        *failures = match *failures {
            Some(run) if now.duration_since(run.last) <= self.settings.watch_quiet_window => {
                Some(FailureRun { last: now, ..run })
            }
            _ => Some(FailureRun {
                first: now,
                last: now,
            }),
        };
    }

    /// Why the operator is not live, or `None` when it is.
    pub fn liveness_problem(&self) -> Option<String> {
        self.liveness_problem_at(Instant::now())
    }

    fn liveness_problem_at(&self, now: Instant) -> Option<String> {
        if let Ok(failures) = self.watch_failures.lock()
            && let Some(run) = *failures
            && now.duration_since(run.last) <= self.settings.watch_quiet_window
            && now.duration_since(run.first) >= self.settings.watch_failure_threshold
        {
            return Some(format!(
                "the controllers' watches have been failing for {} s",
                now.duration_since(run.first).as_secs()
            ));
        }
        if let Ok(renewal) = self.renewal.lock()
            && let Some((renewed, deadline)) = *renewal
            && now.duration_since(renewed) > deadline
        {
            return Some(format!(
                "the Lease has not been renewed for {} s (deadline {} s)",
                now.duration_since(renewed).as_secs(),
                deadline.as_secs()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> HealthSettings {
        HealthSettings {
            watch_failure_threshold: Duration::from_secs(10),
            watch_quiet_window: Duration::from_secs(5),
        }
    }

    /// A health record with watch failures at `seconds` after `start`.
    fn failing_at(start: Instant, seconds: &[u64]) -> Health {
        let health = Health::new(settings());
        for second in seconds {
            health.record_watch_failure(start + Duration::from_secs(*second));
        }
        health
    }

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn one_watch_failure_is_not_a_liveness_problem() {
        let start = Instant::now();
        let health = failing_at(start, &[0]);
        assert_eq!(health.liveness_problem_at(at(start, 1)), None);
    }

    #[test]
    fn failures_lasting_past_the_threshold_are_a_liveness_problem() {
        let start = Instant::now();
        let health = failing_at(start, &[0, 4, 8, 12]);
        assert_eq!(health.liveness_problem_at(at(start, 9)), None);
        let problem = health.liveness_problem_at(at(start, 12)).expect("not live");
        assert!(problem.contains("watches"), "{problem}");
    }

    #[test]
    fn a_quiet_window_between_failures_starts_a_new_run() {
        let start = Instant::now();
        let health = failing_at(start, &[0, 11, 12]);
        assert_eq!(health.liveness_problem_at(at(start, 12)), None);
    }

    #[test]
    fn failures_that_stopped_are_no_longer_a_problem() {
        let start = Instant::now();
        let health = failing_at(start, &[0, 4, 8, 12]);
        assert!(health.liveness_problem_at(at(start, 13)).is_some());
        assert_eq!(health.liveness_problem_at(at(start, 18)), None);
    }

    #[test]
    fn a_leader_past_its_renew_deadline_is_not_live_and_a_standby_has_no_deadline() {
        let start = Instant::now();
        let health = Health::new(settings());
        health.set_leadership(Leadership::Leading);
        health.record_renewal_at(start, Duration::from_secs(1));
        assert_eq!(health.liveness_problem_at(at(start, 1)), None);
        assert!(health.liveness_problem_at(at(start, 2)).is_some());
        health.set_leadership(Leadership::Standby);
        assert_eq!(health.liveness_problem_at(at(start, 2)), None);
    }
}
