//! Transcripts: a ticket's whole conversation as Markdown that PrivateBin's markdown formatter
//! shows well.
//!
//! # Layout
//! - [`model`]: our own input model (ticket facts, messages, names for mentions) and the
//!   conversion from twilight's `Message`.
//! - [`markdown`]: turning Discord message text into safe Markdown: user markup escaped, code
//!   blocks kept and balanced, mentions and `<t:…>` timestamps resolved, links kept.
//! - [`render`]: the pure [`render_markdown`] function.

pub mod markdown;
pub mod model;
pub mod render;

pub use markdown::format_timestamp;
pub use model::{
    ComponentLabel, MessageKind, Names, ReferencedMessage, TranscriptAttachment, TranscriptEmbed,
    TranscriptEmbedField, TranscriptMessage, TranscriptTicket, TranscriptUser,
};
pub use render::render_markdown;
