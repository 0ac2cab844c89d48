//! The creator's rating of a closed ticket: recorded once, from the DM the bot sent.

use sqlx::PgExecutor;
use twilight_model::id::Id;
use twilight_model::id::marker::UserMarker;

use super::{Result, query_error, to_db};

/// What recording a rating did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackOutcome {
    /// Recorded; the ticket's category key, for the metrics and the log post.
    Recorded {
        /// The rated ticket's category.
        category_key: String,
    },
    /// The ticket was rated before; nothing changed.
    AlreadyRated {
        /// The rating given then.
        rating: i16,
    },
    /// No such ticket of this creator (never, or erased since).
    Unknown,
}

/// Records `rating` (1–5) and `comment` for `ticket_id` when `creator` opened it and it is not
/// rated yet; one conditional update, so a click repeated or handled twice records once.
pub async fn record_feedback(
    db: impl PgExecutor<'_> + Copy,
    ticket_id: i64,
    creator: Id<UserMarker>,
    rating: i16,
    comment: Option<&str>,
) -> Result<FeedbackOutcome> {
    let recorded = sqlx::query_scalar!(
        "UPDATE tickets
         SET feedback_rating = $3, feedback_comment = $4, feedback_at = now(), updated_at = now()
         WHERE id = $1 AND user_id = $2 AND feedback_rating IS NULL
         RETURNING category_key",
        ticket_id,
        to_db(creator),
        rating,
        comment,
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("record feedback"))?;
    if let Some(category_key) = recorded {
        return Ok(FeedbackOutcome::Recorded { category_key });
    }
    let earlier = sqlx::query_scalar!(
        "SELECT feedback_rating FROM tickets WHERE id = $1 AND user_id = $2",
        ticket_id,
        to_db(creator),
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("read feedback"))?;
    Ok(match earlier.flatten() {
        Some(rating) => FeedbackOutcome::AlreadyRated { rating },
        None => FeedbackOutcome::Unknown,
    })
}

/// A ticket's rating and comment, if given.
pub async fn feedback(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
) -> Result<Option<(i16, Option<String>)>> {
    let row = sqlx::query!(
        "SELECT feedback_rating, feedback_comment FROM tickets WHERE id = $1",
        ticket_id
    )
    .fetch_optional(db)
    .await
    .map_err(query_error("read feedback"))?;
    Ok(row.and_then(|row| {
        row.feedback_rating
            .map(|rating| (rating, row.feedback_comment))
    }))
}
