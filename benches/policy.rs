//! Policy cost per `tools/call`: round trips through mcpguard under a realistic profile
//! (allow list, a path rule, the tool's inputSchema checked, pins enforced) against the same
//! relay with the permissive test profile, interleaved in one run; audit off in both so only
//! the policy differs. Run with `cargo bench --bench policy`.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

const ROUNDS: usize = 6;
const CALLS: usize = 4000;

const TOOLS: &str = r#"{"tools":[{"name":"read_text_file","description":"Read a file","inputSchema":{"type":"object","properties":{"path":{"type":"string"},"head":{"type":"number"},"tail":{"type":"number"}},"required":["path"],"additionalProperties":false},"annotations":{"readOnlyHint":true}}]}"#;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--server") {
        return server();
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("realistic.toml");
    std::fs::write(
        &profile,
        "[profile]\nname = \"realistic\"\nextends = \"default\"\n[tools]\ndefault = \"deny\"\nallow = [\"read_*\", \"list_*\"]\n\
         prompt = [\"write_file\"]\n[[tools.rules]]\ntool = \"*\"\narg = \"/path\"\nnot-glob = \"/workspace/**\"\ndecision = \"deny\"\n\
         [[tools.rules]]\ntool = \"read_text_file\"\narg = \"/path\"\nregex = \"\\\\.env$\"\ndecision = \"deny\"\n\
         [limits]\ncalls = \"1000000/sec\"\nburst = 1000000\nloop-count = 1000000\n",
    )
    .unwrap();
    let realistic = profile.display().to_string();
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        off.push(run(dir.path(), "everything"));
        on.push(run(dir.path(), &realistic));
    }
    let median = |v: &mut Vec<(f64, f64)>, i: usize| {
        let mut xs: Vec<f64> = v.iter().map(|p| if i == 0 { p.0 } else { p.1 }).collect();
        xs.sort_by(|a, b| a.total_cmp(b));
        xs[xs.len() / 2]
    };
    let (off50, off99, on50, on99) = (
        median(&mut off, 0),
        median(&mut off, 1),
        median(&mut on, 0),
        median(&mut on, 1),
    );
    println!(
        "tools/call round trips through mcpguard ({ROUNDS} interleaved rounds of {CALLS}; medians)"
    );
    println!("  permissive profile:   p50 {off50:7.1} µs   p99 {off99:7.1} µs");
    println!("  realistic profile:    p50 {on50:7.1} µs   p99 {on99:7.1} µs");
    println!(
        "  policy cost per call: p50 {:7.1} µs   p99 {:7.1} µs",
        on50 - off50,
        on99 - off99
    );
}

/// (p50, p99) in µs of CALLS allowed tools/call round trips under `profile`.
fn run(home: &std::path::Path, profile: &str) -> (f64, f64) {
    let me = std::env::current_exe().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcpguard"))
        .env("MCPGUARD_HOME", home)
        .args([
            "run",
            "--no-audit",
            "--name",
            "policy-bench",
            "--profile",
            profile,
            "--allow-read",
        ])
        .arg(me.parent().unwrap())
        .arg("--")
        .arg(&me)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":0,"method":"tools/list"}}"#).unwrap();
    stdout.read_line(&mut line).unwrap();
    let mut samples = Vec::with_capacity(CALLS);
    for id in 1..=CALLS + 200 {
        let request = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"read_text_file","arguments":{{"path":"/workspace/src/main.rs","head":{id}}}}}}}"#
        );
        let start = Instant::now();
        writeln!(stdin, "{request}").unwrap();
        line.clear();
        stdout.read_line(&mut line).unwrap();
        // Every call must really reach the server: not blocked, not rate limited.
        assert!(
            line.contains("fn main"),
            "the benchmark call did not reach the server: {line}"
        );
        if id > 200 {
            samples.push(start.elapsed());
        }
    }
    drop(stdin);
    let _ = child.wait();
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// A minimal server: the tool list, and a small text result for every call.
fn server() {
    let stdin = std::io::stdin();
    let mut input = BufReader::new(stdin.lock());
    let mut out = std::io::stdout().lock();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let id = value["id"].to_string();
        let result = if value["method"] == "tools/list" {
            TOOLS.to_owned()
        } else {
            r#"{"content":[{"type":"text","text":"fn main() {}"}]}"#.to_owned()
        };
        if writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}
