//! The user's terminal and log stay the user's: the server gets neither (its stderr is a
//! pipe mcpguard relays, escaped and prefixed; it has no controlling terminal), and nothing
//! a server or a model names reaches a terminal raw, in any command or diagnostic.
//!
//! A hostile server is played by tests/fixtures/fake_server.py (`tty-probe`: it looks at
//! every descriptor it holds, opens /dev/tty, switches echo off, truncates its stderr and
//! writes escape sequences) and (`tools-from`) lists tools whose names carry ESC, CR and LF.

use crate::common::*;
use crate::sandbox::{Who, test_user};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the probe writes to its stderr, and how mcpguard must show it.
const PROBE_RAW: &str = "probe \u{1b}]52;c;aGVsbG8=\u{7} clipboard\rforged line\u{1b}[2J";
const PROBE_SHOWN: &str = "[tty-probe] probe \\e]52;c;aGVsbG8=\\x07 clipboard\\rforged line\\e[2J";

/// A directory `who` can use: copies of mcpguard and the fake server, mcpguard's state, a
/// home, and `out`, the only place the server may write (its findings).
struct Stage {
    dir: tempfile::TempDir,
    who: Who,
    bin: PathBuf,
    fake: PathBuf,
    state: PathBuf,
    home: PathBuf,
    out: PathBuf,
}

impl Stage {
    fn new(who: Who) -> Stage {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let tools = dir.path().join("tools");
        let (state, home, out) = (
            dir.path().join("state"),
            dir.path().join("home"),
            dir.path().join("out"),
        );
        for d in [&tools, &state, &home, &out] {
            std::fs::create_dir_all(d).unwrap();
        }
        // Copies the user can reach (the build tree may not be).
        let bin = reachable_mcpguard();
        let fake = tools.join("fake_server.py");
        std::fs::copy(repo().join("tests/fixtures/fake_server.py"), &fake).unwrap();
        let stage = Stage {
            dir,
            who,
            bin,
            fake,
            state,
            home,
            out,
        };
        for d in [&stage.state, &stage.home, &stage.out] {
            stage.give(d);
        }
        stage
    }

    /// Makes `path` belong to `who`.
    fn give(&self, path: &Path) {
        if let Who::User { uid, gid } = self.who {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    /// `program args` as `who`, with a clean environment.
    fn command(&self, program: &str, args: &[String]) -> Command {
        let mut command = match self.who {
            Who::Root => Command::new(program),
            Who::User { uid, gid } => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
                    .args(["--clear-groups", "--", program]);
                c
            }
        };
        command
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("MCPGUARD_HOME", &self.state);
        command
    }

    /// `mcpguard run` of the probing server, which reports to `out/findings.json`.
    fn run_probe_args(&self) -> Vec<String> {
        let tools = self.fake.parent().unwrap().display().to_string();
        let findings = self.out.join("findings.json").display().to_string();
        [
            "run",
            "--name",
            "tty-probe",
            "--allow-read",
            &tools,
            "--allow-write",
            &self.out.display().to_string(),
            "--",
            "python3",
            &self.fake.display().to_string(),
            "tty-probe",
            &findings,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn findings(&self, context: &str) -> Value {
        let text = std::fs::read_to_string(self.out.join("findings.json"))
            .unwrap_or_else(|e| panic!("no findings from the probe ({e}):\n{context}"));
        serde_json::from_str(&text).unwrap()
    }
}

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// No descriptor the server holds is a terminal, and it has no controlling terminal.
fn assert_no_terminal(findings: &Value) {
    let fds = findings["fds"].as_object().unwrap();
    // The probe saw its standard descriptors (an empty table would pass anything).
    for fd in ["0", "1", "2"] {
        assert!(fds.contains_key(fd), "fd {fd} not examined: {findings}");
    }
    for (fd, seen) in fds {
        let target = seen["target"].as_str().unwrap();
        assert_eq!(
            seen["isatty"],
            json!(false),
            "fd {fd} is a terminal: {findings}"
        );
        assert!(
            !["/dev/pts", "/dev/tty", "/dev/console", "/dev/ptmx"]
                .iter()
                .any(|tty| target.starts_with(tty)),
            "fd {fd} leads to {target}: {findings}"
        );
        assert_ne!(findings["echo_off"][fd], json!("ok"), "{findings}");
    }
    assert_eq!(findings["dev_tty"], json!("ENXIO"), "{findings}");
    for (path, opened) in findings["pts_open"].as_object().unwrap() {
        assert_ne!(opened, &json!("ok"), "the server opened {path}: {findings}");
    }
    assert_eq!(findings["session_leader"], json!(true), "{findings}");
}

/// Runs the probe through mcpguard under `script`, so mcpguard's stdin, stdout and stderr
/// are a pseudo-terminal, as when a user starts it from a shell; then asks the terminal
/// whether echo is still on. Returns what the terminal showed.
fn probe_under_a_terminal(stage: &Stage) -> String {
    probe_under_a_terminal_in(stage, false)
}

/// Like `probe_under_a_terminal`; `degraded`: with user namespaces switched off around
/// mcpguard, so that the sandbox falls back to Landlock and seccomp (the server then sees
/// the host's /dev, the user's terminals among it).
fn probe_under_a_terminal_in(stage: &Stage, degraded: bool) -> String {
    let mut run = stage.run_probe_args();
    let mut prefix: Vec<String> = Vec::new();
    if degraded {
        run.splice(
            1..1,
            ["--require".to_owned(), "landlock,seccomp".to_owned()],
        );
        prefix = [
            "unshare",
            "--user",
            "--map-root-user",
            "--",
            "/bin/sh",
            "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"",
        ]
        .map(str::to_owned)
        .to_vec();
    }
    let mcpguard_line: Vec<String> = prefix
        .into_iter()
        .chain(std::iter::once(stage.bin.display().to_string()))
        .chain(run)
        .map(|a| shell_quote(&a))
        .collect();
    let inner = format!(
        "{}; echo mcpguard-exit=$?; stty -a",
        mcpguard_line.join(" ")
    );
    let mut child = stage
        .command(
            "script",
            &["-q", "-e", "-c", &inner, "/dev/null"].map(str::to_owned),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keyboard = child.stdin.take().unwrap();
    // Typed at the terminal: a line the server must never read, then end-of-file (^D), which
    // ends mcpguard's client side and so the session.
    {
        use std::io::Write;
        let findings = stage.out.join("findings.json");
        wait_for_file(&findings);
        keyboard.write_all(b"typed secret\n\x04").unwrap();
        keyboard.flush().unwrap();
    }
    let mut shown = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut shown)
        .unwrap();
    let status = child.wait().unwrap();
    drop(keyboard);
    assert!(status.success(), "script failed: {shown}");
    shown
}

fn the_server_never_gets_the_terminal(who: Who) {
    let stage = Stage::new(who);
    let shown = probe_under_a_terminal(&stage);
    assert!(shown.contains("mcpguard-exit=0"), "{shown}");
    assert_no_terminal(&stage.findings(&shown));
    // The terminal's echo is as the user left it.
    let flags: Vec<&str> = shown.split_whitespace().collect();
    assert!(
        flags.contains(&"echo") && !flags.contains(&"-echo"),
        "echo is off after the session:\n{shown}"
    );
    // What the server wrote reached the terminal prefixed and escaped, never raw.
    assert!(shown.contains(PROBE_SHOWN), "{shown}");
    assert!(!shown.contains("\u{1b}]52"), "{shown:?}");
    assert!(!shown.contains("\u{1b}[2J"), "{shown:?}");
}

#[test]
fn the_server_never_gets_the_terminal_in_the_degraded_sandbox() {
    let stage = Stage::new(Who::Root);
    let shown = probe_under_a_terminal_in(&stage, true);
    assert!(shown.contains("mcpguard-exit=0"), "{shown}");
    assert!(shown.contains("sandbox degraded"), "{shown}");
    let findings = stage.findings(&shown);
    // The host's /dev is in view here: the terminal's own path must not open.
    assert!(
        !findings["pts_open"].as_object().unwrap().is_empty(),
        "no /dev/pts/N seen in the degraded sandbox: {findings}"
    );
    assert_no_terminal(&findings);
}

#[test]
fn the_server_never_gets_the_terminal_as_root() {
    the_server_never_gets_the_terminal(Who::Root);
}

#[test]
fn the_server_never_gets_the_terminal_as_user() {
    the_server_never_gets_the_terminal(test_user());
}

fn the_server_cannot_truncate_or_pollute_the_agents_log(who: Who) {
    let stage = Stage::new(who);
    // The agent's log, outside anything the server is granted.
    let log = stage.dir.path().join("agent.log");
    std::fs::write(&log, "agent: line 1\nagent: line 2\n").unwrap();
    stage.give(&log);
    let file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut child = stage
        .command(&stage.bin.display().to_string(), &stage.run_probe_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    wait_for_file(&stage.out.join("findings.json"));
    drop(stdin);
    let status = child.wait().unwrap();
    let written = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{written}");
    let findings = stage.findings(&written);
    assert_ne!(findings["ftruncate_stderr"], json!("ok"), "{findings}");
    for (fd, seen) in findings["fds"].as_object().unwrap() {
        assert_ne!(
            seen["target"].as_str().unwrap(),
            log.display().to_string(),
            "fd {fd} is the agent's log"
        );
    }
    assert!(
        written.starts_with("agent: line 1\nagent: line 2\n"),
        "the log lost its content:\n{written}"
    );
    assert!(written.lines().any(|line| line == PROBE_SHOWN), "{written}");
    assert!(
        written
            .lines()
            .any(|line| line.starts_with("[tty-probe] fake: mode tty-probe")),
        "{written}"
    );
    assert!(
        !written.contains(['\u{1b}', '\r', '\u{7}']),
        "raw control characters in the log: {written:?}"
    );
    assert!(!written.contains(PROBE_RAW));
}

#[test]
fn the_server_cannot_truncate_or_pollute_the_agents_log_as_root() {
    the_server_cannot_truncate_or_pollute_the_agents_log(Who::Root);
}

#[test]
fn the_server_cannot_truncate_or_pollute_the_agents_log_as_user() {
    the_server_cannot_truncate_or_pollute_the_agents_log(test_user());
}

/// A tool the server lists, named to take over a terminal and forge a line of its own.
const LISTED: &str = "list\u{1b}]52;c;aGk=\u{7}\r\nforged: listed";
const LISTED_SHOWN: &str = "list\\e]52;c;aGk=\\x07\\r\\nforged: listed";
/// A tool the model calls and the profile denies, named the same way.
const DENIED: &str = "deny\u{1b}[2J\r\nforged: denied";
const DENIED_SHOWN: &str = "deny\\e[2J\\r\\nforged: denied";

/// Text meant for a terminal holds no control character but newlines, and no line of it
/// was forged by a name.
fn assert_terminal_safe(what: &str, text: &str) {
    assert!(
        !text.contains(|c: char| c.is_control() && c != '\n'),
        "{what} holds raw control characters: {text:?}"
    );
    assert!(
        !text.lines().any(|line| line.starts_with("forged")),
        "{what} has a forged line:\n{text}"
    );
}

#[test]
fn names_from_servers_and_models_are_escaped_in_logs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    std::fs::write(
        &tools,
        json!([{"name": LISTED, "inputSchema": {"type": "object"}}]).to_string(),
    )
    .unwrap();
    let profile = dir.path().join("names.toml");
    std::fs::write(
        &profile,
        "[profile]\nname = \"names\"\nextends = \"default\"\n[tools]\ndefault = \"allow\"\n\
         destructive = \"allow\"\ndeny = [\"deny*\"]\n",
    )
    .unwrap();
    let mut guard = Guarded::start_in(
        home.path(),
        None,
        &[
            "--name",
            "names",
            "--profile",
            profile.to_str().unwrap(),
            "--allow-read",
            dir.path().to_str().unwrap(),
        ],
        &fake(&["tools-from", tools.to_str().unwrap()]),
        |_| {},
    );
    guard.send_json(&initialize(json!(0)));
    answer(&guard, json!(0));
    guard.send_json(&request(json!(1), "tools/list", json!({})));
    assert_eq!(
        answer(&guard, json!(1))["result"]["tools"][0]["name"],
        json!(LISTED)
    );
    for (id, tool) in [(2, LISTED), (3, DENIED)] {
        guard.send_json(&request(
            json!(id),
            "tools/call",
            json!({"name": tool, "arguments": {"text": "x"}}),
        ));
        answer(&guard, json!(id));
    }
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_terminal_safe("the session's stderr", &stderr);

    let (code, logs, _) = mcpguard_in(home.path(), &["logs"]);
    assert_eq!(code, Some(0));
    assert_terminal_safe("mcpguard logs", &logs);
    assert!(
        logs.contains(LISTED_SHOWN) && logs.contains(DENIED_SHOWN),
        "{logs}"
    );

    // JSON Lines stay JSON, and the names come back as they were.
    let (code, json_lines, _) = mcpguard_in(home.path(), &["logs", "--json"]);
    assert_eq!(code, Some(0));
    assert_terminal_safe("mcpguard logs --json", &json_lines);
    let named: Vec<String> = json_lines
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter_map(|record| Some(record["tool"].as_str()?.to_owned()))
        .collect();
    assert!(
        named.iter().any(|t| t == LISTED) && named.iter().any(|t| t == DENIED),
        "{named:?}"
    );

    let (code, report, _) = mcpguard_in(home.path(), &["audit", "report"]);
    assert_eq!(code, Some(0));
    assert_terminal_safe("mcpguard audit report", &report);
    assert!(
        report.contains(LISTED_SHOWN) && report.contains(DENIED_SHOWN),
        "{report}"
    );
    let html = dir.path().join("report.html");
    let (code, _, _) = mcpguard_in(
        home.path(),
        &["audit", "report", "--html", html.to_str().unwrap()],
    );
    assert_eq!(code, Some(0));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_terminal_safe("the HTML report", &page);
    assert!(
        page.contains(LISTED_SHOWN) && page.contains(DENIED_SHOWN),
        "{page}"
    );
}

#[test]
fn a_pin_change_warning_shows_the_new_name_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    let listed = |names: &[&str]| {
        let tools: Vec<Value> = names
            .iter()
            .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
            .collect();
        Value::from(tools).to_string()
    };
    std::fs::write(&tools, listed(&["echo"])).unwrap();
    let profile = dir.path().join("pinned.toml");
    std::fs::write(
        &profile,
        "[profile]\nname = \"pinned\"\nextends = \"default\"\n[tools]\ndestructive = \"allow\"\npins = \"enforce\"\n",
    )
    .unwrap();
    let mut guard = Guarded::start_in(
        home.path(),
        None,
        &[
            "--name",
            "pins",
            "--profile",
            profile.to_str().unwrap(),
            "--allow-read",
            dir.path().to_str().unwrap(),
        ],
        &fake(&["tools-from", tools.to_str().unwrap()]),
        |_| {},
    );
    guard.send_json(&initialize(json!(0)));
    answer(&guard, json!(0));
    guard.send_json(&request(json!(1), "tools/list", json!({})));
    answer(&guard, json!(1));
    // The server now lists a tool whose name would print a line of mcpguard's own.
    let forging = "new\u{1b}]0;pwned\u{7}\r\nmcpguard: info: all clear";
    std::fs::write(&tools, listed(&["echo", forging])).unwrap();
    guard.send_json(&request(json!(2), "tools/list", json!({})));
    answer(&guard, json!(2));
    let (code, stderr) = guard.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "tool new\\e]0;pwned\\x07\\r\\nmcpguard: info: all clear added since it was pinned"
        ),
        "{stderr}"
    );
    assert_terminal_safe("the pin-change warning", &stderr);
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("mcpguard: info: all clear")),
        "{stderr}"
    );
    let (code, diff, _) = mcpguard_in(home.path(), &["pins", "diff", "--server", "pins"]);
    assert_eq!(code, Some(0));
    assert_terminal_safe("mcpguard pins diff", &diff);
    assert!(
        diff.contains("pins: new\\e]0;pwned\\x07\\r\\nmcpguard: info: all clear"),
        "{diff}"
    );
}
