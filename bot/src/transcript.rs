//! Transcripts: a ticket's whole conversation as Markdown that PrivateBin's markdown formatter
//! shows well.
//!
//! # Layout
//! - [`model`]: our own input model (ticket facts, messages); [`names`]: how people, roles and
//!   channels are named; [`from_discord`]: the conversion from twilight's `Message`.
//! - [`markdown`]: turning Discord message text into safe Markdown: user markup escaped, code
//!   blocks kept and balanced, mentions and `<t:…>` timestamps resolved, links kept.
//! - [`render`]: the pure [`render_markdown`] function: the header, then the conversation as a
//!   chat log of turns (one line per author turn, a heading per UTC day); `message.rs`: one
//!   message's body in a turn (reply and edit markers, file mentions, embeds, buttons);
//!   `system.rs`: system messages (a pin, a join) in words.
//! - [`files`]: the files section that ends the transcript (each attachment's kept copy and its
//!   SHA-256, or why it was not kept) and [`kept_files`], which reads it back.

pub mod files;
pub mod from_discord;
pub mod markdown;
mod message;
pub mod model;
pub mod names;
pub mod render;
mod system;

pub use files::{KeptFile, kept_files};
pub use from_discord::timestamp_from_twilight;
pub use markdown::format_timestamp;
pub use model::{
    AttachmentCopy, ComponentLabel, MessageKind, ReferencedMessage, TranscriptAttachment,
    TranscriptEmbed, TranscriptEmbedField, TranscriptMessage, TranscriptTicket, TranscriptUser,
};
pub use names::{Names, user_name};
pub use render::render_markdown;
