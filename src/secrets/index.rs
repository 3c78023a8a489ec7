//! What mcpguard knows about the secrets it stored, never their values.
//!
//! Owns: the index file (`<state>/secrets.json`, 0600): for each name, the store holding it,
//! when it was set, when it expires (`secret set --ttl`) and when a session last used it;
//! changed under a lock, written whole through a rename. The store is recorded so a session
//! started without the session bus does not silently look in another store.

use super::store::Backend;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    #[serde(default)]
    pub(crate) secrets: BTreeMap<String, Meta>,
}

/// One stored secret's facts (times as seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) store: Backend,
    pub(crate) created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_used: Option<u64>,
}

/// Where a secret stands against its own expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Standing {
    /// No expiry, or far from it.
    Ok,
    /// Less than a fifth of its lifetime left: time to rotate it.
    Due,
    /// Past its expiry: sessions refuse it.
    Expired,
}

impl Meta {
    pub(crate) fn standing(&self, now: u64) -> Standing {
        match self.expires {
            None => Standing::Ok,
            Some(end) if now >= end => Standing::Expired,
            Some(end) if (end - now) * 5 < end.saturating_sub(self.created) => Standing::Due,
            Some(_) => Standing::Ok,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IndexError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a secrets index ({message}); move it aside and set the secrets again")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    NoStateDir(&'static str),
}

pub(crate) fn path() -> Result<PathBuf, IndexError> {
    crate::paths::state_dir()
        .map(|dir| dir.join("secrets.json"))
        .ok_or(IndexError::NoStateDir(crate::paths::NO_STATE_DIR))
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// A time as the index keeps it, in words (UTC, to the second).
pub(crate) fn shown(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .to_string()
}

/// Reads the index; a missing file is empty.
pub(crate) fn load(path: &Path) -> Result<Index, IndexError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| IndexError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
        Err(source) => Err(IndexError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Changes the index under an exclusive lock; `change` returns what to report.
pub(crate) fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut Index) -> T,
) -> Result<T, IndexError> {
    let failed = |source| IndexError::Write {
        path: path.to_owned(),
        source,
    };
    let _lock = crate::private_file::lock(path, ".secrets.lock").map_err(failed)?;
    let mut index = load(path)?;
    let outcome = change(&mut index);
    let text = serde_json::to_vec_pretty(&index).map_err(|e| failed(std::io::Error::other(e)))?;
    crate::private_file::replace(path, &[&text]).map_err(failed)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn standing_follows_the_lifetime() {
        let meta = |expires| Meta {
            store: Backend::Keyutils,
            created: 1000,
            expires,
            last_used: None,
        };
        assert_eq!(
            [
                meta(None).standing(5000),
                meta(Some(2000)).standing(1500),
                meta(Some(2000)).standing(1850),
                meta(Some(2000)).standing(2000),
            ],
            [Standing::Ok, Standing::Ok, Standing::Due, Standing::Expired]
        );
    }

    #[test]
    fn the_index_round_trips_under_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/secrets.json");
        assert_eq!(load(&path).unwrap(), Index::default());
        let meta = Meta {
            store: Backend::SecretService,
            created: 7,
            expires: Some(9),
            last_used: None,
        };
        update(&path, |index| {
            index.secrets.insert("gh".into(), meta.clone());
        })
        .unwrap();
        assert_eq!(
            load(&path).unwrap(),
            Index {
                secrets: BTreeMap::from([("gh".to_owned(), meta)])
            }
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
