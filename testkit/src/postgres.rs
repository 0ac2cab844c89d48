//! Fresh, isolated databases on a real Postgres server, one per test.
//!
//! The server comes from `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! its database is only used as the maintenance database to `CREATE` and `DROP` test databases.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection, PgPool};

/// The server used when `DATABASE_URL` is not set.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How many connections a test's pool may open (tests run in parallel on one server).
const POOL_SIZE: u32 = 5;

static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

/// Why a test database could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestDatabaseError {
    /// The URL cannot be parsed.
    #[error(
        "DATABASE_URL {url} is not a Postgres URL: set DATABASE_URL=postgres://user[:password]@host:port/database"
    )]
    ParseUrl {
        /// The URL, password hidden.
        url: String,
        /// What was wrong.
        #[source]
        source: sqlx::Error,
    },
    /// The server does not answer or refuses the login.
    #[error("no Postgres reachable at {url}: set DATABASE_URL or start PostgreSQL")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What failed.
        #[source]
        source: sqlx::Error,
    },
    /// `CREATE DATABASE` failed (e.g. the user may not create databases).
    #[error("creating test database {name} on {url} (the DATABASE_URL user needs CREATEDB)")]
    CreateDatabase {
        /// The database's name, unique to the test (`ticketeer_test_…`).
        name: String,
        /// The URL, password hidden.
        url: String,
        /// What failed.
        #[source]
        source: sqlx::Error,
    },
    /// `DROP DATABASE` failed.
    #[error("dropping test database {name}")]
    DropDatabase {
        /// The database's name, unique to the test (`ticketeer_test_…`).
        name: String,
        /// What failed.
        #[source]
        source: sqlx::Error,
    },
}

/// A uniquely named database created for one test; dropped on `Drop` or by [`drop_now`](Self::drop_now).
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    server: PgConnectOptions,
    pool: PgPool,
    dropped: bool,
}

impl TestDatabase {
    /// Creates a fresh database on the server named by [`server_url`].
    ///
    /// # Errors
    /// [`TestDatabaseError::Connect`] when no server answers (`no Postgres reachable at <url>: set
    /// DATABASE_URL or start PostgreSQL`), [`TestDatabaseError::CreateDatabase`] when the user may
    /// not create databases.
    pub async fn create() -> Result<Self, TestDatabaseError> {
        Self::create_on(&server_url()).await
    }

    /// Creates a fresh database on the server at `server_url` (one a test started itself).
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub async fn create_on(server_url: &str) -> Result<Self, TestDatabaseError> {
        let server_url = server_url.to_owned();
        let shown_url = redact_password(&server_url);
        let server = PgConnectOptions::from_str(&server_url).map_err(|source| {
            TestDatabaseError::ParseUrl {
                url: shown_url.clone(),
                source,
            }
        })?;
        let name = unique_name();
        let mut connection = PgConnection::connect_with(&server)
            .await
            .map_err(|source| TestDatabaseError::Connect {
                url: shown_url.clone(),
                source,
            })?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut connection)
            .await
            .map_err(|source| TestDatabaseError::CreateDatabase {
                name: name.clone(),
                url: shown_url.clone(),
                source,
            })?;
        let _ = connection.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(server.clone().database(&name))
            .await
            .map_err(|source| TestDatabaseError::Connect {
                url: shown_url,
                source,
            })?;
        Ok(Self {
            url: with_database(&server_url, &name),
            name,
            server,
            pool,
            dropped: false,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for the test database (the server URL with the database replaced).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A connection pool to the test database (a handle on the shared pool).
    ///
    /// Async so the pool may become lazily connected without changing callers.
    #[allow(clippy::unused_async)]
    pub async fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// Closes the pool and drops the database now, reporting failure.
    ///
    /// # Errors
    /// [`TestDatabaseError::Connect`] or [`TestDatabaseError::DropDatabase`].
    pub async fn drop_now(mut self) -> Result<(), TestDatabaseError> {
        self.dropped = true;
        self.pool.close().await;
        drop_database(&self.server, &self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop cannot await, so the cleanup runs on its own thread and runtime. It must not touch
        // the pool: its sockets belong to the test's runtime, which is blocked here. FORCE ends
        // the pool's connections server-side instead.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(drop_database(&server, &name)),
                Err(error) => {
                    eprintln!("test database {name} left behind: no runtime to drop it: {error}");
                    Ok(())
                }
            }
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("test database left behind: {error}"),
            Err(_) => eprintln!("test database {} left behind: cleanup panicked", self.name),
        }
    }
}

async fn drop_database(server: &PgConnectOptions, name: &str) -> Result<(), TestDatabaseError> {
    let mut connection = PgConnection::connect_with(server).await.map_err(|source| {
        TestDatabaseError::DropDatabase {
            name: name.to_owned(),
            source,
        }
    })?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut connection)
    .await
    .map_err(|source| TestDatabaseError::DropDatabase {
        name: name.to_owned(),
        source,
    })?;
    let _ = connection.close().await;
    Ok(())
}

/// `DATABASE_URL`, or [`DEFAULT_SERVER_URL`] when it is unset or empty.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
}

/// A database name no other test (in this or another process) uses: pid, counter, random.
fn unique_name() -> String {
    format!(
        "ticketeer_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// The URL with its path (the database) replaced by `database`, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{database}"));
            parsed.to_string()
        }
        // Not a URL: the server refuses it with a message of its own.
        Err(_) => url.to_owned(),
    }
}

/// The URL with any password replaced by `***`, for error messages.
fn redact_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only a URL that cannot have a password refuses one, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_in_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_password("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn database_names_are_unique_and_valid_identifiers() {
        let first = unique_name();
        let second = unique_name();
        assert_ne!(first, second);
        assert!(
            first.len() < 63,
            "Postgres truncates identifiers at 63 bytes: {first}"
        );
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}
