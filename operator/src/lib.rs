//! The Ticketeer operator: reconciles `TicketBot` and `TicketCategory` resources into a running bot.
//!
//! # Layout
//!
//! The pipeline of one reconcile, stage by stage:
//!
//! 1. [`crd`]: the custom resources as Rust types (and [`crdgen`], their generated manifests).
//! 2. [`controller`]: kube's `Controller` for each kind; dereference the bot's categories and
//!    Secrets, from what the watches hold (`caches`) where they hold it.
//! 3. [`builders`]: pure desired-state builders (config, ConfigMap, ServiceAccount, Deployment,
//!    Service) and category acceptance.
//! 4. [`controller`] again: [`policy`] (what the operator allows a TicketBot beyond the
//!    defaults), then one server-side apply per child, one field manager.
//! 5. [`bot_status`]: the bot's `/status` (panels, open tickets, Discord-side problems), read
//!    once the bot is available.
//! 6. [`status`]: conditions computed purely and written only when they change.
//!
//! Around it: [`metrics`], [`health`] and [`http`] (`/healthz`, `/readyz`, `/metrics`), [`rbac`]
//! (every permission in one place), [`leader`] (optional leader election), [`error`].

pub mod bot_status;
pub mod builders;
mod caches;
pub mod controller;
pub mod crd;
pub mod crdgen;
mod discord_token;
pub mod error;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod policy;
pub mod rbac;
pub mod status;

pub use error::{Error, Result};
