//! Test-only peers for Ticketeer: everything the bot and the operator talk to, on this machine.
//!
//! Discord and PrivateBin cannot be reached from a test machine, so the bot is tested against
//! emulators that follow the real services' documented behaviour (see `docs/protocols.md`).
//! Nothing here is shipped.
//!
//! # Layout
//! - [`discord`]: a stateful Discord emulator: gateway (websocket, API v10) and REST, with Discord's
//!   rules, permission checks, rate limits, the interaction deadline and a control handle for tests.
//! - [`privatebin`]: a PrivateBin v2 JSON API emulator applying the real server's validation rules.
//! - [`control_plane`]: a real Kubernetes control plane (etcd, kube-apiserver,
//!   kube-controller-manager) as local processes, with admin and ServiceAccount clients and the
//!   API server's audit log.
//! - [`faults`]: the fault suite (`ticketeer-testkit faults FAULT`): the bot's binary killed
//!   with SIGKILL, its Postgres server killed, PrivateBin down or rate-limited, gateway storms, a
//!   replica killed, each at seeded moments, and the end state held to losing nothing.
//! - [`load`]: the load generator (`ticketeer-testkit load`): the bot's binary under seeded
//!   scenarios against the emulators with Discord's limits on, measured from outside.
//! - [`postgres`]: fresh, isolated databases on a real Postgres server for each test.
//! - [`quickstart`]: the README's Kubernetes quick start on one machine: the chart installed into
//!   the control plane, the examples applied, the operator and the bot as local processes.
//! - [`tools`]: locating the external tools tests need (pbincli, Helm, kubernetes-validate, the
//!   control plane's binaries), with a how-to-install failure.

pub mod control_plane;
pub mod discord;
pub mod faults;
pub mod load;
pub mod postgres;
pub mod privatebin;
pub mod quickstart;
pub mod tools;

/// `error` followed by each of its causes, `": "`-separated: what a test's failure message should
/// show (a top-level message alone often hides the cause that matters).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
