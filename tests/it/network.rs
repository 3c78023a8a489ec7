//! The network allowlist, by attack and by real launchers.
//!
//! A probe inside the sandbox (tests/fixtures/net_probe.py, and Node's built-in fetch,
//! which ignores proxy variables) tries allowed and forbidden destinations; everything it
//! may reach is an HTTP server this test runs on the host's loopback, and names are mapped
//! by a hosts file bound over /etc/hosts in a mount namespace of the test's own, so
//! nothing leaves the machine. The launcher tests download real servers from the npm
//! registry and PyPI, the only hosts they are given.

use crate::common::{
    Guarded, initialize, mcpguard_in, peers, reachable_mcpguard, repo, request, run_holding_stdin,
};
use crate::sandbox::{Who, test_user};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A plain HTTP server on the host's loopback that keeps the path and Host of every
/// request it answers.
struct Upstream {
    port: u16,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let counter = Arc::clone(&hits);
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = Arc::clone(&counter);
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                if head.is_empty() {
                    // Connected, then closed with nothing sent: no request reached us.
                    return;
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("?").to_owned();
                let host = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Host: "))
                    .unwrap_or("")
                    .to_owned();
                log.lock().unwrap().push((path.clone(), host));
                counter.fetch_add(1, Ordering::SeqCst);
                let body = format!("hello from upstream {path}");
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    Upstream { port, hits, seen }
}

/// A server that speaks first (like SMTP or MySQL): a banner, then it closes.
fn banner_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"220 banner from upstream\r\n");
        }
    });
    port
}

/// What one sandboxed run left behind.
struct Run {
    findings: Value,
    node: Option<String>,
    stderr: String,
    network: Vec<Value>,
}

/// Runs the probe (and, with `node_url`, a Node fetch of it) through `mcpguard run` with
/// `options`, as `who`, inside a mount namespace whose /etc/hosts holds `hosts`.
fn run_probe(
    who: Who,
    hosts: &str,
    options: &[&str],
    attempts: &[String],
    node_url: Option<&str>,
) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.path().join("mcpguard");
    let user_home = dir.path().join("home");
    let out = dir.path().join("out");
    let tools = dir.path().join("tools");
    for d in [&home, &user_home, &out, &tools] {
        std::fs::create_dir_all(d).unwrap();
    }
    let hosts_file = dir.path().join("hosts");
    std::fs::write(&hosts_file, format!("127.0.0.1 localhost\n{hosts}")).unwrap();
    // Copies the user can reach (the build tree may not be).
    let bin = reachable_mcpguard();
    let probe = tools.join("net_probe.py");
    std::fs::copy(repo().join("tests/fixtures/net_probe.py"), &probe).unwrap();
    let mut user = Vec::new();
    if let Who::User { uid, gid } = who {
        for d in [&home, &user_home, &out] {
            std::os::unix::fs::chown(d, Some(uid), Some(gid)).unwrap();
        }
        user = vec![
            "setpriv".to_owned(),
            "--reuid".to_owned(),
            uid.to_string(),
            "--regid".to_owned(),
            gid.to_string(),
            "--clear-groups".to_owned(),
            "--".to_owned(),
        ];
    }
    let quoted: Vec<String> = attempts.iter().map(|a| format!("'{a}'")).collect();
    let mut script = format!(
        "/usr/bin/python3 {} {} > {}/findings.json",
        probe.display(),
        quoted.join(" "),
        out.display()
    );
    if let Some(url) = node_url {
        script.push_str(&format!(
            "; node -e \"fetch('{url}').then(r => r.text().then(t => console.error(r.status + ' ' + t))).catch(e => console.error('ERR ' + (e.cause ? e.cause.code : e)))\" 2> {}/node.txt",
            out.display()
        ));
    }
    let mut command = Command::new("/usr/bin/unshare");
    command
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg("mount --bind \"$0\" /etc/hosts && exec \"$@\"")
        .arg(&hosts_file)
        .args(&user)
        .arg(&bin)
        .args([
            "run",
            "--name",
            "net-probe",
            "--allow-read",
            &tools.display().to_string(),
            "--allow-write",
            &out.display().to_string(),
        ])
        .args(options)
        .args(["--", "/bin/sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &user_home)
        .env("MCPGUARD_HOME", &home);
    let (code, stderr) = run_holding_stdin(&mut command);
    assert_eq!(code, Some(0), "mcpguard failed:\n{stderr}");
    let findings = std::fs::read_to_string(out.join("findings.json"))
        .unwrap_or_else(|e| panic!("no findings ({e}):\n{stderr}"));
    let node = node_url.map(|_| {
        std::fs::read_to_string(out.join("node.txt"))
            .unwrap()
            .trim()
            .to_owned()
    });
    Run {
        findings: serde_json::from_str(&findings).unwrap(),
        node,
        stderr,
        network: network_records(&home),
    }
}

/// Checks that each attempt's finding starts with what its case expects, listing every one
/// that does not.
fn expect_findings(run: &Run, cases: &[(String, &str)]) {
    let mismatches: Vec<String> = cases
        .iter()
        .filter(|(a, expected)| {
            !run.findings[a]
                .as_str()
                .is_some_and(|got| got.starts_with(expected))
        })
        .map(|(a, expected)| format!("{a}: expected {expected:?}, got {}", run.findings[a]))
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}\n{}", run.stderr);
}

/// The `network` and `network.end` records of the audit trail under `home`.
fn network_records(home: &Path) -> Vec<Value> {
    let (code, stdout, stderr) = mcpguard_in(home, &["logs", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| r["event"].as_str().unwrap_or("").starts_with("network"))
        .collect()
}

/// The parts of a network record a test compares: event, verdict, rule, host, port, via.
fn summary(record: &Value) -> Value {
    json!([
        record["event"],
        record["decision"]["verdict"],
        record["decision"]["rule"],
        record["detail"]["host"],
        record["detail"]["port"],
        record["detail"]["via"],
    ])
}

const HOSTS: &str = "127.0.0.1 api.mcpguard.test\n127.0.0.1 db.mcpguard.test\n\
                     169.254.169.254 metadata.mcpguard.test\n";

#[test]
fn allowed_hosts_are_reached_through_the_proxy_and_transparently_as_root() {
    allowed_hosts_are_reached(Who::Root, true);
}

#[test]
fn allowed_hosts_are_reached_through_the_proxy_and_transparently_as_a_user() {
    allowed_hosts_are_reached(test_user(), false);
}

fn allowed_hosts_are_reached(who: Who, with_node: bool) {
    let upstream = upstream();
    let port = upstream.port;
    let api = format!("api.mcpguard.test:{port}");
    let banner_port = banner_server();
    let database = format!("db.mcpguard.test:{banner_port}");
    let attempts = vec![
        format!("proxy-get:http://{api}/via-proxy"),
        format!("direct-get:http://{api}/captured"),
        "resolve:api.mcpguard.test".to_owned(),
        // Not HTTP, and the server speaks first: judged by the name looked up.
        format!("banner:{database}"),
        // A listed loopback address and port, asked for directly (NO_PROXY): inside, the
        // port is captured and the filter reaches the host's listener.
        format!("direct-get:http://127.0.0.1:{port}/loopback"),
        "env:HTTPS_PROXY".to_owned(),
        "env:http_proxy".to_owned(),
        "env:NO_PROXY".to_owned(),
        "env:NODE_USE_ENV_PROXY".to_owned(),
    ];
    // The loopback address is named too, on each port: that is how a private destination
    // is allowed.
    let node_url = format!("http://{api}/node-fetch");
    let run = run_probe(
        who,
        HOSTS,
        &[
            "--allow-host",
            &api,
            "--allow-host",
            &database,
            "--allow-host",
            &format!("127.0.0.1:{port}"),
            "--allow-host",
            &format!("127.0.0.1:{banner_port}"),
        ],
        &attempts,
        with_node.then_some(node_url.as_str()),
    );
    let findings = &run.findings;
    assert_eq!(
        findings[&attempts[0]], "200 hello from upstream /via-proxy",
        "{}",
        run.stderr
    );
    assert_eq!(
        findings[&attempts[1]], "200 hello from upstream /captured",
        "{}",
        run.stderr
    );
    assert_eq!(findings[&attempts[3]], "220 banner from upstream");
    assert_eq!(findings[&attempts[4]], "200 hello from upstream /loopback");
    assert_eq!(
        [5, 6, 7, 8].map(|i| findings[&attempts[i]].clone()),
        [
            json!("http://127.0.0.1:3128"),
            json!("http://127.0.0.1:3128"),
            json!("localhost,127.0.0.1,::1"),
            json!("1")
        ],
        "the proxy variables name the filter"
    );
    let synthetic = findings[&attempts[2]].as_str().unwrap();
    assert!(
        synthetic.starts_with("198.18.") || synthetic.starts_with("198.19."),
        "names resolve to synthetic addresses inside, not {synthetic}"
    );
    // Node 20's fetch ignores the proxy variables; it is captured all the same.
    if with_node {
        assert_eq!(
            run.node.as_deref(),
            Some("200 hello from upstream /node-fetch"),
            "{}",
            run.stderr
        );
    }
    let fetches = if with_node { 4 } else { 3 };
    assert_eq!(upstream.hits.load(Ordering::SeqCst), fetches);
    let rule = format!("sandbox.allow-hosts:{api}");
    let mut allowed: Vec<Value> = run
        .network
        .iter()
        .filter(|r| r["event"] == "network" && r["detail"]["host"] == "api.mcpguard.test")
        .map(summary)
        .collect();
    if with_node {
        // Node 20 ignores the proxy variables (captured); Node 22.21+ honours them with
        // NODE_USE_ENV_PROXY (proxied). Either way it went through the filter.
        let node = allowed.last_mut().unwrap();
        assert!(node[5] == "capture" || node[5] == "proxy", "{node}");
        node[5] = json!("capture");
    }
    let mut expected = vec![json!([
        "network",
        "allow",
        rule,
        "api.mcpguard.test",
        port,
        "proxy"
    ])];
    // Every fetch but the one by loopback address went by name.
    expected.resize(
        fetches - 1,
        json!([
            "network",
            "allow",
            rule,
            "api.mcpguard.test",
            port,
            "capture"
        ]),
    );
    assert_eq!(allowed, expected);
    let ends: Vec<&Value> = run
        .network
        .iter()
        .filter(|r| r["event"] == "network.end" && r["detail"]["host"] == "api.mcpguard.test")
        .collect();
    assert_eq!(ends.len(), fetches - 1, "{:#?}", run.network);
    let by_address: Vec<Value> = run
        .network
        .iter()
        .filter(|r| r["event"] == "network" && r["detail"]["host"] == "127.0.0.1")
        .map(summary)
        .collect();
    let listed = format!("sandbox.allow-hosts:127.0.0.1:{port}");
    assert_eq!(
        by_address,
        vec![json!([
            "network",
            "allow",
            listed,
            "127.0.0.1",
            port,
            "capture"
        ])]
    );
    for end in ends {
        assert_eq!(end["detail"]["address"], format!("127.0.0.1:{port}"));
        assert!(end["detail"]["bytes_up"].as_u64().unwrap() > 0);
        assert!(end["detail"]["bytes_down"].as_u64().unwrap() > 0);
    }
}

#[test]
fn everything_else_is_refused_and_says_which_key_to_change_as_root() {
    everything_else_is_refused(Who::Root);
}

#[test]
fn everything_else_is_refused_and_says_which_key_to_change_as_a_user() {
    everything_else_is_refused(test_user());
}

fn everything_else_is_refused(who: Who) {
    let upstream = upstream();
    let port = upstream.port;
    let unlisted = TcpListener::bind("127.0.0.1:0").unwrap();
    let unlisted_port = unlisted.local_addr().unwrap().port();
    let api = format!("api.mcpguard.test:{port}");
    let attempt = |kind: &str, target: &str| format!("{kind}:{target}");
    let listed_refusal =
        format!("403 mcpguard: 127.0.0.1:{port} is not in sandbox.allow-hosts of profile default");
    let cases: Vec<(String, &str)> = vec![
        // A host the allowlist does not name: by proxy, captured, over TLS both ways.
        (
            attempt("proxy-get", "http://evil.mcpguard.test/x"),
            "403 mcpguard: evil.mcpguard.test:80 is not in sandbox.allow-hosts",
        ),
        (
            attempt("direct-get", "http://evil.mcpguard.test/x"),
            "403 mcpguard: evil.mcpguard.test:80 is not in sandbox.allow-hosts",
        ),
        (
            attempt("proxy-get", "https://evil.mcpguard.test/x"),
            "ERR Tunnel connection failed: 403 Forbidden",
        ),
        (
            attempt("tls", "evil.mcpguard.test:443"),
            "closed during handshake",
        ),
        // A listed name that resolves to loopback (DNS rebinding) or to cloud metadata.
        (
            attempt("proxy-get", &format!("http://{api}/")),
            "403 mcpguard: api.mcpguard.test resolves to 127.0.0.1 (loopback)",
        ),
        (
            attempt("direct-get", &format!("http://{api}/")),
            "403 mcpguard: api.mcpguard.test resolves to 127.0.0.1 (loopback)",
        ),
        (
            attempt(
                "proxy-get",
                "http://metadata.mcpguard.test/latest/meta-data/",
            ),
            "403 mcpguard: metadata.mcpguard.test resolves to 169.254.169.254 (link-local",
        ),
        // Cloud metadata by address, through the proxy (asked directly: clients skip the
        // proxy for addresses in NO_PROXY) and directly.
        (
            attempt("proxy-connect", "169.254.169.254:80"),
            "403 mcpguard: 169.254.169.254:80 is not in sandbox.allow-hosts",
        ),
        (attempt("connect", "169.254.169.254:80"), "ERR ENETUNREACH"),
        // Direct connections to addresses, bypassing the proxy variables: no route.
        (attempt("connect", "203.0.113.80:443"), "ERR ENETUNREACH"),
        (attempt("connect", "192.0.2.1:80"), "ERR ENETUNREACH"),
        // The host's loopback listeners: by proxy, and on the sandbox's own loopback.
        (
            attempt("proxy-connect", &format!("127.0.0.1:{port}")),
            &listed_refusal,
        ),
        (
            attempt("direct-get", &format!("http://127.0.0.1:{port}/")),
            &listed_refusal,
        ),
        (
            attempt("connect", &format!("127.0.0.1:{unlisted_port}")),
            "ERR EACCES",
        ),
        // The server may not listen on TCP either (Landlock, on Linux 6.7+).
        (attempt("bind", "127.0.0.1:8080"), "ERR EACCES"),
    ];
    let attempts: Vec<String> = cases.iter().map(|(a, _)| a.clone()).collect();
    let run = run_probe(
        who,
        HOSTS,
        &[
            "--allow-host",
            &api,
            "--allow-host",
            "metadata.mcpguard.test",
        ],
        &attempts,
        None,
    );
    expect_findings(&run, &cases);
    assert_eq!(
        upstream.hits.load(Ordering::SeqCst),
        0,
        "a refused request reached the host"
    );
    assert!(
        run.stderr.contains(
            "add \"evil.mcpguard.test:80\" to sandbox.allow-hosts or pass --allow-host evil.mcpguard.test:80"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "if that address is really meant, add \"127.0.0.1:{port}\" to sandbox.allow-hosts"
        )),
        "{}",
        run.stderr
    );
    let refused: Vec<Value> = run.network.iter().map(summary).collect();
    let deny = |rule: &str, host: &str, port: u16, via: &str| {
        json!(["network", "deny", rule, host, port, via])
    };
    let expected = vec![
        deny("sandbox.allow-hosts", "evil.mcpguard.test", 80, "proxy"),
        deny("sandbox.allow-hosts", "evil.mcpguard.test", 80, "capture"),
        deny("sandbox.allow-hosts", "evil.mcpguard.test", 443, "proxy"),
        deny("sandbox.allow-hosts", "evil.mcpguard.test", 443, "capture"),
        deny("network.address", "api.mcpguard.test", port, "proxy"),
        deny("network.address", "api.mcpguard.test", port, "capture"),
        deny("network.address", "metadata.mcpguard.test", 80, "proxy"),
        deny("sandbox.allow-hosts", "169.254.169.254", 80, "proxy"),
        deny("sandbox.allow-hosts", "127.0.0.1", port, "proxy"),
        deny("sandbox.allow-hosts", "127.0.0.1", port, "capture"),
    ];
    assert_eq!(refused, expected);
}

/// An allowed name cannot carry a request for another: whatever the client sends first is
/// checked against the name the connection was judged by, and a plain HTTP request goes
/// on alone, rewritten for that name.
#[test]
fn an_allowed_connection_cannot_be_steered_to_another_host() {
    let upstream = upstream();
    let port = upstream.port;
    let api = format!("api.mcpguard.test:{port}");
    let evil = "evil.mcpguard.test";
    let cases: Vec<(String, &str)> = vec![
        // Leading blank line: lenient servers skip it; the filter refuses it.
        (
            format!("raw:{api}:\\r\\nGET /crlf HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"),
            "closed",
        ),
        // Silent past the first-bytes wait, then another Host.
        (
            format!("raw-late:{api}:GET /late HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"),
            "closed",
        ),
        // An absolute-form target naming another host.
        (
            format!("raw:{api}:GET http://{evil}/absolute HTTP/1.1\\r\\nHost: {api}\\r\\n\\r\\n"),
            "403 mcpguard: the connection was for api.mcpguard.test but its request names \"evil",
        ),
        // A lowercase method, which lenient servers take for HTTP: it is HTTP here too.
        (
            format!("raw:{api}:get /lower HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"),
            "403 mcpguard: the connection was for api.mcpguard.test but its request names \"evil",
        ),
        // Two Host headers.
        (
            format!("raw:{api}:GET /two HTTP/1.1\\r\\nHost: {api}\\r\\nHost: {evil}\\r\\n\\r\\n"),
            "403 mcpguard: several Host headers",
        ),
        // A second request on a kept-alive connection: only the first goes on.
        (
            format!(
                "raw:{api}:GET /first HTTP/1.1\\r\\nHost: {api}\\r\\n\\r\\nGET /second HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"
            ),
            "200 hello from upstream /first",
        ),
        // Inside a CONNECT tunnel to an allowed name.
        (
            format!("tunnel:{api}:GET /tunnel HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"),
            "closed",
        ),
        // A proxied plain request keeps its URL's host, whatever Host it writes.
        (
            format!(
                "raw:127.0.0.1:3128:GET http://{api}/host-override HTTP/1.1\\r\\nHost: {evil}\\r\\n\\r\\n"
            ),
            "200 hello from upstream /host-override",
        ),
        // A TLS handshake naming another server.
        (format!("sni:{api}:{evil}"), "closed during handshake"),
    ];
    let attempts: Vec<String> = cases.iter().map(|(a, _)| a.clone()).collect();
    let run = run_probe(
        Who::Root,
        HOSTS,
        &[
            "--allow-host",
            &api,
            "--allow-host",
            &format!("127.0.0.1:{port}"),
        ],
        &attempts,
        None,
    );
    expect_findings(&run, &cases);
    let seen = upstream.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("/first".to_owned(), api.clone()),
            ("/host-override".to_owned(), api.clone()),
        ],
        "only the checked requests reached the host, each with the allowed Host"
    );
    let refused: Vec<Value> = run
        .network
        .iter()
        .filter(|r| r["decision"]["verdict"] == "deny")
        .map(|r| {
            json!([
                r["decision"]["rule"],
                r["detail"]["host"],
                r["detail"]["via"]
            ])
        })
        .collect();
    let content = |via: &str| json!(["network.content", "api.mcpguard.test", via]);
    assert_eq!(
        refused,
        vec![
            content("capture"),
            content("capture"),
            content("capture"),
            content("capture"),
            content("capture"),
            content("proxy"),
            content("capture"),
        ]
    );
}

/// With no network, Landlock (Linux 6.7+, as here) refuses TCP even on the sandbox's own
/// loopback: no listening, no connecting, whatever the port.
#[test]
fn no_network_refuses_tcp_even_on_loopback() {
    let attempts: Vec<String> = ["bind:127.0.0.1:8080", "connect:127.0.0.1:8080"]
        .map(str::to_owned)
        .to_vec();
    let cases: Vec<(String, &str)> = attempts.iter().map(|a| (a.clone(), "ERR EACCES")).collect();
    let run = run_probe(Who::Root, "", &["--net", "none"], &attempts, None);
    expect_findings(&run, &cases);
    assert_eq!(
        run.network,
        Vec::<Value>::new(),
        "no filter, no network records"
    );
}

/// A real launcher downloads a real server: only the registry is reachable, and the audit
/// trail shows every connection went there.
fn launcher_starts_a_real_server(name: &str, server: &[String], registry: &[&str], tool: &str) {
    let home = tempfile::tempdir().unwrap();
    let mut guard = Guarded::start_in(
        home.path(),
        None,
        &["--profile", "default", "--name", name],
        server,
        |_| {},
    );
    guard.send_json(&initialize(json!(1)));
    let patience = Duration::from_secs(240);
    let answer: Value = serde_json::from_slice(&guard.recv_within(patience)).unwrap();
    assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
    guard.send_json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    guard.send_json(&request(json!(2), "tools/list", json!({})));
    let listed: Value = serde_json::from_slice(&guard.recv_within(patience)).unwrap();
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&tool), "{names:?}");
    let (_, stderr) = guard.finish();
    assert!(
        stderr.contains(&format!(
            "only {} {} reachable for it",
            registry.join(" and "),
            if registry.len() > 1 { "are" } else { "is" }
        )),
        "{stderr}"
    );
    let (_, logs, _) = mcpguard_in(home.path(), &["logs", "--json"]);
    let start: Value = logs
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|r| r["event"] == "session.start")
        .unwrap();
    assert_eq!(start["detail"]["network"], "allowlist");
    assert_eq!(start["detail"]["allow_hosts"], json!(registry));
    let records = network_records(home.path());
    let opened: Vec<&Value> = records.iter().filter(|r| r["event"] == "network").collect();
    assert!(!opened.is_empty(), "no connection was recorded");
    for record in opened {
        assert_eq!(record["decision"]["verdict"], "allow", "{record}");
        let host = record["detail"]["host"].as_str().unwrap();
        assert!(registry.contains(&host), "{record}");
    }
}

#[test]
fn npx_downloads_a_real_server_from_the_npm_registry_and_nothing_else() {
    launcher_starts_a_real_server(
        "npx-memory",
        &[
            "npx".into(),
            "-y".into(),
            "@modelcontextprotocol/server-memory@2026.8.31".into(),
        ],
        &["registry.npmjs.org"],
        "read_graph",
    );
}

#[test]
fn uvx_downloads_a_real_server_from_pypi_and_nothing_else() {
    let uvx = peers().join("uv/bin/uvx");
    launcher_starts_a_real_server(
        "uvx-time",
        &[
            uvx.display().to_string(),
            "mcp-server-time==2026.10.19".into(),
        ],
        &["pypi.org", "files.pythonhosted.org"],
        "get_current_time",
    );
}

#[test]
fn the_plan_names_the_allowlist_and_contradictions_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let (code, stdout, stderr) = mcpguard_in(
        home,
        &["run", "--dry-run", "--", "npx", "-y", "some-server"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("allowlist through mcpguard's egress filter: registry.npmjs.org;"),
        "{stdout}"
    );
    let (_, stdout, _) = mcpguard_in(
        home,
        &[
            "run",
            "--dry-run",
            "--net",
            "none",
            "--",
            "npx",
            "-y",
            "some-server",
        ],
    );
    assert!(stdout.contains("network:         none"), "{stdout}");
    let (code, _, stderr) = mcpguard_in(
        home,
        &[
            "run",
            "--net",
            "host",
            "--allow-host",
            "a.example.com",
            "--",
            "true",
        ],
    );
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("--allow-host has no effect with the host network"),
        "{stderr}"
    );
    let (code, _, stderr) = mcpguard_in(home, &["run", "--allow-host", "*.com", "--", "true"]);
    assert_eq!(code, Some(125));
    assert!(stderr.contains("`*.com` is too broad"), "{stderr}");
}
