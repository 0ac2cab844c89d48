//! The rating a closed ticket's creator gives from the DM after the close: a rating button opens
//! a form for an optional comment, and its submit records both once, adds them to the log post
//! and retires the DM's buttons.

use twilight_model::application::interaction::Interaction;
use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::channel::message::Component;
use twilight_model::channel::message::component::{Label, TextInput, TextInputStyle};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use super::reply::Reply;
use super::{clicked_channel, clicker_id, form};
use crate::context::Context;
use crate::custom_id::CustomId;
use crate::discord_call::DiscordCall;
use crate::error::{BotError, ErrorChain};
use crate::messages::{feedback_line, with_line};
use crate::store::{self, FeedbackOutcome};

/// The comment field's custom id.
const COMMENT_FIELD: &str = "comment";
/// The longest comment kept.
const COMMENT_MAX_CHARS: u16 = 1000;

/// The form a rating button opens: the rating in its title, one optional comment.
pub(super) fn comment_form(ticket_id: i64, rating: u8) -> InteractionResponse {
    let input = TextInput {
        custom_id: COMMENT_FIELD.to_owned(),
        id: None,
        #[expect(deprecated, reason = "the label goes on the Label component instead")]
        label: None,
        max_length: Some(COMMENT_MAX_CHARS),
        min_length: None,
        placeholder: Some("Optional: what went well, or what we could do better".to_owned()),
        required: Some(false),
        style: TextInputStyle::Paragraph,
        value: None,
    };
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(CustomId::Feedback { ticket_id, rating }.to_string()),
            title: Some(format!("Your rating: {rating}/5")),
            components: Some(vec![Component::Label(Label {
                component: Box::new(Component::TextInput(input)),
                description: Some("Sent to the team with your rating.".to_owned()),
                id: None,
                label: "Anything to add?".to_owned(),
            })]),
            ..InteractionResponseData::default()
        }),
    }
}

/// The comment typed into the form, trimmed; `None` when left empty.
pub(super) fn submitted_comment(data: &ModalInteractionData) -> Option<String> {
    form::submitted_text(&data.components, COMMENT_FIELD)
        .map(str::trim)
        .filter(|comment| !comment.is_empty())
        .map(|comment| {
            comment
                .chars()
                .take(usize::from(COMMENT_MAX_CHARS))
                .collect()
        })
}

/// Records the rating submitted with its comment, once; then shows it in the log post and
/// retires the DM's buttons (both best effort: the rating is recorded either way).
pub(super) async fn record(
    ctx: &Context,
    interaction: &Interaction,
    ticket_id: i64,
    rating: u8,
    comment: Option<String>,
) -> Reply {
    let Some(user_id) = clicker_id(interaction) else {
        return Reply::TicketGone;
    };
    let recorded = store::record_feedback(
        &ctx.pool,
        ticket_id,
        user_id,
        i16::from(rating),
        comment.as_deref(),
    )
    .await;
    let category_key = match recorded {
        Ok(FeedbackOutcome::Recorded { category_key }) => category_key,
        Ok(FeedbackOutcome::AlreadyRated { rating }) => return Reply::AlreadyRated(rating),
        Ok(FeedbackOutcome::Unknown) => return Reply::TicketGone,
        Err(error) => {
            tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not record a rating");
            return Reply::failed("record your rating", "this", &BotError::from(error));
        }
    };
    ctx.metrics.count_feedback(&category_key, rating);
    tracing::info!(ticket = ticket_id, rating, "a closed ticket was rated");
    let line = feedback_line(rating, comment.as_deref());
    if let Err(error) = add_to_log_post(ctx, ticket_id, &category_key, &line).await {
        tracing::warn!(ticket = ticket_id, error = %ErrorChain(&error), "could not add the rating to the log post");
    }
    if let Err(error) = retire_buttons(ctx, interaction, rating).await {
        tracing::debug!(ticket = ticket_id, error = %ErrorChain(&error), "could not retire the rating buttons");
    }
    Reply::FeedbackRecorded
}

async fn add_to_log_post(
    ctx: &Context,
    ticket_id: i64,
    category_key: &str,
    line: &str,
) -> crate::error::Result<()> {
    let Some(channel) = ctx
        .config()
        .categories
        .get(category_key)
        .map(|category| category.log_channel_id)
    else {
        return Ok(());
    };
    let Some(post) = crate::close::marked_post(ctx, channel, ticket_id).await? else {
        return Ok(());
    };
    let Some(content) = with_line(&post.content, line) else {
        return Ok(());
    };
    ctx.rest(
        DiscordCall::EditLogPost,
        ctx.http
            .update_message(channel, post.id)
            .content(Some(&content)),
    )
    .await?;
    Ok(())
}

/// Replaces the DM's rating buttons with a thank-you line, so nobody clicks them again.
async fn retire_buttons(
    ctx: &Context,
    interaction: &Interaction,
    rating: u8,
) -> crate::error::Result<()> {
    let (Some(channel), Some(message)) =
        (clicked_channel(interaction), interaction.message.as_ref())
    else {
        return Ok(());
    };
    let thanks = format!("Thank you: you rated it {rating}/5.");
    let Some(content) = with_line(&message.content, &thanks) else {
        return Ok(());
    };
    ctx.retire_message(DiscordCall::EditFeedbackDm, channel, message.id, &content)
        .await
}
