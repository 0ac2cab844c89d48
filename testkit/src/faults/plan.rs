//! What a fault trial decides from its seed (the fault's phase, how long into it, when each
//! user acts), and how trials are reported: pure, so each can be unit-tested.

use std::time::Duration;

use rand::Rng as _;
use rand::rngs::StdRng;

/// A fault the suite injects; one run injects one kind, once per trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The bot's process dies with SIGKILL and is started again.
    Kill,
    /// The Postgres server is killed with SIGKILL, postmaster and backends at once, and started
    /// again on its data a few seconds later.
    PostgresRestart,
    /// PrivateBin answers every request 503 for a while (two minutes unless told otherwise)
    /// while tickets close.
    PrivateBinDown,
    /// PrivateBin's traffic limiter (one paste per client every 10 s) is on, and 20 tickets close
    /// at once.
    PrivateBinLimiter,
    /// While the users write, the gateway sends RECONNECT and INVALID_SESSION and drops its
    /// connections, in a seeded storm of six blows.
    GatewayStorm,
    /// Two replicas of the bot run on one token; the one holding a close's lease dies with
    /// SIGKILL mid-close and is not started again: the other finishes everything.
    Replicas,
}

impl Fault {
    /// Every fault, in the order the usage lists them.
    pub const ALL: [Self; 6] = [
        Self::Kill,
        Self::PostgresRestart,
        Self::PrivateBinDown,
        Self::PrivateBinLimiter,
        Self::GatewayStorm,
        Self::Replicas,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::PostgresRestart => "postgres-restart",
            Self::PrivateBinDown => "privatebin-down",
            Self::PrivateBinLimiter => "privatebin-limiter",
            Self::GatewayStorm => "gateway",
            Self::Replicas => "replicas",
        }
    }

    /// The fault named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|fault| fault.name() == name)
    }

    /// The phases it may strike in, each as likely.
    pub(crate) fn phases(self) -> &'static [Phase] {
        match self {
            Self::Kill | Self::PostgresRestart => &Phase::ALL,
            // Only closes upload, and a close's lease is only held while it runs.
            Self::PrivateBinDown | Self::PrivateBinLimiter | Self::Replicas => &[Phase::Closing],
            Self::GatewayStorm => &[Phase::Intake],
        }
    }

    /// Trials in a run unless told otherwise: twenty, but a trial that waits out a two-minute
    /// outage or a five-minute queue gets fewer.
    pub fn default_trials(self) -> usize {
        match self {
            Self::PrivateBinDown | Self::PrivateBinLimiter => 3,
            _ => 20,
        }
    }

    /// How far into `phase` it may strike: [`Phase::fault_window`], but a storm starts within
    /// [`STORM_START`] so that most of the messages are written while it blows, and an outage
    /// within [`OUTAGE_START`], before most closes (each done some 60 ms after its click) are.
    pub(crate) fn window_in(self, phase: Phase) -> Duration {
        match self {
            Self::GatewayStorm => STORM_START,
            Self::PrivateBinDown => OUTAGE_START,
            _ => phase.fault_window(),
        }
    }

    /// Users per trial; half of them close their ticket.
    pub(crate) fn users(self) -> usize {
        match self {
            // Twenty closes at once against the limiter.
            Self::PrivateBinLimiter => 40,
            _ => 6,
        }
    }

    /// At most how many users share a guild (no bound: the load generator's layout). The six of
    /// most faults share one guild and category, so the sixth open waits for the guild's next
    /// channel window (5 per 5 s), as the kill's timing relies on; the limiter's 40 are spread
    /// eight to a guild, so that their opens, which are not what it tests, are set up within
    /// seconds rather than queued for 40 s.
    pub(crate) fn users_per_guild(self) -> usize {
        match self {
            Self::PrivateBinLimiter => 8,
            _ => usize::MAX,
        }
    }

    /// Whether it strikes at a moment within its phase; the limiter is on from the start.
    fn strikes_at_a_moment(self) -> bool {
        self != Self::PrivateBinLimiter
    }

    /// How long the users are given to get what they wanted once the fault's phase is over: a
    /// ticket a crash left `opening` is repaired once a minute old, a close resumed once its
    /// lease (30 s) runs out, a welcome repaired 30 s after its ticket's last step, a failed
    /// close retried within 20 s; three minutes covers each with room. Behind the limiter the
    /// closes' uploads also queue, one per [`LIMITER_SECS`] and a second of slack each.
    pub(crate) fn finish_patience(self) -> Duration {
        let room = Duration::from_mins(3);
        match self {
            Self::PrivateBinLimiter => {
                let closes = u32::try_from(self.users() / 2).unwrap_or(u32::MAX);
                room + Duration::from_secs(LIMITER_SECS + 1) * closes
            }
            _ => room,
        }
    }
}

/// [`Fault::PostgresRestart`]: how long the killed server of a trial seeded `seed` stays down
/// before it is started again: 1 to 10 s, so some outages outlast the bot's pool's 5-second
/// acquire timeout and fail the work in flight, and some do not.
pub(crate) fn postgres_downtime(seed: u64) -> Duration {
    Duration::from_millis(1000 + (seed >> 7) % 9000)
}

/// [`Fault::PrivateBinLimiter`]: PrivateBin's default traffic limit, seconds between pastes.
pub(crate) const LIMITER_SECS: u64 = 10;

/// [`Fault::PrivateBinDown`]: how long PrivateBin is down unless told otherwise.
pub const DEFAULT_OUTAGE: Duration = Duration::from_mins(2);

/// [`Fault::PrivateBinDown`]: the outage starts this soon after the first close click.
pub(crate) const OUTAGE_START: Duration = Duration::from_millis(200);

/// [`Fault::GatewayStorm`]: the storm starts this soon after the first message.
pub(crate) const STORM_START: Duration = Duration::from_millis(300);

/// [`Fault::GatewayStorm`]: how many blows a storm deals.
pub(crate) const STORM_BLOWS: usize = 6;

/// One blow of a gateway storm, dealt to every connected session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blow {
    /// Op 7 RECONNECT: the client should resume on a new connection.
    Reconnect,
    /// Op 9 INVALID_SESSION; not resumable means Discord forgot the session and the client
    /// identifies afresh, missing whatever happened meanwhile.
    InvalidSession { resumable: bool },
    /// The connection closes without a close frame; the session stays resumable.
    Drop,
}

impl Blow {
    /// Its name in the trial's log line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Reconnect => "RECONNECT",
            Self::InvalidSession { resumable: true } => "INVALID_SESSION(resumable)",
            Self::InvalidSession { resumable: false } => "INVALID_SESSION(fresh)",
            Self::Drop => "dropped connection",
        }
    }
}

/// The storm of a trial seeded `seed`: [`STORM_BLOWS`] blows, each of every kind as likely, each
/// followed by a pause of 100 to 500 ms, so some land while the client is still reconnecting from
/// the one before.
pub(crate) fn storm(seed: u64) -> Vec<(Blow, Duration)> {
    use rand::SeedableRng as _;
    // Its own stream, so the storm does not shift the users' moments drawn from the trial's.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5707_4D5E_ED00_0001);
    (0..STORM_BLOWS)
        .map(|_| {
            let blow = match rng.random_range(0..4) {
                0 => Blow::Reconnect,
                1 => Blow::InvalidSession { resumable: true },
                2 => Blow::InvalidSession { resumable: false },
                _ => Blow::Drop,
            };
            (blow, Duration::from_millis(rng.random_range(100..500)))
        })
        .collect()
}

/// The part of a trial a fault strikes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// While the users' open clicks are answered and their channels made.
    Opening,
    /// While the users write into their tickets.
    Intake,
    /// While half of the tickets close.
    Closing,
}

impl Phase {
    /// Every phase, in the order a trial goes through them.
    pub const ALL: [Self; 3] = [Self::Opening, Self::Intake, Self::Closing];

    /// The phase's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Intake => "intake",
            Self::Closing => "closing",
        }
    }

    /// How far into the phase the kill may come: about as long as the phase's work takes, so
    /// most kills land while something is in flight rather than after it settled. Five
    /// channels come out of the guild's 5-per-5-s bucket within the first second and the sixth
    /// waits for the next window, so a kill up to 2.5 s in finds an open in the limiter's queue;
    /// messages are spread over [`INTAKE_SPREAD`]; a close against the emulators is done some
    /// 60 ms after its click, so its kills fall within the clicks' [`CLOSE_SPREAD`].
    pub(crate) fn fault_window(self) -> Duration {
        match self {
            Self::Opening => Duration::from_millis(2500),
            Self::Intake => INTAKE_SPREAD + Duration::from_millis(200),
            Self::Closing => CLOSE_SPREAD + Duration::from_millis(100),
        }
    }
}

/// Over how long the open clicks are spread.
pub(crate) const OPEN_SPREAD: Duration = Duration::from_secs(1);
/// Over how long the users' messages are spread.
pub(crate) const INTAKE_SPREAD: Duration = Duration::from_secs(1);
/// Over how long the close clicks are spread.
pub(crate) const CLOSE_SPREAD: Duration = Duration::from_millis(500);

/// When a trial injects its fault: in which phase, how long after the phase's first action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// What goes wrong.
    pub fault: Fault,
    /// The phase.
    pub phase: Phase,
    /// The delay from its first action.
    pub after: Duration,
}

impl FaultPlan {
    /// One of the fault's phases, each as likely, and a moment within its
    /// [`Phase::fault_window`].
    pub(crate) fn choose(fault: Fault, rng: &mut StdRng) -> Self {
        let phases = fault.phases();
        let phase = phases[rng.random_range(0..phases.len())];
        let window = u64::try_from(fault.window_in(phase).as_millis()).unwrap_or(u64::MAX);
        let after = Duration::from_millis(rng.random_range(0..window));
        Self {
            fault,
            phase,
            after: if fault.strikes_at_a_moment() {
                after
            } else {
                Duration::ZERO
            },
        }
    }
}

/// The seed of trial `trial` of a run seeded `seed`: distinct per trial, and a run with more
/// trials repeats the trials of a run with fewer.
pub(crate) fn trial_seed(seed: u64, trial: usize) -> u64 {
    let trial = u64::try_from(trial).unwrap_or(u64::MAX);
    // A SplitMix64 step, so neighbouring seeds and trials give unrelated streams.
    let mut mixed = seed.wrapping_add(trial.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// `count` moments within `spread`, sorted.
pub(crate) fn moments(rng: &mut StdRng, count: usize, spread: Duration) -> Vec<Duration> {
    let spread = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut moments: Vec<Duration> = (0..count)
        .map(|_| Duration::from_millis(rng.random_range(0..spread)))
        .collect();
    moments.sort();
    moments
}

/// What one trial did and found.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialReport {
    /// Its number, from 1.
    pub trial: usize,
    /// Its own seed (see `trial_seed`).
    pub seed: u64,
    /// When it injected its fault.
    pub plan: FaultPlan,
    /// The ticket rows per state the moment the fault struck: what it cut short.
    pub states_at_fault: Vec<(String, i64)>,
    /// What the fault did, when it says more than its name (a storm's blows, say).
    pub detail: Option<String>,
    /// Open clicks the users had to make again after the restart.
    pub opens_again: usize,
    /// Close clicks the users had to make again after the restart.
    pub closes_again: usize,
    /// How the end state breaks the promise (empty: it keeps it).
    pub problems: Vec<String>,
    /// From the fault's end (the bot restarted, the service back) until the users of its phase
    /// had what they wanted (a ready ticket, every message stored, every close logged).
    pub recovery: Option<Duration>,
    /// When the fault ended, for [`Self::recovery`].
    pub(crate) fault_over: Option<std::time::Instant>,
    /// Whether the restarted bot exited 0 on SIGTERM.
    pub clean_exit: bool,
    /// How long the trial took.
    pub seconds: f64,
}

impl TrialReport {
    /// Whether the trial failed: an inconsistent end state or an unclean exit.
    pub fn failed(&self) -> bool {
        !self.problems.is_empty() || !self.clean_exit
    }

    /// One line for the run's table.
    pub fn line(&self) -> String {
        let states: Vec<String> = self
            .states_at_fault
            .iter()
            .map(|(state, count)| format!("{state} {count}"))
            .collect();
        let verdict = if self.failed() {
            let mut why = Vec::new();
            if !self.problems.is_empty() {
                why.push(format!("{} problems", self.problems.len()));
            }
            if !self.clean_exit {
                why.push("unclean exit".to_owned());
            }
            format!("FAILED ({})", why.join(", "))
        } else {
            "ok".to_owned()
        };
        format!(
            "trial {:>3}  seed {:#018x}  {} in {:<7} after {:>4} ms  rows then: {:<30}  clicked again: {} open, {} close  recovered in {}  {:>5.1} s  {verdict}",
            self.trial,
            self.seed,
            self.plan.fault.name(),
            self.plan.phase.name(),
            self.plan.after.as_millis(),
            if states.is_empty() {
                "none".to_owned()
            } else {
                states.join(", ")
            },
            self.opens_again,
            self.closes_again,
            self.recovery.map_or_else(
                || "-".to_owned(),
                |recovery| format!("{:.1} s", recovery.as_secs_f64())
            ),
            self.seconds,
        ) + &self
            .detail
            .as_ref()
            .map_or_else(String::new, |detail| format!("  ({detail})"))
    }
}

/// The run's last line: trials, faults per phase, the longest recovery, failures.
pub fn summary(reports: &[TrialReport]) -> String {
    let per_phase: Vec<String> = Phase::ALL
        .iter()
        .map(|phase| {
            let struck = reports
                .iter()
                .filter(|report| report.plan.phase == *phase)
                .count();
            format!("{} {struck}", phase.name())
        })
        .collect();
    let failed = reports.iter().filter(|report| report.failed()).count();
    let longest = reports.iter().filter_map(|report| report.recovery).max();
    format!(
        "{} trials; faults: {}; longest recovery {}; {failed} failed",
        reports.len(),
        per_phase.join(", "),
        longest.map_or_else(
            || "-".to_owned(),
            |recovery| format!("{:.1} s", recovery.as_secs_f64())
        ),
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn the_same_seed_chooses_the_same_kill() {
        let plan = |seed| FaultPlan::choose(Fault::Kill, &mut StdRng::seed_from_u64(seed));
        assert_eq!(plan(7), plan(7));
        for seed in 0..200 {
            let chosen = plan(seed);
            assert!(chosen.after < chosen.phase.fault_window(), "{chosen:?}");
            let storm = FaultPlan::choose(Fault::GatewayStorm, &mut StdRng::seed_from_u64(seed));
            assert!(storm.after < STORM_START, "{storm:?}");
        }
    }

    #[test]
    fn every_phase_is_chosen_about_as_often() {
        let mut counts = [0_usize; 3];
        for trial in 0..300 {
            let mut rng = StdRng::seed_from_u64(trial_seed(1, trial));
            let phase = FaultPlan::choose(Fault::Kill, &mut rng).phase;
            counts[Phase::ALL.iter().position(|p| *p == phase).unwrap()] += 1;
        }
        assert!(counts.iter().all(|count| *count > 60), "{counts:?}");
    }

    #[test]
    fn each_fault_strikes_only_in_its_phases_and_the_limiter_from_the_start() {
        for fault in Fault::ALL {
            assert_eq!(Fault::from_name(fault.name()), Some(fault));
            for seed in 0..50 {
                let plan = FaultPlan::choose(fault, &mut StdRng::seed_from_u64(seed));
                assert!(fault.phases().contains(&plan.phase), "{plan:?}");
                if fault == Fault::PrivateBinLimiter {
                    assert_eq!(plan.after, Duration::ZERO);
                }
            }
        }
        assert_eq!(
            Fault::PrivateBinLimiter.users() / 2,
            20,
            "twenty closes at once"
        );
        assert!(Fault::PrivateBinLimiter.finish_patience() > Duration::from_secs(11 * 20));
    }

    #[test]
    fn a_storm_is_seeded_and_deals_every_kind_of_blow() {
        assert_eq!(storm(3), storm(3));
        assert_ne!(storm(3), storm(4));
        let mut kinds = std::collections::HashSet::new();
        for seed in 0..40 {
            let blows = storm(seed);
            assert_eq!(blows.len(), STORM_BLOWS);
            for (blow, pause) in blows {
                assert!((100..500).contains(&pause.as_millis()), "{pause:?}");
                kinds.insert(blow.name());
            }
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
    }

    #[test]
    fn postgres_stays_down_one_to_ten_seconds_some_longer_than_the_acquire_timeout() {
        let downtimes: Vec<Duration> = (0..40)
            .map(|trial| postgres_downtime(trial_seed(20, trial)))
            .collect();
        assert!(
            downtimes
                .iter()
                .all(|down| { (Duration::from_secs(1)..Duration::from_secs(10)).contains(down) })
        );
        let long = downtimes
            .iter()
            .filter(|down| **down > Duration::from_secs(5))
            .count();
        assert!((8..32).contains(&long), "{long} of 40 longer than 5 s");
    }

    #[test]
    fn trial_seeds_differ_per_trial_and_per_run_seed() {
        assert_eq!(trial_seed(1, 3), trial_seed(1, 3));
        assert_ne!(trial_seed(1, 3), trial_seed(1, 4));
        assert_ne!(trial_seed(1, 3), trial_seed(2, 3));
        assert_ne!(trial_seed(1, 2), trial_seed(2, 1));
    }

    #[test]
    fn moments_are_sorted_and_within_the_spread() {
        let mut rng = StdRng::seed_from_u64(5);
        let spread = Duration::from_millis(300);
        let moments = moments(&mut rng, 12, spread);
        assert_eq!(moments.len(), 12);
        assert!(moments.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(moments.iter().all(|moment| *moment < spread));
    }

    fn report(phase: Phase, problems: &[&str], clean_exit: bool) -> TrialReport {
        TrialReport {
            trial: 1,
            seed: 9,
            plan: FaultPlan {
                fault: Fault::Kill,
                phase,
                after: Duration::from_millis(120),
            },
            states_at_fault: vec![("open".to_owned(), 4), ("opening".to_owned(), 2)],
            detail: None,
            opens_again: 2,
            closes_again: 0,
            problems: problems
                .iter()
                .map(|problem| (*problem).to_owned())
                .collect(),
            recovery: Some(Duration::from_millis(2500)),
            fault_over: None,
            clean_exit,
            seconds: 12.0,
        }
    }

    #[test]
    fn a_trial_fails_on_a_problem_or_an_unclean_exit() {
        assert!(!report(Phase::Opening, &[], true).failed());
        assert!(report(Phase::Opening, &["ticket 3 is left closing"], true).failed());
        assert!(report(Phase::Opening, &[], false).failed());
        let line = report(Phase::Closing, &["x"], false).line();
        assert!(
            line.contains("kill in closing") && line.contains("FAILED (1 problems, unclean exit)"),
            "{line}"
        );
        assert!(line.contains("open 4, opening 2"), "{line}");
        assert!(line.contains("recovered in 2.5 s"), "{line}");
    }

    #[test]
    fn the_summary_counts_faults_per_phase_and_failures() {
        let reports = [
            report(Phase::Opening, &[], true),
            report(Phase::Closing, &["x"], true),
            report(Phase::Closing, &[], true),
        ];
        assert_eq!(
            summary(&reports),
            "3 trials; faults: opening 1, intake 0, closing 2; longest recovery 2.5 s; 1 failed"
        );
    }
}
