//! The report: the median over rounds of each metric per server, the ratios
//! ours/jsonrpsee and ours/baseline, as a markdown table, with the machine,
//! the command and warnings when the generator may have been the limit.

use std::fmt::Write as _;

use crate::chart::{self, BarChart};
use crate::load::{Options, Sample, Scenario};
use crate::servers::Kind;

/// One row of the table: what it shows and where to find it in a sample.
struct Metric {
    label: &'static str,
    value: fn(&Sample) -> Option<f64>,
    format: fn(f64) -> String,
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn two_decimals(v: f64) -> String {
    format!("{v:.2}")
}

fn percent(v: f64) -> String {
    format!("{v:.0}%")
}

/// The rows shown for `scenario`.
fn metrics(scenario: Scenario) -> Vec<Metric> {
    if scenario == Scenario::WsIdle {
        return vec![
            Metric {
                label: "connections held",
                value: |s| s.connections,
                format: thousands,
            },
            Metric {
                label: "server RSS KiB / connection",
                value: |s| s.rss_kib_per_connection,
                format: two_decimals,
            },
            Metric {
                label: "server CPU us / connection opened",
                value: |s| s.server_cpu_us_per_call,
                format: one_decimal,
            },
            Metric {
                label: "connections opened / s",
                value: |s| s.calls_per_sec,
                format: thousands,
            },
            Metric {
                label: "generator CPU",
                value: |s| s.generator_cpu_pct,
                format: percent,
            },
        ];
    }
    let batch = scenario == Scenario::HttpBatch;
    vec![
        Metric {
            label: "calls / s",
            value: |s| s.calls_per_sec,
            format: thousands,
        },
        Metric {
            label: if batch {
                "p50 latency us (per batch)"
            } else {
                "p50 latency us"
            },
            value: |s| s.p50_us,
            format: one_decimal,
        },
        Metric {
            label: if batch {
                "p99 latency us (per batch)"
            } else {
                "p99 latency us"
            },
            value: |s| s.p99_us,
            format: one_decimal,
        },
        Metric {
            label: "server CPU us / call",
            value: |s| s.server_cpu_us_per_call,
            format: two_decimals,
        },
        Metric {
            label: "server CPU",
            value: |s| s.server_cpu_pct,
            format: percent,
        },
        Metric {
            label: "generator CPU",
            value: |s| s.generator_cpu_pct,
            format: percent,
        },
    ]
}

/// The median of the values present, if any.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// The samples of one scenario on one server.
fn samples_of<'a>(
    samples: &'a [(Scenario, Kind, Sample)],
    scenario: Scenario,
    kind: Kind,
) -> impl Iterator<Item = &'a Sample> + 'a {
    samples
        .iter()
        .filter(move |(s, k, _)| *s == scenario && *k == kind)
        .map(|(_, _, sample)| sample)
}

/// The median of `metric` for one scenario and server.
fn median_of(
    samples: &[(Scenario, Kind, Sample)],
    scenario: Scenario,
    kind: Kind,
    value: fn(&Sample) -> Option<f64>,
) -> Option<f64> {
    median(samples_of(samples, scenario, kind).filter_map(value).collect())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
        _ => "-".to_owned(),
    }
}

/// Renders the whole report as markdown.
pub fn render(samples: &[(Scenario, Kind, Sample)], opts: &Options, machine: &str, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# rpc-bench results\n");
    let _ = writeln!(out, "- machine: {machine}");
    let _ = writeln!(out, "- command: `{command}`");
    let _ = writeln!(
        out,
        "- each server is a child process on a tokio current-thread runtime pinned to CPU 0; the generator \
         (one current-thread runtime) is pinned to CPU 1; a fresh server process per scenario and round"
    );
    let _ = writeln!(
        out,
        "- median over {} round(s); each window {:.1} s after {:.1} s of warm-up; servers take turns \
         ({}) within each round and scenario",
        opts.rounds,
        opts.seconds,
        opts.warmup,
        opts.servers.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        out,
        "- CPU time is utime + stime from /proc/PID/stat (clock ticks); CPU % is of one core; every answer \
         was validated (id and result)\n"
    );

    let kinds = &opts.servers;
    let _ = write!(out, "| scenario | metric |");
    for kind in kinds {
        let _ = write!(out, " {kind} |");
    }
    let _ = writeln!(out, " ours/jsonrpsee | ours/baseline |");
    let _ = write!(out, "|---|---|");
    for _ in kinds {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out, "---:|---:|");
    for &scenario in &opts.scenarios {
        let mut rows = metrics(scenario)
            .into_iter()
            .map(|m| (m.label.to_owned(), m.value, Some(m.format)))
            .collect::<Vec<_>>();
        rows.push((
            "errors (all rounds)".to_owned(),
            |s: &Sample| Some(s.errors as f64),
            None,
        ));
        for (label, value, format) in rows {
            let _ = write!(out, "| {scenario} | {label} |");
            let errors_row = format.is_none();
            for &kind in kinds {
                let shown = if errors_row {
                    Some(
                        samples_of(samples, scenario, kind)
                            .map(|s| s.errors)
                            .sum::<u64>()
                            .to_string(),
                    )
                } else {
                    median_of(samples, scenario, kind, value).map(format.expect("a format"))
                };
                let _ = write!(out, " {} |", shown.unwrap_or_else(|| "-".to_owned()));
            }
            if errors_row {
                let _ = writeln!(out, " | |");
            } else {
                let ours = median_of(samples, scenario, Kind::Ours, value);
                let _ = writeln!(
                    out,
                    " {} | {} |",
                    ratio(ours, median_of(samples, scenario, Kind::Jsonrpsee, value)),
                    ratio(ours, median_of(samples, scenario, Kind::Baseline, value))
                );
            }
        }
    }

    let _ = writeln!(out, "\nScenarios:\n");
    for &scenario in &opts.scenarios {
        let _ = writeln!(out, "- `{scenario}`: {}", scenario.describe(opts));
    }
    let warnings = warnings(samples, opts);
    if !warnings.is_empty() {
        let _ = writeln!(out);
        for warning in warnings {
            let _ = writeln!(out, "{warning}");
        }
    }
    out
}

/// Each server's headline figure for `scenario` relative to the baseline's,
/// higher being better: calls per second ÷ the baseline's, and for
/// `ws_idle` the baseline's RSS per connection ÷ the server's.
fn relative_to_baseline(samples: &[(Scenario, Kind, Sample)], scenario: Scenario, kind: Kind) -> Option<f64> {
    let (value, higher_is_better): (fn(&Sample) -> Option<f64>, bool) = if scenario == Scenario::WsIdle {
        (|s| s.rss_kib_per_connection, false)
    } else {
        (|s| s.calls_per_sec, true)
    };
    let ours = median_of(samples, scenario, kind, value)?;
    let baseline = median_of(samples, scenario, Kind::Baseline, value)?;
    let ratio = if higher_is_better {
        ours / baseline
    } else {
        baseline / ours
    };
    ratio.is_finite().then_some(ratio)
}

/// The SVG chart written beside RESULTS.md: per scenario, each server
/// relative to the raw baseline.
pub fn chart(samples: &[(Scenario, Kind, Sample)], opts: &Options) -> Result<String, String> {
    let groups = opts
        .scenarios
        .iter()
        .map(|&s| {
            if s == Scenario::WsIdle {
                format!("{s} (memory)")
            } else {
                s.to_string()
            }
        })
        .collect();
    let series = opts
        .servers
        .iter()
        .map(|&kind| {
            let values = opts
                .scenarios
                .iter()
                .map(|&scenario| relative_to_baseline(samples, scenario, kind))
                .collect();
            (kind.name().to_owned(), values)
        })
        .collect();
    chart::render(&BarChart {
        title: "rpc-bench: each server ÷ the raw baseline (higher is better)",
        y_label: "calls/s ÷ baseline's (ws_idle: baseline's RSS ÷ server's)",
        groups,
        series,
        log_scale: false,
    })
}

/// Lines saying where the generator, not the server, may have set the pace.
pub fn warnings(samples: &[(Scenario, Kind, Sample)], opts: &Options) -> Vec<String> {
    let mut lines = Vec::new();
    for &scenario in &opts.scenarios {
        if scenario == Scenario::WsIdle {
            continue;
        }
        let rate = |kind| median_of(samples, scenario, kind, |s| s.calls_per_sec);
        if let Some(baseline) = rate(Kind::Baseline) {
            for kind in [Kind::Ours, Kind::Jsonrpsee] {
                if let Some(r) = rate(kind).filter(|r| *r > baseline * 1.05) {
                    lines.push(format!(
                        "- warning: {kind} beats the baseline by {:.0}% on {scenario}: the baseline is not the upper \
                         limit there (the generator may be the bottleneck, or the machine was noisy)",
                        (r / baseline - 1.0) * 100.0
                    ));
                }
            }
        }
        for &kind in &opts.servers {
            let generator = median_of(samples, scenario, kind, |s| s.generator_cpu_pct);
            let server = median_of(samples, scenario, kind, |s| s.server_cpu_pct);
            if let (Some(g), Some(s)) = (generator, server) {
                if g >= 90.0 && s < 90.0 {
                    lines.push(format!(
                        "- note: on {scenario} against {kind} the generator used {g:.0}% of its core and the \
                         server {s:.0}%: the generator set the pace; compare CPU per call there"
                    ));
                }
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_numbers() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN]), None);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25");
    }

    fn sample(calls_per_sec: f64, rss_kib_per_connection: f64) -> Sample {
        Sample {
            calls_per_sec: Some(calls_per_sec),
            rss_kib_per_connection: Some(rss_kib_per_connection),
            ..Sample::default()
        }
    }

    #[test]
    fn the_chart_shows_each_server_relative_to_the_baseline() {
        let samples = vec![
            (Scenario::HttpPing, Kind::Ours, sample(150.0, 0.0)),
            (Scenario::HttpPing, Kind::Jsonrpsee, sample(50.0, 0.0)),
            (Scenario::HttpPing, Kind::Baseline, sample(100.0, 0.0)),
            (Scenario::WsIdle, Kind::Ours, sample(0.0, 10.0)),
            (Scenario::WsIdle, Kind::Baseline, sample(0.0, 8.0)),
        ];
        assert_eq!(
            relative_to_baseline(&samples, Scenario::HttpPing, Kind::Ours),
            Some(1.5)
        );
        assert_eq!(
            relative_to_baseline(&samples, Scenario::HttpPing, Kind::Jsonrpsee),
            Some(0.5)
        );
        assert_eq!(relative_to_baseline(&samples, Scenario::WsIdle, Kind::Ours), Some(0.8));
        assert_eq!(relative_to_baseline(&samples, Scenario::WsIdle, Kind::Jsonrpsee), None);
        let mut opts = Options::smoke();
        opts.scenarios = vec![Scenario::HttpPing, Scenario::WsIdle];
        let svg = chart(&samples, &opts).unwrap();
        for text in [
            "http_ping",
            "ws_idle (memory)",
            "ours",
            "jsonrpsee",
            "baseline",
            "1.50",
            "0.50",
            "0.80",
        ] {
            assert!(chart::shows_text(&svg, text), "no {text} in the chart:\n{svg}");
        }
    }
}
