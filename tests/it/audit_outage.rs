//! The audit trail fails closed: with the state directory on a full disk (a small tmpfs,
//! filled by the test), requests are refused until a record can be written again, and the
//! gap itself is on the trail. Root only: mounting the tmpfs needs it (CI runs as root).

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A 2 MiB tmpfs on `dir`, unmounted on drop.
struct SmallDisk<'a>(&'a Path);

impl<'a> SmallDisk<'a> {
    fn mount(dir: &'a Path) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        SmallDisk(dir)
    }

    /// Fills the disk to the last byte with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        // Bounded by the tmpfs size: at most 2 MiB are written.
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&[0u8]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

fn answer(guard: &Guarded, id: &str) -> Value {
    loop {
        let message = guard.recv_json();
        if message["id"] == json!(id) && message.get("method").is_none() {
            return message;
        }
    }
}

/// Runs a session on a disk that fills up after the tool list; returns the replies to two
/// calls made while it is full, one made after space came back, the stderr and the trail.
fn session_on_a_full_disk(profile_extra: &str) -> (Value, Value, Value, String, String) {
    let mount = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(mount.path());
    let profile = mount.path().join("p.toml");
    std::fs::write(
        &profile,
        format!("[profile]\nname = \"outage\"\nextends = \"everything\"\n{profile_extra}"),
    )
    .unwrap();
    let profile = profile.display().to_string();
    let mut guard = Guarded::start_in(
        mount.path(),
        None,
        &["--name", "outage", "--profile", &profile],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(&initialize(json!("init")));
    answer(&guard, "init");
    guard.send_json(&request(json!("list"), "tools/list", json!({})));
    answer(&guard, "list");
    let filler = disk.fill();
    guard.send_json(&echo_call(json!("full-1"), "first"));
    let first = answer(&guard, "full-1");
    guard.send_json(&echo_call(json!("full-2"), "second"));
    let second = answer(&guard, "full-2");
    std::fs::remove_file(&filler).unwrap();
    guard.send_json(&echo_call(json!("after"), "third"));
    let after = answer(&guard, "after");
    let (_, stderr) = guard.finish();
    let logged = mcpguard_in(mount.path(), &["logs", "--json", "--server", "outage"]).1;
    let verified = mcpguard_in(mount.path(), &["audit", "verify"]);
    assert_eq!(verified.0, Some(0), "{verified:?}");
    drop(disk);
    (first, second, after, stderr, logged)
}

#[test]
fn a_full_disk_refuses_calls_until_records_can_be_written_again() {
    let (first, second, after, stderr, logged) = session_on_a_full_disk("");
    for reply in [&first, &second] {
        assert_eq!(
            reply["error"]["data"]["code"],
            json!("mcpguard.audit_unavailable"),
            "{reply}"
        );
        assert_eq!(reply["error"]["code"], json!(-31009), "{reply}");
    }
    assert_eq!(
        after["result"]["content"][0]["text"],
        json!("third"),
        "{after}"
    );
    assert!(
        stderr.contains("the audit trail cannot be written")
            && stderr.contains("the audit trail is writable again"),
        "{stderr}"
    );
    let records: Vec<Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let resumed = records
        .iter()
        .find(|r| r["event"] == json!("audit.resumed"))
        .unwrap_or_else(|| panic!("no audit.resumed record: {logged}"));
    assert!(
        resumed["detail"]["lost"].as_u64().unwrap() >= 2,
        "{resumed}"
    );
    // Nothing relayed is missing from the trail: the call made after the outage is there,
    // the refused ones never reached the server.
    let calls: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == json!("request") && r["method"] == json!("tools/call"))
        .collect();
    assert_eq!(calls.len(), 1, "{logged}");
    assert_eq!(calls[0]["id"], json!("after"));
}

#[test]
fn on_failure_continue_relays_unrecorded_calls_and_says_so() {
    let (first, second, after, stderr, logged) =
        session_on_a_full_disk("[audit]\non-failure = \"continue\"\n");
    for (reply, text) in [(&first, "first"), (&second, "second"), (&after, "third")] {
        assert_eq!(
            reply["result"]["content"][0]["text"],
            json!(text),
            "{reply}"
        );
    }
    assert!(
        stderr.contains("requests are relayed unrecorded (audit.on-failure = \"continue\")"),
        "{stderr}"
    );
    assert!(logged.contains("\"event\":\"audit.resumed\""), "{logged}");
}
