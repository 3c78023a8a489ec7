//! Whether a person is watching for approval requests.
//!
//! Owns: the mark an approver (`mcpguard approve`, interactive or `--watch`) holds while it
//! runs: a file `approver-<pid>.lock` in the approval directory with an exclusive `flock`,
//! which the kernel releases when the approver dies however it dies. A session asks
//! `someone_watching` before it holds a call for the socket channel: with nobody watching,
//! holding it would only make the agent wait for a denial.

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held by a running approver; the mark goes away with it.
pub(crate) struct Watching {
    path: PathBuf,
    _lock: Flock<File>,
}

impl Watching {
    /// Marks this process as an approver in `dir`.
    pub(crate) fn start(dir: &Path) -> std::io::Result<Watching> {
        let path = dir.join(format!("approver-{}.lock", std::process::id()));
        let file = File::create(&path)?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, errno)| std::io::Error::from(errno))?;
        Ok(Watching { path, _lock: lock })
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether an approver holds its mark in `dir`. Marks left by approvers that died are
/// unlocked, so they do not count (and are removed); nor does the mark of a process that
/// may not answer for this session (`peer`: the agent's own children), whose answers would
/// be refused.
pub(crate) fn someone_watching(dir: &Path, origin: Option<&super::peer::Origin>) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut watching = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_prefix("approver-")
            .and_then(|rest| rest.strip_suffix(".lock"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(file) = File::open(entry.path()) else {
            continue;
        };
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            // Nobody holds it: a mark left behind.
            Ok(_unlocked) => {
                let _ = std::fs::remove_file(entry.path());
            }
            Err(_) => watching |= origin.is_none_or(|o| o.refusal(pid).is_none()),
        }
    }
    watching
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_counts_while_it_is_held_by_a_process_that_may_answer() {
        let dir = tempfile::tempdir().unwrap();
        // Seen from a session this test process has nothing to do with.
        let stranger = super::super::peer::Origin {
            own: u32::MAX - 1,
            agent: Some(u32::MAX - 2),
            session: u32::MAX - 3,
        };
        assert!(!someone_watching(dir.path(), Some(&stranger)));
        let mark = Watching::start(dir.path()).unwrap();
        assert!(someone_watching(dir.path(), Some(&stranger)));
        // Seen from this process's own session, its mark is its own child's: not a person.
        let own = super::super::peer::Origin::of_this_process();
        assert!(!someone_watching(dir.path(), Some(&own)));
        drop(mark);
        assert!(!someone_watching(dir.path(), Some(&stranger)));
        // A mark whose approver died (the file stays, the lock does not).
        std::fs::write(dir.path().join("approver-1.lock"), "").unwrap();
        assert!(!someone_watching(dir.path(), Some(&stranger)));
        assert!(!dir.path().join("approver-1.lock").exists());
    }
}
