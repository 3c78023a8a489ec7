//! Putting a changed config file in place: the unified diff shown first, a backup of the
//! file as it was, and an atomic replace that keeps its mode and owner.
//!
//! Owns: the only writes to the agents' files. The file is read again just before the
//! write; if anything changed it since it was read (the agent rewrote it), nothing is
//! written.

use anyhow::Context;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The unified diff from `before` to `after`, with `path` in its headers.
pub(crate) fn diff(path: &Path, before: &str, after: &str) -> String {
    let shown = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&shown, &shown)
        .to_string()
}

/// Backs up `path` (whose contents are `expected`) and replaces it with `contents`; returns
/// where the backup is. Refuses when the file no longer holds `expected`.
pub(crate) fn replace(path: &Path, expected: &str, contents: &str) -> anyhow::Result<PathBuf> {
    let now =
        std::fs::read(path).with_context(|| format!("{}: cannot read it again", path.display()))?;
    if now != expected.as_bytes() {
        anyhow::bail!(
            "{} changed while mcpguard was working on it (did the agent rewrite it?); nothing \
             was written: run the command again",
            path.display()
        );
    }
    let metadata = std::fs::metadata(path).with_context(|| path.display().to_string())?;
    let backup = backup(path, expected.as_bytes())?;
    // Replace the file the link points to, not a symlink in its place.
    let target = path
        .canonicalize()
        .with_context(|| path.display().to_string())?;
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.mcpguard-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        out.write_all(contents.as_bytes())?;
        out.set_permissions(std::fs::Permissions::from_mode(metadata.mode() & 0o7777))?;
        // Keep the owner when root edits another user's file (anyone else makes files that
        // are already theirs, and may not give them a group they are not in).
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::fchown(&out, Some(metadata.uid()), Some(metadata.gid()))?;
        }
        out.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| {
            format!(
                "{}: the new contents could not be written (the file is unchanged; its backup is {})",
                target.display(),
                backup.display()
            )
        });
    }
    Ok(backup)
}

/// A copy of `contents` (the file at `path` now) under mcpguard's state directory, named
/// after the file and the time.
fn backup(path: &Path, contents: &[u8]) -> anyhow::Result<PathBuf> {
    let dir = crate::paths::state_dir()
        .ok_or_else(|| anyhow::anyhow!(crate::paths::NO_STATE_DIR))?
        .join("backups");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| dir.display().to_string())?;
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".to_owned());
    let file_digest = &super::record::digest(&path.display().to_string())[..8];
    let mut n = 0;
    loop {
        let candidate = dir.join(format!("{stamp}-{file_digest}-{n}-{name}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&candidate)
        {
            Ok(mut out) => {
                out.write_all(contents)
                    .and_then(|()| out.sync_all())
                    .with_context(|| candidate.display().to_string())?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e).with_context(|| candidate.display().to_string()),
        }
    }
}
