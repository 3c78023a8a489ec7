//! Path arithmetic shared by the sandbox and the policy.
//!
//! Owns: removing `.` and `..` as written (what a reader of a path sees), and resolving a
//! path the way the kernel opens it, beneath a root: components in order, symlinks followed
//! where they exist (an absolute target starts again from the root, a `..` after a symlink
//! leaves the symlink's target), the part that does not exist yet appended as written; and
//! a name made safe as one path component (a server's directories under mcpguard's own).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed before the rest of a path is taken as written (the kernel's limit).
const MAX_LINKS: usize = 40;

/// `path` with `.` and `..` removed as written.
pub(crate) fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Where `path` leads beneath `root` (never above it), and whether the symlink limit was
/// reached on the way (the kernel would refuse with ELOOP; the rest is taken as written).
pub(crate) fn resolve_beneath(root: &Path, path: &Path) -> (PathBuf, bool) {
    fn push_parts(path: &Path, pending: &mut Vec<OsString>) {
        for component in path.components().rev() {
            match component {
                Component::Normal(name) => pending.push(name.to_os_string()),
                Component::ParentDir => pending.push("..".into()),
                _ => {}
            }
        }
    }
    let mut pending: Vec<OsString> = Vec::new();
    push_parts(path, &mut pending);
    let mut resolved = root.to_path_buf();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if resolved != root {
                resolved.pop();
            }
            continue;
        }
        let next = resolved.join(&part);
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() && links < MAX_LINKS => {
                links += 1;
                let Ok(target) = std::fs::read_link(&next) else {
                    resolved = next;
                    continue;
                };
                if target.is_absolute() {
                    resolved = root.to_path_buf();
                }
                push_parts(&target, &mut pending);
            }
            _ => resolved = next,
        }
    }
    (resolved, links >= MAX_LINKS)
}

/// A server name made safe as one path component.
pub(crate) fn safe_component(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn names_become_safe_path_components() {
        assert_eq!(safe_component("fs"), "fs");
        assert_eq!(safe_component("../../etc"), "_.._.._etc");
        assert_eq!(safe_component("a b/c"), "a_b_c");
        assert_eq!(safe_component(""), "_");
    }

    #[test]
    fn grants_are_normalised() {
        assert_eq!(
            lexical_normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
