//! Start-up benchmark: what the sandbox costs before the server runs its first instruction,
//! against a bare process, against `unshare` making every namespace and nothing else (the
//! kernel's part), and against bubblewrap building the equivalent view, measured in the
//! same run, interleaved; with mcpguard without its audit trail, and its supervisor alone
//! (`--dry-run`: parse, profile and plan, no sandbox). Then the time to the first `tools/list` answer from
//! server-everything, bare and sandboxed. `MCPGUARD_BENCH_BASELINE=<older mcpguard>` adds
//! that build's `run` to the same rounds, so a change is measured against the build before
//! it in one run (this machine's start-ups move by 10–20% between runs).
//!
//! Set up with `benches/setup.sh` (installs bubblewrap and the peers), run with
//! `cargo bench --bench startup`. Nothing is asserted; the figures are printed.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 60;
const FIRST_ANSWER_ROUNDS: usize = 8;

fn mcpguard() -> &'static str {
    env!("CARGO_BIN_EXE_mcpguard")
}

/// bubblewrap with the view mcpguard builds: read-only system directories, usr-merge links,
/// private /tmp, /var/tmp, /run and home, fresh /proc, minimal /dev, every namespace.
fn bwrap_command(program: &[&str]) -> Command {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let mut c = Command::new("bwrap");
    c.args([
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "mcpguard",
    ]);
    for dir in ["/usr", "/etc", "/opt"] {
        if Path::new(dir).is_dir() {
            c.args(["--ro-bind", dir, dir]);
        }
    }
    for link in ["/bin", "/sbin", "/lib", "/lib64"] {
        if let Ok(target) = std::fs::read_link(link) {
            c.arg("--symlink").arg(target).arg(link);
        }
    }
    for tmp in ["/tmp", "/var/tmp", "/run", home.as_str()] {
        c.args(["--tmpfs", tmp]);
    }
    c.args([
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--cap-drop",
        "ALL",
        "--",
    ])
    .args(program);
    c
}

/// Every namespace the sandbox makes, and nothing else: what the kernel charges for them
/// (with the fork a new pid namespace needs), the floor under any sandbox's start-up.
fn unshare_command(program: &str) -> Command {
    let mut c = Command::new("unshare");
    c.args([
        "--user",
        "--map-root-user",
        "--mount",
        "--pid",
        "--fork",
        "--net",
        "--ipc",
        "--uts",
        "--cgroup",
        "--",
        program,
    ]);
    c
}

fn time(command: &mut Command) -> Duration {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = command.status().expect("spawn");
    let elapsed = start.elapsed();
    assert!(status.success(), "{command:?} failed: {status}");
    elapsed
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn p90(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[(values.len() * 9) / 10]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Time from spawn to the `tools/list` answer of server-everything.
fn first_answer(command: &mut Command) -> Duration {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let messages = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    ];
    for m in messages {
        writeln!(stdin, "{m}").unwrap();
    }
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "server closed stdout"
        );
        if line.contains(r#""id":2"#) && line.contains("tools") {
            break;
        }
    }
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn peers() -> PathBuf {
    std::env::var_os("MCPGUARD_TEST_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers"))
}

fn main() {
    if Command::new("bwrap").arg("--version").output().is_err() {
        eprintln!("bubblewrap is not installed; run benches/setup.sh first");
        std::process::exit(1);
    }
    let truth = "/bin/true";
    let (mut bare, mut guarded, mut bwrap) = (Vec::new(), Vec::new(), Vec::new());
    let (mut namespaces, mut no_audit, mut planned) = (Vec::new(), Vec::new(), Vec::new());
    let baseline = std::env::var_os("MCPGUARD_BENCH_BASELINE").map(PathBuf::from);
    let mut baselined = Vec::new();
    for _ in 0..ROUNDS {
        bare.push(millis(time(&mut Command::new(truth))));
        namespaces.push(millis(time(&mut unshare_command(truth))));
        guarded.push(millis(time(
            Command::new(mcpguard()).args(["run", "--", truth]),
        )));
        bwrap.push(millis(time(&mut bwrap_command(&[truth]))));
        no_audit.push(millis(time(Command::new(mcpguard()).args([
            "run",
            "--no-audit",
            "--",
            truth,
        ]))));
        planned.push(millis(time(Command::new(mcpguard()).args([
            "run",
            "--dry-run",
            "--",
            truth,
        ]))));
        if let Some(older) = &baseline {
            baselined.push(millis(time(Command::new(older).args(["run", "--", truth]))));
        }
    }
    println!("start-up of {truth} ({ROUNDS} interleaved rounds; median / p90)");
    let (bm, gm, wm) = (median(&mut bare), median(&mut guarded), median(&mut bwrap));
    println!(
        "  bare:                    {bm:7.2} ms / {:7.2} ms",
        p90(&mut bare)
    );
    let nm = median(&mut namespaces);
    println!(
        "  every namespace (unshare): {nm:5.2} ms / {:7.2} ms ({:.2}x bubblewrap: the kernel's part)",
        p90(&mut namespaces),
        nm / wm
    );
    println!(
        "  bubblewrap (same view):  {wm:7.2} ms / {:7.2} ms",
        p90(&mut bwrap)
    );
    println!(
        "  mcpguard run (full):     {gm:7.2} ms / {:7.2} ms",
        p90(&mut guarded)
    );
    println!(
        "  mcpguard vs bubblewrap:  {:+7.2} ms ({:.2}x)",
        gm - wm,
        gm / wm
    );
    if let Some(older) = &baseline {
        let om = median(&mut baselined);
        println!(
            "  baseline build (full):   {om:7.2} ms / {:7.2} ms ({:.2}x bubblewrap; this build {:.2}x it: {})",
            p90(&mut baselined),
            om / wm,
            gm / om,
            older.display()
        );
    }
    // Where mcpguard's own part goes: without its audit trail (the session's start and
    // its synced end), and its supervisor alone (parse, profile, plan; no sandbox).
    println!(
        "  mcpguard run --no-audit: {:7.2} ms / {:7.2} ms",
        median(&mut no_audit),
        p90(&mut no_audit)
    );
    println!(
        "  mcpguard run --dry-run:  {:7.2} ms / {:7.2} ms (the supervisor alone: no sandbox)",
        median(&mut planned),
        p90(&mut planned)
    );

    let everything = peers().join("node/node_modules/.bin/mcp-server-everything");
    if !everything.exists() {
        println!(
            "\n(server-everything is not installed; run benches/setup.sh for time to first answer)"
        );
        return;
    }
    let everything = everything.display().to_string();
    let peers_dir = peers().display().to_string();
    let (mut direct, mut sandboxed) = (Vec::new(), Vec::new());
    for _ in 0..FIRST_ANSWER_ROUNDS {
        direct.push(millis(first_answer(Command::new("node").arg(&everything))));
        sandboxed.push(millis(first_answer(Command::new(mcpguard()).args([
            "run",
            "--allow-read",
            &peers_dir,
            "--",
            "node",
            &everything,
        ]))));
    }
    let (dm, sm) = (median(&mut direct), median(&mut sandboxed));
    println!(
        "\ntime to the first tools/list answer from server-everything ({FIRST_ANSWER_ROUNDS} rounds; median)"
    );
    println!("  bare node:               {dm:7.1} ms");
    println!(
        "  through mcpguard:        {sm:7.1} ms ({:+.1} ms)",
        sm - dm
    );
}
