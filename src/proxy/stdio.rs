//! mcpguard's own stdin and stdout as async byte streams.
//!
//! Owns: turning fd 0 and fd 1 (whatever the agent gave us: a pipe, a socketpair as Node
//! uses, a terminal, a file, /dev/null) into `AsyncRead`/`AsyncWrite`. Pollable descriptors are
//! switched to non-blocking and driven by the reactor directly, because tokio's own
//! `stdin()`/`stdout()` hand every read and write to a blocking thread, which costs a thread
//! hop per message. Descriptors epoll refuses (regular files, /dev/null) fall back to those.
//! The original file status flags are restored on drop, so a terminal is not left
//! non-blocking for the shell.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub(crate) type BoxedReader = Box<dyn AsyncRead + Unpin + Send>;
pub(crate) type BoxedWriter = Box<dyn AsyncWrite + Unpin + Send>;

/// A pollable descriptor driven by the tokio reactor.
pub(crate) struct PollFd {
    inner: AsyncFd<OwnedFd>,
    original_flags: libc::c_int,
    /// A read shorter than asked for means nothing is left (a plain pipe or a stream
    /// socket; not a packet-mode pipe or a datagram socket, which return one message).
    short_read_drains: bool,
}

impl PollFd {
    /// Drives a duplicate of `fd` by the reactor, or `None` when that is not safe or not
    /// possible. `original_flags` are the flags from before mcpguard touched anything; they
    /// are put back on drop.
    fn new(fd: &OwnedFd, original_flags: libc::c_int) -> io::Result<Option<Self>> {
        if !may_go_non_blocking(fd.as_fd()) {
            return Ok(None);
        }
        let raw = fd.as_raw_fd();
        let copy = duplicate(raw)?;
        // SAFETY: F_SETFL on a descriptor we own. The flag lives on the open file
        // description, which `fd` and `copy` share.
        if unsafe { libc::fcntl(raw, libc::F_SETFL, original_flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let short_read_drains = short_read_drains(fd.as_fd(), original_flags);
        // SAFETY: `copy` is a descriptor we own outright; AsyncFd keeps it open until it
        // is dropped and nothing else closes or replaces it meanwhile.
        match unsafe { AsyncFd::register(copy) } {
            Ok(inner) => Ok(Some(Self {
                inner,
                original_flags,
                short_read_drains,
            })),
            Err(_) => {
                // SAFETY: as above; puts the flags back for the blocking fallback.
                unsafe { libc::fcntl(raw, libc::F_SETFL, original_flags) };
                Ok(None)
            }
        }
    }
}

/// Whether O_NONBLOCK may be set on `fd`'s open file description. Only pipes and sockets
/// qualify: a terminal is shared with the shell (and usually with stderr), and a pipe that
/// is also our stderr (`2>&1`) must stay blocking, or mcpguard's own writes to stderr (its
/// diagnostics, the server's relayed stderr) would fail with EAGAIN.
fn may_go_non_blocking(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    let Ok(meta) = nix::sys::stat::fstat(fd) else {
        return false;
    };
    let kind = meta.st_mode & libc::S_IFMT;
    if kind != libc::S_IFIFO && kind != libc::S_IFSOCK {
        return false;
    }
    // SAFETY: fd 2 is borrowed only for the duration of fstat.
    let stderr = unsafe { std::os::fd::BorrowedFd::borrow_raw(2) };
    match nix::sys::stat::fstat(stderr) {
        Ok(err) => !(err.st_dev == meta.st_dev && err.st_ino == meta.st_ino),
        Err(_) => true,
    }
}

/// Whether a short read from `fd` means it had nothing more to give at that moment.
fn short_read_drains(fd: std::os::fd::BorrowedFd<'_>, flags: libc::c_int) -> bool {
    let Ok(meta) = nix::sys::stat::fstat(fd) else {
        return false;
    };
    match meta.st_mode & libc::S_IFMT {
        libc::S_IFIFO => flags & libc::O_DIRECT == 0,
        libc::S_IFSOCK => nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::SockType)
            .is_ok_and(|kind| kind == nix::sys::socket::SockType::Stream),
        _ => false,
    }
}

fn status_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL on a valid descriptor; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(flags)
    }
}

impl Drop for PollFd {
    fn drop(&mut self) {
        // SAFETY: restores the flags of a descriptor we still own.
        unsafe { libc::fcntl(self.inner.as_raw_fd(), libc::F_SETFL, self.original_flags) };
    }
}

impl AsyncRead for PollFd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let short_read_drains = self.short_read_drains;
        loop {
            let mut guard = ready!(self.inner.poll_read_ready(cx))?;
            // SAFETY: read(2) only writes into the spare capacity it is given, and we mark
            // exactly the bytes it reports as initialised.
            let unfilled = unsafe { buf.unfilled_mut() };
            let room = unfilled.len();
            let result = guard.try_io(|fd| {
                // SAFETY: `unfilled` is writable memory of `unfilled.len()` bytes, and the
                // descriptor is open for as long as `fd` borrows it.
                let n = unsafe {
                    libc::read(fd.as_raw_fd(), unfilled.as_mut_ptr().cast(), unfilled.len())
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match result {
                Ok(Ok(n)) => {
                    // A pipe or stream socket that returns fewer bytes than asked for had no
                    // more: the next read would only say EAGAIN, so readiness is cleared now
                    // and the reactor is asked instead (a syscall less per message; tokio's
                    // own sockets do the same, and a wake-up that raced in is not lost).
                    if short_read_drains && n > 0 && n < room {
                        guard.clear_ready();
                    }
                    // SAFETY: the kernel initialised `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PollFd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.inner.poll_write_ready(cx))?;
            let result = guard.try_io(|fd| {
                // SAFETY: write(2) reads `data.len()` bytes from a live slice.
                let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match result {
                Ok(done) => return Poll::Ready(done),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A duplicate of `fd` that is closed on exec, so the server never inherits it.
fn duplicate(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we then own.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Points `target` (0 or 1) at /dev/null, so that when the stream we hold is dropped the
/// agent sees EOF, and nothing later opened reuses the number by accident.
fn park_on_dev_null(target: RawFd) -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    // SAFETY: dup2 onto a standard descriptor number; both are valid.
    if unsafe { libc::dup2(null.as_raw_fd(), target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// mcpguard's stdin and stdout as async streams. After this call fds 0 and 1 point at
/// /dev/null; the returned streams own the agent's pipes.
pub(crate) fn open_client_stdio() -> io::Result<(BoxedReader, BoxedWriter)> {
    // Both flags are read before either is changed: fds 0 and 1 may share one open file
    // description (a socket used both ways), and each must restore what the agent set.
    let input_flags = status_flags(0)?;
    let output_flags = status_flags(1)?;
    let input = duplicate(0)?;
    let output = duplicate(1)?;
    park_on_dev_null(0)?;
    park_on_dev_null(1)?;
    super::child::enlarge_pipe(input.as_fd());
    super::child::enlarge_pipe(output.as_fd());
    let reader: BoxedReader = match PollFd::new(&input, input_flags)? {
        Some(fd) => Box::new(fd),
        None => Box::new(tokio::fs::File::from_std(std::fs::File::from(input))),
    };
    let writer: BoxedWriter = match PollFd::new(&output, output_flags)? {
        Some(fd) => Box::new(fd),
        None => Box::new(tokio::fs::File::from_std(std::fs::File::from(output))),
    };
    Ok((reader, writer))
}
