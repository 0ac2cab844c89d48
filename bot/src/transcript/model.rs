//! The transcript's input: our own model of a ticket and its messages, independent of where the
//! messages come from (Discord's REST history, the database). Names for mentions are in
//! [`super::names`], the conversion from twilight's `Message` in [`super::from_discord`].

use jiff::Timestamp;
use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, MessageMarker, UserMarker};

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
    /// The people staff added to the ticket (`/ticket add`) who still had access at the close.
    pub added: Vec<TranscriptUser>,
}

/// What kind of message this is; system messages are described in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An ordinary message, shown by its content alone.
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
        /// Its id, shown in the reply line so a reader can find the message above.
        id: Id<MessageMarker>,
        /// Who wrote it; the reply line names them.
        author: TranscriptUser,
        /// Its text on one line, cut after 100 characters.
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
    /// The file name as uploaded: the text of the download link.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// Where it can be downloaded (Discord's CDN links expire).
    pub url: String,
    /// The MIME type, when known.
    pub content_type: Option<String>,
    /// The alt text, when given.
    pub description: Option<String>,
    /// Whether the file itself is kept with the transcript, and where.
    pub copy: AttachmentCopy,
}

/// What became of an attachment's file: Discord deletes it with the channel, so the transcript
/// keeps its own encrypted copy when it can, and says why when it cannot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AttachmentCopy {
    /// Stored in a paste of its own (PrivateBin's attachment field), encrypted like the
    /// transcript; the transcript lists its link and the SHA-256 of its bytes.
    Kept {
        /// The paste's share link, key included.
        link: String,
        /// SHA-256 of the file's bytes, lower-case hex.
        sha256: String,
    },
    /// Not kept: the ticket's attachments together passed the configured total, in bytes.
    OverTotal {
        /// The configured total per ticket.
        limit: u64,
    },
    /// Not kept: the file alone is larger than one paste may be.
    TooLargeForPaste,
    /// Not kept: it could not be downloaded (the channel was already gone, or Discord refused).
    Unavailable,
    /// Not kept: keeping attachments is switched off, or the transcript was rendered without
    /// trying (only the link to Discord's copy is listed).
    #[default]
    NotKept,
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
    /// The title, in bold; a link when `url` is set.
    pub title: Option<String>,
    /// The title's link.
    pub url: Option<String>,
    /// The author's name, in italics and as plain text (Discord shows no markup there).
    pub author: Option<String>,
    /// Description (Discord markup allowed).
    pub description: Option<String>,
    /// Fields, in order.
    pub fields: Vec<TranscriptEmbedField>,
    /// The footer text, in italics (Discord markup allowed).
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
        /// The button's text.
        label: String,
        /// Where the button leads; only an http(s) target becomes a link.
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
    /// Who sent it; for a webhook message, the name the webhook posted under.
    pub author: TranscriptUser,
    /// Sent through a webhook; its heading says so, as `author` is then no account.
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
    /// Attached files, listed after the text with their sizes.
    pub attachments: Vec<TranscriptAttachment>,
    /// Embeds, each shown as a block quote after the text and attachments.
    pub embeds: Vec<TranscriptEmbed>,
    /// The names of the stickers sent, listed on one line (the images are not kept).
    pub stickers: Vec<String>,
    /// Buttons, menus and text components.
    pub components: Vec<ComponentLabel>,
}
