//! The server's program: found the way `execvp` finds it.
//!
//! Owns: the PATH walk (a name with a `/` is a path; anything else is looked up in each
//! PATH directory in turn) and the two ways it can fail, with their exit codes. The
//! supervisor resolves the program to plan the sandbox and to start an unconfined server;
//! the sandbox helper walks the same candidates inside the view.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why the server's program cannot be run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProgramError {
    #[error("command not found: {0} (not a path to an existing file, and not on PATH)")]
    NotFound(String),
    #[error("command not executable: {command}: {source}")]
    NotExecutable { command: String, source: io::Error },
}

impl ProgramError {
    /// The exit status mcpguard ends with (contract: 127 not found, 126 not executable).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ProgramError::NotFound(_) => crate::exit::NOT_FOUND,
            ProgramError::NotExecutable { .. } => crate::exit::NOT_EXECUTABLE,
        }
    }
}

/// Where `program` may be, in the order `execvp` tries: itself when it names a path, else
/// each directory of `path_var` joined with it.
pub(crate) fn candidates(program: &str, path_var: Option<&OsStr>) -> Vec<PathBuf> {
    if program.contains('/') {
        return vec![PathBuf::from(program)];
    }
    path_var
        .map(|path| {
            std::env::split_paths(path)
                .map(|dir| dir.join(program))
                .collect()
        })
        .unwrap_or_default()
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first candidate that is an executable file.
pub(crate) fn resolve(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    candidates(program, path_var)
        .into_iter()
        .find(|candidate| is_executable_file(candidate))
}

/// Like `resolve`, with why it failed: a path to a file that cannot be executed, or nothing.
pub(crate) fn resolve_or_explain(
    program: &str,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, ProgramError> {
    resolve(program, path_var).ok_or_else(|| {
        if program.contains('/') && Path::new(program).is_file() {
            ProgramError::NotExecutable {
                command: program.to_owned(),
                source: io::Error::other("it exists but has no execute permission"),
            }
        } else {
            ProgramError::NotFound(program.to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn resolves_like_execvp() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::ffi::OsString::from(format!("/nonexistent:{}", dir.path().display()));
        assert_eq!(resolve("tool", Some(&path)), None);
        assert!(matches!(
            resolve_or_explain(&tool.display().to_string(), None),
            Err(ProgramError::NotExecutable { .. })
        ));
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(resolve("tool", Some(&path)), Some(tool.clone()));
        assert_eq!(
            resolve(&tool.display().to_string(), None),
            Some(tool.clone())
        );
        assert_eq!(resolve("missing", Some(&path)), None);
        assert!(matches!(
            resolve_or_explain("missing", Some(&path)),
            Err(ProgramError::NotFound(_))
        ));
        assert_eq!(
            candidates("tool", Some(&path)),
            vec![PathBuf::from("/nonexistent/tool"), tool]
        );
    }
}
