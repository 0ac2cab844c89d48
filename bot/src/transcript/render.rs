//! The transcript as Markdown, laid out like a chat log: a header with the ticket's facts, then
//! the conversation oldest first in turns, then the files section ([`super::files`]).
//!
//! A turn is what one author wrote in a row: one line with their name and the time, then each
//! message on its own line (a message of several lines, code or embeds in blocks of its own). A
//! date heading starts each UTC day, so the times in turn lines are never ambiguous. System
//! events (a pin, a join) are one italic line each and end the turn around them.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use super::files::FileList;
use super::markdown::{format_timestamp, inline, plain};
use super::message::body;
use super::model::{TranscriptMessage, TranscriptTicket, TranscriptUser};
use super::names::Names;
use super::system::{is_event, user_label};

/// The longest pause between two messages of one author that still keeps them in one turn.
pub const TURN_GAP: SignedDuration = SignedDuration::from_mins(7);

/// Renders a ticket's transcript as Markdown for PrivateBin's markdown formatter.
///
/// Messages are sorted oldest first by id, whatever order they come in (Discord pages history
/// newest first). Pure: no IO, the same input always gives the same text.
pub fn render_markdown(
    ticket: &TranscriptTicket,
    messages: &[TranscriptMessage],
    names: &Names,
) -> String {
    let mut ordered: Vec<&TranscriptMessage> = messages.iter().collect();
    ordered.sort_by_key(|message| message.id);
    // About 120 bytes per rendered message; reserving avoids regrowing a multi-megabyte string.
    let mut out = String::with_capacity(1024 + messages.len() * 160);
    write_header(ticket, &ordered, names, &mut out);
    let mut log = Log {
        shared: shared_names(&ordered, names),
        names,
        out,
        files: FileList::default(),
        day: None,
        turn: None,
        after_quote: false,
    };
    for message in ordered {
        log.push(message);
    }
    let mut out = log.out;
    log.files.write_section(&mut out);
    out.push('\n');
    out
}

/// The conversation being written, and where in it the writing is.
struct Log<'a, 'n> {
    names: &'n Names,
    shared: HashSet<String>,
    out: String,
    files: FileList<'a>,
    /// The UTC day of the latest date heading.
    day: Option<Date>,
    /// The turn a next message may continue; none after an event or a date heading.
    turn: Option<Turn>,
    /// Whether the text so far ends with a block quote (see [`super::message::body`]).
    after_quote: bool,
}

impl<'a> Log<'a, '_> {
    fn push(&mut self, message: &'a TranscriptMessage) {
        let date = utc_date(message.timestamp);
        if self.day != Some(date) {
            let _ = write!(self.out, "\n\n### {date}");
            self.day = Some(date);
            self.turn = None;
            self.after_quote = false;
        }
        let time = message.timestamp.strftime("%H:%M").to_string();
        if is_event(&message.kind) {
            self.turn = None;
        } else {
            let key = TurnKey::of(message, self.names);
            let continues = self.turn.as_ref().is_some_and(|turn| {
                turn.key == key && message.timestamp.duration_since(turn.last) <= TURN_GAP
            });
            if !continues {
                self.out.push_str("\n\n");
                write_turn_line(message, self.names, &self.shared, &time, &mut self.out);
                self.after_quote = false;
                self.turn = Some(Turn {
                    key,
                    last: message.timestamp,
                    line_open: true,
                });
            }
        }
        let rendered = body(
            message,
            self.names,
            &time,
            self.after_quote,
            &mut self.files,
        );
        self.after_quote = rendered.ends_with_quote();
        let one_line = rendered.one_line();
        match (self.turn.as_mut(), one_line) {
            (Some(turn), Some(line)) => {
                self.out
                    .push_str(if turn.line_open { "  \n" } else { "\n\n" });
                self.out.push_str(line);
                turn.line_open = true;
                turn.last = message.timestamp;
            }
            (turn, _) => {
                self.out.push_str("\n\n");
                rendered.write(&mut self.out);
                if let Some(turn) = turn {
                    turn.line_open = false;
                    turn.last = message.timestamp;
                }
            }
        }
    }
}

/// What makes two messages one author's: the account, and for a webhook the name it posted under.
#[derive(Debug, PartialEq, Eq)]
struct TurnKey {
    author: Id<UserMarker>,
    webhook: Option<String>,
}

impl TurnKey {
    fn of(message: &TranscriptMessage, names: &Names) -> Self {
        Self {
            author: message.author.id,
            webhook: message.webhook.then(|| names.name_of(&message.author)),
        }
    }
}

/// The turn being written.
#[derive(Debug)]
struct Turn {
    key: TurnKey,
    /// When its latest message was sent.
    last: Timestamp,
    /// Whether its last line may be followed by a hard break: a one-line message may join it.
    line_open: bool,
}

fn utc_date(timestamp: Timestamp) -> Date {
    timestamp.to_zoned(TimeZone::UTC).date()
}

/// Names that more than one author goes by: their turn lines add the id, as the header does.
fn shared_names(messages: &[&TranscriptMessage], names: &Names) -> HashSet<String> {
    let mut ids: HashMap<String, HashSet<Id<UserMarker>>> = HashMap::new();
    let mut seen: HashSet<(Id<UserMarker>, &str)> = HashSet::new();
    // Once per author and name they wrote under: naming allocates, and a transcript has
    // thousands of messages.
    for message in messages
        .iter()
        .filter(|message| seen.insert((message.author.id, &message.author.display_name)))
    {
        ids.entry(names.name_of(&message.author))
            .or_default()
            .insert(message.author.id);
    }
    ids.into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, _)| name)
        .collect()
}

/// A turn's line, e.g. `**Alice** · 12:03`; starting with `**`, which escaped text never does.
fn write_turn_line(
    message: &TranscriptMessage,
    names: &Names,
    shared: &HashSet<String>,
    time: &str,
    out: &mut String,
) {
    let name = names.name_of(&message.author);
    let _ = write!(out, "**{}**", plain(&name));
    if message.webhook {
        out.push_str(" (webhook)");
    } else if message.author.bot {
        out.push_str(" (bot)");
    }
    if shared.contains(&name) {
        let _ = write!(out, " (`{}`)", message.author.id);
    }
    let _ = write!(out, " · {time}");
}

fn write_header(
    ticket: &TranscriptTicket,
    messages: &[&TranscriptMessage],
    names: &Names,
    out: &mut String,
) {
    let _ = writeln!(
        out,
        "# Ticket #{} — {}\n",
        ticket.number,
        plain(&ticket.category)
    );
    let guild = match &ticket.guild_name {
        Some(name) => format!("{} (`{}`)", plain(name), ticket.guild_id),
        None => format!("`{}`", ticket.guild_id),
    };
    let _ = writeln!(out, "- **Server:** {guild}");
    let _ = writeln!(
        out,
        "- **Opened by:** {} at {}",
        user_label(&ticket.opened_by, names),
        format_timestamp(ticket.opened_at)
    );
    match (&ticket.closed_by, ticket.closed_at) {
        (Some(user), Some(at)) => {
            let _ = writeln!(
                out,
                "- **Closed by:** {} at {}",
                user_label(user, names),
                format_timestamp(at)
            );
        }
        (Some(user), None) => {
            let _ = writeln!(out, "- **Closed by:** {}", user_label(user, names));
        }
        (None, Some(at)) => {
            let _ = writeln!(out, "- **Closed at:** {}", format_timestamp(at));
        }
        (None, None) => {}
    }
    if let Some(reason) = ticket
        .close_reason
        .as_deref()
        .filter(|reason| !reason.trim().is_empty())
    {
        let _ = writeln!(out, "- **Close reason:** {}", inline(reason, &Names::new()));
    }
    if !ticket.added.is_empty() {
        let added: Vec<String> = ticket
            .added
            .iter()
            .map(|user| user_label(user, names))
            .collect();
        let _ = writeln!(out, "- **Added to the ticket:** {}", added.join(", "));
    }
    let _ = writeln!(out, "- **Messages:** {}", messages.len());
    let _ = writeln!(out, "- **Participants:** {}", participants(messages, names));
    out.push_str("\nAll times are UTC.\n\n---");
}

fn participants(messages: &[&TranscriptMessage], names: &Names) -> String {
    let mut order: Vec<&TranscriptUser> = Vec::new();
    let mut counts: HashMap<Id<UserMarker>, usize> = HashMap::new();
    for message in messages {
        let count = counts.entry(message.author.id).or_insert(0);
        if *count == 0 {
            order.push(&message.author);
        }
        *count += 1;
    }
    if order.is_empty() {
        return "none".to_owned();
    }
    order
        .iter()
        .map(|user| {
            let count = counts.get(&user.id).copied().unwrap_or_default();
            let noun = if count == 1 { "message" } else { "messages" };
            format!("{} — {count} {noun}", user_label(user, names))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    #[test]
    fn timestamps_are_iso_8601_utc_with_seconds() {
        let timestamp = Timestamp::from_second(1_714_564_800).unwrap();
        assert_eq!(format_timestamp(timestamp), "2024-05-01T12:00:00Z");
        let with_fraction = Timestamp::from_microsecond(1_714_564_800_123_456).unwrap();
        assert_eq!(format_timestamp(with_fraction), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn dates_are_utc_days() {
        let late = Timestamp::from_second(1_714_607_999).unwrap();
        assert_eq!(utc_date(late).to_string(), "2024-05-01");
        let next = Timestamp::from_second(1_714_608_000).unwrap();
        assert_eq!(utc_date(next).to_string(), "2024-05-02");
    }
}
