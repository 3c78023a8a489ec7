//! `mcpguard audit report`: what happened, per server and tool, and what looks unusual.
//!
//! Owns: the report itself (`Report` and its statistics) and how it is built: `aggregate`
//! counts the window's records per server and tool, `anomalies` finds what looks unusual.
//! Its two renderings, `text` (a terminal: bars and sparklines) and `html` (one
//! self-contained page: inline CSS and SVG, no scripts, nothing fetched), each own their
//! layout. Records hold what servers and models sent (tool names, clients, hosts), so both
//! renderings show every such field through `terminal::escape` (visible `\e`, `\r`, `\n`;
//! the HTML template escapes its markup on top).

mod aggregate;
mod anomalies;
mod html;
mod text;

pub(crate) use anomalies::Anomaly;
pub(crate) use html::render_html;
pub(crate) use text::render_text;

use super::record::Record;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ToolStats {
    pub(crate) calls: u64,
    pub(crate) denials: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p95_ms: Option<f64>,
    pub(crate) bytes: u64,
    pub(crate) tokens: u64,
    /// Calls per bucket across the window, for the sparkline.
    pub(crate) timeline: Vec<u64>,
    /// Calls put before a person, and how that ended.
    pub(crate) approvals: ApprovalStats,
}

/// The approvals of one tool's calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ApprovalStats {
    pub(crate) asked: u64,
    pub(crate) allowed: u64,
    pub(crate) denied: u64,
    /// Nobody answered in time, or the call was cancelled or ended with its session.
    pub(crate) unanswered: u64,
    /// The median time a person took to answer (answered ones only).
    pub(crate) wait_p50_ms: Option<f64>,
}

/// Connections to one destination (`host:port`) through the egress filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct HostStats {
    pub(crate) allowed: u64,
    pub(crate) refused: u64,
    pub(crate) failed: u64,
    pub(crate) bytes_up: u64,
    pub(crate) bytes_down: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ServerStats {
    pub(crate) requests: u64,
    pub(crate) sessions: u64,
    pub(crate) profiles: BTreeSet<String>,
    pub(crate) clients: BTreeSet<String>,
    pub(crate) tools: BTreeMap<String, ToolStats>,
    /// Destinations of the network allowlist, by `host:port`.
    pub(crate) hosts: BTreeMap<String, HostStats>,
}

/// The `host:port` a network record names (IPv6 hosts in brackets).
pub(crate) fn destination(record: &Record) -> Option<String> {
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
pub(crate) struct Report {
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) servers: BTreeMap<String, ServerStats>,
    pub(crate) anomalies: Vec<Anomaly>,
}

/// Builds the report over `window` (the records to report on), with `history` (all records
/// before the window) to tell new tools from known ones.
pub(crate) fn build(history: &[Record], window: &[Record]) -> Report {
    let servers = aggregate::per_server(window);
    let unusual = anomalies::detect(history, window, &servers);
    Report {
        from: window.first().map(|r| r.ts.clone()),
        to: window.last().map(|r| r.ts.clone()),
        servers,
        anomalies: unusual,
    }
}

/// A latency in milliseconds as both renderings show it.
fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// A set of names (profiles, clients) on one line.
fn joined(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::anomalies::{AnomalyKind, Subject};
    use super::*;
    use crate::audit::record::{Decision, ProfileRef, ResultInfo};
    use pretty_assertions::assert_eq;

    fn sentences(anomalies: &[Anomaly]) -> Vec<String> {
        anomalies.iter().map(ToString::to_string).collect()
    }

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
            sentences(&report.anomalies),
            vec![
                "fs: denial streak (3 denials in a row) at 2026-11-21T10:00:03.000Z (session s1)"
                    .to_owned(),
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
            sentences(&report.anomalies),
            vec!["fs: 3000 refused network connection(s) to 169.254.169.254:80".to_owned()]
        );
        assert!(render_text(&report).contains("registry.npmjs.org:443"));
    }

    #[test]
    fn anomalies_are_one_line_per_kind_server_and_session_most_significant_first() {
        let mut window = Vec::new();
        // Session s1 calls tools all night: 52 off-hours calls, 40 of read and 12 of write.
        for i in 0..52u32 {
            let tool = if i % 13 == 0 || i % 13 == 1 || i % 13 == 2 {
                "write"
            } else {
                "read"
            };
            let ts = format!("2026-11-21T0{}:{:02}:00.000Z", i / 10, i % 60);
            window.push(rec(&ts, "request", Some(tool), Some("allow"), None, false));
        }
        // Another session: two off-hours calls, and three denials in a row, twice.
        for (i, ts) in ["2026-11-21T03:00:00.000Z", "2026-11-21T03:30:00.000Z"]
            .iter()
            .enumerate()
        {
            let mut call = rec(ts, "request", Some("read"), Some("allow"), None, false);
            call.session = "s2-abcdef0123456".into();
            window.push(call);
            for d in 0..3 {
                let mut denied = rec(
                    &format!("2026-11-21T1{i}:00:0{d}.000Z"),
                    "request",
                    Some("rm"),
                    Some("deny"),
                    None,
                    false,
                );
                denied.session = "s2-abcdef0123456".into();
                window.push(denied);
            }
            let mut reset = rec(
                &format!("2026-11-21T1{i}:00:05.000Z"),
                "request",
                Some("read"),
                Some("allow"),
                None,
                false,
            );
            reset.session = "s2-abcdef0123456".into();
            window.push(reset);
        }
        // One pin change, written as two records (one per tool).
        window.push(rec(
            "2026-11-21T12:00:00.000Z",
            "pin.change",
            None,
            None,
            None,
            false,
        ));
        window.push(rec(
            "2026-11-21T12:00:00.000Z",
            "pin.change",
            None,
            None,
            None,
            false,
        ));
        window.sort_by(|a, b| a.ts.cmp(&b.ts));
        let report = build(&[], &window);
        let subject = |name: &str, count| Subject {
            name: name.into(),
            count,
            usual_per_minute: None,
        };
        let s2 = Some("s2-abcdef0123456".to_owned());
        assert_eq!(
            report.anomalies,
            vec![
                Anomaly {
                    kind: AnomalyKind::PinChange,
                    server: "fs".into(),
                    session: Some("s1".into()),
                    count: 1,
                    first: Some("2026-11-21T12:00:00.000Z".into()),
                    last: Some("2026-11-21T12:00:00.000Z".into()),
                    subjects: vec![],
                },
                Anomaly {
                    kind: AnomalyKind::DenialStreak,
                    server: "fs".into(),
                    session: s2.clone(),
                    count: 2,
                    first: Some("2026-11-21T10:00:02.000Z".into()),
                    last: Some("2026-11-21T11:00:02.000Z".into()),
                    subjects: vec![],
                },
                Anomaly {
                    kind: AnomalyKind::OffHours,
                    server: "fs".into(),
                    session: Some("s1".into()),
                    count: 52,
                    first: Some("2026-11-21T00:00:00.000Z".into()),
                    last: Some("2026-11-21T05:51:00.000Z".into()),
                    subjects: vec![subject("read", 40), subject("write", 12)],
                },
                Anomaly {
                    kind: AnomalyKind::OffHours,
                    server: "fs".into(),
                    session: s2,
                    count: 2,
                    first: Some("2026-11-21T03:00:00.000Z".into()),
                    last: Some("2026-11-21T03:30:00.000Z".into()),
                    subjects: vec![subject("read", 2)],
                },
            ]
        );
        assert_eq!(
            sentences(&report.anomalies),
            vec![
                "fs: tool definitions changed (pin change) at 2026-11-21T12:00:00.000Z (session s1)",
                "fs: 2 denial streaks (3 or more denials in a row), 2026-11-21T10:00:02.000Z to \
                 2026-11-21T11:00:02.000Z (session s2-abcde)",
                "fs: 52 calls off-hours (before 06:00 UTC): read ×40, write ×12, \
                 2026-11-21T00:00:00.000Z to 2026-11-21T05:51:00.000Z (session s1)",
                "fs: 2 calls off-hours (before 06:00 UTC): read ×2, 2026-11-21T03:00:00.000Z to \
                 2026-11-21T03:30:00.000Z (session s2-abcde)",
            ]
        );
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
            anomalies: vec![Anomaly {
                kind: AnomalyKind::NewTool,
                server: "fs".into(),
                session: None,
                count: 1,
                first: None,
                last: None,
                subjects: vec![Subject {
                    name: tool.clone(),
                    count: 1,
                    usual_per_minute: None,
                }],
            }],
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
        assert!(html.contains(
            "<td title=\"a\\e]52;c;aGk=\\x07\\r\\nforged\">a\\e]52;c;aGk=\\x07\\r\\nforged</td>"
        ));
    }
}
