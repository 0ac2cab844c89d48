//! The permissions the operator needs, in one place: the Helm chart's ClusterRole is checked
//! against [`RULES`], so the code and the chart cannot drift apart.

/// One RBAC policy rule: API group, resources and verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The API group (`""` for the core group).
    pub api_group: &'static str,
    /// The resources (and subresources, e.g. `ticketbots/status`).
    pub resources: &'static [&'static str],
    /// The verbs.
    pub verbs: &'static [&'static str],
}

/// Every permission the operator uses, and why.
pub const RULES: &[Rule] = &[
    // The custom resources: watched, never modified except their status and the TicketBot's
    // finalizer (patched in and out: a deleted bot is held until its panels are gone).
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketbots"],
        verbs: &["get", "list", "watch", "patch"],
    },
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketcategories"],
        verbs: &["get", "list", "watch"],
    },
    Rule {
        api_group: "ticketeer.dev",
        resources: &["ticketbots/status", "ticketcategories/status"],
        verbs: &["patch"],
    },
    // Children, created and updated by server-side apply (create + patch), watched via `.owns()`.
    // No delete: owner references let the garbage collector remove them with their TicketBot.
    Rule {
        api_group: "",
        resources: &["configmaps", "serviceaccounts", "services"],
        verbs: &["get", "list", "watch", "create", "patch"],
    },
    Rule {
        api_group: "apps",
        resources: &["deployments"],
        verbs: &["get", "list", "watch", "create", "patch"],
    },
    // Secrets: the two a TicketBot references are read by name (their keys checked, their
    // values digested into the pod template). All are watched, metadata only, so a rotated
    // token rolls the bot at once; Kubernetes cannot grant a metadata-only list, so list and
    // watch also allow reading every Secret's data in the watched namespaces.
    Rule {
        api_group: "",
        resources: &["secrets"],
        verbs: &["get", "list", "watch"],
    },
    // kube's event Recorder creates an Event and patches it when the same event repeats.
    Rule {
        api_group: "events.k8s.io",
        resources: &["events"],
        verbs: &["create", "patch"],
    },
    // Leader election (only when enabled) holds a Lease.
    Rule {
        api_group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["get", "create", "patch", "update"],
    },
];
