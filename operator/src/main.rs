//! The `ticketeer-operator` binary.

fn main() {}
