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

/// What a session on a disk that fills up after the tool list saw: the calls relayed
/// while the disk was full (records still fit into the slack of the trail's last page),
/// the reply to the first call refused and to the one after it, the reply once space came
/// back, the stderr and the trail.
struct Outage {
    relayed_while_full: Vec<String>,
    refused: Vec<Value>,
    after: Value,
    stderr: String,
    logged: String,
}

/// Most calls a full disk may take before records stop fitting into the slack of the
/// trail's last page (each record is some hundred bytes, a page is 4 KiB).
const SLACK_CALLS: usize = 40;

fn session_on_a_full_disk(profile_extra: &str) -> Outage {
    let relays_unrecorded = profile_extra.contains("continue");
    let mount = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(mount.path());
    let profile = profile_file(
        mount.path(),
        "p.toml",
        &format!("[profile]\nname = \"outage\"\nextends = \"everything\"\n{profile_extra}"),
    );
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
    let mut relayed_while_full = Vec::new();
    let mut refused = Vec::new();
    for n in 0..SLACK_CALLS {
        let id = format!("full-{n}");
        guard.send_json(&echo_call(json!(id), "while full"));
        let reply = answer(&guard, id.as_str());
        // Refused, or (with "continue") relayed once the trail has been failing: a record
        // of an answer may be the first to fail, so the stderr line alone does not say
        // that this call was refused.
        let failing = guard.stderr().contains("the audit trail cannot be written");
        if reply.get("error").is_some() || (relays_unrecorded && failing) {
            refused.push(reply);
            break;
        }
        relayed_while_full.push(id);
    }
    assert_eq!(refused.len(), 1, "{SLACK_CALLS} calls fit on the full disk");
    guard.send_json(&echo_call(json!("full-again"), "still full"));
    refused.push(answer(&guard, "full-again"));
    std::fs::remove_file(&filler).unwrap();
    guard.send_json(&echo_call(json!("after"), "third"));
    let after = answer(&guard, "after");
    let (_, stderr) = guard.finish();
    let logged = mcpguard_in(mount.path(), &["logs", "--json", "--server", "outage"]).1;
    let verified = mcpguard_in(mount.path(), &["audit", "verify"]);
    assert_eq!(verified.0, Some(0), "{verified:?}");
    drop(disk);
    Outage {
        relayed_while_full,
        refused,
        after,
        stderr,
        logged,
    }
}

#[test]
fn a_full_disk_refuses_calls_until_records_can_be_written_again() {
    let outage = session_on_a_full_disk("");
    for reply in &outage.refused {
        assert_eq!(
            reply["error"]["data"]["code"],
            json!("mcpguard.audit_unavailable"),
            "{reply}"
        );
        assert_eq!(reply["error"]["code"], json!(-31009), "{reply}");
    }
    assert_eq!(
        outage.after["result"]["content"][0]["text"],
        json!("third"),
        "{}",
        outage.after
    );
    let stderr = &outage.stderr;
    assert!(
        stderr.contains("the audit trail cannot be written")
            && stderr.contains("the audit trail is writable again"),
        "{stderr}"
    );
    let logged = &outage.logged;
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
    // Nothing relayed is missing from the trail: every call answered by the server is
    // there, and the refused ones never reached it.
    let mut expected = outage.relayed_while_full.clone();
    expected.push("after".into());
    let calls: Vec<&str> = records
        .iter()
        .filter(|r| r["event"] == json!("request") && r["method"] == json!("tools/call"))
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(calls, expected, "{logged}");
}

#[test]
fn on_failure_continue_relays_unrecorded_calls_and_says_so() {
    let outage = session_on_a_full_disk("[audit]\non-failure = \"continue\"\n");
    for reply in outage.refused.iter().chain([&outage.after]) {
        assert!(reply["result"]["content"][0]["text"].is_string(), "{reply}");
    }
    assert!(
        outage
            .stderr
            .contains("requests are relayed unrecorded (audit.on-failure = \"continue\")"),
        "{}",
        outage.stderr
    );
    assert!(
        outage.logged.contains("\"event\":\"audit.resumed\""),
        "{}",
        outage.logged
    );
}

/// Connects to 127.0.0.1:PORT (the host's, through the egress filter) each time the test
/// asks, and writes down whether an HTTP answer came back.
const CONNECT_ON_CUE: &str = r#"
import os, socket, sys, time
folder, port = sys.argv[1], int(sys.argv[2])
for n in range(64):
    while not os.path.exists(f"{folder}/go-{n}"):
        time.sleep(0.02)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /cue HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = s.recv(4096)
        found = "answered" if data.startswith(b"HTTP/1.1 200") else f"closed {data[:30]!r}"
    except OSError as e:
        found = f"error {e}"
    with open(f"{folder}/found-{n}.tmp", "w") as f:
        f.write(found)
    os.rename(f"{folder}/found-{n}.tmp", f"{folder}/found-{n}")
time.sleep(3600)
"#;

#[test]
fn a_full_disk_refuses_allowed_connections_until_they_can_be_recorded() {
    // The host's side: answers every request with 200.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let mount = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(mount.path());
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("connect.py");
    std::fs::write(&script, CONNECT_ON_CUE).unwrap();
    let folder = work.path().display().to_string();
    let host = format!("127.0.0.1:{port}");
    let guard = Guarded::start_in(
        mount.path(),
        None,
        &[
            "--name",
            "egress-outage",
            "--allow-host",
            &host,
            "--allow-write",
            &folder,
        ],
        &[
            "python3".into(),
            script.display().to_string(),
            folder.clone(),
            port.to_string(),
        ],
        |_| {},
    );
    let attempt = |n: usize| {
        std::fs::write(work.path().join(format!("go-{n}")), "").unwrap();
        wait_for_file(&work.path().join(format!("found-{n}")))
    };
    assert_eq!(attempt(0), "answered", "{}", guard.stderr());
    let filler = disk.fill();
    // Records may still fit in the slack of the trail's last page for a while; every
    // connection answered meanwhile must be on the trail, and then they stop.
    let mut answered = 1;
    let mut refused = None;
    for n in 1..60 {
        let found = attempt(n);
        if found == "answered" {
            answered += 1;
            continue;
        }
        // Refused as any connection is: a 403 where the protocol has one.
        assert!(
            found.starts_with("closed b'HTTP/1.1 403 Forbidden"),
            "{found}"
        );
        refused = Some(n);
        break;
    }
    let refused = refused.expect("60 connections were relayed on a full disk");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(attempt(refused + 1), "answered", "{}", guard.stderr());
    answered += 1;
    let (_, stderr) = guard.finish();
    assert!(
        stderr.contains("the audit trail cannot be written, so no connection is relayed"),
        "{stderr}"
    );
    let logged = mcpguard_in(
        mount.path(),
        &["logs", "--json", "--server", "egress-outage"],
    )
    .1;
    let allowed = logged
        .lines()
        .filter(|l| l.contains("\"event\":\"network\"") && l.contains("\"verdict\":\"allow\""))
        .count();
    assert_eq!(allowed, answered, "{logged}");
    assert!(logged.contains("\"event\":\"audit.resumed\""), "{logged}");
    drop(disk);
}
