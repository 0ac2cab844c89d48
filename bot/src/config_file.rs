//! Reading the config file: parsed and validated (every bad field named), with a fingerprint of
//! its text so an unchanged file is recognised without comparing configs.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use crate::config::Config;
use crate::error::{BotError, Result};

/// Reads and validates a config file; also returns a fingerprint of its text.
///
/// # Errors
///
/// [`BotError::ReadConfig`] or [`BotError::InvalidConfig`] naming the file (and, for an invalid
/// file, every bad field with its category).
pub async fn load(path: &Path) -> Result<(Config, u64)> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| BotError::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
    let config = parse(path, &text)?;
    Ok((config, fingerprint(&text)))
}

/// Validates the text of the config file at `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Config> {
    Config::from_yaml(text).map_err(|problems| BotError::InvalidConfig {
        path: path.to_owned(),
        problems,
    })
}

/// A fingerprint of a config file's text.
pub(crate) fn fingerprint(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}
