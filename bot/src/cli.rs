//! The command line of `ticketeer-bot`: what to do, parsed once, Discord ids included.
//!
//! A first argument that is a word names a subcommand (`erase`, `transcript`); anything else is the bot's own
//! flags, so `ticketeer-bot --config PATH` keeps running the bot as it always has. A subcommand
//! is a variant of [`Command`], a line in [`USAGE`] and one parsing function fed the arguments
//! after its name.

use std::ffi::OsString;
use std::path::PathBuf;

use twilight_model::id::Id;
use twilight_model::id::marker::{GuildMarker, UserMarker};

use crate::digest::is_sha256_hex;
use crate::privatebin::ShareLink;

/// Where the operator mounts the config.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/ticketeer/config.yaml";

/// The help text, printed by `--help` and after every usage error.
pub const USAGE: &str = "usage: ticketeer-bot [--config PATH] [--check-config]
       ticketeer-bot erase --user ID [--guild ID] [--execute]
       ticketeer-bot transcript get LINK [--sha256 HASH] [--out DIR]
       ticketeer-bot transcript verify LINK HASH

  --config PATH    the config file (default /etc/ticketeer/config.yaml)
  --check-config   validate the config file and exit (0 when valid)

  erase            delete a user's transcripts on PrivateBin and their rows in the database
                   (a data erasure request); see docs/data.md
    --user ID      the Discord user id whose data goes
    --guild ID     only their data in this guild (default: every guild)
    --execute      do it; without it, print what would be done and change nothing

  transcript get   fetch a transcript from PrivateBin by its link and decrypt it, every part and
                   every kept file, each file checked against the SHA-256 the transcript lists;
                   the Markdown goes to stdout, what was checked to stderr
    --sha256 HASH  the SHA-256 from the log post: the transcript must match it
    --out DIR      write DIR/transcript.md and DIR/files/ instead of printing
  transcript verify  the same checks against HASH, printed; exit 0 only if all match

environment: DISCORD_TOKEN (the bot token; not needed by erase or transcript),
             DATABASE_URL (postgres://...; not needed by transcript)
signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the bot, or only validate its config.
    Run {
        /// The config file.
        config_path: PathBuf,
        /// Validate the config and exit instead of running.
        check_only: bool,
    },
    /// Erase one user's data.
    Erase(EraseArguments),
    /// Fetch a transcript back and check it.
    Transcript(TranscriptArguments),
    /// Print [`USAGE`].
    Help,
}

/// The arguments of `erase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EraseArguments {
    /// Whose data.
    pub user: Id<UserMarker>,
    /// Only in this guild; `None`: everywhere.
    pub guild: Option<Id<GuildMarker>>,
    /// Change things; `false` is a dry run.
    pub execute: bool,
}

/// The arguments of `transcript get` and `transcript verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptArguments {
    /// The share link, key included, as the log post shows it.
    pub link: String,
    /// The SHA-256 the transcript must match (the log post's), lower-case hex.
    pub sha256: Option<String>,
    /// What to do with it.
    pub action: TranscriptAction,
}

/// What `transcript` does with the transcript it fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptAction {
    /// Print the Markdown to stdout.
    Print,
    /// Write `transcript.md` and `files/` into this folder.
    WriteTo(PathBuf),
    /// Only report what matches (`verify`).
    Verify,
}

/// A command line that cannot be understood; the message names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// A flag nobody knows (or a word where none belongs).
    #[error("unknown argument {0}")]
    UnknownArgument(String),
    /// A flag that takes a value came last.
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    /// A flag that takes no value was given one (`--execute=yes`).
    #[error("{0} takes no value")]
    UnexpectedValue(&'static str),
    /// The same flag twice: which one counts would be a guess.
    #[error("{0} is given more than once")]
    Repeated(&'static str),
    /// A required flag is missing.
    #[error("{0} is required")]
    MissingArgument(&'static str),
    /// A value is not a Discord id.
    #[error("{flag} {value:?} is not a Discord id (a number such as 123456789012345678)")]
    InvalidId {
        /// The flag.
        flag: &'static str,
        /// The value as given.
        value: String,
    },
    /// A value is not a SHA-256 in hex.
    #[error("{flag} {value:?} is not a SHA-256 (64 hex digits, as the log post shows it)")]
    InvalidSha256 {
        /// The flag, or the argument's name.
        flag: &'static str,
        /// The value as given.
        value: String,
    },
    /// A value is not a transcript link.
    #[error("{value:?} is not a transcript link (<server>?<paste id>#<key>): {reason}")]
    InvalidLink {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument that is not valid UTF-8 where text is needed.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(String),
}

/// Parses the arguments after the program name.
///
/// # Errors
///
/// [`UsageError`] naming the argument that is wrong.
pub fn parse(arguments: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let mut arguments = Arguments::new(arguments);
    match arguments.peek_word() {
        Some("erase") => {
            arguments.next_flag()?;
            parse_erase(arguments)
        }
        Some("transcript") => {
            arguments.next_flag()?;
            parse_transcript(arguments)
        }
        _ => parse_run(arguments),
    }
}

fn parse_run(mut arguments: Arguments) -> Result<Command, UsageError> {
    let mut config_path = None;
    let mut check_only = false;
    while let Some(flag) = arguments.next_flag()? {
        match flag.as_str() {
            "--config" => set_once(
                &mut config_path,
                "--config",
                PathBuf::from(arguments.os_value("--config")?),
            )?,
            "--check-config" => set_switch(&mut check_only, "--check-config", &mut arguments)?,
            "--help" | "-h" => return Ok(Command::Help),
            _ => return Err(UsageError::UnknownArgument(flag)),
        }
    }
    Ok(Command::Run {
        config_path: config_path.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH)),
        check_only,
    })
}

fn parse_erase(mut arguments: Arguments) -> Result<Command, UsageError> {
    let mut user = None;
    let mut guild = None;
    let mut execute = false;
    while let Some(flag) = arguments.next_flag()? {
        match flag.as_str() {
            "--user" => set_once(&mut user, "--user", arguments.id("--user")?)?,
            "--guild" => set_once(&mut guild, "--guild", arguments.id("--guild")?)?,
            "--execute" => set_switch(&mut execute, "--execute", &mut arguments)?,
            "--help" | "-h" => return Ok(Command::Help),
            _ => return Err(UsageError::UnknownArgument(flag)),
        }
    }
    Ok(Command::Erase(EraseArguments {
        user: user.ok_or(UsageError::MissingArgument("--user"))?,
        guild,
        execute,
    }))
}

fn parse_transcript(mut arguments: Arguments) -> Result<Command, UsageError> {
    let verify = match arguments.next_flag()?.as_deref() {
        Some("get") => false,
        Some("verify") => true,
        Some("--help" | "-h") => return Ok(Command::Help),
        Some(other) => return Err(UsageError::UnknownArgument(other.to_owned())),
        None => return Err(UsageError::MissingArgument("get or verify")),
    };
    let mut link = None;
    let mut sha256 = None;
    let mut out = None;
    while let Some(argument) = arguments.next_flag()? {
        match argument.as_str() {
            "--sha256" if !verify => {
                let value = arguments.text("--sha256")?;
                set_once(&mut sha256, "--sha256", checked_sha256("--sha256", value)?)?;
            }
            "--out" if !verify => set_once(
                &mut out,
                "--out",
                PathBuf::from(arguments.os_value("--out")?),
            )?,
            "--help" | "-h" => return Ok(Command::Help),
            _ if argument.starts_with('-') => return Err(UsageError::UnknownArgument(argument)),
            _ if link.is_none() => link = Some(checked_link(argument)?),
            _ if verify && sha256.is_none() => sha256 = Some(checked_sha256("HASH", argument)?),
            _ => return Err(UsageError::UnknownArgument(argument)),
        }
    }
    let link = link.ok_or(UsageError::MissingArgument("LINK"))?;
    let action = match (verify, out) {
        (true, _) => {
            if sha256.is_none() {
                return Err(UsageError::MissingArgument("HASH"));
            }
            TranscriptAction::Verify
        }
        (false, Some(folder)) => TranscriptAction::WriteTo(folder),
        (false, None) => TranscriptAction::Print,
    };
    Ok(Command::Transcript(TranscriptArguments {
        link,
        sha256,
        action,
    }))
}

fn checked_sha256(flag: &'static str, value: String) -> Result<String, UsageError> {
    if is_sha256_hex(&value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(UsageError::InvalidSha256 { flag, value })
    }
}

fn checked_link(value: String) -> Result<String, UsageError> {
    match ShareLink::parse(&value) {
        Ok(_) => Ok(value),
        Err(error) => Err(UsageError::InvalidLink {
            reason: error.to_string(),
            value,
        }),
    }
}

fn set_once<T>(slot: &mut Option<T>, flag: &'static str, value: T) -> Result<(), UsageError> {
    if slot.replace(value).is_some() {
        return Err(UsageError::Repeated(flag));
    }
    Ok(())
}

fn set_switch(
    slot: &mut bool,
    flag: &'static str,
    arguments: &mut Arguments,
) -> Result<(), UsageError> {
    if arguments.attached.take().is_some() {
        return Err(UsageError::UnexpectedValue(flag));
    }
    if std::mem::replace(slot, true) {
        return Err(UsageError::Repeated(flag));
    }
    Ok(())
}

/// The arguments left, read flag by flag; `--flag=value` is split so the value is read as if it
/// were the next argument.
struct Arguments {
    rest: std::iter::Peekable<std::vec::IntoIter<OsString>>,
    /// The value after `=` of the flag just read.
    attached: Option<OsString>,
}

impl Arguments {
    fn new(arguments: impl IntoIterator<Item = OsString>) -> Self {
        Self {
            rest: arguments
                .into_iter()
                .collect::<Vec<_>>()
                .into_iter()
                .peekable(),
            attached: None,
        }
    }

    /// The next argument, if it is a word (a subcommand's name) rather than a flag.
    fn peek_word(&mut self) -> Option<&str> {
        self.rest
            .peek()
            .and_then(|argument| argument.to_str())
            .filter(|argument| !argument.starts_with('-'))
    }

    fn next_flag(&mut self) -> Result<Option<String>, UsageError> {
        if self.attached.is_some() {
            // The caller did not take the value: only switches leave one, and they refuse it.
            return Err(UsageError::UnknownArgument(
                self.attached
                    .take()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            ));
        }
        let Some(argument) = self.rest.next() else {
            return Ok(None);
        };
        let text = argument
            .into_string()
            .map_err(|argument| UsageError::NotUtf8(argument.to_string_lossy().into_owned()))?;
        match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                self.attached = Some(OsString::from(value));
                Ok(Some(flag.to_owned()))
            }
            _ => Ok(Some(text)),
        }
    }

    fn os_value(&mut self, flag: &'static str) -> Result<OsString, UsageError> {
        self.attached
            .take()
            .or_else(|| self.rest.next())
            .ok_or(UsageError::MissingValue(flag))
    }

    fn text(&mut self, flag: &'static str) -> Result<String, UsageError> {
        self.os_value(flag)?
            .into_string()
            .map_err(|value| UsageError::NotUtf8(value.to_string_lossy().into_owned()))
    }

    fn id<T>(&mut self, flag: &'static str) -> Result<Id<T>, UsageError> {
        let value = self.os_value(flag)?;
        let text = value
            .into_string()
            .map_err(|value| UsageError::NotUtf8(value.to_string_lossy().into_owned()))?;
        text.parse::<u64>()
            .ok()
            .and_then(Id::new_checked)
            .ok_or(UsageError::InvalidId { flag, value: text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arguments: &[&str]) -> Result<Command, UsageError> {
        parse(arguments.iter().map(OsString::from))
    }

    fn erase(user: u64, guild: Option<u64>, execute: bool) -> Command {
        Command::Erase(EraseArguments {
            user: Id::new(user),
            guild: guild.map(Id::new),
            execute,
        })
    }

    #[test]
    fn no_arguments_run_the_bot_with_the_operators_config_path() {
        assert_eq!(
            parsed(&[]),
            Ok(Command::Run {
                config_path: PathBuf::from(DEFAULT_CONFIG_PATH),
                check_only: false
            })
        );
    }

    #[test]
    fn the_bots_flags_are_read_as_before() {
        let expected = Command::Run {
            config_path: PathBuf::from("my.yaml"),
            check_only: true,
        };
        assert_eq!(
            parsed(&["--config", "my.yaml", "--check-config"]),
            Ok(expected.clone())
        );
        assert_eq!(
            parsed(&["--check-config", "--config=my.yaml"]),
            Ok(expected)
        );
        assert_eq!(parsed(&["-h"]), Ok(Command::Help));
        assert_eq!(
            parsed(&["--config"]),
            Err(UsageError::MissingValue("--config"))
        );
        assert_eq!(
            parsed(&["--verbose"]),
            Err(UsageError::UnknownArgument("--verbose".to_owned()))
        );
    }

    #[test]
    fn erase_is_a_dry_run_unless_told_to_execute() {
        assert_eq!(
            parsed(&["erase", "--user", "123456789012345678"]),
            Ok(erase(123_456_789_012_345_678, None, false))
        );
        assert_eq!(
            parsed(&["erase", "--execute", "--guild=42", "--user", "7"]),
            Ok(erase(7, Some(42), true))
        );
        assert_eq!(parsed(&["erase", "--help"]), Ok(Command::Help));
    }

    #[test]
    fn erase_refuses_what_is_not_a_discord_id_naming_the_flag() {
        for bad in ["abc", "0", "-5", "", "18446744073709551616", " 7"] {
            assert_eq!(
                parsed(&["erase", "--user", bad]),
                Err(UsageError::InvalidId {
                    flag: "--user",
                    value: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
        let error = parsed(&["erase", "--user", "1", "--guild", "x"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"--guild "x" is not a Discord id (a number such as 123456789012345678)"#
        );
    }

    #[test]
    fn erase_needs_exactly_one_user_and_flags_of_its_own() {
        assert_eq!(
            parsed(&["erase", "--guild", "1"]),
            Err(UsageError::MissingArgument("--user"))
        );
        assert_eq!(
            parsed(&["erase", "--user"]),
            Err(UsageError::MissingValue("--user"))
        );
        assert_eq!(
            parsed(&["erase", "--user", "1", "--user", "2"]),
            Err(UsageError::Repeated("--user"))
        );
        assert_eq!(
            parsed(&["erase", "--user", "1", "--execute", "--execute"]),
            Err(UsageError::Repeated("--execute"))
        );
        assert_eq!(
            parsed(&["erase", "--user", "1", "--execute=no"]),
            Err(UsageError::UnexpectedValue("--execute"))
        );
        assert_eq!(
            parsed(&["erase", "--user", "1", "--config", "x.yaml"]),
            Err(UsageError::UnknownArgument("--config".to_owned()))
        );
        assert_eq!(
            parsed(&["erase", "--user", "1", "stray"]),
            Err(UsageError::UnknownArgument("stray".to_owned()))
        );
    }

    #[test]
    fn a_word_that_is_no_subcommand_is_refused() {
        assert_eq!(
            parsed(&["erasee", "--user", "1"]),
            Err(UsageError::UnknownArgument("erasee".to_owned()))
        );
    }

    const LINK: &str =
        "https://paste.example.com/?0123456789abcdef#4nDmFHBkYQ2S7hn7Xfp3BxP8Vxj9hPsGdwEtzfyWc6Mn";

    fn transcript(sha256: Option<&str>, action: TranscriptAction) -> Command {
        Command::Transcript(TranscriptArguments {
            link: LINK.to_owned(),
            sha256: sha256.map(str::to_owned),
            action,
        })
    }

    #[test]
    fn transcript_get_prints_or_writes_and_checks_a_hash_when_given() {
        let hash = "ab".repeat(32);
        assert_eq!(
            parsed(&["transcript", "get", LINK]),
            Ok(transcript(None, TranscriptAction::Print))
        );
        assert_eq!(
            parsed(&[
                "transcript",
                "get",
                "--out",
                "t42",
                LINK,
                "--sha256",
                &hash.to_uppercase()
            ]),
            Ok(transcript(
                Some(&hash),
                TranscriptAction::WriteTo(PathBuf::from("t42"))
            ))
        );
        assert_eq!(
            parsed(&["transcript", "verify", LINK, &hash]),
            Ok(transcript(Some(&hash), TranscriptAction::Verify))
        );
    }

    #[test]
    fn transcript_refuses_what_it_could_not_check_naming_the_argument() {
        assert_eq!(
            parsed(&["transcript"]),
            Err(UsageError::MissingArgument("get or verify"))
        );
        assert_eq!(
            parsed(&["transcript", "get"]),
            Err(UsageError::MissingArgument("LINK"))
        );
        assert_eq!(
            parsed(&["transcript", "verify", LINK]),
            Err(UsageError::MissingArgument("HASH"))
        );
        assert_eq!(
            parsed(&["transcript", "get", LINK, "--sha256", "abc"]),
            Err(UsageError::InvalidSha256 {
                flag: "--sha256",
                value: "abc".to_owned()
            })
        );
        assert!(matches!(
            parsed(&[
                "transcript",
                "get",
                "https://paste.example.com/?0123456789abcdef"
            ]),
            Err(UsageError::InvalidLink { .. })
        ));
        assert_eq!(
            parsed(&["transcript", "verify", LINK, &"a".repeat(64), "--out", "x"]),
            Err(UsageError::UnknownArgument("--out".to_owned()))
        );
        assert_eq!(
            parsed(&["transcript", "get", LINK, LINK]),
            Err(UsageError::UnknownArgument(LINK.to_owned()))
        );
    }

    #[test]
    fn the_usage_names_every_flag_the_parser_knows() {
        for flag in [
            "--config",
            "--check-config",
            "erase",
            "--user",
            "--guild",
            "--execute",
            "transcript get",
            "transcript verify",
            "--sha256",
            "--out",
        ] {
            assert!(USAGE.contains(flag), "{flag}");
        }
    }
}
