//! Relay benchmark: mcpguard against a direct pipe, measured in the same run.
//!
//! Run with `cargo bench --bench relay` (add `-- --quick` for a short run). It prints, for
//! each figure, both absolute values and the ratio against the baseline; nothing is asserted.
//!
//! * Round trip: a client here sends one small request at a time to an echo server (this
//!   same binary with `--echo-server`), directly and through `mcpguard run`, interleaved
//!   (A, B, A, B, ...). Added latency = percentile through mcpguard − percentile direct.
//! * Throughput: the server (`--emit N`) writes N one-KiB `notifications/message` lines as
//!   fast as it can; the client reads them all, directly and through mcpguard.
//! * Large message: a 10 MiB request and a 10 MiB answer, directly, through the frame-only
//!   relay (the floor for a relay that waits for whole messages) and through mcpguard,
//!   with the supervisor's peak RSS (VmHWM) read while it is still running.
//! * Tool answer: a tools/call answered with 10 MiB of text, which the default profile
//!   inspects (and caps), through mcpguard with and without audit, with the supervisor's
//!   peak RSS: the large message of real use.
//! * Bulk pipeline: `cat FILE | X | cat > /dev/null` with 200,000 one-KiB notifications,
//!   where X is nothing (the bare pipe), a frame-only relay built here (two threads, 64 KiB
//!   reads, memchr framing, whole lines written: the ceiling for any relay), a naive Python
//!   line relay, and `mcpguard run -- cat` (default profile, audit on, and `--no-audit`),
//!   every message still parsed and checked; with mcpguard's peak RSS (its own rusage).
//! * The round trip is also measured through a do-nothing Python line relay, the kind most
//!   MCP proxies are: mcpguard's added p50 and p99 are printed beside it.
//! * The round trip with `audit.on-failure = "continue"`, where records go through the
//!   writer thread's bounded queue instead of being written before each request is relayed.
//! * `MCPGUARD_BENCH_BASELINE=/path/to/an/older/mcpguard` adds that build's round trip to
//!   the same interleaved rounds, to measure a change against the build before it.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUND_TRIP_ROUNDS: usize = 6;
const ROUND_TRIPS_PER_ROUND: usize = 5_000;
const NOTIFICATIONS: usize = 200_000;
const BIG: usize = 10 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--echo-server") => echo_server(),
        Some("--plain-relay") => plain_relay(&args[2..]),
        Some("--frame-relay") => frame_relay(&args[2..]),
        Some("--emit") => emit(
            args.get(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(NOTIFICATIONS),
        ),
        _ => run_benchmarks(args.iter().any(|a| a == "--quick")),
    }
}

/// The relays' server, with its stdin and stdout.
fn start_server(server: &[String]) -> (Child, std::process::ChildStdin, std::process::ChildStdout) {
    let mut child = Command::new(&server[0])
        .args(&server[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    (child, stdin, stdout)
}

/// A do-nothing relay (two threads copying bytes, no framing, no parsing): the floor for
/// any program that sits between client and server on this machine.
fn plain_relay(server: &[String]) {
    let (mut child, mut to_server, mut from_server) = start_server(server);
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_server);
    });
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = from_server.read(&mut buf) {
        if n == 0 || out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    drop(out);
    // Our stdout must close before we wait for the client's EOF: the client waits for ours.
    // SAFETY: fd 1 is this process's stdout; nothing uses it after this point.
    unsafe { libc::close(1) };
    let _ = upstream.join();
    let _ = child.wait();
}

/// A relay that frames lines (memchr) and writes only whole lines, one thread a direction,
/// 64 KiB reads, no parsing: what any line relay costs on this machine.
fn frame_relay(server: &[String]) {
    let (mut child, to_server, from_server) = start_server(server);
    let upstream = std::thread::spawn(move || copy_lines(std::io::stdin().lock(), to_server));
    copy_lines(from_server, std::io::stdout().lock());
    // SAFETY: fd 1 is this process's stdout; nothing uses it after this point.
    unsafe { libc::close(1) };
    let _ = upstream.join();
    let _ = child.wait();
}

fn copy_lines(mut from: impl Read, mut to: impl Write) {
    let mut buf = vec![0u8; 1 << 16];
    let mut held = 0;
    loop {
        let n = match from.read(&mut buf[held..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let filled = held + n;
        let whole = memchr::memrchr(b'\n', &buf[held..filled]).map(|i| held + i + 1);
        match whole {
            Some(end) => {
                if to.write_all(&buf[..end]).and_then(|()| to.flush()).is_err() {
                    return;
                }
                buf.copy_within(end..filled, 0);
                held = filled - end;
            }
            None => held = filled,
        }
        if held == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    let _ = to.write_all(&buf[..held]);
}

/// A do-nothing Python line relay: what most MCP proxies are.
const PYTHON_RELAY: &str = r#"
import subprocess, sys, threading
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def up():
    for line in sys.stdin.buffer:
        p.stdin.write(line)
        p.stdin.flush()
    p.stdin.close()
threading.Thread(target=up, daemon=True).start()
out = sys.stdout.buffer
for line in p.stdout:
    out.write(line)
    out.flush()
out.close()
p.wait()
"#;

/// Answers every request line with a small result, or a big one for a big request.
fn echo_server() {
    let stdin = std::io::stdin();
    let mut input = BufReader::with_capacity(1 << 16, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::new();
    let big_text = "y".repeat(BIG);
    // A tool's answer as a file reader gives it: lines of text, written with `\n` escapes.
    let tool_text = "a line of text a tool read from a file\\n".repeat(BIG / 41);
    // The requests here name their method before their params: only the head is searched,
    // so the 10 MiB request costs this server no more than it did.
    let asks = |line: &[u8], method: &str| {
        let needle = format!("\"method\":\"{method}\"");
        memchr::memmem::find(&line[..line.len().min(256)], needle.as_bytes()).is_some()
    };
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
            return;
        }
        let Some(id) = id_of(&line) else { continue };
        let reply = if asks(&line, "tools/list") {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"tools\":[{{\"name\":\"read\",\"description\":\"Reads a file.\",\"inputSchema\":{{\"type\":\"object\"}},\"annotations\":{{\"readOnlyHint\":true}}}}]}}}}\n"
            )
        } else if asks(&line, "tools/call") {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{tool_text}\"}}]}}}}\n"
            )
        } else if line.len() > 1 << 20 {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{big_text}\"}}]}}}}\n"
            )
        } else {
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}\n")
        };
        if out
            .write_all(reply.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// The numeric id of a compact request line `{"jsonrpc":"2.0","id":N,...`.
fn id_of(line: &[u8]) -> Option<u64> {
    let start = line.windows(5).position(|w| w == b"\"id\":")? + 5;
    let digits: String = line[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect();
    digits.parse().ok()
}

/// Writes `count` one-KiB notifications, then waits for stdin to close.
fn emit(count: usize) {
    let payload = "x".repeat(1024 - 90);
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"level\":\"info\",\"data\":\"{payload}\"}}}}\n"
    );
    let mut block = Vec::with_capacity(line.len() * 64);
    for _ in 0..64 {
        block.extend_from_slice(line.as_bytes());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut left = count;
    while left >= 64 {
        if out.write_all(&block).is_err() {
            return;
        }
        left -= 64;
    }
    for _ in 0..left {
        if out.write_all(line.as_bytes()).is_err() {
            return;
        }
    }
    let _ = out.flush();
    drop(out);
    // Close our stdout so the reader sees EOF, then wait for the client to hang up.
    // SAFETY: fd 1 is this process's stdout; nothing uses it after this point.
    unsafe { libc::close(1) };
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Direct,
    PlainRelay,
    /// The frame-only relay (memchr framing, whole lines written): the floor for any relay
    /// that waits for whole messages.
    FrameRelay,
    PythonRelay,
    /// mcpguard with `--no-audit`: the relay and sandbox alone.
    GuardedNoAudit,
    Guarded,
    /// mcpguard with `audit.on-failure = "continue"`: records go through the writer
    /// thread's queue instead of being written before each request is relayed.
    GuardedQueued,
    /// Another mcpguard build (`MCPGUARD_BENCH_BASELINE`), audit on: a change measured
    /// against the build before it, in the same run.
    Baseline,
}

fn spawn(path: Path, server_args: &[&str]) -> Child {
    let me = std::env::current_exe().expect("own path");
    let mut command = match path {
        Path::Direct => Command::new(&me),
        Path::PlainRelay => {
            let mut c = Command::new(&me);
            c.arg("--plain-relay").arg(&me);
            c
        }
        Path::FrameRelay => {
            let mut c = Command::new(&me);
            c.arg("--frame-relay").arg(&me);
            c
        }
        Path::PythonRelay => {
            let mut c = Command::new("python3");
            c.args(["-c", PYTHON_RELAY]).arg(&me);
            c
        }
        Path::Guarded | Path::GuardedNoAudit | Path::GuardedQueued | Path::Baseline => {
            let mut c = match path {
                Path::Baseline => Command::new(baseline().expect("MCPGUARD_BENCH_BASELINE")),
                _ => Command::new(env!("CARGO_BIN_EXE_mcpguard")),
            };
            c.env("MCPGUARD_HOME", bench_home());

            // The sandbox shows the server only what it is granted: here, this benchmark binary.
            let dir = me.parent().expect("bench binary directory");
            c.args(["run", "--max-message", "32MiB", "--allow-read"])
                .arg(dir);
            if path == Path::GuardedNoAudit {
                c.arg("--no-audit");
            }
            if path == Path::GuardedQueued {
                c.arg("--profile").arg(queued_profile());
            }
            c.arg("--").arg(&me);
            c
        }
    };
    command
        .args(server_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command.spawn().expect("spawn")
}

/// The default profile with `audit.on-failure = "continue"`.
fn queued_profile() -> std::path::PathBuf {
    let path = bench_home().join("continue.toml");
    std::fs::write(
        &path,
        "[profile]\nname = \"bench-continue\"\nextends = \"default\"\n[audit]\non-failure = \"continue\"\n",
    )
    .expect("bench profile");
    path
}

/// The build to compare with, when `MCPGUARD_BENCH_BASELINE` names one.
fn baseline() -> Option<std::path::PathBuf> {
    std::env::var_os("MCPGUARD_BENCH_BASELINE").map(Into::into)
}

/// mcpguard's files for this run (the audit trail grows by two records per round trip).
fn bench_home() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpguard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench home");
    dir
}

/// One run of `count` round trips: each one's time, and the CPU time the relay process
/// itself (every thread; for `Direct`, the server) spent per round trip.
fn round_trips(path: Path, count: usize) -> (Vec<Duration>, Duration) {
    let mut child = spawn(path, &["--echo-server"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut samples = Vec::with_capacity(count);
    let mut line = Vec::new();
    let mut cpu_after_warm_up = 0;
    for id in 0..count + 200 {
        // The first 200 warm caches and the reactor (and the start-up is over): they are
        // not counted.
        if id == 200 {
            cpu_after_warm_up = cpu_ns(child.id());
        }
        let request = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n");
        let start = Instant::now();
        stdin.write_all(request.as_bytes()).expect("write");
        line.clear();
        stdout.read_until(b'\n', &mut line).expect("read");
        if id >= 200 {
            samples.push(start.elapsed());
        }
    }
    let cpu = cpu_ns(child.id()) - cpu_after_warm_up;
    drop(stdin);
    let _ = child.wait();
    (samples, Duration::from_nanos(cpu / count as u64))
}

/// Time `pid` has spent on a CPU so far, summed over its threads (schedstat, in ns).
fn cpu_ns(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks of the relay");
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            let text = std::fs::read_to_string(path).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn throughput(path: Path, count: usize) -> f64 {
    let count_arg = count.to_string();
    let mut child = spawn(path, &["--emit", &count_arg]);
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let start = Instant::now();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0usize;
    loop {
        let n = stdout.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(stdin);
    let _ = child.wait();
    total as f64 / elapsed
}

/// Time of one 10 MiB request + 10 MiB answer, and the supervisor's peak RSS in KiB.
fn big_message(path: Path) -> (Duration, Option<u64>) {
    let mut child = spawn(path, &["--echo-server"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let text = "z".repeat(BIG);
    let request = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bench/echo\",\"params\":{{\"text\":\"{text}\"}}}}\n"
    );
    let mut line = Vec::with_capacity(BIG + 100);
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        stdin.write_all(request.as_bytes()).expect("write");
        stdin
    });
    stdout.read_until(b'\n', &mut line).expect("read");
    let elapsed = start.elapsed();
    let stdin = writer.join().expect("writer");
    assert!(line.len() > BIG, "short answer: {} bytes", line.len());
    let peak = (path == Path::Guarded)
        .then(|| vm_hwm_kib(child.id()))
        .flatten();
    drop(stdin);
    let _ = child.wait();
    (elapsed, peak)
}

/// Time of a tools/call whose answer is 10 MiB of text, and the supervisor's peak RSS in KiB:
/// the large message of real use, which the default profile inspects (and caps at 1 MiB).
fn big_tool_answer(path: Path) -> (Duration, Option<u64>) {
    let mut child = spawn(path, &["--echo-server"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = Vec::new();
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n")
        .expect("write");
    stdout.read_until(b'\n', &mut line).expect("read");
    line.clear();
    let start = Instant::now();
    stdin
        .write_all(
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"read\",\"arguments\":{}}}\n",
        )
        .expect("write");
    stdout.read_until(b'\n', &mut line).expect("read");
    let elapsed = start.elapsed();
    let answer: serde_json::Value = serde_json::from_slice(&line).expect("answer");
    // The row is about an inspected answer: the cap's marker shows the inspection ran.
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.len() > 1 << 19 && t.ends_with("(limits.max-text)]")),
        "not the tool's answer as inspected: {}",
        String::from_utf8_lossy(&line[line.len().saturating_sub(400)..])
    );
    let peak = vm_hwm_kib(child.id());
    drop(stdin);
    let _ = child.wait();
    (elapsed, peak)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn run_benchmarks(quick: bool) {
    let rounds = if quick { 2 } else { ROUND_TRIP_ROUNDS };
    let per_round = if quick { 1_000 } else { ROUND_TRIPS_PER_ROUND };
    println!(
        "mcpguard relay benchmark ({rounds} interleaved rounds per figure; medians across rounds)"
    );
    let paths = [
        Path::Direct,
        Path::PlainRelay,
        Path::GuardedNoAudit,
        Path::Guarded,
        Path::PythonRelay,
        Path::GuardedQueued,
    ];
    let labels = [
        "direct",
        "do-nothing relay",
        "mcpguard, --no-audit",
        "mcpguard (audit on)",
        "Python line relay",
        "mcpguard, queued audit",
    ];

    let mut p50s: [Vec<f64>; 6] = Default::default();
    let mut p99s: [Vec<f64>; 6] = Default::default();
    let mut cpus: [Vec<f64>; 6] = Default::default();
    let (mut baseline_p50s, mut baseline_p99s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (i, path) in paths.iter().enumerate() {
            let (mut samples, cpu) = round_trips(*path, per_round);
            samples.sort();
            p50s[i].push(micros(percentile(&samples, 0.50)));
            p99s[i].push(micros(percentile(&samples, 0.99)));
            cpus[i].push(micros(cpu));
        }
        if baseline().is_some() {
            let (mut samples, _) = round_trips(Path::Baseline, per_round);
            samples.sort();
            baseline_p50s.push(micros(percentile(&samples, 0.50)));
            baseline_p99s.push(micros(percentile(&samples, 0.99)));
        }
    }
    let p50: Vec<f64> = p50s.iter_mut().map(|v| median(v)).collect();
    let p99: Vec<f64> = p99s.iter_mut().map(|v| median(v)).collect();
    println!("\nsmall round trip ({per_round} per round)");
    for (i, label) in labels.iter().enumerate() {
        println!(
            "  {label:<22} p50 {:8.1} µs   p99 {:8.1} µs",
            p50[i], p99[i]
        );
    }
    if let Some(path) = baseline() {
        println!(
            "  {:<22} p50 {:8.1} µs   p99 {:8.1} µs   ({})",
            "baseline (audit on)",
            median(&mut baseline_p50s),
            median(&mut baseline_p99s),
            path.display()
        );
    }
    let rows = [
        ("added vs direct", 3, 0),
        ("added vs do-nothing", 3, 1),
        ("audit cost per call", 3, 2),
        ("Python relay adds", 4, 0),
        ("queued audit adds", 5, 0),
    ];
    for (label, a, b) in rows {
        println!(
            "  {label:<22} p50 {:8.1} µs   p99 {:8.1} µs",
            p50[a] - p50[b],
            p99[a] - p99[b]
        );
    }

    for (label, i) in [("mcpguard", 3), ("mcpguard with queued audit", 5)] {
        println!(
            "  {label} adds {:.1} µs p50 where the Python relay adds {:.1} µs ({})",
            p50[i] - p50[0],
            p50[4] - p50[0],
            if p50[i] < p50[4] {
                "below it"
            } else {
                "NOT below it"
            }
        );
    }

    let count = if quick { 50_000 } else { NOTIFICATIONS };
    // Wake-ups between three processes on two cores dominate the latencies above and move
    // them by several microseconds between runs; the CPU a relay spends per round trip is
    // its own work, and steadier.
    println!("  CPU per round trip (the relay process's own, every thread; direct: the server's)");
    for (i, label) in labels.iter().enumerate() {
        println!("  {label:<22} {:8.1} µs", median(&mut cpus[i]));
    }

    let mut rates: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        for (i, path) in paths[..4].iter().enumerate() {
            rates[i].push(throughput(*path, count));
        }
    }
    let rate: Vec<f64> = rates.iter_mut().map(|v| median(v)).collect();
    println!("\n1 KiB notifications server→client ({count} per round)");
    for (i, label) in labels[..4].iter().enumerate() {
        println!(
            "  {label:<22} {:8.1} MB/s ({:.1} % of direct)",
            rate[i] / 1e6,
            100.0 * rate[i] / rate[0]
        );
    }

    let mut big: [Vec<f64>; 4] = Default::default();
    let mut peaks = Vec::new();
    for _ in 0..rounds {
        for (i, path) in [
            Path::Direct,
            Path::FrameRelay,
            Path::GuardedNoAudit,
            Path::Guarded,
        ]
        .into_iter()
        .enumerate()
        {
            let (elapsed, peak) = big_message(path);
            big[i].push(elapsed.as_secs_f64() * 1e3);
            peaks.extend(peak);
        }
    }
    let big: Vec<f64> = big.iter_mut().map(|v| median(v)).collect();
    let peak = peaks.iter().max().copied().unwrap_or(0);
    println!("\n10 MiB request + 10 MiB answer");
    println!("  {:<22} {:8.1} ms", "direct", big[0]);
    for (i, label) in [
        "frame-only relay",
        "mcpguard, --no-audit",
        "mcpguard (audit on)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "  {label:<22} {:8.1} ms ({:.2}x)",
            big[i + 1],
            big[i + 1] / big[0]
        );
    }
    println!(
        "  supervisor peak RSS (VmHWM, max over rounds and modes): {:.1} MiB",
        peak as f64 / 1024.0
    );
    let mut tool: [Vec<f64>; 2] = Default::default();
    let mut tool_peaks: [Vec<u64>; 2] = Default::default();
    for _ in 0..if quick { 1 } else { 3 } {
        for (i, path) in [Path::GuardedNoAudit, Path::Guarded]
            .into_iter()
            .enumerate()
        {
            let (elapsed, peak) = big_tool_answer(path);
            tool[i].push(elapsed.as_secs_f64() * 1e3);
            tool_peaks[i].extend(peak);
        }
    }
    println!(
        "\n10 MiB tool answer (text with line breaks; inspected, and capped at 1 MiB by the default profile)"
    );
    for (i, label) in ["mcpguard, --no-audit", "mcpguard (audit on)"]
        .iter()
        .enumerate()
    {
        println!(
            "  {label:<22} {:8.1} ms   supervisor peak RSS {:.1} MiB",
            median(&mut tool[i]),
            tool_peaks[i].iter().max().copied().unwrap_or(0) as f64 / 1024.0
        );
    }
    bulk_pipeline(if quick { 3 } else { 5 }, count);
    let _ = std::fs::remove_dir_all(bench_home());
}

/// The bulk pipeline of shared/reference/performance.md: `cat FILE | X | cat > /dev/null`.
fn bulk_pipeline(rounds: usize, count: usize) {
    let file = bench_home().join("bulk.jsonl");
    {
        let payload = "x".repeat(1024 - 90);
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"level\":\"info\",\"data\":\"{payload}\"}}}}\n"
        );
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("bulk file"));
        for _ in 0..count {
            out.write_all(line.as_bytes()).expect("bulk file");
        }
        out.flush().expect("bulk file");
    }
    let me = std::env::current_exe().expect("own path");
    let guard = env!("CARGO_BIN_EXE_mcpguard");
    let cat = "/bin/cat".to_owned();
    let middles: [(&str, Vec<String>); 5] = [
        ("bare pipe", vec![cat.clone()]),
        (
            "frame-only relay",
            vec![
                me.display().to_string(),
                "--frame-relay".into(),
                cat.clone(),
            ],
        ),
        (
            "Python line relay",
            vec![
                "python3".into(),
                "-c".into(),
                PYTHON_RELAY.into(),
                cat.clone(),
            ],
        ),
        (
            "mcpguard, --no-audit",
            vec![
                guard.into(),
                "run".into(),
                "-q".into(),
                "--no-audit".into(),
                "--".into(),
                cat.clone(),
            ],
        ),
        (
            "mcpguard (audit on)",
            vec![
                guard.into(),
                "run".into(),
                "-q".into(),
                "--".into(),
                cat.clone(),
            ],
        ),
    ];
    let mut seconds: [Vec<f64>; 5] = Default::default();
    let mut peaks: [Vec<f64>; 5] = Default::default();
    for _ in 0..rounds {
        for (i, (_, middle)) in middles.iter().enumerate() {
            let (elapsed, max_rss) = pipeline(&file, middle);
            seconds[i].push(elapsed);
            peaks[i].push(max_rss as f64 / 1024.0);
        }
    }
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64;
    let times: Vec<f64> = seconds.iter_mut().map(|v| median(v)).collect();
    println!(
        "\nbulk: cat FILE | X | cat > /dev/null, {count} one-KiB notifications ({:.0} MB), {rounds} interleaved rounds",
        bytes / 1e6
    );
    for (i, (label, _)) in middles.iter().enumerate() {
        println!(
            "  {label:<22} {:7.3} s {:8.1} MB/s ({:5.1} % of the bare pipe)   peak RSS {:5.1} MiB",
            times[i],
            bytes / times[i] / 1e6,
            100.0 * times[0] / times[i],
            median(&mut peaks[i])
        );
    }
    println!("  (peak RSS: X's own VmHWM, median over rounds; for mcpguard, the supervisor)");
}

/// Runs `cat file | middle | cat > /dev/null`; the time, and the middle's peak RSS in KiB
/// (its VmHWM, read until it exits: a child's rusage would count the memory of the process
/// it was forked from).
fn pipeline(file: &std::path::Path, middle: &[String]) -> (f64, i64) {
    let start = Instant::now();
    let mut source = Command::new("cat")
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat");
    let mut relay = Command::new(&middle[0])
        .args(&middle[1..])
        .env("MCPGUARD_HOME", bench_home())
        .stdin(source.stdout.take().expect("pipe"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("middle");
    let mut sink = Command::new("cat")
        .stdin(relay.stdout.take().expect("pipe"))
        .stdout(Stdio::null())
        .spawn()
        .expect("cat");
    let pid = relay.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = std::sync::Arc::clone(&done);
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while !watching.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(kib) = vm_hwm_kib(pid) {
                peak = peak.max(kib);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        peak
    });
    let _ = sink.wait();
    let elapsed = start.elapsed().as_secs_f64();
    let _ = relay.wait();
    let _ = source.wait();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap_or(0) as i64;
    (elapsed, peak)
}
