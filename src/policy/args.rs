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
use std::path::{Path, PathBuf};

struct Compiled {
    index: usize,
    rule: ArgRule,
    tool: GlobMatcher,
    glob: Option<GlobMatcher>,
    not_glob: Option<GlobMatcher>,
    regex: Option<Regex>,
}

pub(crate) struct ArgRules(Vec<Compiled>);

fn glob(pattern: &str, what: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{what}: `{pattern}` is not a valid glob: {e}"))
}

impl ArgRules {
    pub(crate) fn new(rules: &[ArgRule]) -> Result<ArgRules, String> {
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
    pub(crate) fn check(&self, tool: &str, arguments: &Value, base: &Base) -> Vec<Finding> {
        self.0
            .iter()
            .filter(|c| c.tool.is_match(tool))
            .filter_map(|c| c.fires(arguments, base))
            .collect()
    }

    /// What rule `index` alone gives `arguments` (for lint's examples).
    pub(crate) fn outcome_of(&self, index: usize, arguments: &Value, base: &Base) -> Verdict {
        self.0
            .iter()
            .find(|c| c.index == index)
            .and_then(|c| c.fires(arguments, base))
            .map_or(Verdict::Allow, |f| f.verdict)
    }
}

impl Compiled {
    /// The rule's finding when it fires. An array value fires when any element does.
    fn fires(&self, arguments: &Value, base: &Base) -> Option<Finding> {
        let value = arguments.pointer(&self.rule.arg)?;
        let fired = match value {
            Value::Array(items) => items.iter().find(|item| self.fires_on(item, base)),
            single => self.fires_on(single, base).then_some(single),
        }?;
        let text = match fired {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
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

    /// Whether every condition the rule states holds for one value.
    fn fires_on(&self, value: &Value, base: &Base) -> bool {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // A path is judged both as written (lexically normalised) and as the kernel would
        // resolve it (symlinks followed): a glob fires if either matches, a not-glob if
        // either falls outside.
        let path_like = self.glob.is_some() || self.not_glob.is_some();
        // Only text can be a path; a value of another type is the schema's business.
        if path_like && !value.is_string() {
            return false;
        }
        let (lexical, resolved) = if path_like {
            let absolute = base.absolute(&text);
            (
                crate::fspath::lexical_normalize(&absolute)
                    .display()
                    .to_string(),
                resolve_path(&absolute),
            )
        } else {
            (text.clone(), text.clone())
        };
        let mut conditions = 0;
        if let Some(g) = &self.glob {
            conditions += 1;
            if !g.is_match(&lexical) && !g.is_match(&resolved) {
                return false;
            }
        }
        if let Some(g) = &self.not_glob {
            conditions += 1;
            // `dir/**` also covers `dir` itself.
            let root = self
                .rule
                .not_glob
                .as_deref()
                .and_then(|p| p.strip_suffix("/**"))
                .unwrap_or("\u{0}");
            let inside = |p: &str| g.is_match(p) || p == root;
            if inside(&lexical) && inside(&resolved) {
                return false;
            }
        }
        if let Some(r) = &self.regex {
            conditions += 1;
            if !r.is_match(&text) {
                return false;
            }
        }
        if let Some(max) = self.rule.max_length {
            conditions += 1;
            if text.chars().count() <= max {
                return false;
            }
        }
        if let Some(allowed) = &self.rule.one_of {
            conditions += 1;
            if allowed.contains(value) {
                return false;
            }
        }
        conditions > 0
    }
}

/// Where relative paths and `~` lead for the server: its working directory and home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    pub(crate) cwd: PathBuf,
    pub(crate) home: PathBuf,
}

impl Default for Base {
    fn default() -> Self {
        Base {
            cwd: PathBuf::from("/"),
            home: PathBuf::from("/"),
        }
    }
}

impl Base {
    fn absolute(&self, text: &str) -> PathBuf {
        if text == "~" {
            return self.home.clone();
        }
        if let Some(rest) = text.strip_prefix("~/") {
            return self.home.join(rest);
        }
        let path = Path::new(text);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }
}

/// The path the kernel would open (see `fspath::resolve_beneath`).
pub(crate) fn resolve_path(path: &Path) -> String {
    crate::fspath::resolve_beneath(Path::new("/"), path)
        .0
        .display()
        .to_string()
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
        let base = Base {
            cwd: PathBuf::from(&ws),
            home: PathBuf::from("/home/me"),
        };
        let fired = |path: &str| !rules.check("t", &json!({ "path": path }), &base).is_empty();
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
    fn dots_after_symlinks_home_and_arrays_are_judged_as_the_kernel_sees_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let ws = root.join("ws");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere/deep")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere/deep"), ws.join("l")).unwrap();
        let ws_text = ws.display().to_string();
        let rules = ArgRules::new(&[ArgRule {
            not_glob: Some(format!("{ws_text}/**")),
            ..rule("/path")
        }])
        .unwrap();
        let base = Base {
            cwd: ws.join("sub"),
            home: root.join("home"),
        };
        let fired = |args: Value| !rules.check("t", &args, &base).is_empty();
        // ws/l/../x is elsewhere/x for the kernel, whatever it looks like.
        assert!(fired(json!({"path": format!("{ws_text}/l/../x")})));
        assert!(
            !fired(json!({"path": "notes.md"})),
            "relative to the server's working directory"
        );
        assert!(fired(json!({"path": "../../outside"})));
        assert!(
            fired(json!({"path": ["ok.md", "/etc/passwd"]})),
            "any element of an array"
        );
        assert!(!fired(json!({"path": ["a.md", "b.md"]})));
        let ssh = ArgRules::new(&[ArgRule {
            glob: Some(format!("{}/.ssh/**", root.join("home").display())),
            ..rule("/path")
        }])
        .unwrap();
        assert!(
            !ssh.check("t", &json!({"path": "~/.ssh/id_rsa"}), &base)
                .is_empty(),
            "~ is the server's home"
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
        let count = |args: Value| rules.check("t", &args, &Base::default()).len();
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
