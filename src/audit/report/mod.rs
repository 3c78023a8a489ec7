//! `mcpguard audit report`: what happened, per server and tool, and what looks unusual.
//!
//! Owns: the aggregation (pure: records in, `Report` out: calls, denials, errors, latency
//! percentiles, bytes and tokens per tool; the inventory of servers, tools, profiles and
//! clients; anomalies) and its two renderings: the terminal (bars and sparklines) and a
//! self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched). Records hold
//! what servers and models sent (tool names, clients, hosts), so both renderings show every
//! such field through `terminal::escape` (visible `\e`, `\r`, `\n`; the HTML page escapes
//! its markup on top).

use super::record::Record;
use crate::terminal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolStats {
    pub calls: u64,
    pub denials: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub bytes: u64,
    pub tokens: u64,
    /// Calls per bucket across the window, for the sparkline.
    pub timeline: Vec<u64>,
}

/// Connections to one destination (`host:port`) through the egress filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostStats {
    pub allowed: u64,
    pub refused: u64,
    pub failed: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerStats {
    pub requests: u64,
    pub sessions: u64,
    pub profiles: BTreeSet<String>,
    pub clients: BTreeSet<String>,
    pub tools: BTreeMap<String, ToolStats>,
    /// Destinations of the network allowlist, by `host:port`.
    pub hosts: BTreeMap<String, HostStats>,
}

/// The `host:port` a network record names (IPv6 hosts in brackets).
pub fn destination(record: &Record) -> Option<String> {
    let detail = record.detail.as_ref()?;
    let host = detail["host"].as_str()?;
    let port = detail["port"].as_u64()?;
    Some(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub from: Option<String>,
    pub to: Option<String>,
    pub servers: BTreeMap<String, ServerStats>,
    pub anomalies: Vec<String>,
}

/// Sparkline buckets across the window.
const BUCKETS: usize = 24;

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

fn seconds(ts: &str) -> Option<u64> {
    humantime::parse_rfc3339(ts)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Builds the report over `window` (the records to report on), with `history` (all records
/// before the window) to tell new tools from known ones.
pub fn build(history: &[Record], window: &[Record]) -> Report {
    let mut report = Report {
        from: window.first().map(|r| r.ts.clone()),
        to: window.last().map(|r| r.ts.clone()),
        ..Report::default()
    };
    let start = window.first().and_then(|r| seconds(&r.ts)).unwrap_or(0);
    let end = window.last().and_then(|r| seconds(&r.ts)).unwrap_or(start);
    let span = (end - start).max(1);
    let bucket = |ts: &str| {
        seconds(ts).map(|s| (((s - start.min(s)) * BUCKETS as u64) / (span + 1)) as usize)
    };

    let mut latencies: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut sessions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut per_minute: BTreeMap<(String, String), BTreeMap<u64, u64>> = BTreeMap::new();
    let mut streak: BTreeMap<String, u64> = BTreeMap::new();
    // Refusals (true) and failures (false) by server, destination, session and rule:
    // (records seen, largest running count).
    type RefusalKey = (String, String, bool, String, String);
    let mut refusals: BTreeMap<RefusalKey, (u64, u64)> = BTreeMap::new();
    for record in window {
        let server = report.servers.entry(record.server.clone()).or_default();
        sessions
            .entry(record.server.clone())
            .or_default()
            .insert(record.session.clone());
        server.profiles.insert(format!(
            "{} ({})",
            record.profile.name,
            &record.profile.digest.get(..12).unwrap_or("")
        ));
        if let Some(client) = &record.client {
            server.clients.insert(
                format!(
                    "{} {}",
                    client.name,
                    client.version.as_deref().unwrap_or("")
                )
                .trim()
                .to_owned(),
            );
        }
        if record.event == "request" {
            server.requests += 1;
        }
        if record.event == "pin.change" {
            report.anomalies.push(format!(
                "{}: tool definitions changed (pin change) at {}",
                record.server, record.ts
            ));
        }
        let verdict = record.decision.as_ref().map(|d| d.verdict.as_str());
        if record.event.starts_with("network")
            && let Some(target) = destination(record)
        {
            let host = server.hosts.entry(target.clone()).or_default();
            match (record.event.as_str(), verdict) {
                ("network", Some("allow")) => host.allowed += 1,
                ("network", Some(verdict)) => {
                    // Past the first refusals of a destination under one rule, a session
                    // records only some, each with its running count: per session and rule,
                    // the count is the larger of the records seen and the last count.
                    let so_far = record
                        .detail
                        .as_ref()
                        .and_then(|d| d["refusals_so_far"].as_u64())
                        .unwrap_or(0);
                    let rule = record.decision.as_ref().map_or("", |d| d.rule.as_str());
                    let key = (
                        record.server.clone(),
                        target.clone(),
                        verdict == "deny",
                        record.session.clone(),
                        rule.to_owned(),
                    );
                    let (records, last) = refusals.entry(key).or_insert((0, 0));
                    *records += 1;
                    *last = (*last).max(so_far);
                }
                ("network.end", _) => {
                    let detail = record.detail.as_ref();
                    let count = |key: &str| detail.and_then(|d| d[key].as_u64()).unwrap_or(0);
                    host.bytes_up += count("bytes_up");
                    host.bytes_down += count("bytes_down");
                }
                _ => {}
            }
        }
        if matches!(record.event.as_str(), "request" | "refused") {
            let count = streak.entry(record.server.clone()).or_default();
            if verdict == Some("deny") {
                *count += 1;
                if *count == 3 {
                    report.anomalies.push(format!(
                        "{}: denial streak (3 denials in a row) at {}",
                        record.server, record.ts
                    ));
                }
            } else {
                *count = 0;
            }
        }
        let Some(tool) = record.tool.clone() else {
            continue;
        };
        let stats = server
            .tools
            .entry(tool.clone())
            .or_insert_with(|| ToolStats {
                timeline: vec![0; BUCKETS],
                ..Default::default()
            });
        match record.event.as_str() {
            "request" => {
                stats.calls += 1;
                if verdict == Some("deny") {
                    stats.denials += 1;
                }
                if let Some(b) = bucket(&record.ts) {
                    stats.timeline[b.min(BUCKETS - 1)] += 1;
                }
                if let Some(s) = seconds(&record.ts) {
                    *per_minute
                        .entry((record.server.clone(), tool.clone()))
                        .or_default()
                        .entry(s / 60)
                        .or_default() += 1;
                    let hour = (s % 86_400) / 3600;
                    if hour < 6 {
                        report.anomalies.push(format!(
                            "{}: {tool} called off-hours ({} UTC)",
                            record.server,
                            record.ts.get(11..16).unwrap_or("")
                        ));
                    }
                }
            }
            "response" | "timeout" | "aborted" => {
                if let Some(result) = &record.result {
                    stats.bytes += result.bytes;
                    stats.tokens += result.tokens;
                    if result.is_error {
                        stats.errors += 1;
                    }
                }
                if let Some(ms) = record.latency_ms {
                    latencies
                        .entry((record.server.clone(), tool.clone()))
                        .or_default()
                        .push(ms);
                }
            }
            _ => {}
        }
    }
    for ((server, tool), mut values) in latencies {
        values.sort_by(|a, b| a.total_cmp(b));
        if let Some(stats) = report
            .servers
            .get_mut(&server)
            .and_then(|s| s.tools.get_mut(&tool))
        {
            stats.p50_ms = percentile(&values, 0.5);
            stats.p95_ms = percentile(&values, 0.95);
        }
    }
    for (server, ids) in sessions {
        if let Some(stats) = report.servers.get_mut(&server) {
            stats.sessions = ids.len() as u64;
        }
    }
    let known: BTreeSet<(String, String)> = history
        .iter()
        .filter_map(|r| Some((r.server.clone(), r.tool.clone()?)))
        .collect();
    let known_servers: BTreeSet<&String> = history.iter().map(|r| &r.server).collect();
    for (server, stats) in &report.servers {
        for tool in stats.tools.keys() {
            if known_servers.contains(server) && !known.contains(&(server.clone(), tool.clone())) {
                report
                    .anomalies
                    .push(format!("{server}: tool {tool} was never seen before"));
            }
        }
    }
    for ((server, tool), minutes) in per_minute {
        let mut counts: Vec<u64> = minutes.values().copied().collect();
        counts.sort_unstable();
        let median = counts[counts.len() / 2].max(1);
        let peak = counts.last().copied().unwrap_or(0);
        if peak >= 20 && peak >= 5 * median {
            report.anomalies.push(format!(
                "{server}: burst of {peak} {tool} calls in one minute (usual {median}/min)"
            ));
        }
    }
    for ((server, target, refused, _, _), (records, so_far)) in refusals {
        if let Some(host) = report
            .servers
            .get_mut(&server)
            .and_then(|s| s.hosts.get_mut(&target))
        {
            let count = records.max(so_far);
            if refused {
                host.refused += count;
            } else {
                host.failed += count;
            }
        }
    }
    for (server, stats) in &report.servers {
        for (target, host) in &stats.hosts {
            if host.refused > 0 {
                report.anomalies.push(format!(
                    "{server}: {} refused network connection(s) to {target}",
                    host.refused
                ));
            }
        }
    }
    report.anomalies.dedup();
    report
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|v| {
            if max == 0 || *v == 0 {
                ' '
            } else {
                SPARKS[((*v * 7) / max) as usize]
            }
        })
        .collect()
}

fn bar(value: u64, max: u64, width: usize) -> String {
    let filled = if max == 0 {
        0
    } else {
        ((value as f64 / max as f64) * width as f64).round() as usize
    };
    "█".repeat(filled.max(usize::from(value > 0)))
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The report for a terminal.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mcpguard audit report: {} to {}",
        terminal::escape(report.from.as_deref().unwrap_or("-")),
        terminal::escape(report.to.as_deref().unwrap_or("-"))
    );
    if report.servers.is_empty() {
        let _ = writeln!(out, "\nno records in this window");
        return out;
    }
    let max_calls = report
        .servers
        .values()
        .flat_map(|s| s.tools.values())
        .map(|t| t.calls)
        .max()
        .unwrap_or(0);
    for (name, server) in &report.servers {
        let _ = writeln!(
            out,
            "\n{}: {} session(s), {} request(s); profile {}; client {}",
            terminal::escape(name),
            server.sessions,
            server.requests,
            terminal::escape(&joined(&server.profiles)),
            if server.clients.is_empty() {
                "-".to_owned()
            } else {
                terminal::escape(&joined(&server.clients)).into_owned()
            }
        );
        if !server.tools.is_empty() {
            let _ = writeln!(
                out,
                "  {:<28} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}  {:<20} activity",
                "tool", "calls", "denied", "errors", "p50 ms", "p95 ms", "bytes", "tokens", ""
            );
        }
        for (tool, t) in &server.tools {
            let _ = writeln!(
                out,
                "  {:<28} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}  {:<20} {}",
                terminal::escape(tool),
                t.calls,
                t.denials,
                t.errors,
                ms(t.p50_ms),
                ms(t.p95_ms),
                t.bytes,
                t.tokens,
                bar(t.calls, max_calls, 20),
                sparkline(&t.timeline)
            );
        }
        if !server.hosts.is_empty() {
            let _ = writeln!(
                out,
                "  {:<40} {:>7} {:>7} {:>6} {:>12} {:>12}",
                "network destination", "allowed", "refused", "failed", "bytes up", "bytes down"
            );
        }
        for (target, h) in &server.hosts {
            let _ = writeln!(
                out,
                "  {:<40} {:>7} {:>7} {:>6} {:>12} {:>12}",
                terminal::escape(target),
                h.allowed,
                h.refused,
                h.failed,
                h.bytes_up,
                h.bytes_down
            );
        }
    }
    let _ = writeln!(out, "\nanomalies:");
    if report.anomalies.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for anomaly in &report.anomalies {
        let _ = writeln!(out, "  ! {}", terminal::escape(anomaly));
    }
    out
}

fn joined(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// `text` for the HTML page: control characters made visible as on the terminal (a page
/// copied into a terminal, or opened with a text viewer, must not act on them), then the
/// markup escaped.
fn escape(text: &str) -> String {
    terminal::escape(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The report as one self-contained HTML page.
pub fn render_html(report: &Report) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mcpguard audit report</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;color:#1b1f24;background:#fafbfc}}\
         h1{{font-size:1.5em}}h2{{font-size:1.15em;margin-top:2em}}table{{border-collapse:collapse;background:#fff}}\
         td,th{{padding:.35em .7em;border-bottom:1px solid #d8dee4;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .meta{{color:#57606a}}.anomaly{{color:#9a3412;background:#fff7ed;padding:.3em .6em;margin:.2em 0;border-left:3px solid #ea580c}}\
         .bar{{fill:#2563eb}}.deny{{fill:#dc2626}}</style></head><body>"
    );
    let _ = write!(
        html,
        "<h1>mcpguard audit report</h1><p class=\"meta\">{} to {}</p>",
        escape(report.from.as_deref().unwrap_or("-")),
        escape(report.to.as_deref().unwrap_or("-"))
    );
    let _ = write!(html, "<h2>Anomalies</h2>");
    if report.anomalies.is_empty() {
        let _ = write!(html, "<p>None.</p>");
    }
    for anomaly in &report.anomalies {
        let _ = write!(html, "<div class=\"anomaly\">{}</div>", escape(anomaly));
    }
    for (name, server) in &report.servers {
        let _ = write!(
            html,
            "<h2>{}</h2><p class=\"meta\">{} session(s), {} request(s) · profile {} · client {}</p>",
            escape(name),
            server.sessions,
            server.requests,
            escape(&joined(&server.profiles)),
            escape(&joined(&server.clients))
        );
        let max = server
            .tools
            .values()
            .map(|t| t.calls)
            .max()
            .unwrap_or(0)
            .max(1);
        let height = 24 * server.tools.len().max(1) + 8;
        let _ = write!(
            html,
            "<svg width=\"640\" height=\"{height}\" role=\"img\" aria-label=\"calls per tool\">"
        );
        for (i, (tool, t)) in server.tools.iter().enumerate() {
            let y = 4 + i * 24;
            let width = (t.calls as f64 / max as f64 * 400.0).round();
            let denied = (t.denials as f64 / max as f64 * 400.0).round();
            let _ = write!(
                html,
                "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect class=\"bar\" x=\"200\" y=\"{y}\" width=\"{width}\" height=\"16\"/>\
                 <rect class=\"deny\" x=\"200\" y=\"{y}\" width=\"{denied}\" height=\"16\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
                y + 12,
                escape(tool),
                210.0 + width,
                y + 12,
                t.calls
            );
        }
        let _ = write!(
            html,
            "</svg><table><tr><th>tool</th><th>calls</th><th>denied</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>bytes</th><th>tokens</th></tr>"
        );
        for (tool, t) in &server.tools {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(tool),
                t.calls,
                t.denials,
                t.errors,
                ms(t.p50_ms),
                ms(t.p95_ms),
                t.bytes,
                t.tokens
            );
        }
        let _ = write!(html, "</table>");
        if !server.hosts.is_empty() {
            let _ = write!(
                html,
                "<table><tr><th>network destination</th><th>allowed</th><th>refused</th><th>failed</th><th>bytes up</th><th>bytes down</th></tr>"
            );
            for (target, h) in &server.hosts {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(target),
                    h.allowed,
                    h.refused,
                    h.failed,
                    h.bytes_up,
                    h.bytes_down
                );
            }
            let _ = write!(html, "</table>");
        }
    }
    let _ = writeln!(html, "</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{Decision, ProfileRef, ResultInfo};
    use pretty_assertions::assert_eq;

    fn rec(
        ts: &str,
        event: &str,
        tool: Option<&str>,
        verdict: Option<&str>,
        latency: Option<f64>,
        error: bool,
    ) -> Record {
        Record {
            ts: ts.into(),
            method: Some("tools/call".into()),
            tool: tool.map(str::to_owned),
            decision: verdict.map(|v| Decision {
                verdict: v.into(),
                rule: "r".into(),
                reason: "x".into(),
                approver: None,
            }),
            latency_ms: latency,
            result: (event == "response").then_some(ResultInfo {
                is_error: error,
                bytes: 400,
                tokens: 100,
                payload: None,
            }),
            ..Record::new(
                event,
                "s1",
                "fs",
                ProfileRef {
                    name: "cli".into(),
                    digest: "abcdef0123456789".into(),
                },
            )
        }
    }

    #[test]
    fn aggregates_per_tool_and_flags_new_tools_and_streaks() {
        let history = vec![rec(
            "2026-11-20T10:00:00.000Z",
            "request",
            Some("read"),
            Some("allow"),
            None,
            false,
        )];
        let window = vec![
            rec(
                "2026-11-21T10:00:00.000Z",
                "request",
                Some("read"),
                Some("allow"),
                None,
                false,
            ),
            rec(
                "2026-11-21T10:00:00.010Z",
                "response",
                Some("read"),
                None,
                Some(10.0),
                false,
            ),
            rec(
                "2026-11-21T10:00:01.000Z",
                "request",
                Some("write"),
                Some("deny"),
                None,
                false,
            ),
            rec(
                "2026-11-21T10:00:02.000Z",
                "request",
                Some("write"),
                Some("deny"),
                None,
                false,
            ),
            rec(
                "2026-11-21T10:00:03.000Z",
                "request",
                Some("write"),
                Some("deny"),
                None,
                false,
            ),
            rec(
                "2026-11-21T10:00:04.000Z",
                "response",
                Some("read"),
                None,
                Some(30.0),
                true,
            ),
        ];
        let report = build(&history, &window);
        let fs = &report.servers["fs"];
        assert_eq!(fs.requests, 4);
        assert_eq!(fs.sessions, 1);
        let read = &fs.tools["read"];
        assert_eq!(
            (
                read.calls,
                read.errors,
                read.p50_ms,
                read.p95_ms,
                read.bytes,
                read.tokens
            ),
            (1, 1, Some(30.0), Some(30.0), 800, 200)
        );
        let write = &fs.tools["write"];
        assert_eq!((write.calls, write.denials), (3, 3));
        assert_eq!(
            report.anomalies,
            vec![
                "fs: denial streak (3 denials in a row) at 2026-11-21T10:00:03.000Z".to_owned(),
                "fs: tool write was never seen before".to_owned()
            ]
        );
        assert!(render_text(&report).contains("write"));
        let html = render_html(&report);
        assert!(
            html.starts_with("<!DOCTYPE html>")
                && html.contains("<svg")
                && !html.contains("<script")
        );
    }

    #[test]
    fn network_records_add_up_per_destination_and_refusals_are_anomalies() {
        let network = |ts: &str, event: &str, verdict: Option<&str>, detail: serde_json::Value| {
            let mut record = rec(ts, event, None, verdict, None, false);
            record.detail = Some(detail);
            record
        };
        let npm = serde_json::json!({"host": "registry.npmjs.org", "port": 443, "via": "proxy"});
        let window = vec![
            network(
                "2026-11-21T10:00:00.000Z",
                "network",
                Some("allow"),
                npm.clone(),
            ),
            network(
                "2026-11-21T10:00:01.000Z",
                "network.end",
                None,
                serde_json::json!({"host": "registry.npmjs.org", "port": 443, "bytes_up": 10, "bytes_down": 2000}),
            ),
            network("2026-11-21T10:00:02.000Z", "network", Some("allow"), npm),
            network(
                "2026-11-21T10:00:03.000Z",
                "network",
                Some("deny"),
                serde_json::json!({"host": "169.254.169.254", "port": 80}),
            ),
            network(
                "2026-11-21T10:00:03.500Z",
                "network",
                Some("deny"),
                serde_json::json!({"host": "169.254.169.254", "port": 80, "refusals_so_far": 1000}),
            ),
            {
                // Another session's refusals of the same destination add up.
                let mut other = network(
                    "2026-11-21T10:00:03.600Z",
                    "network",
                    Some("deny"),
                    serde_json::json!({"host": "169.254.169.254", "port": 80, "refusals_so_far": 2000}),
                );
                other.session = "s2".into();
                other
            },
            network(
                "2026-11-21T10:00:04.000Z",
                "network",
                Some("error"),
                serde_json::json!({"host": "2001:db8::1", "port": 443}),
            ),
        ];
        let report = build(&[], &window);
        let hosts = &report.servers["fs"].hosts;
        assert_eq!(
            hosts.clone(),
            BTreeMap::from([
                (
                    "169.254.169.254:80".to_owned(),
                    HostStats {
                        refused: 3000,
                        ..HostStats::default()
                    }
                ),
                (
                    "[2001:db8::1]:443".to_owned(),
                    HostStats {
                        failed: 1,
                        ..HostStats::default()
                    }
                ),
                (
                    "registry.npmjs.org:443".to_owned(),
                    HostStats {
                        allowed: 2,
                        bytes_up: 10,
                        bytes_down: 2000,
                        ..HostStats::default()
                    }
                ),
            ])
        );
        assert_eq!(
            report.anomalies,
            vec!["fs: 3000 refused network connection(s) to 169.254.169.254:80".to_owned()]
        );
        assert!(render_text(&report).contains("registry.npmjs.org:443"));
    }

    #[test]
    fn names_are_escaped_in_both_renderings() {
        let tool = "a\u{1b}]52;c;aGk=\u{7}\r\nforged".to_owned();
        let mut server = ServerStats::default();
        server.tools.insert(tool.clone(), ToolStats::default());
        let report = Report {
            from: Some("2026-01-01T00:00:00Z".into()),
            to: Some("2026-01-01T00:00:00Z".into()),
            servers: BTreeMap::from([("fs\u{1b}[2J".to_owned(), server)]),
            anomalies: vec![format!("fs: tool {tool} was never seen before")],
        };
        let text = render_text(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "fs\\e[2J: 0 session(s), 0 request(s); profile ; client -"
        );
        assert_eq!(
            lines[4].split_whitespace().next(),
            Some("a\\e]52;c;aGk=\\x07\\r\\nforged")
        );
        assert_eq!(
            lines.last().copied(),
            Some("  ! fs: tool a\\e]52;c;aGk=\\x07\\r\\nforged was never seen before")
        );
        let html = render_html(&report);
        assert!(!html.contains(|c: char| c.is_control() && c != '\n'));
        assert!(html.contains("<td>a\\e]52;c;aGk=\\x07\\r\\nforged</td>"));
    }

    #[test]
    fn sparkline_scales_to_the_peak() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▁▂▄█");
    }
}
