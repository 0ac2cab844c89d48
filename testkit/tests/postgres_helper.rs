//! The Postgres test helper against the local server (DATABASE_URL or 127.0.0.1:5432).

use sqlx::Row as _;
use ticketeer_testkit::postgres::{TestDatabase, server_url};

async fn database_exists(name: &str) -> bool {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&server_url())
        .await
        .expect("the maintenance database is reachable");
    sqlx::query("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut connection)
        .await
        .expect("pg_database is readable")
        .get::<i64, _>(0)
        == 1
}

#[tokio::test]
async fn a_test_database_is_fresh_usable_and_dropped_on_request() {
    let database = TestDatabase::create()
        .await
        .expect("a Postgres server for the tests");
    let name = database.name().to_owned();
    assert!(database.url().ends_with(&name), "{}", database.url());
    assert!(database_exists(&name).await);

    let pool = database.pool().await;
    let current: String = sqlx::query("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .expect("the pool connects to the test database")
        .get(0);
    assert_eq!(current, name);
    let tables: i64 =
        sqlx::query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(&pool)
            .await
            .expect("catalog query")
            .get(0);
    assert_eq!(tables, 0, "a fresh database has no tables");

    database.drop_now().await.expect("the database is dropped");
    assert!(!database_exists(&name).await);
}

#[tokio::test]
async fn a_test_database_is_dropped_when_it_goes_out_of_scope_even_with_open_connections() {
    let database = TestDatabase::create()
        .await
        .expect("a Postgres server for the tests");
    let name = database.name().to_owned();
    let pool = database.pool().await;
    sqlx::query("CREATE TABLE leftover (id int)")
        .execute(&pool)
        .await
        .expect("create a table");
    drop(database);
    assert!(!database_exists(&name).await);
}

#[tokio::test]
async fn two_test_databases_are_isolated_from_each_other() {
    let first = TestDatabase::create().await.expect("first database");
    let second = TestDatabase::create().await.expect("second database");
    assert_ne!(first.name(), second.name());
    sqlx::query("CREATE TABLE only_in_first (id int)")
        .execute(&first.pool().await)
        .await
        .expect("create a table");
    let visible: i64 = sqlx::query(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_first'",
    )
    .fetch_one(&second.pool().await)
    .await
    .expect("catalog query")
    .get(0);
    assert_eq!(visible, 0);
}
