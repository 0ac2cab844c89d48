//! Our transcript model from twilight's `Message`, as Discord's REST history returns it.

use jiff::Timestamp;
use twilight_model::channel::message::component::Component;
use twilight_model::channel::message::{Message, MessageType};

use super::model::{
    AttachmentCopy, ComponentLabel, MessageKind, ReferencedMessage, TranscriptAttachment,
    TranscriptEmbed, TranscriptEmbedField, TranscriptMessage, TranscriptUser,
};
use super::names::display_name;

/// Longest excerpt of a replied-to message shown above a reply, in characters.
const REPLY_EXCERPT_CHARS: usize = 100;

/// Converts a twilight timestamp; Discord's timestamps are always within jiff's range.
pub fn timestamp_from_twilight(timestamp: twilight_model::util::Timestamp) -> Timestamp {
    Timestamp::from_microsecond(timestamp.as_micros()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn transcript_user(message: &Message) -> TranscriptUser {
    let nick = message
        .member
        .as_ref()
        .and_then(|member| member.nick.as_deref());
    let author = &message.author;
    TranscriptUser {
        id: author.id,
        display_name: display_name(nick, author.global_name.as_deref(), &author.name).to_owned(),
        bot: author.bot,
    }
}

fn mentioned_user(message: &Message) -> Option<TranscriptUser> {
    message.mentions.first().map(|mention| {
        let nick = mention
            .member
            .as_ref()
            .and_then(|member| member.nick.as_deref());
        TranscriptUser {
            id: mention.id,
            display_name: nick.unwrap_or(&mention.name).to_owned(),
            bot: mention.bot,
        }
    })
}

fn command_name(message: &Message) -> Option<String> {
    #[allow(deprecated)]
    message
        .interaction
        .as_ref()
        .map(|interaction| interaction.name.clone())
}

fn message_kind(message: &Message) -> MessageKind {
    match message.kind {
        MessageType::Regular => MessageKind::Default,
        MessageType::Reply => MessageKind::Reply,
        MessageType::ChannelMessagePinned => MessageKind::PinAdded {
            message: message
                .reference
                .as_ref()
                .and_then(|reference| reference.message_id),
        },
        MessageType::UserJoin => MessageKind::MemberJoin,
        MessageType::ThreadCreated => MessageKind::ThreadCreated,
        MessageType::ThreadStarterMessage => MessageKind::ThreadStarter,
        MessageType::RecipientAdd => MessageKind::RecipientAdded {
            user: mentioned_user(message),
        },
        MessageType::RecipientRemove => MessageKind::RecipientRemoved {
            user: mentioned_user(message),
        },
        MessageType::ChannelNameChange => MessageKind::ChannelNameChanged,
        MessageType::GuildBoost => MessageKind::ServerBoost { level: None },
        MessageType::GuildBoostTier1 => MessageKind::ServerBoost { level: Some(1) },
        MessageType::GuildBoostTier2 => MessageKind::ServerBoost { level: Some(2) },
        MessageType::GuildBoostTier3 => MessageKind::ServerBoost { level: Some(3) },
        MessageType::ChatInputCommand => MessageKind::SlashCommand {
            name: command_name(message),
        },
        MessageType::ContextMenuCommand => MessageKind::ContextMenuCommand {
            name: command_name(message),
        },
        MessageType::AutoModerationAction => MessageKind::AutoModerationAction,
        MessageType::PollResult => MessageKind::PollResult,
        other => MessageKind::Other(u8::from(other)),
    }
}

fn excerpt(content: &str) -> String {
    let flattened: String = content.split_whitespace().collect::<Vec<_>>().join(" ");
    match flattened.char_indices().nth(REPLY_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &flattened[..cut]),
        None => flattened,
    }
}

fn referenced(message: &Message) -> Option<ReferencedMessage> {
    if let Some(replied) = &message.referenced_message {
        return Some(ReferencedMessage::Found {
            id: replied.id,
            author: transcript_user(replied),
            excerpt: excerpt(&replied.content),
        });
    }
    // Only replies point at a message people expect to see; pins and follows also carry a
    // reference, described by their kind instead.
    (message.kind == MessageType::Reply).then(|| ReferencedMessage::Unavailable {
        id: message
            .reference
            .as_ref()
            .and_then(|reference| reference.message_id),
    })
}

fn collect_components(components: &[Component], labels: &mut Vec<ComponentLabel>) {
    for component in components {
        match component {
            Component::ActionRow(row) => collect_components(&row.components, labels),
            Component::Container(container) => collect_components(&container.components, labels),
            Component::Section(section) => {
                collect_components(&section.components, labels);
                collect_components(std::slice::from_ref(section.accessory.as_ref()), labels);
            }
            Component::Button(button) => {
                let label = button.label.clone().or_else(|| {
                    button.emoji.as_ref().map(|emoji| match emoji {
                        twilight_model::channel::message::EmojiReactionType::Custom {
                            name,
                            ..
                        } => name.clone().unwrap_or_default(),
                        twilight_model::channel::message::EmojiReactionType::Unicode { name } => {
                            name.clone()
                        }
                    })
                });
                let label = label.unwrap_or_else(|| "(unlabelled)".to_owned());
                labels.push(match &button.url {
                    Some(url) => ComponentLabel::LinkButton {
                        label,
                        url: url.clone(),
                    },
                    None => ComponentLabel::Button(label),
                });
            }
            Component::SelectMenu(menu) => labels.push(ComponentLabel::Select(
                menu.placeholder
                    .clone()
                    .unwrap_or_else(|| "(select menu)".to_owned()),
            )),
            Component::TextDisplay(text) => labels.push(ComponentLabel::Text(text.content.clone())),
            _ => {}
        }
    }
}

impl From<&Message> for TranscriptMessage {
    fn from(message: &Message) -> Self {
        let mut components = Vec::new();
        collect_components(&message.components, &mut components);
        Self {
            id: message.id,
            author: transcript_user(message),
            webhook: message.webhook_id.is_some(),
            timestamp: timestamp_from_twilight(message.timestamp),
            edited_timestamp: message.edited_timestamp.map(timestamp_from_twilight),
            content: message.content.clone(),
            kind: message_kind(message),
            referenced: referenced(message),
            attachments: message
                .attachments
                .iter()
                .map(|attachment| TranscriptAttachment {
                    filename: attachment.filename.clone(),
                    size: attachment.size,
                    url: attachment.url.clone(),
                    content_type: attachment.content_type.clone(),
                    description: attachment.description.clone(),
                    copy: AttachmentCopy::NotKept,
                })
                .collect(),
            embeds: message
                .embeds
                .iter()
                .map(|embed| TranscriptEmbed {
                    title: embed.title.clone(),
                    url: embed.url.clone(),
                    author: embed.author.as_ref().map(|author| author.name.clone()),
                    description: embed.description.clone(),
                    fields: embed
                        .fields
                        .iter()
                        .map(|field| TranscriptEmbedField {
                            name: field.name.clone(),
                            value: field.value.clone(),
                        })
                        .collect(),
                    footer: embed.footer.as_ref().map(|footer| footer.text.clone()),
                    image: embed.image.as_ref().map(|image| image.url.clone()),
                })
                .collect(),
            stickers: message
                .sticker_items
                .iter()
                .map(|sticker| sticker.name.clone())
                .collect(),
            components,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_flattens_lines_and_shortens_long_text() {
        assert_eq!(excerpt("one\ntwo   three"), "one two three");
        let long = "é".repeat(150);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), REPLY_EXCERPT_CHARS + 1);
        assert!(short.ends_with('…'));
    }
}
