//! What a TicketBot's two referenced Secret keys (the token and the database URL) hold: a
//! problem to report for each missing one, a digest of each present one's value, and the Discord
//! bot the token names.
//!
//! Apart from the bot reconcile because it is the one place the operator reads Secret data, and
//! it reads as little of it as it can (by GET only when the cached version moved).

use k8s_openapi::api::core::v1::Secret;

use super::context::Context;
use crate::builders;
use crate::caches::{Caches, SecretKeyValue, cached};
use crate::crd::{SecretKeyRef, TicketBot};
use crate::discord_token;
use crate::error::{Error, Result};
use crate::status::{Observed, bot_condition};

/// What the referenced Secrets look like: problems to report, and a digest of each key's value.
pub(super) struct SecretCheck {
    pub(super) problems: Vec<Observed>,
    pub(super) digests: Vec<String>,
    /// The Discord bot the token names (see [`discord_token`]).
    pub(super) bot_user_id: Option<u64>,
}

pub(super) async fn check_secrets(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    bot: &TicketBot,
) -> Result<SecretCheck> {
    let mut check = SecretCheck {
        problems: Vec::new(),
        digests: Vec::new(),
        bot_user_id: None,
    };
    let references: [(&str, &SecretKeyRef); 2] = [
        ("tokenSecretRef", &bot.spec.token_secret_ref),
        ("databaseSecretRef", &bot.spec.database_secret_ref),
    ];
    for (field, reference) in references {
        let problem = match read_secret_key(ctx, caches, namespace, reference).await? {
            None => Observed::yes(
                bot_condition::DEGRADED,
                "SecretNotFound",
                format!(
                    "Secret {} (spec.{field}) does not exist in namespace {namespace}; create it with key {}",
                    reference.name, reference.key
                ),
            ),
            Some(SecretKeyValue::KeyMissing) => Observed::yes(
                bot_condition::DEGRADED,
                "SecretKeyMissing",
                format!(
                    "Secret {} has no key {} (spec.{field})",
                    reference.name, reference.key
                ),
            ),
            Some(SecretKeyValue::Present {
                digest,
                bot_user_id,
            }) => {
                if field == "tokenSecretRef" {
                    check.bot_user_id = bot_user_id;
                }
                check.digests.push(digest);
                continue;
            }
        };
        check.problems.push(problem);
        // A slot per reference, so the Secret appearing later changes the pod hash and rolls.
        check.digests.push(format!("missing:{}", reference.name));
    }
    Ok(check)
}

/// What the key `reference` names holds (`None`: no such Secret). Read by GET only when the
/// Secret's cached version is not the one it was last read at.
async fn read_secret_key(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<Option<SecretKeyValue>> {
    let cached_version = cached(&caches.secrets, namespace, &reference.name)
        .and_then(|secret| secret.metadata.resource_version);
    if let Some(known) = cached_version.as_deref().and_then(|version| {
        ctx.secret_values
            .get(namespace, &reference.name, &reference.key, version)
    }) {
        return Ok(Some(known));
    }
    let secret = ctx
        .api::<Secret>(namespace)
        .get_opt(&reference.name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.to_owned(),
            name: reference.name.clone(),
            source,
        })?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let data = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .map(|bytes| bytes.0.clone());
    let string_data = secret
        .string_data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .map(|text| text.as_bytes().to_vec());
    let value = match data.or(string_data) {
        None => SecretKeyValue::KeyMissing,
        Some(value) => SecretKeyValue::Present {
            digest: builders::secret_digest(&value),
            // Only the token's is used; reading it from another key is harmless.
            bot_user_id: std::str::from_utf8(&value)
                .ok()
                .and_then(discord_token::bot_user_id),
        },
    };
    if let Some(version) = secret.metadata.resource_version.as_deref() {
        ctx.secret_values.record(
            namespace,
            &reference.name,
            &reference.key,
            version,
            value.clone(),
        );
    }
    Ok(Some(value))
}
