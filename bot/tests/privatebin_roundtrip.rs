//! The PrivateBin client against the PrivateBin emulator, cross-checked with pbincli, the
//! independent reference client: what we store, pbincli reads; what pbincli stores, we read; the
//! key never reaches the server; big transcripts are split and read back whole; the traffic
//! limiter, outages and refusals are handled as PrivateBin documents them.

use std::time::Duration;

use base64::Engine;
use jiff::Timestamp;
use ticketeer_bot::privatebin::{
    PasteKey, PasteOptions, PrivateBinError, RetryPolicy, ShareLink, StoredTranscript, UploadQueue,
    UploadSettings, encrypt_paste,
};
use ticketeer_bot::transcript::{
    AttachmentCopy, MessageKind, Names, TranscriptAttachment, TranscriptMessage, TranscriptTicket,
    TranscriptUser, render_markdown,
};
use ticketeer_testkit::privatebin::{Language, PrivateBinConfig, PrivateBinEmulator};
use twilight_model::id::Id;

async fn emulator(config: PrivateBinConfig) -> PrivateBinEmulator {
    // The bot's PrivateBin client needs the process's crypto provider, which `main` installs.
    let _ = rustls::crypto::ring::default_provider().install_default();
    PrivateBinEmulator::start(config)
        .await
        .expect("the PrivateBin emulator starts")
}

fn fast_settings(base_url: String) -> UploadSettings {
    UploadSettings {
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            max_traffic_limit_waits: 5,
            // The server counts whole seconds and refuses until N have fully passed since the
            // last paste's second: less than a second of slack can be refused twice.
            traffic_limit_slack: Duration::from_secs(1),
            unrecognised_refusal_wait: Duration::from_millis(1_200),
            max_unrecognised_refusals: 4,
        },
        ..UploadSettings::new(base_url)
    }
}

fn user(index: u64) -> TranscriptUser {
    TranscriptUser {
        id: Id::new(200_000_000_000_000_000 + index),
        display_name: ["Alice", "Bob", "Ticketeer", "Chloé"]
            [usize::try_from(index % 4).expect("small")]
        .to_owned(),
        bot: index % 4 == 2,
    }
}

fn transcript(messages: u64) -> String {
    let ticket = TranscriptTicket {
        number: 99,
        category: "Support".to_owned(),
        guild_id: Id::new(100_000_000_000_000_001),
        guild_name: Some("Guild".to_owned()),
        opened_by: user(0),
        opened_at: Timestamp::from_second(1_714_564_800).expect("valid time"),
        closed_by: Some(user(1)),
        closed_at: Some(Timestamp::from_second(1_714_664_800).expect("valid time")),
        close_reason: None,
        added: Vec::new(),
    };
    let messages: Vec<TranscriptMessage> = (0..messages)
        .map(|index| TranscriptMessage {
            id: Id::new(300_000_000_000_000_000 + index),
            author: user(index % 4),
            webhook: false,
            timestamp: Timestamp::from_second(1_714_564_800 + i64::try_from(index).expect("small")).expect("valid time"),
            edited_timestamp: None,
            content: format!(
                "message {index}: ünïcödé 🎉 `code` <@200000000000000001> https://example.com/{index}_{} **{}**\n```\nblock {index}\n```",
                index * 7919 % 10_007,
                index * 104_729 % 1_000_003
            ),
            kind: MessageKind::Default,
            referenced: None,
            attachments: if index % 50 == 0 {
                vec![TranscriptAttachment {
                    filename: format!("file_{index}.png"),
                    size: 1000 + index,
                    url: format!("https://cdn.discordapp.com/attachments/1/{index}/file.png"),
                    content_type: Some("image/png".to_owned()),
                    description: None,
                    copy: AttachmentCopy::NotKept,
                }]
            } else {
                Vec::new()
            },
            embeds: Vec::new(),
            stickers: Vec::new(),
            components: Vec::new(),
        })
        .collect();
    render_markdown(&ticket, &messages, &Names::new())
}

/// Reads a paste with pbincli, the reference client.
async fn pbincli_get(link: &str) -> String {
    // Fails with how to install pbincli when it is missing.
    ticketeer_testkit::tools::pbincli();
    ticketeer_testkit::tools::pbincli_get(link)
        .await
        .expect("pbincli reads the paste")
}

fn every_recorded_byte(server: &PrivateBinEmulator) -> String {
    server
        .requests()
        .iter()
        .map(|request| {
            let headers: Vec<String> = request
                .headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect();
            format!(
                "{} {}\n{}\n{}",
                request.method,
                request.path_and_query,
                headers.join("\n"),
                request.body_text()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key_of(link: &str) -> PasteKey {
    ShareLink::parse(link).expect("a share link").key().clone()
}

#[tokio::test]
async fn our_paste_decrypts_with_pbincli_to_exactly_our_text() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let text = transcript(50);
    let stored = queue.upload(text.clone()).await.expect("upload succeeds");
    assert_eq!(stored.parts.len(), 1);
    assert!(stored.url.starts_with(&server.base_url()));
    assert_eq!(pbincli_get(&stored.url).await, text);
}

#[tokio::test]
async fn pbincli_paste_decrypts_with_our_client() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let text = "# From pbincli\n\nünïcödé 🎉 <b>x</b>\n```\ncode\n```\n";
    ticketeer_testkit::tools::pbincli();
    let sent = ticketeer_testkit::tools::pbincli_send(
        &server.base_url(),
        text,
        &["-F", "markdown", "-E", "1week"],
    )
    .await
    .expect("pbincli sends the paste");
    assert_eq!(
        queue
            .read_transcript(&sent.link)
            .await
            .expect("our client reads pbincli's paste"),
        text
    );
}

#[tokio::test]
async fn the_key_never_reaches_the_server() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    // A small client-side limit: the transcript is split before the server ever refuses it.
    let settings = UploadSettings {
        max_paste_bytes: 20_000,
        ..fast_settings(server.base_url())
    };
    let queue = UploadQueue::spawn(&settings).expect("queue starts");
    let stored = queue
        .upload(transcript(2000))
        .await
        .expect("upload succeeds");
    assert!(
        stored.parts.len() > 1,
        "the transcript should have been split"
    );
    queue.read_transcript(&stored.url).await.expect("read back");
    let seen = every_recorded_byte(&server);
    assert!(!server.requests().is_empty());
    for request in server.requests() {
        assert_eq!(
            request.header("X-Requested-With"),
            Some("JSONHttpRequest"),
            "{} {}",
            request.method,
            request.path_and_query
        );
    }
    for part in &stored.parts {
        let key = key_of(&part.url);
        let base58 = key.to_base58();
        let base64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        let hex = hex::encode(key.as_bytes());
        for (form, encoded) in [("base58", &base58), ("base64", &base64), ("hex", &hex)] {
            assert!(
                !seen.contains(encoded.as_str()),
                "the {form} key of part {} reached the server",
                part.id
            );
        }
    }
}

#[tokio::test]
async fn ten_thousand_messages_are_split_uploaded_and_read_back_intact() {
    // The server's limit is far below the client's default, so the client learns it from the
    // server's "Document is limited to …" answer and splits smaller; every part but the first
    // waits out the limiter, which the size refusals also start.
    let server = emulator(PrivateBinConfig {
        size_limit: 200_000,
        traffic_limit_secs: 1,
        ..PrivateBinConfig::default()
    })
    .await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let text = transcript(10_000);
    let stored = queue.upload(text.clone()).await.expect("upload succeeds");
    assert!(stored.parts.len() > 1);
    assert_eq!(stored.url, stored.parts[0].url);
    assert_eq!(
        server.paste_count(),
        stored.parts.len(),
        "no orphaned parts are left behind"
    );
    assert_eq!(
        queue.read_transcript(&stored.url).await.expect("read back"),
        text
    );
    // The first part is readable by the reference client too.
    let first = pbincli_get(&stored.url).await;
    assert!(first.starts_with(&format!("> **Part 1 of {}**", stored.parts.len())));
}

#[tokio::test]
async fn traffic_limiter_is_waited_out() {
    let server = emulator(PrivateBinConfig {
        traffic_limit_secs: 5,
        ..PrivateBinConfig::default()
    })
    .await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    // Another paste from this IP a moment ago: the limiter's window is open when the queue posts.
    let (request, _) = encrypt_paste("earlier ticket", &PasteOptions::default(), &mut rand::rng())
        .expect("encrypts");
    queue
        .client()
        .create(&request)
        .await
        .expect("the first paste is accepted");
    let stored = queue
        .upload("later ticket")
        .await
        .expect("the upload waits out the limiter");
    let creates = server
        .requests()
        .iter()
        .filter(|request| request.method == "POST")
        .count();
    assert_eq!(
        creates, 3,
        "the queue's paste should have been refused once, then retried"
    );
    assert_eq!(
        queue.read_transcript(&stored.url).await.expect("read back"),
        "later ticket"
    );
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    server.set_unavailable(true);
    let upload = tokio::spawn({
        let queue = queue.clone();
        async move { queue.upload("during an outage").await }
    });
    // Restore the server as soon as the first attempt has been refused.
    let posts = || {
        server
            .requests()
            .iter()
            .filter(|request| request.method == "POST")
            .count()
    };
    tokio::time::timeout(Duration::from_mins(1), async {
        while posts() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the queue tries to upload");
    server.set_unavailable(false);
    let stored = upload
        .await
        .expect("task")
        .expect("upload succeeds after the outage");
    assert_eq!(
        queue.read_transcript(&stored.url).await.expect("read back"),
        "during an outage"
    );
}

#[tokio::test]
async fn a_lasting_outage_fails_after_bounded_retries() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    server.set_unavailable(true);
    let error = queue
        .upload("never stored")
        .await
        .expect_err("the server stays down");
    assert!(
        matches!(error, PrivateBinError::ServerStatus { status: 503, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn other_refusals_are_errors_with_the_servers_message() {
    // A server without the markdown formatter refuses our pastes as invalid.
    let server = emulator(PrivateBinConfig {
        formatters: vec!["plaintext".to_owned()],
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let error = queue.upload("x").await.expect_err("the server refuses");
    match error {
        PrivateBinError::ServerRejected { message, .. } => assert_eq!(message, "Invalid data."),
        other => panic!("unexpected error {other:?}"),
    }
    let creates = server
        .requests()
        .iter()
        .filter(|request| request.method == "POST")
        .count();
    assert_eq!(creates, 1, "a refusal is not retried");
}

#[tokio::test]
async fn stored_transcripts_can_be_deleted() {
    let server = emulator(PrivateBinConfig::without_traffic_limit()).await;
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let stored: StoredTranscript = queue.upload("to be erased").await.expect("upload succeeds");
    assert!(server.paste(&stored.parts[0].id).is_some());
    queue.delete(&stored).await.expect("delete succeeds");
    assert!(server.paste(&stored.parts[0].id).is_none());
    assert!(queue.read_transcript(&stored.url).await.is_err());
}

#[tokio::test]
async fn a_server_under_a_sub_path_works() {
    let server = emulator(PrivateBinConfig {
        base_path: "/privatebin/".to_owned(),
        ..PrivateBinConfig::without_traffic_limit()
    })
    .await;
    assert!(server.base_url().ends_with("/privatebin/"));
    let queue = UploadQueue::spawn(&fast_settings(server.base_url())).expect("queue starts");
    let stored = queue
        .upload("under a sub-path")
        .await
        .expect("upload succeeds");
    assert!(stored.url.starts_with(&server.base_url()));
    assert_eq!(pbincli_get(&stored.url).await, "under a sub-path");
}

#[tokio::test]
async fn an_instance_that_honours_accept_language_refuses_the_client_in_english() {
    // German for browsers without a preference, the client's language otherwise.
    let server = emulator(PrivateBinConfig {
        language_default: Some(Language::German),
        language_selection: true,
        // Long enough that encrypting the second paste does not outlast the window.
        traffic_limit_secs: 3,
        ..PrivateBinConfig::default()
    })
    .await;
    // An unrecognised refusal would be waited on for a minute: only the English limiter answer
    // ("Please wait 3 seconds …") lets the upload through in time.
    let settings = UploadSettings {
        retry: RetryPolicy {
            unrecognised_refusal_wait: Duration::from_mins(1),
            ..fast_settings(server.base_url()).retry
        },
        ..fast_settings(server.base_url())
    };
    let queue = UploadQueue::spawn(&settings).expect("queue starts");
    queue.upload("first").await.expect("the first paste passes");
    let second = tokio::time::timeout(Duration::from_secs(20), queue.upload("second"))
        .await
        .expect("the limiter's English answer is waited out, not a minute")
        .expect("the second paste passes");
    assert_eq!(
        queue.read_transcript(&second.url).await.expect("read back"),
        "second"
    );
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|request| request.method == "POST")
        .collect();
    assert_eq!(posts.len(), 3, "the second paste was refused once");
    for post in posts {
        assert_eq!(post.header("accept-language"), Some("en"));
    }
}
