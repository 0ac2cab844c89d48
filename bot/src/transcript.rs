//! Transcripts: a ticket's whole conversation as Markdown that PrivateBin's markdown formatter
//! shows well.
//!
//! # Layout
//! - [`model`]: our own input model (ticket facts, messages); [`names`]: how people, roles and
//!   channels are named; [`from_discord`]: the conversion from twilight's `Message`.
//! - [`markdown`]: turning Discord message text into safe Markdown: user markup escaped, code
//!   blocks kept and balanced, mentions and `<t:…>` timestamps resolved, links kept.
//! - [`render`]: the pure [`render_markdown`] function.

pub mod from_discord;
pub mod markdown;
pub mod model;
pub mod names;
pub mod render;

pub use from_discord::timestamp_from_twilight;
pub use markdown::format_timestamp;
pub use model::{
    AttachmentCopy, ComponentLabel, MessageKind, ReferencedMessage, TranscriptAttachment,
    TranscriptEmbed, TranscriptEmbedField, TranscriptMessage, TranscriptTicket, TranscriptUser,
};
pub use names::{Names, user_name};
pub use render::render_markdown;
