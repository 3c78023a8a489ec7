//! What the filter says about each connection: audit records and stderr lines.
//!
//! Owns: the `network` record of every decision and the `network.end` record of every
//! allowed connection (also those still open when the session ends), the stderr line that
//! explains a refusal once and names the key to change, and the bounds that keep a server
//! that connects in a loop from filling the disk or the terminal (refusals of one
//! destination sampled past a first hundred, a session-wide cap, a cap on the lines).

use super::lock;
use super::refusal::Refusal;
use super::relay::Counts;
use super::target::Target;
use crate::audit::DecisionRef;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Distinct refusals explained on stderr in one session; the rest are in the audit trail.
const TOLD_LIMIT: usize = 200;
/// Refusals of one destination recorded one by one; after that, one record in
/// `SAMPLE_EVERY`, with the running count.
const RECORDED_PER_DESTINATION: u64 = 100;
const SAMPLE_EVERY: u64 = 1000;
/// Destinations whose refusals are counted apart; past this, they share one count.
const COUNTED_DESTINATIONS: usize = 10_000;
/// Refusal records in one session before only one in `SAMPLE_EVERY` is kept, whatever the
/// destination (a server trying a new name each time must not fill the disk).
const RECORDED_PER_SESSION: u64 = 10_000;

/// Where the filter's records go: the session's audit trail. The filter writes no file of
/// its own and knows nothing of the relay that owns the trail.
pub(crate) trait NetworkRecorder: Send + Sync {
    /// A connection allowed, refused or failed (verdict allow, deny or error). False when
    /// the record could not be written and what cannot be recorded must not happen.
    fn network(&self, verdict: DecisionRef<'_>, detail: serde_json::Value) -> bool;
    /// An allowed connection ended, with its byte counts in `detail`.
    fn network_end(&self, latency_ms: f64, detail: serde_json::Value);
}

/// What the filter has said and still has to say in one session.
pub(crate) struct Records {
    recorder: Arc<dyn NetworkRecorder>,
    /// Refusals already explained on stderr this session.
    told: Mutex<HashSet<String>>,
    /// Refusals per destination and rule, for sampling their records.
    refusals: Mutex<HashMap<String, u64>>,
    /// Refusals in all, and refusal records written.
    refused: AtomicU64,
    refusal_records: AtomicU64,
    /// Allowed connections still open, by number, so the session's end can record them.
    open: Mutex<HashMap<u64, Live>>,
    next_connection: AtomicU64,
}

/// An allowed connection in progress.
pub(super) struct Live {
    pub(crate) detail: serde_json::Value,
    pub(crate) started: Instant,
    pub(crate) counts: Arc<Counts>,
}

/// Whether the `count`th refusal of one destination (the `overall`th of the session, with
/// `written` refusal records so far) gets a record of its own.
fn keeps_record(count: u64, overall: u64, written: u64) -> bool {
    let sampled = count <= RECORDED_PER_DESTINATION || count.is_multiple_of(SAMPLE_EVERY);
    let within = written < RECORDED_PER_SESSION || overall.is_multiple_of(SAMPLE_EVERY);
    sampled && within
}

impl Records {
    pub(crate) fn new(recorder: Arc<dyn NetworkRecorder>) -> Self {
        Records {
            recorder,
            told: Mutex::new(HashSet::new()),
            refusals: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            refusal_records: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        }
    }

    /// Keeps an allowed connection until it ends; returns its number.
    pub(super) fn opened(&self, live: Live) -> u64 {
        let number = self.next_connection.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(number, live);
        number
    }

    /// Records the end of connection `number` (unless the session's end already did).
    pub(super) fn closed(&self, number: u64) {
        let live = lock(&self.open).remove(&number);
        if let Some(live) = live {
            self.record_end(live, false);
        }
    }

    /// Records every connection still open (the session is ending, and they with it).
    pub(crate) fn close_all(&self) {
        let open: Vec<Live> = lock(&self.open).drain().map(|(_, live)| live).collect();
        for live in open {
            self.record_end(live, true);
        }
    }

    pub(super) fn record_end(&self, live: Live, at_session_end: bool) {
        let mut detail = live.detail;
        detail["bytes_up"] = json!(live.counts.up.load(Ordering::Relaxed));
        detail["bytes_down"] = json!(live.counts.down.load(Ordering::Relaxed));
        if at_session_end {
            detail["open_at_session_end"] = json!(true);
        }
        self.recorder
            .network_end(live.started.elapsed().as_secs_f64() * 1000.0, detail);
    }

    pub(super) fn detail(target: &Target, address: Option<SocketAddr>) -> serde_json::Value {
        let mut detail = json!({
            "host": target.host,
            "port": target.port,
            "via": target.via.name(),
        });
        if let Some(claimed) = &target.claimed {
            detail["claimed"] = json!(claimed);
        }
        if let Some(address) = address {
            detail["address"] = json!(address.to_string());
        }
        detail
    }

    pub(super) fn record(
        &self,
        target: &Target,
        verdict: DecisionRef<'_>,
        address: Option<SocketAddr>,
        count: Option<u64>,
    ) -> bool {
        let mut detail = Self::detail(target, address);
        if let Some(count) = count {
            detail["refusals_so_far"] = json!(count);
        }
        self.recorder.network(verdict, detail)
    }

    /// Counts a refusal under `key`; whether it gets a record of its own, and the count.
    fn count_refusal(&self, key: &str) -> (bool, u64) {
        let count = {
            let mut refusals = lock(&self.refusals);
            let key = if refusals.len() >= COUNTED_DESTINATIONS && !refusals.contains_key(key) {
                "(other destinations)"
            } else {
                key
            };
            let count = refusals.entry(key.to_owned()).or_default();
            *count += 1;
            *count
        };
        let overall = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let written = self.refusal_records.load(Ordering::Relaxed);
        let recorded = keeps_record(count, overall, written);
        if recorded {
            self.refusal_records.fetch_add(1, Ordering::Relaxed);
        }
        (recorded, count)
    }

    pub(super) fn record_refusal(&self, target: &Target, refusal: &Refusal) {
        let key = format!("{} {}", refusal.rule, target.shown());
        let (recorded, count) = self.count_refusal(&key);
        if recorded {
            // A refusal that cannot be recorded is a refusal all the same.
            let _ = self.record(
                target,
                DecisionRef {
                    verdict: refusal.verdict,
                    rule: &refusal.rule,
                    reason: &refusal.reason,
                },
                None,
                (count > RECORDED_PER_DESTINATION).then_some(count),
            );
        }
        let what = if refusal.verdict == "deny" {
            "refused"
        } else {
            "failed"
        };
        let line = format!(
            "network: {what} {} (via {}): {}{}",
            target.shown(),
            target.via.name(),
            refusal.reason,
            refusal
                .fix
                .as_ref()
                .map(|fix| format!("; {fix}"))
                .unwrap_or_default()
        );
        self.tell_once(&key, &line);
    }

    /// A proxy request that names no destination (SOCKS, garbage): recorded and explained.
    pub(super) fn refuse_protocol(&self, reason: &str) {
        let (recorded, count) = self.count_refusal("network.protocol");
        if recorded {
            let mut detail = json!({ "via": "proxy" });
            if count > RECORDED_PER_DESTINATION {
                detail["refusals_so_far"] = json!(count);
            }
            // A refusal that cannot be recorded is a refusal all the same.
            let _ = self.recorder.network(
                DecisionRef {
                    verdict: "deny",
                    rule: "network.protocol",
                    reason,
                },
                detail,
            );
        }
        self.tell_once("network.protocol", &format!("network: {reason}"));
    }

    /// Says `line` on stderr, once per session for each `key`, for a bounded number of keys.
    pub(super) fn tell_once(&self, key: &str, line: &str) {
        let mut told = lock(&self.told);
        if told.len() > TOLD_LIMIT || told.contains(key) {
            return;
        }
        if told.len() == TOLD_LIMIT {
            told.insert(String::new());
            tracing::warn!(
                "network: more than {TOLD_LIMIT} different refusals; the rest are only in the audit trail"
            );
            return;
        }
        told.insert(key.to_owned());
        // Hosts and names in the line come from the sandbox: no control characters from
        // them reach the terminal or the log as such.
        let line: String = line
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect();
        tracing::warn!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn refusal_records_are_sampled_past_the_first_hundred_of_a_destination() {
        // One destination refused 2,500 times in a session: records 1-100, 1000 and 2000.
        let mut written = 0;
        let mut kept = Vec::new();
        for count in 1..=2_500 {
            if keeps_record(count, count, written) {
                written += 1;
                kept.push(count);
            }
        }
        let mut expected: Vec<u64> = (1..=100).collect();
        expected.extend([1000, 2000]);
        assert_eq!(kept, expected);
        // A session that already wrote its share keeps one refusal in a thousand overall,
        // whatever the destination.
        assert!(!keeps_record(1, 10_001, RECORDED_PER_SESSION));
        assert!(keeps_record(1, 11_000, RECORDED_PER_SESSION));
    }
}
