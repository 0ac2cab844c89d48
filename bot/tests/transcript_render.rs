//! Properties of rendered transcripts that must hold for any conversation.

use jiff::Timestamp;
use ticketeer_bot::transcript::{
    MessageKind, Names, TranscriptMessage, TranscriptTicket, TranscriptUser, render_markdown,
};
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
