//! Entry points for the cargo-fuzz targets in `fuzz/`, and for nothing else.
//!
//! Owns: one plain function per parser that bytes from the sandboxed server can reach
//! (the egress sniffer, the DNS answerer, the line framing, id recovery, the message
//! parse). Each calls the real code and throws the result away: a fuzz target only looks
//! for panics, hangs and memory blow-ups, and for the strict content parse's lighter forms
//! refusing other text than it does. Keeping the targets behind this one module means
//! they do not break when the modules they test move or become `pub(crate)`.
//!
//! Compiled only under cargo-fuzz's `--cfg fuzzing`, so the shipped binary and the
//! library's public surface do not carry it.

use crate::egress::allowlist::Host;
use crate::egress::names::{self, SyntheticNames};
use crate::egress::sniff::{self, Sniffed};
use crate::jsonrpc::framing::{Frame, LineReader, OVERSIZE_PREFIX};
use crate::jsonrpc::message::{self, Kind, Parsed};
use crate::jsonrpc::{content, id_recovery};
use serde_json::Value;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The first bytes of a connection through the egress filter: what it is, the proxy
/// request forms, the re-sniff check, and what is derived from a parsed HTTP head.
pub fn sniff(bytes: &[u8]) {
    if let Sniffed::Http(head) = sniff::sniff(bytes) {
        let _ = head.hosts();
        let _ = head.body_length();
        let _ = head.rebuild(&head.target, "host.example");
    }
    let _ = sniff::proxy_request(bytes);
    for from in [0, 1, bytes.len() / 2, bytes.len()] {
        let _ = sniff::worth_sniffing(bytes, from);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = sniff::split_authority(text);
        let _ = sniff::origin_path(text);
        let _ = Host::checked(text);
    }
}

/// One datagram to the sandbox's name server, answered from a fresh table and, when it
/// was answered, again from the table it filled (the cached path).
pub fn dns_answer(bytes: &[u8]) {
    let mut table = SyntheticNames::default();
    if names::answer(bytes, &mut table).is_some() {
        let _ = names::answer(bytes, &mut table);
    }
}

/// The server's stdout through the line framing with a `max_line` cap, delivered in reads
/// of the sizes `chunk_sizes` cycles through (so that lines and the cap fall across reads
/// at every place); each frame goes on to id recovery as the relay's would.
///
/// Panics when the frames are not the stream cut at its newlines (`Replay`): a line the
/// relay splits or joins differently from the server would be judged as another message.
pub fn frame_lines(bytes: &[u8], max_line: usize, chunk_sizes: &[u8]) {
    let source = InMemory {
        rest: bytes,
        chunk_sizes,
        next_size: 0,
    };
    let mut reader = LineReader::new(source, max_line);
    // The source never says "pending", so every read finishes on its first poll and no
    // runtime is needed: a tokio runtime per input would cost more than the parse.
    let mut context = Context::from_waker(std::task::Waker::noop());
    let mut replay = Replay {
        stream: bytes,
        at: 0,
        max_line,
    };
    loop {
        let mut next = std::pin::pin!(reader.next_frame());
        let frame = match next.as_mut().poll(&mut context) {
            Poll::Ready(Ok(Some(frame))) => frame,
            Poll::Ready(Ok(None) | Err(_)) => {
                assert_eq!(replay.at, bytes.len(), "frames end before the stream");
                return;
            }
            // Unreachable with an in-memory source; a panic here is a finding.
            Poll::Pending => panic!("LineReader waited on a source that is always ready"),
        };
        replay.check(&frame);
        match frame {
            Frame::Line(line) => {
                let _ = id_recovery::recover(&line, None);
            }
            Frame::Oversize { prefix, suffix, .. } => {
                let _ = id_recovery::recover(&prefix, Some(&suffix));
            }
        }
    }
}

/// Walks the stream alongside the frames: each must be the next line of the stream, as
/// `Frame` documents it.
struct Replay<'a> {
    stream: &'a [u8],
    at: usize,
    max_line: usize,
}

impl Replay<'_> {
    fn check(&mut self, frame: &Frame) {
        let rest = &self.stream[self.at..];
        let ends = memchr::memchr(b'\n', rest);
        // The line without its newline, and how much of the stream it used.
        let (line, used) = match ends {
            Some(newline) => (&rest[..newline], newline + 1),
            None => (rest, rest.len()),
        };
        assert!(used > 0, "a frame after the end of the stream");
        match frame {
            Frame::Line(got) => {
                assert!(
                    line.len() <= self.max_line,
                    "a line over the cap was not oversize"
                );
                assert_eq!(
                    got.strip_suffix(b"\n"),
                    Some(line),
                    "a line is not the stream's"
                );
            }
            Frame::Oversize {
                prefix,
                suffix,
                len,
            } => {
                assert!(
                    line.len() > self.max_line,
                    "a line within the cap was oversize"
                );
                assert_eq!(*len, line.len(), "an oversize line's length is wrong");
                let kept = OVERSIZE_PREFIX.min(line.len());
                assert_eq!(
                    &prefix[..],
                    &line[..kept],
                    "an oversize line's prefix is wrong"
                );
                assert_eq!(
                    &suffix[..],
                    &line[line.len() - kept..],
                    "an oversize line's suffix is wrong"
                );
            }
        }
        self.at += used;
    }
}

/// A broken line's id and role: the whole input as a prefix, and split in two as the
/// first and last bytes of an oversize line.
pub fn recover_id(bytes: &[u8]) {
    let _ = id_recovery::recover_id(bytes);
    let _ = id_recovery::recover(bytes, None);
    let half = bytes.len() / 2;
    let _ = id_recovery::recover(&bytes[..half], Some(&bytes[half..]));
}

/// One line as the relay reads it: UTF-8 check, the envelope parse (single or batch),
/// and the strict content read of every `params` and `result` it found.
pub fn parse_message(bytes: &[u8]) {
    let Ok(text) = message::line_text(bytes) else {
        return;
    };
    match message::parse(text) {
        Ok(Parsed::Single(kind)) => read_content(&kind),
        Ok(Parsed::Batch(elements)) => {
            for element in &elements {
                if let Ok(kind) = &element.kind {
                    read_content(kind);
                }
            }
        }
        Err(_) => {}
    }
}

fn read_content(kind: &Kind<'_>) {
    let raw = match kind {
        Kind::Request { params, .. } | Kind::Notification { params, .. } => *params,
        Kind::Response { result, .. } => *result,
    };
    if let Some(raw) = raw {
        let read = content::read(raw.get());
        // The lighter forms stand in for `read` on messages no stage judges: a text one of
        // them lets through and `read` refuses would reach the server unread.
        assert_eq!(
            content::check(raw.get()).is_ok(),
            read.is_ok(),
            "check and read disagree on {}",
            raw.get()
        );
        let outline = content::outline_within(raw.get(), 16);
        assert_eq!(
            outline.is_ok(),
            read.is_ok(),
            "outline and read disagree on {}",
            raw.get()
        );
        if let (Ok(Value::Object(outline)), Ok(Value::Object(read))) = (outline, read) {
            for (key, value) in &outline {
                assert_eq!(read.get(key), Some(value), "the outline's {key} differs");
            }
        }
    }
}

/// A byte source that hands out its bytes in reads of varying size, always at once.
struct InMemory<'a> {
    rest: &'a [u8],
    chunk_sizes: &'a [u8],
    next_size: usize,
}

impl tokio::io::AsyncRead for InMemory<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _context: &mut Context<'_>,
        out: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // A size of 0 would read as end of stream; 1-256 bytes, or all at once without sizes.
        let wanted = match self
            .chunk_sizes
            .get(self.next_size % self.chunk_sizes.len().max(1))
        {
            Some(&size) => usize::from(size) + 1,
            None => self.rest.len(),
        };
        self.next_size += 1;
        let taken = wanted.min(out.remaining()).min(self.rest.len());
        let (now, later) = self.rest.split_at(taken);
        out.put_slice(now);
        self.rest = later;
        Poll::Ready(Ok(()))
    }
}
