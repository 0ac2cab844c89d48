//! System messages in words: what a pin, a join or a command's answer says in the transcript,
//! and how users are labelled with their ids there and in the header.

use super::markdown::{inline, plain};
use super::model::{MessageKind, TranscriptUser};
use super::names::Names;

/// System messages that are an event rather than something someone said: a line of their own
/// that ends the turn around it.
pub(super) fn is_event(kind: &MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::PinAdded { .. }
            | MessageKind::MemberJoin
            | MessageKind::ThreadCreated
            | MessageKind::RecipientAdded { .. }
            | MessageKind::RecipientRemoved { .. }
            | MessageKind::ChannelNameChanged
            | MessageKind::ServerBoost { .. }
            | MessageKind::Other(_)
    )
}

/// System messages whose content is part of the description rather than a message body.
pub(super) fn shows_content(kind: &MessageKind) -> bool {
    !matches!(
        kind,
        MessageKind::ThreadCreated | MessageKind::ChannelNameChanged | MessageKind::PinAdded { .. }
    )
}

/// A user with their id, e.g. ``Alice (alice_92) (`123`)``; the name follows [`Names`]' rule.
pub(super) fn user_label(user: &TranscriptUser, names: &Names) -> String {
    labelled(&names.name_of(user), user)
}

fn labelled(name: &str, user: &TranscriptUser) -> String {
    let bot = if user.bot { "bot, " } else { "" };
    format!("{} ({bot}`{}`)", plain(name), user.id)
}

pub(super) fn describe_system_message(
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
