//! Real MCP peers, directly and through `mcpguard run`, compared whole.
//!
//! The official Python SDK client (`mcp` 2.3.0, tests/peers/client.py) drives each real
//! server twice: once directly and once with `mcpguard run --` in front. The two documents
//! (every result, every server→client request, every notification, the raw wire) must be
//! identical: a user must not be able to tell mcpguard is there.

use crate::common::*;
use pretty_assertions::assert_eq;
use std::process::Command;

fn client_document(scenario: &str, mode: &str, server: &[String]) -> String {
    let peers = peers();
    let state = tempfile::tempdir().unwrap();
    let output = Command::new("python3")
        .arg(repo().join("tests/peers/client.py"))
        .args(["--scenario", scenario, "--mode", mode, "--"])
        .args(server)
        .env("PYTHONPATH", peers.join("py"))
        .env("PEERS", &peers)
        .env("MCPGUARD_HOME", state.path())
        .output()
        .expect("run the Python SDK client");
    let document = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{scenario}/{mode} via {server:?} did not go as expected:\n{document}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    document
}

/// `mcpguard run` in front of `server`, with the grants a user would give it: the installed
/// packages and fixtures read-only, the Python path passed through, `writable` writable.
fn guarded(server: &[String], writable: Option<&str>) -> Vec<String> {
    let mut argv = vec![
        mcpguard().display().to_string(),
        "run".into(),
        "--profile".into(),
        "everything".into(),
    ];
    for read in [peers(), repo().join("tests")] {
        argv.push("--allow-read".into());
        argv.push(read.display().to_string());
    }
    argv.extend(["--env".into(), "PYTHONPATH".into()]);
    if let Some(path) = writable {
        argv.extend(["--allow-write".into(), path.into()]);
    }
    argv.push("--".into());
    argv.extend(server.iter().cloned());
    argv
}

fn compare(scenario: &str, mode: &str, server: Vec<String>) {
    let writable = (scenario == "filesystem").then_some("@DIR@");
    let direct = client_document(scenario, mode, &server);
    let through = client_document(scenario, mode, &guarded(&server, writable));
    assert!(direct.len() > 1000, "suspiciously small document: {direct}");
    assert_eq!(
        direct, through,
        "{scenario}/{mode}: mcpguard changed what the client observed"
    );
}

#[test]
fn everything_server_legacy_mode() {
    compare("everything", "legacy", node_bin("mcp-server-everything"));
}

#[test]
fn everything_server_auto_mode_probes_discover_then_falls_back() {
    compare("everything", "auto", node_bin("mcp-server-everything"));
}

#[test]
fn filesystem_server_with_roots_at_id_zero() {
    for mode in ["legacy", "auto"] {
        let mut server = node_bin("mcp-server-filesystem");
        server.push("@DIR@".into());
        compare("filesystem", mode, server);
    }
}

#[test]
fn modern_era_server_with_input_required_round_trip() {
    let server = vec![
        "python3".into(),
        repo()
            .join("tests/peers/modern_server.py")
            .display()
            .to_string(),
    ];
    compare("modern", "auto", server.clone());
    compare("modern", "legacy", server);
}
