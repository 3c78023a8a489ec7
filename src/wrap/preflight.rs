//! The check before a wrapped entry is written: start it once exactly as the agent would
//! (its command and arguments, the environment the file gives it, the agent's `PATH`) and
//! see it answer `initialize` and `tools/list` through mcpguard.
//!
//! Owns: that one short session and the reason it failed, in words the user can act on
//! (mcpguard's own error, or the last lines the server wrote).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How the agent would start the entry.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: PathBuf,
}

/// How the check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It answered both; the names of the tools it offers through mcpguard.
    Served(Vec<String>),
    /// It did not; why.
    Failed(String),
}

/// Starts the entry, asks, and stops it; at most `patience` for each answer.
pub(crate) fn check(start: &Start, patience: Duration) -> Outcome {
    let spawned = Command::new(&start.program)
        .args(&start.args)
        .env_clear()
        .envs(start.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&start.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return Outcome::Failed(format!("{} could not start: {e}", start.program.display()));
        }
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        return Outcome::Failed("its pipes could not be opened".to_owned());
    };
    let (lines_in, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_in.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr)
            .take(1 << 20)
            .read_to_string(&mut text);
        text
    });
    let mut outcome = converse(&mut stdin, &lines, patience);
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    if let Outcome::Failed(why) = &mut outcome {
        let stderr = errors.join().unwrap_or_default();
        // The lines that add to what mcpguard's answer said already.
        let tail: Vec<&str> = stderr
            .lines()
            .filter(|line| {
                let words = line.trim().trim_start_matches("mcpguard: error: ");
                !words.is_empty() && !why.contains(words)
            })
            .rev()
            .take(6)
            .collect();
        if !tail.is_empty() {
            why.push_str("; its last words on stderr:");
            for line in tail.into_iter().rev() {
                why.push_str("\n      ");
                why.push_str(&crate::terminal::escape(line));
            }
        }
    }
    outcome
}

fn converse(stdin: &mut impl Write, lines: &mpsc::Receiver<String>, patience: Duration) -> Outcome {
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "mcpguard-wrap-check", "version": env!("CARGO_PKG_VERSION")}
        }
    });
    if let Err(e) = send(stdin, &initialize) {
        return Outcome::Failed(format!("it closed its input at once ({e})"));
    }
    let initialized = match answer(lines, 1, patience, "initialize") {
        Ok(answer) => answer,
        Err(why) => return Outcome::Failed(why),
    };
    if let Some(why) = error(&initialized, "initialize") {
        return Outcome::Failed(why);
    }
    let listed = send(
        stdin,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .and_then(|()| {
        send(
            stdin,
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}),
        )
    });
    if let Err(e) = listed {
        return Outcome::Failed(format!("it stopped reading after initialize ({e})"));
    }
    let listing = match answer(lines, 2, patience, "tools/list") {
        Ok(answer) => answer,
        Err(why) => return Outcome::Failed(why),
    };
    if let Some(why) = error(&listing, "tools/list") {
        return Outcome::Failed(why);
    }
    let tools: Vec<String> = listing["result"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Outcome::Served(tools)
}

fn send(stdin: &mut impl Write, message: &Value) -> std::io::Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    stdin.write_all(line.as_bytes())?;
    stdin.flush()
}

/// The answer to request `id`, skipping notifications and the server's own requests.
fn answer(
    lines: &mpsc::Receiver<String>,
    id: u64,
    patience: Duration,
    what: &str,
) -> Result<Value, String> {
    let deadline = Instant::now() + patience;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if message["id"] == json!(id) && message.get("method").is_none() {
                    return Ok(message);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "no answer to {what} within {}s (--check-timeout sets the patience; a first \
                     `npx`/`uvx` start downloads the server)",
                    patience.as_secs()
                ));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("it ended without answering {what}"));
            }
        }
    }
}

fn error(answer: &Value, what: &str) -> Option<String> {
    let error = answer.get("error")?;
    let message = error["message"].as_str().unwrap_or("(no message)");
    let code = error["data"]["code"]
        .as_str()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default();
    Some(format!(
        "{what} was answered with an error{code}: {}",
        crate::terminal::escape(message)
    ))
}
