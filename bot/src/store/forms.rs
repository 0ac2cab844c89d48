//! The `ticket_form_answers` table: what a ticket's creator answered to its category's
//! questions, kept until the transcript holds them.

use sqlx::PgExecutor;

use super::{Result, query_error};

/// One answer, with the question as it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormAnswer {
    /// The question's label when the form was shown.
    pub question: String,
    /// What the creator typed (empty for an optional question left blank).
    pub answer: String,
}

/// Records a new ticket's answers, in question order.
pub async fn save_form_answers(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    answers: &[FormAnswer],
) -> Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let questions: Vec<String> = answers.iter().map(|a| a.question.clone()).collect();
    let texts: Vec<String> = answers.iter().map(|a| a.answer.clone()).collect();
    sqlx::query!(
        "INSERT INTO ticket_form_answers (ticket_id, position, question, answer)
         SELECT $1, (ordinality - 1)::smallint, question, answer
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS given (question, answer, ordinality)
         ON CONFLICT (ticket_id, position) DO NOTHING",
        ticket_id,
        &questions,
        &texts,
    )
    .execute(db)
    .await
    .map_err(query_error("save form answers"))?;
    Ok(())
}

/// A ticket's answers in question order; empty when its category asks nothing or the
/// transcript already holds them.
pub async fn form_answers(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<Vec<FormAnswer>> {
    sqlx::query_as!(
        FormAnswer,
        "SELECT question, answer FROM ticket_form_answers WHERE ticket_id = $1 ORDER BY position",
        ticket_id
    )
    .fetch_all(db)
    .await
    .map_err(query_error("load form answers"))
}

/// Deletes a ticket's answers; called in the transaction that records its transcript, which
/// holds them from then on.
pub async fn delete_form_answers(db: impl PgExecutor<'_>, ticket_id: i64) -> Result<u64> {
    let deleted = sqlx::query!(
        "DELETE FROM ticket_form_answers WHERE ticket_id = $1",
        ticket_id
    )
    .execute(db)
    .await
    .map_err(query_error("delete form answers"))?;
    Ok(deleted.rows_affected())
}
