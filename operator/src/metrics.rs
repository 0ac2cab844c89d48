//! Prometheus metrics: reconciles, failures by error, and reconcile duration, per controller;
//! with leader election, whether this replica leads and how often it tried to take the Lease.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels naming the controller (`ticketbot` or `ticketcategory`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// The controller.
    pub controller: String,
}

/// Labels of a failure: the controller and [`crate::Error::metric_label`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The controller.
    pub controller: String,
    /// What failed.
    pub error: String,
}

type HistogramFamily = Family<ControllerLabels, Histogram, fn() -> Histogram>;

/// The operator's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    reconciles: Family<ControllerLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    duration: HistogramFamily,
    leader: Gauge,
    lease_acquire_attempts: Counter,
}

fn duration_histogram() -> Histogram {
    // 5 ms to ~20 s: a reconcile is a handful of API calls.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

impl Metrics {
    /// Creates the metrics and registers them under the `ticketeer_operator` prefix.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconciles: Family::default(),
            failures: Family::default(),
            duration: HistogramFamily::new_with_constructor(duration_histogram),
            leader: Gauge::default(),
            lease_acquire_attempts: Counter::default(),
        };
        let registry = registry.sub_registry_with_prefix("ticketeer_operator");
        registry.register(
            "reconciles",
            "Reconciles run, per controller",
            metrics.reconciles.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, per controller and error",
            metrics.failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles take, per controller",
            metrics.duration.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader-election Lease and runs the controllers",
            metrics.leader.clone(),
        );
        registry.register(
            "lease_acquire_attempts",
            "Attempts of this replica to take the leader-election Lease while standing by",
            metrics.lease_acquire_attempts.clone(),
        );
        metrics
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Whether this replica leads, as last recorded.
    pub fn is_leader(&self) -> bool {
        self.leader.get() == 1
    }

    /// Records one attempt to take the Lease.
    pub fn record_lease_acquire_attempt(&self) {
        self.lease_acquire_attempts.inc();
    }

    /// How many times this replica tried to take the Lease.
    pub fn lease_acquire_attempts(&self) -> u64 {
        self.lease_acquire_attempts.get()
    }

    /// Records one reconcile of `controller` that took `seconds`.
    pub fn record_reconcile(&self, controller: &str, seconds: f64) {
        let labels = ControllerLabels {
            controller: controller.to_owned(),
        };
        self.reconciles.get_or_create(&labels).inc();
        self.duration.get_or_create(&labels).observe(seconds);
    }

    /// Records one failed reconcile.
    pub fn record_failure(&self, controller: &str, error: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                controller: controller.to_owned(),
                error: error.to_owned(),
            })
            .inc();
    }

    /// How many reconciles `controller` has run.
    pub fn reconciles(&self, controller: &str) -> u64 {
        self.reconciles
            .get_or_create(&ControllerLabels {
                controller: controller.to_owned(),
            })
            .get()
    }

    /// How many reconciles of `controller` failed with `error`.
    pub fn failures(&self, controller: &str, error: &str) -> u64 {
        self.failures
            .get_or_create(&FailureLabels {
                controller: controller.to_owned(),
                error: error.to_owned(),
            })
            .get()
    }
}
