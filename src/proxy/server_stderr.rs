//! The server's stderr: a pipe that mcpguard reads and relays to its own stderr as safe text.
//!
//! Owns: reading the pipe on a thread of its own (writes to mcpguard's stderr may block on
//! a slow reader; the relay runs on a single-threaded runtime that must not stall), cutting
//! it into lines of at most `MAX_LINE` bytes (the rest of a longer line is counted, not
//! kept), escaping each line for the terminal (`terminal::escape_bytes`), prefixing it
//! with `[server name]`, and a rate limit (`LINES_PER_SECOND`, bursts of `BURST`) whose
//! suppressed lines are counted and reported.
//!
//! Why not hand the server mcpguard's own stderr: that is the user's terminal or the
//! agent's log file. With a terminal the server could read keystrokes, switch echo off for
//! good and write escape sequences (the clipboard, through OSC 52); with a file it could
//! truncate the agent's log. The sandbox helper's own failure messages come through the
//! same pipe, so they are shown the same way. The last non-empty line is kept (at most
//! `LAST_WORDS` bytes of it): when the server or the helper exits before answering, the
//! client's error carries it.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The longest line shown; the rest of a longer one is counted in a marker.
pub(crate) const MAX_LINE: usize = 4096;
/// Lines a second the server may write in the long run.
const LINES_PER_SECOND: f64 = 50.0;
/// Lines it may write at once (a start-up banner, a stack trace).
const BURST: f64 = 200.0;

/// The most of the last line kept for the client's error.
const LAST_WORDS: usize = 1024;

/// A running relay; `finish` waits until the pipe has been read to its end.
pub(crate) struct Relay {
    drained: oneshot::Receiver<Option<String>>,
}

/// Starts relaying `pipe` (the read end of the server's stderr) to mcpguard's stderr.
/// Credentials handed to the server (`scrubber`) never reach the terminal or the agent's log.
pub(crate) fn start(
    pipe: OwnedFd,
    server: &str,
    scrubber: Option<std::sync::Arc<crate::audit::redact::Redactor>>,
) -> io::Result<Relay> {
    let (done, drained) = oneshot::channel();
    let prefix = format!("[{}] ", crate::terminal::escape(server));
    std::thread::Builder::new()
        .name("server-stderr".into())
        .spawn(move || {
            let scrub = |text: String| match &scrubber {
                Some(redactor) => redactor.scrub_injected_text(&text).into_owned(),
                None => text,
            };
            let last = relay(
                std::fs::File::from(pipe),
                &prefix,
                &mut io::stderr(),
                &scrub,
            );
            let _ = done.send(last);
        })?;
    Ok(Relay { drained })
}

impl Relay {
    /// Waits, at most `patience`, until every process holding the pipe has closed it and
    /// all it wrote has been shown (the last lines of a server that just exited, or the
    /// reason the sandbox could not start). Returns the last non-empty line, if the pipe
    /// was read to its end in time.
    pub(crate) async fn finish(self, patience: Duration) -> Option<String> {
        tokio::time::timeout(patience, self.drained)
            .await
            .ok()?
            .ok()?
    }
}

/// Reads `pipe` to its end and writes what it says to `out`; returns the last non-empty
/// line, escaped like the rest. Write errors (mcpguard's stderr closed) are ignored: the
/// pipe is still read, so the server never blocks on it.
fn relay(
    mut pipe: impl Read,
    prefix: &str,
    out: &mut impl Write,
    scrub: &dyn Fn(String) -> String,
) -> Option<String> {
    let mut lines = LineSplitter::default();
    let mut limiter = Limiter::new(Instant::now());
    let mut last: Option<String> = None;
    let mut show = |line: Line<'_>| {
        if !line.bytes.trim_ascii().is_empty() {
            let kept = &line.bytes[..line.bytes.len().min(LAST_WORDS)];
            last = Some(scrub(crate::terminal::escape_bytes(kept.trim_ascii())));
        }
        let text = match limiter.admit(Instant::now()) {
            Admission::Refused => return,
            Admission::Admitted { suppressed: 0 } => render(prefix, &line),
            Admission::Admitted { suppressed } => {
                format!(
                    "{}{}",
                    suppression_note(prefix, suppressed),
                    render(prefix, &line)
                )
            }
        };
        let _ = out.write_all(scrub(text).as_bytes());
    };
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => lines.push(&chunk[..n], &mut show),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lines.finish(&mut show);
    let suppressed = limiter.take_suppressed();
    if suppressed > 0 {
        let _ = out.write_all(suppression_note(prefix, suppressed).as_bytes());
    }
    last
}

/// One line of the server's stderr, at most `MAX_LINE` bytes of it, without its newline.
#[derive(Debug, PartialEq, Eq)]
struct Line<'a> {
    bytes: &'a [u8],
    /// Bytes of the line past `MAX_LINE`, not kept.
    cut: usize,
}

/// Cuts a byte stream into bounded lines.
#[derive(Debug, Default)]
struct LineSplitter {
    current: Vec<u8>,
    cut: usize,
}

impl LineSplitter {
    fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(Line<'_>)) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
            self.keep(&bytes[..end]);
            self.emit(emit);
            bytes = &bytes[end + 1..];
        }
        self.keep(bytes);
    }

    /// The last line, when the stream ended without a newline.
    fn finish(&mut self, emit: &mut impl FnMut(Line<'_>)) {
        if !self.current.is_empty() || self.cut > 0 {
            self.emit(emit);
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = MAX_LINE - self.current.len();
        let kept = bytes.len().min(room);
        self.current.extend_from_slice(&bytes[..kept]);
        self.cut += bytes.len() - kept;
    }

    fn emit(&mut self, emit: &mut impl FnMut(Line<'_>)) {
        let mut bytes = self.current.as_slice();
        // CRLF line ends are common; the CR is not part of the text.
        if self.cut == 0
            && let Some(stripped) = bytes.strip_suffix(b"\r")
        {
            bytes = stripped;
        }
        emit(Line {
            bytes,
            cut: self.cut,
        });
        self.current.clear();
        self.cut = 0;
    }
}

fn render(prefix: &str, line: &Line<'_>) -> String {
    let text = crate::terminal::escape_bytes(line.bytes);
    if line.cut == 0 {
        format!("{prefix}{text}\n")
    } else {
        format!(
            "{prefix}{text} [mcpguard: line cut, {} more bytes]\n",
            line.cut
        )
    }
}

fn suppression_note(prefix: &str, suppressed: u64) -> String {
    format!(
        "{prefix}[mcpguard: {suppressed} line(s) suppressed: more than {LINES_PER_SECOND} a second]\n"
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Show the line; `suppressed` lines were refused since the last one shown.
    Admitted {
        suppressed: u64,
    },
    Refused,
}

/// A token bucket over lines.
#[derive(Debug)]
struct Limiter {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl Limiter {
    fn new(now: Instant) -> Self {
        Self {
            tokens: BURST,
            last: now,
            suppressed: 0,
        }
    }

    fn admit(&mut self, now: Instant) -> Admission {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * LINES_PER_SECOND).min(BURST);
        self.last = now;
        if self.tokens < 1.0 {
            self.suppressed += 1;
            return Admission::Refused;
        }
        self.tokens -= 1.0;
        Admission::Admitted {
            suppressed: self.take_suppressed(),
        }
    }

    fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, usize)> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        let mut emit = |line: Line<'_>| lines.push((line.bytes.to_vec(), line.cut));
        for chunk in chunks {
            splitter.push(chunk, &mut emit);
        }
        splitter.finish(&mut emit);
        lines
    }

    #[test]
    fn lines_are_joined_across_reads_and_crlf_is_tolerated() {
        assert_eq!(
            split(&[b"one\r\ntw", b"o\n\nthree"]),
            vec![
                (b"one".to_vec(), 0),
                (b"two".to_vec(), 0),
                (Vec::new(), 0),
                (b"three".to_vec(), 0),
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_counted() {
        let long = vec![b'a'; MAX_LINE + 10];
        assert_eq!(
            split(&[&long[..100], &long[100..], b"\nnext\n"]),
            vec![(vec![b'a'; MAX_LINE], 10), (b"next".to_vec(), 0)]
        );
    }

    #[test]
    fn relayed_lines_are_prefixed_escaped_and_bounded() {
        let mut input = b"plain\n\x1b]52;c;aGk=\x07clip\r\x1b[8mhidden\n".to_vec();
        input.extend(vec![b'x'; MAX_LINE + 1]);
        let mut out = Vec::new();
        relay(input.as_slice(), "[fs] ", &mut out, &|t| t);
        let expected = format!(
            "[fs] plain\n[fs] \\e]52;c;aGk=\\x07clip\\r\\e[8mhidden\n[fs] {} [mcpguard: line cut, 1 more bytes]\n",
            "x".repeat(MAX_LINE)
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn a_flood_is_suppressed_and_counted() {
        let input = "line\n".repeat(BURST as usize + 25);
        let mut out = Vec::new();
        relay(input.as_bytes(), "[fs] ", &mut out, &|t| t);
        let text = String::from_utf8(out).unwrap();
        let shown: Vec<&str> = text.lines().collect();
        // The burst, perhaps a line or two refilled while the test ran, and the note.
        assert!(shown.len() > BURST as usize && shown.len() < BURST as usize + 25);
        let last = shown.last().unwrap();
        assert!(
            last.starts_with("[fs] [mcpguard: ")
                && last.ends_with("line(s) suppressed: more than 50 a second]"),
            "{last}"
        );
    }

    #[test]
    fn the_limiter_refills_over_time() {
        let start = Instant::now();
        let mut limiter = Limiter::new(start);
        for _ in 0..BURST as usize {
            assert_eq!(limiter.admit(start), Admission::Admitted { suppressed: 0 });
        }
        assert_eq!(limiter.admit(start), Admission::Refused);
        assert_eq!(limiter.admit(start), Admission::Refused);
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.admit(later), Admission::Admitted { suppressed: 2 });
    }
}
