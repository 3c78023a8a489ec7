//! Starting the sandbox helper that becomes the server.
//!
//! Owns: spawning the helper with piped stdin, stdout and stderr (mcpguard's own stderr may
//! be the user's terminal or the agent's log file, which the server must not hold;
//! `server_stderr` relays what it writes) and its channels inherited for the moment of the
//! spawn; the helper itself gives the server a session of its own without a controlling
//! terminal, closes every other descriptor and dies with the supervisor. Also the pipes'
//! capacity. What a failed spawn exits with is `exit`'s.

use crate::exit;
use std::io;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    #[error(
        "could not start the sandbox: re-executing mcpguard through /proc/self/exe failed \
         ({0}); /proc must be mounted and mcpguard's binary executable"
    )]
    Helper(io::Error),
}

impl SpawnError {
    /// The exit status mcpguard ends with: the helper not starting is mcpguard's failure,
    /// not the server command's (that one is found and run by the helper, which exits
    /// with 126 or 127 itself).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            SpawnError::Helper(_) => exit::GUARD_FAILED,
        }
    }
}

/// Spawns the sandbox helper (this same binary, re-executed through /proc/self/exe so a
/// replaced or deleted binary on disk does not matter); it becomes the server.
///
/// No `pre_exec` here: without one the standard library starts the helper with
/// `posix_spawn` (vfork), which is markedly cheaper than fork on every server start. What a
/// `pre_exec` would do is done otherwise: the process group by the spawn attributes, the
/// plan and report pipes by clearing their close-on-exec flag for the duration of the spawn
/// and naming them on the helper's command line, and the parent-death signal by the helper
/// itself, first thing, checked against the supervisor's pid.
pub(crate) fn spawn_sandboxed(channels: &crate::sandbox::Channels) -> Result<Child, SpawnError> {
    let mut command = Command::from(channels.helper_command());
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    channels
        .while_inheritable(|| command.spawn())
        .map_err(SpawnError::Helper)
}

/// Pipe capacity asked for on the server's pipes and on the pipe to the agent. The default
/// 64 KiB makes a multi-megabyte message cost many context switches per hop. It is kept at
/// 256 KiB because every pipe page counts against the user's pipe-user-pages-soft (64 MiB by
/// default); past it, every new pipe the user creates shrinks to one page. Four such pipes
/// per session leave room for about 64 sessions.
const PIPE_CAPACITY: libc::c_int = 256 << 10;

/// Enlarges the pipe behind `fd`. Best effort: a socket, a file or a lowered
/// pipe-max-size simply keeps its capacity, which only costs speed.
pub(crate) fn enlarge_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ takes an integer and touches no memory of ours.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_CAPACITY) };
}
