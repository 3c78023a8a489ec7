//! Human approval of `prompt` calls, through the built binary with real peers: the Python
//! SDK client answering mcpguard's elicitation (legacy era, server-filesystem) and its
//! `input_required` round (2026-07-28 era, the project's modern server), attacks on the
//! sealed `requestState`, `mcpguard approve` from another process and in a real terminal,
//! the approval timeout while other calls go on, a client's cancel, `--call-timeout` not
//! counting the person's wait, "always" approvals, and the approval socket's owner checks.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MODERN: &str = "2026-07-28";

/// A profile extending `base` with `extra` (TOML lines), written in `dir`.
fn profile(dir: &Path, base: &str, extra: &str) -> String {
    let path = dir.join("approval-test.toml");
    std::fs::write(
        &path,
        format!("[profile]\nname = \"approval-test\"\nextends = \"{base}\"\n{extra}\n"),
    )
    .unwrap();
    path.display().to_string()
}

/// Runs `mcpguard ARGS` the way a person does: from a terminal of their own, neither
/// started by the agent (this test) nor in its session (`setsid -f`: a new session, and a
/// parent that exits at once). Returns (exit code, stdout, stderr).
fn as_person(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = (
        dir.path().join("out"),
        dir.path().join("err"),
        dir.path().join("code"),
    );
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let script = format!(
        "MCPGUARD_HOME='{}' '{}' {} > '{}' 2> '{}'; echo $? > '{}.tmp' && mv '{}.tmp' '{}'",
        home.display(),
        mcpguard().display(),
        quoted.join(" "),
        out.display(),
        err.display(),
        code.display(),
        code.display(),
        code.display()
    );
    let status = Command::new("setsid")
        .args(["-f", "sh", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let status = wait_for_file(&code);
    (
        status.trim().parse().ok(),
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default(),
    )
}

/// `mcpguard approve --watch --json` under `home`, run as a person (`as_person`): a running
/// approver whose output lists each new pending call.
struct Watcher {
    pid: i32,
    lines: std::sync::mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Watcher {
    fn start(home: &Path) -> Watcher {
        let dir = tempfile::tempdir().unwrap();
        let (out, pid_file) = (dir.path().join("out"), dir.path().join("pid"));
        std::fs::write(&out, "").unwrap();
        let script = format!(
            "echo $$ > '{}.tmp' && mv '{}.tmp' '{}'; MCPGUARD_HOME='{}' exec '{}' approve --watch --json >> '{}'",
            pid_file.display(),
            pid_file.display(),
            pid_file.display(),
            home.display(),
            mcpguard().display(),
            out.display()
        );
        assert!(
            Command::new("setsid")
                .args(["-f", "sh", "-c", &script])
                .status()
                .unwrap()
                .success()
        );
        let pid: i32 = wait_for_file(&pid_file).trim().parse().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = 0;
            loop {
                let text = std::fs::read_to_string(&out).unwrap_or_default();
                let complete: Vec<&str> = text
                    .split_inclusive('\n')
                    .filter(|l| l.ends_with('\n'))
                    .collect();
                for line in complete.iter().skip(seen) {
                    if tx.send(line.trim().to_owned()).is_err() {
                        return;
                    }
                }
                seen = seen.max(complete.len());
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        // The mark exists once the watcher runs.
        let run = home.join("run");
        let start = Instant::now();
        while !std::fs::read_dir(&run).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("approver-"))
        }) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the watcher did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Watcher {
            pid,
            lines,
            _dir: dir,
        }
    }

    /// The next pending call it reports.
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the watcher reported no pending call");
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects; the pid is the watcher's.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

/// A session of the fake server (one unannotated tool, `echo`: it needs approval under
/// `default`) whose client declares no elicitation.
fn echo_session(home: &Path, options: &[&str]) -> Guarded {
    let mut all = vec!["--name", "echoes"];
    all.extend_from_slice(options);
    if !all.contains(&"--profile") {
        all.extend(["--profile", "default"]);
    }
    let mut guard = Guarded::start_in(home, None, &all, &fake(&["normal"]), |_| {});
    guard.send_json(&initialize(json!(1)));
    answer(&guard, 1);
    guard.send_json(&request(json!(2), "tools/list", json!({})));
    answer(&guard, 2);
    guard
}

fn text_of(result: &Value) -> String {
    result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn records(home: &Path, event: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let audit = home.join("state/audit");
    for dir in std::fs::read_dir(&audit).unwrap().flatten() {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            for line in std::fs::read_to_string(file.path()).unwrap().lines() {
                let record: Value = serde_json::from_str(line).unwrap();
                if record["event"] == event {
                    found.push(record);
                }
            }
        }
    }
    found
}

#[test]
fn a_call_is_approved_from_another_process_while_the_relay_goes_on() {
    let home = tempfile::tempdir().unwrap();
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &[]);
    guard.send_json(&echo_call(json!(3), "held"));
    let pending = watcher.next();
    assert_eq!(
        (&pending["server"], &pending["tool"], &pending["shown"]),
        (
            &json!("echoes"),
            &json!("echo"),
            &json!([["text", "\"held\""]])
        )
    );
    assert_eq!(pending["rule"], "tools.destructive");
    // Held, not stuck: other requests are answered meanwhile.
    guard.send_json(&request(json!(4), "ping", json!({})));
    assert_eq!(answer(&guard, 4)["result"], json!({}));
    let (listed, out, _) = mcpguard_in(home.path(), &["approve", "--list", "--json"]);
    assert_eq!(listed, Some(0));
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["id"], pending["id"]);
    let id = pending["id"].as_str().unwrap();
    let (code, out, err) = as_person(home.path(), &["approve", id, "--allow"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), format!("allowed {id} (once)").as_str()),
        "{err}"
    );
    assert_eq!(text_of(&answer(&guard, 3)), "held");
    // Once means once: the same call asks again, and a deny reaches the model.
    guard.send_json(&echo_call(json!(5), "held"));
    let again = watcher.next();
    assert!(again["id"] != pending["id"]);
    let (code, _, _) = as_person(
        home.path(),
        &["approve", again["id"].as_str().unwrap(), "--deny"],
    );
    assert_eq!(code, Some(0));
    let denied = answer(&guard, 5);
    assert_eq!(denied["result"]["isError"], true);
    assert_eq!(
        denied["result"]["_meta"]["dev.mcpguard/decision"]["code"],
        "denied.approval"
    );
    assert!(
        text_of(&denied).contains("denied with mcpguard approve"),
        "{denied}"
    );
    // An answer to what is no longer pending is refused, and says so.
    let (code, _, err) = as_person(home.path(), &["approve", id, "--allow"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("no pending approval has id"), "{err}");
    guard.close_stdin();
    guard.wait();
    let answers = records(home.path(), "approval.answer");
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0]["decision"]["verdict"], "allow");
    let me = nix_uid();
    let approver = answers[0]["decision"]["approver"].as_str().unwrap();
    assert!(
        approver.starts_with(&format!("socket uid={me} pid=")) && approver.ends_with("/mcpguard"),
        "{approver}"
    );
    assert_eq!(answers[0]["detail"]["scope"], "once");
    assert_eq!(answers[1]["decision"]["verdict"], "deny");
    assert_eq!(records(home.path(), "approval.request").len(), 2);
    // The report counts them per tool, with the median wait.
    let (code, report, err) = mcpguard_in(home.path(), &["audit", "report"]);
    assert_eq!(code, Some(0), "{err}");
    let row: Vec<&str> = report
        .lines()
        .map(str::split_whitespace)
        .map(Iterator::collect::<Vec<&str>>)
        .find(|words| words.first() == Some(&"echo") && words.len() == 6)
        .unwrap_or_else(|| panic!("no approvals row for echo:\n{report}"));
    assert_eq!(&row[..5], &["echo", "2", "1", "1", "0"], "{report}");
    assert!(row[5].parse::<f64>().is_ok(), "{report}");
}

fn nix_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[test]
fn nobody_answering_is_a_denial_at_the_timeout_and_other_calls_go_on() {
    let home = tempfile::tempdir().unwrap();
    let profile = profile(home.path(), "default", "[tools]\napproval-timeout = \"2s\"");
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &["--profile", &profile]);
    let start = Instant::now();
    guard.send_json(&echo_call(json!(3), "nobody answers"));
    watcher.next();
    for n in 10..14 {
        guard.send_json(&request(json!(n), "tools/list", json!({})));
        assert!(answer(&guard, n)["result"]["tools"].is_array());
    }
    let denied = answer(&guard, 3);
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        denied["result"]["_meta"]["dev.mcpguard/decision"]["code"],
        "denied.approval_timeout"
    );
    let text = text_of(&denied);
    assert!(
        text.contains("nobody answered within 2s")
            && text.contains("mcpguard approve")
            && text.contains("tools.allow"),
        "{text}"
    );
    guard.close_stdin();
    guard.wait();
    let answers = records(home.path(), "approval.answer");
    assert_eq!(answers[0]["detail"]["outcome"], "timeout");
}

#[test]
fn a_client_cancel_withdraws_the_question_and_nothing_is_answered() {
    let home = tempfile::tempdir().unwrap();
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &[]);
    guard.send_json(&echo_call(json!(3), "cancelled"));
    let pending = watcher.next();
    guard.send_json(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3, "reason": "user"}}));
    guard.send_json(&request(json!(4), "ping", json!({})));
    // The ping's answer comes, and nothing for the cancelled call before it or after it.
    assert_eq!(answer(&guard, 4)["result"], json!({}));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let (_, out, _) = mcpguard_in(home.path(), &["approve", "--list", "--json"]);
        if out.trim() == "[]" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, out, _) = mcpguard_in(home.path(), &["approve", "--list", "--json"]);
    assert_eq!(out.trim(), "[]");
    let (code, _, err) = as_person(
        home.path(),
        &["approve", pending["id"].as_str().unwrap(), "--allow"],
    );
    assert_eq!(code, Some(125), "{err}");
    // Nothing for the cancelled call comes before the answer to a later request.
    guard.send_json(&request(json!(5), "ping", json!({})));
    loop {
        let message = guard.recv_json();
        assert!(
            message["id"] != json!(3),
            "the cancelled call was answered: {message}"
        );
        if message["id"] == json!(5) {
            break;
        }
    }
    guard.close_stdin();
    guard.wait();
    let answers = records(home.path(), "approval.answer");
    assert_eq!(answers[0]["detail"]["outcome"], "withdrawn");
}

#[test]
fn the_call_timeout_does_not_count_the_persons_wait() {
    let home = tempfile::tempdir().unwrap();
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &["--call-timeout", "1s"]);
    guard.send_json(&echo_call(json!(3), "slow person"));
    let pending = watcher.next();
    std::thread::sleep(Duration::from_millis(2500));
    let (code, _, _) = as_person(
        home.path(),
        &["approve", pending["id"].as_str().unwrap(), "--allow"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(text_of(&answer(&guard, 3)), "slow person");
    guard.close_stdin();
    guard.wait();
}

#[test]
fn session_and_always_approvals_are_bound_to_the_arguments() {
    let home = tempfile::tempdir().unwrap();
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &[]);
    // Session scope: the same arguments run without asking, others ask.
    guard.send_json(&echo_call(json!(3), "same"));
    let first = watcher.next();
    as_person(
        home.path(),
        &[
            "approve",
            first["id"].as_str().unwrap(),
            "--allow",
            "--scope",
            "session",
        ],
    );
    assert_eq!(text_of(&answer(&guard, 3)), "same");
    guard.send_json(&echo_call(json!(4), "same"));
    assert_eq!(text_of(&answer(&guard, 4)), "same");
    guard.send_json(&echo_call(json!(5), "other"));
    let other = watcher.next();
    assert_eq!(other["shown"], json!([["text", "\"other\""]]));
    // Always, with a pattern: written to the approvals file, used at once and by later sessions.
    let (code, _, err) = as_person(
        home.path(),
        &[
            "approve",
            other["id"].as_str().unwrap(),
            "--allow",
            "--scope",
            "always",
            "--pattern",
            "text=o*",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(text_of(&answer(&guard, 5)), "other");
    guard.send_json(&echo_call(json!(6), "onwards"));
    assert_eq!(text_of(&answer(&guard, 6)), "onwards");
    guard.send_json(&echo_call(json!(7), "not matching"));
    let asked = watcher.next();
    assert_eq!(asked["shown"], json!([["text", "\"not matching\""]]));
    as_person(
        home.path(),
        &["approve", asked["id"].as_str().unwrap(), "--deny"],
    );
    assert_eq!(answer(&guard, 7)["result"]["isError"], true);
    let (_, listed, _) = mcpguard_in(home.path(), &["approvals", "list"]);
    assert!(
        listed.starts_with("1  echoes › echo  text=o*  (by socket uid="),
        "{listed}"
    );
    let (code, out, _) = mcpguard_in(home.path(), &["approvals", "revoke", "1"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), "revoked 1 approval(s); 0 left")
    );
    guard.send_json(&echo_call(json!(8), "onwards"));
    watcher.next();
    guard.close_stdin();
    guard.wait();
}

#[test]
fn without_any_channel_the_denial_says_which_would_have_worked() {
    let home = tempfile::tempdir().unwrap();
    let mut guard = echo_session(home.path(), &[]);
    guard.send_json(&echo_call(json!(3), "nobody"));
    let denied = answer(&guard, 3);
    assert_eq!(
        denied["result"]["_meta"]["dev.mcpguard/decision"]["code"],
        "denied.prompt"
    );
    let text = text_of(&denied);
    for part in [
        "the client did not declare elicitation",
        "no `mcpguard approve` is running",
        "mcpguard has no controlling terminal",
        "tools.on-prompt = \"deny\"",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    guard.close_stdin();
    guard.wait();
}

/// Runs the Python SDK client script `approve_calls.py` and returns its document.
fn sdk_calls(mode: &str, calls: &[(&str, Value, &str)], server: &[String], home: &Path) -> Value {
    let peers = peers();
    let mut command = Command::new("python3");
    command
        .arg(repo().join("tests/peers/approve_calls.py"))
        .args(["--mode", mode]);
    for (tool, arguments, answer) in calls {
        command.args(["--call", tool, &arguments.to_string(), answer]);
    }
    let output = command
        .arg("--")
        .args(server)
        .env("PYTHONPATH", peers.join("py"))
        .env("MCPGUARD_HOME", home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "no document ({e}): {text}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn mcpguard_elicitations(call: &Value) -> usize {
    call["elicitations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("mcpguard: allow tool")
        })
        .count()
}

#[test]
fn the_sdk_client_approves_filesystem_writes_through_elicitation() {
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let ws = workspace.path().canonicalize().unwrap();
    let file = |name: &str| ws.join(name).display().to_string();
    let write = |name: &str, content: &str| json!({"path": file(name), "content": content});
    let mut server: Vec<String> = vec![
        mcpguard().display().to_string(),
        "run".into(),
        "--profile".into(),
        "filesystem".into(),
        "--workspace".into(),
        ws.display().to_string(),
        "--allow-write".into(),
        ws.display().to_string(),
        "--allow-read".into(),
        peers().display().to_string(),
        "--".into(),
    ];
    server.extend(node_bin("mcp-server-filesystem"));
    server.push(ws.display().to_string());
    let document = sdk_calls(
        "legacy",
        &[
            ("write_file", write("accepted.txt", "one"), "allow_once"),
            ("write_file", write("declined.txt", "two"), "decline"),
            ("write_file", write("cancelled.txt", "three"), "cancel"),
            ("write_file", write("denied.txt", "four"), "deny"),
            ("write_file", write("session.txt", "five"), "allow_session"),
            ("write_file", write("session.txt", "five"), "none"),
            ("write_file", write("session.txt", "six"), "allow_once"),
        ],
        &server,
        home.path(),
    );
    let calls = document["calls"].as_array().unwrap();
    let seen: Vec<(bool, usize)> = calls
        .iter()
        .map(|c| {
            (
                c["isError"].as_bool().unwrap_or(true),
                mcpguard_elicitations(c),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (false, 1),
            (true, 1),
            (true, 1),
            (true, 1),
            (false, 1),
            (false, 0),
            (false, 1)
        ],
        "{document:#}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("accepted.txt")).unwrap(),
        "one"
    );
    for refused in ["declined.txt", "cancelled.txt", "denied.txt"] {
        assert!(!ws.join(refused).exists(), "{refused} was written");
    }
    assert_eq!(
        std::fs::read_to_string(ws.join("session.txt")).unwrap(),
        "six"
    );
    assert!(
        calls[1]["text"].as_str().unwrap().contains("declined"),
        "{}",
        calls[1]
    );
    assert!(
        calls[2]["text"].as_str().unwrap().contains("dismissed"),
        "{}",
        calls[2]
    );
    let question = calls[0]["elicitations"][0]["message"].as_str().unwrap();
    assert!(
        question.contains("allow tool `write_file` on server `server-filesystem`")
            && question.contains(&format!("path: \"{}\"", file("accepted.txt")))
            && question.contains("content: \"one\"")
            && question.contains("Asked by rule tools.prompt:write_file"),
        "{question}"
    );
}

fn modern_server(home: &Path, extra_profile: &str) -> Vec<String> {
    let profile = profile(home, "default", extra_profile);
    vec![
        mcpguard().display().to_string(),
        "run".into(),
        "--profile".into(),
        profile,
        "--allow-read".into(),
        peers().display().to_string(),
        "--allow-read".into(),
        repo().join("tests").display().to_string(),
        "--env".into(),
        "PYTHONPATH".into(),
        "--".into(),
        "python3".into(),
        repo()
            .join("tests/peers/modern_server.py")
            .display()
            .to_string(),
    ]
}

#[test]
fn the_sdk_client_approves_a_modern_call_through_input_required() {
    let home = tempfile::tempdir().unwrap();
    let server = modern_server(home.path(), "");
    let x = json!({"path": "/x"});
    let document = sdk_calls(
        "auto",
        &[
            ("delete_item", x.clone(), "allow_once"),
            ("delete_item", x.clone(), "allow_session"),
            ("delete_item", x.clone(), "allow_once"),
            ("delete_item", json!({"path": "/y"}), "deny"),
        ],
        &server,
        home.path(),
    );
    assert_eq!(document["protocolVersion"], MODERN, "{document:#}");
    let calls = document["calls"].as_array().unwrap();
    let seen: Vec<(String, usize, usize)> = calls
        .iter()
        .map(|c| {
            (
                c["text"].as_str().unwrap_or_default().to_owned(),
                mcpguard_elicitations(c),
                c["elicitations"].as_array().unwrap().len(),
            )
        })
        .collect();
    // mcpguard asks first; the server's own question follows as a round of the same call.
    assert_eq!(
        seen,
        vec![
            ("deleted /x (test)".to_owned(), 1, 2),
            ("deleted /x (test)".to_owned(), 1, 2),
            ("deleted /x (test)".to_owned(), 0, 1),
            (
                "mcpguard: blocked: the call needed approval and the user denied it".to_owned(),
                1,
                1
            ),
        ],
        "{document:#}"
    );
    assert_eq!(calls[3]["isError"], true);
}

/// The `_meta` of a 2026-07-28 request from a client that can elicit.
fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    })
}

fn modern_request(id: i64, method: &str, mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    request(json!(id), method, params)
}

/// A session of the modern server driven by hand, its tools listed.
fn raw_modern(home: &Path, extra_profile: &str) -> Guarded {
    let server = modern_server(home, extra_profile);
    let run = server.iter().position(|a| a == "run").unwrap();
    let options: Vec<&str> = server[run + 1..server.iter().position(|a| a == "--").unwrap()]
        .iter()
        .map(String::as_str)
        .collect();
    let tail = server[server.iter().position(|a| a == "--").unwrap() + 1..].to_vec();
    let mut guard = Guarded::start_in(home, None, &options, &tail, |c| {
        c.env("PYTHONPATH", peers().join("py"));
    });
    guard.send_json(&modern_request(1, "tools/list", json!({})));
    assert!(answer(&guard, 1)["result"]["tools"].is_array());
    guard
}

/// Asks for `delete_item {path}` and returns mcpguard's requestState.
fn first_round(guard: &mut Guarded, id: i64, path: &str) -> String {
    guard.send_json(&modern_request(
        id,
        "tools/call",
        json!({"name": "delete_item", "arguments": {"path": path}}),
    ));
    let round = answer(guard, id);
    assert_eq!(round["result"]["resultType"], "input_required", "{round}");
    let question = &round["result"]["inputRequests"]["dev.mcpguard/confirm"];
    assert_eq!(question["method"], "elicitation/create");
    round["result"]["requestState"].as_str().unwrap().to_owned()
}

fn retry(guard: &mut Guarded, id: i64, path: &str, state: &str, decision: &str) -> Value {
    guard.send_json(&modern_request(
        id,
        "tools/call",
        json!({
            "name": "delete_item",
            "arguments": {"path": path},
            "inputResponses": {"dev.mcpguard/confirm": {"action": "accept", "content": {"decision": decision}}},
            "requestState": state,
        }),
    ));
    answer(guard, id)
}

fn refusal(result: &Value) -> String {
    assert_eq!(result["result"]["isError"], true, "{result}");
    assert_eq!(
        result["result"]["_meta"]["dev.mcpguard/decision"]["code"],
        "denied.approval"
    );
    text_of(result)
}

#[test]
fn a_forged_replayed_expired_or_retargeted_request_state_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let mut guard = raw_modern(home.path(), "[tools]\napproval-timeout = \"3s\"");
    // Forged: the seal does not hold (one character of the tag changed).
    let state = first_round(&mut guard, 10, "/a");
    let mut forged = state.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(
        refusal(&retry(&mut guard, 11, "/a", &forged, "allow_once"))
            .contains("not issued by this mcpguard")
    );
    // Retargeted: the approval of /a presented for /b.
    assert!(
        refusal(&retry(&mut guard, 12, "/b", &state, "allow_once"))
            .contains("not the one that was approved")
    );
    // The honest retry passes mcpguard (the server then asks its own question)...
    let state = first_round(&mut guard, 13, "/a");
    let passed = retry(&mut guard, 14, "/a", &state, "allow_once");
    assert_eq!(passed["result"]["resultType"], "input_required", "{passed}");
    let server_keys: Vec<&String> = passed["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(
        !server_keys.iter().any(|k| k.starts_with("dev.mcpguard")),
        "{passed}"
    );
    assert!(
        !passed["result"]["requestState"]
            .as_str()
            .unwrap()
            .starts_with("mcpguard1.")
    );
    // ...and once only.
    assert!(refusal(&retry(&mut guard, 15, "/a", &state, "allow_once")).contains("already used"));
    // The server's own round on the approved call goes through once, answered as the server
    // asked; presenting the server's state again is a new call, asked about again.
    let server_state = passed["result"]["requestState"]
        .as_str()
        .unwrap()
        .to_owned();
    let server_key = server_keys[0].clone();
    let round = |guard: &mut Guarded, id: i64| {
        guard.send_json(&modern_request(
            id,
            "tools/call",
            json!({
                "name": "delete_item",
                "arguments": {"path": "/a"},
                "inputResponses": {server_key.as_str(): {"action": "accept", "content": {"confirm": true, "reason": "r"}}},
                "requestState": server_state,
            }),
        ));
        answer(guard, id)
    };
    let done = round(&mut guard, 30);
    assert_eq!(text_of(&done), "deleted /a (r)", "{done}");
    let again = round(&mut guard, 31);
    assert!(
        again["result"]["inputRequests"]["dev.mcpguard/confirm"].is_object(),
        "a replayed server round skipped approval: {again}"
    );
    // A made-up state of the server's kind, with no approved call behind it, is asked about.
    guard.send_json(&modern_request(
        32,
        "tools/call",
        json!({"name": "delete_item", "arguments": {"path": "/c"}, "requestState": "v1.made-up"}),
    ));
    let asked = answer(&guard, 32);
    assert!(
        asked["result"]["inputRequests"]["dev.mcpguard/confirm"].is_object(),
        "{asked}"
    );
    // Expired.
    let state = first_round(&mut guard, 16, "/a");
    std::thread::sleep(Duration::from_millis(3500));
    assert!(refusal(&retry(&mut guard, 17, "/a", &state, "allow_once")).contains("expired"));
    // A state that never came from mcpguard but claims its prefix.
    assert!(
        refusal(&retry(
            &mut guard,
            18,
            "/a",
            "mcpguard1.e30.AAAA",
            "allow_once"
        ))
        .contains("not issued")
    );
    guard.close_stdin();
    guard.wait();
}

#[test]
fn another_uid_cannot_use_the_approval_socket() {
    // As root, the session's socket sits in a 0700 directory; opened up, the peer check
    // still refuses the unprivileged account.
    let home = tempfile::tempdir().unwrap();
    let guard = echo_session(home.path(), &[]);
    let run = home.path().join("run");
    let socket = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
        .expect("the session's socket");
    // The session may refuse before the request is written: the reply is read either way.
    let probe = "import socket,sys\ntry:\n s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\nexcept OSError as e:\n print('connect failed', e.errno); sys.exit(0)\ntry:\n s.sendall(b'{\"op\":\"list\"}\\n')\nexcept OSError:\n pass\nprint(s.makefile().readline().strip())";
    let as_user = |path: &Path| {
        let output = Command::new("setpriv")
            .args([
                "--reuid",
                "mcpguard-test",
                "--regid",
                "mcpguard-test",
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                probe,
            ])
            .arg(path)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    };
    assert_eq!(as_user(&socket), "connect failed 13");
    use std::os::unix::fs::PermissionsExt;
    for dir in [home.path(), run.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    let said = as_user(&socket);
    let reply: Value = serde_json::from_str(&said).unwrap_or_else(|e| panic!("{e}: {said}"));
    assert_eq!(reply["ok"], false);
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("only uid 0 may approve"),
        "{reply}"
    );
    assert!(reply.get("pending").is_none());
    drop(guard);
}

#[test]
fn root_cannot_approve_the_calls_of_an_unprivileged_session() {
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    std::process::Command::new("chown")
        .args(["-R", "mcpguard-test:mcpguard-test"])
        .arg(&home_path)
        .status()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut options: Vec<String> = vec![
        "--reuid".into(),
        "mcpguard-test".into(),
        "--regid".into(),
        "mcpguard-test".into(),
        "--clear-groups".into(),
        "env".into(),
        format!("MCPGUARD_HOME={}", home_path.display()),
        "HOME=/var/lib/mcpguard-test".into(),
        mcpguard().display().to_string(),
        "run".into(),
        "--profile".into(),
        "default".into(),
        "--allow-read".into(),
        repo().join("tests").display().to_string(),
        "--".into(),
    ];
    options.extend(fake(&["normal"]));
    let mut session = Command::new("setpriv")
        .args(&options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let run = home_path.join("run");
    let start = Instant::now();
    let socket = loop {
        let found = std::fs::read_dir(&run).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "sock"))
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the session's socket did not appear"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Command::new("python3")
        .args(["-c", "import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{\"op\":\"list\"}\\n'); print(s.makefile().readline().strip())"])
        .arg(&socket)
        .output()
        .unwrap();
    let reply: Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
    assert_eq!(reply["ok"], false, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("this connection is from uid 0"),
        "{reply}"
    );
    drop(session.stdin.take());
    session.wait().unwrap();
}

#[test]
fn the_sandboxed_server_cannot_reach_the_approval_sockets_or_the_approvals_file() {
    let home = tempfile::tempdir().unwrap();
    let guard = echo_session(home.path(), &[]);
    let socket = std::fs::read_dir(home.path().join("run"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
        .unwrap();
    // A second server, in its own sandbox, granted the whole directory that holds
    // mcpguard's files, tries the first session's socket by its path and plants an
    // "always" approval for the first session's tool.
    let approvals = home.path().join("config/approvals.toml");
    let probe = r#"import socket, sys, os
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b'{"op":"list"}\n')
    print("REACHED", s.makefile().readline(), file=sys.stderr)
except OSError as e:
    print("socket refused", e.errno, file=sys.stderr)
try:
    os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
    open(sys.argv[2], "w").write('[[approval]]\nserver = "echoes"\ntool = "echo"\ncreated = "x"\nby = "x"\n')
    print("PLANTED", file=sys.stderr)
except OSError as e:
    print("file refused", e.errno, file=sys.stderr)
"#;
    let output = Command::new(mcpguard())
        .env("MCPGUARD_HOME", home.path())
        .args([
            "run",
            "--name",
            "probe",
            "--profile",
            "default",
            "--allow-write",
        ])
        .arg(home.path())
        .args(["--", "python3", "-c", probe])
        .arg(&socket)
        .arg(&approvals)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("socket refused"), "{stderr}");
    assert!(stderr.contains("file refused"), "{stderr}");
    assert!(
        !stderr.contains("REACHED") && !stderr.contains("PLANTED"),
        "{stderr}"
    );
    assert!(!approvals.exists());
    // A grant inside mcpguard's own files is refused outright, naming why.
    let run = home.path().join("run").display().to_string();
    let (code, _, err) = mcpguard_in(home.path(), &["run", "--allow-read", &run, "--", "true"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("inside mcpguard's own files"), "{err}");
    drop(guard);
}

#[test]
fn the_agent_cannot_approve_its_own_calls() {
    // A shell tool of the agent, steered by a prompt injection, runs `mcpguard approve`:
    // it is the agent's child (this test started mcpguard), so its answer is not taken.
    let home = tempfile::tempdir().unwrap();
    let watcher = Watcher::start(home.path());
    let mut guard = echo_session(home.path(), &[]);
    guard.send_json(&echo_call(json!(3), "injected"));
    let pending = watcher.next();
    let id = pending["id"].as_str().unwrap();
    let (code, _, err) = mcpguard_in(
        home.path(),
        &["approve", id, "--allow", "--scope", "always"],
    );
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("started by the agent this session serves"),
        "{err}"
    );
    // Still waiting for the person, who says no.
    let (code, _, _) = as_person(home.path(), &["approve", id, "--deny"]);
    assert_eq!(code, Some(0));
    assert_eq!(answer(&guard, 3)["result"]["isError"], true);
    // The agent's own watcher does not count as a person watching: nothing waits for it.
    drop(watcher);
    let mut own_watcher = Command::new(mcpguard())
        .env("MCPGUARD_HOME", home.path())
        .args(["approve", "--watch", "--json"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mark = format!("approver-{}.lock", own_watcher.id());
    let start = Instant::now();
    while !home.path().join("run").join(&mark).exists() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    guard.send_json(&echo_call(json!(4), "injected"));
    let denied = answer(&guard, 4);
    assert!(
        text_of(&denied).contains("no `mcpguard approve` is running"),
        "{denied}"
    );
    let _ = own_watcher.kill();
    let _ = own_watcher.wait();
    guard.close_stdin();
    guard.wait();
    let always = std::fs::read_to_string(home.path().join("config/approvals.toml"));
    assert!(always.is_err(), "{always:?}");
}

#[test]
fn the_interactive_view_approves_and_denies_in_a_real_terminal() {
    let home = tempfile::tempdir().unwrap();
    let tmux_name = format!("mcpguard-approve-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &tmux_name])
            .args(args)
            .output()
            .expect("tmux (installed by tests/setup.sh)")
    };
    let command = format!(
        "MCPGUARD_HOME={} {} approve",
        home.path().display(),
        mcpguard().display()
    );
    let started = tmux(&["new-session", "-d", "-x", "160", "-y", "40", &command]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
    let wait_for = |text: &str| {
        let start = Instant::now();
        loop {
            let shown = screen();
            if shown.contains(text) {
                return shown;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{text:?} never showed:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("No call waits for approval");
    let mut guard = echo_session(home.path(), &[]);
    guard.send_json(&echo_call(json!(3), "from the view"));
    let shown = wait_for("1 call(s) wait for approval");
    assert!(
        shown.contains("echoes › echo") && shown.contains("text=\"from the view\""),
        "{shown}"
    );
    tmux(&["send-keys", "Enter"]);
    let shown = wait_for("Allow once");
    assert!(shown.contains("asked by tools.destructive"), "{shown}");
    tmux(&["send-keys", "Enter"]);
    assert_eq!(text_of(&answer(&guard, 3)), "from the view");
    wait_for("allowed ");
    // Deny: the fourth choice.
    guard.send_json(&echo_call(json!(4), "refuse me"));
    wait_for("text=\"refuse me\"");
    tmux(&["send-keys", "Enter"]);
    wait_for("Back to the list");
    tmux(&["send-keys", "Down", "Down", "Down", "Enter"]);
    let denied = answer(&guard, 4);
    assert_eq!(
        denied["result"]["_meta"]["dev.mcpguard/decision"]["code"],
        "denied.approval"
    );
    // Always, widened in the view: the field holds the exact value; edited to a glob.
    guard.send_json(&echo_call(json!(5), "from the view"));
    wait_for("1 call(s) wait for approval");
    tmux(&["send-keys", "Enter"]);
    wait_for("Back to the list");
    tmux(&["send-keys", "Down", "Down", "Enter"]);
    wait_for("text (glob)");
    for _ in 0.." the view".len() {
        tmux(&["send-keys", "BSpace"]);
    }
    tmux(&["send-keys", "-l", "*"]);
    tmux(&["send-keys", "Enter"]);
    assert_eq!(text_of(&answer(&guard, 5)), "from the view");
    guard.send_json(&echo_call(json!(6), "from anywhere"));
    assert_eq!(text_of(&answer(&guard, 6)), "from anywhere");
    let (_, listed, _) = mcpguard_in(home.path(), &["approvals", "list"]);
    assert!(listed.contains("echoes › echo  text=from*"), "{listed}");
    tmux(&["kill-server"]);
    guard.close_stdin();
    guard.wait();
}

#[test]
fn the_controlling_terminal_is_asked_when_nothing_else_can_be() {
    // mcpguard's stdin and stdout are pipes (the agent); `script` gives it a terminal of
    // its own, where the answer is typed.
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (to_guard, from_guard) = (dir.path().join("in"), dir.path().join("out"));
    for fifo in [&to_guard, &from_guard] {
        assert!(Command::new("mkfifo").arg(fifo).status().unwrap().success());
    }
    let profile = profile(home.path(), "default", "[tools]\napproval = [\"tty\"]");
    let inner = format!(
        "MCPGUARD_HOME={} {} run --name echoes --profile {profile} --allow-read {} -- {} < {} > {}",
        home.path().display(),
        mcpguard().display(),
        repo().join("tests").display(),
        fake(&["normal"]).join(" "),
        to_guard.display(),
        from_guard.display()
    );
    let mut script = Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut terminal_in = script.stdin.take().unwrap();
    let terminal_out = script.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let seen = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            use std::io::Read;
            let mut terminal_out = terminal_out;
            let mut chunk = [0u8; 4096];
            while let Ok(n) = terminal_out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
    }
    use std::io::{BufRead, Write};
    let mut agent_out = std::fs::OpenOptions::new()
        .write(true)
        .open(&to_guard)
        .unwrap();
    let mut agent_in = std::io::BufReader::new(std::fs::File::open(&from_guard).unwrap());
    let mut exchange = |message: Value, id: i64| -> Value {
        writeln!(agent_out, "{message}").unwrap();
        loop {
            let mut line = String::new();
            assert!(agent_in.read_line(&mut line).unwrap() > 0, "mcpguard ended");
            let value: Value = serde_json::from_str(&line).unwrap();
            if value["id"] == id {
                return value;
            }
        }
    };
    exchange(initialize(json!(1)), 1);
    exchange(request(json!(2), "tools/list", json!({})), 2);
    // The answer is typed once the question shows on the terminal.
    let typist = std::thread::spawn(move || {
        let start = Instant::now();
        while !seen.lock().unwrap().contains("[o] allow once") {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no question on the terminal"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let question = seen.lock().unwrap().clone();
        terminal_in.write_all(b"o\n").unwrap();
        (question, terminal_in)
    });
    let answered = exchange(echo_call(json!(3), "typed yes"), 3);
    let (question, terminal_in) = typist.join().unwrap();
    assert_eq!(text_of(&answered), "typed yes");
    assert!(
        question.contains("allow tool `echo` on server `echoes`")
            && question.contains("text: \"typed yes\""),
        "{question}"
    );
    drop(terminal_in);
    drop(agent_out);
    let _ = script.wait();
    let answers = records(home.path(), "approval.answer");
    assert_eq!(answers[0]["decision"]["approver"], "tty");
}
