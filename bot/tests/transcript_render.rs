//! Properties of rendered transcripts that must hold for any conversation.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use ticketeer_bot::transcript::{
    MessageKind, Names, TranscriptMessage, TranscriptTicket, TranscriptUser, render_markdown,
};
use twilight_model::channel::Message;
use twilight_model::guild::Member;
use twilight_model::id::Id;

fn user(id: u64, name: &str) -> TranscriptUser {
    TranscriptUser {
        id: Id::new(id),
        display_name: name.to_owned(),
        bot: false,
    }
}

fn ticket() -> TranscriptTicket {
    TranscriptTicket {
        number: 7,
        category: "Billing".to_owned(),
        guild_id: Id::new(100_000_000_000_000_001),
        guild_name: None,
        opened_by: user(200_000_000_000_000_001, "Alice"),
        opened_at: Timestamp::from_second(1_700_000_000).expect("valid time"),
        closed_by: None,
        closed_at: None,
        close_reason: None,
    }
}

fn message(id: u64, author: &TranscriptUser, content: &str) -> TranscriptMessage {
    TranscriptMessage {
        id: Id::new(id),
        author: author.clone(),
        webhook: false,
        timestamp: Timestamp::from_second(
            1_700_000_000 + i64::try_from(id % 100_000).expect("small"),
        )
        .expect("valid time"),
        edited_timestamp: None,
        content: content.to_owned(),
        kind: MessageKind::Default,
        referenced: None,
        attachments: Vec::new(),
        embeds: Vec::new(),
        stickers: Vec::new(),
        components: Vec::new(),
    }
}

/// Whether each line of `markdown` is inside a fenced code block (CommonMark's fence rules).
fn lines_inside_fences(markdown: &str) -> Vec<(bool, &str)> {
    let mut open: Option<usize> = None;
    markdown
        .lines()
        .map(|line| {
            let inside = open.is_some();
            let trimmed = line.trim_start_matches("> ").trim_start();
            let run = trimmed.bytes().take_while(|&byte| byte == b'`').count();
            if run >= 3 {
                match open {
                    None => open = Some(run),
                    Some(length) if run >= length && trimmed[run..].trim().is_empty() => {
                        open = None;
                    }
                    Some(_) => {}
                }
            }
            (inside, line)
        })
        .collect()
}

#[test]
fn messages_are_rendered_oldest_first_whatever_the_input_order() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let messages = [
        message(300_000_000_000_000_003, &alice, "third"),
        message(300_000_000_000_000_001, &alice, "first"),
        message(300_000_000_000_000_002, &alice, "second"),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    let first = markdown.find("first").expect("first is rendered");
    let second = markdown.find("second").expect("second is rendered");
    let third = markdown.find("third").expect("third is rendered");
    assert!(first < second && second < third, "{markdown}");
}

#[test]
fn an_unclosed_code_fence_cannot_swallow_later_messages() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let bob = user(200_000_000_000_000_002, "Bob");
    let messages = [
        message(300_000_000_000_000_001, &alice, "```rust\nfn main() {"),
        message(
            300_000_000_000_000_002,
            &bob,
            "````\nfour ticks, never closed",
        ),
        message(300_000_000_000_000_003, &alice, "```a```b```"),
        message(300_000_000_000_000_004, &bob, "still readable"),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    let lines = lines_inside_fences(&markdown);
    for (inside, line) in &lines {
        if line.starts_with("#### ") {
            assert!(
                !inside,
                "heading {line:?} is swallowed by a code block:\n{markdown}"
            );
        }
    }
    assert!(
        !lines.last().expect("not empty").0,
        "the transcript ends inside a code block:\n{markdown}"
    );
}

#[test]
fn user_text_cannot_inject_html_outside_code() {
    let eve = user(200_000_000_000_000_009, "<b onmouseover=x>Eve</b>");
    let messages = [message(
        300_000_000_000_000_001,
        &eve,
        "<iframe src=//evil>\n<a href=javascript:x>y</a>",
    )];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    for (inside, line) in lines_inside_fences(&markdown) {
        let outside_code_spans: String = line.split('`').step_by(2).collect();
        if !inside {
            assert!(!outside_code_spans.contains('<'), "raw '<' in {line:?}");
        }
    }
    assert!(markdown.contains("&lt;iframe src=//evil&gt;"));
}

#[test]
fn a_2000_character_message_is_kept_whole() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let content: String = "abc😀é".chars().cycle().take(2000).collect();
    let markdown = render_markdown(
        &ticket(),
        &[message(300_000_000_000_000_001, &alice, &content)],
        &Names::new(),
    );
    assert!(markdown.contains(&content));
}

#[test]
fn empty_content_is_said_not_silently_dropped() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let markdown = render_markdown(
        &ticket(),
        &[message(300_000_000_000_000_001, &alice, "")],
        &Names::new(),
    );
    assert!(markdown.contains("*(no text content)*"), "{markdown}");
}

#[test]
fn header_counts_messages_and_participants() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let bob = user(200_000_000_000_000_002, "Bob");
    let messages = [
        message(300_000_000_000_000_001, &alice, "a"),
        message(300_000_000_000_000_002, &bob, "b"),
        message(300_000_000_000_000_003, &alice, "c"),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert!(markdown.contains("- **Messages:** 3\n"), "{markdown}");
    assert!(
        markdown.contains("- **Participants:** Alice (`200000000000000001`) — 2 messages; Bob (`200000000000000002`) — 1 message\n"),
        "{markdown}"
    );
    assert!(!markdown.contains("<t:"));
}

/// A guild message as Discord sends it; `member` (the author's, with their nickname) only comes
/// with gateway events.
fn discord_message(
    author: &serde_json::Value,
    member: Option<serde_json::Value>,
    content: &str,
    mentions: &serde_json::Value,
) -> Message {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut json = serde_json::json!({
        "id": id.to_string(),
        "channel_id": "400000000000000001",
        "guild_id": "100000000000000001",
        "author": author,
        "content": content,
        "timestamp": "2024-05-01T12:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": []
    });
    if let Some(member) = member {
        json["member"] = member;
    }
    serde_json::from_value(json).expect("Discord message JSON")
}

static NEXT_ID: AtomicU64 = AtomicU64::new(300_000_000_000_000_001);

const ALICE: u64 = 200_000_000_000_000_001;

fn discord_user(id: u64, username: &str, global_name: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "avatar": null,
        "global_name": global_name,
        "public_flags": 0
    })
}

fn member_json(nick: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "nick": nick,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "deaf": false,
        "mute": false,
        "flags": 0
    })
}

fn learned(messages: &[Message]) -> Names {
    messages.iter().fold(Names::new(), |mut names, message| {
        names.learn_from_message(message);
        names
    })
}

#[test]
fn a_mention_and_a_heading_of_the_same_user_use_the_same_name() {
    let alice = discord_user(ALICE, "alice_92", "Alice");
    let bob = discord_user(200_000_000_000_000_002, "bob_staff", "Bob");
    // As the history endpoint sends them: Bob mentions Alice before she writes, and the mention
    // alone does not carry her display name.
    let discord_messages = [
        discord_message(
            &bob,
            None,
            "Hello <@200000000000000001>",
            &serde_json::json!([alice.clone()]),
        ),
        discord_message(&alice, None, "Hi!", &serde_json::json!([])),
    ];
    let names = learned(&discord_messages);
    let messages: Vec<TranscriptMessage> = discord_messages
        .iter()
        .map(TranscriptMessage::from)
        .collect();
    let markdown = render_markdown(&ticket(), &messages, &names);
    assert!(
        markdown.contains("#### Alice (alice\\_92) (`200000000000000001`) — "),
        "{markdown}"
    );
    assert!(
        markdown.contains("Hello @Alice (alice\\_92)\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("#### Bob (bob\\_staff) (`200000000000000002`) — "),
        "{markdown}"
    );
}

#[test]
fn a_mention_with_a_nickname_names_the_user_as_their_own_messages_do() {
    let mut mention = discord_user(ALICE, "alice_92", "Alice");
    mention["member"] = member_json(Some("Ali"));
    let bob = discord_user(200_000_000_000_000_002, "bob_staff", "Bob");
    let names = learned(&[discord_message(
        &bob,
        None,
        "hi",
        &serde_json::json!([mention]),
    )]);
    assert_eq!(
        names.mention(Id::new(ALICE)).as_deref(),
        Some("Ali (alice_92)")
    );
    assert!(names.incomplete_users().is_empty());

    let alice = discord_user(ALICE, "alice_92", "Alice");
    let sent = discord_message(
        &alice,
        Some(member_json(Some("Ali"))),
        "hi",
        &serde_json::json!([]),
    );
    let author = TranscriptMessage::from(&sent).author;
    assert_eq!(names.name_of(&author), "Ali (alice_92)");
}

#[test]
fn a_mention_without_a_nickname_waits_for_a_better_source() {
    let alice = discord_user(ALICE, "alice_92", "Alice");
    let bob = discord_user(200_000_000_000_000_002, "bob_staff", "Bob");
    let mentioning = discord_message(&bob, None, "hi", &serde_json::json!([alice.clone()]));
    let mut names = learned(std::slice::from_ref(&mentioning));
    assert_eq!(names.mention(Id::new(ALICE)).as_deref(), Some("alice_92"));
    assert_eq!(names.incomplete_users(), vec![Id::new(ALICE)]);

    let mut member = member_json(Some("Ali"));
    member["user"] = alice;
    let member: Member = serde_json::from_value(member).expect("Discord member JSON");
    names.learn_member(&member);
    assert_eq!(
        names.mention(Id::new(ALICE)).as_deref(),
        Some("Ali (alice_92)")
    );
    assert!(names.incomplete_users().is_empty());

    // A complete name is not replaced by a later, weaker mention.
    names.learn_from_message(&mentioning);
    assert_eq!(
        names.mention(Id::new(ALICE)).as_deref(),
        Some("Ali (alice_92)")
    );
}
