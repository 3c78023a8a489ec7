//! The totals of `audit report`: the window's records in, statistics per server out.
//!
//! Owns: what is counted and how (calls, denials, errors, latency percentiles, bytes and
//! tokens per tool; the calls timeline for the sparkline; sessions, profiles and clients
//! per server; connections and bytes per network destination). Pure: no clock, no I/O.

use super::{HostStats, ServerStats, ToolStats, destination};
use crate::audit::record::{EventKind, Record};
use std::collections::{BTreeMap, BTreeSet};

/// Sparkline buckets across the window.
const BUCKETS: usize = 24;

/// Seconds since the epoch of an RFC 3339 timestamp; None when it does not parse.
pub(super) fn seconds(ts: &str) -> Option<u64> {
    humantime::parse_rfc3339(ts)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// Where a timestamp falls among the `BUCKETS` of the window, for the sparkline.
struct Timeline {
    start: u64,
    span: u64,
}

impl Timeline {
    fn over(window: &[Record]) -> Timeline {
        let start = window.first().and_then(|r| seconds(&r.ts)).unwrap_or(0);
        let end = window.last().and_then(|r| seconds(&r.ts)).unwrap_or(start);
        Timeline {
            start,
            // A clock stepped back (or an edited trail) may date the last record first.
            span: end.saturating_sub(start).max(1),
        }
    }

    fn bucket(&self, ts: &str) -> Option<usize> {
        let s = seconds(ts)?;
        let bucket = ((s - self.start.min(s)) * BUCKETS as u64) / (self.span + 1);
        Some((bucket as usize).min(BUCKETS - 1))
    }
}

/// A session's refusals (or failures) of one destination under one rule. Past the first
/// refusals, a session records only some, each with its running count, so the count is
/// the larger of the records seen and the last running count.
#[derive(Default)]
struct Refusals {
    records: u64,
    largest_running_count: u64,
}

impl Refusals {
    fn count(&self) -> u64 {
        self.records.max(self.largest_running_count)
    }
}

/// Server, destination, refused (true) or failed (false), session, rule.
type RefusalKey = (String, String, bool, String, String);

/// The running totals while the window's records are read.
#[derive(Default)]
struct Tally {
    servers: BTreeMap<String, ServerStats>,
    sessions: BTreeMap<String, BTreeSet<String>>,
    latencies: BTreeMap<(String, String), Vec<f64>>,
    approval_waits: BTreeMap<(String, String), Vec<f64>>,
    refusals: BTreeMap<RefusalKey, Refusals>,
}

/// The statistics per server of `window`.
pub(super) fn per_server(window: &[Record]) -> BTreeMap<String, ServerStats> {
    let timeline = Timeline::over(window);
    let mut tally = Tally::default();
    for record in window {
        tally.add(record, &timeline);
    }
    tally.finish()
}

impl Tally {
    fn add(&mut self, record: &Record, timeline: &Timeline) {
        self.sessions
            .entry(record.server.clone())
            .or_default()
            .insert(record.session.clone());
        let server = self.servers.entry(record.server.clone()).or_default();
        count_identity(server, record);
        if matches!(
            record.kind(),
            Some(EventKind::Network | EventKind::NetworkEnd)
        ) && let Some(target) = destination(record)
        {
            let host = server.hosts.entry(target.clone()).or_default();
            count_connection(host, &mut self.refusals, record, target);
        }
        if let Some(tool) = &record.tool {
            let stats = server
                .tools
                .entry(tool.clone())
                .or_insert_with(|| ToolStats {
                    timeline: vec![0; BUCKETS],
                    ..Default::default()
                });
            count_call(stats, record, timeline);
            if let Some(wait) = count_approval(&mut stats.approvals, record) {
                self.approval_waits
                    .entry((record.server.clone(), tool.clone()))
                    .or_default()
                    .push(wait);
            }
            if is_outcome(record)
                && let Some(ms) = record.latency_ms
            {
                self.latencies
                    .entry((record.server.clone(), tool.clone()))
                    .or_default()
                    .push(ms);
            }
        }
    }

    /// The totals that need every record first: latency percentiles, sessions, refusals.
    fn finish(mut self) -> BTreeMap<String, ServerStats> {
        for ((server, tool), mut values) in self.latencies {
            values.sort_by(|a, b| a.total_cmp(b));
            if let Some(stats) = self
                .servers
                .get_mut(&server)
                .and_then(|s| s.tools.get_mut(&tool))
            {
                stats.p50_ms = percentile(&values, 0.5);
                stats.p95_ms = percentile(&values, 0.95);
            }
        }
        for ((server, tool), mut waits) in self.approval_waits {
            waits.sort_by(|a, b| a.total_cmp(b));
            if let Some(stats) = self
                .servers
                .get_mut(&server)
                .and_then(|s| s.tools.get_mut(&tool))
            {
                stats.approvals.wait_p50_ms = percentile(&waits, 0.5);
            }
        }
        for (server, ids) in self.sessions {
            if let Some(stats) = self.servers.get_mut(&server) {
                stats.sessions = ids.len() as u64;
            }
        }
        for ((server, target, refused, _, _), refusals) in self.refusals {
            if let Some(host) = self
                .servers
                .get_mut(&server)
                .and_then(|s| s.hosts.get_mut(&target))
            {
                if refused {
                    host.refused += refusals.count();
                } else {
                    host.failed += refusals.count();
                }
            }
        }
        self.servers
    }
}

/// The session's profile and client, and the count of requests.
fn count_identity(server: &mut ServerStats, record: &Record) {
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
    if record.kind() == Some(EventKind::Request) {
        server.requests += 1;
    }
}

/// A `network` (a connection allowed, refused or failed) or `network.end` (its bytes)
/// record of `target`.
fn count_connection(
    host: &mut HostStats,
    refusals: &mut BTreeMap<RefusalKey, Refusals>,
    record: &Record,
    target: String,
) {
    let verdict = record.decision.as_ref().map(|d| d.verdict.as_str());
    match (record.kind(), verdict) {
        (Some(EventKind::Network), Some("allow")) => host.allowed += 1,
        (Some(EventKind::Network), Some(verdict)) => {
            let running_count = record
                .detail
                .as_ref()
                .and_then(|d| d["refusals_so_far"].as_u64())
                .unwrap_or(0);
            let rule = record.decision.as_ref().map_or("", |d| d.rule.as_str());
            let key = (
                record.server.clone(),
                target,
                verdict == "deny",
                record.session.clone(),
                rule.to_owned(),
            );
            let seen = refusals.entry(key).or_default();
            seen.records += 1;
            seen.largest_running_count = seen.largest_running_count.max(running_count);
        }
        (Some(EventKind::NetworkEnd), _) => {
            let detail = record.detail.as_ref();
            let count = |key: &str| detail.and_then(|d| d[key].as_u64()).unwrap_or(0);
            host.bytes_up += count("bytes_up");
            host.bytes_down += count("bytes_down");
        }
        _ => {}
    }
}

/// Whether `record` ends a call (answered, timed out or aborted): it has the call's latency.
/// An approval record of a tool: a question, or how it ended. Returns the wait of an
/// answered one.
fn count_approval(stats: &mut super::ApprovalStats, record: &Record) -> Option<f64> {
    match record.kind() {
        Some(EventKind::ApprovalRequest) => {
            stats.asked += 1;
            None
        }
        Some(EventKind::ApprovalAnswer) => {
            let answered = record
                .decision
                .as_ref()
                .is_some_and(|d| d.approver.is_some());
            let allowed = record
                .decision
                .as_ref()
                .is_some_and(|d| d.verdict == "allow");
            match (answered, allowed) {
                (_, true) => stats.allowed += 1,
                (true, false) => stats.denied += 1,
                (false, false) => stats.unanswered += 1,
            }
            record.latency_ms.filter(|_| answered)
        }
        _ => None,
    }
}

fn is_outcome(record: &Record) -> bool {
    matches!(
        record.kind(),
        Some(EventKind::Response | EventKind::Timeout | EventKind::Aborted)
    )
}

/// A record of `stats`'s tool: a request (a call, maybe denied) or its outcome (bytes,
/// tokens, error).
fn count_call(stats: &mut ToolStats, record: &Record, timeline: &Timeline) {
    if is_outcome(record) {
        if let Some(result) = &record.result {
            stats.bytes += result.bytes;
            stats.tokens += result.tokens;
            if result.is_error {
                stats.errors += 1;
            }
        }
    } else if record.kind() == Some(EventKind::Request) {
        stats.calls += 1;
        if record.decision.as_ref().map(|d| d.verdict.as_str()) == Some("deny") {
            stats.denials += 1;
        }
        if let Some(bucket) = timeline.bucket(&record.ts) {
            stats.timeline[bucket] += 1;
        }
    }
}
