//! Optional leader election, so two operator replicas can run safely: only the holder of a
//! `coordination.k8s.io` Lease runs the controllers; the other waits and takes over when the
//! Lease expires.

use std::future::Future;
use std::pin::Pin;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tracing::{info, warn};

use crate::builders::MANAGER;
use crate::error::{Error, Result};

/// Where and as whom to hold the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// The Lease's namespace (the operator's own).
    pub namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long the Lease stays valid without renewal, in seconds.
    pub lease_seconds: u64,
    /// How long before expiry the holder renews, in seconds; also the clock skew tolerated.
    pub grace_seconds: u64,
}

impl LeaderElection {
    /// The usual settings: a 15-second Lease renewed 5 seconds before it expires.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            lease_name: MANAGER.to_owned(),
            identity: identity.into(),
            lease_seconds: 15,
            grace_seconds: 5,
        }
    }
}

/// A future that completes when the work must stop.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

/// Runs `work` whenever this replica holds the Lease, until `shutdown` completes.
///
/// `work` gets a [`StopSignal`] that completes when leadership is lost or on shutdown; it must
/// return soon after. On shutdown the Lease is released so another replica takes over at once.
///
/// # Errors
///
/// [`Error::LeaderElection`] when the Lease manager cannot be set up.
pub async fn run_while_leading<W, Fut>(
    client: Client,
    election: LeaderElection,
    shutdown: impl Future<Output = ()> + Send,
    mut work: W,
) -> Result<()>
where
    W: FnMut(StopSignal) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = LeaseManagerBuilder::new(client, &election.lease_name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_duration(election.lease_seconds)
        .with_grace(election.grace_seconds)
        .with_field_manager(format!("{MANAGER}-{}", election.identity))
        .build()
        .await
        .map_err(|error| Error::LeaderElection(error.to_string()))?;
    let (mut leading, lease_task) = manager.watch().await;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            changed = leading.wait_for(|leader| *leader) => {
                if changed.is_err() {
                    warn!("the Lease manager stopped; no longer competing for leadership");
                    break;
                }
            }
        }
        info!(identity = %election.identity, "leading: starting the controllers");
        let (stop_sender, mut stop_receiver) = tokio::sync::watch::channel(false);
        let stop: StopSignal = Box::pin(async move {
            let _ = stop_receiver.wait_for(|stop| *stop).await;
        });
        let mut running = std::pin::pin!(work(stop));
        let mut finished = false;
        let shutting_down = tokio::select! {
            () = &mut running => {
                finished = true;
                false
            }
            () = &mut shutdown => true,
            _ = leading.wait_for(|leader| !*leader) => false,
        };
        let _ = stop_sender.send(true);
        if !finished {
            running.await;
        }
        if shutting_down {
            break;
        }
        warn!(identity = %election.identity, "lost leadership; waiting to lead again");
    }
    // Dropping the receiver makes the manager release the Lease and finish.
    drop(leading);
    match lease_task.await {
        Ok(Ok(_manager)) => Ok(()),
        Ok(Err(error)) => Err(Error::LeaderElection(error.to_string())),
        Err(error) => Err(Error::LeaderElection(format!(
            "the Lease task failed: {error}"
        ))),
    }
}
