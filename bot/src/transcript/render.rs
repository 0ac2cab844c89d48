//! The transcript as Markdown: a header with the ticket's facts, then every message oldest first.

use std::collections::HashMap;
use std::fmt::Write;

use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use super::markdown::{block, format_timestamp, inline, link_destination, plain};
use super::model::{
    ComponentLabel, MessageKind, ReferencedMessage, TranscriptAttachment, TranscriptEmbed,
    TranscriptMessage, TranscriptTicket, TranscriptUser,
};
use super::names::Names;

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
    // About 300 bytes per rendered message; reserving avoids regrowing a multi-megabyte string.
    let mut out = String::with_capacity(1024 + messages.len() * 320);
    write_header(ticket, &ordered, names, &mut out);
    for message in ordered {
        write_message(message, names, &mut out);
    }
    out
}

/// A user with their id, e.g. ``Alice (alice_92) (`123`)``; the name follows the module's rule.
fn user_label(user: &TranscriptUser, names: &Names) -> String {
    labelled(&names.name_of(user), user)
}

fn labelled(name: &str, user: &TranscriptUser) -> String {
    let bot = if user.bot { "bot, " } else { "" };
    format!("{} ({bot}`{}`)", plain(name), user.id)
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
    let _ = writeln!(out, "- **Category:** {}", plain(&ticket.category));
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
    let _ = writeln!(out, "- **Messages:** {}", messages.len());
    let _ = writeln!(out, "- **Participants:** {}", participants(messages, names));
    out.push_str("\nAll times are UTC.\n\n---\n");
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

fn write_message(message: &TranscriptMessage, names: &Names, out: &mut String) {
    let webhook = if message.webhook { " via webhook" } else { "" };
    let _ = writeln!(
        out,
        "\n#### {}{webhook} — {}\n",
        user_label(&message.author, names),
        format_timestamp(message.timestamp)
    );
    let name = plain(&names.name_of(&message.author));
    if let Some(description) =
        describe_system_message(&message.kind, &name, &message.content, names)
    {
        let _ = writeln!(out, "*{description}*\n");
    }
    if let Some(referenced) = &message.referenced {
        write_reference(referenced, names, out);
    }
    let has_content = !message.content.trim().is_empty() && shows_content(&message.kind);
    if has_content {
        out.push_str(&block(&message.content, names));
        out.push_str("\n\n");
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
        out.push_str(&block(text, names));
        out.push_str("\n\n");
    }
    if let Some(edited) = message.edited_timestamp {
        let _ = writeln!(out, "*(edited {})*\n", format_timestamp(edited));
    }
    write_attachments(&message.attachments, out);
    for embed in &message.embeds {
        write_embed(embed, names, out);
    }
    if !message.stickers.is_empty() {
        let stickers: Vec<String> = message
            .stickers
            .iter()
            .map(|sticker| plain(sticker))
            .collect();
        let _ = writeln!(out, "**Stickers:** {}\n", stickers.join(", "));
    }
    write_controls(&message.components, out);
    let is_empty = !has_content
        && texts.is_empty()
        && message.attachments.is_empty()
        && message.embeds.is_empty()
        && message.stickers.is_empty()
        && matches!(message.kind, MessageKind::Default | MessageKind::Reply);
    if is_empty {
        // Without the Message Content intent Discord sends empty content; say so instead of
        // leaving a silent gap.
        out.push_str("*(no text content)*\n\n");
    }
    // Every message ends with exactly one blank line.
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// System messages whose content is part of the description rather than a message body.
fn shows_content(kind: &MessageKind) -> bool {
    !matches!(
        kind,
        MessageKind::ThreadCreated | MessageKind::ChannelNameChanged | MessageKind::PinAdded { .. }
    )
}

fn describe_system_message(
    kind: &MessageKind,
    name: &str,
    content: &str,
    names: &Names,
) -> Option<String> {
    let target = |user: &Option<TranscriptUser>| {
        user.as_ref().map_or_else(
            || "someone".to_owned(),
            // The added user's names come from a mention, which [`Names`] may know better.
            |user| match names.mention(user.id) {
                Some(name) => labelled(&name, user),
                None => user_label(user, names),
            },
        )
    };
    Some(match kind {
        MessageKind::Default | MessageKind::Reply => return None,
        MessageKind::PinAdded { message: Some(id) } => {
            format!("{name} pinned message `{id}` to this channel.")
        }
        MessageKind::PinAdded { message: None } => {
            format!("{name} pinned a message to this channel.")
        }
        MessageKind::MemberJoin => format!("{name} joined the server."),
        MessageKind::ThreadCreated => {
            format!("{name} started a thread: {}", inline(content, names))
        }
        MessageKind::ThreadStarter => "The message this thread started from:".to_owned(),
        MessageKind::RecipientAdded { user } => {
            format!("{name} added {} to the conversation.", target(user))
        }
        MessageKind::RecipientRemoved { user } => {
            format!("{name} removed {} from the conversation.", target(user))
        }
        MessageKind::ChannelNameChanged => {
            format!("{name} renamed the channel to {}.", inline(content, names))
        }
        MessageKind::ServerBoost { level: Some(level) } => {
            format!("{name} boosted the server; it reached level {level}.")
        }
        MessageKind::ServerBoost { level: None } => format!("{name} boosted the server."),
        MessageKind::SlashCommand {
            name: Some(command),
        } => format!("Answer to /{}:", plain(command)),
        MessageKind::ContextMenuCommand {
            name: Some(command),
        } => {
            format!("Answer to the app command “{}”:", plain(command))
        }
        MessageKind::SlashCommand { name: None }
        | MessageKind::ContextMenuCommand { name: None } => "Answer to an app command:".to_owned(),
        MessageKind::AutoModerationAction => "AutoMod acted on a message:".to_owned(),
        MessageKind::PollResult => "A poll has ended:".to_owned(),
        MessageKind::Other(kind) => format!("System message (Discord type {kind})."),
    })
}

fn write_reference(referenced: &ReferencedMessage, names: &Names, out: &mut String) {
    match referenced {
        ReferencedMessage::Found {
            id,
            author,
            excerpt,
        } => {
            let excerpt = if excerpt.trim().is_empty() {
                "*(no text)*".to_owned()
            } else {
                inline(excerpt, names)
            };
            let _ = writeln!(
                out,
                "> ↪ Reply to {} (message `{id}`): {excerpt}\n",
                user_label(author, names)
            );
        }
        ReferencedMessage::Unavailable { id: Some(id) } => {
            let _ = writeln!(out, "> ↪ Reply to message `{id}`, which was deleted.\n");
        }
        ReferencedMessage::Unavailable { id: None } => {
            out.push_str("> ↪ Reply to a message that was deleted.\n\n");
        }
    }
}

/// Sizes in binary units, as Discord shows them.
fn format_size(bytes: u64) -> String {
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

fn link_or_text(label: &str, url: &str) -> String {
    match link_destination(url) {
        Some(destination) => format!("[{label}]({destination})"),
        None => label.to_owned(),
    }
}

fn write_attachments(attachments: &[TranscriptAttachment], out: &mut String) {
    if attachments.is_empty() {
        return;
    }
    out.push_str("**Attachments:**\n\n");
    for attachment in attachments {
        let name = plain(&attachment.filename);
        let _ = write!(
            out,
            "- {} — {}",
            link_or_text(&name, &attachment.url),
            format_size(attachment.size)
        );
        if let Some(content_type) = &attachment.content_type {
            let _ = write!(out, ", {}", plain(content_type));
        }
        if let Some(description) = attachment
            .description
            .as_deref()
            .filter(|text| !text.trim().is_empty())
        {
            let _ = write!(out, " — “{}”", plain(description));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn write_embed(embed: &TranscriptEmbed, names: &Names, out: &mut String) {
    let mut lines: Vec<String> = Vec::new();
    match (&embed.title, &embed.url) {
        (Some(title), Some(url)) => {
            lines.push(format!("**{}**", link_or_text(&inline(title, names), url)));
        }
        (Some(title), None) => lines.push(format!("**{}**", inline(title, names))),
        (None, Some(url)) => lines.push(link_or_text(&plain(url), url)),
        (None, None) => {}
    }
    if let Some(author) = &embed.author {
        lines.push(format!("*{}*", plain(author)));
    }
    if let Some(description) = embed
        .description
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        lines.push(block(description, names));
    }
    for field in &embed.fields {
        lines.push(format!("**{}**", inline(&field.name, names)));
        lines.push(block(&field.value, names));
    }
    if let Some(image) = &embed.image {
        lines.push(format!("Image: {}", link_or_text(&plain(image), image)));
    }
    if let Some(footer) = &embed.footer {
        lines.push(format!("*{}*", inline(footer, names)));
    }
    if lines.is_empty() {
        return;
    }
    out.push_str("**Embed:**\n\n");
    // Each item is its own paragraph inside one block quote.
    for (index, item) in lines.iter().enumerate() {
        if index > 0 {
            out.push_str(">\n");
        }
        for line in item.split('\n') {
            if line.is_empty() {
                out.push_str(">\n");
            } else {
                let _ = writeln!(out, "> {line}");
            }
        }
    }
    out.push('\n');
}

fn write_controls(components: &[ComponentLabel], out: &mut String) {
    let controls: Vec<String> = components
        .iter()
        .filter_map(|component| match component {
            ComponentLabel::Button(label) => Some(format!("“{}”", plain(label))),
            ComponentLabel::LinkButton { label, url } => Some(link_or_text(&plain(label), url)),
            ComponentLabel::Select(placeholder) => Some(format!("menu “{}”", plain(placeholder))),
            ComponentLabel::Text(_) => None,
        })
        .collect();
    if !controls.is_empty() {
        let _ = writeln!(out, "**Buttons and menus:** {}\n", controls.join(", "));
    }
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
    fn sizes_use_binary_units_with_one_decimal() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1023), "1023 bytes");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(12_595), "12.2 KiB");
        assert_eq!(format_size(25 * 1024 * 1024), "25.0 MiB");
        assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
