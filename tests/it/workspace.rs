//! `${workspace}` is never a mystery: run without `--workspace`, the filesystem profile
//! says at start what the workspace is (the current directory) and how to name it, the dry
//! run shows it, a denial by a workspace rule names it (as the Python SDK client sees it),
//! and the session's first record holds it. From `/` the whole filesystem is the
//! workspace, and says so.

use crate::common::*;
use serde_json::Value;
use std::process::Command;

#[test]
fn the_workspace_is_stated_where_it_decides() {
    let peers = peers();
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let cwd = std::fs::canonicalize(cwd.path()).unwrap();
    let shown = cwd.display().to_string();
    let run_args = |extra: &[&str]| -> Vec<String> {
        let mut argv: Vec<String> = ["run", "--profile", "filesystem", "--allow-read"]
            .map(String::from)
            .to_vec();
        argv.push(peers.display().to_string());
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv.push("--".into());
        argv.extend(node_bin("mcp-server-filesystem"));
        argv.push("/tmp".into());
        argv
    };
    // From /, the whole filesystem.
    let root = Command::new(mcpguard())
        .current_dir("/")
        .env("MCPGUARD_HOME", home.path())
        .args(run_args(&["--dry-run"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&root.stderr);
    assert!(
        stderr.contains("the workspace is the current directory, / (the whole filesystem)"),
        "{stderr}"
    );
    // The dry run, from a project directory.
    let dry = Command::new(mcpguard())
        .current_dir(&cwd)
        .env("MCPGUARD_HOME", home.path())
        .args(run_args(&["--dry-run"]))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(
        stdout.contains(&format!("  workspace:       {shown}\n")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "profile filesystem speaks of ${{workspace}} and no --workspace was given: the \
             workspace is the current directory, {shown}; pass --workspace DIR"
        )),
        "{stderr}"
    );
    // What the model reads when a workspace rule denies a call.
    let mut guarded = vec![mcpguard().display().to_string()];
    guarded.extend(run_args(&["--name", "fs-from-root"]));
    let output = Command::new("python3")
        .current_dir(&cwd)
        .arg(repo().join("tests/peers/call_tool.py"))
        .args(["read_text_file", r#"{"path": "/tmp/notes.md"}"#, "--"])
        .args(&guarded)
        .env("PYTHONPATH", peers.join("py"))
        .env("MCPGUARD_HOME", home.path())
        .output()
        .unwrap();
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(seen["isError"], Value::Bool(true), "{seen}");
    assert!(
        seen["text"].as_str().unwrap().contains(&format!(
            "the path is outside the workspace (the workspace is {shown})"
        )),
        "{seen}"
    );
    // The session's first record says which workspace it ran with.
    let logged = mcpguard_in(home.path(), &["logs", "--json", "--server", "fs-from-root"]).1;
    let start: Value = logged
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == "session.start")
        .unwrap_or_else(|| panic!("{logged}"));
    assert_eq!(start["detail"]["workspace"], shown.as_str(), "{start}");
}
