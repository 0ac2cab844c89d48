//! Discord message text to Markdown that shows exactly what was written.
//!
//! User markup is escaped rather than interpreted, so a message can neither break the
//! transcript's layout nor inject markup; PrivateBin renders with showdown and sanitises with
//! DOMPurify, and `<` is still escaped here so no HTML reaches either. Code blocks are kept as
//! code, always with a closing fence: an unclosed ```` ``` ```` in a message is shown as literal
//! backticks and cannot swallow the rest of the transcript. Mentions become names, `<t:…>`
//! timestamps become ISO 8601 UTC, and links stay links.
//!
//! One room on purpose, and long: the rules act on one another (no escaping inside code, no
//! mention inside a link), so they are read together; a quarter of it is their unit tests.

use std::fmt::Write;

use jiff::Timestamp;
use twilight_model::id::Id;

use super::names::Names;

/// Formats a time as ISO 8601 in UTC with seconds, e.g. `2024-05-01T12:00:00Z`.
pub fn format_timestamp(timestamp: Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Renders message text as Markdown blocks separated by blank lines (no trailing newline).
pub fn block(text: &str, names: &Names) -> String {
    blocks(text, names).join("\n\n")
}

/// Renders message text as its Markdown blocks, in order: paragraphs (lines joined by hard
/// breaks) and fenced code blocks (starting with a backtick fence), none empty.
pub fn blocks(text: &str, names: &Names) -> Vec<String> {
    let text = normalize_newlines(text);
    let mut blocks: Vec<String> = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let Some(open) = rest.find("```") else {
            push_text_block(&mut blocks, rest, names);
            break;
        };
        let after_open = &rest[open + 3..];
        let Some(close) = after_open.find("```") else {
            // Unclosed: Discord shows the backticks as text, and so do we.
            push_text_block(&mut blocks, rest, names);
            break;
        };
        push_text_block(&mut blocks, &rest[..open], names);
        blocks.push(code_block(&after_open[..close]));
        rest = &after_open[close + 3..];
    }
    blocks
}

/// Renders text for a single line (a heading, a list item): line breaks become spaces.
pub fn inline(text: &str, names: &Names) -> String {
    let flattened = normalize_newlines(text).replace('\n', " ");
    let mut out = String::with_capacity(flattened.len() + 8);
    render_line(flattened.trim(), names, false, &mut out);
    out
}

/// Escapes plain text (a name, a file name) for a single line, with no Discord syntax.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (index, character) in text.char_indices() {
        escape_char(text, index, character, &mut out);
    }
    out.replace(['\n', '\r'], " ")
}

/// Like [`plain`], for text at the start of a line (a list item's first word): leading spaces
/// and what would start a heading, list or rule are escaped too.
pub fn plain_line_start(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let spaces = text.len() - text.trim_start_matches(' ').len();
    out.push_str(&"&nbsp;".repeat(spaces));
    let consumed = escape_block_marker(&text[spaces..], &mut out);
    out.push_str(&plain(&text[spaces + consumed..]));
    out
}

/// A link destination: http(s) only, with the characters that would end it percent-encoded.
pub fn link_destination(url: &str) -> Option<String> {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for character in url.chars() {
        match character {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '`' => out.push_str("%60"),
            '\n' | '\r' | '\t' => {}
            other => out.push(other),
        }
    }
    Some(out)
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// One text segment between code blocks: lines joined by hard line breaks.
fn push_text_block(blocks: &mut Vec<String>, text: &str, names: &Names) {
    // The newline right next to a code fence belongs to the fence's own line.
    let text = text.strip_prefix('\n').unwrap_or(text);
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.trim().is_empty() {
        return;
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut previous_blank = true;
    for line in text.split('\n') {
        let blank = line.trim().is_empty();
        if !out.is_empty() {
            // Two trailing spaces make a hard break: chat lines are lines, not paragraphs.
            out.push_str(if blank || previous_blank {
                "\n"
            } else {
                "  \n"
            });
        }
        if !blank {
            render_line(line, names, true, &mut out);
        }
        previous_blank = blank;
    }
    // Blank lines were kept as paragraph breaks; each paragraph is a block of its own.
    blocks.extend(
        out.split("\n\n")
            .map(|paragraph| paragraph.trim_matches('\n').trim_end())
            .filter(|paragraph| !paragraph.is_empty())
            .map(str::to_owned),
    );
}

/// A Discord code block as a fenced block that cannot be closed early by its own content.
fn code_block(inner: &str) -> String {
    let (language, code) = match inner.split_once('\n') {
        Some((first, code))
            if !first.is_empty()
                && first.len() <= 32
                && first
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"+#._-".contains(&byte)) =>
        {
            (first, code)
        }
        _ => ("", inner),
    };
    let code = code.strip_prefix('\n').unwrap_or(code);
    let code = code.strip_suffix('\n').unwrap_or(code);
    let fence = "`".repeat(longest_run(code, '`').max(2) + 1);
    format!("{fence}{language}\n{code}\n{fence}")
}

fn longest_run(text: &str, wanted: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for character in text.chars() {
        current = if character == wanted { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// Renders one line of message text into `out`.
fn render_line(line: &str, names: &Names, at_line_start: bool, out: &mut String) {
    let mut index = 0;
    if at_line_start {
        // Leading spaces would make an indented code block or a nested list.
        for character in line.chars() {
            match character {
                ' ' => out.push_str("&nbsp;"),
                '\t' => out.push_str("&nbsp;&nbsp;&nbsp;&nbsp;"),
                _ => break,
            }
            index += 1;
        }
        index += escape_block_marker(&line[index..], out);
    }
    while index < line.len() {
        let rest = &line[index..];
        let Some(character) = rest.chars().next() else {
            break;
        };
        let consumed = match character {
            '`' => code_span(rest, out),
            '<' => angle_syntax(rest, names, out),
            '[' => masked_link(rest, names, out),
            'h' | 'H' if !preceded_by_word(line, index) => bare_url(rest, out),
            _ => None,
        };
        if let Some(length) = consumed {
            index += length;
        } else {
            escape_char(line, index, character, out);
            index += character.len_utf8();
        }
    }
}

/// Escapes what would start a heading, list, rule or setext underline; returns bytes consumed.
fn escape_block_marker(line: &str, out: &mut String) -> usize {
    let bytes = line.as_bytes();
    match bytes.first() {
        Some(b'#' | b'-' | b'+' | b'=') => {
            out.push('\\');
            out.push(char::from(bytes[0]));
            1
        }
        Some(b'0'..=b'9') => {
            let digits = bytes
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if matches!(bytes.get(digits), Some(b'.' | b')')) {
                out.push_str(&line[..digits]);
                out.push('\\');
                out.push(char::from(bytes[digits]));
                digits + 1
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn preceded_by_word(line: &str, index: usize) -> bool {
    line[..index]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
}

fn escape_char(text: &str, index: usize, character: char, out: &mut String) {
    match character {
        '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' => {
            out.push('\\');
            out.push(character);
        }
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' if looks_like_entity(&text[index + 1..]) => out.push_str("&amp;"),
        other => out.push(other),
    }
}

/// Whether text after `&` would be read as an HTML character reference.
fn looks_like_entity(after: &str) -> bool {
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .collect();
    !name.is_empty() && after[name.len()..].starts_with(';')
}

/// An inline code span (Discord's `` `x` `` or ``` ``x`` ```) kept as code.
fn code_span(rest: &str, out: &mut String) -> Option<usize> {
    let run = rest.bytes().take_while(|&byte| byte == b'`').count();
    if run > 2 {
        return None;
    }
    let delimiter = &rest[..run];
    let body_start = run;
    let mut search = body_start;
    while let Some(found) = rest[search..].find(delimiter) {
        let at = search + found;
        let closing_run = rest[at..].bytes().take_while(|&byte| byte == b'`').count();
        if closing_run == run && at > body_start {
            let code = &rest[body_start..at];
            if code.trim().is_empty() {
                return None;
            }
            let fence = "`".repeat(longest_run(code, '`') + 1);
            let pad = if code.starts_with('`') || code.ends_with('`') {
                " "
            } else {
                ""
            };
            let _ = write!(out, "{fence}{pad}{code}{pad}{fence}");
            return Some(at + run);
        }
        search = at + closing_run.max(1);
    }
    None
}

/// Mentions, timestamps, custom emoji, command mentions and `<https://…>` links.
fn angle_syntax(rest: &str, names: &Names, out: &mut String) -> Option<usize> {
    let end = rest.find('>')?;
    let inner = &rest[1..end];
    let consumed = end + 1;
    if let Some(url) = inner
        .strip_prefix("http")
        .filter(|_| !inner.contains(char::is_whitespace))
    {
        if url.starts_with("://") || url.starts_with("s://") {
            let destination = link_destination(inner)?;
            let _ = write!(out, "<{destination}>");
            return Some(consumed);
        }
        return None;
    }
    if let Some(id) = inner.strip_prefix("@&") {
        let id = parse_id(id)?;
        match names.role(Id::new(id)) {
            Some(name) => {
                let _ = write!(out, "@{}", plain(name));
            }
            None => {
                let _ = write!(out, "@unknown role (`{id}`)");
            }
        }
        return Some(consumed);
    }
    if let Some(id) = inner.strip_prefix('@') {
        let id = parse_id(id.strip_prefix('!').unwrap_or(id))?;
        match names.mention(Id::new(id)) {
            Some(name) => {
                let _ = write!(out, "@{}", plain(&name));
            }
            None => {
                let _ = write!(out, "@unknown user (`{id}`)");
            }
        }
        return Some(consumed);
    }
    if let Some(id) = inner.strip_prefix('#') {
        let id = parse_id(id)?;
        match names.channel(Id::new(id)) {
            Some(name) => {
                let _ = write!(out, "\\#{}", plain(name));
            }
            None => {
                let _ = write!(out, "\\#unknown channel (`{id}`)");
            }
        }
        return Some(consumed);
    }
    if let Some(time) = inner.strip_prefix("t:") {
        let seconds = time.split(':').next()?;
        let style = &time[seconds.len()..];
        if !(style.is_empty() || (style.len() == 2 && "tTdDfFRsS".contains(&style[1..]))) {
            return None;
        }
        let timestamp = Timestamp::from_second(seconds.parse().ok()?).ok()?;
        out.push_str(&format_timestamp(timestamp));
        return Some(consumed);
    }
    if let Some(command) = inner.strip_prefix('/') {
        let (name, id) = command.rsplit_once(':')?;
        parse_id(id)?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
        {
            return None;
        }
        let _ = write!(out, "/{}", plain(name));
        return Some(consumed);
    }
    let emoji = inner
        .strip_prefix("a:")
        .or_else(|| inner.strip_prefix(':'))?;
    let (name, id) = emoji.split_once(':')?;
    parse_id(id)?;
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let _ = write!(out, ":{}:", plain(name));
    Some(consumed)
}

fn parse_id(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&id| id != 0)
}

/// Discord's masked links `[text](https://…)`.
fn masked_link(rest: &str, names: &Names, out: &mut String) -> Option<usize> {
    let close = rest.find("](")?;
    let label = &rest[1..close];
    if label.trim().is_empty() || label.contains(['[', ']']) {
        return None;
    }
    let after = &rest[close + 2..];
    // The destination ends at the parenthesis that balances the opening one: URLs like
    // `…/Rust_(language)` contain parentheses.
    let mut depth = 0_usize;
    let end = after
        .char_indices()
        .find_map(|(index, character)| match character {
            '(' => {
                depth += 1;
                None
            }
            ')' if depth == 0 => Some(index),
            ')' => {
                depth -= 1;
                None
            }
            _ => None,
        })?;
    let target = after[..end].trim();
    let target = target
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(target);
    if target.contains(char::is_whitespace) {
        return None;
    }
    let destination = link_destination(target)?;
    let _ = write!(out, "[{}]({destination})", inline(label, names));
    Some(close + 2 + end + 1)
}

/// A bare `http(s)://` link, shown as an autolink so its `_` and `*` are not taken as emphasis.
fn bare_url(rest: &str, out: &mut String) -> Option<usize> {
    let lower = rest
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let mut end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
        .unwrap_or(rest.len());
    // Trailing punctuation belongs to the sentence, and so does a ')' that opens nowhere.
    loop {
        let candidate = &rest[..end];
        let Some(last) = candidate.chars().next_back() else {
            break;
        };
        let unbalanced_paren =
            last == ')' && candidate.matches('(').count() < candidate.matches(')').count();
        if matches!(
            last,
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_' | '~' | '|'
        ) || unbalanced_paren
        {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    if end <= scheme {
        return None;
    }
    let destination = link_destination(&rest[..end])?;
    let _ = write!(out, "<{destination}>");
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut names = Names::new();
        names
            .insert_user(Id::new(111_111_111_111_111_111), "Alice_*")
            .insert_role(Id::new(222_222_222_222_222_222), "Staff")
            .insert_channel(Id::new(333_333_333_333_333_333), "general");
        names
    }

    fn render(text: &str) -> String {
        block(text, &names())
    }

    #[test]
    fn markup_characters_are_shown_literally() {
        assert_eq!(
            render("**bold** _it_ ~~s~~ ||spoiler|| [x]"),
            r"\*\*bold\*\* \_it\_ \~\~s\~\~ \|\|spoiler\|\| \[x\]"
        );
    }

    #[test]
    fn html_cannot_be_injected() {
        assert_eq!(
            render("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            render("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            render("&lt; stays &amp; literal & plain"),
            "&amp;lt; stays &amp;amp; literal & plain"
        );
    }

    #[test]
    fn block_markers_at_line_start_are_escaped() {
        assert_eq!(render("# not a heading"), r"\# not a heading");
        assert_eq!(
            render("- not a list\n+ nor this\n1. nor this"),
            "\\- not a list  \n\\+ nor this  \n1\\. nor this"
        );
        assert_eq!(render("> not a quote"), "&gt; not a quote");
        assert_eq!(render("text\n==="), "text  \n\\===");
        assert_eq!(render("    indented"), "&nbsp;&nbsp;&nbsp;&nbsp;indented");
    }

    #[test]
    fn lines_become_hard_breaks_and_blank_lines_paragraphs() {
        assert_eq!(render("one\ntwo\n\nthree"), "one  \ntwo\n\nthree");
        assert_eq!(render("a\r\nb"), "a  \nb");
    }

    #[test]
    fn code_blocks_are_kept_verbatim_with_their_language() {
        assert_eq!(
            render("look:\n```rust\nfn main() { let x = *y_<z>; }\n```\nnice"),
            "look:\n\n```rust\nfn main() { let x = *y_<z>; }\n```\n\nnice"
        );
        assert_eq!(render("```one line```"), "```\none line\n```");
    }

    #[test]
    fn unclosed_code_block_does_not_swallow_what_follows() {
        assert_eq!(render("```rust\nlet x = 1;"), "\\`\\`\\`rust  \nlet x = 1;");
    }

    #[test]
    fn code_containing_backtick_runs_gets_a_longer_fence() {
        assert_eq!(render("```md\n`` a ``\n```"), "```md\n`` a ``\n```");
        assert_eq!(code_block("\n````\n"), "`````\n````\n`````");
    }

    #[test]
    fn inline_code_is_kept() {
        assert_eq!(render("run `rm -rf *_x` now"), "run `rm -rf *_x` now");
        assert_eq!(render("``a ` b``"), "``a ` b``");
        assert_eq!(render("lonely ` tick"), "lonely \\` tick");
    }

    #[test]
    fn mentions_become_names() {
        assert_eq!(
            render(
                "<@111111111111111111> <@!111111111111111111> <@&222222222222222222> <#333333333333333333>"
            ),
            r"@Alice\_\* @Alice\_\* @Staff \#general"
        );
        assert_eq!(
            render("<@999999999999999999>"),
            "@unknown user (`999999999999999999`)"
        );
        assert_eq!(
            render("<#999999999999999999>"),
            "\\#unknown channel (`999999999999999999`)"
        );
    }

    #[test]
    fn discord_timestamps_become_iso_8601_utc() {
        assert_eq!(
            render("at <t:1700000000:R> or <t:1700000000>"),
            "at 2023-11-14T22:13:20Z or 2023-11-14T22:13:20Z"
        );
        assert_eq!(render("<t:abc:R>"), "&lt;t:abc:R&gt;");
    }

    #[test]
    fn emoji_and_commands_are_named() {
        assert_eq!(
            render("<:party_parrot:123456789012345678> <a:spin:123456789012345678>"),
            r":party\_parrot: :spin:"
        );
        assert_eq!(
            render("</ticket close:123456789012345678>"),
            "/ticket close"
        );
    }

    #[test]
    fn links_are_kept_and_not_mangled() {
        assert_eq!(
            render("see https://example.com/a_b*c?x=1&y=2."),
            "see <https://example.com/a_b*c?x=1&y=2>."
        );
        assert_eq!(
            render("(https://en.wikipedia.org/wiki/Rust_(language))"),
            "(<https://en.wikipedia.org/wiki/Rust_%28language%29>)"
        );
        assert_eq!(
            render("<https://example.com/x_y>"),
            "<https://example.com/x_y>"
        );
        assert_eq!(
            render("[the docs](https://docs.rs/a_b)"),
            "[the docs](https://docs.rs/a_b)"
        );
        assert_eq!(
            render("[guide](https://x.org/g_(v2))."),
            "[guide](https://x.org/g_%28v2%29)."
        );
        assert_eq!(
            render("[bad](javascript:alert(1))"),
            "\\[bad\\](javascript:alert(1))"
        );
        assert_eq!(render("xhttps://no"), "xhttps://no");
    }

    #[test]
    fn inline_flattens_lines() {
        assert_eq!(
            inline("# Title\nsecond *line*", &names()),
            r"# Title second \*line\*"
        );
    }

    #[test]
    fn blocks_are_paragraphs_and_code_apart() {
        assert_eq!(
            blocks("one\ntwo\n\n\nthree\n```\ncode\n\nmore\n```", &names()),
            ["one  \ntwo", "three", "```\ncode\n\nmore\n```"]
        );
        assert!(blocks(" \n\n", &names()).is_empty());
    }

    #[test]
    fn plain_line_start_cannot_start_a_block() {
        assert_eq!(plain_line_start("# x"), r"\# x");
        assert_eq!(plain_line_start("- x_"), r"\- x\_");
        assert_eq!(plain_line_start("12. x"), r"12\. x");
        assert_eq!(plain_line_start("  x"), "&nbsp;&nbsp;x");
    }

    #[test]
    fn plain_escapes_names() {
        assert_eq!(plain("<b>__x__</b>"), r"&lt;b&gt;\_\_x\_\_&lt;/b&gt;");
    }
}
