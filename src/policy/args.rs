//! Stage: the profile's rules on argument values.
//!
//! Owns: compiling `[[tools.rules]]` (tool glob, JSON pointer, path globs, regex, length,
//! enum) and checking a call's arguments against them. Path values are normalised before
//! matching: relative paths are taken from the workspace root the glob names, `.` and `..`
//! are resolved lexically, and the longest existing prefix is resolved through symlinks, so
//! `/ws/../etc/passwd` and `/ws/link-to-etc/passwd` are seen for what they are.

use super::Finding;
use crate::profile::model::{ArgRule, Verdict};
use globset::{Glob, GlobMatcher};
use regex::Regex;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

struct Compiled {
    index: usize,
    rule: ArgRule,
    tool: GlobMatcher,
    glob: Option<GlobMatcher>,
    not_glob: Option<GlobMatcher>,
    regex: Option<Regex>,
}

pub struct ArgRules(Vec<Compiled>);

fn glob(pattern: &str, what: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{what}: `{pattern}` is not a valid glob: {e}"))
}

impl ArgRules {
    pub fn new(rules: &[ArgRule]) -> Result<ArgRules, String> {
        let mut compiled = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let what = format!("tools.rules[{index}] ({})", rule.tool);
            if !rule.arg.is_empty() && !rule.arg.starts_with('/') {
                return Err(format!(
                    "{what}: arg `{}` must be a JSON pointer such as /path",
                    rule.arg
                ));
            }
            compiled.push(Compiled {
                index,
                tool: glob(&rule.tool, &what)?,
                glob: rule.glob.as_deref().map(|p| glob(p, &what)).transpose()?,
                not_glob: rule
                    .not_glob
                    .as_deref()
                    .map(|p| glob(p, &what))
                    .transpose()?,
                regex: rule
                    .regex
                    .as_deref()
                    .map(|r| {
                        Regex::new(r)
                            .map_err(|e| format!("{what}: regex `{r}` does not compile: {e}"))
                    })
                    .transpose()?,
                rule: rule.clone(),
            });
        }
        Ok(ArgRules(compiled))
    }

    /// The findings of every rule that fires for this call.
    pub fn check(&self, tool: &str, arguments: &Value) -> Vec<Finding> {
        self.0
            .iter()
            .filter(|c| c.tool.is_match(tool))
            .filter_map(|c| c.fires(arguments))
            .collect()
    }

    /// What rule `index` alone gives `arguments` (for lint's examples).
    pub fn outcome_of(&self, index: usize, arguments: &Value) -> Verdict {
        self.0
            .iter()
            .find(|c| c.index == index)
            .and_then(|c| c.fires(arguments))
            .map_or(Verdict::Allow, |f| f.verdict)
    }
}

impl Compiled {
    fn fires(&self, arguments: &Value) -> Option<Finding> {
        let value = arguments.pointer(&self.rule.arg)?;
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let path_like = self.glob.is_some() || self.not_glob.is_some();
        let subject = if path_like {
            normalize_path(
                &text,
                self.rule.not_glob.as_deref().or(self.rule.glob.as_deref()),
            )
        } else {
            text.clone()
        };
        let mut conditions = 0;
        if let Some(g) = &self.glob {
            conditions += 1;
            if !g.is_match(&subject) {
                return None;
            }
        }
        if let Some(g) = &self.not_glob {
            conditions += 1;
            // `dir/**` also covers `dir` itself.
            let base = self
                .rule
                .not_glob
                .as_deref()
                .and_then(|p| p.strip_suffix("/**"))
                .unwrap_or("\u{0}");
            if g.is_match(&subject) || subject == base {
                return None;
            }
        }
        if let Some(r) = &self.regex {
            conditions += 1;
            if !r.is_match(&text) {
                return None;
            }
        }
        if let Some(max) = self.rule.max_length {
            conditions += 1;
            if text.chars().count() <= max {
                return None;
            }
        }
        if let Some(allowed) = &self.rule.one_of {
            conditions += 1;
            if allowed.contains(value) {
                return None;
            }
        }
        if conditions == 0 {
            return None;
        }
        let reason = if self.rule.reason.is_empty() {
            format!(
                "argument {} = {text:?} breaks a rule of the profile",
                self.rule.arg
            )
        } else {
            format!("{} ({} = {text:?})", self.rule.reason, self.rule.arg)
        };
        Some(Finding {
            verdict: self.rule.decision,
            rule: format!(
                "tools.rules[{}]:{}:{}",
                self.index, self.rule.tool, self.rule.arg
            ),
            reason,
        })
    }
}

/// A path as the server will use it: relative paths from the pattern's root, dots resolved,
/// symlinks in the existing part followed.
pub fn normalize_path(text: &str, pattern: Option<&str>) -> String {
    let root = pattern
        .map(|p| {
            p.split(['*', '?', '[', '{'])
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
        })
        .unwrap_or("");
    let raw = Path::new(text);
    let joined = if raw.is_absolute() || root.is_empty() {
        raw.to_path_buf()
    } else {
        Path::new(root).join(raw)
    };
    let mut lexical = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // Follow symlinks in the longest prefix that exists.
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.as_os_str().is_empty() && std::fs::symlink_metadata(&existing).is_err() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => break,
        }
        existing.pop();
    }
    let mut resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
    for part in rest.iter().rev() {
        resolved.push(part);
    }
    resolved.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn rule(arg: &str) -> ArgRule {
        ArgRule {
            tool: "*".into(),
            arg: arg.into(),
            decision: Verdict::Deny,
            ..Default::default()
        }
    }

    #[test]
    fn paths_are_normalised_before_matching() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        std::os::unix::fs::symlink("/etc", ws.join("etc-link")).unwrap();
        let ws = std::fs::canonicalize(&ws).unwrap().display().to_string();
        let rules = ArgRules::new(&[ArgRule {
            not_glob: Some(format!("{ws}/**")),
            ..rule("/path")
        }])
        .unwrap();
        let fired = |path: &str| !rules.check("t", &json!({ "path": path })).is_empty();
        assert!(!fired(&format!("{ws}/a/b.txt")));
        assert!(
            !fired("notes/a.txt"),
            "relative paths are inside the workspace"
        );
        assert!(!fired(&ws), "the workspace itself");
        assert!(fired(&format!("{ws}/../outside")));
        assert!(fired("/etc/passwd"));
        assert!(
            fired(&format!("{ws}/etc-link/passwd")),
            "a symlink out of the workspace"
        );
    }

    #[test]
    fn regex_length_and_enum_rules() {
        let rules = ArgRules::new(&[
            ArgRule {
                regex: Some("^(?i)file:".into()),
                ..rule("/url")
            },
            ArgRule {
                max_length: Some(5),
                ..rule("/tz")
            },
            ArgRule {
                one_of: Some(vec![json!("a"), json!("b")]),
                ..rule("/mode")
            },
        ])
        .unwrap();
        let count = |args: Value| rules.check("t", &args).len();
        assert_eq!(
            count(json!({"url": "FILE:///etc/passwd", "tz": "toolongvalue", "mode": "c"})),
            3
        );
        assert_eq!(
            count(json!({"url": "https://x", "tz": "UTC", "mode": "a"})),
            0
        );
        assert_eq!(count(json!({})), 0, "absent arguments fire nothing");
    }

    #[test]
    fn bad_patterns_are_reported_with_their_rule() {
        let err = ArgRules::new(&[ArgRule {
            regex: Some("(".into()),
            ..rule("/x")
        }])
        .err()
        .unwrap();
        assert!(
            err.contains("tools.rules[0]") && err.contains("does not compile"),
            "{err}"
        );
    }
}
