//! Approval benchmark: the time mcpguard adds between a person's answer and the forwarded
//! call, measured in the same run against a call that needs no approval.
//!
//! Run with `cargo bench --bench approval` (add `-- --quick` for a short run). A client here
//! drives `mcpguard run` in front of a tool server (this same binary with `--tool-server`)
//! under a profile where `act` needs approval and `free` does not. Interleaved, it times:
//!
//! * a plain call: `tools/call free` until its result (relay + server + relay back);
//! * an approved call: from writing the answer to mcpguard's `elicitation/create` (allow
//!   once) until the call's result, which covers reading the answer, recording it, and
//!   relaying the held call, plus the same server round trip.
//!
//! Added by the approval = percentile(approved) − percentile(plain). Nothing is asserted.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--tool-server") => tool_server(),
        _ => run(args.iter().any(|a| a == "--quick")),
    }
}

/// A tool server: `initialize`, `tools/list` (two unannotated tools), and a small result for
/// every other request.
fn tool_server() {
    let stdin = std::io::stdin();
    let mut input = BufReader::new(stdin.lock());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let message: serde_json::Value = match serde_json::from_str(&line) {
            Ok(message) => message,
            Err(_) => continue,
        };
        let Some(id) = message
            .get("id")
            .filter(|_| message.get("method").is_some())
        else {
            continue;
        };
        let result = match message["method"].as_str() {
            Some("initialize") => serde_json::json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "bench", "version": "1"},
            }),
            Some("tools/list") => serde_json::json!({"tools": [
                {"name": "act", "inputSchema": {"type": "object"}},
                {"name": "free", "inputSchema": {"type": "object"}},
            ]}),
            _ => serde_json::json!({"content": [{"type": "text", "text": "done"}]}),
        };
        let reply = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result});
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

struct Session {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Session {
    fn start(home: &std::path::Path, profile: &std::path::Path, audit: bool) -> Session {
        let me = std::env::current_exe().expect("own path");
        let mut command = Command::new(env!("CARGO_BIN_EXE_mcpguard"));
        command
            .env("MCPGUARD_HOME", home)
            .args(["run", "--name", "approval-bench", "--profile"])
            .arg(profile)
            .arg("--allow-read")
            .arg(me.parent().expect("bench directory"));
        if !audit {
            command.arg("--no-audit");
        }
        let mut child = command
            .arg("--")
            .arg(&me)
            .arg("--tool-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcpguard");
        let to = child.stdin.take().expect("stdin");
        let from = BufReader::new(child.stdout.take().expect("stdout"));
        let mut session = Session { child, to, from };
        session.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {"elicitation": {}},
                "clientInfo": {"name": "bench", "version": "1"},
            }}),
        );
        session.until_id(&serde_json::json!(0));
        session.send(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        session.until_id(&serde_json::json!(1));
        session
    }

    fn send(&mut self, message: &serde_json::Value) {
        writeln!(self.to, "{message}").expect("write");
        self.to.flush().expect("flush");
    }

    fn next(&mut self) -> serde_json::Value {
        let mut line = String::new();
        assert!(
            self.from.read_line(&mut line).expect("read") > 0,
            "mcpguard ended"
        );
        serde_json::from_str(&line).expect("a JSON line")
    }

    fn until_id(&mut self, id: &serde_json::Value) -> serde_json::Value {
        loop {
            let message = self.next();
            if &message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }

    /// One plain call: its round trip.
    fn plain(&mut self, id: u64) -> Duration {
        let start = Instant::now();
        self.send(&call(id, "free"));
        self.until_id(&serde_json::json!(id));
        start.elapsed()
    }

    /// One approved call: from the answer to the result.
    fn approved(&mut self, id: u64) -> Duration {
        self.send(&call(id, "act"));
        let question = loop {
            let message = self.next();
            if message["method"] == "elicitation/create" {
                break message;
            }
        };
        let answer = serde_json::json!({"jsonrpc": "2.0", "id": question["id"], "result": {
            "action": "accept", "content": {"decision": "allow_once"}
        }});
        let start = Instant::now();
        self.send(&answer);
        let result = self.until_id(&serde_json::json!(id));
        let elapsed = start.elapsed();
        assert!(
            result["result"]["isError"].is_null(),
            "the approved call failed: {result}"
        );
        elapsed
    }
}

fn call(id: u64, tool: &str) -> serde_json::Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": tool, "arguments": {"n": id}
    }})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn run(quick: bool) {
    let rounds = if quick { 300 } else { 2_000 };
    let home = std::env::temp_dir().join(format!("mcpguard-approval-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("bench home");
    let profile = home.join("approval-bench.toml");
    std::fs::write(
        &profile,
        "[profile]\nname = \"approval-bench\"\nextends = \"everything\"\n[tools]\nprompt = [\"act\"]\n",
    )
    .expect("profile");
    println!(
        "approval: {rounds} approved calls against {rounds} plain calls, interleaved, same session"
    );
    for audit in [true, false] {
        let mut session = Session::start(&home, &profile, audit);
        let (mut plain, mut approved) = (Vec::new(), Vec::new());
        for n in 0..rounds + 50 {
            let id = 10 + 2 * n as u64;
            let p = session.plain(id);
            let a = session.approved(id + 1);
            if n >= 50 {
                plain.push(p);
                approved.push(a);
            }
        }
        drop(session.to);
        let _ = session.child.wait();
        plain.sort();
        approved.sort();
        let label = if audit { "with audit" } else { "--no-audit" };
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            let (base, held) = (percentile(&plain, p), percentile(&approved, p));
            println!(
                "  {label:<11} {name}: plain call {:>8.1} µs | answer → result {:>8.1} µs | added by the approval {:>8.1} µs",
                micros(base),
                micros(held),
                micros(held) - micros(base)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}
