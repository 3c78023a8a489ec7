//! The approval socket: each running session serves one, `mcpguard approve` talks to them.
//!
//! Owns: binding `<pid>.sock` (0600) in the private approval directory, accepting only
//! connections whose peer (SO_PEERCRED) is this user, reading bounded request lines and
//! answering them through a `Desk` (the session's table of pending approvals), removing the
//! socket when the session ends; and, for the approver, finding the sockets of running
//! sessions and asking one. The server in the sandbox cannot reach the directory: it is not
//! in its view.

use super::peer::Origin;
use super::wire::{self, Reply, Request};
use super::{Answer, Approver, Choice};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// What the socket answers from: the session's pending approvals.
pub(crate) trait Desk: Send + Sync + 'static {
    fn pending(&self) -> Vec<wire::View>;
    fn answer(&self, id: &str, answer: Answer) -> Result<(), String>;
}

/// The bound socket; the file goes when this does.
pub(crate) struct Bound {
    path: PathBuf,
}

impl Bound {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connections served at once; more are closed at once (an approver needs one).
const MAX_CONNECTIONS: usize = 16;
/// How long a connection may stay silent before it is closed.
const IDLE: Duration = Duration::from_secs(30);

/// Binds this process's socket in `dir` and serves it with `desk` (needs a runtime);
/// `origin` tells which processes may answer.
pub(crate) fn serve(dir: &Path, desk: Arc<dyn Desk>, origin: Origin) -> std::io::Result<Bound> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("{}.sock", std::process::id()));
    // Only a process with this pid (an earlier one, long gone) can have left it.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let me = nix::unistd::geteuid().as_raw();
    let open = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors, most likely: wait rather than spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                drop(stream);
                continue;
            }
            let credentials = stream.peer_cred().ok();
            let uid = credentials.map(|c| c.uid());
            let pid = credentials
                .and_then(|c| c.pid())
                .and_then(|p| u32::try_from(p).ok());
            let desk = Arc::clone(&desk);
            let open = Arc::clone(&open);
            open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                match (uid, pid) {
                    (Some(uid), Some(pid)) if uid == me => {
                        converse(stream, Peer { uid, pid }, origin, desk).await;
                    }
                    (other, _) => refuse(stream, other, me).await,
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Ok(Bound { path })
}

async fn refuse(stream: UnixStream, uid: Option<u32>, me: u32) {
    let who = uid.map_or_else(|| "an unknown uid".to_owned(), |u| format!("uid {u}"));
    // The request is read (bounded, and not for long) but never acted on, so a client that
    // writes before it reads gets the refusal rather than a broken pipe.
    let (read, mut stream) = stream.into_split();
    let mut request = String::new();
    let mut bounded = BufReader::new(read).take(wire::MAX_LINE as u64);
    let _ = tokio::time::timeout(Duration::from_secs(1), bounded.read_line(&mut request)).await;
    tracing::warn!(
        "refused an approval connection from {who}: only uid {me} may approve this session's calls"
    );
    let reply = Reply::refused(format!(
        "only uid {me} may approve this session's calls, and this connection is from {who}"
    ));
    let _ = stream.write_all(line(&reply).as_bytes()).await;
}

fn line(reply: &Reply) -> String {
    let mut text = serde_json::to_string(reply).unwrap_or_else(|_| r#"{"ok":false}"#.to_owned());
    text.push('\n');
    text
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
struct Peer {
    uid: u32,
    pid: u32,
}

async fn converse(stream: UnixStream, peer: Peer, origin: Origin, desk: Arc<dyn Desk>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read).take(wire::MAX_LINE as u64 * 64);
    let mut text = String::new();
    loop {
        text.clear();
        match tokio::time::timeout(IDLE, reader.read_line(&mut text)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => return,
            Ok(Ok(n)) if n > wire::MAX_LINE => {
                let _ = write
                    .write_all(line(&Reply::refused("request line too long")).as_bytes())
                    .await;
                return;
            }
            Ok(_) => {}
        }
        let reply = match serde_json::from_str::<Request>(&text) {
            Ok(Request::List) => Reply {
                pending: Some(desk.pending()),
                ..Reply::done()
            },
            Ok(Request::Answer {
                id,
                allow,
                scope,
                pattern,
            }) => match origin.refusal(peer.pid) {
                Some(why) => {
                    tracing::warn!(
                        "refused an answer to approval {} from pid {}: {why}",
                        crate::terminal::escape(&id),
                        peer.pid
                    );
                    Reply::refused(format!("this answer is not taken: {why}"))
                }
                None => {
                    let answer = Answer {
                        choice: if allow {
                            Choice::Allow(scope)
                        } else {
                            Choice::Deny(format!(
                                "denied with mcpguard approve (uid {}, pid {})",
                                peer.uid, peer.pid
                            ))
                        },
                        approver: Approver::Socket {
                            uid: peer.uid,
                            pid: peer.pid,
                            program: super::peer::program(peer.pid)
                                .map(|p| p.display().to_string()),
                        },
                        pattern,
                    };
                    match desk.answer(&id, answer) {
                        Ok(()) => Reply::done(),
                        Err(why) => Reply::refused(why),
                    }
                }
            },
            Err(e) => Reply::refused(format!("unreadable request: {e}")),
        };
        if write.write_all(line(&reply).as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The sockets of running sessions in `dir`: (pid, path), by pid.
pub(crate) fn sessions(dir: &Path) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid = name.to_str()?.strip_suffix(".sock")?.parse().ok()?;
            Some((pid, entry.path()))
        })
        .collect();
    found.sort();
    found
}

/// Asks the session at `path` one request (blocking, bounded in time).
pub(crate) fn ask(path: &Path, request: &Request) -> std::io::Result<Reply> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut text = serde_json::to_string(request).map_err(std::io::Error::other)?;
    text.push('\n');
    stream.write_all(text.as_bytes())?;
    let mut answer = String::new();
    // A reply lists pending calls with their arguments: bounded all the same.
    std::io::Read::take(std::io::BufReader::new(stream), 64 << 20).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(|e| {
        std::io::Error::other(format!("unreadable reply from {}: {e}", path.display()))
    })
}
