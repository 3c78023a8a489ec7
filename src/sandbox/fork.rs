//! Starting the sandbox without re-executing mcpguard, while the supervisor is still
//! single-threaded: an exec of the binary, its dynamic loading and its start-up were half
//! of what a sandboxed start cost.
//!
//! Owns: telling whether this process is single-threaded (a fork of a process with other
//! threads copies locks they may hold, so it is not done then), the server's three pipes,
//! and the start itself: PID 1 cloned straight into the sandbox's namespaces (it writes its
//! own id maps and says on a pipe whether it could), or, where the kernel refuses that clone
//! or those maps, a plain fork of the helper, which enters the namespaces itself and says
//! why it cannot (or runs degraded as the plan allows). Either child gets exactly the
//! descriptors the re-executed helper has (stdin, stdout and stderr on the pipes, the report
//! pipe on `REPORT_FD`, the egress channel on `EGRESS_FD`, nothing else) and dies with the
//! supervisor; a panic in it ends it, never returning into the supervisor's code.

use super::channels::Channels;
use super::init::{self, EGRESS_FD, REPORT_FD};
use super::namespaces;
use super::plan::Plan;
use nix::unistd::{ForkResult, Pid};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The sandbox's first process just started (PID 1, or the helper): its pid, its pidfd when
/// the clone gave one, and the supervisor's ends of its standard pipes.
pub(crate) struct Forked {
    pub(crate) pid: i32,
    pub(crate) pidfd: Option<OwnedFd>,
    /// Written by the supervisor, read by the server.
    pub(crate) stdin: OwnedFd,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

/// Whether this process has only one thread, so that a fork of it inherits no lock that
/// another thread holds.
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

/// Starts the sandbox `plan` describes (PID 1 cloned into its namespaces, or the helper
/// forked); `None`, with nothing started, when this process already runs other threads
/// (the caller re-executes the helper then).
pub(crate) fn start(plan: &Plan, channels: &Channels) -> io::Result<Option<Forked>> {
    if !single_threaded() {
        return Ok(None);
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
    let egress = egress.is_some();
    let cloned = if can_map_a_child() {
        clone_pid_one(plan, &moves, egress)?
    } else {
        None
    };
    let (pid, pidfd) = match cloned {
        Some((pid, pidfd)) => (pid, Some(pidfd)),
        None => (fork_helper(plan, &moves, egress)?, None),
    };
    // Also here, so the group exists whichever of the two runs first.
    let _ = nix::unistd::setpgid(Pid::from_raw(pid), Pid::from_raw(pid));
    Ok(Some(Forked {
        pid,
        pidfd,
        stdin: stdin_write,
        stdout: stdout_read,
        stderr: stderr_read,
    }))
}

/// Whether a child of this process can write its own id maps. A child of a non-dumpable
/// process (mcpguard holding credentials, `secrets::keep_private`) is non-dumpable too, and
/// its /proc files then belong to root: only root can write its maps, so anyone else starts
/// the helper, which makes itself dumpable and maps itself, as a re-executed helper does.
fn can_map_a_child() -> bool {
    // SAFETY: prctl and geteuid with integer arguments only.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 || libc::geteuid() == 0 }
}

/// The arguments of clone3 as far as they are used (the first version of the structure).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Clones PID 1 of a new sandbox straight into its namespaces: one process and one exit
/// fewer than the helper's unshare and fork. PID 1 writes its own id maps, as the helper
/// does, and goes on at once (when this process wrote them and sent a go-ahead, PID 1 waited
/// for this process to be scheduled again after the clone: 0.2 ms); this process waits for
/// its word that they are written. `None` when the kernel refuses the clone or the id maps
/// (the helper then meets the same refusal and deals with it as it always has).
fn clone_pid_one(
    plan: &Plan,
    moves: &[(RawFd, RawFd)],
    egress: bool,
) -> io::Result<Option<(i32, OwnedFd)>> {
    let (mapped_read, mapped_write) = pipe()?;
    let mut pidfd: libc::c_int = -1;
    let args = CloneArgs {
        flags: namespaces::flags(plan.network).bits() as u64 | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        // No stack of its own: the child runs on a copy of this one, as after fork.
        stack: 0,
        stack_size: 0,
        tls: 0,
    };
    // SAFETY: clone3 reads `args` (live, of the size given) and writes the pidfd into
    // `pidfd`; this process is single-threaded, so the child, a copy of it, inherits no lock
    // held by another thread, and it never returns into the caller's code.
    let cloned = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if cloned == 0 {
        drop(mapped_read);
        child_entry(|| pid_one_child(plan, mapped_write, moves, egress));
    }
    if cloned < 0 {
        return Ok(None);
    }
    let pid = cloned as i32;
    // SAFETY: CLONE_PIDFD handed this process a new descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    drop(mapped_write);
    match await_word(mapped_read) {
        Ok(word) if word == *MAPPED => Ok(Some((pid, pidfd))),
        _ => {
            // Its maps could not be written (it exits by itself; this makes sure): the
            // helper's own attempt says why the namespaces cannot be had.
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
            let _ = nix::sys::wait::waitid(
                nix::sys::wait::Id::PIDFd(std::os::fd::AsFd::as_fd(&pidfd)),
                nix::sys::wait::WaitPidFlag::WEXITED,
            );
            Ok(None)
        }
    }
}

/// How long the supervisor polls for PID 1's word before it sleeps on the pipe.
const POLL_FOR_WORD: std::time::Duration = std::time::Duration::from_millis(5);

/// Reads one byte from `pipe`, polling it, not sleeping on it, for `POLL_FOR_WORD` first.
/// A sleeping supervisor is woken by PID 1's write onto PID 1's own CPU, where it preempted
/// PID 1 just as the view was to be built, with the other CPU idle (0.2–1 ms, bpftrace);
/// polling, it runs on a CPU of its own and PID 1 keeps its CPU. The poll yields, so a PID 1
/// placed on the same CPU runs.
fn await_word(pipe: OwnedFd) -> io::Result<[u8; 1]> {
    let pipe = std::fs::File::from(pipe);
    let mut word = [0u8; 1];
    let blocking = nix::fcntl::OFlag::empty();
    let nonblocking = nix::fcntl::OFlag::O_NONBLOCK;
    let set = |flags| nix::fcntl::fcntl(&pipe, nix::fcntl::FcntlArg::F_SETFL(flags));
    set(nonblocking).map_err(io::Error::from)?;
    let until = std::time::Instant::now() + POLL_FOR_WORD;
    loop {
        match (&pipe).read(&mut word) {
            Ok(1) => return Ok(word),
            Ok(_) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() >= until {
                    set(blocking).map_err(io::Error::from)?;
                }
                std::thread::yield_now();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What PID 1 says on its pipe once its id maps are written.
const MAPPED: &[u8; 1] = b"1";

/// PID 1 cloned into the namespaces: writes its id maps, says so, then builds the sandbox.
fn pid_one_child(plan: &Plan, mapped: OwnedFd, moves: &[(RawFd, RawFd)], egress: bool) -> ! {
    init::die_with_parent();
    let mut mapped = std::fs::File::from(mapped);
    if namespaces::map_ids("self", plan.uid, plan.gid).is_err() || mapped.write_all(MAPPED).is_err()
    {
        // The supervisor starts the helper instead, which says why (or is gone).
        init::leave(crate::exit::status(crate::exit::GUARD_FAILED));
    }
    drop(mapped);
    arrange(moves);
    init::carry_out_as_pid_one(plan.clone(), egress)
}

/// Forks the helper, which enters the namespaces itself; returns its pid.
fn fork_helper(plan: &Plan, moves: &[(RawFd, RawFd)], egress: bool) -> io::Result<i32> {
    let supervisor = nix::unistd::getpid();
    // SAFETY: this process is single-threaded (checked by `start`), so the child inherits
    // no lock held by another thread; the child never returns into the caller's code.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        ForkResult::Child => child_entry(|| helper_child(plan, supervisor, moves, egress)),
        ForkResult::Parent { child } => Ok(child.as_raw()),
    }
}

/// The helper: its descriptors put in place, then the plan carried out.
fn helper_child(plan: &Plan, supervisor: Pid, moves: &[(RawFd, RawFd)], egress: bool) -> ! {
    init::die_with_parent();
    if nix::unistd::getppid() != supervisor {
        // The supervisor died before the parent-death signal was armed.
        init::leave(crate::exit::status(crate::exit::GUARD_FAILED));
    }
    // Dumpable, as a freshly executed helper is, so that it may write its own id maps and
    // its command line (a supervisor holding credentials is not, and this copy of it would
    // not be either); never a core dump, and non-dumpable again once its namespaces are
    // set up (`init`).
    init::no_core_dumps();
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    arrange(moves);
    init::carry_out(plan.clone(), egress)
}

/// Runs a child's whole life; a panic in it ends the child rather than unwinding into the
/// supervisor's code it was copied from.
fn child_entry(body: impl FnOnce() -> std::convert::Infallible) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let _ = outcome;
    init::leave(crate::exit::status(crate::exit::GUARD_FAILED))
}

/// Gives a child its command line and process group, and exactly the helper's descriptors.
fn arrange(moves: &[(RawFd, RawFd)]) {
    if let Err(e) = retitle() {
        init::fatal(&format!(
            "could not replace the supervisor's command line in the helper: {e}"
        ));
    }
    // Its own process group, so the supervisor can signal the whole sandbox at once.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    if let Err(e) = init::take_descriptors(moves) {
        init::fatal(&format!(
            "could not set up the sandbox's descriptors: {e} (internal)"
        ));
    }
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
