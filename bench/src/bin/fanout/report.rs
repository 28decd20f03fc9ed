//! The fan-out report: per member count, each server's median, min and max
//! time to the last member, its ratio to the raw anchor and Django's ratio
//! to it, the targets met or not, and the chart of the ratios.

use std::fmt::Write as _;
use std::time::Duration;

use crate::chart::{self, BarChart};
use crate::members::Sends;
use crate::servers::Target;

/// One server at one member count.
#[derive(Debug)]
pub struct Row {
    /// The server and layer.
    pub target: Target,
    /// Members of the group.
    pub members: usize,
    /// The sorted times of the sends, or why there are none.
    pub outcome: Result<Vec<Duration>, String>,
    /// The server's CPU milliseconds per send, where it was read.
    pub server_cpu_ms: Option<f64>,
}

impl Row {
    /// The row of what one server's sends gave.
    pub fn new(target: Target, members: usize, outcome: Result<Sends, String>) -> Row {
        let server_cpu_ms = outcome.as_ref().ok().and_then(|sends| sends.server_cpu_ms);
        Row {
            target,
            members,
            outcome: outcome.map(|sends| sends.times),
            server_cpu_ms,
        }
    }
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median of sorted times.
fn median(times: &[Duration]) -> Option<Duration> {
    match times.len() {
        0 => None,
        n if n % 2 == 1 => Some(times[n / 2]),
        n => Some((times[n / 2 - 1] + times[n / 2]) / 2),
    }
}

fn cpu_of(rows: &[Row], target: Target, members: usize) -> Option<f64> {
    rows.iter()
        .find(|r| r.target == target && r.members == members)
        .and_then(|r| r.server_cpu_ms)
}

fn median_of(rows: &[Row], target: Target, members: usize) -> Option<f64> {
    rows.iter()
        .find(|r| r.target == target && r.members == members)
        .and_then(|r| r.outcome.as_ref().ok())
        .and_then(|times| median(times))
        .map(ms)
}

fn member_counts(rows: &[Row]) -> Vec<usize> {
    let mut counts: Vec<usize> = rows.iter().map(|r| r.members).collect();
    counts.dedup();
    counts
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn shown(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The targets: (what, this server, compared with, at most this ratio).
const TARGETS: [(&str, Target, Target, f64); 5] = [
    ("in-process ≤ 1.25 × raw", Target::InProcess, Target::Raw, 1.25),
    ("Redis pub/sub ≤ 1.5 × raw", Target::RedisPubsub, Target::Raw, 1.5),
    ("Redis core ≤ 1.5 × raw", Target::RedisCore, Target::Raw, 1.5),
    (
        "in-process ≥ 20 × faster than Django in-memory",
        Target::InProcess,
        Target::DjangoMemory,
        1.0 / 20.0,
    ),
    (
        "Redis core ≥ 20 × faster than Django channels_redis",
        Target::RedisCore,
        Target::DjangoRedis,
        1.0 / 20.0,
    ),
];

/// The report as markdown.
/// `sends`: how many sends were timed on the Rust servers and on Django.
pub fn render(rows: &[Row], sends: (usize, usize), machine: &str, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Fan-out results\n");
    let _ = writeln!(out, "- machine: {machine}");
    let _ = writeln!(out, "- command: `{command}`");
    let _ = writeln!(
        out,
        "- time from the speaker's `say` to the last member's notification; median, min and max of {} \
         sends (Django: {}) after one warm-up; every notification checked byte for byte",
        sends.0, sends.1
    );
    let _ = writeln!(
        out,
        "- members and speaker: one process, a tokio current-thread runtime pinned to CPU 1; each server a \
         child process pinned to CPU 0 (channels-rpc and raw: a current-thread runtime; Django: uvicorn with \
         uvloop, one process); a fresh redis-server per row that needs one"
    );
    let _ = writeln!(
        out,
        "- server CPU: the server process's user + system time per timed send (`/proc/PID/stat`, 10 ms \
         ticks; redis-server not counted), steadier than the times on a shared machine\n"
    );
    let _ = writeln!(
        out,
        "| server | members | median ms | min ms | max ms | × raw | server CPU ms / send | CPU × raw | \
         Django in-memory ÷ this | Django channels_redis ÷ this |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let m = row.members;
        match &row.outcome {
            Ok(times) => {
                let median = median(times).map(ms);
                let _ = writeln!(
                    out,
                    "| {} | {m} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
                    row.target.label(),
                    shown(median, 2),
                    ms(times[0]),
                    ms(*times.last().expect("one send at least")),
                    shown(ratio(median, median_of(rows, Target::Raw, m)), 2),
                    shown(row.server_cpu_ms, 1),
                    shown(ratio(row.server_cpu_ms, cpu_of(rows, Target::Raw, m)), 2),
                    shown(ratio(median_of(rows, Target::DjangoMemory, m), median), 1),
                    shown(ratio(median_of(rows, Target::DjangoRedis, m), median), 1),
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| {} | {m} | {e} | | | | | | | |", row.target.label());
            }
        }
    }
    let _ = writeln!(out, "\nTargets (ratios of medians within this run):\n");
    for members in member_counts(rows) {
        for (what, ours, other, limit) in TARGETS {
            let verdict = match ratio(median_of(rows, ours, members), median_of(rows, other, members)) {
                Some(r) if r <= limit => format!("met ({})", describe(r)),
                Some(r) => format!("**not met** ({})", describe(r)),
                None => "not measured".to_owned(),
            };
            let _ = writeln!(out, "- {members} members, {what}: {verdict}");
        }
    }
    out
}

fn describe(ratio: f64) -> String {
    if ratio < 1.0 {
        format!("{:.1} × faster", 1.0 / ratio)
    } else {
        format!("{ratio:.2} ×")
    }
}

/// The chart: each server's median ÷ raw's, per member count.
pub fn chart(rows: &[Row]) -> Result<String, String> {
    let counts = member_counts(rows);
    let series = Target::ALL
        .into_iter()
        .filter(|t| rows.iter().any(|r| r.target == *t))
        .map(|t| {
            let values = counts
                .iter()
                .map(|&m| ratio(median_of(rows, t, m), median_of(rows, Target::Raw, m)))
                .collect();
            (t.label().to_owned(), values)
        })
        .collect();
    chart::render(&BarChart {
        title: "Group fan-out: time to the last member ÷ the raw anchor's (lower is better)",
        y_label: "÷ raw (log scale)",
        groups: counts.iter().map(|m| format!("{m} members")).collect(),
        series,
        log_scale: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: Target, members: usize, ms: &[u64], cpu_ms: f64) -> Row {
        Row {
            target,
            members,
            outcome: Ok(ms.iter().map(|&m| Duration::from_millis(m)).collect()),
            server_cpu_ms: Some(cpu_ms),
        }
    }

    #[test]
    fn ratios_and_verdicts() {
        let rows = vec![
            row(Target::Raw, 1000, &[9, 10, 11], 8.0),
            row(Target::InProcess, 1000, &[11, 12, 30], 10.0),
            row(Target::DjangoMemory, 1000, &[100, 600, 700], 590.0),
            Row {
                target: Target::RedisCore,
                members: 1000,
                outcome: Err("skipped: no redis-server".to_owned()),
                server_cpu_ms: None,
            },
        ];
        let text = render(&rows, (3, 3), "machine", "command");
        assert!(
            text.contains(
                "| channels-rpc, in-process | 1000 | 12.00 | 11.00 | 30.00 | 1.20 | 10.0 | 1.25 | 50.0 | - |"
            ),
            "{text}"
        );
        assert!(
            text.contains("1000 members, in-process ≤ 1.25 × raw: met (1.20 ×)"),
            "{text}"
        );
        assert!(
            text.contains("in-process ≥ 20 × faster than Django in-memory: met (50.0 × faster)"),
            "{text}"
        );
        assert!(text.contains("Redis core ≤ 1.5 × raw: not measured"), "{text}");
        assert!(
            text.contains("| channels-rpc, Redis core | 1000 | skipped: no redis-server |"),
            "{text}"
        );
        let svg = chart(&rows).unwrap();
        assert!(
            chart::shows_text(&svg, "1.20") && chart::shows_text(&svg, "60.00"),
            "{svg}"
        );
    }

    #[test]
    fn medians_of_even_counts_average() {
        let times = [2, 4].map(Duration::from_millis);
        assert_eq!(median(&times), Some(Duration::from_millis(3)));
        assert_eq!(median(&[]), None);
    }
}
