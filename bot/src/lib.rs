//! The Ticketeer Discord bot: panels, private ticket channels and encrypted transcripts.
//!
//! # Layout
//! - [`privatebin`]: the PrivateBin v2 client — client-side encryption, upload queue, share links.
//! - [`transcript`]: renders a ticket's messages as Markdown for PrivateBin's markdown formatter.
//!
//! The gateway loop, interaction handlers, store and HTTP endpoints arrive with the bot issue.
