//! The operator's error type.

use crate::builders::BuildError;

/// What failed during a reconcile; each variant names the step, and [`Error::metric_label`]
/// labels the failures metric.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (both resources are namespaced, so the API server sent
    /// something unexpected).
    #[error("{kind} {name} has no namespace")]
    MissingNamespace {
        /// The object's kind.
        kind: &'static str,
        /// The object's name.
        name: String,
    },
    /// The TicketCategory watch stopped before its first list completed (only at shutdown), so
    /// a bot's categories are not known and must not be rendered as none.
    #[error("the TicketCategory watch stopped before it had listed the categories")]
    CategoriesUnavailable,
    /// Reading the TicketBot a category names failed.
    #[error("reading TicketBot {namespace}/{name}: {source}")]
    ReadBot {
        /// The namespace.
        namespace: String,
        /// The bot's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading a referenced Secret failed (other than it not existing, which is a condition).
    #[error("reading Secret {namespace}/{name}: {source}")]
    ReadSecret {
        /// The namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading a child's current object by name failed (other than it not existing yet).
    #[error("reading {kind} {namespace}/{name}: {source}")]
    ReadChild {
        /// The child's kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The child's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// An object with a child's name exists and is not controlled by the TicketBot. Returned
    /// after the bot's status says so, so that the reconcile backs off.
    #[error("{kind} {namespace}/{name} already exists and does not belong to TicketBot {bot}")]
    NameConflict {
        /// The object's kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// The TicketBot's name.
        bot: String,
    },
    /// Building a child object failed.
    #[error("building the children of TicketBot {name}: {source}")]
    BuildChild {
        /// The bot's name.
        name: String,
        /// What was wrong.
        #[source]
        source: BuildError,
    },
    /// Server-side applying a child object failed.
    #[error("applying {kind} {namespace}/{name}: {source}")]
    ApplyChild {
        /// The child's kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The child's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API server refused a child for good (400, 403 or 422: the answer will not change until
    /// someone edits the TicketBot or the cluster's policy). Returned after the bot's status says
    /// so, so that the reconcile backs off instead of retrying at once.
    #[error("the API server refused {kind} {namespace}/{name} ({code}): {message}")]
    ChildRejected {
        /// The child's kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The child's name.
        name: String,
        /// The HTTP status code.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// A deleted TicketBot's bot still shows panels on Discord; the TicketBot is held (and
    /// checked again shortly) until they are gone or the wait is over.
    #[error(
        "TicketBot {namespace}/{name} is held until its bot removes its panels ({remaining} remain)"
    )]
    PanelsRemaining {
        /// The namespace.
        namespace: String,
        /// The bot's name.
        name: String,
        /// What the bot's `/status` last showed.
        remaining: String,
    },
    /// Adding or removing the TicketBot's finalizer failed.
    #[error("the finalizer of TicketBot {namespace}/{name}: {source}")]
    Finalizer {
        /// The namespace.
        namespace: String,
        /// The bot's name.
        name: String,
        /// What failed.
        #[source]
        source: Box<kube::runtime::finalizer::Error<Error>>,
    },
    /// Writing an object's status failed.
    #[error("writing the status of {kind} {namespace}/{name}: {source}")]
    WriteStatus {
        /// The object's kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Another replica holds the Lease this replica was leading with (it expired unseen, or
    /// someone wrote it): this replica must stop reconciling at once.
    #[error("the Lease {namespace}/{name} is held by {holder}, no longer by this replica")]
    LeaseTaken {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// Who holds it now.
        holder: String,
    },
    /// The leader could not renew its Lease within the renew deadline, so another replica may
    /// take it over.
    #[error("the Lease {namespace}/{name} was not renewed within {seconds} s")]
    LeaseNotRenewed {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// The renew deadline, in seconds.
        seconds: u64,
    },
    /// Releasing the Lease on shutdown failed (the next leader waits for it to expire instead).
    #[error("releasing the Lease {namespace}/{name}: {source}")]
    ReleaseLease {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The controllers stopped although no shutdown was asked for.
    #[error("the controllers stopped without being asked to")]
    ControllersStopped,
}

impl Error {
    /// A short, stable label for the `error` label of the failures metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::MissingNamespace { .. } => "missing_namespace",
            Self::CategoriesUnavailable => "categories_unavailable",
            Self::ReadBot { .. } => "read_bot",
            Self::ReadSecret { .. } => "read_secret",
            Self::ReadChild { .. } => "read_child",
            Self::NameConflict { .. } => "name_conflict",
            Self::BuildChild { .. } => "build_child",
            Self::ApplyChild { .. } => "apply_child",
            Self::ChildRejected { .. } => "child_rejected",
            Self::WriteStatus { .. } => "write_status",
            Self::PanelsRemaining { .. } => "panels_remaining",
            Self::Finalizer { .. } => "finalizer",
            Self::LeaseTaken { .. } => "lease_taken",
            Self::LeaseNotRenewed { .. } => "lease_not_renewed",
            Self::ReleaseLease { .. } => "release_lease",
            Self::ControllersStopped => "controllers_stopped",
        }
    }
}

/// The operator's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
