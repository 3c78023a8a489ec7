//! What this machine can enforce, found by trying (for `mcpguard doctor`).
//!
//! Owns: trying each namespace type in a throwaway child, reading the Landlock ABI and what
//! it covers, checking seccomp, and starting a real tiny sandbox
//! (the same helper `run` uses) to read back the layers it reports, and one in allowlist
//! mode to see it hand over the egress filter's sockets. Must run before any
//! thread exists in the process (it forks).

use super::handoff::{self, Role};
use super::init::LayerReport;
use super::landlock;
use super::plan::Plan;
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use serde::Serialize;
use std::io::Read;
use std::os::fd::AsFd;
use std::process::Stdio;

/// The cgroup v2 directory this process sits in, when it offers the `pids` and `memory`
/// controllers and this user may create a child there (a delegated cgroup, as systemd's
/// user manager gives one); otherwise why not. mcpguard does not use one yet (see
/// `limits.rs`); doctor reports whether the machine would allow it.
pub(crate) fn delegated_cgroup() -> Result<std::path::PathBuf, String> {
    let membership = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let relative = membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or("no cgroup v2 hierarchy (a v1-only machine)")?;
    let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|root| root.join("cgroup.controllers").exists())
        .ok_or("cgroup v2 is not mounted at /sys/fs/cgroup")?;
    let dir = root.join(relative.trim_start_matches('/'));
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let missing: Vec<&str> = ["pids", "memory"]
        .into_iter()
        .filter(|c| !controllers.split_whitespace().any(|x| x == *c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} does not offer the {} controller(s)",
            dir.display(),
            missing.join(" and ")
        ));
    }
    let c_dir =
        std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: access() reads a NUL-terminated path.
    if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!("{} is not writable by this user", dir.display()));
    }
    Ok(dir)
}

/// One namespace type and whether an unprivileged user namespace can hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NamespaceCheck {
    pub(crate) name: &'static str,
    /// `None` when it works, else the error.
    pub(crate) error: Option<String>,
}

/// Exit code of the probe child when the namespace was created but the maps were refused
/// (errno values stay below it).
const MAPS_REFUSED: i32 = 200;

/// Tries `unshare(CLONE_NEWUSER | extra)` (and the id maps) in a forked child.
fn try_namespace(extra: CloneFlags) -> Option<String> {
    // SAFETY: doctor runs single-threaded; the child only makes syscalls and exits.
    match unsafe { fork() } {
        Err(e) => Some(format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            // SAFETY: getuid/getgid cannot fail.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            let code = match unshare(CloneFlags::CLONE_NEWUSER | extra) {
                Err(e) => e as i32,
                Ok(()) => {
                    let maps = std::fs::write("/proc/self/setgroups", "deny")
                        .and_then(|()| {
                            std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
                        })
                        .and_then(|()| {
                            std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
                        });
                    if maps.is_ok() { 0 } else { MAPS_REFUSED }
                }
            };
            // SAFETY: leaving the forked child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => None,
            Ok(WaitStatus::Exited(_, MAPS_REFUSED)) => Some(
                "created, but its identity maps were refused (an AppArmor-style restriction)"
                    .into(),
            ),
            Ok(WaitStatus::Exited(_, code)) => Some(nix::Error::from_raw(code).desc().to_owned()),
            other => Some(format!("probe ended unexpectedly: {other:?}")),
        },
    }
}

pub(crate) fn namespaces() -> Vec<NamespaceCheck> {
    [
        ("user", CloneFlags::empty()),
        ("mount", CloneFlags::CLONE_NEWNS),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("net", CloneFlags::CLONE_NEWNET),
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ]
    .into_iter()
    .map(|(name, flag)| NamespaceCheck {
        name,
        error: try_namespace(flag),
    })
    .collect()
}

/// What a Landlock ABI version covers, in words.
pub(crate) fn landlock_coverage(abi: i32) -> &'static str {
    match abi {
        i32::MIN..=0 => "not available",
        1 => "filesystem only, and renames across directories are always refused (breaks npm)",
        2 => "filesystem (with cross-directory renames)",
        3 => "filesystem incl. truncate",
        4 => "filesystem, TCP bind/connect",
        5 => "filesystem incl. device ioctls, TCP bind/connect",
        _ => "filesystem incl. device ioctls, TCP bind/connect, abstract-socket and signal scopes",
    }
}

pub(crate) fn landlock_abi() -> i32 {
    landlock::kernel_abi()
}

/// Whether seccomp filters can be installed (checked without installing one).
pub(crate) fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0 && std::fs::read_to_string("/proc/self/status").is_ok_and(|s| s.contains("Seccomp:"))
}

/// What a trial sandbox did.
#[derive(Debug)]
pub(crate) struct TrialOutcome {
    pub(crate) report: Option<LayerReport>,
    pub(crate) code: Option<i32>,
    /// In allowlist mode: the roles of the egress sockets it handed over, or why none came.
    pub(crate) egress: Option<Result<Vec<Role>, String>>,
    /// What the helper and the trial's command said, for a failure's message.
    pub(crate) stderr: String,
}

impl TrialOutcome {
    /// Why the trial did not end well, in words; `None` when it exited 0.
    pub(crate) fn failure(&self) -> Option<String> {
        let how = match self.code {
            Some(0) => return None,
            Some(code) => format!("the trial sandbox exited with status {code}"),
            None => "the trial sandbox was killed by a signal".to_owned(),
        };
        Some(if self.stderr.is_empty() {
            how
        } else {
            format!("{how}: {}", self.stderr)
        })
    }
}

/// Starts the real sandbox helper on `plan` and returns what it reports, its exit code and,
/// in allowlist mode, what it handed over for the egress filter.
pub(crate) fn trial(plan: &Plan) -> Result<TrialOutcome, String> {
    let mut channels = super::channels(plan).map_err(|e| e.to_string())?;
    let mut command = channels.helper_command(plan).map_err(|e| e.to_string())?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = channels
        .while_inheritable(|| command.spawn())
        .map_err(|e| e.to_string())?;
    let super::Channels {
        report_read,
        report_write,
        egress,
        ..
    } = channels;
    drop(report_write);
    let supervisor_end = egress.map(|(helper, supervisor)| {
        drop(helper);
        supervisor
    });
    let mut text = String::new();
    std::fs::File::from(report_read)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let egress = supervisor_end.map(|end| {
        handoff::receive(end.as_fd())
            .map(|sockets| sockets.into_iter().map(|(role, _)| role).collect())
            .map_err(|e| e.to_string())
    });
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    // The layer report is the first line; the server's exit status follows it.
    let report = text
        .lines()
        .next()
        .and_then(|line| serde_json::from_str(line).ok());
    if report.is_none() && !stderr.trim().is_empty() {
        return Err(stderr.trim().to_owned());
    }
    Ok(TrialOutcome {
        report,
        code: status.code(),
        egress,
        stderr: stderr.trim().to_owned(),
    })
}
