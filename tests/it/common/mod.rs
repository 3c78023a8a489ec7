//! Shared test plumbing: where the binary, the fixtures and the real peers are, and a
//! driver that runs `mcpguard run` the way an agent does (pipes on stdin/stdout, stderr kept).
//! `procs` reads the machine's processes.

mod procs;

pub(crate) use procs::*;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single expected event may take before the test fails. Generous: this is a
/// hang detector, not a timing assertion.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) fn mcpguard() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcpguard"))
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fake server for misbehaviour no real peer shows, with its mode arguments.
pub(crate) fn fake(mode: &[&str]) -> Vec<String> {
    let script = repo().join("tests/fixtures/fake_server.py");
    let mut argv = vec!["python3".to_string(), script.display().to_string()];
    argv.extend(mode.iter().map(|s| s.to_string()));
    argv
}

/// Where tests/setup.sh installed the real peers. Fails loudly when they are missing: a
/// real-peer test that silently skips would prove nothing.
pub(crate) fn peers() -> PathBuf {
    let dir = std::env::var_os("MCPGUARD_TEST_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/peers"));
    assert!(
        dir.join(".installed").exists(),
        "the real MCP peers are not installed in {}; run tests/setup.sh (tests/run.sh does)",
        dir.display()
    );
    dir
}

/// The command line of a real Node peer: `node` and the script npm installed as `bin`
/// (`mcp-server-everything`, `mcp-server-filesystem`...).
pub(crate) fn node_bin(bin: &str) -> Vec<String> {
    vec![
        "node".into(),
        peers()
            .join("node/node_modules/.bin")
            .join(bin)
            .display()
            .to_string(),
    ]
}

/// A running `mcpguard run` with the test as its agent.
pub(crate) struct Guarded {
    pub child: Child,
    /// mcpguard's own files (MCPGUARD_HOME): the audit trail and caches of this session.
    pub home: PathBuf,
    _home_dir: Option<tempfile::TempDir>,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Guarded {
    pub(crate) fn start(options: &[&str], server: &[String]) -> Self {
        Self::start_with(options, server, |_| {})
    }

    pub(crate) fn start_with(
        options: &[&str],
        server: &[String],
        customize: impl FnOnce(&mut Command),
    ) -> Self {
        let home_dir = tempfile::tempdir().expect("temp dir");
        let home = home_dir.path().to_path_buf();
        Self::start_in(&home, Some(home_dir), options, server, customize)
    }

    /// Like `start_with`, with mcpguard's files under `home` (shared between sessions).
    pub(crate) fn start_in(
        home: &Path,
        home_dir: Option<tempfile::TempDir>,
        options: &[&str],
        server: &[String],
        customize: impl FnOnce(&mut Command),
    ) -> Self {
        let mut command = Command::new(mcpguard());
        command.env("MCPGUARD_HOME", home);
        // Tests of the relay itself run under the permissive test profile; policy tests name theirs.
        let profile: &[&str] = if options.contains(&"--profile") {
            &[]
        } else {
            &["--profile", "everything"]
        };
        let fixtures = repo().join("tests");
        command
            .arg("run")
            .arg("--allow-read")
            .arg(&fixtures)
            .args(profile)
            .args(options)
            .arg("--")
            .args(server);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        customize(&mut command);
        let mut child = command.spawn().expect("start mcpguard");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            loop {
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let mut err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Self {
            child,
            home: home.to_path_buf(),
            _home_dir: home_dir,
            stdin,
            lines,
            stderr,
        }
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("write to mcpguard");
        stdin.flush().expect("flush");
    }

    pub(crate) fn send_json(&mut self, value: &Value) {
        let mut line = serde_json::to_vec(value).unwrap();
        line.push(b'\n');
        self.send(&line);
    }

    /// The next line mcpguard writes, raw.
    pub(crate) fn recv(&self) -> Vec<u8> {
        self.recv_within(PATIENCE)
    }

    /// Like `recv`, with more patience (a first start that downloads a package).
    pub(crate) fn recv_within(&self, patience: Duration) -> Vec<u8> {
        match self.lines.recv_timeout(patience) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no line from mcpguard within {patience:?}; stderr:\n{}",
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("mcpguard closed stdout; stderr:\n{}", self.stderr())
            }
        }
    }

    pub(crate) fn recv_json(&self) -> Value {
        let line = self.recv();
        serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&line)))
    }

    /// Whether mcpguard writes nothing more before its stdout closes.
    pub(crate) fn expect_stdout_closed(&self) {
        match self.lines.recv_timeout(PATIENCE) {
            Err(RecvTimeoutError::Disconnected) => {}
            Ok(line) => panic!("unexpected line: {}", String::from_utf8_lossy(&line)),
            Err(RecvTimeoutError::Timeout) => panic!("stdout still open after {PATIENCE:?}"),
        }
    }

    /// Hands the pipe to mcpguard's stdin over to the test (to write from another thread).
    pub(crate) fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin still open")
    }

    pub(crate) fn close_stdin(&mut self) {
        self.stdin.take();
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!(
                    "mcpguard did not exit within {PATIENCE:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Closes stdin and returns the exit code.
    pub(crate) fn finish(mut self) -> (Option<i32>, String) {
        self.close_stdin();
        let status = self.wait();
        // Let the stderr thread drain.
        std::thread::sleep(Duration::from_millis(50));
        (status.code(), self.stderr())
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes `toml` as the profile `dir/name` and returns its path, as `--profile` takes it.
pub(crate) fn profile_file(dir: &Path, name: &str, toml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

pub(crate) fn request(id: Value, method: &str, params: Value) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub(crate) fn initialize(id: Value) -> Value {
    request(
        id,
        "initialize",
        serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}),
    )
}

pub(crate) fn echo_call(id: Value, text: &str) -> Value {
    request(
        id,
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {"text": text}}),
    )
}

pub(crate) fn wait_for_file(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} did not appear", path.display());
}

/// Runs `mcpguard ARGS` with mcpguard's files under `home`; returns (exit code, stdout, stderr).
pub(crate) fn mcpguard_in(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(mcpguard())
        .env("MCPGUARD_HOME", home)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `command` the way an agent runs a server it never writes to: stdin held open until
/// the process exits, stdout discarded, stderr kept; returns (exit code, stderr).
pub(crate) fn run_holding_stdin(command: &mut Command) -> (Option<i32>, String) {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn_when_not_busy(command);
    let stdin = child.stdin.take();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    (status.code(), stderr)
}

/// The answer to request `id`, skipping notifications and server requests.
pub(crate) fn answer(guard: &Guarded, id: impl Into<Value>) -> Value {
    let id = id.into();
    loop {
        let message = guard.recv_json();
        if message["id"] == id && message.get("method").is_none() {
            return message;
        }
    }
}

/// Spawns `command`, waiting out "text file busy": a binary a test has just copied may
/// still be open for writing in a child another test thread forked at that moment (until
/// that child execs).
pub(crate) fn spawn_when_not_busy(command: &mut Command) -> std::process::Child {
    for _ in 0..100 {
        match command.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
    panic!("{command:?}: text file busy for 2 s");
}

/// A copy of the built binary that every test account can reach (the build tree may not
/// be), made once per test process. It is run once before it is handed out: a copy just
/// written may still be open for writing in a child another test thread forked meanwhile,
/// and after one run succeeds no such descriptor is left.
pub(crate) fn reachable_mcpguard() -> std::path::PathBuf {
    static COPY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("mcpguard-bin")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("mcpguard");
        std::fs::copy(mcpguard(), &bin).unwrap();
        let mut check = Command::new(&bin);
        check
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        spawn_when_not_busy(&mut check).wait().unwrap();
        bin
    })
    .clone()
}
