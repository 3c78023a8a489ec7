//! The servers' persistent caches on the host: how big they are, and emptying them.
//!
//! Owns: measuring a cache directory (space really allocated, symlinks not followed, other
//! file systems not entered, hard links counted once), listing every server's cache under
//! `<cache dir>/servers/*` (whatever each directory is named after), checking one against
//! its budget (`Budget`), and pruning one. A
//! cache is only ever a cache: everything in it can be fetched again, so emptying it is safe
//! between sessions.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One server's cache directory and its size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct CacheEntry {
    /// The directory's name under `servers/`.
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
}

/// A server's cache measured against `limits.cache` while its session runs (a large cache
/// takes long to walk, and nothing at start waits for it).
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub(crate) dir: PathBuf,
    pub(crate) max: u64,
}

impl Budget {
    /// Measures the cache; over the budget, says so on stderr and returns the detail of the
    /// `limit` audit record. The session goes on either way: a full cache costs disk, not
    /// safety, and the user decides when to empty it.
    pub(crate) fn check(&self, server: &str) -> Option<serde_json::Value> {
        let (dir, max) = (&self.dir, self.max);
        let bytes = match usage(dir, Some(max)) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(%server, "could not measure the cache {}: {e}", dir.display());
                return None;
            }
        };
        if bytes <= max {
            return None;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracing::warn!(
            %server,
            "limit: the persistent cache {} holds more than limits.cache ({max} bytes): at least \
             {bytes} bytes; `mcpguard cache prune --server {name}` empties it",
            dir.display()
        );
        Some(serde_json::json!({
            "limit": "cache",
            "path": dir,
            "bytes": bytes,
            "max": max,
        }))
    }
}

/// The directory holding every server's cache, under mcpguard's cache directory.
pub(crate) fn servers_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("servers")
}

/// Bytes allocated under `dir`, counting stopped once past `stop_after` (so a check at
/// start does not walk a huge cache to the end). A missing directory holds nothing.
pub(crate) fn usage(dir: &Path, stop_after: Option<u64>) -> io::Result<u64> {
    let top = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            // Removed while walking (a session may be writing): nothing to count.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(meta) = entry.metadata() else { continue };
            if meta.dev() != top.dev() {
                continue;
            }
            if meta.nlink() > 1 && !meta.is_dir() && !seen.insert(meta.ino()) {
                continue;
            }
            total = total.saturating_add(meta.blocks() * 512);
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
        if stop_after.is_some_and(|limit| total > limit) {
            break;
        }
    }
    Ok(total)
}

/// Every server's cache under `cache_dir`, by name.
pub(crate) fn list(cache_dir: &Path) -> io::Result<Vec<CacheEntry>> {
    let entries = match std::fs::read_dir(servers_dir(cache_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        found.push(CacheEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            bytes: usage(&path, None)?,
            path,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Empties `dir` (it stays, empty); returns the bytes freed. Symlinks inside are removed,
/// never followed.
pub(crate) fn prune(dir: &Path) -> io::Result<u64> {
    let before = usage(dir, None)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn caches_are_measured_listed_and_pruned() {
        let base = tempfile::tempdir().unwrap();
        let fs = servers_dir(base.path()).join("fs");
        std::fs::create_dir_all(fs.join("npm/deep")).unwrap();
        std::fs::write(fs.join("npm/deep/blob"), vec![7u8; 256 << 10]).unwrap();
        // A hard link is the same data; a symlink out of the cache is not followed.
        std::fs::hard_link(fs.join("npm/deep/blob"), fs.join("npm/again")).unwrap();
        let outside = base.path().join("outside");
        std::fs::write(&outside, vec![1u8; 1 << 20]).unwrap();
        std::os::unix::fs::symlink(&outside, fs.join("npm/link")).unwrap();
        std::fs::create_dir_all(servers_dir(base.path()).join("empty")).unwrap();

        let bytes = usage(&fs, None).unwrap();
        assert!(
            (256 << 10..(256 << 10) + (64 << 10)).contains(&bytes),
            "{bytes}"
        );
        assert!(usage(&fs, Some(1)).unwrap() > 1);
        assert_eq!(usage(&base.path().join("missing"), None).unwrap(), 0);
        let listed = list(base.path()).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|e| (e.name.as_str(), e.bytes == 0))
                .collect::<Vec<_>>(),
            vec![("empty", true), ("fs", false)]
        );
        assert_eq!(prune(&fs).unwrap(), bytes);
        assert_eq!(std::fs::read_dir(&fs).unwrap().count(), 0);
        assert!(outside.exists());
    }
}
