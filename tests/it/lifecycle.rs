//! How sessions start and end: exit statuses (contract), signal forwarding, the shutdown
//! ladder against a server that ignores EOF and SIGTERM and daemonizes a grandchild, and no
//! zombies or orphans over many sessions.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::json;
use std::process::{Command, Stdio};

fn exit_code_of(options: &[&str], server: &[String]) -> Option<i32> {
    let mut guard = Guarded::start(options, server);
    guard.send_json(&request(json!(1), "ping", json!({})));
    guard.finish().0
}

#[test]
fn exit_status_follows_the_server() {
    assert_eq!(exit_code_of(&[], &fake(&["exit", "7"])), Some(7));
    assert_eq!(exit_code_of(&[], &fake(&["exit", "0"])), Some(0));
    assert_eq!(exit_code_of(&[], &fake(&["signal", "9"])), Some(137));
    assert_eq!(exit_code_of(&[], &fake(&["signal", "15"])), Some(143));
}

#[test]
fn exit_status_names_what_could_not_run() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(mcpguard())
            .env("MCPGUARD_HOME", home.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["run", "--", "/nonexistent/server"]);
    assert_eq!(code, Some(127));
    assert!(
        stderr.contains("command not found: /nonexistent/server"),
        "{stderr}"
    );
    let (code, stderr) = run(&["run", "--", "mcpguard-no-such-command-on-path"]);
    assert_eq!(code, Some(127));
    assert!(stderr.contains("not on PATH"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("server.sh");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let (code, stderr) = run(&["run", "--", plain.to_str().unwrap()]);
    assert_eq!(code, Some(126));
    assert!(stderr.contains("not executable"), "{stderr}");
    let (code, stderr) = run(&["run"]);
    assert_eq!(code, Some(125));
    assert!(stderr.contains("<CMD>"), "{stderr}");
    let (code, stderr) = run(&["run", "--max-message", "12 parsecs", "--", "true"]);
    assert_eq!(code, Some(125));
    assert!(stderr.contains("unknown size unit"), "{stderr}");
}

#[test]
fn dry_run_describes_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let output = Command::new(mcpguard())
        .env("MCPGUARD_HOME", dir.path())
        .args([
            "run",
            "--dry-run",
            "--name",
            "fs",
            "--call-timeout",
            "off",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!("touch {}", marker.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("server name:     fs"), "{stdout}");
    assert!(stdout.contains("call timeout:    off"), "{stdout}");
    assert!(
        stdout.contains("network:         none (loopback only; no TCP on Landlock ABI 4+)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("required layers: namespaces, landlock, seccomp"),
        "{stdout}"
    );
    assert!(!marker.exists());
}

#[test]
fn signals_to_mcpguard_reach_the_server() {
    for (signal, expected) in [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
    ] {
        let mut guard = Guarded::start(&[], &fake(&["normal"]));
        guard.send_json(&request(json!(1), "ping", json!({})));
        assert_eq!(guard.recv_json()["id"], json!(1));
        // SAFETY: kill(2) takes plain integers and touches no memory.
        unsafe { libc::kill(guard.pid(), signal) };
        assert_eq!(
            guard.wait().code(),
            Some(expected),
            "signal {signal}: {}",
            guard.stderr()
        );
    }
}

#[test]
fn a_server_that_ignores_eof_and_sigterm_is_killed_with_its_daemonized_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let marker = format!(
        "MCPGUARD_TEST_MARKER=stubborn-{}-{}",
        std::process::id(),
        rand_suffix()
    );
    let (key, value) = marker.split_once('=').unwrap();
    let mut guard = Guarded::start_with(
        &[
            "-v",
            "--shutdown-grace",
            "300ms",
            "--allow-write",
            dir.path().to_str().unwrap(),
            "--env",
            key,
        ],
        &fake(&["stubborn", pidfile.to_str().unwrap()]),
        |c| {
            c.env(key, value);
        },
    );
    // The pids are those inside the sandbox's pid namespace; the host sees the processes by
    // the marker in their environment.
    assert_eq!(wait_for_file(&pidfile).lines().count(), 2);
    // mcpguard, the sandbox's PID 1, the server and its daemonized grandchild.
    assert_eq!(processes_with_marker(&marker).len(), 4);
    guard.send_json(&request(json!(1), "ping", json!({})));
    assert_eq!(guard.recv_json()["id"], json!(1));
    guard.close_stdin();
    let status = guard.wait();
    assert_eq!(status.code(), Some(137), "{}", guard.stderr());
    assert_eq!(
        processes_with_marker(&marker),
        Vec::<i32>::new(),
        "processes outlived the session"
    );
    let stderr = guard.stderr();
    assert!(stderr.contains("sending SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("killing it and everything it started"),
        "{stderr}"
    );
}

#[test]
fn two_hundred_sessions_leave_no_process_behind() {
    const ROUNDS: u64 = 200;
    let marker = format!(
        "MCPGUARD_TEST_MARKER={}-{}",
        std::process::id(),
        rand_suffix()
    );
    let (key, value) = marker.split_once('=').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = Vec::new();
    for round in 0..ROUNDS {
        let server = if round % 20 == 0 {
            fake(&[
                "stubborn",
                dir.path().join(format!("pids-{round}")).to_str().unwrap(),
            ])
        } else {
            fake(&["normal"])
        };
        let mut guard = Guarded::start_with(
            &[
                "--shutdown-grace",
                "200ms",
                "--allow-write",
                dir.path().to_str().unwrap(),
                "--env",
                key,
            ],
            &server,
            |c| {
                c.env(key, value);
            },
        );
        guard.send_json(&request(json!(round), "ping", json!({})));
        assert_eq!(guard.recv_json()["id"], json!(round));
        guard.close_stdin();
        sessions.push(guard);
        // Keep a few sessions in flight at once, as an agent with several servers does.
        if sessions.len() >= 4 || round + 1 == ROUNDS {
            for mut guard in sessions.drain(..) {
                let code = guard.wait().code();
                assert!(
                    matches!(code, Some(0) | Some(137)),
                    "{code:?}: {}",
                    guard.stderr()
                );
            }
        }
    }
    let start = std::time::Instant::now();
    let mut left = processes_with_marker(&marker);
    while !left.is_empty() && start.elapsed() < PATIENCE {
        std::thread::sleep(std::time::Duration::from_millis(50));
        left = processes_with_marker(&marker);
    }
    assert_eq!(left, Vec::<i32>::new(), "processes left behind");
    let start = std::time::Instant::now();
    let mut zombies = zombie_children();
    while zombies != 0 && start.elapsed() < PATIENCE {
        std::thread::sleep(std::time::Duration::from_millis(50));
        zombies = zombie_children();
    }
    assert_eq!(zombies, 0, "zombie children left unreaped");
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Zombies whose parent is this test process (mcpguard sessions not waited for).
fn zombie_children() -> usize {
    let me = std::process::id() as i32;
    process_table()
        .iter()
        .filter(|(_, state, parent)| state == "Z" && *parent == me)
        .count()
}

/// Zombies anywhere under `root` (its children, and theirs: the sandbox's PID 1 is the
/// one that inherits the server's orphans).
fn zombies_under(root: i32) -> Vec<i32> {
    let table = process_table();
    let mut under = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, _, parent) in &table {
            if under.contains(parent) && !under.contains(pid) {
                under.push(*pid);
                grew = true;
            }
        }
    }
    table
        .iter()
        .filter(|(pid, state, _)| state == "Z" && *pid != root && under.contains(pid))
        .map(|(pid, _, _)| *pid)
        .collect()
}

#[test]
fn a_shared_stdout_and_stderr_pipe_stays_blocking_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("flags");
    let (reader, writer) = std::io::pipe().unwrap();
    let probe = format!(
        "import fcntl, os; open({:?}, 'w').write(str(fcntl.fcntl(2, fcntl.F_GETFL) & os.O_NONBLOCK))",
        report.display().to_string()
    );
    let mut child = Command::new(mcpguard())
        .env("MCPGUARD_HOME", dir.path())
        .args([
            "run",
            "--allow-write",
            dir.path().to_str().unwrap(),
            "--",
            "python3",
            "-c",
            &probe,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(writer.try_clone().unwrap()))
        .stderr(Stdio::from(writer))
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        "0",
        "the server's stderr was made non-blocking"
    );
    drop(reader);
}

#[test]
fn orphans_of_the_server_are_reaped_during_the_session() {
    let script = format!(
        "for i in 1 2 3 4 5; do (sleep 0.05 &); done; exec {}",
        fake(&["normal"])
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut guard = Guarded::start(&[], &["sh".into(), "-c".into(), script]);
    guard.send_json(&request(json!(1), "ping", json!({})));
    assert_eq!(guard.recv_json()["id"], json!(1));
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The orphans went to the sandbox's PID 1, under mcpguard: none may stay a zombie.
    assert_eq!(
        zombies_under(guard.pid()),
        Vec::<i32>::new(),
        "zombies under mcpguard"
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn the_server_starts_with_the_signal_dispositions_a_program_expects() {
    // mcpguard itself ignores SIGPIPE (as Rust programs do); an ignored signal stays ignored
    // across exec, so a server that writes to a closed pipe would get EPIPE where it
    // expects to die. Its own status line says what it ignores and blocks.
    let home = tempfile::tempdir().unwrap();
    let (code, _, stderr) = mcpguard_in(
        home.path(),
        &[
            "run",
            "--",
            "/bin/sh",
            "-c",
            "grep -E '^Sig(Ign|Blk)' /proc/self/status >&2",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let mask = |name: &str| -> u64 {
        let line = stderr
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name} line: {stderr}"));
        u64::from_str_radix(line.rsplit(['\t', ' ']).next().unwrap().trim(), 16).unwrap()
    };
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_eq!(mask("SigIgn:") & sigpipe, 0, "SIGPIPE ignored: {stderr}");
    assert_eq!(mask("SigBlk:"), 0, "signals blocked: {stderr}");
}
