//! Entering the sandbox's namespaces.
//!
//! Owns: which namespaces a sandbox gets (user, mount, pid, ipc, uts, cgroup and, without
//! host networking, net), `unshare` of them in the re-executed helper, and the identity maps
//! that keep the caller's uid and gid (so files the server writes in granted directories
//! keep their owner), written by the process itself or, for a PID 1 cloned straight into
//! them (`fork`), by the supervisor.

use super::plan::Network;
use nix::sched::{CloneFlags, unshare};
use std::io;

/// Why the namespaces could not be entered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NamespaceError {
    #[error(
        "user namespaces are not available ({0}); {hint}",
        hint = userns_hint()
    )]
    Unavailable(nix::Error),
    #[error("the user namespace was created but its identity maps could not be written ({0}); {hint}", hint = userns_hint())]
    Restricted(io::Error),
}

/// How to enable user namespaces on this machine, from what it shows.
pub(crate) fn userns_hint() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    };
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10+): run \
                `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, or install an AppArmor \
                profile for mcpguard that allows `userns`"
            .into();
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "run `sudo sysctl kernel.unprivileged_userns_clone=1`".into();
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user.max_user_namespaces is 0: run `sudo sysctl user.max_user_namespaces=15000`"
            .into();
    }
    "if this runs in a container, its seccomp or AppArmor profile forbids namespaces \
     (Docker: --security-opt seccomp=unconfined --security-opt apparmor=unconfined)"
        .into()
}

/// The namespaces a sandbox gets: all of them, the network's unless it shares the host's.
pub(crate) fn flags(network: Network) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if network != Network::Host {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    flags
}

/// Enters new namespaces and maps the caller's ids into the user namespace. The pid
/// namespace applies to children forked after this.
pub(crate) fn enter(network: Network, uid: u32, gid: u32) -> Result<(), NamespaceError> {
    unshare(flags(network)).map_err(NamespaceError::Unavailable)?;
    map_ids("self", uid, gid).map_err(NamespaceError::Restricted)
}

/// Maps `uid` and `gid` to themselves in the user namespace of process `pid` ("self", or a
/// child's pid number), with setgroups denied as an unprivileged map requires.
pub(crate) fn map_ids(pid: &str, uid: u32, gid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("{uid} {uid} 1"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("{gid} {gid} 1"))
}
