//! Getting a stored transcript back from its link, for the people who run the bot
//! (`ticketeer-bot transcript get|verify`): every part, every kept file, each checked against
//! the hashes that vouch for it.
//!
//! The chain of trust: the log post (written by the bot, in a staff channel) carries the SHA-256
//! of the whole transcript; the transcript lists each kept file with the SHA-256 of its bytes. So
//! a transcript whose hash matches the log post's, and files whose hashes match the transcript's
//! list, are what the bot stored, whoever hands over the link. Without the log post's hash the
//! files are still checked against the list, and the transcript's hash is printed to compare.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::privatebin::{
    ClientTimeouts, PasteFile, PrivateBinClient, PrivateBinError, ShareLink, read_transcript_parts,
    safe_file_name,
};
use crate::transcript::kept_files;

/// What went wrong while getting a transcript back.
#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    /// The link, a part or a file could not be read or decrypted.
    #[error("could not read {what}")]
    Read {
        /// Which paste: "the transcript", "file 3".
        what: String,
        /// Why.
        #[source]
        source: PrivateBinError,
    },
    /// A file's paste holds no file.
    #[error("file {number}'s paste holds no file")]
    EmptyFilePaste {
        /// The file's number in the transcript's list.
        number: usize,
    },
    /// Writing the transcript or a file to the output folder failed.
    #[error("could not write {}", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A kept file, read back and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrievedFile {
    /// Its number in the transcript's list of files.
    pub number: usize,
    /// The file as stored: name, media type and bytes.
    pub file: PasteFile,
    /// The SHA-256 the transcript lists for it.
    pub listed_sha256: String,
    /// The SHA-256 of the bytes read back.
    pub sha256: String,
}

impl RetrievedFile {
    /// Whether the bytes are the ones the transcript vouches for.
    pub fn intact(&self) -> bool {
        self.sha256.eq_ignore_ascii_case(&self.listed_sha256)
    }
}

/// A transcript read back from its link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retrieved {
    /// The whole Markdown.
    pub text: String,
    /// Its SHA-256, to compare with the log post's.
    pub sha256: String,
    /// SHA-256 of each part's paste, first part first.
    pub part_sha256: Vec<String>,
    /// Every kept file it lists, read back.
    pub files: Vec<RetrievedFile>,
}

impl Retrieved {
    /// Whether the transcript matches `expected` (the log post's hash) and every file matches
    /// the transcript's list; with no `expected`, only the files are checked.
    pub fn intact(&self, expected: Option<&str>) -> bool {
        expected.is_none_or(|expected| expected.eq_ignore_ascii_case(&self.sha256))
            && self.files.iter().all(RetrievedFile::intact)
    }

    /// What was read and checked, for people: one line per finding.
    pub fn report(&self, expected: Option<&str>) -> String {
        let mut report = String::new();
        let parts = self.part_sha256.len();
        let _ = writeln!(
            report,
            "transcript: {} bytes in {parts} {}, SHA-256 {}",
            self.text.len(),
            if parts == 1 { "paste" } else { "parts" },
            self.sha256
        );
        match expected {
            Some(expected) if expected.eq_ignore_ascii_case(&self.sha256) => {
                report.push_str("  matches the expected SHA-256\n");
            }
            Some(expected) => {
                let _ = writeln!(
                    report,
                    "  DOES NOT MATCH the expected SHA-256 {expected}: this is not the transcript the bot stored"
                );
            }
            None => report.push_str(
                "  no expected SHA-256 given: compare it with the log post's (or pass --sha256)\n",
            ),
        }
        for file in &self.files {
            let verdict = if file.intact() {
                "matches the transcript's SHA-256".to_owned()
            } else {
                format!(
                    "DOES NOT MATCH the transcript's SHA-256 {}",
                    file.listed_sha256
                )
            };
            let _ = writeln!(
                report,
                "file {}: {} ({} bytes, {}), {verdict}",
                file.number,
                file.file.name,
                file.file.bytes.len(),
                file.file.media_type
            );
        }
        report
    }
}

/// Reads the transcript `link` points to, all its parts and every file it lists as kept.
///
/// # Errors
///
/// [`RetrieveError::Read`] when a paste cannot be read or decrypted (a tampered paste fails
/// decryption: AES-GCM authenticates it); [`RetrieveError::EmptyFilePaste`].
pub async fn retrieve(link: &str, timeouts: ClientTimeouts) -> Result<Retrieved, RetrieveError> {
    let read = |what: &str| {
        let what = what.to_owned();
        move |source| RetrieveError::Read { what, source }
    };
    let share = ShareLink::parse(link).map_err(read("the transcript"))?;
    let client =
        PrivateBinClient::new(share.base().as_str(), timeouts).map_err(read("the transcript"))?;
    let transcript = read_transcript_parts(&client, link)
        .await
        .map_err(read("the transcript"))?;
    let mut files = Vec::new();
    for kept in kept_files(&transcript.text) {
        let what = format!("file {}", kept.number);
        let file_link = ShareLink::parse(&kept.link).map_err(read(&what))?;
        // A file may sit on another server than the transcript if the bot was moved between them.
        let file_client = if file_link.base() == client.base_url() {
            client.clone()
        } else {
            PrivateBinClient::new(file_link.base().as_str(), timeouts).map_err(read(&what))?
        };
        let document = file_client
            .read_document(&file_link)
            .await
            .map_err(read(&what))?;
        let file = document
            .files
            .into_iter()
            .next()
            .ok_or(RetrieveError::EmptyFilePaste {
                number: kept.number,
            })?;
        files.push(RetrievedFile {
            number: kept.number,
            sha256: sha256_hex(&file.bytes),
            listed_sha256: kept.sha256,
            file,
        });
    }
    Ok(Retrieved {
        sha256: sha256_hex(transcript.text.as_bytes()),
        part_sha256: transcript.part_sha256,
        text: transcript.text,
        files,
    })
}

/// The name a file is written under: numbered, so two files of one name do not collide.
fn output_name(number: usize, name: &str) -> String {
    format!("{number:03}-{}", safe_file_name(name))
}

/// Writes the transcript as `transcript.md` and each file into `files/` under `folder`; returns
/// the paths written.
///
/// # Errors
///
/// [`RetrieveError::Write`] naming the path that could not be written.
pub fn write_folder(retrieved: &Retrieved, folder: &Path) -> Result<Vec<PathBuf>, RetrieveError> {
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes)
            .map(|()| path.clone())
            .map_err(|source| RetrieveError::Write { path, source })
    };
    let mut written = Vec::new();
    std::fs::create_dir_all(folder).map_err(|source| RetrieveError::Write {
        path: folder.to_owned(),
        source,
    })?;
    written.push(write(
        folder.join("transcript.md"),
        retrieved.text.as_bytes(),
    )?);
    if !retrieved.files.is_empty() {
        let files = folder.join("files");
        std::fs::create_dir_all(&files).map_err(|source| RetrieveError::Write {
            path: files.clone(),
            source,
        })?;
        for file in &retrieved.files {
            let path = files.join(output_name(file.number, &file.file.name));
            written.push(write(path, &file.file.bytes)?);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_stay_inside_the_folder() {
        assert_eq!(output_name(1, "shot.png"), "001-shot.png");
        assert_eq!(output_name(12, "../x"), "012-_x");
    }

    fn retrieved(listed: &str) -> Retrieved {
        Retrieved {
            text: "t".to_owned(),
            sha256: sha256_hex(b"t"),
            part_sha256: vec![sha256_hex(b"t")],
            files: vec![RetrievedFile {
                number: 1,
                file: PasteFile {
                    name: "a.txt".to_owned(),
                    media_type: "text/plain".to_owned(),
                    bytes: b"a".to_vec(),
                },
                listed_sha256: listed.to_owned(),
                sha256: sha256_hex(b"a"),
            }],
        }
    }

    #[test]
    fn a_transcript_is_intact_only_when_every_hash_matches() {
        let good = retrieved(&sha256_hex(b"a"));
        let whole = sha256_hex(b"t");
        assert!(good.intact(None));
        assert!(good.intact(Some(&whole)));
        assert!(good.intact(Some(&whole.to_uppercase())));
        assert!(!good.intact(Some(&sha256_hex(b"other"))));
        let bad_file = retrieved(&sha256_hex(b"b"));
        assert!(!bad_file.intact(Some(&whole)));
        assert!(
            bad_file
                .report(Some(&whole))
                .contains("file 1: a.txt (1 bytes, text/plain), DOES NOT MATCH")
        );
    }
}
