//! Newline framing of a byte stream into bounded lines.
//!
//! Owns: splitting what arrives on a pipe into complete `\n`-terminated lines, enforcing the
//! size cap while scanning (never after), and handing each line on without copying it (a
//! view of the read buffer). It knows nothing about JSON.
//!
//! Why by hand: a streaming deserializer on a pipe dies on the first bad line, and a naive
//! "search the whole buffer after every read" is quadratic on long lines. Only the bytes that
//! just arrived are scanned, and the buffer grows geometrically.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much is asked of the kernel per read when no long line is pending.
const READ_CHUNK: usize = 64 * 1024;
/// How much of an oversize line is kept so that its request id can still be recovered.
pub(crate) const OVERSIZE_PREFIX: usize = 4 * 1024;

/// One unit read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete line, exactly as received, including its `\n` (and any `\r` before it).
    /// A last line that ended at EOF without `\n` is reported with a `\n` appended.
    Line(Bytes),
    /// A line longer than the cap: it was discarded; `prefix` and `suffix` hold its first and
    /// last bytes (where its id is written), and `len` its full length without the newline.
    Oversize {
        prefix: Bytes,
        suffix: Bytes,
        len: usize,
    },
}

/// What is kept of an oversize line while the rest of it is dropped.
#[derive(Debug, Default)]
struct Discarded {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    len: usize,
}

impl Discarded {
    fn take_in(&mut self, bytes: &[u8]) {
        let room = OVERSIZE_PREFIX.saturating_sub(self.prefix.len());
        self.prefix
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
        let keep = bytes.len().min(OVERSIZE_PREFIX);
        self.suffix.extend_from_slice(&bytes[bytes.len() - keep..]);
        if self.suffix.len() > OVERSIZE_PREFIX {
            self.suffix.drain(..self.suffix.len() - OVERSIZE_PREFIX);
        }
        self.len += bytes.len();
    }

    fn into_frame(self) -> Frame {
        Frame::Oversize {
            prefix: Bytes::from(self.prefix),
            suffix: Bytes::from(self.suffix),
            len: self.len,
        }
    }
}

/// A line longer than this leaves the buffer it was read into (see `take_buffered`).
const RELEASE_ABOVE: usize = 1 << 20;

/// Reads bounded lines from an async byte stream.
pub(crate) struct LineReader<R> {
    source: R,
    /// What was read and not yet handed out; a line is split off it without a copy.
    buf: BytesMut,
    /// Bytes in `buf[..scanned]` are known to hold no `\n`.
    scanned: usize,
    max_line: usize,
    /// Set while dropping the rest of an oversize line.
    discarding: Option<Discarded>,
    /// Set while a line longer than `RELEASE_ABOVE` grows in a buffer of its own.
    growing_alone: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// `max_line` is the largest line accepted, newline excluded.
    pub(crate) fn new(source: R, max_line: usize) -> Self {
        Self {
            source,
            buf: BytesMut::with_capacity(READ_CHUNK),
            scanned: 0,
            max_line,
            discarding: None,
            growing_alone: false,
            eof: false,
        }
    }

    /// The next frame, or `None` at end of stream.
    pub(crate) async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
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

    /// Whether a complete line (or the end of an oversize one) is already buffered, so
    /// that the next [`next_frame`](Self::next_frame) returns without waiting for input.
    pub(crate) fn has_buffered_line(&self) -> bool {
        memchr::memchr(b'\n', &self.buf[self.scanned..]).is_some()
    }

    /// A frame made only of bytes already buffered, if there is one.
    fn take_buffered(&mut self) -> Option<Frame> {
        let found = memchr::memchr(b'\n', &self.buf[self.scanned..]).map(|i| self.scanned + i);
        match found {
            Some(newline) => {
                let end = newline + 1;
                if self.discarding.is_some() || newline > self.max_line {
                    let mut discarded = self.discarding.take().unwrap_or_default();
                    discarded.take_in(&self.buf[..newline]);
                    self.consume(end);
                    return Some(discarded.into_frame());
                }
                // The line is handed out as a view of the buffer: no copy, no allocation.
                self.scanned = 0;
                self.growing_alone = false;
                let line = self.buf.split_to(end).freeze();
                if line.len() > RELEASE_ABOVE {
                    // The rest of the buffer still shares the line's allocation, which would
                    // then stay resident after the line is written: the few bytes read past
                    // it move to a buffer of their own, and the allocation goes with the line.
                    let mut rest = BytesMut::with_capacity(READ_CHUNK.max(self.buf.len()));
                    rest.extend_from_slice(&self.buf);
                    self.buf = rest;
                }
                Some(Frame::Line(line))
            }
            None => {
                self.scanned = self.buf.len();
                if self.discarding.is_some() || self.buf.len() > self.max_line {
                    let mut discarded = self.discarding.take().unwrap_or_default();
                    discarded.take_in(&self.buf[..]);
                    self.discarding = Some(discarded);
                    self.consume(self.buf.len());
                }
                None
            }
        }
    }

    /// What is left at end of stream: an unterminated last line, or the end of an oversize one.
    fn take_tail(&mut self) -> Option<Frame> {
        if let Some(mut discarded) = self.discarding.take() {
            discarded.take_in(&self.buf[..]);
            self.consume(self.buf.len());
            return Some(discarded.into_frame());
        }
        if self.buf.is_empty() {
            return None;
        }
        let mut line = self.buf.split().to_vec();
        line.push(b'\n');
        self.scanned = 0;
        Some(Frame::Line(Bytes::from(line)))
    }

    fn consume(&mut self, end: usize) {
        self.buf.advance(end);
        self.scanned = self.scanned.saturating_sub(end);
        // What is left is the start of another line, which has not grown yet.
        self.growing_alone = false;
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        // Room for a read; `reserve` reuses the buffer's own space once the lines handed
        // out of it are gone. A long line doubles the room each time (asking for only one
        // more chunk would copy the line once per chunk: quadratic), and only the new bytes
        // are scanned, so a long line costs linear time.
        if self.buf.len() > RELEASE_ABOVE && !self.growing_alone {
            // A long line grows in a buffer no earlier line shares, which the allocator can
            // enlarge in place (a shared one is copied at every doubling, two copies of the
            // line resident at once).
            let mut alone = BytesMut::with_capacity(2 * self.buf.len());
            alone.extend_from_slice(&self.buf);
            self.buf = alone;
            self.growing_alone = true;
        }
        self.buf.reserve(READ_CHUNK.max(self.buf.len()));
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
                    suffix: Bytes::copy_from_slice(long.as_bytes()),
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
                    suffix: Bytes::from_static(b"0123456789abc"),
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
                suffix: Bytes::from_static(b"0123456789abcdef"),
                len: 16
            }]
        );
    }

    #[test]
    fn a_long_oversize_line_keeps_its_first_and_last_bytes() {
        let body = format!(
            "{}{}{}",
            "a".repeat(OVERSIZE_PREFIX),
            "b".repeat(3 * READ_CHUNK),
            "c".repeat(OVERSIZE_PREFIX)
        );
        let input = format!("{body}\nok\n");
        let chunks: Vec<&[u8]> = input.as_bytes().chunks(1000).collect();
        assert_eq!(
            frames(&chunks, 100),
            vec![
                Frame::Oversize {
                    prefix: Bytes::from("a".repeat(OVERSIZE_PREFIX)),
                    suffix: Bytes::from("c".repeat(OVERSIZE_PREFIX)),
                    len: body.len()
                },
                line("ok\n"),
            ]
        );
    }

    #[test]
    fn line_exactly_at_the_cap_is_accepted() {
        assert_eq!(frames(&[b"0123456789\n"], 10), vec![line("0123456789\n")]);
    }

    #[test]
    fn a_large_line_leaves_the_buffer_and_what_follows_it_survives() {
        let big = format!("{}\n", "y".repeat(RELEASE_ABOVE + 1));
        let first = format!("{big}{{\"a\"");
        let source = Chunks([first.into_bytes(), b":1}\n".to_vec()].into());
        let mut reader = LineReader::new(source, 4 << 20);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert_eq!(reader.next_frame().await.unwrap(), Some(line(&big)));
            // Nothing of the large line's allocation is kept for reading on.
            assert!(
                reader.buf.capacity() <= READ_CHUNK,
                "{}",
                reader.buf.capacity()
            );
            assert_eq!(
                reader.next_frame().await.unwrap(),
                Some(line("{\"a\":1}\n"))
            );
            assert_eq!(reader.next_frame().await.unwrap(), None);
        });
    }

    #[test]
    fn large_line_is_handed_over_whole() {
        let big = format!("{}\n", "y".repeat(3 * READ_CHUNK));
        let chunks: Vec<&[u8]> = big.as_bytes().chunks(1000).collect();
        assert_eq!(frames(&chunks, 1 << 20), vec![line(&big)]);
    }
}
