//! What the gateway tests share: a twilight shard pointed at the emulator, and waiting for an event.

use std::time::Duration;

use ticketeer_testkit::discord::DiscordEmulator;
use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
    queue::InMemoryQueue,
};

/// How long a test waits for an event before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A shard for the emulator's bot, with no identify delay (a no-op queue).
pub fn shard(emulator: &DiscordEmulator, intents: Intents) -> Shard<InMemoryQueue> {
    // twilight enables rustls without choosing a crypto provider; pick ring, as the bot does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ConfigBuilder::new(emulator.token().to_owned(), intents)
        .proxy_url(emulator.gateway_url())
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .build();
    Shard::with_config(ShardId::ONE, config)
}

/// The next event matching `wanted`, failing the test after [`WAIT`].
pub async fn next_where(
    shard: &mut Shard<InMemoryQueue>,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Event {
    let result = tokio::time::timeout(WAIT, async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(event)) if wanted(&event) => return Some(event),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await;
    match result {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the shard stopped"),
        Err(elapsed) => panic!("no matching event within {WAIT:?}: {elapsed}"),
    }
}
