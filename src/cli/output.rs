//! Standard output of the printing commands. A reader that stops reading
//! (`mcpguard logs | head -1`) is a normal end, as in ripgrep and the coreutils: Rust ignores
//! SIGPIPE, so the write fails with EPIPE; `stdout()` marks that failure, the command stops
//! there, and `entry` ends with exit 0 and no message (`closed`).
//!
//! Only writes through `stdout()` are marked: a broken pipe anywhere else (the server's
//! stdin while `run` relays) stays the error it is.

use std::fmt;
use std::io::{self, StdoutLock, Write};

/// This process's standard output, locked, its EPIPE marked as "the reader is gone".
pub(crate) fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

pub(crate) struct Stdout(StdoutLock<'static>);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

/// Whether `error` is a write to a standard output nobody reads any more.
pub(crate) fn closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .is_some_and(|inner| inner.is::<Closed>())
    })
}

fn mark(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, Closed)
    } else {
        error
    }
}

#[derive(Debug)]
struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output closed by its reader")
    }
}

impl std::error::Error for Closed {}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn only_a_marked_broken_pipe_is_a_closed_stdout() {
        let marked = mark(io::Error::from(io::ErrorKind::BrokenPipe));
        let wrapped = Err::<(), _>(marked).context("could not write to stdout");
        assert!(closed(&wrapped.unwrap_err()));
        // The server's stdin breaking while `run` relays is not the reader of stdout leaving.
        let other = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!closed(&other));
        let full = anyhow::Error::from(mark(io::Error::from(io::ErrorKind::StorageFull)));
        assert!(!closed(&full));
    }
}
