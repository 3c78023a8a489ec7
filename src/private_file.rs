//! mcpguard's own small files that only this user may read (the approvals answered
//! "always", the secrets index), changed whole.
//!
//! Owns: the directory (created 0700), the exclusive lock that serialises writers (a lock
//! file beside the data, so two processes never lose each other's change), and the write of
//! the new contents through a 0600 temporary file, synced, then renamed over the old one.

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `path`'s directory if needed and holds `lock_name` in it until the guard drops.
pub(crate) fn lock(path: &Path, lock_name: &str) -> io::Result<Flock<File>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let lock_file = File::create(dir.join(lock_name))?;
    Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

/// Replaces `path` with `parts`, one after the other, mode 0600.
pub(crate) fn replace(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}", std::process::id()));
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        for part in parts {
            out.write_all(part)?;
        }
        out.sync_all()?;
    }
    std::fs::rename(&temporary, path)
}
