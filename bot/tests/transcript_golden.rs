//! The transcript of a fixture conversation (Discord's JSON, as the history endpoint sends it)
//! matches the reviewed Markdown in `tests/fixtures/transcript/`.
//!
//! After an intended change of the output, regenerate with
//! `TICKETEER_UPDATE_GOLDEN=1 cargo test -p ticketeer-bot --test transcript_golden` and review the
//! diff of the `.md` file.

use std::path::PathBuf;

use jiff::Timestamp;
use ticketeer_bot::transcript::{
    AttachmentCopy, KeptFile, Names, TranscriptMessage, TranscriptTicket, TranscriptUser,
    kept_files, render_markdown,
};
use twilight_model::channel::Message;
use twilight_model::id::Id;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcript")
        .join(name)
}

fn ticket() -> TranscriptTicket {
    TranscriptTicket {
        number: 42,
        category: "Support".to_owned(),
        guild_id: Id::new(100_000_000_000_000_001),
        guild_name: Some("Rust *Ops* <Guild>".to_owned()),
        opened_by: TranscriptUser {
            id: Id::new(200_000_000_000_000_001),
            display_name: "Alice 🌸".to_owned(),
            bot: false,
        },
        opened_at: Timestamp::from_second(1_714_564_799).expect("valid time"),
        closed_by: Some(TranscriptUser {
            id: Id::new(200_000_000_000_000_002),
            display_name: "Bob".to_owned(),
            bot: false,
        }),
        closed_at: Some(Timestamp::from_second(1_714_565_600).expect("valid time")),
        close_reason: Some("Fixed: the `token` was _missing_".to_owned()),
        added: Vec::new(),
    }
}

fn render_fixture(name: &str) -> String {
    let json = std::fs::read_to_string(fixture(name)).expect("fixture is readable");
    let discord_messages: Vec<Message> =
        serde_json::from_str(&json).expect("fixture is Discord message JSON");
    let mut names = Names::new();
    names
        .insert_role(Id::new(500_000_000_000_000_001), "Support Team")
        .insert_channel(Id::new(400_000_000_000_000_002), "bot-help");
    for message in &discord_messages {
        names.learn_from_message(message);
    }
    let mut messages: Vec<TranscriptMessage> = discord_messages
        .iter()
        .map(TranscriptMessage::from)
        .collect();
    // Discord's JSON says nothing of kept copies: the close's upload decides them. Set them as it
    // would, one file of each fate.
    for attachment in messages
        .iter_mut()
        .flat_map(|message| message.attachments.iter_mut())
    {
        attachment.copy = match attachment.filename.as_str() {
            "screen shot_(1).png" => AttachmentCopy::Kept {
                link: SCREENSHOT_LINK.to_owned(),
                sha256: SCREENSHOT_SHA256.to_owned(),
            },
            "log.txt" => AttachmentCopy::NotKept,
            _ => AttachmentCopy::OverTotal {
                limit: 8 * 1024 * 1024,
            },
        };
    }
    render_markdown(&ticket(), &messages, &names)
}

const SCREENSHOT_LINK: &str =
    "https://paste.example/?0123456789abcdef#9Lr3sXbX7u4yHk2sWc5fY8nQ1tZ6vJ0aPmE4dG7hK2b";
const SCREENSHOT_SHA256: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

#[test]
fn conversation_renders_as_the_reviewed_markdown() {
    let rendered = render_fixture("conversation.json");
    let golden = fixture("conversation.md");
    if std::env::var_os("TICKETEER_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &rendered).expect("golden file is writable");
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("golden file exists (see the module docs to create it)");
    assert!(
        rendered == expected,
        "the transcript differs from {}; rendered:\n{rendered}",
        golden.display()
    );
}

#[test]
fn the_kept_file_is_read_back_from_the_files_section() {
    let rendered = render_fixture("conversation.json");
    assert_eq!(
        kept_files(&rendered),
        [KeptFile {
            number: 1,
            name: "screen shot_(1).png".to_owned(),
            sha256: SCREENSHOT_SHA256.to_owned(),
            link: SCREENSHOT_LINK.to_owned(),
        }]
    );
}
