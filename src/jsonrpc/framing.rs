//! Newline framing of a byte stream into bounded lines.
//!
//! Owns: splitting what arrives on a pipe into complete `\n`-terminated lines, enforcing the
//! size cap while scanning (never after), and handing each line on without copying it when it
//! filled the buffer by itself (large messages). It knows nothing about JSON.
//!
//! Why by hand: a streaming deserializer on a pipe dies on the first bad line, and a naive
//! "search the whole buffer after every read" is quadratic on long lines. Only the bytes that
//! just arrived are scanned, and the buffer grows geometrically with `Vec::reserve`, which on
//! glibc moves large buffers with `mremap` instead of copying them.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much is asked of the kernel per read when no long line is pending.
const READ_CHUNK: usize = 64 * 1024;
/// How much of an oversize line is kept so that its request id can still be recovered.
pub const OVERSIZE_PREFIX: usize = 4 * 1024;

/// One unit read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, exactly as received, including its `\n` (and any `\r` before it).
    /// A last line that ended at EOF without `\n` is reported with a `\n` appended.
    Line(Bytes),
    /// A line longer than the cap: it was discarded; `prefix` holds its first bytes and `len`
    /// its full length without the newline.
    Oversize { prefix: Bytes, len: usize },
}

/// Reads bounded lines from an async byte stream.
pub struct LineReader<R> {
    source: R,
    buf: Vec<u8>,
    /// Start of the first line not yet handed out.
    start: usize,
    /// Bytes in `buf[start..scanned]` are known to hold no `\n`.
    scanned: usize,
    max_line: usize,
    /// Set while dropping the rest of an oversize line: its prefix and length so far.
    discarding: Option<(Vec<u8>, usize)>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// `max_line` is the largest line accepted, newline excluded.
    pub fn new(source: R, max_line: usize) -> Self {
        Self {
            source,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            scanned: 0,
            max_line,
            discarding: None,
            eof: false,
        }
    }

    /// The next frame, or `None` at end of stream.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.take_buffered() {
                return Ok(Some(frame));
            }
            if self.eof {
                return Ok(self.take_tail());
            }
            self.fill().await?;
        }
    }

    /// A frame made only of bytes already buffered, if there is one.
    fn take_buffered(&mut self) -> Option<Frame> {
        let found = memchr::memchr(b'\n', &self.buf[self.scanned..]).map(|i| self.scanned + i);
        match found {
            Some(newline) => {
                let end = newline + 1;
                if let Some((mut prefix, dropped)) = self.discarding.take() {
                    Self::extend_prefix(&mut prefix, &self.buf[self.start..newline]);
                    let len = dropped + (newline - self.start);
                    self.consume(end);
                    return Some(Frame::Oversize {
                        prefix: Bytes::from(prefix),
                        len,
                    });
                }
                if newline - self.start > self.max_line {
                    let mut prefix = Vec::new();
                    Self::extend_prefix(&mut prefix, &self.buf[self.start..newline]);
                    let prefix = Bytes::from(prefix);
                    let len = newline - self.start;
                    self.consume(end);
                    return Some(Frame::Oversize { prefix, len });
                }
                Some(Frame::Line(self.split_line(end)))
            }
            None => {
                self.scanned = self.buf.len();
                let pending = self.buf.len() - self.start;
                if let Some((prefix, dropped)) = self.discarding.as_mut() {
                    Self::extend_prefix(prefix, &self.buf[self.start..]);
                    *dropped += pending;
                    self.consume(self.buf.len());
                } else if pending > self.max_line {
                    let mut prefix = Vec::new();
                    Self::extend_prefix(&mut prefix, &self.buf[self.start..]);
                    self.discarding = Some((prefix, pending));
                    self.consume(self.buf.len());
                }
                None
            }
        }
    }

    /// What is left at end of stream: an unterminated last line, or the end of an oversize one.
    fn take_tail(&mut self) -> Option<Frame> {
        if let Some((mut prefix, dropped)) = self.discarding.take() {
            Self::extend_prefix(&mut prefix, &self.buf[self.start..]);
            let len = dropped + (self.buf.len() - self.start);
            self.consume(self.buf.len());
            return Some(Frame::Oversize {
                prefix: Bytes::from(prefix),
                len,
            });
        }
        if self.start == self.buf.len() {
            return None;
        }
        let mut line = self.buf[self.start..].to_vec();
        line.push(b'\n');
        self.consume(self.buf.len());
        Some(Frame::Line(Bytes::from(line)))
    }

    fn extend_prefix(prefix: &mut Vec<u8>, more: &[u8]) {
        let room = OVERSIZE_PREFIX.saturating_sub(prefix.len());
        prefix.extend_from_slice(&more[..room.min(more.len())]);
    }

    /// Hands out `buf[start..end]`. A line that is the whole buffer is given away without a
    /// copy (this is the large-message path); shorter ones are copied, which is cheaper than
    /// keeping a large buffer alive for a small message.
    fn split_line(&mut self, end: usize) -> Bytes {
        if self.start == 0 && end == self.buf.len() {
            let whole = std::mem::replace(&mut self.buf, Vec::with_capacity(READ_CHUNK));
            self.start = 0;
            self.scanned = 0;
            return Bytes::from(whole);
        }
        let line = Bytes::copy_from_slice(&self.buf[self.start..end]);
        self.consume(end);
        line
    }

    fn consume(&mut self, end: usize) {
        self.start = end;
        self.scanned = end;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
            if self.buf.capacity() > 4 * READ_CHUNK {
                self.buf = Vec::with_capacity(READ_CHUNK);
            }
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        if self.start > 0 && self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            // Move the partial line to the front before growing, so growth never carries
            // already-handed-out bytes along.
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.reserve(READ_CHUNK);
        let read = self.source.read_buf(&mut self.buf).await?;
        if read == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A reader that yields the given chunks one read at a time.
    struct Chunks(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            out: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some(mut chunk) = self.0.pop_front() {
                let n = chunk.len().min(out.remaining());
                out.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn frames(chunks: &[&[u8]], max: usize) -> Vec<Frame> {
        let source = Chunks(chunks.iter().map(|c| c.to_vec()).collect());
        let mut reader = LineReader::new(source, max);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut out = Vec::new();
            while let Some(frame) = reader.next_frame().await.unwrap() {
                out.push(frame);
            }
            out
        })
    }

    fn line(text: &str) -> Frame {
        Frame::Line(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn splits_lines_and_keeps_crlf() {
        assert_eq!(
            frames(&[b"{\"a\":1}\n{\"b\":2}\r\n"], 100),
            vec![line("{\"a\":1}\n"), line("{\"b\":2}\r\n")]
        );
    }

    #[test]
    fn joins_a_line_split_across_many_reads() {
        let chunks: Vec<&[u8]> = vec![b"{\"a\"", b":", b"12", b"3}", b"\n{", b"}\n"];
        assert_eq!(
            frames(&chunks, 100),
            vec![line("{\"a\":123}\n"), line("{}\n")]
        );
    }

    #[test]
    fn unterminated_last_line_gets_a_newline() {
        assert_eq!(
            frames(&[b"{}\n{\"x\":1}"], 100),
            vec![line("{}\n"), line("{\"x\":1}\n")]
        );
    }

    #[test]
    fn oversize_line_is_reported_and_the_next_line_survives() {
        let long = format!("{{\"id\":7,\"p\":\"{}\"}}", "x".repeat(50));
        let input = format!("{long}\n{{}}\n");
        let chunks: Vec<&[u8]> = input.as_bytes().chunks(8).collect();
        assert_eq!(
            frames(&chunks, 20),
            vec![
                Frame::Oversize {
                    prefix: Bytes::copy_from_slice(long.as_bytes()),
                    len: long.len()
                },
                line("{}\n"),
            ]
        );
    }

    #[test]
    fn oversize_in_one_read_is_reported() {
        assert_eq!(
            frames(&[b"0123456789abc\nok\n"], 10),
            vec![
                Frame::Oversize {
                    prefix: Bytes::from_static(b"0123456789abc"),
                    len: 13
                },
                line("ok\n"),
            ]
        );
    }

    #[test]
    fn oversize_at_eof_is_reported() {
        assert_eq!(
            frames(&[b"0123456789", b"abcdef"], 10),
            vec![Frame::Oversize {
                prefix: Bytes::from_static(b"0123456789abcdef"),
                len: 16
            }]
        );
    }

    #[test]
    fn line_exactly_at_the_cap_is_accepted() {
        assert_eq!(frames(&[b"0123456789\n"], 10), vec![line("0123456789\n")]);
    }

    #[test]
    fn large_line_is_handed_over_whole() {
        let big = format!("{}\n", "y".repeat(3 * READ_CHUNK));
        let chunks: Vec<&[u8]> = big.as_bytes().chunks(1000).collect();
        assert_eq!(frames(&chunks, 1 << 20), vec![line(&big)]);
    }
}
