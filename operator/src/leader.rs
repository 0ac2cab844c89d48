//! Optional leader election, so two operator replicas can run safely: only the holder of a
//! `coordination.k8s.io` Lease runs the controllers; the others stand by and take over once the
//! Lease has gone unrenewed for its duration.
//!
//! The rules are those of client-go's leader election: every retry period a standby reads the
//! Lease and takes it when it is free, released, or has not changed for its
//! `leaseDurationSeconds` as timed on this replica's clock (so clock skew between nodes does not
//! matter); the leader renews it on the same period. Writes are `update`s carrying the
//! `resourceVersion` read just before, so two replicas racing for the Lease cannot both win: the
//! later write gets a 409. A leader that finds the Lease held by another replica, or cannot renew
//! it within the renew deadline, stops the controllers and returns an error, and the process
//! exits (a fresh start stands by like any other replica). On shutdown the Lease is released so
//! another replica takes over at once.
//!
//! API calls: `get`, `create` (only when the Lease does not exist) and `update`, all on the one
//! Lease.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tracing::{debug, info, warn};

use crate::builders::MANAGER;
use crate::error::{Error, Result};
use crate::health::{Health, Leadership};
use crate::metrics::Metrics;

/// Where and as whom to hold the Lease, and its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// The Lease's namespace (the operator's own).
    pub namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long, in seconds, other replicas wait after the Lease last changed before taking it.
    pub lease_seconds: u32,
    /// How long the leader keeps leading without a successful renewal. Shorter than the Lease's
    /// duration, so that it has stopped before another replica may take over.
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby tries to take the Lease.
    pub retry_period: Duration,
}

impl LeaderElection {
    /// client-go's usual timing: a 15-second Lease, a 10-second renew deadline, a 2-second retry
    /// period.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            lease_name: MANAGER.to_owned(),
            identity: identity.into(),
            lease_seconds: 15,
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// A future that completes when the work must stop.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

/// What one read-and-write of the Lease found.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// This replica holds the Lease (it took or renewed it).
    Holding,
    /// Another replica holds it.
    HeldBy(String),
    /// Another replica wrote it between this replica's read and write; the next round tells.
    Contended,
}

/// The Lease as this replica last saw it, and since when (on this replica's clock).
struct Observed {
    resource_version: Option<String>,
    since: Instant,
}

struct Elector {
    api: Api<Lease>,
    election: LeaderElection,
    observed: Option<Observed>,
}

impl Elector {
    fn observe(&mut self, lease: &Lease) {
        let resource_version = lease.metadata.resource_version.clone();
        if self
            .observed
            .as_ref()
            .is_none_or(|observed| observed.resource_version != resource_version)
        {
            self.observed = Some(Observed {
                resource_version,
                since: Instant::now(),
            });
        }
    }

    /// Whether the holder has left the Lease unchanged for its duration.
    fn expired(&self, spec: &LeaseSpec) -> bool {
        let seconds = spec
            .lease_duration_seconds
            .and_then(|seconds| u64::try_from(seconds).ok())
            .unwrap_or(u64::from(self.election.lease_seconds));
        self.observed
            .as_ref()
            .is_some_and(|observed| observed.since.elapsed() > Duration::from_secs(seconds))
    }

    fn spec_for(&self, now: &MicroTime) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.election.identity.clone()),
            lease_duration_seconds: i32::try_from(self.election.lease_seconds).ok(),
            acquire_time: Some(now.clone()),
            renew_time: Some(now.clone()),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }
    }

    /// Reads the Lease and takes or renews it when this replica may: always when leading and
    /// still the holder, else when it is missing, free, or expired.
    async fn round(&mut self, leading: bool) -> Result<Round, kube::Error> {
        let now = MicroTime(jiff::Timestamp::now());
        let name = self.election.lease_name.clone();
        let Some(mut lease) = self.api.get_opt(&name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec_for(&now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(Round::Holding)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Contended),
                Err(error) => Err(error),
            };
        };
        self.observe(&lease);
        let spec = lease.spec.get_or_insert_default();
        let holder = spec
            .holder_identity
            .clone()
            .filter(|holder| !holder.is_empty());
        let mine = holder.as_deref() == Some(self.election.identity.as_str());
        if let Some(holder) = holder.filter(|_| !mine)
            && (leading || !self.expired(spec))
        {
            return Ok(Round::HeldBy(holder));
        }
        if mine {
            spec.renew_time = Some(now);
            spec.lease_duration_seconds = i32::try_from(self.election.lease_seconds).ok();
        } else {
            let transitions = spec.lease_transitions.unwrap_or(0).saturating_add(1);
            *spec = LeaseSpec {
                lease_transitions: Some(transitions),
                ..self.spec_for(&now)
            };
        }
        match self
            .api
            .replace(&self.election.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.observe(&written);
                Ok(Round::Holding)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Contended),
            Err(error) => Err(error),
        }
    }

    /// Clears the holder if it is still this replica, so the next replica need not wait.
    async fn release(&mut self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.election.lease_name).await? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.election.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        self.api
            .replace(&self.election.lease_name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }

    /// Renews the Lease every retry period; returns why leading must stop.
    async fn keep_leading(&mut self, health: &Health) -> Error {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.election.retry_period).await;
            // A call that hangs must not carry the leader past its deadline.
            let left = self
                .election
                .renew_deadline
                .saturating_sub(renewed.elapsed());
            let round = tokio::time::timeout(left, self.round(true)).await;
            match round.unwrap_or(Ok(Round::Contended)) {
                Ok(Round::Holding) => {
                    renewed = Instant::now();
                    health.record_renewal(self.election.renew_deadline);
                }
                Ok(Round::HeldBy(holder)) => {
                    return Error::LeaseTaken {
                        namespace: self.election.namespace.clone(),
                        name: self.election.lease_name.clone(),
                        holder,
                    };
                }
                Ok(Round::Contended) => debug!("the Lease changed while being renewed"),
                Err(error) => warn!(%error, "renewing the Lease failed"),
            }
            if renewed.elapsed() > self.election.renew_deadline {
                return Error::LeaseNotRenewed {
                    namespace: self.election.namespace.clone(),
                    name: self.election.lease_name.clone(),
                    seconds: self.election.renew_deadline.as_secs(),
                };
            }
        }
    }
}

/// Stands by until this replica holds the Lease, then runs `work` until `shutdown` completes.
///
/// `work` gets a [`StopSignal`] that completes when leadership ends or on shutdown; it must
/// return soon after. On shutdown the Lease is released so another replica takes over at once.
/// While standing by, each attempt to take the Lease is counted in `metrics`; `health` follows
/// this replica's part and its renewals.
///
/// # Errors
///
/// Only when this replica led and had to stop without a shutdown: [`Error::LeaseTaken`],
/// [`Error::LeaseNotRenewed`], [`Error::ControllersStopped`]; or when releasing the Lease on
/// shutdown failed, [`Error::ReleaseLease`]. Errors reading the Lease while standing by are
/// logged and retried.
pub async fn run_while_leading<W, Fut>(
    client: Client,
    election: LeaderElection,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: impl Future<Output = ()> + Send,
    work: W,
) -> Result<()>
where
    W: FnOnce(StopSignal) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut elector = Elector {
        api: Api::namespaced(client, &election.namespace),
        election,
        observed: None,
    };
    let mut shutdown = std::pin::pin!(shutdown);
    health.set_leadership(Leadership::Standby);
    metrics.set_leader(false);
    loop {
        metrics.record_lease_acquire_attempt();
        match elector.round(false).await {
            Ok(Round::Holding) => break,
            Ok(Round::HeldBy(holder)) => debug!(%holder, "standing by"),
            Ok(Round::Contended) => debug!("another replica took the Lease first"),
            Err(error) => warn!(%error, "reading or taking the Lease failed"),
        }
        tokio::select! {
            () = &mut shutdown => {
                health.set_leadership(Leadership::NotElecting);
                return Ok(());
            }
            () = tokio::time::sleep(elector.election.retry_period) => {}
        }
    }

    let identity = elector.election.identity.clone();
    info!(%identity, "leading: starting the controllers");
    health.set_leadership(Leadership::Leading);
    health.record_renewal(elector.election.renew_deadline);
    metrics.set_leader(true);
    let (stop_sender, mut stop_receiver) = tokio::sync::watch::channel(false);
    let stop: StopSignal = Box::pin(async move {
        let _ = stop_receiver.wait_for(|stop| *stop).await;
    });
    let mut running = std::pin::pin!(work(stop));
    let mut finished = false;
    let ended = {
        let renewing = elector.keep_leading(&health);
        tokio::select! {
            () = &mut shutdown => None,
            () = &mut running => {
                finished = true;
                Some(Error::ControllersStopped)
            }
            error = renewing => Some(error),
        }
    };
    let _ = stop_sender.send(true);
    if !finished {
        running.await;
    }
    metrics.set_leader(false);
    health.set_leadership(Leadership::Standby);
    if let Some(error) = ended {
        return Err(error);
    }
    info!(%identity, "stopped; releasing the Lease");
    let released = elector.release().await;
    health.set_leadership(Leadership::NotElecting);
    released.map_err(|source| Error::ReleaseLease {
        namespace: elector.election.namespace.clone(),
        name: elector.election.lease_name.clone(),
        source,
    })
}
