//! A closed standard output is a normal end (`mcpguard logs | head -1`): every printing
//! command, its stdout a pipe nobody reads any more, exits 0 and says nothing on stderr,
//! the way ripgrep and the coreutils do.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A session with the fake server that leaves an audit trail of a few hundred records, a
/// pin file and a cache directory behind; then the doctor's first run.
fn seed(home: &Path) {
    let mut guard = Guarded::start_in(
        home,
        None,
        &["--name", "piped", "--shutdown-grace", "300ms"],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(&initialize(json!(0)));
    answer(&guard, 0);
    guard.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    guard.send_json(&request(json!(1), "tools/list", json!({})));
    answer(&guard, 1);
    for id in 2..900 {
        guard.send_json(&echo_call(json!(id), "a line for the pipe"));
        answer(&guard, id);
    }
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0), "{stderr}");
    // The doctor's trial sandbox makes its package cache the first time, and says so on
    // stderr: that once is not what is tested here.
    let (code, _, stderr) = mcpguard_in(home, &["doctor"]);
    assert_eq!(code, Some(0), "{stderr}");
}

fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(mcpguard());
    command
        .env("MCPGUARD_HOME", home)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` (a hang detector); returns its exit code and stderr.
fn outcome(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), stderr);
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("still running after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_printing_command_ends_quietly_when_its_stdout_closes() {
    let home = tempfile::tempdir().unwrap();
    seed(home.path());
    let profile_file = repo().join("profiles/default.toml").display().to_string();
    let commands: &[&[&str]] = &[
        &["logs"],
        &["logs", "--json"],
        &["logs", "--server", "piped", "--decision", "allow"],
        &["logs", "--follow"],
        &["pins", "list"],
        &["pins", "diff"],
        &["pins", "approve"],
        &["profile", "list"],
        &["profile", "show", "default"],
        &["profile", "lint", &profile_file],
        &["audit", "verify"],
        &["audit", "report"],
        &["cache", "list"],
        &["doctor"],
        &["doctor", "--json"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["man"],
        &["--help"],
        &["run", "--help"],
        &["--version"],
        &["run", "--dry-run", "--", "python3", "server.py"],
    ];
    let mut failures = Vec::new();
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (code, stderr) = outcome(command(home.path(), args).stdout(writer).spawn().unwrap());
        if code != Some(0) || !stderr.is_empty() {
            failures.push(format!(
                "mcpguard {}: exit {code:?}, stderr {stderr:?}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn logs_piped_into_head_ends_at_the_first_line() {
    let home = tempfile::tempdir().unwrap();
    seed(home.path());
    for args in [&["logs", "--json"][..], &["logs"][..]] {
        // Enough to write that a closed pipe must be met: more than a pipe holds.
        let whole = command(home.path(), args).output().unwrap();
        assert!(
            whole.stdout.len() > 128 * 1024,
            "mcpguard {args:?} wrote only {} bytes",
            whole.stdout.len()
        );
        let mut child = command(home.path(), args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // `head -1`: one line, then the pipe is closed with far more than a pipe's worth
        // (64 KiB) still to write.
        assert!(!first.is_empty());
        let (code, stderr) = outcome(child);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "mcpguard {args:?}");
    }
}
