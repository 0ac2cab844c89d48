//! The PrivateBin emulator's JSON API against hand-built requests: the real server's rules.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use ticketeer_testkit::privatebin::{Language, PrivateBinConfig, PrivateBinEmulator};

/// A change that turns a valid paste into one the server refuses.
type Mutation = Box<dyn Fn(&mut Value)>;

const JSON_HEADER: (&str, &str) = ("X-Requested-With", "JSONHttpRequest");

fn random_base64(len: usize) -> String {
    STANDARD.encode((0..len).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
}

/// A paste the real server accepts: random bytes pass the entropy rule, the GCM tag is never checked.
fn valid_paste() -> Value {
    json!({
        "v": 2,
        "adata": [[random_base64(16), random_base64(8), 100_000, 256, 128, "aes", "gcm", "zlib"], "markdown", 0, 0],
        "ct": random_base64(300),
        "meta": {"expire": "1week"},
    })
}

/// An HTTP client; the workspace's reqwest leaves the choice of rustls provider to the program.
fn client() -> reqwest::Client {
    // Installing twice fails harmlessly: another test already installed the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn start(config: PrivateBinConfig) -> PrivateBinEmulator {
    PrivateBinEmulator::start(config)
        .await
        .expect("the emulator starts")
}

async fn post(emulator: &PrivateBinEmulator, body: &Value) -> Value {
    let response = client()
        .post(emulator.base_url())
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .body(body.to_string())
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(
        response.status(),
        200,
        "PrivateBin answers errors with HTTP 200"
    );
    response.json().await.expect("a JSON answer")
}

async fn get(emulator: &PrivateBinEmulator, query: &str) -> Value {
    client()
        .get(format!("{}?{query}", emulator.base_url()))
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .send()
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[track_caller]
fn assert_refused(answer: &Value, message: &str) {
    assert_eq!(answer["status"], 1, "{answer}");
    assert_eq!(answer["message"], message, "{answer}");
}

#[tokio::test]
async fn a_valid_paste_is_stored_under_the_fnv_hash_of_its_ciphertext() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let paste = valid_paste();
    let answer = post(&emulator, &paste).await;
    assert_eq!(answer["status"], 0, "{answer}");
    let id = answer["id"].as_str().expect("an id");
    let ct = paste["ct"].as_str().expect("ct");
    let expected_id = ct.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    assert_eq!(id, format!("{expected_id:016x}"));
    assert_eq!(answer["url"], format!("/?{id}"));
    let token = answer["deletetoken"].as_str().expect("a delete token");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let stored = emulator.paste(id).expect("the paste is stored");
    assert_eq!(stored.ct, ct);
    assert_eq!(stored.adata, paste["adata"]);
    assert_eq!(stored.formatter(), Some("markdown"));
    assert_eq!(stored.lifetime_secs, Some(604_800));
    assert_eq!(stored.delete_token, token);
    assert_eq!(emulator.paste_count(), 1);
}

#[tokio::test]
async fn answers_are_json_encoded_like_php_with_escaped_slashes_and_cors_headers() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let response = client()
        .put(emulator.base_url())
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .body(valid_paste().to_string())
        .send()
        .await
        .expect("the emulator answers");
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    assert!(
        text.contains(r#""url":"\/?"#),
        "PHP escapes slashes: {text}"
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, PUT, DELETE"
    );
    assert_eq!(
        headers["access-control-allow-headers"],
        "X-Requested-With, Content-Type"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["x-uncompressed-content-length"],
        text.len().to_string().as_str()
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .is_ok_and(|value| value.contains("no-store"))
    );
}

#[tokio::test]
async fn a_paste_reads_back_by_pasteid_and_by_bare_id_with_its_time_to_live() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let paste = valid_paste();
    let created = post(&emulator, &paste).await;
    let id = created["id"].as_str().expect("an id");
    for query in [format!("pasteid={id}"), id.to_owned()] {
        let read = get(&emulator, &query).await;
        assert_eq!(read["status"], 0, "{read}");
        assert_eq!(read["id"], id);
        assert_eq!(read["url"], format!("/?{id}"));
        assert_eq!(read["adata"], paste["adata"]);
        assert_eq!(read["ct"], paste["ct"]);
        assert_eq!(read["v"], 2);
        assert_eq!(read["comments"], json!([]));
        assert_eq!(read["comment_count"], 0);
        assert_eq!(read["comment_offset"], 0);
        assert_eq!(read["@context"], "?jsonld=paste");
        let ttl = read["meta"]["time_to_live"]
            .as_u64()
            .expect("a time to live");
        assert!((604_790..=604_800).contains(&ttl), "ttl {ttl}");
        assert!(read["meta"].get("salt").is_none(), "the salt is never sent");
    }
}

#[tokio::test]
async fn a_never_expiring_paste_reads_with_meta_as_an_empty_array() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["meta"]["expire"] = json!("never");
    let id = post(&emulator, &paste).await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let read = get(&emulator, &format!("pasteid={id}")).await;
    assert_eq!(read["meta"], json!([]), "{read}");
    assert_eq!(emulator.paste(&id).expect("stored").lifetime_secs, None);
}

#[tokio::test]
async fn an_unknown_expire_value_silently_becomes_the_default() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["meta"]["expire"] = json!("2weeks");
    let answer = post(&emulator, &paste).await;
    assert_eq!(answer["status"], 0, "{answer}");
    let id = answer["id"].as_str().expect("an id");
    assert_eq!(
        emulator.paste(id).expect("stored").lifetime_secs,
        Some(604_800)
    );
}

#[tokio::test]
async fn malformed_pastes_are_refused_as_the_real_server_refuses_them() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "boolean burn flag",
            Box::new(|paste| paste["adata"][3] = json!(false)),
        ),
        (
            "boolean discussion flag",
            Box::new(|paste| paste["adata"][2] = json!(true)),
        ),
        (
            "10000 iterations",
            Box::new(|paste| paste["adata"][0][2] = json!(10_000)),
        ),
        (
            "compressible ct",
            Box::new(|paste| paste["ct"] = json!(STANDARD.encode([b'A'; 200]))),
        ),
        (
            "extra meta key",
            Box::new(|paste| paste["meta"]["burnafterreading"] = json!(1)),
        ),
        ("version 1", Box::new(|paste| paste["v"] = json!(1))),
        (
            "key size 512",
            Box::new(|paste| paste["adata"][0][3] = json!(512)),
        ),
        (
            "unknown compression",
            Box::new(|paste| paste["adata"][0][7] = json!("gzip")),
        ),
        (
            "ct not base64",
            Box::new(|paste| paste["ct"] = json!("not*base64")),
        ),
        (
            "formatter not offered",
            Box::new(|paste| paste["adata"][1] = json!("html")),
        ),
        (
            "burn and discussion together",
            Box::new(|paste| {
                paste["adata"][2] = json!(1);
                paste["adata"][3] = json!(1);
            }),
        ),
        (
            "no meta",
            Box::new(|paste| {
                paste.as_object_mut().map(|object| object.remove("meta"));
            }),
        ),
    ];
    for (case, mutate) in cases {
        let mut paste = valid_paste();
        mutate(&mut paste);
        let answer = post(&emulator, &paste).await;
        assert_eq!(answer["status"], 1, "{case}: {answer}");
        assert_eq!(answer["message"], "Invalid data.", "{case}: {answer}");
    }
    assert_eq!(emulator.paste_count(), 0);
}

#[tokio::test]
async fn a_float_version_and_extra_top_level_keys_are_accepted() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["v"] = json!(2.0);
    paste["password"] = json!("dropped by the server");
    let answer = post(&emulator, &paste).await;
    assert_eq!(answer["status"], 0, "{answer}");
}

#[tokio::test]
async fn discussion_is_refused_when_the_server_disables_it() {
    let emulator = start(PrivateBinConfig {
        discussion_enabled: false,
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    let mut paste = valid_paste();
    paste["adata"][2] = json!(1);
    assert_refused(&post(&emulator, &paste).await, "Invalid data.");
}

#[tokio::test]
async fn a_ciphertext_over_the_size_limit_is_refused_with_privatebins_message() {
    let emulator = start(PrivateBinConfig {
        size_limit: 2_000_000,
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    let mut paste = valid_paste();
    paste["ct"] = json!(random_base64(1_500_003));
    assert_refused(
        &post(&emulator, &paste).await,
        "Document is limited to 2.00 MB of encrypted data.",
    );
    paste["ct"] = json!(random_base64(1_499_997));
    assert_eq!(
        post(&emulator, &paste).await["status"],
        0,
        "exactly under the limit passes"
    );
}

#[tokio::test]
async fn the_traffic_limiter_refuses_a_second_post_inside_the_window() {
    let emulator = start(PrivateBinConfig {
        traffic_limit_secs: 5,
        ..PrivateBinConfig::default()
    })
    .await;
    let first = post(&emulator, &valid_paste()).await;
    assert_eq!(first["status"], 0);
    assert_refused(
        &post(&emulator, &valid_paste()).await,
        "Please wait 5 seconds between each post.",
    );
    let id = first["id"].as_str().expect("id");
    assert_eq!(
        get(&emulator, id).await["status"],
        0,
        "reads are not limited"
    );
    emulator.advance_time(Duration::from_secs(6));
    assert_eq!(
        post(&emulator, &valid_paste()).await["status"],
        0,
        "the window has passed"
    );
    assert_eq!(emulator.paste_count(), 2);
}

#[tokio::test]
async fn the_traffic_limiter_tells_clients_apart_by_the_configured_header() {
    let emulator = start(PrivateBinConfig {
        traffic_limit_secs: 10,
        traffic_header: Some("X-Forwarded-For".to_owned()),
        ..PrivateBinConfig::default()
    })
    .await;
    let send = |forwarded_for: &'static str| {
        let url = emulator.base_url();
        async move {
            client()
                .post(url)
                .header(JSON_HEADER.0, JSON_HEADER.1)
                .header("X-Forwarded-For", forwarded_for)
                .body(valid_paste().to_string())
                .send()
                .await
                .expect("answer")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(send("10.0.0.1").await["status"], 0);
    assert_eq!(
        send("10.0.0.2").await["status"],
        0,
        "another client has its own window"
    );
    assert_refused(
        &send("10.0.0.1").await,
        "Please wait 10 seconds between each post.",
    );
}

#[tokio::test]
async fn a_delete_with_the_wrong_token_keeps_the_paste() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let id = post(&emulator, &valid_paste()).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let answer = post(
        &emulator,
        &json!({"pasteid": id, "deletetoken": "0".repeat(64)}),
    )
    .await;
    assert_refused(&answer, "Wrong deletion token. Document was not deleted.");
    assert!(emulator.paste(&id).is_some());
}

#[tokio::test]
async fn a_paste_is_deleted_by_its_token_in_a_body_or_the_query() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let client = client();

    let created = post(&emulator, &valid_paste()).await;
    let (id, token) = (
        created["id"].as_str().expect("id"),
        created["deletetoken"].as_str().expect("token"),
    );
    let answer = post(&emulator, &json!({"pasteid": id, "deletetoken": token})).await;
    assert_eq!(
        answer,
        json!({"status": 0, "id": id, "url": format!("/?{id}")})
    );
    assert!(emulator.paste(id).is_none());
    assert_refused(
        &get(&emulator, &format!("pasteid={id}")).await,
        "Document does not exist, has expired or has been deleted.",
    );

    let created = post(&emulator, &valid_paste()).await;
    let (id, token) = (
        created["id"].as_str().expect("id"),
        created["deletetoken"].as_str().expect("token"),
    );
    let answer = get(&emulator, &format!("pasteid={id}&deletetoken={token}")).await;
    assert_eq!(answer["status"], 0, "{answer}");
    assert!(emulator.paste(id).is_none());

    let created = post(&emulator, &valid_paste()).await;
    let (id, token) = (
        created["id"].as_str().expect("id"),
        created["deletetoken"].as_str().expect("token"),
    );
    let answer: Value = client
        .delete(emulator.base_url())
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .body(json!({"pasteid": id, "deletetoken": token}).to_string())
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["status"], 0, "{answer}");
    assert_eq!(emulator.paste_count(), 0);
}

#[tokio::test]
async fn a_burn_after_reading_paste_is_gone_after_its_first_read() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["adata"][3] = json!(1);
    let id = post(&emulator, &paste).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(get(&emulator, &id).await["status"], 0);
    assert_refused(
        &get(&emulator, &id).await,
        "Document does not exist, has expired or has been deleted.",
    );
}

#[tokio::test]
async fn an_expired_paste_does_not_exist() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["meta"]["expire"] = json!("5min");
    let id = post(&emulator, &paste).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    emulator.advance_time(Duration::from_secs(302));
    assert_refused(
        &get(&emulator, &id).await,
        "Document does not exist, has expired or has been deleted.",
    );
    assert!(emulator.paste(&id).is_none());
    assert_eq!(emulator.paste_count(), 0);
}

#[tokio::test]
async fn reading_an_id_that_is_not_16_hex_digits_is_refused() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    assert_refused(
        &get(&emulator, "pasteid=nothex").await,
        "Invalid document ID.",
    );
    assert_refused(
        &get(&emulator, "0123456789abcdef").await,
        "Document does not exist, has expired or has been deleted.",
    );
}

#[tokio::test]
async fn without_the_json_header_a_post_still_creates_but_answers_html() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let response = client()
        .post(emulator.base_url())
        .body(valid_paste().to_string())
        .send()
        .await
        .expect("answer");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|value| value.starts_with("text/html"))
    );
    assert!(response.text().await.expect("body").contains("<html"));
    assert_eq!(emulator.paste_count(), 1);
}

#[tokio::test]
async fn an_accept_header_preferring_json_is_a_json_call_and_html_reads_do_not_burn() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let mut paste = valid_paste();
    paste["adata"][3] = json!(1);
    let id = post(&emulator, &paste).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let page = client()
        .get(format!("{}?{id}", emulator.base_url()))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("body");
    assert!(page.contains("<html"), "{page}");
    assert!(
        emulator.paste(&id).is_some(),
        "the web page never reads the paste server-side"
    );
    let read: Value = client()
        .get(format!("{}?pasteid={id}", emulator.base_url()))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(read["status"], 0, "{read}");
}

#[tokio::test]
async fn the_json_ld_schema_announces_format_version_2() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let response = client()
        .get(format!("{}?jsonld=paste", emulator.base_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.headers()["content-type"], "application/ld+json");
    let schema: Value = response.json().await.expect("json");
    assert_eq!(schema["@context"]["v"]["@value"], 2);
    assert_eq!(schema["@context"]["pb"], "/?jsonld=types#");
}

#[tokio::test]
async fn a_sub_path_instance_answers_relative_urls_under_its_path() {
    let emulator = start(PrivateBinConfig {
        base_path: "/privatebin/".to_owned(),
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    assert!(emulator.base_url().ends_with("/privatebin/"));
    let answer = post(&emulator, &valid_paste()).await;
    assert_eq!(
        answer["url"],
        format!("/privatebin/?{}", answer["id"].as_str().expect("id"))
    );
    let elsewhere = client()
        .get(format!("http://{}/", emulator.addr()))
        .send()
        .await
        .expect("answer");
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn an_outage_answers_503_and_is_still_recorded() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    emulator.set_unavailable(true);
    let response = client()
        .post(emulator.base_url())
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .body(valid_paste().to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 503);
    assert_eq!(emulator.paste_count(), 0);
    assert_eq!(emulator.requests().len(), 1);
    emulator.set_unavailable(false);
    assert_eq!(post(&emulator, &valid_paste()).await["status"], 0);
}

#[tokio::test]
async fn every_request_is_recorded_as_received() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    let paste = valid_paste();
    let id = post(&emulator, &paste).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    get(&emulator, &format!("pasteid={id}")).await;
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path_and_query, "/");
    assert_eq!(
        requests[0].header("x-requested-with"),
        Some("JSONHttpRequest")
    );
    assert_eq!(requests[0].body_json(), Some(paste));
    assert!(requests[0].client.is_some());
    assert_eq!(requests[1].method, "GET");
    assert_eq!(requests[1].path_and_query, format!("/?pasteid={id}"));
    assert!(requests[1].body.is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_traffic_limiter_is_on_by_default_with_privatebins_ten_seconds() {
    let emulator = start(PrivateBinConfig::default()).await;
    assert_eq!(post(&emulator, &valid_paste()).await["status"], 0);
    assert_refused(
        &post(&emulator, &valid_paste()).await,
        "Please wait 10 seconds between each post.",
    );
}

/// Posts `body` with an `Accept-Language` header.
async fn post_in(emulator: &PrivateBinEmulator, accept_language: &str, body: &Value) -> Value {
    client()
        .post(emulator.base_url())
        .header(JSON_HEADER.0, JSON_HEADER.1)
        .header("Accept-Language", accept_language)
        .body(body.to_string())
        .send()
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test]
async fn a_fixed_german_instance_refuses_in_german_whatever_the_client_asks() {
    let emulator = start(PrivateBinConfig {
        language_default: Some(Language::German),
        language_selection: false,
        traffic_limit_secs: 1,
        size_limit: 1_000,
        ..PrivateBinConfig::default()
    })
    .await;
    let mut large = valid_paste();
    large["ct"] = json!(random_base64(1_000));
    assert_refused(
        &post_in(&emulator, "en", &large).await,
        "Texte sind auf 1.00 kB verschlüsselte Datenmenge beschränkt.",
    );
    assert_refused(
        &post_in(&emulator, "en", &valid_paste()).await,
        "Bitte warte eine Sekunde zwischen dem Absenden zweier Beiträge.",
    );
    assert_refused(
        &get(&emulator, "pasteid=0123456789abcdef").await,
        "Dieses Dokument gibt es nicht, es ist abgelaufen oder wurde gelöscht.",
    );
}

#[tokio::test]
async fn an_instance_with_language_selection_answers_in_the_clients_language() {
    let emulator = start(PrivateBinConfig {
        language_default: Some(Language::German),
        language_selection: true,
        traffic_limit_secs: 5,
        ..PrivateBinConfig::default()
    })
    .await;
    assert_eq!(post(&emulator, &valid_paste()).await["status"], 0);
    assert_refused(
        &post(&emulator, &valid_paste()).await,
        "Bitte warte 5 Sekunden zwischen dem Absenden zweier Beiträge.",
    );
    assert_refused(
        &post_in(&emulator, "en", &valid_paste()).await,
        "Please wait 5 seconds between each post.",
    );
    assert_refused(
        &post_in(&emulator, "fr-FR, de;q=0.5", &valid_paste()).await,
        "Bitte warte 5 Sekunden zwischen dem Absenden zweier Beiträge.",
    );
}

#[tokio::test]
async fn an_instance_without_a_default_language_follows_the_browser() {
    let emulator = start(PrivateBinConfig::without_traffic_limit()).await;
    assert_refused(
        &post_in(&emulator, "de-DE,de;q=0.9", &json!({})).await,
        "Ungültige Daten.",
    );
    assert_refused(&post(&emulator, &json!({})).await, "Invalid data.");
}
