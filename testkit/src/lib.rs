//! Test-only peers for Ticketeer: everything the bot talks to, running in-process.
//!
//! Discord and PrivateBin cannot be reached from a test machine, so the bot is tested against
//! emulators that follow the real services' documented behaviour (see `shared/design/protocols.md`).
//! Nothing here is shipped.
//!
//! # Layout
//! - [`discord`]: a stateful Discord emulator: gateway (websocket, API v10) and REST, with Discord's
//!   rules, permission checks, rate limits, the interaction deadline and a control handle for tests.
//! - [`privatebin`]: a PrivateBin v2 JSON API emulator applying the real server's validation rules.
//! - [`postgres`]: fresh, isolated databases on a real Postgres server for each test.
//! - [`tools`]: locating the external tools tests need (pbincli), with a how-to-install failure.

pub mod discord;
pub mod postgres;
pub mod privatebin;
pub mod tools;
