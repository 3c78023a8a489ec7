//! Audit writer throughput: records per second appended to the hash chain on a local disk,
//! through the same `AuditLog` the relay uses (redaction, payload capping, sha256, locked
//! append). Run with `cargo bench --bench audit`.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcpguard::bench::ProfileRef;
use mcpguard::bench::{AuditLog, DecisionRef, PayloadMode};
use std::time::Instant;

const RECORDS: usize = 100_000;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let profile = ProfileRef {
        name: "bench".into(),
        digest: "0".repeat(64),
    };
    let mut log =
        AuditLog::open(dir.path(), "bench", profile, PayloadMode::Full, Vec::new()).unwrap();
    let args = serde_json::json!({"path": "/home/me/src/project/README.md", "head": 20});
    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..RECORDS {
            let payload = log.payload(&args);
            log.request_with_payload(
                "tools/call",
                Some("read_text_file"),
                Some(serde_json::json!(7)),
                payload,
                DecisionRef {
                    verdict: "allow",
                    rule: "default",
                    reason: "bench",
                },
            )
            .unwrap();
        }
        rates.push(RECORDS as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let bytes: u64 = std::fs::read_dir(dir.path().join("audit/bench"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "audit writer: {} records of a tools/call with its arguments",
        3 * RECORDS
    );
    println!(
        "  median {:.0} records/s (runs: {:?})",
        rates[1],
        rates.iter().map(|r| r.round()).collect::<Vec<_>>()
    );
    println!(
        "  {:.0} bytes per record on disk",
        bytes as f64 / (3 * RECORDS) as f64
    );
}
