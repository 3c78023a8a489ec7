//! The one writer of each pipe.
//!
//! Owns: writing whole lines to one destination in the order they were queued, batching
//! the lines that are already waiting into one write, and closing the destination when told.
//! Every producer (the relay of the other direction, mcpguard's own replies, timers) queues
//! here, so frames never interleave and each direction keeps its order.

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Lines waiting per pipe before producers wait (backpressure toward the reader).
pub const QUEUE_DEPTH: usize = 256;
/// Small lines are gathered up to this size into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// What a producer asks of a writer.
#[derive(Debug)]
pub enum Outgoing {
    Line(Bytes),
    /// Write what is queued before this, then close the destination.
    Close,
}

/// The producer side of a writer.
#[derive(Debug, Clone)]
pub struct LineSender(mpsc::Sender<Outgoing>);

impl LineSender {
    /// Queues a line; `false` when the writer is gone (its destination failed or closed).
    pub async fn send(&self, line: Bytes) -> bool {
        self.0.send(Outgoing::Line(line)).await.is_ok()
    }

    /// Asks the writer to close its destination after what is queued.
    pub async fn close(&self) {
        // A writer that is already gone has nothing left to close.
        let _ = self.0.send(Outgoing::Close).await;
    }
}

/// How a writer ended.
#[derive(Debug)]
pub enum WriterEnd {
    /// Told to close, or every producer went away.
    Closed,
    /// The destination refused a write (the reader went away).
    Failed(std::io::Error),
}

/// A writer task's queue; run [`write_lines`] with the receiver.
pub fn channel() -> (LineSender, mpsc::Receiver<Outgoing>) {
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    (LineSender(tx), rx)
}

/// Writes queued lines to `destination` until closed; the destination is dropped at the end.
pub async fn write_lines<W: AsyncWrite + Unpin>(
    mut destination: W,
    mut queue: mpsc::Receiver<Outgoing>,
) -> WriterEnd {
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    while let Some(first) = queue.recv().await {
        let mut closing = false;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Close => {
                    closing = true;
                    break;
                }
                Outgoing::Line(line) if line.len() >= BATCH_BYTES => {
                    if let Err(e) = flush(&mut destination, &mut batch).await {
                        return WriterEnd::Failed(e);
                    }
                    if let Err(e) = destination.write_all(&line).await {
                        return WriterEnd::Failed(e);
                    }
                }
                Outgoing::Line(line) => {
                    batch.extend_from_slice(&line);
                    if batch.len() >= BATCH_BYTES
                        && let Err(e) = flush(&mut destination, &mut batch).await
                    {
                        return WriterEnd::Failed(e);
                    }
                }
            }
            next = queue.try_recv().ok();
        }
        if let Err(e) = flush(&mut destination, &mut batch).await {
            return WriterEnd::Failed(e);
        }
        if closing {
            break;
        }
    }
    if let Err(e) = destination.flush().await {
        return WriterEnd::Failed(e);
    }
    // Best effort: a pipe has nothing to shut down, and the drop below closes it.
    let _ = destination.shutdown().await;
    WriterEnd::Closed
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
    fn writes_in_order_then_closes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = channel();
            let big = Bytes::from(vec![b'x'; BATCH_BYTES + 1]);
            tx.send(Bytes::from_static(b"a\n")).await;
            tx.send(big.clone()).await;
            tx.send(Bytes::from_static(b"b\n")).await;
            tx.close().await;
            tx.send(Bytes::from_static(b"after close\n")).await;
            let mut out = Vec::new();
            let end = write_lines(&mut out, rx).await;
            assert!(matches!(end, WriterEnd::Closed));
            let mut expected = b"a\n".to_vec();
            expected.extend_from_slice(&big);
            expected.extend_from_slice(b"b\n");
            assert_eq!(out, expected);
        });
    }
}
