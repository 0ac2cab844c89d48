//! One serial upload queue per PrivateBin server.
//!
//! PrivateBin's traffic limiter allows one paste per client IP every N seconds, so uploads from
//! one bot to one server go through a single task, one at a time. The queue waits out the limiter,
//! retries network trouble with bounded exponential backoff, and splits a transcript that is over
//! the size limit into linked parts instead of ever truncating it.
//!
//! The client asks for English answers, but an instance may fix its language. A refusal the queue
//! does not recognise is therefore taken for what it most likely is, a limiter or size refusal in
//! another language: it is waited out like the limiter (with a growing, bounded wait), and when
//! the same paste is refused with the same text again after such a wait, which the limiter never
//! does, the paste is split smaller. Splitting never drops text, so a wrong guess costs extra
//! parts, never the transcript; a refusal that persists past the bound fails the upload and the
//! close is retried later, with the ticket's messages still stored.
//!
//! Past 450 lines with its tests: the limiter, size and network retries are one loop over one
//! paste, and each decision depends on what the previous attempts saw.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::digest::sha256_hex;
use crate::retries::doubling;

use super::client::{ClientTimeouts, CreatedPaste, PrivateBinClient};
use super::document::PasteFile;
use super::format::{
    CompressedPaste, DEFAULT_COMPRESSION_LEVEL, PasteExpiry, PasteKey, PasteOptions,
    compress_document, compress_paste, encrypt_compressed,
};
use super::link::ShareLink;
use super::split::{MIN_PASTE_LIMIT, Plan, decorate_part, plan_parts, strip_part};
use super::{PrivateBinError, Result};

use crate::error::ErrorChain;

/// Default size limit, in bytes of base64 ciphertext (what PrivateBin's `sizelimit` counts).
///
/// PrivateBin's own default is 10 485 760, but a default PHP `post_max_size` of 8 MB refuses such
/// a request before PrivateBin sees it, many instances configure 2 MB, and a browser has to
/// decrypt and render the whole paste. 2 000 000 stays under all of these with a margin and still
/// holds roughly 8 MB of Markdown (tens of thousands of messages) per part.
pub const DEFAULT_MAX_PASTE_BYTES: usize = 2_000_000;

/// Upper bound on the parts of one transcript followed when reading it back.
const MAX_PARTS: usize = 10_000;

/// How failed creates are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total for network errors and HTTP 5xx answers.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub initial_backoff: Duration,
    /// Backoff never grows beyond this.
    pub max_backoff: Duration,
    /// How often the traffic limiter is waited out before giving up.
    pub max_traffic_limit_waits: u32,
    /// Added to the limiter's N seconds, so the retry lands after the window has closed.
    pub traffic_limit_slack: Duration,
    /// First wait after a refusal the queue does not recognise (one in the instance's language);
    /// doubles with each further one, up to `max_backoff` or this wait, whichever is longer.
    pub unrecognised_refusal_wait: Duration,
    /// How many unrecognised refusals of one paste are waited out before giving up.
    pub max_unrecognised_refusals: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_traffic_limit_waits: 20,
            traffic_limit_slack: Duration::from_secs(1),
            // PrivateBin's default `[traffic] limit` of 10 s, and the slack.
            unrecognised_refusal_wait: Duration::from_secs(11),
            max_unrecognised_refusals: 6,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th transient failure: exponential, capped, with jitter so
    /// replicas that failed together do not retry together.
    fn backoff<R: Rng + ?Sized>(&self, failures: u32, rng: &mut R) -> Duration {
        doubling(self.initial_backoff, failures, self.max_backoff)
            .mul_f64(rng.random_range(0.5..=1.0))
    }

    /// The wait after the `refusals`-th unrecognised refusal of one paste: never shorter than
    /// [`unrecognised_refusal_wait`](Self::unrecognised_refusal_wait), which must outlast the
    /// limiter for the refusal to be told apart from a size refusal.
    fn unrecognised_wait(&self, refusals: u32) -> Duration {
        doubling(
            self.unrecognised_refusal_wait,
            refusals,
            self.max_backoff.max(self.unrecognised_refusal_wait),
        )
    }
}

/// Everything an upload queue needs to know about its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSettings {
    /// The server's base URL, e.g. `https://paste.example.com/`.
    pub base_url: String,
    /// How long transcripts are kept.
    pub expire: PasteExpiry,
    /// Largest paste, in bytes of base64 ciphertext; larger transcripts are split.
    pub max_paste_bytes: usize,
    /// Timeouts of each request; a create that times out is retried under `retry`, like any
    /// network error.
    pub timeouts: ClientTimeouts,
    /// How failed creates are retried before the upload fails.
    pub retry: RetryPolicy,
    /// Deflate level 0–9 of every paste.
    pub compression_level: u32,
    /// Uploads waiting beyond this many make `upload` wait for room.
    pub queue_capacity: usize,
}

impl UploadSettings {
    /// Defaults for the server at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            expire: PasteExpiry::default(),
            max_paste_bytes: DEFAULT_MAX_PASTE_BYTES,
            timeouts: ClientTimeouts::default(),
            retry: RetryPolicy::default(),
            compression_level: DEFAULT_COMPRESSION_LEVEL,
            queue_capacity: 64,
        }
    }
}

/// One stored paste of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPart {
    /// The paste id on the server.
    pub id: String,
    /// The share link, key included.
    pub url: String,
    /// The token that deletes this paste.
    pub delete_token: String,
    /// SHA-256 of what the paste holds: the part's text, or the file's bytes (lower-case hex).
    pub sha256: String,
}

/// Where a transcript was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTranscript {
    /// The link people open: the first part's share link.
    pub url: String,
    /// Every paste, first part first; one entry unless the transcript was split.
    pub parts: Vec<StoredPart>,
}

enum Job {
    Transcript {
        text: Arc<str>,
        reply: oneshot::Sender<Result<StoredTranscript>>,
    },
    File {
        caption: String,
        file: PasteFile,
        reply: oneshot::Sender<Result<StoredPart>>,
    },
}

/// A handle to the upload queue of one server; cheap to clone.
#[derive(Clone, Debug)]
pub struct UploadQueue {
    jobs: mpsc::Sender<Job>,
    client: PrivateBinClient,
}

impl UploadQueue {
    /// Starts the queue's task on the current tokio runtime. The task ends when every handle is
    /// dropped.
    pub fn spawn(settings: &UploadSettings) -> Result<Self> {
        let client = PrivateBinClient::new(&settings.base_url, settings.timeouts)?;
        let (jobs, mut receiver) = mpsc::channel::<Job>(settings.queue_capacity.max(1));
        let mut uploader = Uploader {
            client: client.clone(),
            options: PasteOptions {
                expire: settings.expire,
                compression_level: settings.compression_level,
                ..PasteOptions::default()
            },
            limit: settings.max_paste_bytes,
            largest_accepted: 0,
            retry: settings.retry,
        };
        tokio::spawn(async move {
            while let Some(job) = receiver.recv().await {
                // A caller that gave up (a close stopped at shutdown) would never learn the
                // paste's key or delete token: the upload stops with it, rather than store,
                // after its retries, a paste nobody can read or delete.
                match job {
                    Job::Transcript { text, mut reply } => {
                        tokio::select! {
                            stored = uploader.upload(text) => {
                                let _ = reply.send(stored);
                            }
                            () = reply.closed() => {}
                        }
                    }
                    Job::File {
                        caption,
                        file,
                        mut reply,
                    } => {
                        tokio::select! {
                            stored = uploader.upload_file(caption, file) => {
                                let _ = reply.send(stored);
                            }
                            () = reply.closed() => {}
                        }
                    }
                }
            }
        });
        Ok(Self { jobs, client })
    }

    /// Encrypts and stores `text`, split into linked parts if it is over the size limit.
    pub async fn upload(&self, text: impl Into<Arc<str>>) -> Result<StoredTranscript> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Transcript {
                text: text.into(),
                reply,
            })
            .await
            .map_err(|_| PrivateBinError::QueueStopped)?;
        answer.await.map_err(|_| PrivateBinError::QueueStopped)?
    }

    /// Stores `file` in a paste of its own (PrivateBin's attachment fields) with `caption` as its
    /// text, in turn with the transcripts. A file is never split: one whose paste would be over
    /// the size limit fails with [`PrivateBinError::FileTooLarge`], and one the server refuses
    /// for its size with [`PrivateBinError::PasteTooLarge`].
    pub async fn upload_file(&self, caption: String, file: PasteFile) -> Result<StoredPart> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::File {
                caption,
                file,
                reply,
            })
            .await
            .map_err(|_| PrivateBinError::QueueStopped)?;
        answer.await.map_err(|_| PrivateBinError::QueueStopped)?
    }

    /// Reads a stored transcript back and decrypts it, following the links between parts, and
    /// returns exactly the text that was uploaded.
    pub async fn read_transcript(&self, url: &str) -> Result<String> {
        read_transcript(&self.client, url).await
    }

    /// Deletes every part of a stored transcript.
    pub async fn delete(&self, transcript: &StoredTranscript) -> Result<()> {
        for part in &transcript.parts {
            self.client.delete(&part.id, &part.delete_token).await?;
        }
        Ok(())
    }

    /// Deletes pastes no transcript references, each tried once; best effort, since an orphaned
    /// paste nobody holds the key to is harmless and expires anyway.
    pub async fn delete_unreferenced(&self, parts: &[StoredPart]) {
        delete_unreferenced(&self.client, parts).await;
    }

    /// The client this queue uploads with.
    pub const fn client(&self) -> &PrivateBinClient {
        &self.client
    }
}

/// Reads a transcript by its link with `client`, following part links (see
/// [`UploadQueue::read_transcript`]): checks the numbering and returns the text the parts hold.
/// A paste that is no part of a split transcript is returned whole.
pub async fn read_transcript(client: &PrivateBinClient, url: &str) -> Result<String> {
    read_transcript_parts(client, url)
        .await
        .map(|transcript| transcript.text)
}

/// A transcript as read back by [`read_transcript_parts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadTranscript {
    /// The whole transcript: the parts' bodies joined.
    pub text: String,
    /// SHA-256 of each paste's text as stored (its part markers included), first part first.
    pub part_sha256: Vec<String>,
}

/// Like [`read_transcript`], with the SHA-256 of each part, to compare with the log post's.
pub async fn read_transcript_parts(client: &PrivateBinClient, url: &str) -> Result<ReadTranscript> {
    let mut link = ShareLink::parse(url)?;
    let mut text = String::new();
    let mut part_sha256 = Vec::new();
    for expected in 1..=MAX_PARTS {
        if link.base() != client.base_url() {
            return Err(PrivateBinError::InvalidShareLink {
                reason: "the link points to another server",
            });
        }
        let paste = client.read_text(&link).await?;
        part_sha256.push(sha256_hex(paste.as_bytes()));
        let Some(part) = strip_part(&paste) else {
            return if expected == 1 {
                Ok(ReadTranscript {
                    text: paste,
                    part_sha256,
                })
            } else {
                Err(PrivateBinError::BrokenPartChain { part: expected })
            };
        };
        if part.number != expected {
            return Err(PrivateBinError::BrokenPartChain { part: expected });
        }
        text.push_str(part.body);
        match part.next_link {
            Some(next) => link = ShareLink::parse(next)?,
            None if part.number == part.count => {
                return Ok(ReadTranscript { text, part_sha256 });
            }
            None => return Err(PrivateBinError::BrokenPartChain { part: part.number }),
        }
    }
    Err(PrivateBinError::BrokenPartChain { part: MAX_PARTS })
}

/// The state of the queue's task.
struct Uploader {
    client: PrivateBinClient,
    options: PasteOptions,
    /// Starts at the configured limit; lowered whenever the server says a paste is too large.
    limit: usize,
    /// The largest ciphertext the server accepted: a paste no larger is never too large.
    largest_accepted: usize,
    retry: RetryPolicy,
}

/// The limit to split with after a paste of `refused` ciphertext bytes was too large: half of it
/// (or of the current limit), not below the smallest usable limit; `None` when that is no smaller
/// than the refused paste.
fn smaller_limit(current: usize, refused: usize) -> Option<usize> {
    let next = (current.min(refused) / 2).max(MIN_PASTE_LIMIT);
    (next < refused).then_some(next)
}

impl Uploader {
    async fn upload(&mut self, text: Arc<str>) -> Result<StoredTranscript> {
        loop {
            let plan = {
                let (text, options, limit) = (Arc::clone(&text), self.options.clone(), self.limit);
                let link_len = self.link_len();
                run_blocking(move || plan_parts(&text, limit, &options, link_len)).await?
            };
            match self.store_plan(&text, plan).await {
                Err(PrivateBinError::PasteTooLarge { ciphertext_len, .. })
                    if let Some(limit) = smaller_limit(self.limit, ciphertext_len) =>
                {
                    self.limit = limit;
                    warn!(
                        limit = self.limit,
                        "PrivateBin refused a paste as too large; splitting smaller"
                    );
                }
                result => return result,
            }
        }
    }

    /// Length of a share link on this server: base, `?`, 16-hex id, `#`, up to 44 Base58 chars.
    async fn upload_file(&mut self, caption: String, file: PasteFile) -> Result<StoredPart> {
        let sha256 = sha256_hex(&file.bytes);
        let options = self.options.clone();
        let compressed =
            run_blocking(move || compress_document(&caption, Some(&file), &options)).await?;
        let ciphertext_len = compressed.ciphertext_len();
        if ciphertext_len > self.limit {
            return Err(PrivateBinError::FileTooLarge {
                ciphertext_len,
                limit: self.limit,
            });
        }
        self.store(Arc::new(compressed), sha256).await
    }

    fn link_len(&self) -> usize {
        self.client.base_url().as_str().len() + 1 + 16 + 1 + 44
    }

    async fn store_plan(&mut self, text: &str, plan: Plan) -> Result<StoredTranscript> {
        let ranges = match plan {
            Plan::Single(compressed) => {
                let part = self
                    .store(Arc::new(compressed), sha256_hex(text.as_bytes()))
                    .await?;
                return Ok(StoredTranscript {
                    url: part.url.clone(),
                    parts: vec![part],
                });
            }
            Plan::Parts(ranges) => ranges,
        };
        info!(
            parts = ranges.len(),
            "transcript is over the size limit; storing it in parts"
        );
        let count = ranges.len();
        let mut stored: Vec<StoredPart> = Vec::with_capacity(count);
        // Last part first, so each part can carry the link to the one after it.
        for (index, range) in ranges.into_iter().enumerate().rev() {
            let next_link = stored.last().map(|part| part.url.as_str());
            let part_text = decorate_part(&text[range], index, count, next_link);
            let sha256 = sha256_hex(part_text.as_bytes());
            let options = self.options.clone();
            let result = match run_blocking(move || compress_paste(&part_text, &options)).await {
                Ok(compressed) => self.store(Arc::new(compressed), sha256).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(part) => stored.push(part),
                Err(error) => {
                    // The parts already stored of a transcript that could not be stored whole.
                    delete_unreferenced(&self.client, &stored).await;
                    return Err(error);
                }
            }
        }
        stored.reverse();
        Ok(StoredTranscript {
            url: stored[0].url.clone(),
            parts: stored,
        })
    }

    /// Stores one paste, waiting out the traffic limiter and retrying transient failures.
    async fn store(
        &mut self,
        compressed: Arc<CompressedPaste>,
        sha256: String,
    ) -> Result<StoredPart> {
        let key = PasteKey::generate(&mut rand::rng());
        let ciphertext_len = compressed.ciphertext_len();
        let mut transient_failures = 0;
        let mut limiter_waits = 0;
        let mut unrecognised_refusals = 0;
        let mut previous_refusal: Option<String> = None;
        loop {
            // A fresh IV and salt per attempt: a create that timed out may still have been stored,
            // and the same ciphertext twice is refused by the server.
            let request = {
                let (compressed, options, key) =
                    (Arc::clone(&compressed), self.options.clone(), key.clone());
                run_blocking(move || {
                    encrypt_compressed(&compressed, &options, &key, &mut rand::rng())
                })
                .await?
            };
            let error = match self.client.create(&request).await {
                Ok(CreatedPaste { id, delete_token }) => {
                    self.largest_accepted = self.largest_accepted.max(ciphertext_len);
                    let link = ShareLink::new(self.client.base_url().clone(), &id, key)?;
                    return Ok(StoredPart {
                        id,
                        url: link.to_string(),
                        delete_token,
                        sha256,
                    });
                }
                Err(error) => error,
            };
            if let Some(wait) = error.traffic_limit_wait() {
                limiter_waits += 1;
                if limiter_waits > self.retry.max_traffic_limit_waits {
                    return Err(error);
                }
                let wait = wait + self.retry.traffic_limit_slack;
                info!(
                    wait_ms = wait.as_millis(),
                    "PrivateBin traffic limiter; waiting before the next paste"
                );
                tokio::time::sleep(wait).await;
            } else if error.is_size_limit() {
                return Err(too_large(error, ciphertext_len));
            } else if let Some(message) = error.unrecognised_refusal() {
                // The limiter never refuses twice across a wait that outlasts it; the size limit
                // does, unless a paste this large already passed.
                let deterministic = previous_refusal.as_deref() == Some(message);
                if deterministic
                    && ciphertext_len > self.largest_accepted
                    && smaller_limit(self.limit, ciphertext_len).is_some()
                {
                    warn!(
                        message,
                        "PrivateBin refused the same paste twice in words we do not read; taking it for the size limit"
                    );
                    return Err(too_large(error, ciphertext_len));
                }
                unrecognised_refusals += 1;
                if unrecognised_refusals > self.retry.max_unrecognised_refusals {
                    return Err(error);
                }
                let wait = self.retry.unrecognised_wait(unrecognised_refusals);
                warn!(
                    message,
                    wait_ms = wait.as_millis(),
                    "PrivateBin refused the paste in words we do not read; waiting as for its traffic limiter"
                );
                previous_refusal = Some(message.to_owned());
                tokio::time::sleep(wait).await;
            } else if error.is_transient() {
                transient_failures += 1;
                if transient_failures >= self.retry.max_attempts {
                    return Err(error);
                }
                let wait = self.retry.backoff(transient_failures, &mut rand::rng());
                warn!(error = %ErrorChain(&error), attempt = transient_failures, wait_ms = wait.as_millis(), "PrivateBin upload failed; retrying");
                tokio::time::sleep(wait).await;
            } else {
                return Err(error);
            }
        }
    }
}

/// See [`UploadQueue::delete_unreferenced`].
async fn delete_unreferenced(client: &PrivateBinClient, parts: &[StoredPart]) {
    for part in parts {
        if let Err(error) = client.delete(&part.id, &part.delete_token).await {
            warn!(paste = %part.id, error = %ErrorChain(&error), "could not delete a paste no transcript references");
        }
    }
}

/// A size refusal of a paste of `ciphertext_len` bytes, keeping the server's words.
fn too_large(error: PrivateBinError, ciphertext_len: usize) -> PrivateBinError {
    match error {
        PrivateBinError::ServerRejected { message, .. } => PrivateBinError::PasteTooLarge {
            ciphertext_len,
            message,
        },
        other => other,
    }
}

/// Runs CPU-heavy work (deflate, PBKDF2, AES) off the async workers.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| PrivateBinError::QueueStopped)?
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        for (failures, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let wait = policy.backoff(failures, &mut rng);
            assert!(wait <= Duration::from_millis(full), "{failures}: {wait:?}");
            assert!(
                wait >= Duration::from_millis(full / 2),
                "{failures}: {wait:?}"
            );
        }
    }

    #[test]
    fn default_settings_keep_a_year_and_two_megabytes() {
        let settings = UploadSettings::new("https://paste.example.com/");
        assert_eq!(settings.expire, PasteExpiry::OneYear);
        assert_eq!(settings.max_paste_bytes, 2_000_000);
    }
}
