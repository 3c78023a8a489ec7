//! Approvals answered "always": the user's own overlay on every profile.
//!
//! Owns: the file `approvals.toml` in mcpguard's config directory (a file mcpguard owns,
//! never a built-in or a team's profile), its entries (server, tool, a glob per named
//! argument), whether a call matches one, adding one atomically, and revoking. An entry
//! only turns a `prompt` into `allow`: it never overrides a `deny`. Arguments an entry does
//! not name are free; a value with a `..` path component never matches (it could lead out
//! of any directory a pattern names).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Argument key → glob its value (as text: strings as they are, others as compact JSON)
/// must match.
pub(crate) type ArgPatterns = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) server: String,
    pub(crate) tool: String,
    #[serde(default)]
    pub(crate) arguments: ArgPatterns,
    /// When it was written (RFC 3339).
    pub(crate) created: String,
    /// Who answered (`socket uid=1000`, `tty`).
    pub(crate) by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[serde(default, rename = "approval")]
    pub(crate) entries: Vec<Entry>,
}

/// Why the approvals file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AlwaysError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a valid approvals file: {message}; fix or remove the entry (mcpguard approvals revoke)"
    )]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("argument `{key}`: `{glob}` is not a valid glob: {message}")]
    Glob {
        key: String,
        glob: String,
        message: String,
    },
    #[error("{0}")]
    NoConfigDir(&'static str),
}

const HEADER: &str = "# Approvals answered \"always\" (written by mcpguard approve; see them with\n\
# `mcpguard approvals list`, remove them with `mcpguard approvals revoke`). Each entry lets\n\
# a call of `tool` on `server` run without asking when every argument named under\n\
# `arguments` matches its glob; arguments not named are free. Entries never override a deny.\n";

/// Where the file is.
pub(crate) fn path() -> Result<PathBuf, AlwaysError> {
    crate::paths::config_dir()
        .map(|dir| dir.join("approvals.toml"))
        .ok_or(AlwaysError::NoConfigDir(
            "cannot tell where mcpguard keeps its settings: HOME is not set; set HOME or MCPGUARD_HOME",
        ))
}

/// Reads the file at `path`; a missing file has no entries.
pub(crate) fn load(path: &Path) -> Result<File, AlwaysError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(source) => {
            return Err(AlwaysError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    check_owner(path)?;
    toml::from_str(&text).map_err(|e| AlwaysError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// An approvals file anyone but this user could have written allows nothing.
fn check_owner(path: &Path) -> Result<(), AlwaysError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|source| AlwaysError::Read {
        path: path.to_owned(),
        source,
    })?;
    let uid = nix::unistd::geteuid().as_raw();
    let problem = if !meta.file_type().is_file() {
        Some("it is not a regular file".to_owned())
    } else if meta.uid() != uid {
        Some(format!(
            "it belongs to uid {}, not to you (uid {uid})",
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "others may write it (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AlwaysError::Parse {
            path: path.to_owned(),
            message: format!("{problem}, so its approvals are not used"),
        }),
        None => Ok(()),
    }
}

/// Writes `file` to `path` whole, through a temporary file and a rename (0600).
pub(crate) fn save(path: &Path, file: &File) -> Result<(), AlwaysError> {
    let failed = |source| AlwaysError::Write {
        path: path.to_owned(),
        source,
    };
    let text = toml::to_string(file).map_err(|e| failed(std::io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let temporary = dir.join(format!(".approvals.toml.{}", std::process::id()));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(failed)?;
        out.write_all(HEADER.as_bytes()).map_err(failed)?;
        out.write_all(text.as_bytes()).map_err(failed)?;
        out.sync_all().map_err(failed)?;
    }
    std::fs::rename(&temporary, path).map_err(failed)
}

/// Checks that every glob of `patterns` compiles.
pub(crate) fn check(patterns: &ArgPatterns) -> Result<(), AlwaysError> {
    for (key, glob) in patterns {
        matcher(glob).map_err(|message| AlwaysError::Glob {
            key: key.clone(),
            glob: glob.clone(),
            message,
        })?;
    }
    Ok(())
}

fn matcher(glob: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

/// A value as a pattern sees it.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn has_parent_component(text: &str) -> bool {
    text.split(['/', '\\']).any(|part| part == "..")
}

impl Entry {
    /// Whether a call of `tool` on `server` with `arguments` is one this entry allows.
    pub(crate) fn allows(&self, server: &str, tool: &str, arguments: Option<&Value>) -> bool {
        if self.server != server || self.tool != tool {
            return false;
        }
        self.arguments.iter().all(|(key, glob)| {
            let Some(value) = arguments.and_then(|a| a.get(key)) else {
                return false;
            };
            let text = text_of(value);
            !has_parent_component(&text) && matcher(glob).is_ok_and(|m| m.is_match(&text))
        })
    }
}

/// The exact pattern of a call: every argument as it is (glob characters escaped), which
/// the person may then widen.
pub(crate) fn exact_patterns(arguments: &Value) -> ArgPatterns {
    let Value::Object(map) = arguments else {
        return ArgPatterns::new();
    };
    map.iter()
        .map(|(key, value)| (key.clone(), globset::escape(&text_of(value))))
        .collect()
}

/// Reads `KEY=GLOB, KEY=GLOB` as typed in the approval view or on the command line.
pub(crate) fn parse_patterns(text: &str) -> Result<ArgPatterns, String> {
    let mut patterns = ArgPatterns::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, glob) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not KEY=GLOB"))?;
        let (key, glob) = (key.trim(), glob.trim());
        if key.is_empty() {
            return Err(format!("`{part}` names no argument"));
        }
        matcher(glob).map_err(|e| format!("`{glob}` is not a valid glob: {e}"))?;
        patterns.insert(key.to_owned(), glob.to_owned());
    }
    Ok(patterns)
}

/// Shows patterns as `parse_patterns` reads them.
pub(crate) fn format_patterns(patterns: &ArgPatterns) -> String {
    patterns
        .iter()
        .map(|(key, glob)| format!("{key}={glob}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn entry(arguments: &[(&str, &str)]) -> Entry {
        Entry {
            server: "fs".into(),
            tool: "write_file".into(),
            arguments: arguments
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            created: "2026-12-06T00:00:00Z".into(),
            by: "tty".into(),
        }
    }

    #[test]
    fn an_entry_allows_matching_calls_only() {
        let notes = entry(&[("path", "/ws/notes/**")]);
        let call = |path: &str| json!({"path": path, "content": "anything"});
        assert!(notes.allows("fs", "write_file", Some(&call("/ws/notes/a/b.md"))));
        assert!(!notes.allows("fs", "write_file", Some(&call("/ws/other.md"))));
        assert!(!notes.allows(
            "fs",
            "write_file",
            Some(&call("/ws/notes/../../etc/passwd"))
        ));
        assert!(!notes.allows("fs", "edit_file", Some(&call("/ws/notes/a.md"))));
        assert!(!notes.allows("other", "write_file", Some(&call("/ws/notes/a.md"))));
        assert!(!notes.allows("fs", "write_file", Some(&json!({"content": "no path"}))));
        assert!(!notes.allows("fs", "write_file", None));
        let star = entry(&[("path", "/ws/*")]);
        assert!(
            !star.allows("fs", "write_file", Some(&call("/ws/a/b"))),
            "* stays in one directory"
        );
        assert!(entry(&[]).allows("fs", "write_file", None));
    }

    #[test]
    fn exact_patterns_match_only_the_call_they_came_from() {
        let arguments = json!({"path": "/ws/[a]*.md", "n": 3});
        let patterns = exact_patterns(&arguments);
        let mut exact = entry(&[]);
        exact.arguments = patterns.clone();
        assert!(exact.allows("fs", "write_file", Some(&arguments)));
        assert!(!exact.allows(
            "fs",
            "write_file",
            Some(&json!({"path": "/ws/a-x.md", "n": 3}))
        ));
        assert!(!exact.allows(
            "fs",
            "write_file",
            Some(&json!({"path": "/ws/[a]*.md", "n": 4}))
        ));
        assert_eq!(
            parse_patterns(&format_patterns(&patterns)).unwrap(),
            patterns
        );
    }

    #[test]
    fn typed_patterns_are_checked() {
        assert_eq!(
            parse_patterns(" path = /ws/** , mode=a ").unwrap(),
            ArgPatterns::from([
                ("mode".into(), "a".into()),
                ("path".into(), "/ws/**".into())
            ])
        );
        assert!(parse_patterns("path").is_err());
        assert!(parse_patterns("=x").is_err());
        assert!(parse_patterns("path=[").is_err());
    }

    #[test]
    fn the_file_round_trips_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/approvals.toml");
        assert_eq!(load(&path).unwrap(), File::default());
        let file = File {
            entries: vec![entry(&[("path", "/ws/**")])],
        };
        save(&path, &file).unwrap();
        assert_eq!(load(&path).unwrap(), file);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&path, "[[approval]]\nserver = 1\n").unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(
            error.contains("approvals.toml") && error.contains("revoke"),
            "{error}"
        );
    }
}
