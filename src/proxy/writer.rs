//! The one writer of each pipe.
//!
//! Owns: writing whole lines to one destination in the order they were queued, batching
//! the lines that are already waiting into one write, and closing the destination when told.
//! Every producer (the relay of the other direction, mcpguard's own replies, timers) queues
//! here, so frames never interleave and each direction keeps its order.

use bytes::Bytes;
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

/// Small lines are gathered up to this size into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// A line on its way, holding its share of the byte budget until it is written.
#[derive(Debug)]
pub(crate) struct Queued {
    line: Bytes,
    _budget: OwnedSemaphorePermit,
}

/// The producer side of a writer. Memory is bounded in bytes, not messages: a producer
/// waits when `budget` bytes are queued and not yet written (backpressure toward the peer
/// that sends faster than the other side reads).
#[derive(Debug, Clone)]
pub(crate) struct LineSender {
    queue: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
    budget_bytes: usize,
    close: Arc<watch::Sender<bool>>,
}

impl LineSender {
    /// Queues a line; `false` when the writer is gone (its destination failed or closed).
    pub(crate) async fn send(&self, line: Bytes) -> bool {
        let share = line.len().clamp(1, self.budget_bytes) as u32;
        let Ok(permit) = Arc::clone(&self.budget).acquire_many_owned(share).await else {
            return false;
        };
        self.queue
            .send(Queued {
                line,
                _budget: permit,
            })
            .is_ok()
    }

    /// Asks the writer to close its destination once what is queued now is written. Never
    /// waits, so a peer that stopped reading cannot stall the caller.
    pub(crate) fn close(&self) {
        self.close.send_replace(true);
    }
}

/// How a writer ended.
#[derive(Debug)]
pub(crate) enum WriterEnd {
    /// Told to close, or every producer went away.
    Closed,
    /// The destination refused a write (the reader went away).
    Failed(std::io::Error),
}

/// The consumer side, handed to [`write_lines`].
#[derive(Debug)]
pub(crate) struct LineQueue {
    queue: mpsc::UnboundedReceiver<Queued>,
    budget: Arc<Semaphore>,
    close: watch::Receiver<bool>,
}

/// A writer's queue holding at most `budget_bytes` unwritten bytes (a single larger line
/// is let through alone).
pub(crate) fn channel(budget_bytes: usize) -> (LineSender, LineQueue) {
    let budget_bytes = budget_bytes.clamp(1, u32::MAX as usize);
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(budget_bytes));
    let (close_tx, close_rx) = watch::channel(false);
    (
        LineSender {
            queue: tx,
            budget: Arc::clone(&budget),
            budget_bytes,
            close: Arc::new(close_tx),
        },
        LineQueue {
            queue: rx,
            budget,
            close: close_rx,
        },
    )
}

/// Gathers consecutive outgoing lines that a reader already has in hand, so a burst of small
/// messages costs one queue hand-off instead of one per message. Lines keep their order.
#[derive(Debug, Default)]
pub(crate) struct Coalescer {
    pending: Vec<u8>,
}

impl Coalescer {
    /// Takes `line`; returns what should be sent now. When `more_ready` is false (the reader
    /// would have to wait for input), everything gathered is released so nothing is delayed.
    pub(crate) fn push(&mut self, line: Bytes, more_ready: bool) -> Option<Bytes> {
        if self.pending.is_empty() && (!more_ready || line.len() >= BATCH_BYTES) {
            return Some(line);
        }
        self.pending.extend_from_slice(&line);
        (!more_ready || self.pending.len() >= BATCH_BYTES).then(|| self.take())
    }

    /// Whether nothing is waiting to be released.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Releases whatever was gathered.
    pub(crate) fn flush(&mut self) -> Option<Bytes> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(BATCH_BYTES),
        ))
    }
}

/// Writes queued lines to `destination` until closed; the destination is dropped at the end.
pub(crate) async fn write_lines<W: AsyncWrite + Unpin>(
    mut destination: W,
    mut queue: LineQueue,
) -> WriterEnd {
    let end = match drive(&mut destination, &mut queue, None).await {
        Ok(_) => finish(destination).await,
        Err(e) => WriterEnd::Failed(e),
    };
    // Wake producers waiting for budget: nothing more will be written.
    queue.budget.close();
    end
}

/// How a writer that may be paused stopped.
#[derive(Debug)]
pub(crate) enum Stopped<W> {
    /// Told to pause: every line it took from the queue is written; the rest wait in the
    /// queue for the next destination.
    Paused(W, LineQueue),
    /// Ended as [`write_lines`] ends.
    Ended(WriterEnd),
}

/// Like [`write_lines`], but gives the queue back (with the destination) when `pause`
/// turns true, so another destination can take over where this one stopped (a restarted
/// server). The lines are kept in order across the switch and none is lost.
pub(crate) async fn write_lines_until_paused<W: AsyncWrite + Unpin>(
    mut destination: W,
    mut queue: LineQueue,
    mut pause: watch::Receiver<bool>,
) -> Stopped<W> {
    let end = match drive(&mut destination, &mut queue, Some(&mut pause)).await {
        Ok(Stop::Paused) => return Stopped::Paused(destination, queue),
        Ok(Stop::Closed) => finish(destination).await,
        Err(e) => WriterEnd::Failed(e),
    };
    queue.budget.close();
    Stopped::Ended(end)
}

async fn finish<W: AsyncWrite + Unpin>(mut destination: W) -> WriterEnd {
    if let Err(e) = destination.flush().await {
        return WriterEnd::Failed(e);
    }
    // Best effort: a pipe has nothing to shut down, and the drop closes it.
    let _ = destination.shutdown().await;
    WriterEnd::Closed
}

/// Whether a pause is asked for. Read between lines on the hot path: the version check is
/// one atomic load, and the value (behind a lock) is read only once a pause was ever sent.
fn pause_asked(pause: &watch::Receiver<bool>) -> bool {
    pause.has_changed().unwrap_or(false) && *pause.borrow()
}

enum Stop {
    Closed,
    Paused,
}

async fn drive<W: AsyncWrite + Unpin>(
    destination: &mut W,
    queue: &mut LineQueue,
    mut pause: Option<&mut watch::Receiver<bool>>,
) -> std::io::Result<Stop> {
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    loop {
        if pause.as_deref().is_some_and(pause_asked) {
            return Ok(Stop::Paused);
        }
        let first = tokio::select! {
            biased;
            _ = async {
                match pause.as_mut() {
                    Some(p) => { let _ = p.wait_for(|paused| *paused).await; }
                    None => std::future::pending::<()>().await,
                }
            } => return Ok(Stop::Paused),
            item = queue.queue.recv() => item,
            _ = queue.close.wait_for(|closing| *closing) => None,
        };
        let closing = first.is_none();
        let mut next = first.or_else(|| queue.queue.try_recv().ok());
        while let Some(Queued { line, .. }) = next.take() {
            if line.len() >= BATCH_BYTES {
                flush(destination, &mut batch).await?;
                destination.write_all(&line).await?;
            } else {
                batch.extend_from_slice(&line);
                if batch.len() >= BATCH_BYTES {
                    flush(destination, &mut batch).await?;
                }
            }
            // A pause takes effect between lines: what was taken is written first.
            if pause.as_deref().is_some_and(pause_asked) {
                break;
            }
            next = queue.queue.try_recv().ok();
        }
        flush(destination, &mut batch).await?;
        if closing {
            return Ok(Stop::Closed);
        }
    }
}

async fn flush<W: AsyncWrite + Unpin>(
    destination: &mut W,
    batch: &mut Vec<u8>,
) -> std::io::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    destination.write_all(batch).await?;
    destination.flush().await?;
    batch.clear();
    if batch.capacity() > 4 * BATCH_BYTES {
        *batch = Vec::with_capacity(BATCH_BYTES);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn coalescer_keeps_order_and_never_holds_the_last_line() {
        let mut c = Coalescer::default();
        assert_eq!(
            c.push(Bytes::from_static(b"a\n"), false),
            Some(Bytes::from_static(b"a\n"))
        );
        assert_eq!(c.push(Bytes::from_static(b"b\n"), true), None);
        assert_eq!(c.push(Bytes::from_static(b"c\n"), true), None);
        assert_eq!(
            c.push(Bytes::from_static(b"d\n"), false),
            Some(Bytes::from_static(b"b\nc\nd\n"))
        );
        assert_eq!(c.flush(), None);
        assert_eq!(c.push(Bytes::from_static(b"e\n"), true), None);
        assert_eq!(c.flush(), Some(Bytes::from_static(b"e\n")));
    }

    #[test]
    fn writes_in_order_then_closes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = channel(1 << 20);
            let big = Bytes::from(vec![b'x'; BATCH_BYTES + 1]);
            tx.send(Bytes::from_static(b"a\n")).await;
            tx.send(big.clone()).await;
            tx.send(Bytes::from_static(b"b\n")).await;
            tx.close();
            let mut out = Vec::new();
            let end = write_lines(&mut out, rx).await;
            assert!(!tx.send(Bytes::from_static(b"after close\n")).await);
            assert!(matches!(end, WriterEnd::Closed));
            let mut expected = b"a\n".to_vec();
            expected.extend_from_slice(&big);
            expected.extend_from_slice(b"b\n");
            assert_eq!(out, expected);
        });
    }

    #[test]
    fn a_paused_writer_hands_its_queue_to_the_next_destination_in_order() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = channel(1 << 20);
            let (pause, paused) = watch::channel(false);
            tx.send(Bytes::from_static(b"a\n")).await;
            let first = tokio::spawn(write_lines_until_paused(Vec::new(), rx, paused));
            // Let it write what is queued, then pause it; what comes later waits.
            tokio::task::yield_now().await;
            pause.send_replace(true);
            tx.send(Bytes::from_static(b"b\n")).await;
            let Stopped::Paused(old, queue) = first.await.unwrap() else {
                panic!("the writer did not pause");
            };
            tx.send(Bytes::from_static(b"c\n")).await;
            tx.close();
            let mut new = Vec::new();
            let end = write_lines(&mut new, queue).await;
            assert!(matches!(end, WriterEnd::Closed));
            assert_eq!((old, new), (b"a\n".to_vec(), b"b\nc\n".to_vec()));
        });
    }

    #[test]
    fn producers_wait_for_the_byte_budget() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = channel(10);
            assert!(tx.send(Bytes::from_static(b"123456\n")).await);
            // A second 7-byte line does not fit in 10 bytes until the first is written.
            let blocked = tokio::time::timeout(
                std::time::Duration::from_millis(50),
                tx.send(Bytes::from_static(b"abcdef\n")),
            )
            .await;
            assert!(blocked.is_err());
            // A line larger than the whole budget still goes through, alone.
            let writer = tokio::spawn(write_lines(Vec::new(), rx));
            assert!(tx.send(Bytes::from(vec![b'z'; 100])).await);
            tx.close();
            assert!(matches!(writer.await.unwrap(), WriterEnd::Closed));
        });
    }
}
