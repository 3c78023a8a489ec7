//! Moving bytes between a client in the sandbox and its destination.
//!
//! Owns: the byte counts and the activity clock of a connection, sending what was admitted
//! of the client's bytes (and nothing after a single plain request), the copy loops, and
//! the idle timeout.

use super::admit::Admitted;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A connection with no byte either way for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
pub(super) struct Counts {
    pub(crate) up: AtomicU64,
    pub(crate) down: AtomicU64,
    /// Milliseconds since the filter's epoch of the last byte either way.
    pub(crate) active: AtomicU64,
}

/// Sends what was admitted of the client's bytes to the destination.
pub(super) async fn forward(
    mut client: impl AsyncRead + Unpin,
    upstream: &mut (impl AsyncWrite + Unpin),
    admitted: Admitted,
    counts: &Counts,
    epoch: Instant,
) {
    match admitted {
        Admitted::Raw(bytes) => {
            if upstream.write_all(&bytes).await.is_err() {
                return;
            }
            counts.up.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            pump(client, upstream, &counts.up, &counts.active, epoch).await;
        }
        Admitted::Once { bytes, body_left } => {
            if upstream.write_all(&bytes).await.is_err() {
                return;
            }
            counts.up.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            // Exactly the body, then nothing more of the client's: a second request on this
            // connection would be judged by nobody. The destination is not told the
            // client is done (some servers take that as an abort); `Connection: close`
            // ends the exchange.
            let mut body = (&mut client).take(body_left);
            copy(&mut body, &mut *upstream, &counts.up, &counts.active, epoch).await;
        }
    }
}

/// Returns once no byte has moved for `IDLE_TIMEOUT`.
pub(super) async fn idle_watch(active: &AtomicU64, epoch: Instant) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 10).await;
        let idle_ms =
            (epoch.elapsed().as_millis() as u64).saturating_sub(active.load(Ordering::Relaxed));
        if idle_ms >= IDLE_TIMEOUT.as_millis() as u64 {
            return;
        }
    }
}

/// Copies `from` to `to` until EOF or an error, counting bytes, then shuts `to` down for
/// writing (so the other side sees the end, and the other direction goes on).
pub(super) async fn pump(
    from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    count: &AtomicU64,
    active: &AtomicU64,
    epoch: Instant,
) {
    copy(from, &mut to, count, active, epoch).await;
    let _ = to.shutdown().await;
}

/// Copies `from` to `to` until EOF or an error, counting bytes and noting activity.
async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    count: &AtomicU64,
    active: &AtomicU64,
    epoch: Instant,
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
                active.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
        }
    }
}
