//! What looks unusual in the window of `audit report`.
//!
//! Owns: the anomaly kinds, their wording (the report's text and HTML show it), and one
//! detector per kind. Detectors that look at single records run in record order, so their
//! findings read as a timeline; those that look at totals (new tools, bursts, refused
//! connections) follow, in server and tool order.

use super::ServerStats;
use super::aggregate::seconds;
use crate::audit::record::{EventKind, Record};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Denials in a row (per server, over requests and refusals) that make a streak.
const STREAK: u64 = 3;

/// A burst: at least this many calls of one tool in one minute...
const BURST_CALLS: u64 = 20;
/// ...and at least this many times the tool's median calls per minute.
const BURST_FACTOR: u64 = 5;

/// Calls before this hour (UTC) are off-hours.
const OFF_HOURS_END: u64 = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Anomaly {
    /// The server's tool definitions changed (a `pin.change` record).
    PinChange { server: String, at: String },
    /// `STREAK` denials in a row; `at` is the time of the one that made the streak.
    DenialStreak { server: String, at: String },
    /// A tool called off-hours; `time` is the `HH:MM` (UTC) of the call.
    OffHours {
        server: String,
        tool: String,
        time: String,
    },
    /// A tool of a known server that the history before the window never saw.
    NewTool { server: String, tool: String },
    /// Many more calls of a tool in one minute than usual.
    Burst {
        server: String,
        tool: String,
        peak: u64,
        usual_per_minute: u64,
    },
    /// Connections the egress filter refused to one destination.
    RefusedConnections {
        server: String,
        count: u64,
        destination: String,
    },
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::PinChange { server, at } => {
                write!(f, "{server}: tool definitions changed (pin change) at {at}")
            }
            Anomaly::DenialStreak { server, at } => {
                write!(
                    f,
                    "{server}: denial streak ({STREAK} denials in a row) at {at}"
                )
            }
            Anomaly::OffHours { server, tool, time } => {
                write!(f, "{server}: {tool} called off-hours ({time} UTC)")
            }
            Anomaly::NewTool { server, tool } => {
                write!(f, "{server}: tool {tool} was never seen before")
            }
            Anomaly::Burst {
                server,
                tool,
                peak,
                usual_per_minute,
            } => write!(
                f,
                "{server}: burst of {peak} {tool} calls in one minute (usual {usual_per_minute}/min)"
            ),
            Anomaly::RefusedConnections {
                server,
                count,
                destination,
            } => write!(
                f,
                "{server}: {count} refused network connection(s) to {destination}"
            ),
        }
    }
}

/// Serialized as its sentence, as the report's renderings show it.
impl Serialize for Anomaly {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The anomalies of `window`, given `history` (the records before it) and `servers` (the
/// window's aggregate).
pub(super) fn detect(
    history: &[Record],
    window: &[Record],
    servers: &BTreeMap<String, ServerStats>,
) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let mut streaks = DenialStreaks::default();
    for record in window {
        found.extend(pin_change(record));
        found.extend(streaks.observe(record));
        found.extend(off_hours(record));
    }
    found.extend(new_tools(history, servers));
    found.extend(bursts(window));
    found.extend(refused_connections(servers));
    // The same finding twice in a row (a tool called off-hours twice in one minute, pins
    // changed twice at once) tells the reader nothing more.
    found.dedup();
    found
}

fn pin_change(record: &Record) -> Option<Anomaly> {
    (record.kind() == Some(EventKind::PinChange)).then(|| Anomaly::PinChange {
        server: record.server.clone(),
        at: record.ts.clone(),
    })
}

fn is_denied(record: &Record) -> bool {
    record.decision.as_ref().map(|d| d.verdict.as_str()) == Some("deny")
}

/// Denials in a row per server, over the records of calls (relayed or refused).
#[derive(Default)]
struct DenialStreaks {
    in_a_row: BTreeMap<String, u64>,
}

impl DenialStreaks {
    /// Counts `record`; the streak is reported once, when it reaches `STREAK`.
    fn observe(&mut self, record: &Record) -> Option<Anomaly> {
        if !matches!(record.kind(), Some(EventKind::Request | EventKind::Refused)) {
            return None;
        }
        let count = self.in_a_row.entry(record.server.clone()).or_default();
        if !is_denied(record) {
            *count = 0;
            return None;
        }
        *count += 1;
        (*count == STREAK).then(|| Anomaly::DenialStreak {
            server: record.server.clone(),
            at: record.ts.clone(),
        })
    }
}

fn off_hours(record: &Record) -> Option<Anomaly> {
    if record.event != "request" {
        return None;
    }
    let tool = record.tool.as_ref()?;
    let hour = (seconds(&record.ts)? % 86_400) / 3600;
    (hour < OFF_HOURS_END).then(|| Anomaly::OffHours {
        server: record.server.clone(),
        tool: tool.clone(),
        time: record.ts.get(11..16).unwrap_or("").to_owned(),
    })
}

/// Tools in the window that `history` never saw on a server it did see (a server new to
/// the history has only new tools, which is no news).
fn new_tools(history: &[Record], servers: &BTreeMap<String, ServerStats>) -> Vec<Anomaly> {
    let known: BTreeSet<(&str, &str)> = history
        .iter()
        .filter_map(|r| Some((r.server.as_str(), r.tool.as_deref()?)))
        .collect();
    let known_servers: BTreeSet<&str> = history.iter().map(|r| r.server.as_str()).collect();
    let mut found = Vec::new();
    for (server, stats) in servers {
        if !known_servers.contains(server.as_str()) {
            continue;
        }
        for tool in stats.tools.keys() {
            if !known.contains(&(server.as_str(), tool.as_str())) {
                found.push(Anomaly::NewTool {
                    server: server.clone(),
                    tool: tool.clone(),
                });
            }
        }
    }
    found
}

/// Minutes in which a tool was called far more than in its usual minute.
fn bursts(window: &[Record]) -> Vec<Anomaly> {
    let mut per_minute: BTreeMap<(&str, &str), BTreeMap<u64, u64>> = BTreeMap::new();
    for record in window {
        if record.event != "request" {
            continue;
        }
        let (Some(tool), Some(s)) = (record.tool.as_deref(), seconds(&record.ts)) else {
            continue;
        };
        *per_minute
            .entry((record.server.as_str(), tool))
            .or_default()
            .entry(s / 60)
            .or_default() += 1;
    }
    let mut found = Vec::new();
    for ((server, tool), minutes) in per_minute {
        let mut counts: Vec<u64> = minutes.values().copied().collect();
        counts.sort_unstable();
        // `counts` is never empty: a minute is in the map only once a call counted in it.
        let median = counts[counts.len() / 2].max(1);
        let peak = counts.last().copied().unwrap_or(0);
        if peak >= BURST_CALLS && peak >= BURST_FACTOR * median {
            found.push(Anomaly::Burst {
                server: server.to_owned(),
                tool: tool.to_owned(),
                peak,
                usual_per_minute: median,
            });
        }
    }
    found
}

/// Every destination the egress filter refused connections to.
fn refused_connections(servers: &BTreeMap<String, ServerStats>) -> Vec<Anomaly> {
    let mut found = Vec::new();
    for (server, stats) in servers {
        for (target, host) in &stats.hosts {
            if host.refused > 0 {
                found.push(Anomaly::RefusedConnections {
                    server: server.clone(),
                    count: host.refused,
                    destination: target.clone(),
                });
            }
        }
    }
    found
}
