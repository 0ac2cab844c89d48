//! A ticket's files survive its channel: kept encrypted in pastes of their own that the
//! transcript lists with their SHA-256, read back by pbincli (an implementation not ours) and by
//! `ticketeer-bot transcript get|verify`; the log post carries the transcript's hash, and a
//! transcript that is not what the bot stored is told apart.

mod support;

use support::closing::{click_close, log_posts, ticket_with_posts, wait_for_state};
use support::{Harness, eventually};
use ticketeer_bot::digest::sha256_hex;
use ticketeer_bot::privatebin::ClientTimeouts;
use ticketeer_bot::retrieve::{retrieve, write_folder};
use ticketeer_bot::store::{PartKind, Ticket, TicketState};
use ticketeer_bot::transcript::kept_files;
use ticketeer_testkit::discord::UserMessage;
use ticketeer_testkit::tools::{pbincli_get, pbincli_get_with_file};

/// Bytes that do not compress, like a photo's.
fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Opens a ticket for alice, has her post each of `files` as (name, MIME type, bytes) in its
/// own message, and waits until every message is counted.
async fn ticket_with_files(harness: &Harness, files: &[(&str, &str, Vec<u8>)]) -> (u64, Ticket) {
    let messages = files
        .iter()
        .enumerate()
        .map(|(index, (name, content_type, bytes))| {
            UserMessage::text(&format!("here is file {}", index + 1)).with_attachment(
                name,
                content_type,
                bytes,
            )
        })
        .collect();
    ticket_with_posts(harness, harness.world.alice, messages).await
}

/// The URLs Discord serves the channel's files at (its CDN).
fn cdn_urls(harness: &Harness, channel: u64) -> Vec<String> {
    let base = harness.control.base_url();
    harness
        .control
        .messages(channel)
        .into_iter()
        .flat_map(|message| message.attachments)
        .map(|attachment| {
            format!(
                "{base}/attachments/{channel}/{}/{}",
                attachment.id, attachment.filename
            )
        })
        .collect()
}

#[tokio::test]
async fn a_tickets_files_are_kept_in_the_transcript_and_read_back_by_pbincli() {
    let harness = Harness::start().await;
    let photo = noise(40_000, 7);
    let notes = b"order 1234: refund requested\n".repeat(20);
    let (channel, ticket) = ticket_with_files(
        &harness,
        &[
            ("photo.png", "image/png", photo.clone()),
            ("notes.txt", "text/plain", notes.clone()),
        ],
    )
    .await;
    let cdn = cdn_urls(&harness, channel);
    assert_eq!(cdn.len(), 2);
    for url in &cdn {
        let status = reqwest::get(url).await.expect("the CDN answers").status();
        assert_eq!(status, 200, "{url} is served while the channel exists");
    }
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;

    // Discord's copies went with the channel: the transcript's are the only ones left.
    for url in &cdn {
        let status = reqwest::get(url).await.expect("the CDN answers").status();
        assert_eq!(status, 404, "{url} is gone with the channel");
    }

    let link = closed.transcript_url.clone().expect("a transcript");
    let text = pbincli_get(&link)
        .await
        .expect("pbincli reads the transcript");
    let whole = closed.transcript_sha256.clone().expect("the hash is kept");
    assert_eq!(
        sha256_hex(text.as_bytes()),
        whole,
        "the kept hash is the text's"
    );
    let listed = kept_files(&text);
    assert_eq!(
        listed
            .iter()
            .map(|file| (file.number, file.name.as_str()))
            .collect::<Vec<_>>(),
        [(1, "photo.png"), (2, "notes.txt")],
        "{text}"
    );
    for (file, original) in listed.iter().zip([&photo, &notes]) {
        assert_eq!(file.sha256, sha256_hex(original));
        let paste = pbincli_get_with_file(&file.link)
            .await
            .expect("pbincli reads the file's paste");
        let (name, bytes) = paste.file.expect("pbincli saves the attached file");
        assert_eq!(name, file.name);
        assert_eq!(&bytes, original, "{name} comes back byte for byte");
    }
    let file_parts: Vec<_> = closed
        .transcript_parts
        .iter()
        .filter(|part| part.kind == PartKind::File)
        .collect();
    assert_eq!(
        file_parts.len(),
        2,
        "each file's paste is recorded, to delete it on request"
    );
    assert_eq!(closed.transcript_parts[0].kind, PartKind::Text);

    let posts = log_posts(&harness, closed.id);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].content.contains(&format!("SHA-256: `{whole}`")),
        "{}",
        posts[0].content
    );
    assert!(
        posts[0].content.contains("Kept: 2 files"),
        "{}",
        posts[0].content
    );

    let retrieved = retrieve(&link, ClientTimeouts::default())
        .await
        .expect("the transcript comes back");
    assert_eq!(retrieved.text, text);
    assert!(
        retrieved.intact(Some(&whole)),
        "{}",
        retrieved.report(Some(&whole))
    );
    let folder = tempfile_dir();
    let written = write_folder(&retrieved, &folder).expect("written to a folder");
    assert_eq!(written.len(), 3);
    assert_eq!(
        std::fs::read(folder.join("files/001-photo.png")).unwrap(),
        photo
    );
    assert_eq!(
        std::fs::read(folder.join("files/002-notes.txt")).unwrap(),
        notes
    );
    assert!(
        !retrieved.intact(Some(&sha256_hex(b"another transcript"))),
        "a transcript is not vouched for by another's hash"
    );
    let _ = std::fs::remove_dir_all(&folder);

    // The same through the binary, as the people who run the bot use it.
    let bot = env!("CARGO_BIN_EXE_ticketeer-bot");
    let verify = |hash: String| {
        let link = link.clone();
        async move {
            tokio::process::Command::new(bot)
                .args(["transcript", "verify", &link, &hash])
                .output()
                .await
                .expect("ticketeer-bot runs")
        }
    };
    let matching = verify(whole.clone()).await;
    let report = String::from_utf8_lossy(&matching.stdout);
    assert!(matching.status.success(), "{report}");
    assert!(report.contains("matches the expected SHA-256"), "{report}");
    assert_eq!(
        report.matches("matches the transcript's SHA-256").count(),
        2,
        "{report}"
    );
    let other = verify(sha256_hex(b"another transcript")).await;
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stdout).contains("DOES NOT MATCH"));
    let printed = tokio::process::Command::new(bot)
        .args(["transcript", "get", &link, "--sha256", &whole])
        .output()
        .await
        .expect("ticketeer-bot runs");
    assert!(printed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        text,
        "the Markdown on stdout"
    );
}

#[tokio::test]
async fn files_past_the_tickets_total_are_listed_but_not_kept() {
    let harness = Harness::start().await;
    let yaml = std::fs::read_to_string(&harness.config_path).expect("read the config");
    let privatebin = format!(
        "privatebin:\n  url: \"{}\"\n",
        harness.privatebin.base_url()
    );
    assert!(yaml.contains(&privatebin), "{yaml}");
    harness.write_config(&yaml.replace(
        &privatebin,
        &format!("{privatebin}  attachmentsMaxBytes: 1000\n"),
    ));
    eventually("the bot to load attachmentsMaxBytes: 1000", || {
        let loaded = harness.ctx.config().privatebin.attachments_max_bytes == 1000;
        async move { loaded.then_some(()) }
    })
    .await;
    let (channel, ticket) = ticket_with_files(
        &harness,
        &[
            ("first.bin", "application/octet-stream", noise(600, 1)),
            ("second.bin", "application/octet-stream", noise(800, 2)),
            ("third.bin", "application/octet-stream", noise(300, 3)),
        ],
    )
    .await;
    click_close(&harness, channel, &ticket).await;
    let closed = wait_for_state(&harness, ticket.id, TicketState::Closed).await;
    let text = pbincli_get(closed.transcript_url.as_deref().expect("a transcript"))
        .await
        .expect("pbincli reads the transcript");
    let kept: Vec<usize> = kept_files(&text).iter().map(|file| file.number).collect();
    assert_eq!(
        kept,
        [1, 3],
        "600 + 300 bytes fit in 1000, 800 more do not: {text}"
    );
    let second = text
        .lines()
        .find(|line| line.starts_with("2. ") && line.contains("second.bin"))
        .unwrap_or_else(|| panic!("file 2 is listed: {text}"));
    assert!(second.contains("not kept"), "{second}");
    assert_eq!(
        closed
            .transcript_parts
            .iter()
            .filter(|part| part.kind == PartKind::File)
            .count(),
        2
    );
}

/// A fresh folder under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!(
        "ticketeer-transcript-get-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    folder
}
