//! Egress benchmark: what the network allowlist costs on a download, as bytes per second
//! against the same download in the same run, interleaved:
//!
//!   direct        curl on the host, straight to the server
//!   forwarder     curl on the host through the simplest TCP forwarder (two threads,
//!                 64 KiB blocking copies): the cost of any extra hop, the floor to compare
//!   sandbox, host curl inside the sandbox with --net host (the sandbox without the filter)
//!   proxy         curl inside the sandbox through the filter's HTTP proxy (--allow-host)
//!   capture       curl inside the sandbox to a name, ignoring the proxy: the synthetic
//!                 address, the capture listener and the filter
//!
//! The server is this process, on the host's loopback, sending `BODY_MIB` MiB from memory;
//! the name for the capture path comes from a hosts file bound over /etc/hosts in a mount
//! namespace (so this needs root and util-linux `unshare`). Set up with `benches/setup.sh`,
//! run with `cargo bench --bench egress`. Nothing is asserted; the figures are printed.

// A benchmark fails loudly on purpose: a broken run must not print figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

const BODY_MIB: usize = 256;
const ROUNDS: usize = 7;

fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let chunk = chunk.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    BODY_MIB << 20
                );
                if stream.write_all(header.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..BODY_MIB {
                    if stream.write_all(&chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The simplest forwarder: each connection to the returned port is copied to and from
/// `target` by two threads.
fn forwarder(target: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let upstream = std::net::TcpStream::connect(("127.0.0.1", target)).unwrap();
            let pairs = [
                (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                (upstream, client),
            ];
            for (mut from, mut to) in pairs {
                std::thread::spawn(move || {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = from.read(&mut buffer) {
                        if n == 0 || to.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    port
}

/// The curl that downloads `url` and writes its speed (bytes/s) to `out`: through `proxy`,
/// or ignoring every proxy variable.
fn curl(url: &str, proxy: Option<&str>, out: &Path) -> String {
    let proxy = proxy.map_or_else(
        || "--noproxy '*'".to_owned(),
        |p| format!("--noproxy '' -x {p}"),
    );
    format!(
        "curl -sS {proxy} -o /dev/null -w '%{{speed_download}} %{{size_download}}' {url} > {}",
        out.display()
    )
}

fn speed(out: &Path) -> f64 {
    let text = std::fs::read_to_string(out).unwrap();
    let mut fields = text.split_whitespace();
    let speed: f64 = fields.next().unwrap().parse().unwrap();
    let size: usize = fields.next().unwrap().parse().unwrap();
    assert_eq!(size, BODY_MIB << 20, "incomplete download");
    let _ = std::fs::remove_file(out);
    speed
}

fn run(mut command: Command) {
    let output = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `mcpguard run OPTIONS -- sh -c SCRIPT` in a mount namespace whose /etc/hosts is `hosts`.
fn guarded(hosts: &Path, state: &Path, out: &Path, options: &[String], script: &str) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg("mount --bind \"$0\" /etc/hosts && exec \"$@\"")
        .arg(hosts)
        .arg(env!("CARGO_BIN_EXE_mcpguard"))
        .args(["run", "--name", "egress-bench", "--allow-write"])
        .arg(out)
        .args(options)
        .args(["--", "/bin/sh", "-c", script])
        .env("MCPGUARD_HOME", state);
    c
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let port = serve();
    let forwarded = format!("http://127.0.0.1:{}/blob", forwarder(port));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let state = dir.path().join("state");
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.1 bench.mcpguard.test\n",
    )
    .unwrap();
    let result = out.join("speed");
    let by_address = format!("http://127.0.0.1:{port}/blob");
    let by_name = format!("http://bench.mcpguard.test:{port}/blob");
    let allow = vec![
        "--allow-host".to_owned(),
        format!("bench.mcpguard.test:{port}"),
        "--allow-host".to_owned(),
        format!("127.0.0.1:{port}"),
    ];
    let mut direct = Vec::new();
    let mut forward = Vec::new();
    let mut sandbox_host = Vec::new();
    let mut proxy = Vec::new();
    let mut capture = Vec::new();
    for _ in 0..ROUNDS {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", &curl(&by_address, None, &result)]);
        run(c);
        direct.push(speed(&result));

        let mut c = Command::new("/bin/sh");
        c.args(["-c", &curl(&forwarded, None, &result)]);
        run(c);
        forward.push(speed(&result));

        run(guarded(
            &hosts,
            &state,
            &out,
            &["--net".to_owned(), "host".to_owned()],
            &curl(&by_address, None, &result),
        ));
        sandbox_host.push(speed(&result));

        run(guarded(
            &hosts,
            &state,
            &out,
            &allow,
            &curl(&by_address, Some("http://127.0.0.1:3128"), &result),
        ));
        proxy.push(speed(&result));

        run(guarded(
            &hosts,
            &state,
            &out,
            &allow,
            &curl(&by_name, None, &result),
        ));
        capture.push(speed(&result));
    }
    let mb = |v: f64| v / 1e6;
    let direct = median(&mut direct);
    println!("download of {BODY_MIB} MiB over loopback ({ROUNDS} interleaved rounds, medians)");
    println!("  direct (host curl)              {:8.0} MB/s", mb(direct));
    for (name, values) in [
        ("host, through a plain forwarder", &mut forward),
        ("sandbox, --net host", &mut sandbox_host),
        ("through the proxy (allowlist)", &mut proxy),
        ("captured by name (allowlist)", &mut capture),
    ] {
        let m = median(values);
        println!(
            "  {name:<31} {:8.0} MB/s  ({:.0}% of direct)",
            mb(m),
            100.0 * m / direct
        );
    }
}
