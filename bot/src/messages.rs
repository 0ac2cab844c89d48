//! Everything the bot posts, as pure functions of the config and the facts at hand: the panel,
//! a ticket channel's name, topic and first message, and the log post and DM about a closed
//! ticket with the marker that makes each post happen once. No IO here, so every rule is
//! unit-tested.

pub(crate) mod inactivity;

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use ticketeer_config::PanelStyle;
use ticketeer_config::{MESSAGE_MAX_CHARS, TRANSCRIPT_URL_PLACEHOLDER};
use twilight_model::channel::Message;
use twilight_model::channel::message::component::{
    ActionRow, Button as DiscordButton, ButtonStyle, SelectMenu, SelectMenuOption, SelectMenuType,
};
use twilight_model::channel::message::embed::Embed;
use twilight_model::channel::message::{AllowedMentions, Component};
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder, EmbedFooterBuilder};

use crate::config::{Button, Category};
use crate::custom_id::{CHOOSE_CATEGORY_ID, CustomId};
use crate::panels::plan::PanelPlan;
use crate::store::{FormAnswer, PartKind, Ticket};

/// A panel message, as posted in its create channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PanelMessage {
    /// The text above the buttons or the menu.
    pub content: String,
    /// Rows of open buttons (five to a row), or one row with the select menu.
    pub components: Vec<Component>,
    /// A hash of text and components: the stored panel is edited only when it changes.
    pub content_hash: String,
}

/// The select menu's text before a choice, unless the panel sets one.
const DEFAULT_PLACEHOLDER: &str = "Choose a topic";
/// Buttons in one action row.
const BUTTONS_PER_ROW: usize = 5;

/// Builds a panel: its text and an open button per category, or one select menu whose options
/// are the categories (each option's value is the category key).
pub(crate) fn panel_message(plan: &PanelPlan<'_>) -> PanelMessage {
    let components = match plan.style {
        PanelStyle::Buttons => plan
            .entries
            .chunks(BUTTONS_PER_ROW)
            .map(|row| {
                Component::ActionRow(ActionRow {
                    id: None,
                    components: row
                        .iter()
                        .map(|(key, category)| {
                            let custom_id = CustomId::Open {
                                category_key: (*key).to_owned(),
                            };
                            button(&custom_id, &category.create_button)
                        })
                        .collect(),
                })
            })
            .collect(),
        PanelStyle::Select => vec![Component::ActionRow(ActionRow {
            id: None,
            components: vec![Component::SelectMenu(topic_menu(plan))],
        })],
    };
    let content = plan.content.to_owned();
    let content_hash = hash_message(&content, &components);
    PanelMessage {
        content,
        components,
        content_hash,
    }
}

fn topic_menu(plan: &PanelPlan<'_>) -> SelectMenu {
    let options = plan
        .entries
        .iter()
        .map(|(key, category)| SelectMenuOption {
            default: false,
            description: category
                .panel
                .as_ref()
                .and_then(|panel| panel.description.clone()),
            emoji: category.create_button.emoji.clone(),
            label: category.create_button.label.clone(),
            value: (*key).to_owned(),
        })
        .collect();
    SelectMenu {
        channel_types: None,
        custom_id: CHOOSE_CATEGORY_ID.to_owned(),
        default_values: None,
        disabled: false,
        id: None,
        kind: SelectMenuType::Text,
        max_values: Some(1),
        min_values: Some(1),
        options: Some(options),
        placeholder: Some(plan.placeholder.unwrap_or(DEFAULT_PLACEHOLDER).to_owned()),
        required: None,
    }
}

/// The first message in a new ticket channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreatedMessage {
    /// Mentions of the creator and the ticket roles, then the category's text.
    pub content: String,
    /// One action row with the close button.
    pub components: Vec<Component>,
    /// Exactly the creator and the ticket roles may be pinged, whatever the text says.
    pub allowed_mentions: AllowedMentions,
}

/// Builds the created message of ticket `ticket_id`, opened by `creator`, claimed by `claimer`
/// (shown under the text; the message is edited when the claim changes).
pub(crate) fn created_message(
    ticket_id: i64,
    creator: Id<UserMarker>,
    category: &Category,
    claimer: Option<Id<UserMarker>>,
) -> CreatedMessage {
    let roles = category.role_ids.clone();
    let mut content = format!("<@{creator}>");
    for role in &roles {
        let _ = write!(content, " <@&{role}>");
    }
    content.push_str("\n\n");
    let claim_line = claimer.map(|claimer| format!("\n\n**Claimed by** <@{claimer}>"));
    let room = MESSAGE_MAX_CHARS - claim_line.as_ref().map_or(0, |line| line.chars().count());
    content.push_str(&category.created_message);
    // The mentions can push a long configured text over Discord's limit; cut the text, never a
    // mention, so everybody is still pinged.
    let mut content = truncate_chars(&content, room);
    content.push_str(claim_line.as_deref().unwrap_or_default());
    let mut buttons = vec![button(
        &CustomId::Close { ticket_id },
        &category.close_button,
    )];
    if category.claim_button {
        let claim = match claimer {
            None => (CustomId::Claim { ticket_id }, "Claim", ButtonStyle::Success),
            Some(_) => (
                CustomId::Unclaim { ticket_id },
                "Unclaim",
                ButtonStyle::Secondary,
            ),
        };
        buttons.push(labelled_button(&claim.0, claim.1, claim.2));
    }
    CreatedMessage {
        content,
        components: vec![Component::ActionRow(ActionRow {
            id: None,
            components: buttons,
        })],
        allowed_mentions: AllowedMentions {
            parse: Vec::new(),
            replied_user: false,
            roles,
            users: vec![creator],
        },
    }
}

/// What an optional question left blank shows (Discord refuses an empty field).
const NO_ANSWER: &str = "*No answer*";
/// The longest question an embed field's name holds.
const FIELD_NAME_MAX_CHARS: usize = 256;

/// The embed of a ticket's first message that shows the creator's answers to the category's
/// questions, one field each in question order; `None` when nothing was asked.
pub(crate) fn form_answers_embed(answers: &[FormAnswer]) -> Option<Embed> {
    if answers.is_empty() {
        return None;
    }
    let embed = answers.iter().fold(EmbedBuilder::new(), |embed, answer| {
        let text = answer.answer.trim();
        let value = if text.is_empty() {
            NO_ANSWER.to_owned()
        } else {
            truncate_chars(text, usize::from(ticketeer_config::ANSWER_MAX_CHARS))
        };
        embed.field(EmbedFieldBuilder::new(
            truncate_chars(&answer.question, FIELD_NAME_MAX_CHARS),
            value,
        ))
    });
    Some(embed.build())
}

/// The message that asks a ticket's creator whether it may close (`/ticket request-close`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CloseRequestMessage {
    /// The request, its reason and when the ticket closes without an answer.
    pub content: String,
    /// Confirm and Keep open.
    pub components: Vec<Component>,
    /// Only the creator is pinged.
    pub allowed_mentions: AllowedMentions,
}

/// The longest close-request reason shown, like a close reason.
const REQUEST_REASON_MAX_CHARS: usize = 500;

/// Builds the close request `requester` made on ticket `ticket_id` of `creator`, which closes by
/// itself at `due_unix` (seconds; Discord shows it in each reader's time zone and counts down).
pub(crate) fn close_request_message(
    ticket_id: i64,
    creator: Id<UserMarker>,
    requester: Id<UserMarker>,
    reason: Option<&str>,
    due_unix: i64,
) -> CloseRequestMessage {
    let mut content = format!("<@{creator}>, <@{requester}> would like to close this ticket.");
    if let Some(reason) = reason {
        let _ = write!(
            content,
            "\n**Reason:** {}",
            truncate_chars(reason, REQUEST_REASON_MAX_CHARS)
        );
    }
    let _ = write!(
        content,
        "\nPlease confirm, or keep it open. Without an answer it closes <t:{due_unix}:R>."
    );
    CloseRequestMessage {
        content,
        components: vec![Component::ActionRow(ActionRow {
            id: None,
            components: vec![
                labelled_button(
                    &CustomId::ConfirmClose { ticket_id },
                    "Close it",
                    ButtonStyle::Danger,
                ),
                labelled_button(
                    &CustomId::KeepOpen { ticket_id },
                    "Keep it open",
                    ButtonStyle::Secondary,
                ),
            ],
        })],
        allowed_mentions: AllowedMentions {
            parse: Vec::new(),
            replied_user: false,
            roles: Vec::new(),
            users: vec![creator],
        },
    }
}

/// What became of a close request, for the request's message once its buttons are retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseRequestAnswer {
    /// The creator confirmed it.
    Confirmed,
    /// The creator kept the ticket open.
    KeptOpen,
    /// A newer request replaced it.
    Replaced,
}

/// The text a close request's message is edited to once answered.
pub(crate) fn close_request_answered(
    requester: Id<UserMarker>,
    creator: Id<UserMarker>,
    answer: CloseRequestAnswer,
) -> String {
    match answer {
        CloseRequestAnswer::Confirmed => {
            format!("<@{requester}> asked to close this ticket; <@{creator}> agreed.")
        }
        CloseRequestAnswer::KeptOpen => {
            format!("<@{requester}> asked to close this ticket; <@{creator}> kept it open.")
        }
        CloseRequestAnswer::Replaced => {
            format!("<@{requester}> asked to close this ticket; a newer request replaced this one.")
        }
    }
}

/// The name of the `number`-th parent category (the configured parent being the first): the
/// parent's name and the number, `Tickets 2`, cut to Discord's 100 characters.
pub(crate) fn created_parent_name(parent_name: &str, number: u32) -> String {
    let suffix = format!(" {number}");
    let room = 100 - suffix.chars().count();
    let base: String = parent_name.trim_end().chars().take(room).collect();
    format!("{}{suffix}", base.trim_end())
}

/// The name of a ticket's channel: `ticket-0042`. Built from the number alone, so no user input
/// can produce a name Discord rejects.
pub(crate) fn ticket_channel_name(ticket_id: i64) -> String {
    format!("ticket-{ticket_id:04}")
}

/// The topic of a ticket's channel, naming the claimer once the ticket is claimed.
pub(crate) fn ticket_channel_topic(
    ticket_id: i64,
    creator: Id<UserMarker>,
    category_name: &str,
    claimer: Option<Id<UserMarker>>,
) -> String {
    let mut topic = format!(
        "{} in {category_name}",
        ticket_channel_topic_start(ticket_id, creator)
    );
    if let Some(claimer) = claimer {
        let _ = write!(topic, " · claimed by <@{claimer}>");
    }
    truncate_chars(&topic, 1024)
}

/// How every topic of this ticket's channel starts: how a channel is recognised as the ticket's
/// when the ticket's row does not name it yet (a crash between creating it and recording it).
pub(crate) fn ticket_channel_topic_start(ticket_id: i64, creator: Id<UserMarker>) -> String {
    format!("Ticket #{ticket_id} opened by <@{creator}>")
}

fn button(custom_id: &CustomId, button: &Button) -> Component {
    Component::Button(DiscordButton {
        id: None,
        custom_id: Some(custom_id.to_string()),
        disabled: false,
        emoji: button.emoji.clone(),
        label: Some(button.label.clone()),
        style: button.style,
        url: None,
        sku_id: None,
    })
}

/// A button of ours whose text is fixed rather than configured.
fn labelled_button(custom_id: &CustomId, label: &str, style: ButtonStyle) -> Component {
    button(
        custom_id,
        &Button {
            label: label.to_owned(),
            emoji: None,
            style,
        },
    )
}

fn hash_message(content: &str, components: &[Component]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(content.as_bytes());
    hasher.update([0]);
    // Serialising twilight's component model is deterministic (struct field order).
    hasher.update(serde_json::to_vec(components).unwrap_or_default());
    hex::encode(hasher.finalize())
}

fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// The marker in the embed footer of every message the bot sends about a closed ticket.
pub(crate) fn marker(ticket_id: i64) -> String {
    format!("Ticket #{ticket_id}")
}

/// The embed every post about a closed ticket carries: the marker in its footer, and the
/// transcript's title and link when there is one.
pub(crate) fn marker_embed(ticket_id: i64, title: Option<String>, url: Option<String>) -> Embed {
    let mut embed = EmbedBuilder::new().footer(EmbedFooterBuilder::new(marker(ticket_id)));
    if let Some(title) = title {
        embed = embed.title(title);
    }
    if let Some(url) = url {
        embed = embed.url(url);
    }
    embed.build()
}

/// Whether `message` is the bot's earlier post about this ticket.
pub(crate) fn is_marked(message: &Message, bot: Id<UserMarker>, ticket_id: i64) -> bool {
    let marker = marker(ticket_id);
    message.author.id == bot
        && message.embeds.iter().any(|embed| {
            embed
                .footer
                .as_ref()
                .is_some_and(|footer| footer.text == marker)
        })
}

/// The text of the log channel post about a closed ticket.
pub(crate) fn log_text(ticket: &Ticket, category: &str, transcript_url: &str) -> String {
    let number = ticket.id;
    let how = if ticket.channel_gone {
        "was closed: its channel was deleted by hand. The transcript holds the messages seen \
         before that"
            .to_owned()
    } else {
        match ticket.closed_by {
            Some(closer) => format!("was closed by <@{closer}>"),
            None => "was closed".to_owned(),
        }
    };
    let reason = ticket
        .close_reason
        .as_deref()
        .filter(|reason| !reason.is_empty() && !ticket.channel_gone)
        .map(|reason| format!("\nReason: {reason}"))
        .unwrap_or_default();
    format!(
        "**Ticket #{number}** ({category}) opened by <@{opener}> {how}.\nMessages: {count}{reason}\nTranscript: {transcript_url}{evidence}",
        opener = ticket.user_id,
        count = ticket.message_count,
        evidence = transcript_evidence(ticket),
    )
}

/// Most part hashes listed in a log post; a transcript with more parts is verified as a whole.
const LISTED_PART_HASHES: usize = 8;

/// The log post's tamper evidence: the SHA-256 of the whole transcript, of each text part when it
/// was split, and how many files it keeps (their hashes are listed in the transcript, which the
/// whole hash covers). Anyone can check a transcript against these with
/// `ticketeer-bot transcript verify`.
fn transcript_evidence(ticket: &Ticket) -> String {
    let Some(whole) = &ticket.transcript_sha256 else {
        return String::new();
    };
    let mut text = format!("\nSHA-256: `{whole}`");
    let text_parts: Vec<&str> = ticket
        .transcript_parts
        .iter()
        .filter(|part| part.kind == PartKind::Text)
        .filter_map(|part| part.sha256.as_deref())
        .collect();
    if text_parts.len() > 1 {
        let listed: Vec<String> = text_parts
            .iter()
            .take(LISTED_PART_HASHES)
            .enumerate()
            .map(|(index, hash)| format!("{} `{hash}`", index + 1))
            .collect();
        let more = text_parts.len().saturating_sub(LISTED_PART_HASHES);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = write!(
            text,
            "\nParts: {}; SHA-256 of each: {}{more}",
            text_parts.len(),
            listed.join(", ")
        );
    }
    let files = ticket
        .transcript_parts
        .iter()
        .filter(|part| part.kind == PartKind::File)
        .count();
    if files > 0 {
        let noun = if files == 1 { "file" } else { "files" };
        let _ = write!(
            text,
            "\nKept: {files} {noun}, listed with their SHA-256 at the end of the transcript"
        );
    }
    text
}

/// The DM text: the configured message with the transcript link, and the close reason when one
/// was given, cut to Discord's 2000 characters.
pub(crate) fn dm_text(template: &str, transcript_url: &str, reason: Option<&str>) -> String {
    let mut text = template.replace(TRANSCRIPT_URL_PLACEHOLDER, transcript_url);
    if let Some(reason) = reason.filter(|reason| !reason.trim().is_empty()) {
        let _ = write!(text, "\nReason: {reason}");
    }
    if text.chars().count() <= MESSAGE_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MESSAGE_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The question of the DM that asks a closed ticket's creator for a rating.
pub(crate) fn feedback_question(ticket_id: i64, category: &str) -> String {
    format!(
        "How did we do with your ticket #{ticket_id} ({category})? Rate it from 1 (poor) to 5 \
         (great)."
    )
}

/// The DM after a close: the category's closing text (when it sends one), then the rating
/// question (when it asks one), within Discord's 2000 characters (the closing text is cut).
pub(crate) fn closed_dm_text(closing: Option<String>, question: Option<String>) -> String {
    let Some(question) = question else {
        return closing.unwrap_or_default();
    };
    let Some(closing) = closing else {
        return question;
    };
    let room = MESSAGE_MAX_CHARS - question.chars().count() - 2;
    let mut text = if closing.chars().count() > room {
        let mut cut = truncate_chars(&closing, room - 1);
        cut.push('…');
        cut
    } else {
        closing
    };
    text.push_str("\n\n");
    text.push_str(&question);
    text
}

/// The five rating buttons of ticket `ticket_id`'s DM.
pub(crate) fn rating_buttons(ticket_id: i64) -> Vec<Component> {
    let buttons = (1..=5)
        .map(|rating| {
            button(
                &CustomId::Rate { ticket_id, rating },
                &Button {
                    label: rating.to_string(),
                    emoji: Some(
                        twilight_model::channel::message::EmojiReactionType::Unicode {
                            name: "⭐".to_owned(),
                        },
                    ),
                    style: ButtonStyle::Secondary,
                },
            )
        })
        .collect();
    vec![Component::ActionRow(ActionRow {
        id: None,
        components: buttons,
    })]
}

/// The longest comment shown in the log post.
const FEEDBACK_COMMENT_SHOWN_CHARS: usize = 500;

/// The line added to a closed ticket's log post once its creator rated it.
pub(crate) fn feedback_line(rating: u8, comment: Option<&str>) -> String {
    let stars: String = (1..=5)
        .map(|star| if star <= rating { '★' } else { '☆' })
        .collect();
    let mut line = format!("**Feedback:** {rating}/5 {stars}");
    if let Some(comment) = comment.map(str::trim).filter(|comment| !comment.is_empty()) {
        let _ = write!(
            line,
            " — “{}”",
            truncate_chars(comment, FEEDBACK_COMMENT_SHOWN_CHARS)
        );
    }
    line
}

/// `content` with `line` added on a line of its own, within Discord's 2000 characters (the line
/// is what is cut); `None` when it already ends with it (a repeated edit).
pub(crate) fn with_line(content: &str, line: &str) -> Option<String> {
    if content.ends_with(line) {
        return None;
    }
    let room = MESSAGE_MAX_CHARS.saturating_sub(content.chars().count() + 1);
    Some(format!("{content}\n{}", truncate_chars(line, room)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::CHANNEL_DELETED_REASON;
    use crate::store::{TicketState, TranscriptPart};
    use twilight_model::channel::message::EmojiReactionType;

    const GUILD: u64 = 200_000_000_000_000_001;
    const ROLE_A: u64 = 400_000_000_000_000_001;
    const ROLE_B: u64 = 400_000_000_000_000_002;
    const CREATOR: u64 = 500_000_000_000_000_001;

    fn category() -> Category {
        Category {
            name: "Billing".to_owned(),
            create_message: "Questions about an invoice?".to_owned(),
            created_message: "Someone will be with you shortly.".to_owned(),
            create_button: Button {
                label: "Open".to_owned(),
                emoji: Some(EmojiReactionType::Unicode {
                    name: "🧾".to_owned(),
                }),
                style: ButtonStyle::Success,
            },
            ..crate::config::tests::category(GUILD, &[ROLE_A, ROLE_B])
        }
    }

    fn only_button(components: &[Component]) -> &DiscordButton {
        match components {
            [Component::ActionRow(row)] => match row.components.as_slice() {
                [Component::Button(button)] => button,
                other => panic!("expected one button, got {other:?}"),
            },
            other => panic!("expected one action row, got {other:?}"),
        }
    }

    /// The panel of a category of its own.
    fn own_panel(key: &str, category: &Category) -> PanelMessage {
        let categories = std::collections::BTreeMap::from([(key.to_owned(), category.clone())]);
        let plans = crate::panels::plan::plan_panels(&categories);
        panel_message(&plans[key])
    }

    fn shared(style: PanelStyle, count: usize) -> std::collections::BTreeMap<String, Category> {
        (0..count)
            .map(|index| {
                let mut topic = category();
                topic.create_button.label = format!("Topic {index}");
                topic.panel = Some(ticketeer_config::PanelPlacementConfig {
                    name: "desk".to_owned(),
                    style,
                    position: 0,
                    description: Some(format!("About topic {index}")),
                    placeholder: None,
                });
                (format!("topic-{index}"), topic)
            })
            .collect()
    }

    #[test]
    fn a_shared_panel_puts_five_buttons_to_a_row() {
        let categories = shared(PanelStyle::Buttons, 7);
        let plans = crate::panels::plan::plan_panels(&categories);
        let panel = panel_message(plans.values().next().expect("one panel"));
        let rows: Vec<Vec<Option<String>>> = panel
            .components
            .iter()
            .map(|row| match row {
                Component::ActionRow(row) => row
                    .components
                    .iter()
                    .map(|button| match button {
                        Component::Button(button) => button.custom_id.clone(),
                        other => panic!("expected a button, got {other:?}"),
                    })
                    .collect(),
                other => panic!("expected an action row, got {other:?}"),
            })
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), 5);
        assert_eq!(
            rows[1],
            [
                Some("ticketeer:open:topic-5".to_owned()),
                Some("ticketeer:open:topic-6".to_owned())
            ]
        );
    }

    #[test]
    fn a_select_panel_offers_each_category_as_an_option() {
        let categories = shared(PanelStyle::Select, 3);
        let plans = crate::panels::plan::plan_panels(&categories);
        let panel = panel_message(plans.values().next().expect("one panel"));
        let [Component::ActionRow(row)] = panel.components.as_slice() else {
            panic!("expected one row, got {:?}", panel.components);
        };
        let [Component::SelectMenu(menu)] = row.components.as_slice() else {
            panic!("expected one select menu, got {:?}", row.components);
        };
        assert_eq!(menu.custom_id, CHOOSE_CATEGORY_ID);
        assert_eq!(menu.kind, SelectMenuType::Text);
        assert_eq!((menu.min_values, menu.max_values), (Some(1), Some(1)));
        assert_eq!(menu.placeholder.as_deref(), Some(DEFAULT_PLACEHOLDER));
        let options = menu.options.as_deref().unwrap_or_default();
        assert_eq!(options.len(), 3);
        assert_eq!(options[1].value, "topic-1");
        assert_eq!(options[1].label, "Topic 1");
        assert_eq!(options[1].description.as_deref(), Some("About topic 1"));
        assert_eq!(
            options[1].emoji,
            Some(EmojiReactionType::Unicode {
                name: "🧾".to_owned()
            })
        );
    }

    #[test]
    fn the_answers_are_one_field_each_in_order_and_a_blank_one_says_so() {
        assert_eq!(form_answers_embed(&[]), None);
        let answers = [
            FormAnswer {
                question: "Your order number".to_owned(),
                answer: "  A-1234 ".to_owned(),
            },
            FormAnswer {
                question: "Anything else?".to_owned(),
                answer: "   ".to_owned(),
            },
        ];
        let embed = form_answers_embed(&answers).expect("an embed");
        let fields: Vec<(&str, &str, bool)> = embed
            .fields
            .iter()
            .map(|field| (field.name.as_str(), field.value.as_str(), field.inline))
            .collect();
        assert_eq!(
            fields,
            [
                ("Your order number", "A-1234", false),
                ("Anything else?", NO_ANSWER, false)
            ]
        );
    }

    #[test]
    fn the_closing_dm_carries_the_rating_question_after_its_text() {
        assert_eq!(closed_dm_text(Some("Closed.".to_owned()), None), "Closed.");
        assert_eq!(closed_dm_text(None, Some("Rate?".to_owned())), "Rate?");
        assert_eq!(
            closed_dm_text(Some("Closed.".to_owned()), Some("Rate?".to_owned())),
            "Closed.\n\nRate?"
        );
        let long = closed_dm_text(Some("x".repeat(2000)), Some("Rate?".to_owned()));
        assert_eq!(long.chars().count(), MESSAGE_MAX_CHARS);
        assert!(long.ends_with("…\n\nRate?"));
    }

    #[test]
    fn the_rating_buttons_go_from_one_to_five() {
        let components = rating_buttons(42);
        let [Component::ActionRow(row)] = components.as_slice() else {
            panic!("one action row: {components:?}");
        };
        let ids: Vec<_> = row
            .components
            .iter()
            .map(|button| match button {
                Component::Button(button) => button.custom_id.clone().unwrap_or_default(),
                other => panic!("a button: {other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            (1..=5)
                .map(|rating| format!("ticketeer:rate:42:{rating}"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_feedback_line_shows_stars_and_the_comment_and_is_added_once() {
        assert_eq!(feedback_line(4, None), "**Feedback:** 4/5 ★★★★☆");
        assert_eq!(
            feedback_line(2, Some("  slow  ")),
            "**Feedback:** 2/5 ★★☆☆☆ — “slow”"
        );
        assert_eq!(feedback_line(5, Some("   ")), "**Feedback:** 5/5 ★★★★★");
        let line = feedback_line(3, None);
        let once = with_line("Ticket #1 was closed.", &line).expect("added");
        assert_eq!(once, format!("Ticket #1 was closed.\n{line}"));
        assert_eq!(with_line(&once, &line), None);
        let full = with_line(&"x".repeat(1990), &line).expect("added");
        assert_eq!(full.chars().count(), MESSAGE_MAX_CHARS);
    }

    fn ticket() -> Ticket {
        let now = twilight_model::util::Timestamp::from_secs(1_700_000_000).expect("timestamp");
        Ticket {
            id: 42,
            guild_id: Id::new(1),
            category_key: "support".to_owned(),
            user_id: Id::new(7),
            channel_id: Some(Id::new(9)),
            state: TicketState::Logged,
            open_interaction_id: Id::new(3),
            message_count: 151,
            additional_users: Vec::new(),
            claimed_by: None,
            closed_by: Some(Id::new(8)),
            close_reason: None,
            transcript_url: Some("https://paste.example/?abc#key".to_owned()),
            transcript_delete_token: Some("token".to_owned()),
            transcript_parts: Vec::new(),
            transcript_sha256: None,
            channel_gone: false,
            created_at: now,
            updated_at: now,
            closed_at: None,
        }
    }

    #[test]
    fn the_panel_carries_the_text_and_an_open_button_for_its_category() {
        let panel = own_panel("support/billing", &category());
        assert_eq!(panel.content, "Questions about an invoice?");
        let button = only_button(&panel.components);
        assert_eq!(
            button.custom_id.as_deref(),
            Some("ticketeer:open:support/billing")
        );
        assert_eq!(button.label.as_deref(), Some("Open"));
        assert_eq!(button.style, ButtonStyle::Success);
        assert_eq!(
            button.emoji,
            Some(EmojiReactionType::Unicode {
                name: "🧾".to_owned()
            })
        );
    }

    #[test]
    fn the_panel_hash_changes_with_the_text_or_the_button_and_only_then() {
        let original = own_panel("general", &category());
        assert_eq!(
            original.content_hash,
            own_panel("general", &category()).content_hash
        );
        let mut new_text = category();
        new_text.create_message.push('!');
        let mut new_style = category();
        new_style.create_button.style = ButtonStyle::Danger;
        let mut new_created = category();
        new_created.created_message = "unrelated to the panel".to_owned();
        assert_ne!(
            original.content_hash,
            own_panel("general", &new_text).content_hash
        );
        assert_ne!(
            original.content_hash,
            own_panel("general", &new_style).content_hash
        );
        assert_eq!(
            original.content_hash,
            own_panel("general", &new_created).content_hash
        );
        assert_eq!(original.content_hash.len(), 64);
    }

    #[test]
    fn a_created_parent_is_named_after_the_parent_within_discords_100_characters() {
        assert_eq!(created_parent_name("Tickets", 2), "Tickets 2");
        let long = "x".repeat(100);
        let name = created_parent_name(&long, 11);
        assert_eq!(name.chars().count(), 100);
        assert!(name.ends_with("x 11"), "{name}");
    }

    #[test]
    fn channel_names_are_zero_padded_ticket_numbers() {
        assert_eq!(ticket_channel_name(42), "ticket-0042");
        assert_eq!(ticket_channel_name(123_456), "ticket-123456");
    }

    #[test]
    fn the_created_message_pings_exactly_the_creator_and_the_roles() {
        let message = created_message(42, Id::new(CREATOR), &category(), None);
        assert!(
            message
                .content
                .starts_with(&format!("<@{CREATOR}> <@&{ROLE_A}> <@&{ROLE_B}>"))
        );
        assert!(
            message
                .content
                .ends_with("Someone will be with you shortly.")
        );
        assert_eq!(message.allowed_mentions.users, vec![Id::new(CREATOR)]);
        assert_eq!(
            message.allowed_mentions.roles,
            vec![Id::new(ROLE_A), Id::new(ROLE_B)]
        );
        assert!(message.allowed_mentions.parse.is_empty());
        let button = only_button(&message.components);
        assert_eq!(button.custom_id.as_deref(), Some("ticketeer:close:42"));
        assert_eq!(button.style, ButtonStyle::Danger);
    }

    #[test]
    fn a_long_created_message_is_cut_to_discords_limit_keeping_the_mentions() {
        let mut long = category();
        long.created_message = "x".repeat(2000);
        let message = created_message(1, Id::new(CREATOR), &long, None);
        assert_eq!(message.content.chars().count(), 2000);
        assert!(message.content.starts_with(&format!("<@{CREATOR}>")));
    }

    fn buttons(components: &[Component]) -> Vec<(String, String)> {
        let [Component::ActionRow(row)] = components else {
            panic!("expected one action row, got {components:?}");
        };
        row.components
            .iter()
            .map(|component| match component {
                Component::Button(button) => (
                    button.custom_id.clone().unwrap_or_default(),
                    button.label.clone().unwrap_or_default(),
                ),
                other => panic!("expected buttons, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_claim_button_turns_into_unclaim_and_the_claimer_is_named_without_losing_the_limit() {
        let mut claimable = category();
        claimable.claim_button = true;
        let unclaimed = created_message(42, Id::new(CREATOR), &claimable, None);
        assert_eq!(
            buttons(&unclaimed.components),
            [
                ("ticketeer:close:42".to_owned(), "Close".to_owned()),
                ("ticketeer:claim:42".to_owned(), "Claim".to_owned())
            ]
        );
        assert!(!unclaimed.content.contains("Claimed by"));
        let claimed = created_message(42, Id::new(CREATOR), &claimable, Some(Id::new(77)));
        assert_eq!(buttons(&claimed.components)[1].0, "ticketeer:unclaim:42");
        assert!(claimed.content.ends_with("\n\n**Claimed by** <@77>"));
        assert_eq!(claimed.allowed_mentions.users, vec![Id::new(CREATOR)]);
        claimable.created_message = "x".repeat(2000);
        let long = created_message(42, Id::new(CREATOR), &claimable, Some(Id::new(77)));
        assert_eq!(long.content.chars().count(), 2000);
        assert!(long.content.ends_with("**Claimed by** <@77>"));
        let plain = created_message(42, Id::new(CREATOR), &category(), Some(Id::new(77)));
        assert_eq!(
            buttons(&plain.components).len(),
            1,
            "no Claim button unless asked"
        );
    }

    #[test]
    fn the_topic_names_the_claimer_and_keeps_the_start_that_identifies_the_ticket() {
        let topic = ticket_channel_topic(42, Id::new(CREATOR), "Support", Some(Id::new(77)));
        assert!(topic.starts_with(&ticket_channel_topic_start(42, Id::new(CREATOR))));
        assert!(topic.ends_with(" in Support · claimed by <@77>"));
        assert!(!ticket_channel_topic(42, Id::new(CREATOR), "Support", None).contains("claimed"));
    }

    #[test]
    fn a_close_request_pings_only_the_creator_and_offers_both_answers() {
        let request = close_request_message(
            42,
            Id::new(CREATOR),
            Id::new(77),
            Some("Solved, I think"),
            1_800_000_000,
        );
        assert!(request.content.starts_with(&format!(
            "<@{CREATOR}>, <@77> would like to close this ticket."
        )));
        assert!(request.content.contains("**Reason:** Solved, I think"));
        assert!(request.content.ends_with("closes <t:1800000000:R>."));
        assert_eq!(request.allowed_mentions.users, vec![Id::new(CREATOR)]);
        assert!(request.allowed_mentions.roles.is_empty());
        assert_eq!(
            buttons(&request.components),
            [
                (
                    "ticketeer:confirm-close:42".to_owned(),
                    "Close it".to_owned()
                ),
                (
                    "ticketeer:keep-open:42".to_owned(),
                    "Keep it open".to_owned()
                )
            ]
        );
        let without = close_request_message(42, Id::new(CREATOR), Id::new(77), None, 1);
        assert!(!without.content.contains("Reason"));
    }

    #[test]
    fn the_log_post_names_the_ticket_closer_count_and_link() {
        let text = log_text(&ticket(), "Support", "https://paste.example/?abc#key");
        assert!(text.starts_with("**Ticket #42** (Support) opened by <@7> was closed by <@8>."));
        assert!(text.contains("Messages: 151"));
        assert!(text.ends_with("Transcript: https://paste.example/?abc#key"));
    }

    #[test]
    fn the_log_post_carries_the_transcripts_hashes() {
        let part = |kind, digit: &str| TranscriptPart {
            id: "p".to_owned(),
            url: "https://paste.example/?p#k".to_owned(),
            delete_token: "t".to_owned(),
            kind,
            sha256: Some(digit.repeat(64)),
        };
        let mut split = ticket();
        split.transcript_sha256 = Some("a".repeat(64));
        split.transcript_parts = vec![
            part(PartKind::Text, "1"),
            part(PartKind::Text, "2"),
            part(PartKind::File, "3"),
        ];
        let text = log_text(&split, "Support", "https://paste.example/?p#k");
        let lines: Vec<&str> = text.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                format!("SHA-256: `{}`", "a".repeat(64)),
                format!(
                    "Parts: 2; SHA-256 of each: 1 `{}`, 2 `{}`",
                    "1".repeat(64),
                    "2".repeat(64)
                ),
                "Kept: 1 file, listed with their SHA-256 at the end of the transcript".to_owned(),
            ]
        );
        let mut single = ticket();
        single.transcript_sha256 = Some("a".repeat(64));
        single.transcript_parts = vec![part(PartKind::Text, "a")];
        let text = log_text(&single, "Support", "u");
        assert!(text.ends_with(&format!("Transcript: u\nSHA-256: `{}`", "a".repeat(64))));
    }

    #[test]
    fn the_log_post_of_a_channel_deleted_by_hand_says_so() {
        let mut gone = ticket();
        gone.channel_gone = true;
        gone.closed_by = None;
        gone.close_reason = Some(CHANNEL_DELETED_REASON.to_owned());
        let text = log_text(&gone, "Support", "u");
        assert!(text.contains("its channel was deleted by hand"), "{text}");
        assert!(!text.contains("<@8>"));
    }

    #[test]
    fn the_dm_replaces_the_placeholder_and_fits_discords_limit() {
        assert_eq!(
            dm_text("Your transcript: {transcript_url}", "https://x/?1#k", None),
            "Your transcript: https://x/?1#k"
        );
        assert_eq!(
            dm_text(
                "Closed: {transcript_url}",
                "u",
                Some("Solved by a reinstall")
            ),
            "Closed: u\nReason: Solved by a reinstall"
        );
        assert_eq!(
            dm_text("Closed: {transcript_url}", "u", Some("  ")),
            "Closed: u"
        );
        let long = format!("{} {{transcript_url}}", "é".repeat(1990));
        let text = dm_text(&long, &"u".repeat(100), None);
        assert_eq!(text.chars().count(), MESSAGE_MAX_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn the_marker_names_the_ticket() {
        let embed = marker_embed(42, None, None);
        assert_eq!(
            embed.footer.map(|footer| footer.text),
            Some("Ticket #42".to_owned())
        );
    }
}
