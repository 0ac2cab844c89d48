//! How the bot waits before trying again: one doubling rule ([`doubling`]) for every retry
//! (PrivateBin uploads, the first database connection, the resume loop), and the per-ticket
//! bookkeeping the resume loop keeps for closes and first messages ([`Retries`]).
//!
//! Discord blocks a client from its whole API for a while once 10 000 of its requests in 10
//! minutes were answered 401, 403 or 429. A refusal that persists (a permission taken away) must
//! therefore be retried less and less often, not on every tick: each failure doubles the wait
//! before that ticket's next attempt, up to a maximum. Pure bookkeeping, no IO.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The wait after the `failures`-th failure in a row: `initial`, then twice as long each time,
/// never more than `max` (`failures` 0 counts as 1).
pub(crate) fn doubling(initial: Duration, failures: u32, max: Duration) -> Duration {
    initial
        .saturating_mul(2_u32.saturating_pow(failures.saturating_sub(1)))
        .min(max)
}

/// When each failing ticket may be tried again.
#[derive(Debug)]
pub(crate) struct Retries {
    initial: Duration,
    max: Duration,
    failing: HashMap<i64, (u32, Instant)>,
}

impl Retries {
    /// The first retry waits `initial`; each further failure twice as long, at most `max`.
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            failing: HashMap::new(),
        }
    }

    /// Whether the ticket may be tried now (it never failed, or its wait is over).
    pub(crate) fn is_due(&self, ticket_id: i64, now: Instant) -> bool {
        self.failing
            .get(&ticket_id)
            .is_none_or(|(_, next)| *next <= now)
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub(crate) fn failed(&mut self, ticket_id: i64, now: Instant) -> Duration {
        let failures = self.failing.get(&ticket_id).map_or(0, |(count, _)| *count) + 1;
        let wait = doubling(self.initial, failures, self.max);
        self.failing.insert(ticket_id, (failures, now + wait));
        wait
    }

    /// Forgets the ticket's failures.
    pub(crate) fn succeeded(&mut self, ticket_id: i64) {
        self.failing.remove(&ticket_id);
    }

    /// Forgets every ticket not in `pending` (finished elsewhere, by another replica, say).
    pub(crate) fn forget_all_but(&mut self, pending: &[i64]) {
        self.failing.retain(|id, _| pending.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_starts_at_the_initial_wait_and_stops_at_the_maximum() {
        let second = Duration::from_secs(1);
        let waits: Vec<u64> = (0..=6)
            .map(|failures| doubling(second, failures, Duration::from_secs(20)).as_secs())
            .collect();
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 20]);
        assert_eq!(
            doubling(second, u32::MAX, Duration::from_secs(20)),
            Duration::from_secs(20),
            "no overflow however many failures"
        );
    }

    #[test]
    fn each_failure_doubles_the_wait_up_to_the_maximum() {
        let mut retries = Retries::new(Duration::from_secs(1), Duration::from_secs(5));
        let now = Instant::now();
        assert!(retries.is_due(1, now));
        let waits: Vec<u64> = (0..5).map(|_| retries.failed(1, now).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert!(!retries.is_due(1, now));
        assert!(retries.is_due(1, now + Duration::from_secs(5)));
        assert!(retries.is_due(2, now), "other tickets are not held back");
        retries.succeeded(1);
        assert!(retries.is_due(1, now));
    }

    #[test]
    fn tickets_no_longer_pending_are_forgotten() {
        let mut retries = Retries::new(Duration::from_secs(1), Duration::from_secs(5));
        let now = Instant::now();
        retries.failed(1, now);
        retries.failed(2, now);
        retries.forget_all_but(&[2]);
        assert!(retries.is_due(1, now));
        assert!(!retries.is_due(2, now));
    }
}
