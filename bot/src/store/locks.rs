//! Who may work on what: close leases (the `close_leases` table) and the session advisory locks
//! under which one process at a time syncs a category's panel or creates an overflow parent.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgExecutor, PgPool, Postgres};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, GuildMarker};

use super::{Result, query_error};
use crate::error::ErrorChain;

/// Takes the lease that lets one process (`holder`) drive a ticket's close for `ttl`; `false`
/// when another holder's lease has not expired. A lease is a row, not a session lock, so holding
/// one costs no pooled connection while the close waits on Discord or PrivateBin.
pub async fn take_close_lease(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    holder: i64,
    ttl: Duration,
) -> Result<bool> {
    let taken = sqlx::query!(
        "INSERT INTO close_leases (ticket_id, holder, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (ticket_id) DO UPDATE
         SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE close_leases.expires_at < now()",
        ticket_id,
        holder,
        ttl.as_secs_f64(),
    )
    .execute(db)
    .await
    .map_err(query_error("take the close lease"))?;
    Ok(taken.rows_affected() == 1)
}

/// Extends `holder`'s leases on `ticket_ids` to `ttl` from now (leases it no longer holds are
/// left alone).
pub async fn renew_close_leases(
    db: impl PgExecutor<'_>,
    holder: i64,
    ticket_ids: &[i64],
    ttl: Duration,
) -> Result<()> {
    sqlx::query!(
        "UPDATE close_leases SET expires_at = now() + make_interval(secs => $3)
         WHERE holder = $1 AND ticket_id = ANY($2)",
        holder,
        ticket_ids,
        ttl.as_secs_f64(),
    )
    .execute(db)
    .await
    .map_err(query_error("renew the close leases"))?;
    Ok(())
}

/// Gives up `holder`'s lease on a ticket's close, so another process may drive it at once.
pub async fn release_close_lease(
    db: impl PgExecutor<'_>,
    ticket_id: i64,
    holder: i64,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM close_leases WHERE ticket_id = $1 AND holder = $2",
        ticket_id,
        holder
    )
    .execute(db)
    .await
    .map_err(query_error("release the close lease"))?;
    Ok(())
}

/// Gives up every close lease of `holder` (at shutdown, so the next process need not wait for
/// them to expire).
pub async fn release_close_leases_of(db: impl PgExecutor<'_>, holder: i64) -> Result<()> {
    sqlx::query!("DELETE FROM close_leases WHERE holder = $1", holder)
        .execute(db)
        .await
        .map_err(query_error("release the close leases"))?;
    Ok(())
}

/// The advisory lock namespace of panel syncs (the first key of Postgres' two-key advisory locks).
const PANEL_LOCK_CLASS: i32 = 0x7061_6e6c; // "panl"

/// A Postgres session advisory lock held on a connection of its own. Released by
/// [`AdvisoryLock::release`]; if the holder is dropped instead (a cancelled task), the connection
/// is closed rather than returned to the pool, which releases the lock too.
#[derive(Debug)]
pub struct AdvisoryLock {
    connection: PoolConnection<Postgres>,
    class: i32,
    key: i32,
}

impl AdvisoryLock {
    async fn connection(pool: &PgPool) -> Result<PoolConnection<Postgres>> {
        let mut connection = pool
            .acquire()
            .await
            .map_err(query_error("acquire a connection for an advisory lock"))?;
        connection.close_on_drop();
        Ok(connection)
    }

    /// Releases the lock (and closes its connection).
    pub async fn release(mut self) {
        let unlocked =
            sqlx::query_scalar!("SELECT pg_advisory_unlock($1, $2)", self.class, self.key)
                .fetch_one(&mut *self.connection)
                .await;
        if let Err(error) = unlocked {
            // Closing the connection (on drop) releases it all the same.
            tracing::debug!(error = %ErrorChain(&error), "could not release an advisory lock explicitly");
        }
    }
}

/// Waits for the lock under which one process at a time syncs a panel (by its key). It pins a
/// connection for the sync, which is bearable because a process syncs one panel at a time
/// ([`crate::Context`]'s `panel_sync`); closes, which run by the dozen, use leases instead.
pub async fn lock_panel(
    pool: &PgPool,
    bot: Id<ApplicationMarker>,
    panel_key: &str,
) -> Result<AdvisoryLock> {
    // Bots sharing a database may use the same category keys; their panels are not each other's.
    lock(pool, PANEL_LOCK_CLASS, &format!("{bot}/{panel_key}")).await
}

/// The advisory lock namespace of overflow parent creation.
const CREATED_PARENTS_LOCK_CLASS: i32 = 0x6f76_6670; // "ovfp"

/// Waits for the lock under which one process at a time decides whether a category needs one
/// more created overflow parent (and creates it), so racing opens create one, not one each.
/// Rare (only when every parent is full), so pinning a connection for it is bearable.
pub async fn lock_created_parents(
    pool: &PgPool,
    bot: Id<ApplicationMarker>,
    guild: Id<GuildMarker>,
    category_key: &str,
) -> Result<AdvisoryLock> {
    lock(
        pool,
        CREATED_PARENTS_LOCK_CLASS,
        &format!("{bot}/{guild}/{category_key}"),
    )
    .await
}

/// Takes the session advisory lock (`class`, hash of `scoped_key`) on a connection of its own.
async fn lock(pool: &PgPool, class: i32, scoped_key: &str) -> Result<AdvisoryLock> {
    let mut connection = AdvisoryLock::connection(pool).await?;
    let key = sqlx::query_scalar!(r#"SELECT hashtext($1) AS "key!""#, scoped_key)
        .fetch_one(&mut *connection)
        .await
        .map_err(query_error("hash an advisory lock key"))?;
    // pg_advisory_lock returns void, which has no Rust type: select from it instead.
    sqlx::query!(
        "SELECT 1 AS locked FROM pg_advisory_lock($1, $2)",
        class,
        key
    )
    .fetch_one(&mut *connection)
    .await
    .map_err(query_error("take an advisory lock"))?;
    Ok(AdvisoryLock {
        connection,
        class,
        key,
    })
}
