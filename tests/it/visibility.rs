//! The command's own paths that the view will not show are named before anything fails,
//! with the grant that shows them: in `--dry-run` and at the start of a run.

use crate::common::*;
use std::process::Command;

#[test]
fn a_script_outside_every_grant_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = std::fs::canonicalize(dir.path()).unwrap().join("srv");
    std::fs::create_dir_all(&server_dir).unwrap();
    let script = server_dir.join("server.js");
    std::fs::write(&script, "console.error('the server ran');\n").unwrap();
    let (script, grant) = (
        script.display().to_string(),
        server_dir.display().to_string(),
    );
    let home = tempfile::tempdir().unwrap();
    let dry = |extra: &[&str]| {
        Command::new(mcpguard())
            .env("MCPGUARD_HOME", home.path())
            .args(["run", "--dry-run"])
            .args(extra)
            .args(["--", "node", &script])
            .output()
            .unwrap()
    };
    let hidden = dry(&[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&hidden.stdout),
        String::from_utf8_lossy(&hidden.stderr),
    );
    assert_eq!(hidden.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("not visible:     {script} (--allow-read {grant})")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "{script} exists on this machine but is not visible inside the sandbox; add \
             --allow-read {grant}"
        )),
        "{stderr}"
    );
    // Granted, it is visible: nothing to say.
    let granted = dry(&["--allow-read", &grant]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&granted.stdout),
        String::from_utf8_lossy(&granted.stderr)
    );
    assert!(!all.contains("not visible"), "{all}");
    // A real run says it at start, before the runtime fails in its own words.
    let (code, stderr) = run_holding_stdin(
        Command::new(mcpguard())
            .env("MCPGUARD_HOME", home.path())
            .args(["run", "--", "node", &script]),
    );
    assert_ne!(code, Some(0), "{stderr}");
    let warned = stderr
        .find("is not visible inside the sandbox")
        .unwrap_or_else(|| panic!("{stderr}"));
    let failed = stderr.find("Cannot find module").unwrap_or(usize::MAX);
    assert!(warned < failed, "{stderr}");
    assert!(!stderr.contains("the server ran"), "{stderr}");
    // The client's initialize is answered with the likely cause and its fix.
    let mut guard = Guarded::start(&[], &["node".to_owned(), script.clone()]);
    guard.send_json(&initialize(serde_json::json!(0)));
    let reply = answer(&guard, 0);
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "likely cause: {script} is not visible inside the sandbox (--allow-read {grant} shows it)"
        )),
        "{reply}"
    );
}
