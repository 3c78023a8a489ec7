//! Serving the sandbox's egress sockets: the proxy, the capture listeners, the names.
//!
//! Owns: accepting connections, reading far enough to know where each wants to go, the
//! decision (allowlist, then the resolved addresses against the special ranges), the
//! connection to the destination, the byte relay, and what is said about each: an audit
//! record, an HTTP 403 or 502 where the protocol allows one, a line on stderr.

use super::EgressConfig;
use super::address::special_range;
use super::allowlist::Host;
use super::names::{self, SyntheticNames};
use super::sniff::{self, ProxyRequest, Sniffed};
use crate::audit::Verdict;
use crate::proxy::shared::Shared;
use crate::sandbox::handoff::{self, Role};
use crate::sandbox::plan::SYNTHETIC_NETWORK;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 512;
/// How long a client has to send its request head (proxy) or first bytes (capture).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a captured connection may stay silent before it is judged by name alone
/// (protocols where the server speaks first: SMTP, MySQL).
const FIRST_BYTES_WAIT: Duration = Duration::from_millis(500);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How a connection reached the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Through the HTTP proxy the proxy variables name.
    Proxy,
    /// Captured on its way to a (synthetic or listed) address.
    Capture,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Proxy => "proxy",
            Via::Capture => "capture",
        }
    }
}

/// Where a connection wants to go, and what it said about it.
#[derive(Debug, Clone)]
struct Target {
    host: Host,
    port: u16,
    via: Via,
    /// The TLS server name or HTTP Host a captured connection sent.
    claimed: Option<String>,
}

/// Why a connection did not go through.
#[derive(Debug)]
struct Refusal {
    /// deny (policy) or error (lookup, connect).
    verdict: &'static str,
    rule: String,
    reason: String,
    /// What the user can change, for stderr and the 403 body.
    fix: Option<String>,
    status: u16,
}

struct Opened {
    upstream: TcpStream,
    address: SocketAddr,
    rule: String,
}

/// The egress filter of one session. The session keeps it to close the books at the end.
pub struct Filter {
    config: EgressConfig,
    names: Mutex<SyntheticNames>,
    shared: Arc<Shared>,
    /// Refusals already explained on stderr this session.
    told: Mutex<HashSet<String>>,
    slots: Arc<Semaphore>,
    /// Allowed connections still open, by number, so the session's end can record them.
    open: Mutex<HashMap<u64, Live>>,
    next_connection: AtomicU64,
}

/// An allowed connection in progress.
struct Live {
    detail: serde_json::Value,
    started: Instant,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    up: AtomicU64,
    down: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Filter {
    pub fn new(config: EgressConfig, shared: Arc<Shared>) -> Arc<Filter> {
        Arc::new(Filter {
            config,
            names: Mutex::new(SyntheticNames::default()),
            shared,
            told: Mutex::new(HashSet::new()),
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            open: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        })
    }

    /// Records every connection still open (the session is ending, and they with it).
    pub fn close_all(&self) {
        let open: Vec<Live> = lock(&self.open).drain().map(|(_, live)| live).collect();
        for live in open {
            self.record_end(live, true);
        }
    }

    fn record_end(&self, live: Live, at_session_end: bool) {
        let mut detail = live.detail;
        detail["bytes_up"] = json!(live.counts.up.load(Ordering::Relaxed));
        detail["bytes_down"] = json!(live.counts.down.load(Ordering::Relaxed));
        if at_session_end {
            detail["open_at_session_end"] = json!(true);
        }
        if let Some(audit) = self.shared.lock().audit.as_mut() {
            audit.network_end(live.started.elapsed().as_secs_f64() * 1000.0, detail);
        }
    }
}

/// Receives the egress sockets from the sandbox and serves them until the session ends.
pub async fn serve(channel: OwnedFd, filter: Arc<Filter>) {
    let received = tokio::task::spawn_blocking(move || handoff::receive(channel.as_fd())).await;
    let sockets = match received {
        Ok(Ok(sockets)) => sockets,
        Ok(Err(e)) => {
            // The sandbox failed before the server started, and said why itself.
            tracing::debug!("egress: {e}");
            return;
        }
        Err(e) => {
            tracing::error!("egress: the handoff task failed: {e}");
            return;
        }
    };
    for (role, fd) in sockets {
        let filter = Arc::clone(&filter);
        let started = match role {
            Role::Proxy | Role::Capture(_) => {
                let via = if role == Role::Proxy {
                    Via::Proxy
                } else {
                    Via::Capture
                };
                tcp_listener(fd).map(|listener| {
                    tokio::spawn(accept(listener, via, filter));
                })
            }
            Role::Names => udp_socket(fd).map(|socket| {
                tokio::spawn(answer_names(socket, filter));
            }),
        };
        if let Err(e) = started {
            tracing::error!("egress: could not serve the {role:?} socket: {e}");
        }
    }
}

fn tcp_listener(fd: OwnedFd) -> std::io::Result<TcpListener> {
    let listener = std::net::TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

fn udp_socket(fd: OwnedFd) -> std::io::Result<UdpSocket> {
    let socket = std::net::UdpSocket::from(fd);
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}

async fn answer_names(socket: UdpSocket, filter: Arc<Filter>) {
    let mut buffer = [0u8; 1500];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let reply = names::answer(&buffer[..length], &mut lock(&filter.names));
        if let Some(reply) = reply {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn accept(listener: TcpListener, via: Via, filter: Arc<Filter>) {
    loop {
        let Ok(permit) = Arc::clone(&filter.slots).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let filter = Arc::clone(&filter);
                tokio::spawn(async move {
                    match via {
                        Via::Proxy => proxied(stream, &filter).await,
                        Via::Capture => captured(stream, &filter).await,
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of descriptors, usually; wait rather than spin.
                tracing::debug!("egress: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads from `stream` into `head` until `ready` says it has enough; `None` on EOF,
/// error, or when the client stays silent past `HEAD_TIMEOUT`.
async fn read_head<T>(
    stream: &mut TcpStream,
    head: &mut Vec<u8>,
    ready: impl Fn(&[u8]) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(done) = ready(head) {
            return Some(done);
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => head.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn proxied(mut client: TcpStream, filter: &Filter) {
    let mut head = Vec::new();
    let request = read_head(&mut client, &mut head, |bytes| {
        match sniff::proxy_request(bytes) {
            ProxyRequest::NeedMore => None,
            other => Some(other),
        }
    })
    .await;
    let Some(request) = request else { return };
    let (host, port, first_bytes, tunnel) = match request {
        ProxyRequest::NeedMore => return,
        ProxyRequest::Socks => {
            filter.tell_once(
                "socks",
                "network: a SOCKS5 client reached the HTTP proxy; only HTTP CONNECT and \
                 plain HTTP proxy requests are served",
            );
            // SOCKS5: no acceptable authentication method.
            let _ = client.write_all(&[5, 0xff]).await;
            return;
        }
        ProxyRequest::Invalid(why) => {
            let _ = client
                .write_all(&http_reply(
                    400,
                    "invalid-request",
                    &format!("mcpguard: {why}"),
                ))
                .await;
            return;
        }
        ProxyRequest::Connect { host, port, rest } => (host, port, rest, true),
        ProxyRequest::Forward { host, port, head } => (host, port, head, false),
    };
    let target = Target {
        host: Host::parse(&host),
        port,
        via: Via::Proxy,
        claimed: None,
    };
    match filter.open(&target).await {
        Ok(mut opened) => {
            if tunnel
                && client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_err()
            {
                return;
            }
            filter
                .relay(client, &mut opened, &target, &first_bytes)
                .await;
        }
        Err(refusal) => {
            let body = refusal_text(&refusal);
            let _ = client
                .write_all(&http_reply(refusal.status, &refusal.rule, &body))
                .await;
        }
    }
}

async fn captured(mut client: TcpStream, filter: &Filter) {
    let Ok(destination) = client.local_addr() else {
        return;
    };
    let address = destination.ip().to_canonical();
    let port = destination.port();
    let synthetic = match address {
        IpAddr::V4(v4) if in_synthetic_range(v4) => Some(v4),
        _ => None,
    };
    let looked_up = synthetic.and_then(|v4| lock(&filter.names).name_of(v4).map(str::to_owned));
    // Wait briefly for the client's first bytes; a protocol whose server speaks first is
    // judged by the name it looked up.
    let mut head = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    if let Ok(Ok(n)) = tokio::time::timeout(FIRST_BYTES_WAIT, client.read(&mut chunk)).await {
        if n == 0 {
            return;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let sniffed = if head.is_empty() {
        Sniffed::Other
    } else {
        match read_head(&mut client, &mut head, |bytes| match sniff::sniff(bytes) {
            Sniffed::NeedMore => None,
            other => Some(other),
        })
        .await
        {
            Some(sniffed) => sniffed,
            None => return,
        }
    };
    let is_http = matches!(sniffed, Sniffed::Http(_));
    let claimed = match &sniffed {
        Sniffed::Tls(Some(name)) | Sniffed::Http(Some(name)) => Some(name.clone()),
        _ => None,
    };
    let host = match &looked_up {
        Some(name) => Host::Name(name.clone()),
        None => Host::Address(address),
    };
    let target = Target {
        host,
        port,
        via: Via::Capture,
        claimed: claimed.clone(),
    };
    let refusal = if synthetic.is_some() && looked_up.is_none() {
        Some(Refusal::denied(
            "network.address",
            format!(
                "{address}:{port} is a synthetic address the sandbox's name server never handed out"
            ),
            None,
        ))
    } else if address.is_loopback() {
        Some(Refusal::denied(
            "network.address",
            format!("nothing in the sandbox listens on {address}:{port}"),
            None,
        ))
    } else if let (Some(name), Some(claimed)) = (&looked_up, &claimed)
        && Host::parse(claimed) != Host::Name(name.clone())
    {
        Some(Refusal::denied(
            "network.mismatch",
            format!(
                "the connection was for {name} but its {} names {claimed}",
                if is_http {
                    "Host header"
                } else {
                    "TLS server name"
                }
            ),
            None,
        ))
    } else {
        None
    };
    let opened = match refusal {
        Some(refusal) => {
            filter.record_refusal(&target, &refusal);
            Err(refusal)
        }
        None => filter.open(&target).await,
    };
    match opened {
        Ok(mut opened) => filter.relay(client, &mut opened, &target, &head).await,
        Err(refusal) if is_http => {
            let body = refusal_text(&refusal);
            let _ = client
                .write_all(&http_reply(refusal.status, &refusal.rule, &body))
                .await;
        }
        // TLS and other protocols have no way to carry a reason: the connection closes,
        // and the reason is on stderr and in the audit trail.
        Err(_) => {}
    }
}

fn in_synthetic_range(address: Ipv4Addr) -> bool {
    let (network, prefix) = SYNTHETIC_NETWORK;
    let mask = u32::MAX << (32 - u32::from(prefix));
    u32::from(address) & mask == u32::from(network)
}

impl Refusal {
    fn denied(rule: &str, reason: String, fix: Option<String>) -> Refusal {
        Refusal {
            verdict: "deny",
            rule: rule.to_owned(),
            reason,
            fix,
            status: 403,
        }
    }

    fn failed(reason: String) -> Refusal {
        Refusal {
            verdict: "error",
            rule: "network.upstream".to_owned(),
            reason,
            fix: None,
            status: 502,
        }
    }
}

fn refusal_text(refusal: &Refusal) -> String {
    match &refusal.fix {
        Some(fix) => format!("mcpguard: {}; {fix}\n", refusal.reason),
        None => format!("mcpguard: {}\n", refusal.reason),
    }
}

fn http_reply(status: u16, rule: &str, body: &str) -> Vec<u8> {
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Bad Gateway",
    };
    let rule: String = rule
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         X-Mcpguard-Rule: {rule}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl Filter {
    /// Judges `target`, and connects to it when it is allowed.
    async fn open(&self, target: &Target) -> Result<Opened, Refusal> {
        let result = self.try_open(target).await;
        match &result {
            Ok(opened) => self.record(
                target,
                Verdict {
                    verdict: "allow",
                    rule: &opened.rule,
                    reason: "",
                },
                Some(opened.address),
            ),
            Err(refusal) => self.record_refusal(target, refusal),
        }
        result
    }

    async fn try_open(&self, target: &Target) -> Result<Opened, Refusal> {
        let allowlist = &self.config.allowlist;
        let shown = format!("{}:{}", target.host, target.port);
        let Some(pattern) = allowlist.permits(&target.host, target.port) else {
            return Err(Refusal::denied(
                "sandbox.allow-hosts",
                format!(
                    "{shown} is not in sandbox.allow-hosts of profile {}",
                    self.config.profile
                ),
                Some(format!(
                    "to allow it, add \"{shown}\" to sandbox.allow-hosts or pass --allow-host {shown}"
                )),
            ));
        };
        let rule = format!("sandbox.allow-hosts:{}", pattern.text);
        let addresses: Vec<IpAddr> = match &target.host {
            Host::Address(address) => vec![*address],
            Host::Name(name) => {
                let lookup = tokio::net::lookup_host((name.as_str(), target.port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => {
                        let mut addresses: Vec<IpAddr> =
                            found.map(|a| a.ip().to_canonical()).collect();
                        addresses.dedup();
                        addresses
                    }
                    Ok(Err(e)) => {
                        return Err(Refusal::failed(format!("could not resolve {name}: {e}")));
                    }
                    Err(_) => {
                        return Err(Refusal::failed(format!(
                            "could not resolve {name} within {}s",
                            RESOLVE_TIMEOUT.as_secs()
                        )));
                    }
                }
            }
        };
        let (permitted, special): (Vec<IpAddr>, Vec<IpAddr>) = addresses
            .into_iter()
            .partition(|a| special_range(*a).is_none() || allowlist.names_address(*a));
        if permitted.is_empty() {
            let Some(first) = special.first() else {
                return Err(Refusal::failed(format!("{} has no address", target.host)));
            };
            let range = special_range(*first).unwrap_or("special");
            return Err(Refusal::denied(
                "network.address",
                format!(
                    "{} resolves to {first} ({range}), which sandbox.allow-hosts does not name",
                    target.host
                ),
                Some(format!(
                    "if that address is really meant, add \"{first}\" to sandbox.allow-hosts as well"
                )),
            ));
        }
        let mut last_error = String::new();
        for address in permitted {
            let destination = SocketAddr::new(address, target.port);
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(destination)).await {
                Ok(Ok(upstream)) => {
                    let _ = upstream.set_nodelay(true);
                    return Ok(Opened {
                        upstream,
                        address: destination,
                        rule,
                    });
                }
                Ok(Err(e)) => last_error = format!("{destination}: {e}"),
                Err(_) => last_error = format!("{destination}: no answer within 15s"),
            }
        }
        Err(Refusal::failed(format!(
            "could not connect to {shown} ({last_error})"
        )))
    }

    fn detail(&self, target: &Target, address: Option<SocketAddr>) -> serde_json::Value {
        let mut detail = json!({
            "host": target.host,
            "port": target.port,
            "via": target.via.name(),
        });
        if let Some(claimed) = &target.claimed {
            detail["claimed"] = json!(claimed);
        }
        if let Some(address) = address {
            detail["address"] = json!(address.to_string());
        }
        detail
    }

    fn record(&self, target: &Target, verdict: Verdict<'_>, address: Option<SocketAddr>) {
        let detail = self.detail(target, address);
        if let Some(audit) = self.shared.lock().audit.as_mut() {
            audit.network(verdict, detail);
        }
    }

    fn record_refusal(&self, target: &Target, refusal: &Refusal) {
        self.record(
            target,
            Verdict {
                verdict: refusal.verdict,
                rule: &refusal.rule,
                reason: &refusal.reason,
            },
            None,
        );
        let what = if refusal.verdict == "deny" {
            "refused"
        } else {
            "failed"
        };
        let line = format!(
            "network: {what} {}:{} (via {}): {}{}",
            target.host,
            target.port,
            target.via.name(),
            refusal.reason,
            refusal
                .fix
                .as_ref()
                .map(|fix| format!("; {fix}"))
                .unwrap_or_default()
        );
        self.tell_once(&line.clone(), &line);
    }

    /// Says `line` on stderr, once per session for each `key`.
    fn tell_once(&self, key: &str, line: &str) {
        if lock(&self.told).insert(key.to_owned()) {
            tracing::warn!("{line}");
        }
    }

    /// Relays bytes both ways until both sides are done, then records the counts.
    async fn relay(
        &self,
        client: TcpStream,
        opened: &mut Opened,
        target: &Target,
        first_bytes: &[u8],
    ) {
        let counts = Arc::new(Counts::default());
        let number = self.next_connection.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(
            number,
            Live {
                detail: self.detail(target, Some(opened.address)),
                started: Instant::now(),
                counts: Arc::clone(&counts),
            },
        );
        let _ = client.set_nodelay(true);
        if opened.upstream.write_all(first_bytes).await.is_ok() {
            counts
                .up
                .fetch_add(first_bytes.len() as u64, Ordering::Relaxed);
            let (client_read, client_write) = client.into_split();
            let (upstream_read, upstream_write) = opened.upstream.split();
            tokio::join!(
                pump(client_read, upstream_write, &counts.up),
                pump(upstream_read, client_write, &counts.down),
            );
        }
        let live = lock(&self.open).remove(&number);
        if let Some(live) = live {
            self.record_end(live, false);
        }
    }
}

/// Copies `from` to `to` until EOF or an error, counting bytes, then shuts `to` down for
/// writing (so the other side sees the end, and the other direction goes on).
async fn pump(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    count: &AtomicU64,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn refusals_are_plain_http_answers_with_the_rule() {
        let refusal = Refusal::denied(
            "sandbox.allow-hosts",
            "evil.example:443 is not in sandbox.allow-hosts of profile default".into(),
            Some("to allow it, pass --allow-host evil.example:443".into()),
        );
        let body = refusal_text(&refusal);
        assert_eq!(
            String::from_utf8(http_reply(403, &refusal.rule, &body)).unwrap(),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n\
             X-Mcpguard-Rule: sandbox.allow-hosts\r\nContent-Length: 125\r\nConnection: close\r\n\r\n\
             mcpguard: evil.example:443 is not in sandbox.allow-hosts of profile default; to allow it, \
             pass --allow-host evil.example:443\n"
        );
    }

    #[test]
    fn the_synthetic_range_is_recognised() {
        assert!(in_synthetic_range(Ipv4Addr::new(198, 18, 0, 2)));
        assert!(in_synthetic_range(Ipv4Addr::new(198, 19, 255, 254)));
        assert!(!in_synthetic_range(Ipv4Addr::new(198, 20, 0, 1)));
        assert!(!in_synthetic_range(Ipv4Addr::new(127, 0, 0, 1)));
    }
}
