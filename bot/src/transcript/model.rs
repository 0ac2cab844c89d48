//! The transcript's input: our own model of a ticket and its messages, independent of where the
//! messages come from (Discord's REST history, the database), plus names for mentions.
//!
//! # How users are named
//! One rule for message headings, the header's people and `<@id>` mentions: the display name
//! (server nickname, else global display name, else username), followed by the username in
//! parentheses where the two differ — `Alice (alice_92)`; a user whose display name is the
//! username is just `alice_92`. Headings use the display name the message was sent with; mentions
//! use what [`Names`] learned. Mentioned users who never wrote are named from the mention itself,
//! which lacks the global display name, so [`Names::incomplete_users`] lists them for a member
//! lookup.

use std::collections::HashMap;

use jiff::Timestamp;
use twilight_model::channel::message::component::Component;
use twilight_model::channel::message::{Message, MessageType};
use twilight_model::guild::Member;
use twilight_model::id::Id;
use twilight_model::id::marker::{
    ChannelMarker, GuildMarker, MessageMarker, RoleMarker, UserMarker,
};
use twilight_model::user::User;

/// Longest excerpt of a replied-to message shown above a reply, in characters.
const REPLY_EXCERPT_CHARS: usize = 100;

/// Someone who appears in a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptUser {
    /// The Discord user id.
    pub id: Id<UserMarker>,
    /// The name shown: server nickname, else global display name, else username.
    pub display_name: String,
    /// Whether the account is a bot.
    pub bot: bool,
}

/// The facts about a ticket shown in the transcript's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptTicket {
    /// The ticket's number within its category.
    pub number: u64,
    /// The category's display name.
    pub category: String,
    /// The guild's id.
    pub guild_id: Id<GuildMarker>,
    /// The guild's name, when known.
    pub guild_name: Option<String>,
    /// Who opened the ticket.
    pub opened_by: TranscriptUser,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// Who closed it, when known (a channel deleted by hand has no closer).
    pub closed_by: Option<TranscriptUser>,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// Why, if a reason was given.
    pub close_reason: Option<String>,
}

/// What kind of message this is; system messages are described in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An ordinary message.
    Default,
    /// An inline reply (see [`TranscriptMessage::referenced`]).
    Reply,
    /// Someone pinned a message.
    PinAdded {
        /// The pinned message, when Discord says.
        message: Option<Id<MessageMarker>>,
    },
    /// Someone joined the server.
    MemberJoin,
    /// Someone started a thread; the content is its name.
    ThreadCreated,
    /// The first message of a thread, quoting the message it started from.
    ThreadStarter,
    /// Someone was added to the thread or group.
    RecipientAdded {
        /// Who was added, when Discord says.
        user: Option<TranscriptUser>,
    },
    /// Someone was removed from the thread or group.
    RecipientRemoved {
        /// Who was removed, when Discord says.
        user: Option<TranscriptUser>,
    },
    /// Someone renamed the channel; the content is the new name.
    ChannelNameChanged,
    /// Someone boosted the server.
    ServerBoost {
        /// The boost level reached, if the boost raised it.
        level: Option<u8>,
    },
    /// A slash command's answer.
    SlashCommand {
        /// The command's name, when Discord says.
        name: Option<String>,
    },
    /// A context menu command's answer.
    ContextMenuCommand {
        /// The command's name, when Discord says.
        name: Option<String>,
    },
    /// AutoMod acted on a message.
    AutoModerationAction,
    /// A poll ended.
    PollResult,
    /// Any other system message, by Discord's type number.
    Other(u8),
}

/// The message a reply answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferencedMessage {
    /// Discord sent the replied-to message.
    Found {
        /// Its id.
        id: Id<MessageMarker>,
        /// Its author.
        author: TranscriptUser,
        /// The beginning of its text.
        excerpt: String,
    },
    /// The replied-to message was deleted or not sent along.
    Unavailable {
        /// Its id, when known.
        id: Option<Id<MessageMarker>>,
    },
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptAttachment {
    /// The file name.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// Where it can be downloaded (Discord's CDN links expire).
    pub url: String,
    /// The MIME type, when known.
    pub content_type: Option<String>,
    /// The alt text, when given.
    pub description: Option<String>,
}

/// One field of an embed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptEmbedField {
    /// The field's name.
    pub name: String,
    /// The field's value (Discord markup allowed).
    pub value: String,
}

/// A rich embed, as bots send them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranscriptEmbed {
    /// Title.
    pub title: Option<String>,
    /// The title's link.
    pub url: Option<String>,
    /// The author line.
    pub author: Option<String>,
    /// Description (Discord markup allowed).
    pub description: Option<String>,
    /// Fields, in order.
    pub fields: Vec<TranscriptEmbedField>,
    /// Footer text.
    pub footer: Option<String>,
    /// The large image's URL.
    pub image: Option<String>,
}

/// What a message's components show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentLabel {
    /// A button, by its label (or emoji).
    Button(String),
    /// A link button: label and target.
    LinkButton {
        /// The label.
        label: String,
        /// The link.
        url: String,
    },
    /// A select menu, by its placeholder.
    Select(String),
    /// Text shown by a text display component (Discord markup allowed).
    Text(String),
}

/// One message of the ticket channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptMessage {
    /// The message id (snowflakes order messages by creation).
    pub id: Id<MessageMarker>,
    /// The author.
    pub author: TranscriptUser,
    /// Sent through a webhook.
    pub webhook: bool,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// When it was last edited.
    pub edited_timestamp: Option<Timestamp>,
    /// The text, as Discord stores it (with its markup and mention syntax).
    pub content: String,
    /// Ordinary message or which system message.
    pub kind: MessageKind,
    /// The message this one replies to.
    pub referenced: Option<ReferencedMessage>,
    /// Attached files.
    pub attachments: Vec<TranscriptAttachment>,
    /// Embeds.
    pub embeds: Vec<TranscriptEmbed>,
    /// Sticker names.
    pub stickers: Vec<String>,
    /// Buttons, menus and text components.
    pub components: Vec<ComponentLabel>,
}

/// How the transcript calls a user, in headings and mentions alike: the display name, followed by
/// the username in parentheses where the two differ (`Alice (alice_92)`), else the username alone
/// (`alice_92`). Unescaped; the renderer escapes it.
pub fn user_name(display_name: &str, username: Option<&str>) -> String {
    match username {
        Some(username) if username != display_name => format!("{display_name} ({username})"),
        _ => display_name.to_owned(),
    }
}

/// What is known of a user's names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KnownUser {
    display_name: String,
    username: Option<String>,
    /// Learned from a full user object or a nickname, so the display name is the real one.
    complete: bool,
}

/// Names for the mentions in message text (`<@id>`, `<@&id>`, `<#id>`), and the usernames shown
/// next to display names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    users: HashMap<Id<UserMarker>, KnownUser>,
    roles: HashMap<Id<RoleMarker>, String>,
    channels: HashMap<Id<ChannelMarker>, String>,
}

impl Names {
    /// No names known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a user's display name, with no username known.
    pub fn insert_user(
        &mut self,
        id: Id<UserMarker>,
        display_name: impl Into<String>,
    ) -> &mut Self {
        self.users.insert(
            id,
            KnownUser {
                display_name: display_name.into(),
                username: None,
                complete: true,
            },
        );
        self
    }

    /// Records a role's name.
    pub fn insert_role(&mut self, id: Id<RoleMarker>, name: impl Into<String>) -> &mut Self {
        self.roles.insert(id, name.into());
        self
    }

    /// Records a channel's name.
    pub fn insert_channel(&mut self, id: Id<ChannelMarker>, name: impl Into<String>) -> &mut Self {
        self.channels.insert(id, name.into());
        self
    }

    /// Learns the names a message carries: its author, the users it mentions and the author of
    /// the message it replies to. Names already known are kept, unless they were incomplete (see
    /// [`Names::incomplete_users`]) and these are not.
    pub fn learn_from_message(&mut self, message: &Message) -> &mut Self {
        let nick = message
            .member
            .as_ref()
            .and_then(|member| member.nick.as_deref());
        self.learn_user(&message.author, nick);
        for mention in &message.mentions {
            // Discord attaches a member partial (with the nickname) to mentioned users only in
            // gateway message events from guild channels, and twilight's mention drops the global
            // display name: without a nickname, the display name is not known yet.
            let nick = mention
                .member
                .as_ref()
                .and_then(|member| member.nick.as_deref());
            self.learn(
                mention.id,
                nick.unwrap_or(&mention.name),
                &mention.name,
                nick.is_some(),
            );
        }
        if let Some(referenced) = &message.referenced_message {
            self.learn_from_message(referenced);
        }
        self
    }

    /// Learns a server member's names (from `GET /guilds/{guild.id}/members/{user.id}`).
    pub fn learn_member(&mut self, member: &Member) -> &mut Self {
        self.learn_user(&member.user, member.nick.as_deref());
        self
    }

    /// Users whose display name is not known for sure: only mentions without a nickname named
    /// them. Look them up as members and [`Names::learn_member`].
    pub fn incomplete_users(&self) -> Vec<Id<UserMarker>> {
        let mut ids: Vec<Id<UserMarker>> = self
            .users
            .iter()
            .filter(|(_, known)| !known.complete)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn learn_user(&mut self, user: &User, nick: Option<&str>) {
        self.learn(
            user.id,
            display_name(nick, user.global_name.as_deref(), &user.name),
            &user.name,
            true,
        );
    }

    fn learn(&mut self, id: Id<UserMarker>, display_name: &str, username: &str, complete: bool) {
        if self
            .users
            .get(&id)
            .is_some_and(|known| known.complete || !complete)
        {
            return;
        }
        self.users.insert(
            id,
            KnownUser {
                display_name: display_name.to_owned(),
                username: Some(username.to_owned()),
                complete,
            },
        );
    }

    /// A user's display name, if known.
    pub fn user(&self, id: Id<UserMarker>) -> Option<&str> {
        self.users.get(&id).map(|known| known.display_name.as_str())
    }

    /// A user's username, if known.
    pub fn username(&self, id: Id<UserMarker>) -> Option<&str> {
        self.users
            .get(&id)
            .and_then(|known| known.username.as_deref())
    }

    /// How a mentioned user is called (see [`user_name`]), if known.
    pub fn mention(&self, id: Id<UserMarker>) -> Option<String> {
        self.users
            .get(&id)
            .map(|known| user_name(&known.display_name, known.username.as_deref()))
    }

    /// How the transcript calls someone shown by their display name (see [`user_name`]).
    pub fn name_of(&self, user: &TranscriptUser) -> String {
        user_name(&user.display_name, self.username(user.id))
    }

    /// A role's name, if known.
    pub fn role(&self, id: Id<RoleMarker>) -> Option<&str> {
        self.roles.get(&id).map(String::as_str)
    }

    /// A channel's name, if known.
    pub fn channel(&self, id: Id<ChannelMarker>) -> Option<&str> {
        self.channels.get(&id).map(String::as_str)
    }
}

/// The name Discord shows: server nickname, else global display name, else username.
fn display_name<'a>(
    nick: Option<&'a str>,
    global_name: Option<&'a str>,
    username: &'a str,
) -> &'a str {
    nick.or(global_name).unwrap_or(username)
}

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
    fn the_username_follows_the_display_name_only_where_they_differ() {
        assert_eq!(user_name("Alice", Some("alice_92")), "Alice (alice_92)");
        assert_eq!(user_name("alice_92", Some("alice_92")), "alice_92");
        assert_eq!(user_name("user 5", None), "user 5");
    }

    #[test]
    fn excerpt_flattens_lines_and_shortens_long_text() {
        assert_eq!(excerpt("one\ntwo   three"), "one two three");
        let long = "é".repeat(150);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), REPLY_EXCERPT_CHARS + 1);
        assert!(short.ends_with('…'));
    }
}
