//! The two controllers: TicketBot (children + bot status) and TicketCategory (category status).
//!
//! Each reconcile is dereference → validate → build (pure, [`crate::builders`]) → apply
//! (server-side, one field manager) → status (written only when it changed).
//!
//! Once a bot's Deployment is available, its reconcile also reads the bot's `/status` and keeps
//! the report in the [`Context`]; when the report changes it reconciles that bot's categories,
//! whose `Ready`, `panelMessageId` and `openTickets` follow the report. The category controller
//! is thus the only writer of category status, and the bot (which asks Discord to build the
//! report) is asked once per bot reconcile, not once per category.
//!
//! # Layout
//!
//! One room per task, each depending only on the rooms above it in this list; this file only
//! names them and hands the public items on.
//!
//! - `settings`: [`Settings`] and [`BackoffPolicy`], what the operator is started with.
//! - `context`: the [`Context`] both controllers share (reports, claims, backoff counts), with
//!   the few helpers every reconcile uses (object keys, the status write).
//! - `children`: a bot's four children: built together, read where they stand, applied when
//!   they changed.
//! - `secrets`: what the bot's two referenced Secret keys hold.
//! - `bot`: the TicketBot reconcile, and its clean-up behind [`PANELS_FINALIZER`].
//! - `category`: the TicketCategory reconcile.
//! - `watches`: what wakes a reconcile: the cached watches and the maps from a changed object
//!   to the objects to reconcile.
//! - `run`: [`run_controllers`], which wires the watches into the two controllers, and the
//!   wrapper every reconcile runs in (span, metrics, backoff).

mod bot;
mod category;
mod children;
mod context;
mod run;
mod secrets;
mod settings;
mod watches;

pub use bot::PANELS_FINALIZER;
pub use context::Context;
pub use run::{BOT_CONTROLLER, CATEGORY_CONTROLLER, run_controllers};
pub use settings::{BackoffPolicy, Settings};
