//! The per-user directory of approval sockets.
//!
//! Owns: making sure the directory (`paths::runtime_dir`) exists, belongs to this user, is
//! not a symbolic link, and is open to nobody else (0700); a directory that fails any of
//! these is not used, and the reason says how to fix it. Sessions put `<pid>.sock` in it,
//! approvers `approver-<pid>.lock`.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirError {
    #[error("cannot create the approval directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the approval directory {path} is not a directory of its own (a symbolic link or a file); remove it"
    )]
    NotADirectory { path: PathBuf },
    #[error(
        "the approval directory {path} belongs to uid {owner}, not to you (uid {uid}); remove it or set XDG_RUNTIME_DIR"
    )]
    Owner { path: PathBuf, owner: u32, uid: u32 },
    #[error(
        "the approval directory {path} is open to others (mode {mode:o}); run chmod 700 {path}"
    )]
    Mode { path: PathBuf, mode: u32 },
}

/// The directory, created (0700) when missing and checked.
pub(crate) fn ensure() -> Result<PathBuf, DirError> {
    let path = crate::paths::runtime_dir();
    ensure_at(&path)?;
    Ok(path)
}

/// The directory if it exists and passes the checks (readers never create it).
pub(crate) fn existing() -> Result<Option<PathBuf>, DirError> {
    let path = crate::paths::runtime_dir();
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => {
            check(&path)?;
            Ok(Some(path))
        }
    }
}

pub(crate) fn ensure_at(path: &Path) -> Result<(), DirError> {
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|source| DirError::Create {
                path: parent.to_owned(),
                source,
            })?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(DirError::Create {
                path: path.to_owned(),
                source,
            });
        }
    }
    check(path)
}

fn check(path: &Path) -> Result<(), DirError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| DirError::Create {
        path: path.to_owned(),
        source,
    })?;
    if !meta.file_type().is_dir() {
        return Err(DirError::NotADirectory {
            path: path.to_owned(),
        });
    }
    let uid = nix::unistd::geteuid().as_raw();
    if meta.uid() != uid {
        return Err(DirError::Owner {
            path: path.to_owned(),
            owner: meta.uid(),
            uid,
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DirError::Mode {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_made_private_and_checked() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("run/mcpguard");
        ensure_at(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        ensure_at(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            ensure_at(&dir),
            Err(DirError::Mode { mode: 0o755, .. })
        ));
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(matches!(
            ensure_at(&link),
            Err(DirError::NotADirectory { .. })
        ));
    }
}
