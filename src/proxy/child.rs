//! Starting the sandbox helper that becomes the server, and waiting for it.
//!
//! Owns: starting the helper with its stdin, stdout and stderr on pipes (mcpguard's own
//! stderr may be the user's terminal or the agent's log file, which the server must not
//! hold; `server_stderr` relays what it writes) — forked while the supervisor is still
//! single-threaded (the first start), re-executed otherwise (a restart, from inside the
//! runtime) — its pidfd, and waiting on that pidfd for its exit. The helper itself gives
//! the server a session of its own without a controlling terminal, closes every other
//! descriptor and dies with the supervisor. Also the pipes' capacity. What a failed start
//! exits with is `exit`'s.

use crate::exit;
use crate::sandbox::{self, plan::Plan};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ExitStatus, Stdio};
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    #[error(
        "could not start the sandbox: re-executing mcpguard through /proc/self/exe failed \
         ({0}); /proc must be mounted and mcpguard's binary executable"
    )]
    Helper(io::Error),
    #[error(
        "could not start the sandbox: {0} (a pipe or a process could not be created: check \
         the open-file and process limits, `ulimit -n` and `ulimit -u`)"
    )]
    Fork(io::Error),
    #[error("could not watch the sandbox helper ({0}); mcpguard needs Linux 5.3 or later")]
    Pidfd(io::Error),
}

impl SpawnError {
    /// The exit status mcpguard ends with: the helper not starting is mcpguard's failure,
    /// not the server command's (that one is found and run by the helper, which exits
    /// with 126 or 127 itself).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            SpawnError::Helper(_) | SpawnError::Fork(_) | SpawnError::Pidfd(_) => {
                exit::GUARD_FAILED
            }
        }
    }
}

/// The sandbox's first process just started (PID 1, or the helper): its pid and pidfd, the
/// supervisor's ends of its standard pipes, and of its channels (the report pipe, the
/// egress channel in allowlist mode).
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
    pub(crate) stdin: OwnedFd,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
    pub(crate) report: OwnedFd,
    pub(crate) egress: Option<OwnedFd>,
}

/// Starts the sandbox for `plan`: cloned or forked when this process is still
/// single-threaded (no exec, no second start-up of mcpguard; `sandbox::fork`), the helper
/// re-executed through /proc/self/exe otherwise. Either way the same code runs on the same
/// plan with the same descriptors.
pub(crate) fn start(plan: &Plan) -> Result<Started, SpawnError> {
    let mut channels = sandbox::channels(plan).map_err(SpawnError::Fork)?;
    let (pid, pidfd, stdin, stdout, stderr) =
        match sandbox::fork::start(plan, &channels).map_err(SpawnError::Fork)? {
            Some(forked) => (
                forked.pid,
                forked.pidfd,
                forked.stdin,
                forked.stdout,
                forked.stderr,
            ),
            None => {
                let (pid, stdin, stdout, stderr) = reexecute(plan, &mut channels)?;
                (pid, None, stdin, stdout, stderr)
            }
        };
    let pidfd = match pidfd {
        Some(pidfd) => pidfd,
        None => pidfd_open(pid).map_err(SpawnError::Pidfd)?,
    };
    // The helper's ends close here, so a helper that dies is seen as EOF.
    let sandbox::Channels {
        report_read,
        egress,
        ..
    } = channels;
    Ok(Started {
        pid,
        pidfd,
        stdin,
        stdout,
        stderr,
        report: report_read,
        egress: egress.map(|(_, supervisor)| supervisor),
    })
}

/// Spawns the helper as `/proc/self/exe __sandbox-init …` (so a replaced or deleted binary
/// on disk does not matter).
///
/// No `pre_exec` here: without one the standard library starts the helper with
/// `posix_spawn` (vfork), which is safe in a multi-threaded process. What a `pre_exec`
/// would do is done otherwise: the process group by the spawn attributes, the plan and
/// report pipes by clearing their close-on-exec flag for the duration of the spawn and
/// naming them on the helper's command line, and the parent-death signal by the helper
/// itself, first thing, checked against the supervisor's pid.
fn reexecute(
    plan: &Plan,
    channels: &mut sandbox::Channels,
) -> Result<(i32, OwnedFd, OwnedFd, OwnedFd), SpawnError> {
    let mut command = channels.helper_command(plan).map_err(SpawnError::Helper)?;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = channels
        .while_inheritable(|| command.spawn())
        .map_err(SpawnError::Helper)?;
    let pid = child.id() as i32;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(SpawnError::Helper(io::Error::other(
            "the helper's pipes were not created",
        )));
    };
    // Dropping `child` neither kills nor reaps it: its pidfd is what is waited on.
    Ok((pid, stdin.into(), stdout.into(), stderr.into()))
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the kernel returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created for this process and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The sandbox's first process as the session waits for it: readable on its pidfd once it
/// exited, then reaped through that pidfd (the subreaper's sweeps leave it alone,
/// `process_tree`).
///
/// The sandbox also reports the server's exit status on its report pipe before its own
/// processes exit (`ServerExit`), and tearing down a sandbox's namespaces takes a third of
/// a millisecond: `server_exited` returns on that report, so the session's end (its synced
/// last record) overlaps the teardown; `wait` then reaps.
#[derive(Debug)]
pub(crate) struct Child {
    pidfd: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
    /// The server's exit code, as the sandbox reports it; `None` once it said, or gave up.
    report: Option<oneshot::Receiver<i32>>,
    reported: Option<ExitStatus>,
}

impl Child {
    /// Registers the helper's pidfd with the runtime; `report` brings the server's exit
    /// code when the sandbox reports it.
    pub(crate) fn watch(pidfd: OwnedFd, report: oneshot::Receiver<i32>) -> io::Result<Child> {
        // SAFETY: the AsyncFd owns the pidfd, so it is neither closed nor replaced while
        // registered.
        let pidfd =
            unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }
                .map_err(io::Error::from)?;
        Ok(Child {
            pidfd,
            status: None,
            report: Some(report),
            reported: None,
        })
    }

    /// Waits until the server is known to have exited: the sandbox's report of its status,
    /// or the helper's own exit, whichever comes first (again on every later call). The
    /// helper may still be exiting: `wait` reaps it. Cancel-safe.
    pub(crate) async fn server_exited(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status.or(self.reported) {
            return Ok(status);
        }
        let Some(report) = self.report.as_mut() else {
            return self.wait().await;
        };
        let first = tokio::select! {
            code = report => Ok(code),
            status = reap(&self.pidfd) => Err(status),
        };
        match first {
            Ok(code) => {
                self.report = None;
                match code {
                    Ok(code) => {
                        let status = ExitStatus::from_raw((code & 0xff) << 8);
                        self.reported = Some(status);
                        Ok(status)
                    }
                    // The pipe ended without a report: the helper's exit says it.
                    Err(_) => self.wait().await,
                }
            }
            Err(reaped) => {
                let status = reaped?;
                self.status = Some(status);
                Ok(status)
            }
        }
    }

    /// Waits for the helper to exit and returns its status (again on every later call).
    /// Cancel-safe: nothing is lost when the future is dropped before it completes.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = reap(&self.pidfd).await?;
        self.status = Some(status);
        Ok(status)
    }
}

/// Waits for the process behind `pidfd` to exit and reaps it. Cancel-safe: the status is
/// returned in the same poll that reaped it.
async fn reap(pidfd: &AsyncFd<OwnedFd>) -> io::Result<ExitStatus> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    loop {
        let mut ready = pidfd.readable().await?;
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
        match waitid(Id::PIDFd(pidfd.get_ref().as_fd()), flags) {
            Ok(WaitStatus::Exited(_, code)) => {
                return Ok(ExitStatus::from_raw((code & 0xff) << 8));
            }
            Ok(WaitStatus::Signaled(_, signal, core)) => {
                let core = if core { 0x80 } else { 0 };
                return Ok(ExitStatus::from_raw(signal as i32 | core));
            }
            Ok(_) => ready.clear_ready(),
            Err(e) => return Err(io::Error::from(e)),
        }
    }
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
    // SAFETY: F_SETPIPE_SZ takes an integer and touches no memory of ours.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_CAPACITY) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A child that exits with `code` once its stdin closes, its pidfd, and its stdin.
    fn exiting_on_eof(code: i32) -> (std::process::Child, OwnedFd) {
        let child = std::process::Command::new("sh")
            .args(["-c", &format!("read _; exit {code}")])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pidfd = pidfd_open(child.id() as i32).unwrap();
        (child, pidfd)
    }

    #[test]
    fn the_reported_exit_ends_the_wait_before_the_process_does_and_wait_still_reaps() {
        runtime().block_on(async {
            let (mut process, pidfd) = exiting_on_eof(3);
            let (report, reported) = oneshot::channel();
            let mut child = Child::watch(pidfd, reported).unwrap();
            report.send(7).unwrap();
            let early = child.server_exited().await.unwrap();
            // Still running: it waits for its stdin.
            let still_running = tokio::time::timeout(Duration::from_millis(50), child.wait())
                .await
                .is_err();
            drop(process.stdin.take());
            let reaped = child.wait().await.unwrap();
            assert_eq!(
                (
                    early.code(),
                    still_running,
                    reaped.code(),
                    child.server_exited().await.unwrap().code()
                ),
                (Some(7), true, Some(3), Some(3))
            );
        });
    }

    #[test]
    fn without_a_report_the_process_exit_is_the_server_exit() {
        runtime().block_on(async {
            let (mut process, pidfd) = exiting_on_eof(5);
            let (report, reported) = oneshot::channel::<i32>();
            let mut child = Child::watch(pidfd, reported).unwrap();
            drop(report);
            drop(process.stdin.take());
            let exited = child.server_exited().await.unwrap();
            assert_eq!(
                (exited.code(), child.wait().await.unwrap().code()),
                (Some(5), Some(5))
            );
        });
    }
}
