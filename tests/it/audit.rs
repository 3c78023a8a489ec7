//! The audit trail of real sessions: records in order with the right fields, tamper
//! evidence, torn tails, concurrent sessions, secrets kept out, and the HTML report rendered
//! by a real browser.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn peers_grant() -> String {
    peers().display().to_string()
}

/// One session with server-everything: initialize, tools/list, an echo call, then EOF.
fn everything_session(home: &Path, name: &str, extra: &[&str], message: &str) -> String {
    let peers = peers_grant();
    let mut options = vec![
        "--name",
        name,
        "--allow-read",
        peers.as_str(),
        "--shutdown-grace",
        "300ms",
    ];
    options.extend_from_slice(extra);
    let mut guard = Guarded::start_in(
        home,
        None,
        &options,
        &node_bin("mcp-server-everything"),
        |_| {},
    );
    guard.send_json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"audit-test","version":"1.2"}}}));
    assert_eq!(guard.recv_json()["id"], json!(1));
    guard.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    guard.send_json(&json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}));
    loop {
        if guard.recv_json()["id"] == json!(2) {
            break;
        }
    }
    guard.send_json(&json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message": message}}}));
    loop {
        if guard.recv_json()["id"] == json!(3) {
            break;
        }
    }
    let (_, stderr) = guard.finish();
    stderr
}

fn records(home: &Path) -> Vec<Value> {
    let (code, stdout, stderr) = mcpguard_in(home, &["logs", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn chain_file(home: &Path, server: &str) -> PathBuf {
    let dir = home.join("state/audit").join(server);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn a_real_session_is_recorded_in_order_with_its_fields() {
    let home = tempfile::tempdir().unwrap();
    everything_session(home.path(), "everything", &[], "hello audit");
    let all = records(home.path());
    let events: Vec<&str> = all
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .filter(|e| *e != "sandbox")
        .collect();
    assert_eq!(
        events,
        vec![
            "session.start",
            "request",
            "response",
            "request",
            "response",
            "request",
            "response",
            "session.end"
        ]
    );
    for (i, record) in all.iter().enumerate() {
        assert_eq!(record["v"], json!(1));
        assert_eq!(record["seq"], json!(i as u64 + 1));
        assert_eq!(record["server"], json!("everything"));
        assert_eq!(record["profile"]["name"], json!("everything"));
        assert_eq!(record["hash"].as_str().unwrap().len(), 64);
    }
    let sandbox = all
        .iter()
        .find(|r| r["event"] == "sandbox")
        .expect("a sandbox record");
    assert_eq!(sandbox["detail"]["namespaces"], json!(true));
    assert_eq!(sandbox["detail"]["seccomp"], json!(true));
    let call = all
        .iter()
        .find(|r| r["event"] == "request" && r["tool"] == "echo")
        .unwrap();
    assert_eq!(call["method"], json!("tools/call"));
    assert_eq!(call["id"], json!(3));
    assert_eq!(
        call["client"],
        json!({"name": "audit-test", "version": "1.2"})
    );
    assert_eq!(call["args"]["value"], json!({"message": "hello audit"}));
    assert_eq!(call["decision"]["verdict"], json!("allow"));
    let answer = all
        .iter()
        .find(|r| r["event"] == "response" && r["tool"] == "echo")
        .unwrap();
    assert_eq!(answer["result"]["isError"], json!(false));
    assert!(answer["result"]["bytes"].as_u64().unwrap() > 20);
    assert!(answer["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        answer["result"]["payload"]["value"]["content"][0]["text"],
        json!("Echo: hello audit")
    );
    let end = all.last().unwrap();
    assert_eq!(end["event"], json!("session.end"));
    assert!(end["detail"]["exit_code"].is_u64());
    let (code, stdout, _) = mcpguard_in(home.path(), &["audit", "verify"]);
    assert_eq!(
        (code, stdout.trim()),
        (
            Some(0),
            format!("everything: ok, {} records", all.len()).as_str()
        )
    );
    let (code, table, _) = mcpguard_in(home.path(), &["logs", "--tool", "echo"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        table.lines().count(),
        3,
        "header, request and response:\n{table}"
    );
}

/// Copies the state, applies `tamper` to the chain file's lines, and returns verify's verdict.
fn verify_after(home: &Path, tamper: impl FnOnce(&mut Vec<String>)) -> (Option<i32>, String) {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(home.join("state"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let file = chain_file(copy.path(), "everything");
    let mut lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    tamper(&mut lines);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, stdout, _) = mcpguard_in(copy.path(), &["audit", "verify"]);
    (code, stdout)
}

#[test]
fn editing_deleting_or_reordering_a_record_breaks_verify_at_that_record() {
    let home = tempfile::tempdir().unwrap();
    everything_session(home.path(), "everything", &[], "original");
    let (code, stdout) = verify_after(home.path(), |lines| {
        lines[3] = lines[3].replacen("\"ts\":\"20", "\"ts\":\"19", 1)
    });
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(":4: its content does not match its hash"),
        "{stdout}"
    );
    let (code, stdout) = verify_after(home.path(), |lines| {
        lines.remove(2);
    });
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(":3: it does not follow record 2"),
        "{stdout}"
    );
    let (code, stdout) = verify_after(home.path(), |lines| lines.swap(4, 5));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(":5: it does not follow record 4"),
        "{stdout}"
    );
}

#[test]
fn a_torn_last_line_is_reported_and_the_next_session_continues_the_chain() {
    let home = tempfile::tempdir().unwrap();
    everything_session(home.path(), "everything", &[], "first");
    let file = chain_file(home.path(), "everything");
    let text = std::fs::read_to_string(&file).unwrap();
    let before = text.lines().count();
    std::fs::write(&file, &text[..text.len() - 40]).unwrap();
    let (code, stdout, _) = mcpguard_in(home.path(), &["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(":{before}")) && stdout.contains("torn record"),
        "{stdout}"
    );
    everything_session(home.path(), "everything", &[], "second");
    let (code, stdout, _) = mcpguard_in(home.path(), &["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("torn record") && stdout.contains("everything: ok"),
        "{stdout}"
    );
    let all = records(home.path());
    assert_eq!(
        all.iter().filter(|r| r["event"] == "session.start").count(),
        2
    );
}

#[test]
fn concurrent_sessions_on_one_server_share_one_valid_chain() {
    let home = tempfile::tempdir().unwrap();
    let peers = peers_grant();
    let run = |tag: &'static str| {
        let home = home.path().to_path_buf();
        let peers = peers.clone();
        std::thread::spawn(move || {
            let mut guard = Guarded::start_in(
                &home,
                None,
                &["--name", "shared", "--allow-read", &peers],
                &fake(&["normal"]),
                |_| {},
            );
            for i in 0..40 {
                guard.send_json(&echo_call(json!(i), tag));
                assert_eq!(guard.recv_json()["id"], json!(i));
            }
            guard.finish();
        })
    };
    let (a, b) = (run("a"), run("b"));
    a.join().unwrap();
    b.join().unwrap();
    let (code, stdout, _) = mcpguard_in(home.path(), &["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}");
    let all = records(home.path());
    // Per session: start, sandbox, 40 requests, 40 responses, end.
    assert_eq!(all.len(), 2 * 83, "{stdout}");
    assert!(stdout.contains("shared: ok, 166 records"), "{stdout}");
}

#[test]
fn injected_secrets_and_authorization_headers_never_reach_the_state_directory() {
    let home = tempfile::tempdir().unwrap();
    let mut guard = Guarded::start_in(
        home.path(),
        None,
        &[
            "--name",
            "secrets",
            "--env",
            "API_TOKEN=zq-injected-4711-secret",
        ],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{
            "text": "leaking zq-injected-4711-secret now",
            "headers": {"Authorization": "Bearer ya29.live-credential-9981"}
        }}}),
    );
    let reply = guard.recv_json();
    // The server itself did get the value (it was injected for it) and echoed it back.
    assert!(reply.to_string().contains("zq-injected-4711-secret"));
    guard.finish();
    let mut found = Vec::new();
    for entry in walk(home.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("zq-injected-4711-secret") || text.contains("ya29.live-credential-9981") {
            found.push(entry);
        }
    }
    assert_eq!(found, Vec::<PathBuf>::new(), "secrets written to disk");
    let all = records(home.path());
    let call = all.iter().find(|r| r["event"] == "request").unwrap();
    assert_eq!(
        call["args"]["value"]["headers"]["Authorization"],
        json!("[REDACTED]")
    );
    assert_eq!(
        call["args"]["value"]["text"],
        json!("leaking [REDACTED:API_TOKEN] now")
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let home = tempfile::tempdir().unwrap();
    everything_session(home.path(), "everything", &[], "for the report");
    let (code, text, stderr) = mcpguard_in(home.path(), &["audit", "report"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        text.contains("everything: 1 session(s)") && text.contains("echo"),
        "{text}"
    );
    let html = home.path().join("report.html");
    let (code, _, stderr) = mcpguard_in(
        home.path(),
        &["audit", "report", "--html", html.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stderr}");
    render_in_chromium(&html);
}

/// Renders the page `html` in headless Chromium: no console message, and a screenshot that
/// is not blank.
pub(crate) fn render_in_chromium(html: &Path) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let chromium = chromium
        .expect("chromium is not installed; tests/setup.sh installs Debian's chromium package");
    let profile = tempfile::tempdir().unwrap();
    let shot = profile.path().join("report.png");
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert_eq!(
        console,
        Vec::<&str>::new(),
        "console messages from the report page"
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let data = &pixels[..info.buffer_size()];
    let background = &data[..channels];
    let differing = data.chunks(channels).filter(|px| *px != background).count();
    let total = data.len() / channels;
    assert!(
        differing * 100 > total,
        "the screenshot is blank: {differing} of {total} pixels differ from the background"
    );
}

/// With `on-failure = "continue"` records go through a bounded queue to a writer thread:
/// a burst of calls sent without waiting (more than the queue holds) still leaves every
/// request and answer on the chain, the session's end last, and the chain verifies.
#[test]
fn a_queued_trail_loses_nothing_under_a_burst_of_calls() {
    const CALLS: usize = 600;
    let home = tempfile::tempdir().unwrap();
    let profile = profile_file(
        home.path(),
        "continue.toml",
        "[profile]\nname = \"queued\"\nextends = \"everything\"\n[audit]\non-failure = \"continue\"\n",
    );
    let mut guard = Guarded::start_in(
        home.path(),
        None,
        &["--name", "queued", "--profile", &profile],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(&initialize(json!("init")));
    assert_eq!(guard.recv_json()["id"], json!("init"));
    let mut burst = Vec::new();
    for n in 0..CALLS {
        let mut line = serde_json::to_vec(&echo_call(json!(n), "burst")).unwrap();
        line.push(b'\n');
        burst.extend_from_slice(&line);
    }
    guard.send(&burst);
    let mut answered: Vec<u64> = (0..CALLS)
        .map(|_| guard.recv_json()["id"].as_u64().unwrap())
        .collect();
    answered.sort_unstable();
    assert_eq!(answered, (0..CALLS as u64).collect::<Vec<_>>());
    // The records were written by the writer thread, not on the relay's.
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", guard.pid()))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(threads.iter().any(|t| t == "audit-writer"), "{threads:?}");
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0), "{stderr}");

    let all = records(home.path());
    let count = |event: &str, method: &str| {
        all.iter()
            .filter(|r| r["event"] == event && r["method"] == method)
            .count()
    };
    assert_eq!(
        (
            count("request", "tools/call"),
            count("response", "tools/call")
        ),
        (CALLS, CALLS)
    );
    assert_eq!(all.last().unwrap()["event"], json!("session.end"));
    let (code, stdout, stderr) = mcpguard_in(home.path(), &["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}
