//! The PrivateBin v2 client: transcripts are encrypted here and only ciphertext reaches the server.
//!
//! The paste key lives only in the share link's `#fragment`, so whoever runs the PrivateBin server
//! cannot read a transcript. See `docs/protocols.md` for the wire format.
//!
//! # Layout
//! - [`format`](mod@format): pure v2 paste format: key, adata, PBKDF2 + AES-256-GCM, raw deflate.
//! - [`document`]: pure: the JSON inside a paste, its text and an attached file.
//! - [`link`]: share links `<base>?<id>#<base58 key>`.
//! - [`split`]: pure planning of parts when a transcript is over the size limit.
//! - [`client`]: the HTTP client (create, read, delete) with timeouts.
//! - [`queue`]: one serial upload queue per server: traffic limiter, retries, splitting.

pub mod client;
pub mod document;
mod error;
pub mod format;
pub mod link;
pub mod queue;
pub mod split;

pub use client::{ClientTimeouts, CreatedPaste, PasteResponse, PrivateBinClient};
pub use document::{PasteDocument, PasteFile, safe_file_name, safe_media_type};
pub use error::{PasteAction, PrivateBinError};
pub use format::{
    CompressedPaste, CreatePasteRequest, PasteExpiry, PasteFormatter, PasteKey, PasteOptions,
    compress_document, compress_paste, decrypt_document, decrypt_paste, encrypt_compressed,
    encrypt_paste, parse_expiry,
};
pub use link::{PasteLocation, ShareLink};
pub use queue::{
    ReadTranscript, RetryPolicy, StoredPart, StoredTranscript, UploadQueue, UploadSettings,
    read_transcript_parts,
};

/// What the client, the queue and the paste format return: they fail only with
/// [`PrivateBinError`].
pub type Result<T, E = PrivateBinError> = std::result::Result<T, E>;
