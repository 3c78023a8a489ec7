//! Starting the sandbox helper as a fork of the supervisor while it is still
//! single-threaded, instead of re-executing mcpguard: an exec of the binary, its dynamic
//! loading and its start-up were half of what a sandboxed start cost.
//!
//! Owns: telling whether this process is single-threaded (a fork of a process with other
//! threads copies locks they may hold, so it is not done then), the server's three pipes,
//! the fork, and giving the child exactly the descriptors the re-executed helper has
//! (stdin, stdout and stderr on the pipes, the report pipe on `REPORT_FD`, the egress
//! channel on `EGRESS_FD`, nothing else) before it carries the plan out
//! (`init::carry_out`). The child dies with the supervisor, as the re-executed one does.

use super::channels::Channels;
use super::init::{self, EGRESS_FD, REPORT_FD};
use super::plan::Plan;
use nix::unistd::{ForkResult, Pid};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The helper just forked: its pid and the supervisor's ends of its standard pipes.
pub(crate) struct Forked {
    pub(crate) pid: i32,
    /// Written by the supervisor, read by the server.
    pub(crate) stdin: OwnedFd,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

/// Whether this process has only one thread, so that a fork of it inherits no lock that
/// another thread holds.
pub(crate) fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

/// Forks the helper, which builds the sandbox `plan` describes and becomes the server.
/// The caller must have checked `single_threaded` (nothing is forked otherwise).
pub(crate) fn start(plan: &Plan, channels: &Channels) -> io::Result<Forked> {
    if !single_threaded() {
        return Err(io::Error::other(
            "the supervisor already runs other threads (internal)",
        ));
    }
    let (stdin_read, stdin_write) = pipe()?;
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let egress = channels
        .egress
        .as_ref()
        .map(|(helper, _)| helper.as_raw_fd());
    let moves: Vec<(RawFd, RawFd)> = [
        (stdin_read.as_raw_fd(), 0),
        (stdout_write.as_raw_fd(), 1),
        (stderr_write.as_raw_fd(), 2),
        (channels.report_write.as_raw_fd(), REPORT_FD),
    ]
    .into_iter()
    .chain(egress.map(|fd| (fd, EGRESS_FD)))
    .collect();
    let supervisor = nix::unistd::getpid();
    // SAFETY: this process is single-threaded (checked above), so the child inherits no
    // lock held by another thread; the child never returns into the caller's code.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        ForkResult::Child => in_child(plan, supervisor, &moves, egress.is_some()),
        ForkResult::Parent { child } => {
            // Also here, so the group exists whichever of the two runs first.
            let _ = nix::unistd::setpgid(child, child);
            Ok(Forked {
                pid: child.as_raw(),
                stdin: stdin_write,
                stdout: stdout_read,
                stderr: stderr_read,
            })
        }
    }
}

/// The child: its descriptors put in place, then the plan carried out.
fn in_child(plan: &Plan, supervisor: Pid, moves: &[(RawFd, RawFd)], egress: bool) -> ! {
    init::die_with_parent();
    if nix::unistd::getppid() != supervisor {
        // The supervisor died before the parent-death signal was armed.
        std::process::exit(crate::exit::status(crate::exit::GUARD_FAILED));
    }
    if let Err(e) = retitle() {
        init::fatal(&format!(
            "could not replace the supervisor's command line in the helper: {e}"
        ));
    }
    // Its own process group, so the supervisor can signal the whole sandbox at once.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // SAFETY: fcntl, dup2 and close_range on descriptors this process holds. Every source
    // is first copied clear of the target numbers, so that one sitting on another's target
    // is not clobbered; the copies, and every descriptor of the supervisor's, are then
    // closed by the close_range.
    unsafe {
        let lifted: Vec<(RawFd, RawFd)> = moves
            .iter()
            .map(|&(fd, target)| {
                (
                    libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, EGRESS_FD + 1),
                    target,
                )
            })
            .collect();
        for (copy, target) in lifted {
            if copy < 0 || libc::dup2(copy, target) < 0 {
                init::fatal("could not set up the helper's descriptors (internal)");
            }
        }
        // Kernels before 5.9 lack close_range; the server's own closing before its exec
        // (which has a fallback) is the one that must succeed.
        if libc::syscall(
            libc::SYS_close_range,
            (EGRESS_FD + 1) as u32,
            u32::MAX,
            0u32,
        ) != 0
            && io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
        {
            init::fatal("could not close the supervisor's descriptors in the helper");
        }
        libc::close(init::PLAN_FD);
        if !egress {
            libc::close(EGRESS_FD);
        }
    }
    init::carry_out(plan.clone(), egress)
}

/// What the helper's command line reads in /proc: the same as a re-executed helper's.
const TITLE: &[u8] = b"mcpguard\0__sandbox-init\0";

/// Replaces the command line this process shows in /proc, the supervisor's, with `TITLE`:
/// PID 1 of the sandbox is this process's child, and its /proc/1/cmdline is readable by
/// the server, which must not learn the profile, grants and credential names mcpguard was
/// started with. Written through /proc/self/mem, so no Rust reference to the arguments
/// (the standard library keeps pointers to them) sees its memory change underneath it.
fn retitle() -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which may itself hold spaces and parentheses; the
    // first of them is field 3, so arg_start (field 48) and arg_end (49) are at 45 and 46.
    let fields: Vec<&str> = stat
        .rfind(')')
        .map(|end| stat[end + 1..].split_whitespace().collect())
        .unwrap_or_default();
    let field = |index: usize| -> io::Result<u64> {
        fields
            .get(index)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| io::Error::other("/proc/self/stat has no argument area"))
    };
    let (start, end) = (field(45)?, field(46)?);
    let mut title = vec![0u8; end.saturating_sub(start) as usize];
    let shown = TITLE.len().min(title.len());
    title[..shown].copy_from_slice(&TITLE[..shown]);
    let memory = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")?;
    memory.write_all_at(&title, start)
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}
