//! Resource limits of the sandbox: what a server may consume, as data.
//!
//! Owns: the profile's `[limits]` keys `processes`, `memory`, `tmpfs` and `cache` turned into
//! `ResourceLimits` (with the defaults a real server never reaches), the errors that name
//! the key and the fix, and which kernel mechanism enforces each limit. Applying them is the
//! helper's (`init.rs`, `mounts.rs`, `privileges.rs`); checking the cache is `cache.rs`'s.
//!
//! Mechanisms (no cgroup: none is delegated on the machines this was built on, so that path
//! is not written yet; `doctor` and the session's sandbox report say what is in force):
//! - processes: the sandbox's own pid namespace gets `kernel.pid_max` = processes + 300
//!   (Linux 6.14+; after pid numbers wrap the kernel skips the first 300, so the sandbox can
//!   always hold `processes` tasks and never more than `processes + 299`), and, for a
//!   non-root user, RLIMIT_NPROC = processes, which since Linux 5.14 counts the tasks of
//!   that uid in the sandbox's own user namespace only: the user's other processes neither
//!   count against it nor lose any of their own limit. uid 0 is exempt from RLIMIT_NPROC.
//!   Threads count as tasks in both.
//! - memory: RLIMIT_DATA per process (private writable memory; unlike RLIMIT_AS it leaves
//!   the large PROT_NONE reservations of V8 and other runtimes alone). It bounds each process,
//!   not their sum.
//! - tmpfs: one tmpfs of this size holds every writable scratch directory of the view, so
//!   the budget is shared, with an inode cap so empty files cannot exhaust kernel memory.
//! - cache: measured on the host before the server starts; over it, a warning and an audit
//!   record, and `mcpguard cache prune` empties it.

use serde::{Deserialize, Serialize};

/// Default most tasks at once: a Node server runs about a dozen threads, a Python one a few.
pub(crate) const DEFAULT_PROCESSES: u32 = 512;
/// Default memory per process.
pub(crate) const DEFAULT_MEMORY: u64 = 4 << 30;
/// Default shared tmpfs budget.
pub(crate) const DEFAULT_TMPFS: u64 = 512 << 20;
/// Default persistent cache size.
pub(crate) const DEFAULT_CACHE: u64 = 2 << 30;

/// Fewer tasks than this cannot run a real server (Node alone starts ~11 threads).
const MIN_PROCESSES: u32 = 16;
/// The kernel's largest pid_max (4M) less the 300 reserved pids.
const MAX_PROCESSES: u32 = (1 << 22) - 300;
/// Less memory than this cannot start a runtime.
const MIN_MEMORY: u64 = 64 << 20;
/// A smaller tmpfs budget cannot hold a runtime's scratch files.
const MIN_TMPFS: u64 = 1 << 20;
/// Pid numbers below this are not reused after the pid space wraps (kernel RESERVED_PIDS).
pub(crate) const RESERVED_PIDS: u32 = 300;

/// The limits a sandbox is planned with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResourceLimits {
    /// Most tasks at once (processes and threads).
    pub(crate) processes: u32,
    /// Bytes of private writable memory per process; `None` when switched off.
    pub(crate) memory: Option<u64>,
    /// Bytes shared by every writable tmpfs directory of the view.
    pub(crate) tmpfs: u64,
    /// Bytes of persistent cache tolerated at start; `None` when switched off.
    pub(crate) cache: Option<u64>,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            processes: DEFAULT_PROCESSES,
            memory: Some(DEFAULT_MEMORY),
            tmpfs: DEFAULT_TMPFS,
            cache: Some(DEFAULT_CACHE),
        }
    }
}

impl ResourceLimits {
    /// The limits a profile's `[limits]` section asks for, defaults filling the rest.
    pub(crate) fn from_profile(
        limits: &crate::profile::model::LimitsSection,
    ) -> Result<Self, String> {
        let defaults = ResourceLimits::default();
        let processes = match limits.processes {
            None => defaults.processes,
            Some(n) if (MIN_PROCESSES..=MAX_PROCESSES).contains(&n) => n,
            Some(n) => {
                return Err(format!(
                    "limits.processes = {n}: write a number from {MIN_PROCESSES} (a runtime's own \
                     threads count) to {MAX_PROCESSES}; the default is {DEFAULT_PROCESSES}"
                ));
            }
        };
        let memory = match limits.memory.as_deref() {
            None => defaults.memory,
            Some(text) => size_or_off("memory", text, MIN_MEMORY, "4GiB")?,
        };
        let tmpfs = match limits.tmpfs.as_deref() {
            None => defaults.tmpfs,
            Some(text) => size_or_off("tmpfs", text, MIN_TMPFS, "512MiB")?.ok_or_else(|| {
                "limits.tmpfs = \"off\": the tmpfs budget cannot be switched off (without it each \
                 tmpfs may take half the machine's memory); write a size such as \"2GiB\""
                    .to_owned()
            })?,
        };
        let cache = match limits.cache.as_deref() {
            None => defaults.cache,
            Some(text) => size_or_off("cache", text, 1, "2GiB")?,
        };
        Ok(ResourceLimits {
            processes,
            memory,
            tmpfs,
            cache,
        })
    }

    /// The pid_max of the sandbox's pid namespace that lets it hold `processes` tasks.
    pub(crate) fn pid_max(&self) -> u32 {
        self.processes + RESERVED_PIDS
    }

    /// Inodes of the shared tmpfs: one per 4 KiB of budget, so empty files run out no
    /// sooner than the space does, and cost the kernel a bounded amount.
    pub(crate) fn tmpfs_inodes(&self) -> u64 {
        (self.tmpfs / 4096).max(1024)
    }
}

fn size_or_off(key: &str, text: &str, min: u64, example: &str) -> Result<Option<u64>, String> {
    if text.trim() == "off" {
        return Ok(None);
    }
    let bytes = crate::units::parse_size(text).map_err(|e| format!("limits.{key}: {e}"))? as u64;
    if bytes < min {
        return Err(format!(
            "limits.{key} = \"{text}\" is too small to run a server (at least {min} bytes); write \
             a size such as \"{example}\", or \"off\""
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::model::LimitsSection;
    use pretty_assertions::assert_eq;

    #[test]
    fn defaults_fill_what_the_profile_leaves_out() {
        assert_eq!(
            ResourceLimits::from_profile(&LimitsSection::default()),
            Ok(ResourceLimits {
                processes: 512,
                memory: Some(4 << 30),
                tmpfs: 512 << 20,
                cache: Some(2 << 30),
            })
        );
        let set = LimitsSection {
            processes: Some(64),
            memory: Some("off".into()),
            tmpfs: Some("8MiB".into()),
            cache: Some("off".into()),
            ..LimitsSection::default()
        };
        assert_eq!(
            ResourceLimits::from_profile(&set),
            Ok(ResourceLimits {
                processes: 64,
                memory: None,
                tmpfs: 8 << 20,
                cache: None,
            })
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let err = |limits: LimitsSection| ResourceLimits::from_profile(&limits).unwrap_err();
        let e = err(LimitsSection {
            processes: Some(2),
            ..LimitsSection::default()
        });
        assert!(
            e.starts_with("limits.processes = 2: write a number from 16"),
            "{e}"
        );
        let e = err(LimitsSection {
            memory: Some("1MiB".into()),
            ..LimitsSection::default()
        });
        assert!(e.contains("limits.memory") && e.contains("\"4GiB\""), "{e}");
        let e = err(LimitsSection {
            tmpfs: Some("off".into()),
            ..LimitsSection::default()
        });
        assert!(e.starts_with("limits.tmpfs = \"off\""), "{e}");
        let e = err(LimitsSection {
            cache: Some("lots".into()),
            ..LimitsSection::default()
        });
        assert!(e.starts_with("limits.cache: "), "{e}");
    }

    #[test]
    fn the_pid_space_leaves_room_for_the_reserved_pids() {
        let limits = ResourceLimits::default();
        assert_eq!(limits.pid_max(), 812);
        assert_eq!(limits.tmpfs_inodes(), 131_072);
    }
}
