//! Serving the sandbox's egress sockets: the proxy, the capture listeners, the names.
//!
//! Owns: the filter of a session and its thread, accepting connections, reading far enough
//! to know where each wants to go, the decision (allowlist, then the resolved addresses
//! against the special ranges), the connection to the destination, and the relay of each
//! connection through the first-bytes check (`admit`) to the copy loops (`relay`); what is
//! said about each is `records`.
//!
//! Nothing the client sends reaches the destination before that check has passed; the
//! destination's own first words (a protocol where the server speaks first) may reach the
//! client meanwhile.

use super::EgressConfig;
use super::address::{local_addresses, special_range};
use super::admit::{Admitted, admit, claimed_of, forward_once};
use super::allowlist::{Host, HostPattern};
use super::lock;
use super::names::{self, SyntheticNames};
use super::records::{Live, NetworkRecorder, Records};
use super::refusal::{Refusal, http_reply};
use super::relay::{Counts, forward, idle_watch, pump};
use super::sniff::{self, HttpHead, ProxyRequest, Sniffed};
use super::target::{Target, Via};
use crate::audit::DecisionRef;
use crate::sandbox::handoff::{self, Role};
use crate::sandbox::plan::SYNTHETIC_NETWORK;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// Connections served at once; more wait to be accepted. Each holds two descriptors.
const MAX_CONNECTIONS: usize = 256;
/// How long a client has to send its request head (proxy) or first bytes (capture).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a captured connection may stay silent before it is connected anyway (protocols
/// where the server speaks first: SMTP, MySQL); its first bytes are still checked.
const FIRST_BYTES_WAIT: Duration = Duration::from_millis(500);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) struct Opened {
    pub(super) upstream: TcpStream,
    pub(super) address: SocketAddr,
}

/// The egress filter of one session. The session keeps it to close the books at the end.
pub(crate) struct Filter {
    pub(super) config: EgressConfig,
    pub(super) names: Mutex<SyntheticNames>,
    /// What the filter records and says, and the connections still open.
    pub(crate) records: Records,
    /// This machine's own addresses, refused like loopback.
    pub(super) local: Vec<IpAddr>,
    pub(super) slots: Arc<Semaphore>,
    /// When the filter started, the origin of the activity clocks.
    pub(super) epoch: Instant,
}

/// Lifts the soft limit on open descriptors to the hard one: each relayed connection holds
/// two, and the usual soft limit of 1024 would otherwise be reached before the filter's
/// own cap, failing accepts, connects and the audit trail's own file opens alike.
fn raise_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::debug!("egress: could not raise the descriptor limit from {soft} to {hard}: {e}");
    }
}

impl Filter {
    /// The filter of a session whose server has already been started (so raising the
    /// descriptor limit here concerns the supervisor alone).
    pub(crate) fn new(config: EgressConfig, recorder: Arc<dyn NetworkRecorder>) -> Arc<Filter> {
        raise_descriptor_limit();
        Arc::new(Filter {
            config,
            names: Mutex::new(SyntheticNames::default()),
            records: Records::new(recorder),
            local: local_addresses(),
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Serves the egress sockets on a thread of their own, with its own reactor, so a bulk
/// download never queues in front of the JSON-RPC relay (and may use the other core).
pub(crate) fn start(channel: OwnedFd, filter: Arc<Filter>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("mcpguard-egress".into())
        .spawn(move || {
            runtime.block_on(async {
                serve(channel, filter).await;
                // The tasks serving the sockets live on this runtime: keep it, until the
                // process ends with the session.
                std::future::pending::<()>().await;
            });
        })?;
    Ok(())
}

/// Receives the egress sockets from the sandbox and serves them until the session ends.
async fn serve(channel: OwnedFd, filter: Arc<Filter>) {
    let received = tokio::task::spawn_blocking(move || handoff::receive(channel.as_fd())).await;
    let sockets = match received {
        Ok(Ok(sockets)) => sockets,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            // The sandbox failed before the server started, and said why itself.
            tracing::debug!("egress: {e}");
            return;
        }
        Ok(Err(e)) => {
            tracing::error!(
                "network allowlist: the sandbox's egress sockets could not be taken over ({e}); \
                 the server has no network at all this session"
            );
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
        match listener.accept().await {
            Ok((stream, _)) => {
                // At the cap, a new connection waits for a slot (its own descriptor is
                // already spent: the cap bounds the pairs, not the queue).
                let Ok(permit) = Arc::clone(&filter.slots).acquire_owned().await else {
                    return;
                };
                let filter = Arc::clone(&filter);
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
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

/// Reads from `reader` into `head` until `decide` gives an answer; `None` on EOF, error,
/// or silence past `HEAD_TIMEOUT`. `decide` is only asked when new bytes could change its
/// answer (`sniff::worth_sniffing`), and always once the head limit is reached.
async fn read_until<T>(
    reader: &mut (impl AsyncRead + Unpin),
    head: &mut Vec<u8>,
    decide: impl Fn(&[u8]) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut chunk = [0u8; 4096];
    let mut from = 0;
    loop {
        if (!head.is_empty() && sniff::worth_sniffing(head, from)) || head.len() >= sniff::MAX_HEAD
        {
            if let Some(done) = decide(head) {
                return Some(done);
            }
            if head.len() >= sniff::MAX_HEAD {
                return None;
            }
        }
        from = head.len();
        let room = (sniff::MAX_HEAD - head.len()).min(chunk.len());
        let read = tokio::time::timeout_at(deadline, reader.read(&mut chunk[..room])).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => head.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reads until the first bytes say what they are.
async fn read_sniffed(
    reader: &mut (impl AsyncRead + Unpin),
    head: &mut Vec<u8>,
) -> Option<Sniffed> {
    read_until(reader, head, |bytes| match sniff::sniff(bytes) {
        Sniffed::NeedMore => None,
        other => Some(other),
    })
    .await
}

async fn proxied(mut client: TcpStream, filter: &Filter) {
    let mut head = Vec::new();
    let request = read_until(&mut client, &mut head, |bytes| {
        match sniff::proxy_request(bytes) {
            ProxyRequest::NeedMore => None,
            other => Some(other),
        }
    })
    .await;
    let Some(request) = request else { return };
    let (host, port, admitted) = match request {
        ProxyRequest::NeedMore => return,
        ProxyRequest::Socks => {
            filter.records.refuse_protocol("a SOCKS5 client reached the HTTP proxy; only HTTP CONNECT and plain HTTP proxy requests are served");
            // SOCKS5: no acceptable authentication method.
            let _ = client.write_all(&[5, 0xff]).await;
            return;
        }
        ProxyRequest::Invalid(why) => {
            return bad_request(client, filter, &format!("invalid proxy request: {why}")).await;
        }
        ProxyRequest::Connect { host, port, rest } => (host, port, Gate::Check(rest)),
        ProxyRequest::Forward {
            host,
            port,
            path,
            head,
            rest,
        } => (host, port, Gate::Forward { path, head, rest }),
    };
    let host = match Host::checked(&host) {
        Ok(host) => host,
        Err(why) => {
            let why = format!("invalid destination in a proxy request: {why}");
            return bad_request(client, filter, &why).await;
        }
    };
    let host = match filter.unsynthesize(host.clone()) {
        Ok(host) => host,
        Err(refusal) => {
            let target = Target {
                host,
                port,
                via: Via::Proxy,
                claimed: None,
            };
            filter.records.record_refusal(&target, &refusal);
            let _ = client
                .write_all(&http_reply(refusal.status, &refusal.rule, &refusal.text()))
                .await;
            return;
        }
    };
    let mut target = Target {
        host,
        port,
        via: Via::Proxy,
        claimed: None,
    };
    // A plain request is checked (and rewritten) before anything is connected.
    let gate = match admitted {
        Gate::Forward { path, head, rest } => match forward_once(&head, &path, &rest, &target) {
            Ok(admitted) => Gate::Known(admitted),
            Err(refusal) => {
                filter.records.record_refusal(&target, &refusal);
                let _ = client
                    .write_all(&http_reply(refusal.status, &refusal.rule, &refusal.text()))
                    .await;
                return;
            }
        },
        other => other,
    };
    let tunnel = matches!(gate, Gate::Check(_));
    match filter.open(&target).await {
        Ok(opened) => {
            if tunnel
                && client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_err()
            {
                return;
            }
            filter.relay(client, opened, &mut target, gate).await;
        }
        Err(refusal) => {
            let _ = client
                .write_all(&http_reply(refusal.status, &refusal.rule, &refusal.text()))
                .await;
        }
    }
}

/// Refuses a proxy request that names no usable destination: recorded, explained, 400.
async fn bad_request(mut client: TcpStream, filter: &Filter, why: &str) {
    filter.records.refuse_protocol(why);
    let _ = client
        .write_all(&http_reply(
            400,
            "network.protocol",
            &format!("mcpguard: {why}\n"),
        ))
        .await;
}

/// What must happen to the client's bytes before they go on.
enum Gate {
    /// Already checked; forward these.
    Known(Admitted),
    /// Read and check the first bytes (these, and more) against the target's name.
    Check(Vec<u8>),
    /// A proxied plain HTTP request, still to be rewritten.
    Forward {
        path: String,
        head: HttpHead,
        rest: Vec<u8>,
    },
}

async fn captured(mut client: TcpStream, filter: &Filter) {
    let Ok(destination) = client.local_addr() else {
        return;
    };
    let address = destination.ip().to_canonical();
    let port = destination.port();
    let host = match filter.unsynthesize(Host::Address(address)) {
        Ok(host) => host,
        Err(refusal) => {
            let target = Target {
                host: Host::Address(address),
                port,
                via: Via::Capture,
                claimed: None,
            };
            filter.records.record_refusal(&target, &refusal);
            return;
        }
    };
    let mut target = Target {
        host,
        port,
        via: Via::Capture,
        claimed: None,
    };
    // Wait briefly for the client's first bytes, so most refusals need no connection; a
    // protocol whose server speaks first is connected, and its first bytes checked later.
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(FIRST_BYTES_WAIT, client.read(&mut chunk)).await {
        Ok(Ok(0) | Err(_)) => return,
        Ok(Ok(n)) => head.extend_from_slice(&chunk[..n]),
        Err(_) => {}
    }
    if head.is_empty() {
        if let Ok(opened) = filter.open(&target).await {
            filter
                .relay(client, opened, &mut target, Gate::Check(head))
                .await;
        }
        return;
    }
    let Some(sniffed) = read_sniffed(&mut client, &mut head).await else {
        return;
    };
    target.claimed = claimed_of(&sniffed);
    let is_http = matches!(sniffed, Sniffed::Http(_));
    let admitted = admit(sniffed, &head, &target);
    let opened = match admitted {
        Ok(admitted) => filter.open(&target).await.map(|opened| (opened, admitted)),
        Err(refusal) => {
            filter.records.record_refusal(&target, &refusal);
            Err(refusal)
        }
    };
    match opened {
        Ok((opened, admitted)) => {
            filter
                .relay(client, opened, &mut target, Gate::Known(admitted))
                .await;
        }
        Err(refusal) if is_http => {
            let _ = client
                .write_all(&http_reply(refusal.status, &refusal.rule, &refusal.text()))
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

impl Filter {
    /// A synthetic address as the name it was handed out for (a proxy request may name
    /// the address a lookup gave); other hosts unchanged.
    fn unsynthesize(&self, host: Host) -> Result<Host, Refusal> {
        match host {
            Host::Address(IpAddr::V4(v4)) if in_synthetic_range(v4) => {
                match lock(&self.names).name_of(v4) {
                    Some(name) => Ok(Host::Name(name.to_owned())),
                    None => Err(Refusal::denied(
                        "network.address",
                        format!(
                            "{v4} is a synthetic address the sandbox's name server never handed out"
                        ),
                        None,
                    )),
                }
            }
            other => Ok(other),
        }
    }

    /// Judges `target`, and connects to it when it is allowed.
    async fn open(&self, target: &Target) -> Result<Opened, Refusal> {
        let result = self.try_open(target).await;
        match result {
            Ok((opened, rule)) => {
                let allowed = DecisionRef {
                    verdict: "allow",
                    rule: &rule,
                    reason: "",
                };
                if self
                    .records
                    .record(target, allowed, Some(opened.address), None)
                {
                    return Ok(opened);
                }
                // Nothing passes that the trail does not hold: the connection is dropped
                // before a byte is relayed.
                let refusal = Refusal::denied(
                    "audit.on-failure",
                    "the audit trail cannot be written, so no connection is relayed".into(),
                    Some("free space or fix the permissions of mcpguard's state directory".into()),
                );
                self.records.record_refusal(target, &refusal);
                Err(refusal)
            }
            Err(refusal) => {
                self.records.record_refusal(target, &refusal);
                Err(refusal)
            }
        }
    }

    async fn try_open(&self, target: &Target) -> Result<(Opened, String), Refusal> {
        let allowlist = &self.config.allowlist;
        let shown = target.shown();
        let Some(pattern) = allowlist.permits(&target.host, target.port) else {
            let listable = HostPattern::parse(&shown).is_ok();
            let fix = match &target.host {
                _ if !listable => None,
                Host::Address(address) if address.is_loopback() => Some(format!(
                    "to let it reach {shown} on this machine, outside the sandbox, add \"{shown}\" \
                     to sandbox.allow-hosts or pass --allow-host {shown}"
                )),
                _ => Some(format!(
                    "to allow it, add \"{shown}\" to sandbox.allow-hosts or pass --allow-host {shown}"
                )),
            };
            return Err(Refusal::denied(
                "sandbox.allow-hosts",
                format!(
                    "{shown} is not in sandbox.allow-hosts of profile {}",
                    self.config.profile
                ),
                fix,
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
        let special = |address: IpAddr| {
            special_range(address).or_else(|| {
                self.local
                    .contains(&address)
                    .then_some("this machine's own address")
            })
        };
        let (permitted, refused): (Vec<IpAddr>, Vec<IpAddr>) = addresses
            .into_iter()
            .partition(|a| special(*a).is_none() || allowlist.names_address(*a, target.port));
        if permitted.is_empty() {
            let Some(first) = refused.first() else {
                return Err(Refusal::failed(format!("{} has no address", target.host)));
            };
            let range = special(*first).unwrap_or("special");
            let listed = SocketAddr::new(*first, target.port).to_string();
            let fix = HostPattern::parse(&listed).is_ok().then(|| {
                format!(
                    "if that address is really meant, add \"{listed}\" to sandbox.allow-hosts as well"
                )
            });
            return Err(Refusal::denied(
                "network.address",
                format!(
                    "{} resolves to {first} ({range}), which sandbox.allow-hosts does not name",
                    target.host
                ),
                fix,
            ));
        }
        let mut last_error = String::new();
        for address in permitted {
            let destination = SocketAddr::new(address, target.port);
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(destination)).await {
                Ok(Ok(upstream)) => {
                    let _ = upstream.set_nodelay(true);
                    return Ok((
                        Opened {
                            upstream,
                            address: destination,
                        },
                        rule,
                    ));
                }
                Ok(Err(e)) => last_error = format!("{destination}: {e}"),
                Err(_) => last_error = format!("{destination}: no answer within 15s"),
            }
        }
        Err(Refusal::failed(format!(
            "could not connect to {shown} ({last_error})"
        )))
    }

    /// Relays bytes both ways until both sides are done or the connection idles out, then
    /// records the counts. The client's bytes pass `gate` first; the destination's flow
    /// from the start.
    async fn relay(&self, client: TcpStream, opened: Opened, target: &mut Target, gate: Gate) {
        let counts = Arc::new(Counts::default());
        counts.active.store(self.now_ms(), Ordering::Relaxed);
        let number = self.records.opened(Live {
            detail: Records::detail(target, Some(opened.address)),
            started: Instant::now(),
            counts: Arc::clone(&counts),
        });
        let (mut client_read, client_write) = client.into_split();
        let (upstream_read, mut upstream_write) = opened.upstream.into_split();
        let epoch = self.epoch;
        let down_counts = Arc::clone(&counts);
        let mut down = tokio::spawn(async move {
            pump(
                upstream_read,
                client_write,
                &down_counts.down,
                &down_counts.active,
                epoch,
            )
            .await;
        });
        let up = async {
            let admitted = match gate {
                Gate::Known(admitted) => admitted,
                Gate::Forward { .. } => return Err(None),
                Gate::Check(mut head) => {
                    let Some(sniffed) = read_sniffed(&mut client_read, &mut head).await else {
                        // Gone or silent before saying anything checkable: end it all.
                        return Err(None);
                    };
                    if target.claimed.is_none() {
                        target.claimed = claimed_of(&sniffed);
                    }
                    admit(sniffed, &head, target).map_err(Some)?
                }
            };
            forward(client_read, &mut upstream_write, admitted, &counts, epoch).await;
            Ok::<(), Option<Refusal>>(())
        };
        let idle = idle_watch(&counts.active, epoch);
        tokio::select! {
            checked = up => match checked {
                Err(refusal) => {
                    down.abort();
                    if let Some(refusal) = refusal {
                        self.records.record_refusal(target, &refusal);
                    }
                }
                Ok(()) => {
                    tokio::select! {
                        _ = &mut down => {}
                        () = idle_watch(&counts.active, epoch) => down.abort(),
                    }
                }
            },
            () = idle => down.abort(),
        }
        self.records.closed(number);
    }
}

#[cfg(test)]
mod tests {
    use super::super::admit::absolute_authority;
    use super::*;

    /// Mutated requests, ClientHellos and DNS queries (flipped, cut, inserted bytes, from a
    /// fixed seed so every run tries the same inputs) through every parser the sandbox can
    /// reach: none may panic.
    #[test]
    fn no_bytes_from_the_sandbox_make_the_filter_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut hello = vec![0x16, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3];
        hello.extend_from_slice(&[7; 32]);
        hello.extend_from_slice(&[0, 0, 2, 0x13, 1, 1, 0, 0, 15, 0, 0, 0, 11, 0, 9, 0, 0, 6]);
        hello.extend_from_slice(b"api.ex");
        let mut query = vec![0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3];
        query.extend_from_slice(b"api\x07example\x00\x00\x01\x00\x01");
        let seeds: Vec<Vec<u8>> = vec![
            hello,
            query,
            b"GET http://api.example.com:8080/x?y#z HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01".to_vec(),
            b"EHLO a\r\n".to_vec(),
        ];
        let api = Target::named("api.example.com", 443);
        let mut names = SyntheticNames::default();
        for _ in 0..20_000 {
            let mut bytes = seeds[next() as usize % seeds.len()].clone();
            for _ in 0..next() % 6 {
                let at = next() as usize % (bytes.len() + 1);
                match next() % 3 {
                    0 if at < bytes.len() => bytes[at] = next() as u8,
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, next() as u8),
                }
            }
            let sniffed = sniff::sniff(&bytes);
            let _ = admit(sniffed, &bytes, &api);
            let _ = sniff::proxy_request(&bytes);
            for from in [0, bytes.len() / 2, bytes.len()] {
                let _ = sniff::worth_sniffing(&bytes, from);
            }
            let _ = names::answer(&bytes, &mut names);
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = Host::checked(text);
                let _ = sniff::split_authority(text);
                let _ = absolute_authority(text);
            }
        }
    }

    #[test]
    fn the_synthetic_range_is_recognised() {
        assert!(in_synthetic_range(Ipv4Addr::new(198, 18, 0, 2)));
        assert!(in_synthetic_range(Ipv4Addr::new(198, 19, 255, 254)));
        assert!(!in_synthetic_range(Ipv4Addr::new(198, 20, 0, 1)));
        assert!(!in_synthetic_range(Ipv4Addr::new(127, 0, 0, 1)));
    }
}
