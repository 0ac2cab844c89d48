//! One message's body in the chat-log layout: its parts (markers, text, files, embeds, buttons)
//! and how they join. [`super::render`] groups the bodies into turns.
//!
//! Text parts that follow one another are joined by hard line breaks, so a message is a few
//! lines rather than a paragraph each; code blocks and embeds (block quotes) stand apart with
//! blank lines around them, as Markdown needs.

use std::fmt::Write;

use jiff::Timestamp;

use super::files::{FileList, format_size};
use super::markdown::{blocks, inline, link_destination, plain};
use super::model::{
    ComponentLabel, MessageKind, ReferencedMessage, TranscriptEmbed, TranscriptMessage,
};
use super::names::Names;
use super::system::{describe_system_message, is_event, shows_content};

/// A reply's excerpt of the message it answers, in characters: a hint, not a quote.
const REPLY_EXCERPT_CHARS: usize = 60;

/// One piece of a message body.
#[derive(Debug)]
struct Part {
    text: String,
    /// A code block or a block quote: blank lines around it, never a hard break.
    block: bool,
    /// May follow the previous text part after a hard break (not a new paragraph).
    joins: bool,
}

impl Part {
    fn is_quote(&self) -> bool {
        self.block && self.text.starts_with('>')
    }

    fn line(text: String) -> Self {
        Self {
            text,
            block: false,
            joins: true,
        }
    }

    fn paragraph(text: String) -> Self {
        Self {
            text,
            block: false,
            joins: false,
        }
    }

    fn block(text: String) -> Self {
        Self {
            text,
            block: true,
            joins: false,
        }
    }
}

/// A message rendered, not yet placed in its turn.
#[derive(Debug, Default)]
pub(super) struct Body {
    parts: Vec<Part>,
}

impl Body {
    /// The body's text when it is one line: such messages share a paragraph with their turn.
    pub(super) fn one_line(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [part] if !part.block && !part.text.contains('\n') => Some(&part.text),
            _ => None,
        }
    }

    /// Appends the body, its parts joined, with no trailing newline.
    pub(super) fn write(&self, out: &mut String) {
        let mut previous_block = true;
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                let hard_break = part.joins && !part.block && !previous_block;
                out.push_str(if hard_break { "  \n" } else { "\n\n" });
            }
            out.push_str(&part.text);
            previous_block = part.block;
        }
    }

    fn push_text(&mut self, text: &str, names: &Names) {
        for (index, block) in blocks(text, names).into_iter().enumerate() {
            self.parts.push(if block.starts_with('`') {
                Part::block(block)
            } else if index == 0 {
                Part::line(block)
            } else {
                Part::paragraph(block)
            });
        }
    }

    /// Whether the body ends with a block quote: a quote right after it would merge into it.
    pub(super) fn ends_with_quote(&self) -> bool {
        self.parts.last().is_some_and(Part::is_quote)
    }

    /// Adds an embed's quote; after another quote, a label line first keeps the two apart
    /// (showdown joins block quotes separated by a blank line alone).
    fn push_quote(&mut self, quote: String, after_quote: bool) {
        let follows_quote = match self.parts.last() {
            Some(part) => part.is_quote(),
            None => after_quote,
        };
        if follows_quote {
            self.parts.push(Part::line("*Embed:*".to_owned()));
        }
        self.parts.push(Part::block(quote));
    }

    /// Adds a marker at the end of the last text part, or as a line of its own.
    fn push_suffix(&mut self, suffix: &str) {
        match self.parts.last_mut() {
            Some(part) if !part.block => {
                part.text.push(' ');
                part.text.push_str(suffix);
            }
            _ => self.parts.push(Part::line(suffix.to_owned())),
        }
    }
}

/// Renders a message's body; `time` is how its send time is shown, for an event's line, and
/// `after_quote` says whether the text before it ends with a block quote.
pub(super) fn body<'a>(
    message: &'a TranscriptMessage,
    names: &Names,
    time: &str,
    after_quote: bool,
    files: &mut FileList<'a>,
) -> Body {
    let mut body = Body::default();
    let name = plain(&names.name_of(&message.author));
    if let Some(description) =
        describe_system_message(&message.kind, &name, &message.content, names)
    {
        body.parts.push(Part::line(if is_event(&message.kind) {
            format!("*{time} — {description}*")
        } else {
            format!("*{description}*")
        }));
    }
    if let Some(referenced) = &message.referenced {
        body.parts.push(Part::line(reply_marker(referenced, names)));
    }
    let has_content = !message.content.trim().is_empty() && shows_content(&message.kind);
    if has_content {
        body.push_text(&message.content, names);
    }
    let texts: Vec<&str> = message
        .components
        .iter()
        .filter_map(|component| match component {
            ComponentLabel::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    for text in &texts {
        body.push_text(text, names);
    }
    let is_empty = !has_content
        && texts.is_empty()
        && message.attachments.is_empty()
        && message.embeds.is_empty()
        && message.stickers.is_empty()
        && matches!(message.kind, MessageKind::Default | MessageKind::Reply);
    if is_empty {
        // Without the Message Content intent Discord sends empty content; say so instead of
        // leaving a silent gap.
        body.parts
            .push(Part::line("*(no text content)*".to_owned()));
    }
    if let Some(edited) = message.edited_timestamp {
        body.push_suffix(&format!(
            "*(edited {})*",
            edited_time(message.timestamp, edited)
        ));
    }
    for attachment in &message.attachments {
        let number = files.add(attachment);
        body.parts.push(Part::line(format!(
            "📎 {} ({}) — file {number}",
            plain(&attachment.filename),
            format_size(attachment.size)
        )));
    }
    for embed in &message.embeds {
        if let Some(quote) = embed_quote(embed, names) {
            body.push_quote(quote, after_quote);
        }
    }
    if !message.stickers.is_empty() {
        let stickers: Vec<String> = message.stickers.iter().map(|s| plain(s)).collect();
        let label = if stickers.len() == 1 {
            "Sticker"
        } else {
            "Stickers"
        };
        body.parts
            .push(Part::line(format!("*{label}:* {}", stickers.join(", "))));
    }
    if let Some(controls) = controls(&message.components) {
        body.parts.push(Part::line(controls));
    }
    body
}

/// An edit time as short as the reader can place it: the time alone on the day it was sent.
fn edited_time(sent: Timestamp, edited: Timestamp) -> String {
    if sent.strftime("%F").to_string() == edited.strftime("%F").to_string() {
        edited.strftime("%H:%M").to_string()
    } else {
        edited.strftime("%F %H:%M").to_string()
    }
}

fn reply_marker(referenced: &ReferencedMessage, names: &Names) -> String {
    match referenced {
        ReferencedMessage::Found {
            author, excerpt, ..
        } => {
            let who = plain(&names.name_of(author));
            let excerpt = shorten(excerpt.trim(), REPLY_EXCERPT_CHARS);
            if excerpt.is_empty() {
                format!("↪ *replying to {who}*")
            } else {
                format!("↪ *replying to {who}: {}*", inline(&excerpt, names))
            }
        }
        ReferencedMessage::Unavailable { id: Some(id) } => {
            format!("↪ *replying to message `{id}`, which was deleted*")
        }
        ReferencedMessage::Unavailable { id: None } => {
            "↪ *replying to a message that was deleted*".to_owned()
        }
    }
}

/// The first `max` characters of `text`, cut after a whole word when one ends near the limit.
fn shorten(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = match head.rfind(' ') {
        Some(space) if space > cut / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end_matches(['…', ' ']))
}

fn link_or_text(label: &str, url: &str) -> String {
    match link_destination(url) {
        Some(destination) => format!("[{label}]({destination})"),
        None => label.to_owned(),
    }
}

/// An embed as one block quote: its short items on lines of their own, its code blocks and
/// paragraphs set apart.
fn embed_quote(embed: &TranscriptEmbed, names: &Names) -> Option<String> {
    let mut body = Body::default();
    match (&embed.title, &embed.url) {
        (Some(title), Some(url)) => body.parts.push(Part::line(format!(
            "**{}**",
            link_or_text(&inline(title, names), url)
        ))),
        (Some(title), None) => body
            .parts
            .push(Part::line(format!("**{}**", inline(title, names)))),
        (None, Some(url)) => body.parts.push(Part::line(link_or_text(&plain(url), url))),
        (None, None) => {}
    }
    if let Some(author) = &embed.author {
        body.parts.push(Part::line(format!("*{}*", plain(author))));
    }
    if let Some(description) = embed
        .description
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        body.push_text(description, names);
    }
    for field in &embed.fields {
        let label = format!("**{}:**", inline(&field.name, names));
        let value = blocks(&field.value, names);
        match value.as_slice() {
            [line] if !line.contains('\n') && !line.starts_with('`') => {
                body.parts.push(Part::line(format!("{label} {line}")));
            }
            _ => {
                body.parts.push(Part::line(label));
                body.push_text(&field.value, names);
            }
        }
    }
    if let Some(image) = &embed.image {
        body.parts.push(Part::line(format!(
            "Image: {}",
            link_or_text(&plain(image), image)
        )));
    }
    if let Some(footer) = &embed.footer {
        body.parts
            .push(Part::line(format!("*{}*", inline(footer, names))));
    }
    if body.parts.is_empty() {
        return None;
    }
    let mut text = String::new();
    body.write(&mut text);
    let mut quote = String::with_capacity(text.len() + text.len() / 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            quote.push('\n');
        }
        if line.is_empty() {
            quote.push('>');
        } else {
            let _ = write!(quote, "> {line}");
        }
    }
    Some(quote)
}

fn controls(components: &[ComponentLabel]) -> Option<String> {
    let mut buttons = false;
    let mut menus = false;
    let labels: Vec<String> = components
        .iter()
        .filter_map(|component| match component {
            ComponentLabel::Button(label) => {
                buttons = true;
                Some(format!("“{}”", plain(label)))
            }
            ComponentLabel::LinkButton { label, url } => {
                buttons = true;
                Some(link_or_text(&plain(label), url))
            }
            ComponentLabel::Select(placeholder) => {
                menus = true;
                Some(format!("menu “{}”", plain(placeholder)))
            }
            ComponentLabel::Text(_) => None,
        })
        .collect();
    let label = match (buttons, menus) {
        (true, true) => "Buttons and menus",
        (false, true) => "Menus",
        _ => "Buttons",
    };
    (!labels.is_empty()).then(|| format!("*{label}:* {}", labels.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_after_a_word() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four", 10), "one two…");
        assert_eq!(shorten("abcdefghijklmnop", 10), "abcdefghij…");
        assert_eq!(shorten("日本語テキスト", 3), "日本語…");
    }

    #[test]
    fn an_edit_on_the_day_of_sending_shows_its_time_alone() {
        let sent = Timestamp::from_second(1_714_564_800).expect("valid");
        let same_day = Timestamp::from_second(1_714_564_800 + 125).expect("valid");
        let next_day = Timestamp::from_second(1_714_564_800 + 86_400).expect("valid");
        assert_eq!(edited_time(sent, same_day), "12:02");
        assert_eq!(edited_time(sent, next_day), "2024-05-02 12:00");
    }

    #[test]
    fn text_parts_join_with_hard_breaks_and_blocks_stand_apart() {
        let mut body = Body::default();
        body.push_text("one\n\ntwo\n```\ncode\n```\nthree", &Names::new());
        body.push_suffix("*(edited)*");
        body.parts.push(Part::line("📎 x".to_owned()));
        let mut out = String::new();
        body.write(&mut out);
        assert_eq!(
            out,
            "one\n\ntwo\n\n```\ncode\n```\n\nthree *(edited)*  \n📎 x"
        );
        assert!(body.one_line().is_none());
    }

    #[test]
    fn a_quote_after_a_quote_gets_a_label_to_stay_apart() {
        let mut body = Body::default();
        body.push_quote("> one".to_owned(), true);
        body.push_quote("> two".to_owned(), false);
        let mut out = String::new();
        body.write(&mut out);
        assert_eq!(out, "*Embed:*\n\n> one\n\n*Embed:*\n\n> two");
        assert!(body.ends_with_quote());
    }
}
