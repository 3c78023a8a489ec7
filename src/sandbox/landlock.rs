//! Landlock: the kernel's own access control, applied to the server as a second wall.
//!
//! Owns: the ruleset for the strongest ABI this kernel offers (filesystem rights, TCP bind
//! and connect with no port allowed or, in allowlist mode, connect to the filter's ports
//! only, abstract-socket and signal scopes) and the report of
//! what was really enforced. Landlock "best effort" has silently enforced nothing in other
//! tools, so the outcome is returned and checked by the caller against what is required.

use super::plan::LandlockRules;
use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The rights asked for: those of ABI 6 (filesystem incl. refer/truncate/ioctl on devices,
/// TCP bind/connect, abstract-socket and signal scopes). A kernel with less gives a
/// "partial" outcome, which is reported; one without Landlock gives "off".
const TARGET_ABI: ABI = ABI::V6;

/// What Landlock enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LandlockOutcome {
    /// The kernel's ABI version (0: not available).
    pub(crate) abi: i32,
    /// "full", "partial" or "off".
    pub(crate) enforced: String,
}

impl LandlockOutcome {
    pub(crate) fn is_full(&self) -> bool {
        self.enforced == "full"
    }
}

/// The ABI version the running kernel supports (0 when Landlock is off or absent).
pub(crate) fn kernel_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute and size 0 this flag only queries the ABI version.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    version.max(0) as i32
}

/// What TCP the server may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tcp {
    /// Landlock leaves TCP alone (host network).
    Unrestricted,
    /// No bind, no connect, on any port.
    Denied,
    /// Connect to these ports only; no bind.
    ConnectTo(Vec<u16>),
}

/// Restricts this process (and what it executes) to `rules` and `tcp`.
pub(crate) fn restrict(rules: &LandlockRules, tcp: &Tcp) -> Result<LandlockOutcome, String> {
    let abi = kernel_abi();
    let fs_all = AccessFs::from_all(TARGET_ABI);
    let read = AccessFs::from_read(TARGET_ABI);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(fs_all)
        .map_err(|e| e.to_string())?;
    if *tcp != Tcp::Unrestricted {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(TARGET_ABI))
            .map_err(|e| e.to_string())?;
    }
    ruleset = ruleset
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(|e| e.to_string())?;
    let mut created = ruleset.create().map_err(|e| e.to_string())?;
    for (paths, access) in [(&rules.read, read), (&rules.write, fs_all)] {
        for path in paths {
            if let Some(rule) = beneath(path, access) {
                created = created
                    .add_rule(rule)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    if let Tcp::ConnectTo(ports) = tcp {
        for &port in ports {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(|e| format!("TCP port {port}: {e}"))?;
        }
    }
    let status = created.restrict_self().map_err(|e| e.to_string())?;
    let enforced = match status.ruleset {
        RulesetStatus::FullyEnforced => "full",
        RulesetStatus::PartiallyEnforced => "partial",
        RulesetStatus::NotEnforced => "off",
    };
    Ok(LandlockOutcome {
        abi,
        enforced: enforced.to_owned(),
    })
}

/// A rule for `path`; paths that do not exist are skipped (the view decides what exists),
/// and file paths get only the rights that apply to files.
fn beneath(path: &Path, access: landlock::BitFlags<AccessFs>) -> Option<PathBeneath<PathFd>> {
    let fd = PathFd::new(path).ok()?;
    let access = if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(TARGET_ABI)
    };
    Some(PathBeneath::new(fd, access))
}
