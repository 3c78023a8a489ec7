//! Starting the server process and reading how it ended.
//!
//! Owns: spawning the server command with piped stdin, stdout and stderr (mcpguard's own
//! stderr may be the user's terminal or the agent's log file, which the server must not
//! hold; `server_stderr` relays what it writes), in a session of its own with no
//! controlling terminal (so a terminal's Ctrl-C reaches it once, through us, and /dev/tty
//! leads nowhere), holding no descriptor mcpguard did not open for it, with a parent-death
//! signal (so it dies with the supervisor); telling why a spawn failed (the exit codes
//! themselves are `exit`'s).

use crate::exit;
use crate::program::ProgramError;
use std::io;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(transparent)]
    Program(#[from] ProgramError),
    #[error("could not start {command}: {source}")]
    Other { command: String, source: io::Error },
    #[error(
        "could not start the sandbox: re-executing mcpguard through /proc/self/exe failed \
         ({0}); /proc must be mounted and mcpguard's binary executable"
    )]
    Helper(io::Error),
}

impl SpawnError {
    /// The exit status mcpguard ends with (contract: 127 not found, 126 not executable).
    pub fn exit_code(&self) -> u8 {
        match self {
            SpawnError::Program(e) => e.exit_code(),
            SpawnError::Other { .. } => exit::NOT_EXECUTABLE,
            // mcpguard itself failed, not the server's command.
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
pub fn spawn_sandboxed(channels: &crate::sandbox::Channels) -> Result<Child, SpawnError> {
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

/// What every unsandboxed server child does between fork and exec: a session (and so a
/// process group) of its own without a controlling terminal, no inherited descriptor past
/// stderr, and death with the supervisor.
///
/// # Safety
/// Only for use in `pre_exec`: async-signal-safe calls only.
unsafe fn prepare_child(supervisor: libc::pid_t, open_files_limit: u32) -> io::Result<()> {
    // SAFETY: plain syscalls with integer arguments.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        close_on_exec_past_stderr(open_files_limit);
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        // The supervisor may have died between fork and prctl; then nobody would send the
        // death signal, so act on it now.
        if libc::getppid() != supervisor {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    Ok(())
}

/// Spawns `argv` as the server, without a sandbox.
pub fn spawn_server(argv: &[String]) -> Result<Child, SpawnError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| ProgramError::NotFound(String::new()))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    let supervisor = std::process::id() as libc::pid_t;
    let open_files_limit = open_files_limit();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe syscalls.
    unsafe {
        command.pre_exec(move || prepare_child(supervisor, open_files_limit));
    }
    command.spawn().map_err(|source| classify(program, source))
}

/// Marks every descriptor past stderr close-on-exec: whatever mcpguard inherited from the
/// agent (a terminal, a log file) must not reach the server. Marked rather than closed,
/// because the standard library's own exec-error pipe must stay open until exec.
///
/// # Safety
/// Only for use in `pre_exec`: async-signal-safe calls only.
unsafe fn close_on_exec_past_stderr(open_files_limit: u32) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range and fcntl take plain integers.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) == 0 {
            return;
        }
        // Kernels before 5.11: one descriptor at a time, up to the limit (no descriptor
        // can be numbered past it).
        for fd in 3..open_files_limit as libc::c_int {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// The soft limit on open files, at most the kernel's default ceiling (`fs.nr_open`); read
/// before fork, since getrlimit is not on the async-signal-safe list.
fn open_files_limit() -> u32 {
    const DEFAULT_NR_OPEN: u64 = 1 << 20;
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(DEFAULT_NR_OPEN, |(soft, _)| soft.min(DEFAULT_NR_OPEN)) as u32
}

/// Pipe capacity asked for on the server's pipes and on the pipe to the agent. The default
/// 64 KiB makes a multi-megabyte message cost many context switches per hop. It is kept at
/// 256 KiB because every pipe page counts against the user's pipe-user-pages-soft (64 MiB by
/// default); past it, every new pipe the user creates shrinks to one page. Four such pipes
/// per session leave room for about 64 sessions.
const PIPE_CAPACITY: libc::c_int = 256 << 10;

/// Enlarges the pipe behind `fd`. Best effort: a socket, a file or a lowered
/// pipe-max-size simply keeps its capacity, which only costs speed.
pub fn enlarge_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ takes an integer and touches no memory of ours.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_CAPACITY) };
}

fn classify(program: &str, source: io::Error) -> SpawnError {
    let command = program.to_owned();
    match source.kind() {
        io::ErrorKind::NotFound => ProgramError::NotFound(command).into(),
        io::ErrorKind::PermissionDenied => ProgramError::NotExecutable { command, source }.into(),
        _ if source.raw_os_error() == Some(libc::ENOEXEC) => {
            ProgramError::NotExecutable { command, source }.into()
        }
        _ => SpawnError::Other { command, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn spawn_failures_map_to_126_and_127() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let missing = spawn_server(&["/nonexistent/mcpguard-test".into()]).unwrap_err();
            assert_eq!(missing.exit_code(), 127);
            let dir = tempfile::tempdir().unwrap();
            let not_exec = dir.path().join("script");
            std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
            let denied = spawn_server(&[not_exec.display().to_string()]).unwrap_err();
            assert_eq!(denied.exit_code(), 126);
        });
    }
}
