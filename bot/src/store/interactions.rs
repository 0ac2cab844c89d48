//! The `processed_interactions` table: the clicks already handled, so each is handled once
//! however many replicas receive it.

use std::time::Duration;

use sqlx::PgExecutor;
use twilight_model::id::Id;
use twilight_model::id::marker::InteractionMarker;

use super::{Result, query_error, to_db};

/// Marks an interaction as handled; `true` for the first caller only, so each click is handled once
/// even when several replicas receive it.
pub async fn claim_interaction(
    db: impl PgExecutor<'_>,
    interaction: Id<InteractionMarker>,
) -> Result<bool> {
    let claimed = sqlx::query!(
        "INSERT INTO processed_interactions (interaction_id) VALUES ($1) ON CONFLICT DO NOTHING",
        to_db(interaction)
    )
    .execute(db)
    .await
    .map_err(query_error("claim interaction"))?;
    Ok(claimed.rows_affected() == 1)
}

/// Forgets handled interactions older than `max_age` (Discord never redelivers them that late).
pub async fn prune_interactions(db: impl PgExecutor<'_>, max_age: Duration) -> Result<u64> {
    let pruned = sqlx::query!(
        "DELETE FROM processed_interactions WHERE processed_at < now() - make_interval(secs => $1)",
        max_age.as_secs_f64()
    )
    .execute(db)
    .await
    .map_err(query_error("prune interactions"))?;
    Ok(pruned.rows_affected())
}
