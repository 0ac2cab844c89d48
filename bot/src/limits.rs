//! The opening limits decided before anything is written: the required and denied roles, and
//! the cooldown after a close (whose last close time comes from the database, so it holds across
//! replicas and restarts). Pure, so every rule is unit-tested.

use std::time::Duration;

use twilight_model::id::Id;
use twilight_model::id::marker::RoleMarker;

use crate::config::Category;

/// Why an open is refused before the database is asked to begin the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The member holds none of the category's `requiredRoleIds`.
    MissingRequiredRole,
    /// The member holds one of the category's `deniedRoleIds`.
    DeniedRole,
    /// The member's last ticket here closed too recently; they may open again at this Unix time.
    Cooldown {
        /// When the cooldown ends, Unix seconds.
        until_unix: i64,
    },
    /// The guild holds its cap of open tickets (`limits.maxOpenTicketsPerGuild`); decided by
    /// the database when the ticket would begin.
    GuildCap {
        /// The cap.
        cap: u32,
    },
}

impl Refusal {
    /// The metrics label of the refusal's reason.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::MissingRequiredRole => "missing_role",
            Self::DeniedRole => "denied_role",
            Self::Cooldown { .. } => "cooldown",
            Self::GuildCap { .. } => "guild_cap",
        }
    }
}

/// Whether a member holding `member_roles` may open in `category` as far as roles go. Staff are
/// not exempt: a denied role refuses everyone holding it, which keeps the rule simple to state.
pub(crate) fn check_roles(
    category: &Category,
    member_roles: &[Id<RoleMarker>],
) -> Result<(), Refusal> {
    let holds = |role: &Id<RoleMarker>| member_roles.contains(role);
    if category.denied_role_ids.iter().any(holds) {
        return Err(Refusal::DeniedRole);
    }
    if !category.required_role_ids.is_empty() && !category.required_role_ids.iter().any(holds) {
        return Err(Refusal::MissingRequiredRole);
    }
    Ok(())
}

/// Whether `cooldown` after a close at `last_closed_unix` still runs at `now_unix`.
pub(crate) fn check_cooldown(
    cooldown: Duration,
    last_closed_unix: Option<i64>,
    now_unix: i64,
) -> Result<(), Refusal> {
    let seconds = i64::try_from(cooldown.as_secs()).unwrap_or(i64::MAX);
    match last_closed_unix {
        Some(closed) if seconds > 0 && now_unix < closed.saturating_add(seconds) => {
            Err(Refusal::Cooldown {
                until_unix: closed.saturating_add(seconds),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::category;

    const ROLE_A: u64 = 400_000_000_000_000_101;
    const ROLE_B: u64 = 400_000_000_000_000_102;
    const DENIED: u64 = 400_000_000_000_000_109;

    fn limited() -> Category {
        Category {
            required_role_ids: vec![Id::new(ROLE_A), Id::new(ROLE_B)],
            denied_role_ids: vec![Id::new(DENIED)],
            ..category(200_000_000_000_000_001, &[])
        }
    }

    #[test]
    fn without_limits_everyone_may_open() {
        assert_eq!(check_roles(&category(1, &[]), &[]), Ok(()));
        assert_eq!(check_cooldown(Duration::ZERO, Some(1_000), 1_000), Ok(()));
    }

    #[test]
    fn one_required_role_is_enough_and_a_denied_one_refuses_anyway() {
        assert_eq!(
            check_roles(&limited(), &[]),
            Err(Refusal::MissingRequiredRole)
        );
        assert_eq!(check_roles(&limited(), &[Id::new(ROLE_B)]), Ok(()));
        assert_eq!(
            check_roles(&limited(), &[Id::new(ROLE_A), Id::new(DENIED)]),
            Err(Refusal::DeniedRole)
        );
        assert_eq!(Refusal::DeniedRole.reason(), "denied_role");
    }

    #[test]
    fn the_cooldown_runs_from_the_last_close() {
        let hour = Duration::from_hours(1);
        assert_eq!(check_cooldown(hour, None, 5_000), Ok(()));
        assert_eq!(
            check_cooldown(hour, Some(1_000), 4_599),
            Err(Refusal::Cooldown { until_unix: 4_600 })
        );
        assert_eq!(check_cooldown(hour, Some(1_000), 4_600), Ok(()));
    }
}
