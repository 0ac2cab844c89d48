//! The Ticketeer Discord bot: panels, private ticket channels and encrypted transcripts.
//!
//! # Layout
//! - [`privatebin`]: the PrivateBin v2 client — client-side encryption, upload queue, share links.
//! - [`transcript`]: renders a ticket's messages as Markdown for PrivateBin's markdown formatter.
//! - [`store`]: Postgres — tickets and their durable close state machine, counted messages, panels,
//!   handled interactions.
//!
//! The gateway loop, interaction handlers and HTTP endpoints arrive with the bot issue.

pub mod store;

/// The PrivateBin v2 client: client-side encryption, upload queue, share links.
pub mod privatebin;
/// Transcript rendering: a ticket's messages as Markdown, pure.
pub mod transcript;
