//! Renders and encrypts synthetic transcripts of 1 000 and 10 000 messages and prints the time,
//! CPU time and peak memory of each step.
//!
//! Run with `cargo run --release -p ticketeer-bot --example transcript_bench [-- <deflate level>]`.

#![allow(
    clippy::cast_precision_loss,
    reason = "sizes are printed with two decimals"
)]

use std::time::{Duration, Instant};

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ticketeer_bot::privatebin::{PasteKey, PasteOptions, compress_paste, encrypt_compressed};
use ticketeer_bot::transcript::model::ComponentLabel;
use ticketeer_bot::transcript::{
    AttachmentCopy, MessageKind, Names, ReferencedMessage, TranscriptAttachment, TranscriptEmbed,
    TranscriptEmbedField, TranscriptMessage, TranscriptTicket, TranscriptUser, render_markdown,
};
use twilight_model::id::Id;

const WORDS: &[&str] = &[
    "the",
    "ticket",
    "server",
    "please",
    "thanks",
    "error",
    "log",
    "restart",
    "works",
    "again",
    "role",
    "channel",
    "config",
    "yaml",
    "helm",
    "pod",
    "crash",
    "update",
    "version",
    "können",
    "merci",
    "日本語",
    "🙂",
    "**bold**",
    "_maybe_",
    "<@200000000000000001>",
    "https://example.com/docs/a_b?x=1",
    "`kubectl get tc`",
    "#1",
    "> quote",
];

fn users() -> Vec<TranscriptUser> {
    (0..5_u64)
        .map(|index| TranscriptUser {
            id: Id::new(200_000_000_000_000_001 + index),
            display_name: ["Alice", "Bob (staff)", "Ticketeer", "Chloé", "dave_42"]
                [usize::try_from(index).unwrap_or(0)]
            .to_owned(),
            bot: index == 2,
        })
        .collect()
}

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn synthetic_messages(count: usize, rng: &mut StdRng) -> Vec<TranscriptMessage> {
    let users = users();
    let start = Timestamp::from_second(1_714_564_800).unwrap_or(Timestamp::UNIX_EPOCH);
    (0..count)
        .map(|index| {
            let author = users[rng.random_range(0..users.len())].clone();
            let id = Id::new(300_000_000_000_000_000 + index as u64);
            let words = rng.random_range(3..60);
            let mut content = sentence(rng, words);
            if index % 25 == 7 {
                content.push_str("\n```rust\nfn main() {\n    println!(\"hello\");\n}\n```\nthat fails");
            }
            if index % 200 == 3 {
                content = "x".repeat(2000);
            }
            let referenced = (index % 10 == 4 && index > 0).then(|| ReferencedMessage::Found {
                id: Id::new(300_000_000_000_000_000 + index as u64 - 1),
                author: users[0].clone(),
                excerpt: sentence(rng, 8),
            });
            TranscriptMessage {
                id,
                author: author.clone(),
                webhook: false,
                timestamp: start + Duration::from_secs(index as u64 * 37),
                edited_timestamp: (index % 15 == 0).then(|| start + Duration::from_secs(index as u64 * 37 + 60)),
                content,
                kind: if referenced.is_some() { MessageKind::Reply } else { MessageKind::Default },
                referenced,
                attachments: if index % 20 == 9 {
                    vec![TranscriptAttachment {
                        filename: format!("screenshot_{index}.png"),
                        size: 48_213 + index as u64,
                        url: format!("https://cdn.discordapp.com/attachments/1/{index}/screenshot.png?ex=65&is=64&hm=abc"),
                        content_type: Some("image/png".to_owned()),
                        description: None,
                        copy: AttachmentCopy::NotKept,
                    }]
                } else {
                    Vec::new()
                },
                embeds: if author.bot && index % 3 == 0 {
                    vec![TranscriptEmbed {
                        title: Some("Ticket update".to_owned()),
                        description: Some(sentence(rng, 20)),
                        fields: vec![TranscriptEmbedField { name: "Status".to_owned(), value: "Open".to_owned() }],
                        footer: Some("Ticketeer".to_owned()),
                        ..TranscriptEmbed::default()
                    }]
                } else {
                    Vec::new()
                },
                stickers: Vec::new(),
                components: if author.bot && index % 3 == 0 {
                    vec![ComponentLabel::Button("Close".to_owned())]
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// CPU time of this thread in nanoseconds (the benchmark is single-threaded).
fn thread_cpu() -> Duration {
    let nanos = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| {
            text.split_whitespace()
                .next()
                .and_then(|field| field.parse().ok())
        })
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// Peak resident memory of the process in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(42);
    let level = match std::env::args().nth(1) {
        Some(level) => level.parse()?,
        None => PasteOptions::default().compression_level,
    };
    println!("deflate level {level}\n");
    let ticket = TranscriptTicket {
        number: 1234,
        category: "Support".to_owned(),
        guild_id: Id::new(100_000_000_000_000_001),
        guild_name: Some("Example Guild".to_owned()),
        opened_by: users()[0].clone(),
        opened_at: Timestamp::from_second(1_714_564_800)?,
        closed_by: Some(users()[1].clone()),
        closed_at: Some(Timestamp::from_second(1_714_964_800)?),
        close_reason: Some("Resolved".to_owned()),
        added: Vec::new(),
    };
    let mut names = Names::new();
    for user in users() {
        names.insert_user(user.id, user.display_name);
    }
    println!(
        "| messages | markdown | ciphertext | render ms | encrypt ms (PBKDF2 incl.) | CPU ms (render+encrypt) | peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for count in [1_000, 10_000] {
        let messages = synthetic_messages(count, &mut rng);
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let markdown = render_markdown(&ticket, &messages, &names);
        let rendered = Instant::now();
        let options = PasteOptions {
            compression_level: level,
            ..PasteOptions::default()
        };
        let key = PasteKey::generate(&mut rand::rng());
        let compressed = compress_paste(&markdown, &options)?;
        let request = encrypt_compressed(&compressed, &options, &key, &mut rand::rng())?;
        let encrypted = Instant::now();
        let cpu = thread_cpu().saturating_sub(cpu_before);
        println!(
            "| {count} | {:.2} MB | {:.2} MB | {:.1} | {:.1} | {:.1} | {:.1} MiB |",
            markdown.len() as f64 / 1e6,
            request.ct.len() as f64 / 1e6,
            millis(rendered - started),
            millis(encrypted - rendered),
            millis(cpu),
            peak_rss_kib() as f64 / 1024.0,
        );
    }
    Ok(())
}
