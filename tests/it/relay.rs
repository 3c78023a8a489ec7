//! The relay against the fake server: only misbehaviour no real peer shows (junk on stdout,
//! huge and fragmented lines, crashes, silence), plus byte-exactness in both directions.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn error_code(reply: &Value) -> &str {
    reply["error"]["data"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an mcpguard error: {reply}"))
}

#[test]
fn client_to_server_bytes_arrive_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("received");
    let mut guard = Guarded::start(
        &["--allow-write", dir.path().to_str().unwrap()],
        &fake(&["record", record.to_str().unwrap()]),
    );
    let lines: Vec<&[u8]> = vec![
        b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\"}}\n",
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r\n",
        b"  {  \"id\" : \"0\" , \"jsonrpc\" : \"2.0\", \"method\":\"ping\" , \"x-extra\": [1, 2.50, 1e3] }\n",
        "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"h\u{e9}llo \\u00e9 \u{1F600} \\\"q\\\"\"}}}\n".as_bytes(),
        b"[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}\n",
    ];
    for line in &lines {
        guard.send(line);
    }
    // The last ping's answer proves everything before it was forwarded.
    loop {
        if guard.recv_json()["id"] == json!(8) {
            break;
        }
    }
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&record).unwrap()),
        String::from_utf8_lossy(&lines.concat())
    );
}

#[test]
fn server_to_client_bytes_arrive_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script");
    let lines: Vec<&[u8]> = vec![
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"\xc3\xa9 \\u0000 \xf0\x9f\x98\x80\"}}\n",
        b"{ \"jsonrpc\" : \"2.0\" , \"id\" : 0 , \"method\" : \"roots/list\" }\r\n",
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1.0,\"progress\":0.5e1}}\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[],\"maxTokens\":10}}\n",
    ];
    std::fs::write(&script, lines.concat()).unwrap();
    let mut guard = Guarded::start(
        &["--allow-read", dir.path().to_str().unwrap()],
        &fake(&["script", script.to_str().unwrap()]),
    );
    guard.send_json(&request(json!(1), "ping", json!({})));
    let received: Vec<Vec<u8>> = (0..lines.len()).map(|_| guard.recv()).collect();
    assert_eq!(
        received,
        lines.iter().map(|l| l.to_vec()).collect::<Vec<_>>()
    );
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":1,"result":{}})
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn junk_on_server_stdout_goes_to_stderr_not_the_client() {
    let mut guard = Guarded::start(&[], &fake(&["junk"]));
    guard.send_json(&echo_call(json!(1), "after junk"));
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"after junk"}]}})
    );
    guard.send_json(&echo_call(json!(2), "still relaying"));
    assert_eq!(guard.recv_json()["id"], json!(2));
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert_eq!(
        stderr.matches("not a relayable MCP message").count(),
        4,
        "{stderr}"
    );
    assert!(stderr.contains("this is not json: banner"), "{stderr}");
}

#[test]
fn a_20_mib_answer_is_relayed_whole_when_the_cap_allows_it() {
    let mut guard = Guarded::start(&["--max-message", "32MiB"], &fake(&["big", "20971520"]));
    guard.send_json(&echo_call(json!("big"), "x"));
    let line = guard.recv();
    assert!(line.len() > 20 * 1024 * 1024);
    let reply: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(reply["id"], json!("big"));
    assert_eq!(
        reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .len(),
        20971520
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn the_memory_of_large_messages_goes_back_once_they_are_relayed() {
    let anon_kib = |pid: i32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let mut guard = Guarded::start(&["--max-message", "32MiB"], &fake(&["big", "20971520"]));
    // A 20 MiB answer first, then calls that carry 10 MiB each way in: once a large block
    // was freed, the allocator would keep the next ones (smaller) for itself.
    let ten = "y".repeat(10 << 20);
    for (id, text) in [(0, "x"), (1, ten.as_str()), (2, ten.as_str())] {
        guard.send_json(&echo_call(json!(id), text));
        assert!(guard.recv().len() > 20 * 1024 * 1024);
        // The answer's record is written after the answer is delivered, and before anything
        // the client sends next: once a ping is answered, the big answer's record is done.
        guard.send_json(&json!({"jsonrpc": "2.0", "id": format!("ping-{id}"), "method": "ping"}));
        assert_eq!(guard.recv_json()["id"], json!(format!("ping-{id}")));
        // A long session does not stay at the size of its largest messages.
        let anon = anon_kib(guard.pid());
        assert!(
            anon < 8 * 1024,
            "after call {id}, mcpguard still holds {anon} KiB of anonymous memory"
        );
    }
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn an_oversize_answer_becomes_an_error_and_the_relay_goes_on() {
    let mut guard = Guarded::start(&[], &fake(&["big", "20971520"]));
    guard.send_json(&echo_call(json!(5), "x"));
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(5), "mcpguard.message_too_large")
    );
    guard.send_json(&request(json!(6), "ping", json!({})));
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":6,"result":{}})
    );
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("larger than the 16777216 byte limit"),
        "{stderr}"
    );
}

#[test]
fn a_line_split_across_many_reads_is_reassembled() {
    let mut guard = Guarded::start(&[], &fake(&["split", "3"]));
    guard.send_json(&initialize(json!(0)));
    assert_eq!(
        guard.recv_json()["result"]["serverInfo"],
        json!({"name":"fake","version":"1"})
    );
    guard.send_json(&echo_call(json!(1), "fragmented"));
    assert_eq!(
        guard.recv_json()["result"]["content"][0]["text"],
        json!("fragmented")
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn a_crash_mid_request_answers_the_pending_request_and_keeps_the_exit_code() {
    let mut guard = Guarded::start(&[], &fake(&["crash"]));
    guard.send_json(&request(json!(1), "ping", json!({})));
    assert_eq!(guard.recv_json()["id"], json!(1));
    guard.send_json(&echo_call(json!("c"), "boom"));
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!("c"), "mcpguard.server_exited")
    );
    guard.expect_stdout_closed();
    assert_eq!(guard.wait().code(), Some(3));
}

#[test]
fn a_silent_server_gets_a_timeout_error_and_a_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let cancel_log = dir.path().join("cancelled");
    let mut guard = Guarded::start(
        &[
            "--call-timeout",
            "300ms",
            "--allow-write",
            dir.path().to_str().unwrap(),
        ],
        &fake(&["silent", "--cancel-log", cancel_log.to_str().unwrap()]),
    );
    guard.send_json(&echo_call(json!(9), "hello?"));
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(9), "mcpguard.timeout")
    );
    assert_eq!(reply["error"]["code"], json!(-31004));
    let cancelled: Value = serde_json::from_str(wait_for_file(&cancel_log).trim()).unwrap();
    assert_eq!(
        cancelled,
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9,"reason":"mcpguard: call timed out"}})
    );
    guard.send_json(&request(json!(10), "ping", json!({})));
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":10,"result":{}})
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn bad_client_input_is_answered_and_nothing_else_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("received");
    let mut guard = Guarded::start(
        &[
            "--max-message",
            "1KiB",
            "--allow-write",
            dir.path().to_str().unwrap(),
        ],
        &fake(&["record", record.to_str().unwrap()]),
    );
    guard.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",}\n");
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(1), "mcpguard.malformed")
    );
    guard.send(b"{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"tools/call\",\"params\":{\"name\":\"\xff\"}}\n");
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!("u"), "mcpguard.invalid_utf8")
    );
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":\"{}\"}}}}}}\n",
        "a".repeat(4000)
    );
    guard.send(big.as_bytes());
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(3), "mcpguard.message_too_large")
    );
    guard.send(
        b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"method\":\"tools/call\"}\n",
    );
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(4), "mcpguard.malformed")
    );
    guard.send(b"garbage without an id\n");
    let good = b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n";
    guard.send(good);
    let reply = guard.recv_json();
    assert_eq!(
        reply,
        json!({"jsonrpc":"2.0","id":5,"result":{}}),
        "{}",
        guard.stderr()
    );
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("dropped a client message with no readable id"),
        "{stderr}"
    );
    // Only the valid request reached the server.
    assert_eq!(std::fs::read(&record).unwrap(), good.to_vec());
}

#[test]
fn server_requests_with_colliding_ids_round_trip() {
    let mut guard = Guarded::start(&[], &fake(&["server-request"]));
    guard.send_json(&initialize(json!(0)));
    assert_eq!(guard.recv_json()["id"], json!(0));
    guard.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":0,"method":"roots/list"})
    );
    guard.send_json(&request(json!(0), "ping", json!({})));
    guard.send(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"roots\":[]}}\n");
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":0,"result":{}})
    );
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains(
            "fake: got roots response {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"roots\":[]}}"
        ),
        "{stderr}"
    );
}

#[test]
fn a_batch_is_inspected_element_by_element() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("received");
    let mut guard = Guarded::start(
        &["--allow-write", dir.path().to_str().unwrap()],
        &fake(&["record", record.to_str().unwrap()]),
    );
    guard.send(b"[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"x\",\"method\":\"y\"},7]\n");
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!(6), "mcpguard.malformed")
    );
    guard.send(b"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}\n");
    assert_eq!(guard.recv_json()["id"], json!(8));
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("dropped a client message with no readable id"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8(std::fs::read(&record).unwrap()).unwrap(),
        "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}]\n{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}\n"
    );
}

#[test]
fn an_unreadable_client_answer_is_reported_to_the_server_that_asked() {
    let mut guard = Guarded::start(&[], &fake(&["server-request"]));
    guard.send_json(&initialize(json!(0)));
    assert_eq!(guard.recv_json()["id"], json!(0));
    guard.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    assert_eq!(guard.recv_json()["method"], json!("roots/list"));
    guard.send(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"roots\":[{\"name\":\"\xff\"}]}}\n");
    guard.send_json(&request(json!(1), "ping", json!({})));
    // The client gets only its own answer, not an error under the server's id.
    assert_eq!(
        guard.recv_json(),
        json!({"jsonrpc":"2.0","id":1,"result":{}})
    );
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains(
            "fake: got roots response {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-31003,"
        ),
        "{stderr}"
    );
}

#[test]
fn an_oversize_request_with_its_id_written_last_is_still_answered() {
    let mut guard = Guarded::start(&["--max-message", "4KiB"], &fake(&["normal"]));
    let text = "p".repeat(20_000);
    guard.send(format!("{{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":\"{text}\"}}}},\"id\":\"last\"}}\n").as_bytes());
    let reply = guard.recv_json();
    assert_eq!(
        (reply["id"].clone(), error_code(&reply)),
        (json!("last"), "mcpguard.message_too_large")
    );
    assert_eq!(guard.finish().0, Some(0));
}

#[test]
fn a_server_that_stops_reading_cannot_grow_mcpguard_without_bound() {
    // The server never reads its stdin; the client keeps writing 1 MiB requests. mcpguard
    // must hold at most its byte budget and push back on the client instead of buffering all.
    let mut guard = Guarded::start(
        &["--max-message", "2MiB"],
        &["sleep".to_string(), "30".to_string()],
    );
    let pid = guard.pid();
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\",\"params\":{{\"p\":\"{}\"}}}}\n",
        "q".repeat(1 << 20)
    );
    let mut stdin = guard.take_stdin();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..64 {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    // Anonymous memory is what buffering takes; the pages of the (debug) binary itself are
    // file-backed and say nothing about it.
    let rss_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !writer.is_finished(),
        "64 MiB were accepted although nobody reads them"
    );
    assert!(rss_kib < 24 * 1024, "mcpguard holds {rss_kib} KiB");
    // SAFETY: kill(2) takes plain integers and touches no memory.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = writer.join();
}

/// Reads two messages sent as two packets on a SOCK_SEQPACKET stdin before mcpguard reads
/// either: each read returns one packet, shorter than the buffer, with the next one still
/// waiting, so a short read must not be taken for "nothing left" there.
const SEQPACKET_CLIENT: &str = r#"
import json, os, select, socket, subprocess, sys
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
guard = subprocess.Popen(sys.argv[1:], stdin=theirs.fileno(), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=os.environ)
theirs.close()
init = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
ours.send((json.dumps(init) + "\n").encode())
answers, pending = [], b""
def read_answers(want):
    global pending
    while len(answers) < want:
        ready, _, _ = select.select([guard.stdout], [], [], 10)
        if not ready:
            return
        chunk = os.read(guard.stdout.fileno(), 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        answers.extend(json.loads(l)["id"] for l in lines if l.strip())
read_answers(1)
# Two packets at once, before mcpguard reads either.
ours.send(b'{"jsonrpc":"2.0","id":"a","method":"ping"}\n')
ours.send(b'{"jsonrpc":"2.0","id":"b","method":"ping"}\n')
read_answers(3)
print(json.dumps(answers))
ours.close()
guard.wait(timeout=30)
"#;

#[test]
fn packets_on_a_seqpacket_stdin_are_each_relayed_without_waiting_for_more() {
    let home = tempfile::tempdir().unwrap();
    let fixtures = repo().join("tests");
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(SEQPACKET_CLIENT)
        .arg(mcpguard())
        .args(["run", "--allow-read"])
        .arg(&fixtures)
        .args(["--profile", "everything", "--"])
        .args(fake(&["normal"]))
        .env("MCPGUARD_HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    assert_eq!(
        answers,
        json!(["init", "a", "b"]),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
