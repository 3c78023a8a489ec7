//! What looks unusual in the window of `audit report`.
//!
//! Owns: the anomaly kinds, their ranking and wording (the report's text and HTML show
//! it), and one detector per kind. Detectors find single occurrences (`Finding`: one
//! off-hours call, one streak of denials); the report shows one line per kind, server and
//! session with their count (`Anomaly`), most significant kind first, then the most
//! frequent: a session that calls tools all night is one line, not one per call.

use super::ServerStats;
use super::aggregate::seconds;
use crate::audit::record::{EventKind, Record};
use crate::columns;
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

/// What kind of anomaly, most significant first: the report's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AnomalyKind {
    /// The server's tool definitions changed (a `pin.change` record).
    PinChange,
    /// Connections the egress filter refused.
    RefusedConnections,
    /// `STREAK` denials in a row.
    DenialStreak,
    /// Many more calls of a tool in one minute than usual.
    Burst,
    /// A tool of a known server that the history before the window never saw.
    NewTool,
    /// A tool called off-hours (before `OFF_HOURS_END`, UTC).
    OffHours,
}

/// One occurrence, as a detector finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    kind: AnomalyKind,
    server: String,
    /// The session it happened in; None for findings over the whole window.
    session: Option<String>,
    /// When (None for findings over the whole window).
    at: Option<String>,
    /// The tool or destination it concerns, if any.
    subject: Option<Subject>,
    /// How many occurrences this finding stands for (refused connections come counted).
    count: u64,
}

/// A tool or destination an anomaly concerns, with its count (calls, refusals; a burst's
/// peak calls in one minute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    pub(crate) name: String,
    pub(crate) count: u64,
    /// A burst's usual calls per minute.
    pub(crate) usual_per_minute: Option<u64>,
}

/// One line of the report: every occurrence of one kind on one server in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anomaly {
    pub(crate) kind: AnomalyKind,
    pub(crate) server: String,
    /// None for anomalies over the whole window (new tools, bursts, refused connections).
    pub(crate) session: Option<String>,
    pub(crate) count: u64,
    /// The first and last occurrence (None over the whole window).
    pub(crate) first: Option<String>,
    pub(crate) last: Option<String>,
    /// What it concerns, most frequent first.
    pub(crate) subjects: Vec<Subject>,
}

/// Longest name of a subject on an anomaly's line; longer ones end in `…`.
const NAME_CAP: usize = 40;

/// Subjects named on one line; the rest are counted.
const SUBJECTS_SHOWN: usize = 5;

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = &self.server;
        let n = self.count;
        let one = n == 1;
        match self.kind {
            AnomalyKind::PinChange if one => {
                write!(f, "{server}: tool definitions changed (pin change)")?
            }
            AnomalyKind::PinChange => write!(
                f,
                "{server}: tool definitions changed {n} times (pin change)"
            )?,
            AnomalyKind::DenialStreak if one => {
                write!(f, "{server}: denial streak ({STREAK} denials in a row)")?
            }
            AnomalyKind::DenialStreak => write!(
                f,
                "{server}: {n} denial streaks ({STREAK} or more denials in a row)"
            )?,
            AnomalyKind::OffHours => write!(
                f,
                "{server}: {n} call{} off-hours (before {OFF_HOURS_END:02}:00 UTC): {}",
                if one { "" } else { "s" },
                self.listed()
            )?,
            AnomalyKind::NewTool if one => {
                write!(f, "{server}: tool {} was never seen before", self.listed())?
            }
            AnomalyKind::NewTool => write!(
                f,
                "{server}: {n} tools never seen before: {}",
                self.listed()
            )?,
            AnomalyKind::Burst if one => write!(
                f,
                "{server}: burst of calls in one minute: {}",
                self.listed()
            )?,
            AnomalyKind::Burst => write!(
                f,
                "{server}: bursts of calls in one minute, {n} tools: {}",
                self.listed()
            )?,
            AnomalyKind::RefusedConnections if self.subjects.len() == 1 => write!(
                f,
                "{server}: {n} refused network connection(s) to {}",
                self.subjects[0].name
            )?,
            AnomalyKind::RefusedConnections => write!(
                f,
                "{server}: {n} refused network connection(s): {}",
                self.listed()
            )?,
        }
        match (&self.first, &self.last) {
            (Some(first), Some(last)) if first != last => write!(f, ", {first} to {last}")?,
            (Some(first), _) => write!(f, " at {first}")?,
            _ => {}
        }
        if let Some(session) = &self.session {
            write!(f, " (session {})", session.get(..8).unwrap_or(session))?;
        }
        Ok(())
    }
}

impl Anomaly {
    /// The subjects, most frequent first, with their counts when they say more than "one".
    fn listed(&self) -> String {
        let mut parts: Vec<String> = self
            .subjects
            .iter()
            .take(SUBJECTS_SHOWN)
            .map(|s| (columns::clip(&s.name, NAME_CAP), s))
            .map(|(name, s)| match (self.kind, s.usual_per_minute) {
                (AnomalyKind::Burst, usual) => format!(
                    "{} {name} calls (usual {}/min)",
                    s.count,
                    usual.unwrap_or(0)
                ),
                (AnomalyKind::NewTool, _) => name.into_owned(),
                (AnomalyKind::RefusedConnections, _) if s.count <= 1 => name.into_owned(),
                _ => format!("{name} ×{}", s.count),
            })
            .collect();
        let rest = self.subjects.len().saturating_sub(SUBJECTS_SHOWN);
        if rest > 0 {
            parts.push(format!("and {rest} more"));
        }
        parts.join(", ")
    }
}

/// Serialized as its sentence, as the report's renderings show it.
impl Serialize for Anomaly {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One line per kind, server and session, ranked: the most significant kind first, then
/// the most occurrences, then by server and session.
fn collapse(findings: Vec<Finding>) -> Vec<Anomaly> {
    let mut lines: Vec<Anomaly> = Vec::new();
    for finding in findings {
        let at = lines.iter().position(|a| {
            a.kind == finding.kind && a.server == finding.server && a.session == finding.session
        });
        let line = match at {
            Some(at) => &mut lines[at],
            None => {
                lines.push(Anomaly {
                    kind: finding.kind,
                    server: finding.server.clone(),
                    session: finding.session.clone(),
                    count: 0,
                    first: None,
                    last: None,
                    subjects: Vec::new(),
                });
                let last = lines.len() - 1;
                &mut lines[last]
            }
        };
        line.count += finding.count;
        if let Some(at) = finding.at {
            if line.first.as_ref().is_none_or(|first| at < *first) {
                line.first = Some(at.clone());
            }
            if line.last.as_ref().is_none_or(|last| at > *last) {
                line.last = Some(at);
            }
        }
        if let Some(subject) = finding.subject {
            match line.subjects.iter_mut().find(|s| s.name == subject.name) {
                Some(known) => known.count += subject.count,
                None => line.subjects.push(subject),
            }
        }
    }
    for line in &mut lines {
        line.subjects
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        if line.kind == AnomalyKind::RefusedConnections || line.kind == AnomalyKind::Burst {
            // Counted per subject: the line's count is the subjects' (refusals, tools).
            line.count = match line.kind {
                AnomalyKind::Burst => line.subjects.len() as u64,
                _ => line.subjects.iter().map(|s| s.count).sum(),
            };
        }
    }
    lines.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.server.cmp(&b.server))
            .then_with(|| a.session.cmp(&b.session))
    });
    lines
}

/// The anomalies of `window`, given `history` (the records before it) and `servers` (the
/// window's aggregate), one line per kind, server and session, ranked.
pub(super) fn detect(
    history: &[Record],
    window: &[Record],
    servers: &BTreeMap<String, ServerStats>,
) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let mut streaks = DenialStreaks::default();
    for record in window {
        let pins = pin_change(record);
        // Several records of one change (one per tool) are one change.
        if pins.is_none() || found.last() != pins.as_ref() {
            found.extend(pins);
        }
        found.extend(streaks.observe(record));
        found.extend(off_hours(record));
    }
    found.extend(new_tools(history, servers));
    found.extend(bursts(window));
    found.extend(refused_connections(servers));
    collapse(found)
}

/// A finding of `kind` in `record`'s session, at its time.
fn at_record(kind: AnomalyKind, record: &Record, subject: Option<&str>) -> Finding {
    Finding {
        kind,
        server: record.server.clone(),
        session: Some(record.session.clone()),
        at: Some(record.ts.clone()),
        subject: subject.map(|name| Subject {
            name: name.to_owned(),
            count: 1,
            usual_per_minute: None,
        }),
        count: 1,
    }
}

/// A finding of `kind` over the whole window.
fn over_window(kind: AnomalyKind, server: &str, subject: Subject) -> Finding {
    Finding {
        kind,
        server: server.to_owned(),
        session: None,
        at: None,
        count: subject.count,
        subject: Some(subject),
    }
}

fn pin_change(record: &Record) -> Option<Finding> {
    (record.kind() == Some(EventKind::PinChange))
        .then(|| at_record(AnomalyKind::PinChange, record, None))
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
    fn observe(&mut self, record: &Record) -> Option<Finding> {
        if !matches!(record.kind(), Some(EventKind::Request | EventKind::Refused)) {
            return None;
        }
        let count = self.in_a_row.entry(record.server.clone()).or_default();
        if !is_denied(record) {
            *count = 0;
            return None;
        }
        *count += 1;
        (*count == STREAK).then(|| at_record(AnomalyKind::DenialStreak, record, None))
    }
}

fn off_hours(record: &Record) -> Option<Finding> {
    if record.event != "request" {
        return None;
    }
    let tool = record.tool.as_ref()?;
    let hour = (seconds(&record.ts)? % 86_400) / 3600;
    (hour < OFF_HOURS_END).then(|| at_record(AnomalyKind::OffHours, record, Some(tool)))
}

/// Tools in the window that `history` never saw on a server it did see (a server new to
/// the history has only new tools, which is no news).
fn new_tools(history: &[Record], servers: &BTreeMap<String, ServerStats>) -> Vec<Finding> {
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
                found.push(over_window(
                    AnomalyKind::NewTool,
                    server,
                    Subject {
                        name: tool.clone(),
                        count: 1,
                        usual_per_minute: None,
                    },
                ));
            }
        }
    }
    found
}

/// Minutes in which a tool was called far more than in its usual minute.
fn bursts(window: &[Record]) -> Vec<Finding> {
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
            found.push(over_window(
                AnomalyKind::Burst,
                server,
                Subject {
                    name: tool.to_owned(),
                    count: peak,
                    usual_per_minute: Some(median),
                },
            ));
        }
    }
    found
}

/// Every destination the egress filter refused connections to.
fn refused_connections(servers: &BTreeMap<String, ServerStats>) -> Vec<Finding> {
    let mut found = Vec::new();
    for (server, stats) in servers {
        for (target, host) in &stats.hosts {
            if host.refused > 0 {
                found.push(over_window(
                    AnomalyKind::RefusedConnections,
                    server,
                    Subject {
                        name: target.clone(),
                        count: host.refused,
                        usual_per_minute: None,
                    },
                ));
            }
        }
    }
    found
}
