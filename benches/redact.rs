//! Redaction cost per KiB of payload, against parsing the same payload in the same run:
//! what recording a tool call costs (`Redactor::value`: keys, credential shapes anywhere in
//! a string, handed-over values), and what a session with credentials adds to every line
//! the server sends the client (`scrub_injected_line`). Run with `cargo bench --bench redact`.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcpguard::bench::{Injected, Redactor};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 20_000;
const SAMPLES: usize = 15;

/// A tool call's arguments of about 1 KiB: prose, paths, a few numbers; `dirty` puts
/// credentials inside the prose.
fn payload(dirty: bool) -> serde_json::Value {
    let prose = "The quick brown fox reads the project notes and writes a summary of the changes \
                 made to the build scripts, the test suite and the release checklist. ";
    let mut text = prose.repeat(5);
    if dirty {
        text.push_str(
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 and Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln \
             and aws AKIAIOSFODNN7EXAMPLE and live-credential-0001-value",
        );
    }
    serde_json::json!({
        "path": "/home/me/src/project/docs/notes.md",
        "content": text,
        "options": {"append": false, "encoding": "utf-8", "mode": 420},
        "tags": ["docs", "summary", "release"],
    })
}

fn injected() -> Vec<Injected> {
    [
        "live-credential-0001-value",
        "another-token-0002-abcdef",
        "third-secret-0003-xyz",
    ]
    .iter()
    .enumerate()
    .map(|(i, v)| Injected {
        name: format!("SECRET_{i}"),
        value: (*v).to_owned(),
    })
    .collect()
}

/// Median nanoseconds per KiB of `bytes` for `work`, over interleaved samples.
fn per_kib(bytes: usize, mut work: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ROUNDS {
                work();
            }
            start.elapsed().as_nanos() as f64 / ROUNDS as f64 / (bytes as f64 / 1024.0)
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[SAMPLES / 2]
}

fn main() {
    let clean = payload(false);
    let dirty = payload(true);
    let clean_bytes = serde_json::to_vec(&clean).unwrap();
    let dirty_bytes = serde_json::to_vec(&dirty).unwrap();
    let line = |v: &serde_json::Value| {
        serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":v["content"]}]}})).unwrap()
    };
    let clean_line = line(&clean);
    let dirty_line = line(&dirty);
    let none = Redactor::new(Vec::new());
    let three = Redactor::new(injected());

    let parse = per_kib(clean_bytes.len(), || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&clean_bytes)).unwrap());
    });
    let rows = [
        (
            "record: clean arguments, no credentials",
            per_kib(clean_bytes.len(), || {
                black_box(none.value(black_box(&clean)));
            }),
        ),
        (
            "record: clean arguments, 3 credentials",
            per_kib(clean_bytes.len(), || {
                black_box(three.value(black_box(&clean)));
            }),
        ),
        (
            "record: arguments with 4 credentials inside",
            per_kib(dirty_bytes.len(), || {
                black_box(three.value(black_box(&dirty)));
            }),
        ),
        (
            "to the client: clean line, 3 credentials",
            per_kib(clean_line.len(), || {
                black_box(three.scrub_injected_line(black_box(&clean_line)));
            }),
        ),
        (
            "to the client: line echoing a credential",
            per_kib(dirty_line.len(), || {
                black_box(three.scrub_injected_line(black_box(&dirty_line)));
            }),
        ),
    ];
    println!(
        "redaction, ns per KiB of payload (median of {SAMPLES} samples of {ROUNDS}; payload {} bytes)",
        clean_bytes.len()
    );
    println!(
        "  {:<46} {:>8.0} ns/KiB  1.00x  (baseline, same run)",
        "parse the payload (serde_json::Value)", parse
    );
    for (what, ns) in rows {
        println!("  {what:<46} {ns:>8.0} ns/KiB  {:.2}x", ns / parse);
    }
}
