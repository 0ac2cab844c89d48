//! Splitting a transcript that is over the server's size limit into parts that link each other.
//!
//! Pure: the uploader asks [`plan_parts`] where to cut, then uploads the parts last to first so
//! each part can end with the link to the next one. Parts are cut between Markdown blocks, never
//! inside a fenced code block when avoidable, and nothing is ever dropped: the bodies of the parts
//! concatenate to the original text.

use std::ops::Range;

use super::format::{CompressedPaste, PasteOptions, compress_paste};
use super::{PrivateBinError, Result};

/// Ciphertext bytes kept free below the limit: the measured parts carry a placeholder link whose
/// key compresses better than the real, random one.
const SAFETY_MARGIN: usize = 512;
/// Below this many bytes of ciphertext a limit is not usable for a transcript.
pub const MIN_PASTE_LIMIT: usize = 16 * 1024;
/// Parts are never cut smaller than this many bytes of text.
const MIN_PART_TEXT: usize = 1024;
/// Starts the first line of every part of a split transcript.
const PART_MARKER: &str = "> **Part ";

/// How a transcript is stored.
#[derive(Debug)]
pub enum Plan {
    /// In one paste; the compressed text is reused for encryption.
    Single(CompressedPaste),
    /// In several pastes holding these byte ranges of the text, in order.
    Parts(Vec<Range<usize>>),
}

/// The text of part `index` (zero-based) of `count`, framed by its markers.
pub fn decorate_part(body: &str, index: usize, count: usize, next_link: Option<&str>) -> String {
    let number = index + 1;
    let footer = match next_link {
        Some(link) => format!("> **Part {number} of {count}** — continued in <{link}>"),
        None => format!("> **Part {number} of {count}** — end of the transcript."),
    };
    format!("{PART_MARKER}{number} of {count}** of this transcript.\n\n{body}\n\n{footer}\n")
}

/// One part of a split transcript, read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartText<'a> {
    /// One-based number of this part.
    pub number: usize,
    /// How many parts the transcript has.
    pub count: usize,
    /// The transcript text this part holds.
    pub body: &'a str,
    /// The link to the next part; `None` on the last part.
    pub next_link: Option<&'a str>,
}

/// Undoes [`decorate_part`]. Returns `None` when `text` is not a part of a split transcript.
pub fn strip_part(text: &str) -> Option<PartText<'_>> {
    let after_marker = text.strip_prefix(PART_MARKER)?;
    let (numbers, after_header) = after_marker.split_once("** of this transcript.\n\n")?;
    let (number, count) = numbers.split_once(" of ")?;
    let (number, count) = (number.parse().ok()?, count.parse().ok()?);
    let footer_start = after_header.rfind("\n\n> **Part ")?;
    let body = &after_header[..footer_start];
    let footer = after_header[footer_start + 2..].strip_suffix('\n')?;
    let next_link = footer
        .split_once("** — continued in <")
        .and_then(|(_, rest)| rest.strip_suffix('>'));
    Some(PartText {
        number,
        count,
        body,
        next_link,
    })
}

/// Decides whether `text` fits in one paste of at most `max_ciphertext_len` base64 bytes, and if
/// not, where to cut it. `link_len` is the length of a share link on this server.
pub fn plan_parts(
    text: &str,
    max_ciphertext_len: usize,
    options: &PasteOptions,
    link_len: usize,
) -> Result<Plan> {
    let whole = compress_paste(text, options)?;
    if whole.ciphertext_len() <= max_ciphertext_len {
        return Ok(Plan::Single(whole));
    }
    let budget = max_ciphertext_len.saturating_sub(SAFETY_MARGIN);
    let too_small = PrivateBinError::SplitTranscript {
        limit: max_ciphertext_len,
    };
    if max_ciphertext_len < MIN_PASTE_LIMIT {
        return Err(too_small);
    }
    let placeholder = "x".repeat(link_len);
    let boundaries = boundaries(text);
    let mut count = whole.ciphertext_len().div_ceil(budget).max(2);
    loop {
        let max_part_len = text.len().div_ceil(count);
        if max_part_len < MIN_PART_TEXT {
            return Err(too_small);
        }
        let ranges = cut(text, &boundaries, max_part_len);
        let mut largest = 0;
        for (index, range) in ranges.iter().enumerate() {
            let next = (index + 1 < ranges.len()).then_some(placeholder.as_str());
            let part = decorate_part(&text[range.clone()], index, ranges.len(), next);
            largest = largest.max(compress_paste(&part, options)?.ciphertext_len());
        }
        if largest <= budget {
            return Ok(Plan::Parts(ranges));
        }
        // Grow the part count in proportion to the overshoot, at least by one.
        count = (count + 1).max(count * largest / budget + 1);
    }
}

/// A line start where a part may begin, and how good a place it is to cut.
#[derive(Clone, Copy, Debug)]
struct Boundary {
    offset: usize,
    quality: u8,
}

/// Before a heading or an author's turn line (`**Name** · 12:03` after a blank line) outside
/// code: where a day or a turn of the conversation starts.
const BEFORE_HEADING: u8 = 3;
/// After a blank line outside code: between paragraphs.
const AFTER_BLANK_LINE: u8 = 2;
/// Any line outside code.
const LINE_OUTSIDE_CODE: u8 = 1;
/// A line inside a fenced code block: only when nothing better exists.
const LINE_INSIDE_CODE: u8 = 0;

/// Every line start after the first, rated.
fn boundaries(text: &str) -> Vec<Boundary> {
    let mut found = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut previous_blank = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if offset > 0 {
            let quality = if fence.is_some() {
                LINE_INSIDE_CODE
            } else if content.starts_with('#') || (previous_blank && is_turn_line(content)) {
                BEFORE_HEADING
            } else if previous_blank {
                AFTER_BLANK_LINE
            } else {
                LINE_OUTSIDE_CODE
            };
            found.push(Boundary { offset, quality });
        }
        fence = next_fence_state(fence, content);
        previous_blank = content.trim().is_empty();
        offset += line.len();
    }
    found
}

/// Whether `line` looks like the line that starts an author's turn in a transcript. A user's own
/// bold text may look the same; that only moves a cut, never loses text.
fn is_turn_line(line: &str) -> bool {
    line.starts_with("**") && line.contains(" · ")
}

/// Tracks fenced code blocks, also inside block quotes (`> ```` ` lines of embeds).
fn next_fence_state(open: Option<(u8, usize)>, line: &str) -> Option<(u8, usize)> {
    let mut rest = line;
    while let Some(stripped) = rest.strip_prefix('>') {
        rest = stripped.strip_prefix(' ').unwrap_or(stripped);
    }
    let rest = rest.trim_start_matches(' ');
    let Some(&marker) = rest
        .as_bytes()
        .first()
        .filter(|byte| matches!(byte, b'`' | b'~'))
    else {
        return open;
    };
    let run = rest.bytes().take_while(|&byte| byte == marker).count();
    if run < 3 {
        return open;
    }
    match open {
        None => Some((marker, run)),
        Some((open_marker, open_run))
            if open_marker == marker && run >= open_run && rest[run..].trim().is_empty() =>
        {
            None
        }
        Some(state) => Some(state),
    }
}

/// Cuts `text` into ranges of at most `max_len` bytes at the best boundaries available.
fn cut(text: &str, boundaries: &[Boundary], max_len: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while text.len() - start > max_len {
        let limit = floor_char_boundary(text, start + max_len);
        let preferred_from = start + max_len / 2;
        let candidates = |from: usize| {
            let first = boundaries.partition_point(|boundary| boundary.offset <= from);
            let last = boundaries.partition_point(|boundary| boundary.offset <= limit);
            boundaries[first..last.max(first)]
                .iter()
                .rev()
                .max_by_key(|boundary| boundary.quality)
                .map(|boundary| boundary.offset)
        };
        let end = candidates(preferred_from)
            .or_else(|| candidates(start))
            .unwrap_or_else(|| {
                if limit > start {
                    limit
                } else {
                    ceil_char_boundary(text, start + 1)
                }
            });
        ranges.push(start..end);
        start = end;
    }
    ranges.push(start..text.len());
    ranges
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(messages: usize) -> String {
        use std::fmt::Write as _;
        let mut text = String::from("# Ticket #1\n\n- **Messages:** many\n\n");
        for index in 0..messages {
            let _ = write!(
                text,
                "#### User {index} (`{}`) — 2024-01-01T00:00:00Z\n\nmessage number {index} with some words {}\n\n```\ncode {index}\n\nmore code\n```\n\n",
                100_000_000_000_000_000_u64 + index as u64,
                index * 7919 % 1000,
            );
        }
        text
    }

    fn options() -> PasteOptions {
        PasteOptions::default()
    }

    #[test]
    fn small_text_is_one_paste() {
        assert!(matches!(
            plan_parts("hello", 100_000, &options(), 80).unwrap(),
            Plan::Single(_)
        ));
    }

    #[test]
    fn large_text_is_split_into_parts_that_fit_and_lose_nothing() {
        let text = transcript(3000);
        let limit = 20_000;
        let Plan::Parts(ranges) = plan_parts(&text, limit, &options(), 80).unwrap() else {
            panic!("expected the transcript to be split");
        };
        assert!(ranges.len() > 2);
        let joined: String = ranges.iter().map(|range| &text[range.clone()]).collect();
        assert_eq!(joined, text);
        for (index, range) in ranges.iter().enumerate() {
            let part = decorate_part(
                &text[range.clone()],
                index,
                ranges.len(),
                Some(&"q".repeat(80)),
            );
            assert!(compress_paste(&part, &options()).unwrap().ciphertext_len() <= limit);
        }
    }

    #[test]
    fn turn_lines_after_a_blank_line_are_the_best_cuts() {
        let text = "### 2024-05-01\n\n**Alice** · 12:01\nhello\n\n**Bob** (bot) · 12:02  \nhi\n";
        let rated: Vec<(&str, u8)> = boundaries(text)
            .iter()
            .map(|b| (text[b.offset..].lines().next().unwrap_or(""), b.quality))
            .collect();
        assert!(
            rated.contains(&("**Alice** · 12:01", BEFORE_HEADING)),
            "{rated:?}"
        );
        assert!(
            rated.contains(&("**Bob** (bot) · 12:02  ", BEFORE_HEADING)),
            "{rated:?}"
        );
        assert!(rated.contains(&("hello", LINE_OUTSIDE_CODE)), "{rated:?}");
    }

    #[test]
    fn parts_start_at_message_headings_not_inside_code() {
        let text = transcript(3000);
        let Plan::Parts(ranges) = plan_parts(&text, 20_000, &options(), 80).unwrap() else {
            panic!("expected the transcript to be split");
        };
        for range in &ranges[1..] {
            assert!(
                text[range.clone()].starts_with("#### "),
                "part starts with {:?}",
                &text[range.start..range.start + 20]
            );
        }
    }

    #[test]
    fn text_without_line_breaks_is_still_split_at_character_boundaries() {
        // Incompressible-ish unicode without any newline.
        let text: String = (0..60_000_u32)
            .map(|index| char::from_u32(0x4e00 + (index * 7919) % 20_000).unwrap())
            .collect();
        let Plan::Parts(ranges) = plan_parts(&text, 40_000, &options(), 80).unwrap() else {
            panic!("expected the text to be split");
        };
        let joined: String = ranges.iter().map(|range| &text[range.clone()]).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn a_limit_too_small_for_any_transcript_is_an_error() {
        let text = transcript(200);
        assert!(matches!(
            plan_parts(&text, 1000, &options(), 80),
            Err(PrivateBinError::SplitTranscript { limit: 1000 })
        ));
    }

    #[test]
    fn decorated_part_strips_back_to_body_and_link() {
        let body = "#### A\n\ntext\n\n> **Part 9 of 9** — continued in <fake> inside the body\n";
        let part = decorate_part(body, 1, 3, Some("http://h/?abc#key"));
        assert!(part.starts_with("> **Part 2 of 3** of this transcript."));
        assert_eq!(
            strip_part(&part),
            Some(PartText {
                number: 2,
                count: 3,
                body,
                next_link: Some("http://h/?abc#key")
            })
        );
        let last = decorate_part(body, 2, 3, None);
        assert_eq!(
            strip_part(&last),
            Some(PartText {
                number: 3,
                count: 3,
                body,
                next_link: None
            })
        );
        assert_eq!(strip_part("# Ticket\n\nnot split"), None);
    }

    #[test]
    fn fences_inside_block_quotes_are_tracked() {
        assert_eq!(next_fence_state(None, "> ```rust"), Some((b'`', 3)));
        assert_eq!(next_fence_state(Some((b'`', 3)), "> ```"), None);
        assert_eq!(next_fence_state(Some((b'`', 4)), "```"), Some((b'`', 4)));
        assert_eq!(next_fence_state(None, "``inline``"), None);
    }
}
