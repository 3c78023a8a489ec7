//! The descriptors the sandbox helper is started with.
//!
//! Owns: the report pipe (the helper's fd 4) and, in allowlist mode, the socketpair the
//! egress sockets come back on (fd 5); for a re-executed helper also the plan pipe (fd 3),
//! its command line, and keeping these inheritable only for the moment of the spawn (a
//! forked helper has the plan in memory and takes its descriptors itself, `fork`).

use super::init;
use super::plan::{self, Plan};
use std::io::{self, Write};
use std::os::fd::OwnedFd;

/// The pipes that carry the plan in and the layer report out.
pub(crate) struct Channels {
    /// The helper's fd 3, once the plan was written for a re-executed helper.
    plan_read: Option<OwnedFd>,
    /// The helper's fd 4.
    pub(crate) report_write: OwnedFd,
    /// Where the supervisor reads the report.
    pub(crate) report_read: OwnedFd,
    /// The helper's fd 5 and the supervisor's end, in allowlist mode (see `handoff`).
    pub(crate) egress: Option<(OwnedFd, OwnedFd)>,
}

impl Channels {
    /// The helper's descriptors (plan, report, and the egress channel in allowlist mode).
    fn helper_fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.plan_read
            .iter()
            .map(|fd| fd.as_raw_fd())
            .chain([self.report_write.as_raw_fd()])
            .chain(self.egress.as_ref().map(|(helper, _)| helper.as_raw_fd()))
            .collect()
    }

    /// Writes `plan` into a pipe for a re-executed helper and returns its command line:
    /// `/proc/self/exe __sandbox-init PLAN REPORT PID [EGRESS]` (through /proc/self/exe so
    /// a replaced or deleted binary does not matter).
    pub(crate) fn helper_command(&mut self, plan: &Plan) -> io::Result<std::process::Command> {
        let (plan_read, plan_write) = pipe()?;
        let text = serde_json::to_vec(plan).map_err(io::Error::other)?;
        // A plan is a few KiB; a pipe holds 64 KiB, so this write never waits for the reader.
        if text.len() >= 60 * 1024 {
            return Err(io::Error::other(
                "the sandbox plan is too large for its pipe",
            ));
        }
        std::fs::File::from(plan_write).write_all(&text)?;
        self.plan_read = Some(plan_read);
        let fds = self.helper_fds();
        let mut command = std::process::Command::new("/proc/self/exe");
        command
            .arg(init::SUBCOMMAND)
            .arg(fds[0].to_string())
            .arg(fds[1].to_string())
            .arg(std::process::id().to_string())
            .args(fds.get(2).map(|fd| fd.to_string()));
        Ok(command)
    }

    /// Runs `spawn` with the helper's descriptors inheritable, and closes them on exec
    /// again afterwards. Callers spawn from one thread only, so no other child can inherit
    /// them during that window.
    pub(crate) fn while_inheritable<T>(&self, spawn: impl FnOnce() -> T) -> T {
        let fds = self.helper_fds();
        let set = |flags: i32| {
            for &fd in &fds {
                // SAFETY: F_SETFD on descriptors these channels own.
                unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
            }
        };
        set(0);
        let spawned = spawn();
        set(libc::FD_CLOEXEC);
        spawned
    }
}

/// Opens the report pipe, and the egress channel when the plan's network needs one.
pub(crate) fn channels(plan: &Plan) -> io::Result<Channels> {
    let (report_read, report_write) = pipe()?;
    let egress = if plan.network == plan::Network::Allowlist {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
        let (helper, supervisor) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        Some((helper, supervisor))
    } else {
        None
    };
    Ok(Channels {
        plan_read: None,
        report_write,
        report_read,
        egress,
    })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}
