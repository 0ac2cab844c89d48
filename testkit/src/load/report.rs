//! What a load run measured, the statistics behind it, and the targets it is held to.
//!
//! Pure functions over numbers the run collected, so each can be unit-tested: percentiles, the
//! busiest sliding second of globally counted requests, and the open rate the emulator's limits
//! allow.

use std::time::Duration;

use serde::Serialize;

/// Latency percentiles of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The slowest sample.
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples` (in any order).
    pub fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort();
        Self {
            count: sorted.len(),
            p50_ms: millis(percentile(&sorted, 50)),
            p95_ms: millis(percentile(&sorted, 95)),
            p99_ms: millis(percentile(&sorted, 99)),
            max_ms: millis(sorted.last().copied().unwrap_or_default()),
        }
    }
}

/// The nearest-rank `percent`th percentile of `sorted` (zero when empty).
pub(crate) fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub(crate) fn mebibytes(kib: u64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "a memory size printed with one decimal"
    )]
    let kib = kib as f64;
    kib / 1024.0
}

/// The most requests whose times (`at`, any order) fall in one window `[t, t + window)`: what a
/// sliding-window limit sees, unlike a fixed window that resets on the second.
pub(crate) fn busiest_window(times: &[Duration], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut busiest = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end].saturating_sub(sorted[start]) >= window {
            start += 1;
        }
        busiest = busiest.max(end - start + 1);
    }
    busiest
}

/// How long a bucket of `limit` requests per `window` (the window starting at its first request)
/// needs for `requests` requests sent at once: the last one goes out at the start of window
/// number ⌈requests / limit⌉.
pub(crate) fn bucket_time(requests: usize, limit: u32, window: Duration) -> Duration {
    let windows = requests.div_ceil(usize::try_from(limit.max(1)).unwrap_or(usize::MAX));
    window * u32::try_from(windows.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// One figure of a report held against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    /// What is measured, e.g. `ack p99`.
    pub figure: String,
    /// The measured value, with its unit.
    pub measured: String,
    /// The target, e.g. `≤ 10 ms`.
    pub target: String,
    /// Whether the measured value meets it.
    pub met: bool,
}

fn at_most(figure: &str, measured: f64, unit: &str, target: f64) -> TargetCheck {
    TargetCheck {
        figure: figure.to_owned(),
        measured: format!("{measured:.1} {unit}"),
        target: format!("≤ {target} {unit}"),
        met: measured <= target,
    }
}

fn count_at_most(figure: &str, measured: usize, target: usize) -> TargetCheck {
    TargetCheck {
        figure: figure.to_owned(),
        measured: measured.to_string(),
        target: format!("≤ {target}"),
        met: measured <= target,
    }
}

/// Everything one scenario measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The scenario's name (`burst-100`, …).
    pub scenario: String,
    /// The seed that ordered the clicks and picked the closes.
    pub seed: u64,
    /// Simulated REST round trip, milliseconds.
    pub round_trip_ms: u64,
    /// Clicks sent.
    pub clicks: usize,
    /// Guilds the tickets were spread over (200 tickets fit in one).
    pub guilds: usize,
    /// Open clicks acknowledged in time.
    pub acked: usize,
    /// Interactions (opens and closes) that failed: not acknowledged within Discord's 3 s.
    pub failed_interactions: usize,
    /// Acknowledgement latency of the open clicks (INTERACTION_CREATE sent → callback accepted).
    pub ack: Latency,
    /// Acknowledgement latency of the close clicks.
    pub close_ack: Latency,
    /// Click → ticket channel ready (its welcome pinned), as seen by polling the emulator.
    pub channel_ready: Latency,
    /// Tickets opened per second, from the first click to the last channel ready.
    pub opens_per_second: f64,
    /// The most opens per second the emulator's limits allow for this burst.
    pub opens_per_second_bound: f64,
    /// REST requests (interaction callbacks included) per ticket opened.
    pub rest_calls_per_open: f64,
    /// REST requests per ticket closed.
    pub rest_calls_per_close: f64,
    /// Responses with status 429 during the run.
    pub rate_limited: usize,
    /// The routes that drew them, with counts.
    pub rate_limited_routes: Vec<(String, usize)>,
    /// The most globally counted requests in any sliding one-second window.
    pub busiest_global_second: usize,
    /// Tickets opened, and closed.
    pub opened: usize,
    /// Tickets closed.
    pub closed: usize,
    /// Messages written into each ticket.
    pub messages_per_ticket: usize,
    /// For the big-ticket scenario: close click → log post.
    pub close_to_log_ms: Option<f64>,
    /// Bot resident memory once idle (panels posted, nothing happening), MiB.
    pub idle_rss_mib: f64,
    /// Bot resident memory with every ticket of the burst open, MiB.
    pub rss_open_mib: f64,
    /// The bot's peak resident memory after idling, MiB.
    pub peak_rss_mib: f64,
    /// Bot CPU (user + system) per ticket opened, milliseconds.
    pub cpu_ms_per_open: f64,
    /// Bot CPU per ticket closed, milliseconds.
    pub cpu_ms_per_close: f64,
    /// Process start → every panel posted, milliseconds.
    pub start_to_panels_ms: f64,
    /// What the end-of-run check of the database and the guild found wrong (empty: consistent).
    pub inconsistencies: Vec<String>,
    /// Whether the bot exited 0 on SIGTERM.
    pub clean_exit: bool,
    /// The scenario's wall time, seconds.
    pub wall_seconds: f64,
}

impl Report {
    /// The targets that apply to this scenario, each with its measured value.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let mut checks = Vec::new();
        let big = self.close_to_log_ms.is_some();
        if big {
            let close = self.close_to_log_ms.unwrap_or(f64::MAX);
            checks.push(at_most("close → log post", close, "ms", 1500.0));
            checks.push(at_most("peak RSS", self.peak_rss_mib, "MiB", 30.0));
        } else {
            let ack_target = match (self.clicks, self.round_trip_ms) {
                (100, 0) => 10.0,
                (100, _) => 150.0,
                _ => 50.0,
            };
            checks.push(at_most("ack p99", self.ack.p99_ms, "ms", ack_target));
            if self.clicks >= 500 {
                checks.push(count_at_most("429s", self.rate_limited, 0));
                let floor = self.opens_per_second_bound * 0.95;
                checks.push(TargetCheck {
                    figure: "opens/s".to_owned(),
                    measured: format!("{:.2}", self.opens_per_second),
                    target: format!("≥ {floor:.2} (95 % of the bound)"),
                    met: self.opens_per_second >= floor,
                });
            }
            if self.clicks >= 1000 {
                checks.push(at_most(
                    "RSS with the tickets open",
                    self.rss_open_mib,
                    "MiB",
                    20.0,
                ));
            }
            checks.push(at_most("bot CPU per open", self.cpu_ms_per_open, "ms", 1.0));
        }
        checks.push(count_at_most(
            "failed interactions",
            self.failed_interactions,
            0,
        ));
        checks.push(count_at_most(
            "busiest global second",
            self.busiest_global_second,
            50,
        ));
        checks.push(count_at_most(
            "inconsistencies",
            self.inconsistencies.len(),
            0,
        ));
        checks.push(at_most("idle RSS", self.idle_rss_mib, "MiB", 10.0));
        checks
    }

    /// The header of [`markdown_row`](Self::markdown_row)'s table.
    pub fn markdown_header() -> &'static str {
        "| scenario | clicks | acked | failed | ack p50/p95/p99/max ms | click → ready p50/p99 ms | opens/s (bound) | REST per open / close | 429s | busiest global s | close → log ms | idle / open / peak RSS MiB | CPU ms per open / close | start → panels ms | consistent |\n|---|---:|---:|---:|---|---|---|---|---:|---:|---:|---|---|---:|---|"
    }

    /// The report as one row of a Markdown table.
    pub fn markdown_row(&self) -> String {
        let close_to_log = self
            .close_to_log_ms
            .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.0}"));
        let consistent = if self.inconsistencies.is_empty() && self.clean_exit {
            "yes".to_owned()
        } else {
            format!(
                "no: {}{}",
                self.inconsistencies.join("; "),
                if self.clean_exit {
                    ""
                } else {
                    "; unclean exit"
                }
            )
        };
        format!(
            "| {} | {} | {} | {} | {:.1} / {:.1} / {:.1} / {:.1} | {:.0} / {:.0} | {:.2} ({:.2}) | {:.1} / {:.1} | {} | {} | {close_to_log} | {:.1} / {:.1} / {:.1} | {:.2} / {:.2} | {:.0} | {consistent} |",
            self.scenario,
            self.clicks,
            self.acked,
            self.failed_interactions,
            self.ack.p50_ms,
            self.ack.p95_ms,
            self.ack.p99_ms,
            self.ack.max_ms,
            self.channel_ready.p50_ms,
            self.channel_ready.p99_ms,
            self.opens_per_second,
            self.opens_per_second_bound,
            self.rest_calls_per_open,
            self.rest_calls_per_close,
            self.rate_limited,
            self.busiest_global_second,
            self.idle_rss_mib,
            self.rss_open_mib,
            self.peak_rss_mib,
            self.cpu_ms_per_open,
            self.cpu_ms_per_close,
            self.start_to_panels_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let latency = Latency::of(&samples);
        assert_eq!(latency.count, 100);
        assert!((latency.p50_ms - 50.0).abs() < 1e-9);
        assert!((latency.p99_ms - 99.0).abs() < 1e-9);
        assert!((latency.max_ms - 100.0).abs() < 1e-9);
        assert_eq!(Latency::of(&[]), Latency::default());
        assert!((Latency::of(&ms(&[7])).p99_ms - 7.0).abs() < 1e-9);
    }

    #[test]
    fn the_busiest_window_slides_across_second_boundaries() {
        // 30 at 0.6 s and 30 at 1.2 s: two fixed seconds of 30 each, one sliding second of 60.
        let mut times = vec![Duration::from_millis(600); 30];
        times.extend(vec![Duration::from_millis(1200); 30]);
        assert_eq!(busiest_window(&times, Duration::from_secs(1)), 60);
        // Exactly one window apart: never in the same window.
        assert_eq!(
            busiest_window(&ms(&[0, 1000, 2000]), Duration::from_secs(1)),
            1
        );
        assert_eq!(busiest_window(&[], Duration::from_secs(1)), 0);
    }

    #[test]
    fn a_bucket_sends_a_window_of_requests_per_window() {
        let five = Duration::from_secs(5);
        assert_eq!(bucket_time(5, 5, five), Duration::ZERO);
        assert_eq!(bucket_time(6, 5, five), five);
        assert_eq!(bucket_time(100, 5, five), Duration::from_secs(95));
        assert_eq!(bucket_time(0, 5, five), Duration::ZERO);
    }

    #[test]
    fn targets_follow_the_scenario() {
        let report = Report {
            clicks: 100,
            ack: Latency {
                p99_ms: 12.0,
                ..Latency::default()
            },
            clean_exit: true,
            ..Report::default()
        };
        let checks = report.targets();
        let ack = checks.iter().find(|c| c.figure == "ack p99").unwrap();
        assert_eq!(ack.target, "≤ 10 ms");
        assert!(!ack.met);
        assert!(!checks.iter().any(|c| c.figure == "429s"));
        let big = Report {
            close_to_log_ms: Some(200.0),
            peak_rss_mib: 31.0,
            ..Report::default()
        };
        let checks = big.targets();
        assert!(
            checks
                .iter()
                .any(|c| c.figure == "close → log post" && c.met)
        );
        assert!(checks.iter().any(|c| c.figure == "peak RSS" && !c.met));
    }

    #[test]
    fn the_markdown_row_has_a_cell_per_header_column() {
        let columns = Report::markdown_header()
            .lines()
            .next()
            .unwrap()
            .matches('|')
            .count();
        assert_eq!(
            Report::default().markdown_row().matches('|').count(),
            columns
        );
    }
}
