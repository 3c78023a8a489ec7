//! Servers named after what they run: without `--name`, the package or script the command
//! starts names the server (its audit trail and pins), not the interpreter or launcher.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// The `server name:` line of a dry run of `command`.
fn dry_run_name(command: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut args = vec!["run", "--dry-run", "--"];
    args.extend_from_slice(command);
    let (code, stdout, stderr) = mcpguard_in(home.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("server name:"))
        .unwrap_or_else(|| panic!("no server name in {stdout}"))
        .trim()
        .to_owned()
}

#[test]
fn a_dry_run_names_the_server_after_its_package_or_script() {
    let filesystem =
        peers().join("node/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    let fake = repo().join("tests/fixtures/fake_server.py");
    let names: Vec<String> = [
        vec!["npx", "-y", "@modelcontextprotocol/server-memory"],
        vec!["node", filesystem.to_str().unwrap(), "/tmp"],
        vec!["python3", fake.to_str().unwrap(), "normal"],
    ]
    .iter()
    .map(|command| dry_run_name(command))
    .collect();
    assert_eq!(
        names,
        vec!["server-memory", "server-filesystem", "fake_server"]
    );
}

#[test]
fn a_session_records_and_shows_the_derived_name() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let peers = peers().display().to_string();
    let mut guard = Guarded::start_in(
        home,
        None,
        &["--allow-read", &peers, "--shutdown-grace", "300ms"],
        &node_bin("mcp-server-memory"),
        |_| {},
    );
    guard.send_json(&initialize(json!(1)));
    assert_eq!(guard.recv_json()["id"], json!(1));
    let (_, stderr) = guard.finish();
    let serving: Vec<&str> = stderr.lines().filter(|l| l.contains("serving")).collect();
    assert_eq!(
        serving,
        vec![
            "mcpguard: warning: serving server-memory (the name of its audit trail and pins, \
             derived from the command; --name sets another)"
        ]
    );
    let (code, stdout, stderr) = mcpguard_in(home, &["logs", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let start: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == "session.start")
        .unwrap();
    assert_eq!(start["server"], json!("server-memory"));
    assert!(home.join("state/audit/server-memory").is_dir());
}
