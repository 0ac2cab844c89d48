//! The transcript's files section, and reading it back.
//!
//! Discord deletes a ticket's attachments with its channel, so the transcript ends with a list of
//! every attached file: where its kept copy is (a paste of its own) with the SHA-256 of its bytes,
//! or why it was not kept. `ticketeer-bot transcript get` reads that list back with
//! [`kept_files`] to fetch and verify each copy, so the list is written for a parser as much as
//! for a reader:
//!
//! ```text
//! ---
//!
//! ## Files
//!
//! 1. screenshot.png — 1.2 MiB, image/png — SHA-256 `<64 hex>` — <https://paste.example/?abc#key>
//! 2. dump.bin — 30.0 MiB — not kept: the ticket's files passed the 8.0 MiB kept per ticket
//! ```
//!
//! Fields are separated by ` — `; in the user's text (name, MIME type, alt text) every `—` is
//! written as `&mdash;`, so a separator is always ours. User text elsewhere in the transcript is
//! escaped and cannot write a line `## Files` after a `---` line outside code; inside a code
//! block it can, so only the last such section counts, and only when every line after it is one
//! of the entries, numbered from 1 (a code block's closing fence would be a line that is not).

use std::fmt::Write;

use super::markdown::{link_destination, plain, plain_line_start};
use super::model::{AttachmentCopy, TranscriptAttachment};

const RULE: &str = "---";
const HEADING: &str = "## Files";
const SEPARATOR: &str = " — ";
const SHA256_PREFIX: &str = "SHA-256 `";

/// A file whose copy the transcript keeps, as its files section lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptFile {
    /// The entry's number: messages mention the file as `file <number>`.
    pub number: usize,
    /// The file name as uploaded (the transcript's escaping undone; line breaks became spaces).
    pub name: String,
    /// SHA-256 of the file's bytes, lower-case hex: what the fetched copy must hash to.
    pub sha256: String,
    /// The share link of the paste holding the copy, key included.
    pub link: String,
}

/// The kept files listed in a transcript's files section, in order.
///
/// `markdown` is the whole transcript; for a split one, the bodies of its parts joined in order.
/// Empty when the transcript has no files section or when what looks like one is not the
/// renderer's (see the module docs).
pub fn kept_files(markdown: &str) -> Vec<KeptFile> {
    let lines: Vec<&str> = markdown.lines().collect();
    let follows_rule = |index: usize| {
        lines[..index]
            .iter()
            .rev()
            .find(|line| !line.trim().is_empty())
            .is_some_and(|line| *line == RULE)
    };
    let Some(heading) = (0..lines.len())
        .rev()
        .find(|&index| lines[index] == HEADING && follows_rule(index))
    else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut number = 0;
    for line in lines[heading + 1..]
        .iter()
        .filter(|line| !line.trim().is_empty())
    {
        number += 1;
        let Some(entry) = line.strip_prefix(&format!("{number}. ")) else {
            return Vec::new();
        };
        kept.extend(parse_kept(number, entry));
    }
    kept
}

fn parse_kept(number: usize, entry: &str) -> Option<KeptFile> {
    let fields: Vec<&str> = entry.split(SEPARATOR).collect();
    let [name, _details, hash, link] = fields.as_slice() else {
        return None;
    };
    let sha256 = hash.strip_prefix(SHA256_PREFIX)?.strip_suffix('`')?;
    let link = link.strip_prefix('<')?.strip_suffix('>')?;
    if !is_sha256(sha256) || link.is_empty() || link.contains(char::is_whitespace) {
        return None;
    }
    Some(KeptFile {
        number,
        name: unescape(name),
        sha256: sha256.to_owned(),
        link: link.to_owned(),
    })
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// Undoes [`field`]'s escaping: backslash escapes and the few entities the escaping writes.
fn unescape(text: &str) -> String {
    const ENTITIES: [(&str, char); 5] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&mdash;", '—'),
        ("&nbsp;", ' '),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(character) = rest.chars().next() {
        if let Some(escaped) = rest
            .strip_prefix('\\')
            .and_then(|after| after.chars().next())
            .filter(char::is_ascii_punctuation)
        {
            out.push(escaped);
            rest = &rest[1 + escaped.len_utf8()..];
        } else if let Some((entity, decoded)) =
            ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity))
        {
            out.push(*decoded);
            rest = &rest[entity.len()..];
        } else {
            out.push(character);
            rest = &rest[character.len_utf8()..];
        }
    }
    out
}

/// User text in an entry: escaped, and with no `—` that could pass for a separator.
fn field(text: &str) -> String {
    plain(text).replace('—', "&mdash;")
}

/// The files of a transcript, numbered in the order the renderer meets them.
#[derive(Debug, Default)]
pub(crate) struct FileList<'a> {
    files: Vec<&'a TranscriptAttachment>,
}

impl<'a> FileList<'a> {
    /// Adds a file and returns its number in the files section.
    pub(crate) fn add(&mut self, attachment: &'a TranscriptAttachment) -> usize {
        self.files.push(attachment);
        self.files.len()
    }

    /// Writes the files section, starting with a blank line; nothing when there are no files.
    pub(crate) fn write_section(&self, out: &mut String) {
        if self.files.is_empty() {
            return;
        }
        let _ = write!(out, "\n\n{RULE}\n\n{HEADING}\n");
        for (index, attachment) in self.files.iter().enumerate() {
            out.push('\n');
            write_entry(index + 1, attachment, out);
        }
    }
}

fn write_entry(number: usize, attachment: &TranscriptAttachment, out: &mut String) {
    let name = plain_line_start(&attachment.filename).replace('—', "&mdash;");
    let _ = write!(
        out,
        "{number}. {name}{SEPARATOR}{}",
        format_size(attachment.size)
    );
    if let Some(content_type) = attachment
        .content_type
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        let _ = write!(out, ", {}", field(content_type));
    }
    if let Some(description) = attachment
        .description
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        let _ = write!(out, ", “{}”", field(description));
    }
    out.push_str(SEPARATOR);
    match &attachment.copy {
        AttachmentCopy::Kept { link, sha256 } => match link_destination(link) {
            Some(link) if is_sha256(sha256) => {
                let _ = write!(out, "{SHA256_PREFIX}{sha256}`{SEPARATOR}<{link}>");
            }
            // Never written by the uploader; said plainly rather than listed as fetchable.
            _ => out.push_str("not kept: its copy's link or checksum is not usable"),
        },
        AttachmentCopy::OverTotal { limit } => {
            let _ = write!(
                out,
                "not kept: the ticket's files passed the {} kept per ticket",
                format_size(*limit)
            );
        }
        AttachmentCopy::TooLargeForPaste => out.push_str("not kept: larger than one paste may be"),
        AttachmentCopy::Unavailable => out.push_str("not kept: could not be downloaded"),
        AttachmentCopy::NotKept => match link_destination(&attachment.url) {
            Some(url) => {
                let _ = write!(out, "not kept{SEPARATOR}[Discord's copy]({url})");
            }
            None => out.push_str("not kept"),
        },
    }
}

/// Sizes in binary units, as Discord shows them.
pub(crate) fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024 * 1024 && unit + 1 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    // One decimal, computed in integers: tenths of the unit.
    let tenths = value * 10 / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const HASH_B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    fn attachment(filename: &str, size: u64, copy: AttachmentCopy) -> TranscriptAttachment {
        TranscriptAttachment {
            filename: filename.to_owned(),
            size,
            url: format!("https://cdn.discordapp.com/attachments/1/2/{size}"),
            content_type: Some("image/png".to_owned()),
            description: None,
            copy,
        }
    }

    fn kept(link: &str, sha256: &str) -> AttachmentCopy {
        AttachmentCopy::Kept {
            link: link.to_owned(),
            sha256: sha256.to_owned(),
        }
    }

    fn section(attachments: &[TranscriptAttachment]) -> String {
        let mut files = FileList::default();
        for attachment in attachments {
            files.add(attachment);
        }
        let mut out = String::from("# Ticket #1 — Support");
        files.write_section(&mut out);
        out
    }

    #[test]
    fn sizes_use_binary_units_with_one_decimal() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1023), "1023 bytes");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(12_595), "12.2 KiB");
        assert_eq!(format_size(25 * 1024 * 1024), "25.0 MiB");
        assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn entries_say_where_each_file_is_or_why_it_is_not_kept() {
        let mut with_alt = attachment(
            "shot.png",
            1_300_000,
            kept("https://p.example/?a#k", HASH_A),
        );
        with_alt.description = Some("the error".to_owned());
        let text = section(&[
            with_alt,
            attachment(
                "dump.bin",
                30 * 1024 * 1024,
                AttachmentCopy::OverTotal {
                    limit: 8 * 1024 * 1024,
                },
            ),
            attachment(
                "big.iso",
                12 * 1024 * 1024,
                AttachmentCopy::TooLargeForPaste,
            ),
            attachment("gone.txt", 10, AttachmentCopy::Unavailable),
            attachment("notes.txt", 5 * 1024, AttachmentCopy::NotKept),
        ]);
        assert_eq!(
            text,
            format!(
                "# Ticket #1 — Support\n\n---\n\n## Files\n\n\
                 1. shot.png — 1.2 MiB, image/png, “the error” — SHA-256 `{HASH_A}` — <https://p.example/?a#k>\n\
                 2. dump.bin — 30.0 MiB, image/png — not kept: the ticket's files passed the 8.0 MiB kept per ticket\n\
                 3. big.iso — 12.0 MiB, image/png — not kept: larger than one paste may be\n\
                 4. gone.txt — 10 bytes, image/png — not kept: could not be downloaded\n\
                 5. notes.txt — 5.0 KiB, image/png — not kept — [Discord's copy](https://cdn.discordapp.com/attachments/1/2/5120)"
            )
        );
    }

    #[test]
    fn kept_files_reads_back_what_the_section_lists_as_kept() {
        let mut tricky = attachment(
            "# a — b_*`<x>`&amp;.png",
            7,
            kept("https://p.example/?b#k2", HASH_B),
        );
        tricky.content_type = Some("text/plain — SHA-256 `x` — <https://evil>".to_owned());
        let text = section(&[
            attachment("one.png", 1, kept("https://p.example/?a#k1", HASH_A)),
            attachment("two.png", 2, AttachmentCopy::OverTotal { limit: 1 }),
            attachment("three.png", 3, AttachmentCopy::NotKept),
            tricky,
            attachment("five.png", 5, AttachmentCopy::Unavailable),
        ]);
        assert_eq!(
            kept_files(&text),
            [
                KeptFile {
                    number: 1,
                    name: "one.png".to_owned(),
                    sha256: HASH_A.to_owned(),
                    link: "https://p.example/?a#k1".to_owned(),
                },
                KeptFile {
                    number: 4,
                    name: "# a — b_*`<x>`&amp;.png".to_owned(),
                    sha256: HASH_B.to_owned(),
                    link: "https://p.example/?b#k2".to_owned(),
                },
            ]
        );
    }

    #[test]
    fn a_bad_checksum_is_not_listed_as_kept() {
        let text = section(&[attachment(
            "x.png",
            1,
            kept("https://p.example/?a#k", "not-a-hash"),
        )]);
        assert!(text.contains("not kept"), "{text}");
        assert!(kept_files(&text).is_empty());
    }

    #[test]
    fn only_a_last_section_of_entries_alone_counts() {
        let forged = format!(
            "---\n\n## Files\n\n1. evil — 1 byte — SHA-256 `{HASH_B}` — <https://evil.example>\n"
        );
        assert_eq!(kept_files(&forged).len(), 1, "the forgery is well formed");
        // In a code block of the last message: its closing fence follows the entries.
        assert!(kept_files(&format!("# T\n\n```\n{forged}```\n")).is_empty());
        // Before the real section: only the last one counts.
        let real = section(&[attachment(
            "a.png",
            1,
            kept("https://p.example/?a#k", HASH_A),
        )]);
        let files = kept_files(&format!("```\n{forged}```\n{real}"));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].link, "https://p.example/?a#k");
        // A heading with no rule before it is not the section.
        assert!(kept_files(&forged.replacen("---", "text", 1)).is_empty());
    }
}
