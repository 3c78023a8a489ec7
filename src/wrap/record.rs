//! What `wrap` changed, so that `unwrap` can put it back byte for byte: per file and entry,
//! the original text of the edited region and the digest of what `wrap` wrote there.
//!
//! Owns: `<state>/wraps.json` (0600, locked while it changes). A record is only an aid: an
//! entry whose region no longer matches is unwrapped from its own argv instead.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILE: &str = "wraps.json";
const LOCK: &str = ".wraps.lock";

/// One wrapped entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The config file (its canonical path).
    pub(crate) file: PathBuf,
    /// The entry's place in it (`Entry::locator`).
    pub(crate) locator: String,
    /// The region's text before `wrap`.
    pub(crate) original: String,
    /// SHA-256 (hex) of the region's text as `wrap` left it.
    pub(crate) wrapped_sha256: String,
    /// When it was wrapped (RFC 3339).
    pub(crate) wrapped_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Records {
    version: u32,
    entries: Vec<Record>,
}

/// SHA-256 of `text`, in hex.
pub(crate) fn digest(text: &str) -> String {
    crate::audit::chain::sha256_hex(text.as_bytes())
}

fn path() -> anyhow::Result<PathBuf> {
    crate::paths::state_dir()
        .map(|d| d.join(FILE))
        .ok_or_else(|| anyhow::anyhow!(crate::paths::NO_STATE_DIR))
}

fn read(path: &Path) -> anyhow::Result<Records> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}; move it aside to start over (unwrap then works from each entry's own argv)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Records {
            version: 1,
            entries: Vec::new(),
        }),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Every record.
pub(crate) fn load() -> anyhow::Result<Vec<Record>> {
    Ok(read(&path()?)?.entries)
}

/// Applies `change` to the records under the lock and saves them.
pub(crate) fn update(change: impl FnOnce(&mut Vec<Record>)) -> anyhow::Result<()> {
    let path = path()?;
    let _lock = crate::private_file::lock(&path, LOCK)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut records = read(&path)?;
    change(&mut records.entries);
    records.version = 1;
    let text = serde_json::to_vec_pretty(&records)?;
    crate::private_file::replace(&path, &[&text, b"\n"])
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The record of `locator` in `file`.
pub(crate) fn find<'a>(records: &'a [Record], file: &Path, locator: &str) -> Option<&'a Record> {
    records
        .iter()
        .find(|r| r.file == file && r.locator == locator)
}
