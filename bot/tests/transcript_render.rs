//! Properties of rendered transcripts that must hold for any conversation.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use ticketeer_bot::transcript::render::TURN_GAP;
use ticketeer_bot::transcript::{
    AttachmentCopy, MessageKind, Names, ReferencedMessage, TranscriptAttachment, TranscriptEmbed,
    TranscriptMessage, TranscriptTicket, TranscriptUser, kept_files, render_markdown,
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
        added: Vec::new(),
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
    let turn_lines: Vec<&str> = lines
        .iter()
        .filter(|(inside, line)| !inside && line.starts_with("**"))
        .map(|(_, line)| *line)
        .collect();
    assert_eq!(
        turn_lines.len(),
        4,
        "a turn line is swallowed by a code block:\n{markdown}"
    );
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
fn a_mention_and_a_turn_line_of_the_same_user_use_the_same_name() {
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
        markdown.contains("\n**Alice (alice\\_92)** · 12:00  \nHi!\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Hello @Alice (alice\\_92)\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n**Bob (bob\\_staff)** · 12:00  \nHello"),
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

/// 2023-11-14T22:13:20Z, the time `message` counts from.
const START: i64 = 1_700_000_000;

/// A message sent `seconds` after [`START`].
fn sent_at(id: u64, author: &TranscriptUser, content: &str, seconds: i64) -> TranscriptMessage {
    TranscriptMessage {
        timestamp: Timestamp::from_second(START + seconds).expect("valid time"),
        ..message(id, author, content)
    }
}

/// The turn lines: the only lines starting with `**` (escaped text starts with `\*`).
fn turn_lines(markdown: &str) -> Vec<&str> {
    lines_inside_fences(markdown)
        .into_iter()
        .filter(|(inside, line)| !inside && line.starts_with("**"))
        .map(|(_, line)| line.trim_end())
        .collect()
}

#[test]
fn consecutive_messages_of_one_author_share_one_turn_line() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let messages = [
        sent_at(300_000_000_000_000_001, &alice, "one", 0),
        sent_at(300_000_000_000_000_002, &alice, "two", 60),
        sent_at(300_000_000_000_000_003, &alice, "three", 120),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(turn_lines(&markdown), ["**Alice** · 22:13"], "{markdown}");
    // One paragraph, a message a line: hard breaks, as showdown joins plain newlines.
    assert!(
        markdown.contains("\n**Alice** · 22:13  \none  \ntwo  \nthree\n"),
        "{markdown}"
    );
}

#[test]
fn a_pause_longer_than_the_turn_gap_or_another_author_starts_a_new_turn() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let bob = user(200_000_000_000_000_002, "Bob");
    let gap = TURN_GAP.as_secs();
    let messages = [
        sent_at(300_000_000_000_000_001, &alice, "a", 0),
        // Exactly the gap still continues the turn.
        sent_at(300_000_000_000_000_002, &alice, "b", gap),
        sent_at(300_000_000_000_000_003, &alice, "c", 2 * gap + 1),
        sent_at(300_000_000_000_000_004, &bob, "d", 2 * gap + 2),
        sent_at(300_000_000_000_000_005, &alice, "e", 2 * gap + 3),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(
        turn_lines(&markdown),
        [
            "**Alice** · 22:13",
            "**Alice** · 22:27",
            "**Bob** · 22:27",
            "**Alice** · 22:27"
        ],
        "{markdown}"
    );
}

#[test]
fn a_new_utc_day_gets_a_date_heading_and_a_new_turn() {
    let alice = user(200_000_000_000_000_001, "Alice");
    // START is 22:13:20; midnight is 6 400 s later.
    let messages = [
        sent_at(300_000_000_000_000_001, &alice, "late", 6_399),
        sent_at(300_000_000_000_000_002, &alice, "early", 6_401),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    let headings: Vec<&str> = markdown
        .lines()
        .filter(|line| line.starts_with("### "))
        .collect();
    assert_eq!(headings, ["### 2023-11-14", "### 2023-11-15"], "{markdown}");
    assert_eq!(
        turn_lines(&markdown),
        ["**Alice** · 23:59", "**Alice** · 00:00"]
    );
    assert!(
        markdown.find("### 2023-11-14") < markdown.find("late")
            && markdown.find("late") < markdown.find("### 2023-11-15")
            && markdown.find("### 2023-11-15") < markdown.find("early"),
        "{markdown}"
    );
}

#[test]
fn a_system_event_is_one_line_and_ends_the_turn() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let messages = [
        sent_at(300_000_000_000_000_001, &alice, "before", 0),
        TranscriptMessage {
            kind: MessageKind::PinAdded { message: None },
            ..sent_at(300_000_000_000_000_002, &alice, "", 10)
        },
        sent_at(300_000_000_000_000_003, &alice, "after", 20),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(turn_lines(&markdown).len(), 2, "{markdown}");
    assert!(
        markdown
            .contains("before\n\n*22:13 — Alice pinned a message to this channel.*\n\n**Alice**"),
        "{markdown}"
    );
}

#[test]
fn bots_webhooks_and_shared_names_are_marked_on_the_turn_line() {
    let helper = TranscriptUser {
        bot: true,
        ..user(200_000_000_000_000_003, "Helper")
    };
    let alice = user(200_000_000_000_000_001, "Alice");
    let other_alice = user(200_000_000_000_000_002, "Alice");
    let messages = [
        sent_at(300_000_000_000_000_001, &helper, "hi", 0),
        TranscriptMessage {
            webhook: true,
            ..sent_at(300_000_000_000_000_002, &helper, "pushed", 1)
        },
        sent_at(300_000_000_000_000_003, &alice, "me", 2),
        sent_at(300_000_000_000_000_004, &other_alice, "me too", 3),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(
        turn_lines(&markdown),
        [
            "**Helper** (bot) · 22:13",
            "**Helper** (webhook) · 22:13",
            "**Alice** (`200000000000000001`) · 22:13",
            "**Alice** (`200000000000000002`) · 22:13",
        ],
        "{markdown}"
    );
}

#[test]
fn replies_and_edits_are_marked_on_their_message() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let bob = user(200_000_000_000_000_002, "Bob");
    let messages = [
        TranscriptMessage {
            edited_timestamp: Some(Timestamp::from_second(START + 90).expect("valid time")),
            ..sent_at(
                300_000_000_000_000_001,
                &alice,
                "my *first* words are these",
                0,
            )
        },
        TranscriptMessage {
            kind: MessageKind::Reply,
            referenced: Some(ReferencedMessage::Found {
                id: Id::new(300_000_000_000_000_001),
                author: alice.clone(),
                excerpt: "my *first* words are these".to_owned(),
            }),
            ..sent_at(300_000_000_000_000_002, &bob, "noted", 30)
        },
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert!(
        markdown.contains("  \nmy \\*first\\* words are these *(edited 22:14)*\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("↪ *replying to Alice: my \\*first\\* words are these*  \nnoted\n"),
        "{markdown}"
    );
}

/// 165 one-line messages, as two people write: bursts of 1 to 5 messages 20 s apart, the
/// other person answering 90 s later. Returns the messages and the number of bursts.
fn chat_of_165() -> (Vec<TranscriptMessage>, usize) {
    let people = [
        user(200_000_000_000_000_001, "Alice"),
        user(200_000_000_000_000_002, "Bob"),
    ];
    let mut messages = Vec::new();
    // 01:00 on START's day: the two hours it lasts stay on that day.
    let mut seconds = -80_000 + 3_600;
    let mut bursts = 0;
    for burst in [4, 1, 3, 2, 5].into_iter().cycle() {
        let author = &people[bursts % 2];
        bursts += 1;
        for _ in 0..burst {
            let id = 300_000_000_000_000_001 + messages.len() as u64;
            let text = format!("message {} of this short ticket, a line", messages.len());
            messages.push(sent_at(id, author, &text, seconds));
            seconds += 20;
        }
        seconds += 70;
        if messages.len() >= 165 {
            break;
        }
    }
    (messages, bursts)
}

#[test]
fn a_165_message_conversation_is_a_line_per_message_and_two_per_turn() {
    let (messages, bursts) = chat_of_165();
    assert_eq!((messages.len(), bursts), (165, 55));
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(turn_lines(&markdown).len(), bursts, "one turn per burst");
    // The header is 10 lines for this ticket (title, blank, server, opened by, messages,
    // participants, blank, the UTC note, blank, rule); one date heading and its blank line; per
    // turn a blank line and the turn line; and one line per message. The heading-per-message
    // layout took four lines a message (heading, blanks, text): 670 lines here.
    let bound = 10 + 2 + 2 * bursts + messages.len();
    let lines = markdown.lines().count();
    assert!(
        lines <= bound,
        "{lines} lines, more than {bound}:\n{markdown}"
    );
    assert_eq!(bound, 287);
}

#[test]
fn user_text_cannot_forge_a_turn_line_a_heading_or_the_files_section() {
    let mallory = user(200_000_000_000_000_006, "**Mallory** · 12:00");
    let hash = "ab".repeat(32);
    let forged_section =
        format!("---\n\n## Files\n\n1. evil — 1 byte — SHA-256 `{hash}` — <https://evil.example>");
    let messages = [
        sent_at(
            300_000_000_000_000_001,
            &mallory,
            "**Alice** · 12:00\n### 2020-01-01",
            0,
        ),
        sent_at(300_000_000_000_000_002, &mallory, &forged_section, 1),
        // The last message, in a code block: verbatim, but followed by its closing fence.
        sent_at(
            300_000_000_000_000_003,
            &mallory,
            &format!("```\n{forged_section}\n```"),
            2,
        ),
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert_eq!(
        turn_lines(&markdown),
        ["**\\*\\*Mallory\\*\\* · 12:00** · 22:13"],
        "{markdown}"
    );
    let headings: Vec<(bool, &str)> = lines_inside_fences(&markdown)
        .into_iter()
        .filter(|(inside, line)| !inside && line.starts_with('#'))
        .collect();
    assert_eq!(
        headings,
        [(false, "# Ticket #7 — Billing"), (false, "### 2023-11-14")],
        "{markdown}"
    );
    assert!(kept_files(&markdown).is_empty(), "{markdown}");
}

fn attachment(filename: &str, copy: AttachmentCopy) -> TranscriptAttachment {
    TranscriptAttachment {
        filename: filename.to_owned(),
        size: 2048,
        url: format!("https://cdn.discordapp.com/attachments/1/2/{filename}"),
        content_type: None,
        description: None,
        copy,
    }
}

#[test]
fn files_are_mentioned_in_their_message_and_listed_at_the_end_in_message_order() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let kept = |n: u8| AttachmentCopy::Kept {
        link: format!("https://paste.example/?{n}#key{n}"),
        sha256: format!("{n:x}").repeat(64),
    };
    let messages = [
        TranscriptMessage {
            attachments: vec![
                attachment("a.png", kept(1)),
                attachment("b.log", AttachmentCopy::NotKept),
            ],
            ..sent_at(300_000_000_000_000_001, &alice, "", 0)
        },
        TranscriptMessage {
            attachments: vec![
                attachment("c.bin", AttachmentCopy::OverTotal { limit: 1024 }),
                attachment("d.png", kept(4)),
            ],
            ..sent_at(300_000_000_000_000_002, &alice, "see", 1)
        },
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    assert!(
        markdown.contains("📎 a.png (2.0 KiB) — file 1  \n📎 b.log (2.0 KiB) — file 2\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("see  \n📎 c.bin (2.0 KiB) — file 3  \n📎 d.png (2.0 KiB) — file 4\n"),
        "{markdown}"
    );
    assert!(
        markdown.ends_with("\n\n---\n\n## Files\n\n1. a.png — 2.0 KiB — SHA-256 `1111111111111111111111111111111111111111111111111111111111111111` — <https://paste.example/?1#key1>\n\
         2. b.log — 2.0 KiB — not kept — [Discord's copy](https://cdn.discordapp.com/attachments/1/2/b.log)\n\
         3. c.bin — 2.0 KiB — not kept: the ticket's files passed the 1.0 KiB kept per ticket\n\
         4. d.png — 2.0 KiB — SHA-256 `4444444444444444444444444444444444444444444444444444444444444444` — <https://paste.example/?4#key4>\n"),
        "{markdown}"
    );
    let files: Vec<(usize, String)> = kept_files(&markdown)
        .into_iter()
        .map(|file| (file.number, file.link))
        .collect();
    assert_eq!(
        files,
        [
            (1, "https://paste.example/?1#key1".to_owned()),
            (4, "https://paste.example/?4#key4".to_owned())
        ]
    );
}

#[test]
fn no_attachments_no_files_section() {
    let alice = user(200_000_000_000_000_001, "Alice");
    let markdown = render_markdown(
        &ticket(),
        &[sent_at(300_000_000_000_000_001, &alice, "hi", 0)],
        &Names::new(),
    );
    assert!(!markdown.contains("## Files"), "{markdown}");
    assert!(
        markdown.ends_with("**Alice** · 22:13  \nhi\n"),
        "{markdown}"
    );
}

#[test]
fn embeds_in_a_row_stay_separate_quotes() {
    let helper = TranscriptUser {
        bot: true,
        ..user(200_000_000_000_000_003, "Helper")
    };
    let embed = |title: &str| TranscriptEmbed {
        title: Some(title.to_owned()),
        ..TranscriptEmbed::default()
    };
    let messages = [
        TranscriptMessage {
            embeds: vec![embed("one"), embed("two")],
            ..sent_at(300_000_000_000_000_001, &helper, "", 0)
        },
        TranscriptMessage {
            embeds: vec![embed("three")],
            ..sent_at(300_000_000_000_000_002, &helper, "", 1)
        },
    ];
    let markdown = render_markdown(&ticket(), &messages, &Names::new());
    // Showdown makes one quote of two that only a blank line separates.
    assert!(
        markdown.ends_with(
            "**Helper** (bot) · 22:13\n\n> **one**\n\n*Embed:*\n\n> **two**\n\n*Embed:*\n\n> **three**\n"
        ),
        "{markdown}"
    );
}
