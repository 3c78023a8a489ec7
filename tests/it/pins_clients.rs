//! Pins do not depend on which client connected first: server-everything lists 13 tools to
//! a client without optional capabilities and 17 to one that can be sampled, elicited and
//! asked for roots. The fuller client, coming second, must get all 17, none held back as
//! "added since it was pinned"; the lesser one, coming back, loses nothing.

use crate::common::*;
use std::process::Command;

/// The tool names the Python SDK client is shown through `mcpguard run` (default profile,
/// pins enforced), as a `bare` or `full` client.
fn listed(home: &std::path::Path, kind: &str) -> Vec<String> {
    let peers = peers();
    let output = Command::new("python3")
        .arg(repo().join("tests/peers/list_tools.py"))
        .args([kind, "--"])
        .arg(mcpguard())
        .args(["run", "--name", "everything", "--allow-read"])
        .arg(&peers)
        .arg("--")
        .args(node_bin("mcp-server-everything"))
        .env("PYTHONPATH", peers.join("py"))
        .env("MCPGUARD_HOME", home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{kind}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn a_fuller_client_after_a_lesser_one_gets_every_tool() {
    let home = tempfile::tempdir().unwrap();
    let bare = listed(home.path(), "bare");
    let full = listed(home.path(), "full");
    assert_eq!(bare.len(), 13, "{bare:?}");
    assert_eq!(full.len(), 17, "{full:?}");
    for name in [
        "trigger-sampling-request",
        "trigger-elicitation-request",
        "get-roots-list",
    ] {
        assert!(full.iter().any(|t| t == name), "{name} missing: {full:?}");
    }
    let (_, diff, _) = mcpguard_in(home.path(), &["pins", "diff", "--server", "everything"]);
    assert!(diff.contains("no pending changes"), "{diff}");
    // Back again in either order, each kind of client sees what it saw.
    assert_eq!(listed(home.path(), "bare"), bare);
    assert_eq!(listed(home.path(), "full"), full);
}
