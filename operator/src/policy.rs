//! What a TicketBot may ask for beyond the usual, by the operator's own settings: anyone who may
//! edit a TicketBot could otherwise send its bot token anywhere (`spec.discord.apiProxy` and
//! `spec.discord.gatewayUrl` point the bot at another server, even over plain HTTP) or run any
//! image with the token in its environment (`spec.image`).
//!
//! Both are off unless the operator is started to allow them: `TICKETEER_ALLOW_DISCORD_OVERRIDES`
//! for the Discord overrides, `TICKETEER_BOT_IMAGE_ALLOW` for image repositories other than the
//! default image's. A TicketBot that asks for more is refused before anything is applied.

use std::fmt;

use crate::crd::TicketBotSpec;

/// The environment variable that allows `spec.discord.apiProxy` and `spec.discord.gatewayUrl`.
pub const ALLOW_DISCORD_OVERRIDES_ENV: &str = "TICKETEER_ALLOW_DISCORD_OVERRIDES";
/// The environment variable listing the image repository prefixes `spec.image` may use.
pub const BOT_IMAGE_ALLOW_ENV: &str = "TICKETEER_BOT_IMAGE_ALLOW";

/// What the operator allows TicketBots beyond the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Whether `spec.discord.apiProxy` and `spec.discord.gatewayUrl` may be set.
    pub allow_discord_overrides: bool,
    /// Repository prefixes `spec.image` may use besides the default image's repository. A prefix
    /// matches whole path segments: `registry.example.com/team` allows
    /// `registry.example.com/team/bot:1`, not `registry.example.com/team-b/bot:1`.
    pub allowed_image_prefixes: Vec<String>,
}

/// A Discord override field of the TicketBot spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscordOverride {
    /// `spec.discord.apiProxy`.
    ApiProxy,
    /// `spec.discord.gatewayUrl`.
    GatewayUrl,
}

impl DiscordOverride {
    /// The field's path in the TicketBot.
    pub fn field(self) -> &'static str {
        match self {
            Self::ApiProxy => "spec.discord.apiProxy",
            Self::GatewayUrl => "spec.discord.gatewayUrl",
        }
    }
}

/// Why a TicketBot is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A Discord override is set and the operator does not allow them.
    OverrideNotAllowed(DiscordOverride),
    /// `spec.image` is from a repository the operator does not allow.
    ImageNotAllowed {
        /// The image as written.
        image: String,
    },
}

impl Refusal {
    /// A CamelCase reason for the condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::OverrideNotAllowed(_) => "OverrideNotAllowed",
            Self::ImageNotAllowed { .. } => "ImageNotAllowed",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OverrideNotAllowed(field) => write!(
                f,
                "{} is set, and this operator does not allow Discord overrides (they send the bot \
                 token to that address); remove it, or start the operator with \
                 {ALLOW_DISCORD_OVERRIDES_ENV}=true (chart value operator.allowDiscordOverrides)",
                field.field()
            ),
            Self::ImageNotAllowed { image } => write!(
                f,
                "spec.image {image:?} is not from a repository this operator allows; use the \
                 default image, or add its repository to {BOT_IMAGE_ALLOW_ENV} (chart value \
                 botImages.allowed)"
            ),
        }
    }
}

/// The repository of an image reference: without its digest (`@sha256:…`) and tag (`:1.0`, the
/// last `:` after the last `/`, since a registry host may carry a port).
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// Whether `repository` lies under `prefix`, segment by segment. A repository with an empty,
/// `.` or `..` segment never does: no registry serves such a name, and it must not slip past a
/// prefix.
///
/// A prefix ending in `/` allows only what lies below it: `mirror.example.com/` allows
/// `mirror.example.com/bot`, not the Docker Hub image `mirror.example.com:1`.
fn under(repository: &str, prefix: &str) -> bool {
    let segments_ok = !repository
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    let below = |prefix: &str| {
        repository
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
    };
    let matches = match prefix.strip_suffix('/') {
        Some(parent) => !parent.is_empty() && below(parent),
        None => !prefix.is_empty() && (repository == prefix || below(prefix)),
    };
    segments_ok && matches
}

/// Checks `spec` against `policy`; `default_image` is the image bots run without `spec.image`,
/// whose repository is always allowed.
///
/// # Errors
///
/// The first thing `spec` asks for that `policy` does not allow.
pub fn check(spec: &TicketBotSpec, policy: &Policy, default_image: &str) -> Result<(), Refusal> {
    if !policy.allow_discord_overrides {
        for (field, value) in [
            (DiscordOverride::ApiProxy, &spec.discord.api_proxy),
            (DiscordOverride::GatewayUrl, &spec.discord.gateway_url),
        ] {
            if value.is_some() {
                return Err(Refusal::OverrideNotAllowed(field));
            }
        }
    }
    let Some(image) = &spec.image else {
        return Ok(());
    };
    let wanted = repository(image);
    let allowed = std::iter::once(repository(default_image))
        .chain(policy.allowed_image_prefixes.iter().map(String::as_str))
        .any(|prefix| under(wanted, prefix));
    if allowed {
        Ok(())
    } else {
        Err(Refusal::ImageNotAllowed {
            image: image.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = "ghcr.io/ticketeer/ticketeer:0.1.0";

    fn spec(edit: impl FnOnce(&mut TicketBotSpec)) -> TicketBotSpec {
        let mut spec: TicketBotSpec = serde_json::from_value(serde_json::json!({
            "tokenSecretRef": {"name": "discord-token", "key": "token"},
            "databaseSecretRef": {"name": "ticketeer-db", "key": "url"},
            "privatebin": {"url": "https://paste.example.com/"},
        }))
        .expect("a spec");
        edit(&mut spec);
        spec
    }

    fn with_image(image: &str) -> TicketBotSpec {
        spec(|spec| spec.image = Some(image.to_owned()))
    }

    fn allowing(prefixes: &[&str]) -> Policy {
        Policy {
            allow_discord_overrides: false,
            allowed_image_prefixes: prefixes.iter().map(|prefix| (*prefix).to_owned()).collect(),
        }
    }

    #[test]
    fn a_plain_spec_is_allowed_by_the_default_policy() {
        assert_eq!(check(&spec(|_| ()), &Policy::default(), DEFAULT), Ok(()));
    }

    #[test]
    fn each_discord_override_is_refused_by_name_unless_allowed() {
        let proxied = spec(|spec| spec.discord.api_proxy = Some("127.0.0.1:1".to_owned()));
        let gateway = spec(|spec| spec.discord.gateway_url = Some("ws://127.0.0.1:2".to_owned()));
        for (spec, field) in [
            (&proxied, DiscordOverride::ApiProxy),
            (&gateway, DiscordOverride::GatewayUrl),
        ] {
            let refusal = check(spec, &Policy::default(), DEFAULT).expect_err("refused");
            assert_eq!(refusal, Refusal::OverrideNotAllowed(field));
            assert_eq!(refusal.reason(), "OverrideNotAllowed");
            let message = refusal.to_string();
            assert!(message.starts_with(field.field()), "{message}");
            assert!(
                message.contains("TICKETEER_ALLOW_DISCORD_OVERRIDES=true"),
                "{message}"
            );
            let open = Policy {
                allow_discord_overrides: true,
                ..Policy::default()
            };
            assert_eq!(check(spec, &open, DEFAULT), Ok(()));
        }
    }

    #[test]
    fn the_default_images_repository_is_allowed_with_any_tag_or_digest() {
        for image in [
            DEFAULT,
            "ghcr.io/ticketeer/ticketeer:0.2.0",
            "ghcr.io/ticketeer/ticketeer",
            "ghcr.io/ticketeer/ticketeer@sha256:0123456789abcdef",
            "ghcr.io/ticketeer/ticketeer:0.2.0@sha256:0123456789abcdef",
        ] {
            assert_eq!(
                check(&with_image(image), &Policy::default(), DEFAULT),
                Ok(()),
                "{image}"
            );
        }
    }

    #[test]
    fn another_repository_is_refused_naming_spec_image_and_the_setting() {
        for image in [
            "ghcr.io/ticketeer/ticketeer-evil:0.1.0",
            "ghcr.io/ticketeer/ticketeer/../../evil:1",
            "ghcr.io/ticketeer/ticketeer//x:1",
            "evil.example.com/ghcr.io/ticketeer/ticketeer:0.1.0",
            "ghcr.io/ticketeer:0.1.0",
        ] {
            let refusal = check(&with_image(image), &Policy::default(), DEFAULT).expect_err(image);
            assert_eq!(refusal.reason(), "ImageNotAllowed");
            let message = refusal.to_string();
            assert!(message.starts_with("spec.image"), "{message}");
            assert!(message.contains("TICKETEER_BOT_IMAGE_ALLOW"), "{message}");
        }
    }

    #[test]
    fn allowed_prefixes_match_whole_segments_and_registry_ports() {
        let policy = allowing(&["registry.example.com:5000/team", "mirror.example.com/"]);
        for image in [
            "registry.example.com:5000/team/bot:1",
            "registry.example.com:5000/team:1",
            "mirror.example.com/ticketeer/ticketeer@sha256:0123",
        ] {
            assert_eq!(
                check(&with_image(image), &policy, DEFAULT),
                Ok(()),
                "{image}"
            );
        }
        for image in [
            "registry.example.com:5000/team-b/bot:1",
            "registry.example.com/team/bot:1",
            "mirror.example.com:1",
        ] {
            assert!(
                check(&with_image(image), &policy, DEFAULT).is_err(),
                "{image}"
            );
        }
    }

    #[test]
    fn an_empty_prefix_allows_nothing_more() {
        let policy = allowing(&["", "/"]);
        assert!(check(&with_image("evil.example.com/bot:1"), &policy, DEFAULT).is_err());
    }
}
