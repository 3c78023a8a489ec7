//! A session that cannot start still speaks JSON-RPC (issue 13, point 1): the client's
//! requests of either era are answered with an error that carries the stderr message and a
//! `data.code`, and mcpguard exits with the contract's code when the client leaves.
//!
//! The official Python SDK client (tests/peers/failed_start.py) connects to `mcpguard run`
//! and prints what it sees; a shell around mcpguard records its exit code.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the SDK client sees connecting to `argv` in `mode`, mcpguard's exit code, and its
/// stderr.
fn sdk_sees(mode: &str, argv: &[String]) -> (Value, Option<i32>, String) {
    let scratch = tempfile::tempdir().unwrap();
    let status = scratch.path().join("status");
    let stderr = scratch.path().join("stderr");
    let home = scratch.path().join("home");
    let output = Command::new("python3")
        .arg(repo().join("tests/peers/failed_start.py"))
        .args(["--mode", mode, "--", "/bin/sh", "-c"])
        .arg(
            "export MCPGUARD_HOME=\"$1\"; status=\"$2\"; err=\"$3\"; shift 3; \
             \"$@\" 2>\"$err\"; echo $? >\"$status\"",
        )
        .arg("sh")
        .args([&home, &status, &stderr])
        .args(argv)
        .env("PYTHONPATH", peers().join("py"))
        .output()
        .expect("run the Python SDK client");
    assert_eq!(
        output.status.code(),
        Some(0),
        "the client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let start = Instant::now();
    while !status.exists() && start.elapsed() < PATIENCE {
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = std::fs::read_to_string(&status)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    (
        seen,
        code,
        std::fs::read_to_string(&stderr).unwrap_or_default(),
    )
}

fn run_argv(options: &[&str], server: &[&str]) -> Vec<String> {
    let mut argv = vec![mcpguard().display().to_string(), "run".into()];
    argv.extend(options.iter().map(|s| s.to_string()));
    argv.push("--".into());
    argv.extend(server.iter().map(|s| s.to_string()));
    argv
}

/// `mcpguard run -- /bin/cat` started through `wrapper` (a command that runs its arguments).
fn run_cat_under(wrapper: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    argv.extend(run_argv(&[], &["/bin/cat"]));
    argv
}

/// Checks that both eras' SDK clients get `data_code` with the message stderr shows (minus
/// its `mcpguard: error: ` prefix), and that mcpguard ends with `exit`; returns the message.
fn refused(argv: &[String], data_code: &str, exit: i32) -> String {
    let mut message = String::new();
    for mode in ["legacy", "auto"] {
        let (seen, code, stderr) = sdk_sees(mode, argv);
        let error = &seen["error"];
        assert_eq!(
            error["data"],
            json!({ "code": data_code }),
            "{mode}: the client saw {seen}\nstderr:\n{stderr}"
        );
        let number = error["code"].as_i64().unwrap();
        assert!((-31999..=-31000).contains(&number), "{seen}");
        message = error["message"].as_str().unwrap().to_owned();
        // stderr keeps one line: a line break in the message is shown as `\n` there.
        let reason = message
            .strip_prefix("mcpguard: ")
            .unwrap()
            .replace('\n', "\\n");
        assert!(
            stderr.contains(&format!("mcpguard: error: {reason}"))
                || stderr.contains(&format!("] mcpguard: error: {reason}")),
            "{mode}: stderr does not say what the client was told ({message}):\n{stderr}"
        );
        assert_eq!(code, Some(exit), "{mode}: exit code; stderr:\n{stderr}");
    }
    message
}

#[test]
fn a_misspelled_profile_reaches_the_sdk_client() {
    let message = refused(
        &run_argv(&["--profile", "defualt"], &["/bin/cat"]),
        "mcpguard.config",
        125,
    );
    assert!(message.contains("defualt"), "{message}");
}

#[test]
fn a_profile_with_an_unknown_key_reaches_the_sdk_client() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_file(
        dir.path(),
        "typo.toml",
        "[profile]\nname = \"typo\"\nversion = 1\n\n[tools]\ndefualt = \"allow\"\n",
    );
    let message = refused(
        &run_argv(&["--profile", &profile], &["/bin/cat"]),
        "mcpguard.config",
        125,
    );
    assert!(message.contains("defualt"), "{message}");
}

#[test]
fn a_command_not_found_reaches_the_sdk_client() {
    let message = refused(
        &run_argv(&[], &["mcpguard-no-such-server"]),
        "mcpguard.not_found",
        127,
    );
    assert!(message.contains("mcpguard-no-such-server"), "{message}");
}

#[test]
fn a_command_not_executable_reaches_the_sdk_client() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    refused(
        &run_argv(&[], &[script.to_str().unwrap()]),
        "mcpguard.not_executable",
        126,
    );
}

#[test]
fn a_missing_required_layer_reaches_the_sdk_client() {
    // mcpguard in a user namespace whose user.max_user_namespaces is 0 cannot create its
    // own: the sandbox helper fails before the server runs (the default requires them).
    let argv = run_cat_under(&[
        "/usr/bin/unshare",
        "--user",
        "--map-root-user",
        "--",
        "/bin/sh",
        "-c",
        "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"",
    ]);
    let message = refused(&argv, "mcpguard.sandbox_unavailable", 125);
    assert!(message.contains("user namespaces"), "{message}");
    assert!(message.contains("--require landlock,seccomp"), "{message}");
}

#[test]
fn a_failure_of_the_servers_own_process_before_the_sandbox_is_up_reaches_the_sdk_client() {
    // A hard data limit below the profile's memory limit: the server's process cannot set
    // its rlimits and fails after PID 1 forked it, before it reports the sandbox up. PID 1
    // then passes its exit status on, which must not read as a sandbox that came up.
    let argv = run_cat_under(&["/usr/bin/prlimit", "--data=1073741824:1073741824", "--"]);
    let message = refused(&argv, "mcpguard.sandbox_unavailable", 125);
    assert!(message.contains("rlimits"), "{message}");
}

#[test]
fn the_modern_era_first_request_is_answered_on_a_raw_pipe() {
    let mut guard = Guarded::start(&["--profile", "defualt"], &["/bin/cat".to_string()]);
    guard.send_json(&request(
        json!(1),
        "server/discover",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
    ));
    let first = guard.recv_json();
    assert_eq!(first["id"], json!(1), "{first}");
    assert_eq!(
        first["error"]["data"],
        json!({"code": "mcpguard.config"}),
        "{first}"
    );
    // Notifications are not answered; every later request is, each with its own id.
    guard.send_json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    guard.send_json(&request(json!("two"), "tools/list", json!({})));
    let second = guard.recv_json();
    assert_eq!(second["id"], json!("two"), "{second}");
    assert_eq!(second["error"], first["error"]);
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(125), "{stderr}");
    let reason = first["error"]["message"]
        .as_str()
        .unwrap()
        .strip_prefix("mcpguard: ")
        .unwrap()
        .to_owned();
    assert!(
        stderr.contains(&format!("mcpguard: error: {reason}")),
        "{stderr}"
    );
}

#[test]
fn a_client_that_never_asks_does_not_keep_mcpguard_alive() {
    let mut guard = Guarded::start(&["--profile", "defualt"], &["/bin/cat".to_string()]);
    let start = Instant::now();
    let status = guard.wait();
    assert_eq!(status.code(), Some(125));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    guard.expect_stdout_closed();
}

#[test]
fn a_stdin_at_its_end_is_not_waited_for_and_a_dry_run_only_says_why() {
    // /dev/null as stdin: EOF at once, so mcpguard ends at once.
    let (code, _, stderr) = mcpguard_in(
        Path::new("/nonexistent"),
        &["run", "--profile", "defualt", "--", "cat"],
    );
    assert_eq!(code, Some(125), "{stderr}");
    let (code, stdout, stderr) = mcpguard_in(
        Path::new("/nonexistent"),
        &["run", "--dry-run", "--", "mcpguard-no-such-server"],
    );
    assert_eq!(code, Some(127), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("command not found"), "{stderr}");
}
