//! Entering the sandbox's namespaces.
//!
//! Owns: `unshare` of the user, mount, pid, ipc, uts, cgroup (and, without host networking,
//! net) namespaces, and the identity maps that keep the caller's uid and gid (so files the
//! server writes in granted directories keep their owner). Runs in the single-threaded helper.

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

/// Enters new namespaces and maps the caller's ids into the user namespace. The pid
/// namespace applies to children forked after this.
pub(crate) fn enter(network: Network, uid: u32, gid: u32) -> Result<(), NamespaceError> {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if network != Network::Host {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(NamespaceError::Unavailable)?;
    let maps = || -> io::Result<()> {
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
        Ok(())
    };
    maps().map_err(NamespaceError::Restricted)
}
