//! The ticket's files, kept with its transcript. Discord deletes a channel's attachments with the
//! channel, so before the transcript is rendered each file is downloaded and stored, encrypted
//! like the transcript, in a paste of its own (PrivateBin's attachment field, which its viewer
//! shows and pbincli saves). The transcript then lists each file's link and SHA-256.
//!
//! Files are taken in message order while they fit in what is left of the bot's
//! `privatebin.attachmentsMaxBytes`, one at a time, so a close holds at most one file in memory.
//! A file that cannot be kept (over the total, too large for a paste, not downloadable) is listed
//! with the reason and the close goes on: only a failed upload of a fetched file fails the step,
//! which is then retried like any other.

use crate::context::Context;
use crate::error::{BotError, ErrorChain, Result};
use crate::privatebin::{
    PasteFile, PrivateBinError, StoredPart, UploadQueue, safe_file_name, safe_media_type,
};
use crate::transcript::{AttachmentCopy, TranscriptMessage, format_timestamp};

/// Why a file could not be downloaded; logged, and the transcript says "could not be downloaded".
#[derive(Debug, thiserror::Error)]
enum DownloadFailure {
    #[error("the attachment's URL is not an http(s) URL")]
    NotHttp,
    #[error("the request failed")]
    Request(#[source] reqwest::Error),
    #[error("Discord answered HTTP {0}")]
    Status(u16),
    #[error("the file is larger than Discord said")]
    LargerThanSaid,
}

/// What to do with each attachment, in message order: fetch the ones that fit in `budget`.
fn plan(sizes: &[u64], budget: u64) -> Vec<bool> {
    let mut left = budget;
    sizes
        .iter()
        .map(|&size| {
            let fits = size <= left;
            if fits {
                left -= size;
            }
            fits
        })
        .collect()
}

/// Downloads and stores the files of `messages`, recording in each attachment what became of
/// it. Returns the stored file pastes, or `None` when shutdown interrupted (the pastes stored so
/// far are left to expire: nobody holds their keys).
pub(super) async fn keep_files(
    ctx: &Context,
    queue: &UploadQueue,
    ticket_id: i64,
    messages: &mut [TranscriptMessage],
) -> Result<Option<Vec<StoredPart>>> {
    let budget = ctx.config().privatebin.attachments_max_bytes;
    let sizes: Vec<u64> = messages
        .iter()
        .flat_map(|message| message.attachments.iter().map(|file| file.size))
        .collect();
    if sizes.is_empty() || budget == 0 {
        return Ok(Some(Vec::new()));
    }
    let fetch = plan(&sizes, budget);
    let client = reqwest::Client::builder()
        .timeout(ctx.settings.attachment_download_timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|error| BotError::UploadTranscript(PrivateBinError::BuildHttpClient(error)))?;
    let mut stored: Vec<StoredPart> = Vec::new();
    let mut index = 0;
    for message in messages.iter_mut() {
        let author = message.author.display_name.clone();
        let sent = format_timestamp(message.timestamp);
        for attachment in &mut message.attachments {
            let number = index + 1;
            if !fetch[index] {
                attachment.copy = AttachmentCopy::OverTotal { limit: budget };
                index += 1;
                continue;
            }
            index += 1;
            let bytes = match download(&client, &attachment.url, attachment.size).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::info!(ticket = ticket_id, file = number, error = %ErrorChain(&error), "an attachment could not be downloaded; the transcript lists it as not kept");
                    attachment.copy = AttachmentCopy::Unavailable;
                    continue;
                }
            };
            let caption = format!(
                "File {number} of ticket #{ticket_id}: {} ({} bytes), sent by {author} at {sent}.",
                attachment.filename,
                bytes.len()
            );
            let file = PasteFile {
                name: safe_file_name(&attachment.filename),
                media_type: safe_media_type(attachment.content_type.as_deref()),
                bytes,
            };
            let uploaded = tokio::select! {
                uploaded = queue.upload_file(caption, file) => uploaded,
                () = ctx.stopping.cancelled() => return Ok(None),
            };
            match uploaded {
                Ok(part) => {
                    attachment.copy = AttachmentCopy::Kept {
                        link: part.url.clone(),
                        sha256: part.sha256.clone(),
                    };
                    stored.push(part);
                }
                Err(
                    PrivateBinError::FileTooLarge { .. } | PrivateBinError::PasteTooLarge { .. },
                ) => {
                    attachment.copy = AttachmentCopy::TooLargeForPaste;
                }
                Err(error) => {
                    queue.delete_unreferenced(&stored).await;
                    return Err(BotError::UploadTranscript(error));
                }
            }
        }
    }
    Ok(Some(stored))
}

/// Downloads `url`, refusing more than `declared` bytes (what Discord said the file holds).
async fn download(
    client: &reqwest::Client,
    url: &str,
    declared: u64,
) -> std::result::Result<Vec<u8>, DownloadFailure> {
    let parsed = reqwest::Url::parse(url).map_err(|_| DownloadFailure::NotHttp)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DownloadFailure::NotHttp);
    }
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(DownloadFailure::Request)?;
    if !response.status().is_success() {
        return Err(DownloadFailure::Status(response.status().as_u16()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0).min(1 << 24));
    while let Some(chunk) = response.chunk().await.map_err(DownloadFailure::Request)? {
        if u64::try_from(bytes.len() + chunk.len()).unwrap_or(u64::MAX) > declared {
            return Err(DownloadFailure::LargerThanSaid);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_fetched_in_order_while_they_fit() {
        assert_eq!(plan(&[3, 4, 5, 1], 8), [true, true, false, true]);
        assert_eq!(plan(&[9], 8), [false]);
        assert_eq!(plan(&[8, 0], 8), [true, true]);
        assert_eq!(plan(&[], 8), Vec::<bool>::new());
    }
}
