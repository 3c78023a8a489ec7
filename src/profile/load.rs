//! Finding, parsing, merging and expanding profiles.
//!
//! Owns: resolving a profile by built-in name or file path, parsing it (errors name the
//! file, line and column), following `extends` (cycles and depth are errors), merging (a
//! profile adds to the lists of the one it extends and overrides its single values), and
//! expanding `${workspace}`, `${home}` and `${cwd}` (never by a shell; any other `${…}` is an
//! error).

use super::builtin;
use super::model::{ArgRule, Profile};
use std::path::{Path, PathBuf};

/// The values variables expand to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variables {
    pub(crate) workspace: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) cwd: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error(
        "no profile named `{0}`: not a built-in (see `mcpguard profile list`) and no such file{hint}",
        hint = builtin::closest(.0).map(|b| format!("; did you mean `{b}`?")).unwrap_or_default()
    )]
    NotFound(String),
    #[error("{source_name}: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("{0}: `extends` makes a cycle ({1})")]
    Cycle(String, String),
    #[error("{0}: `extends` is nested more than 8 deep")]
    TooDeep(String),
    #[error(
        "{source_name}: {what} uses unknown variable `${{{name}}}`; the variables are ${{workspace}}, ${{home}} and ${{cwd}}"
    )]
    Variable {
        source_name: String,
        what: String,
        name: String,
    },
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
}

/// A profile's text and where it came from.
struct Source {
    name: String,
    text: String,
    /// Directory relative `extends` paths resolve against.
    dir: Option<PathBuf>,
}

fn find(spec: &str, relative_to: Option<&Path>) -> Result<Source, LoadError> {
    if let Some(text) = builtin::get(spec) {
        return Ok(Source {
            name: format!("built-in profile `{spec}`"),
            text: text.to_owned(),
            dir: None,
        });
    }
    let path = match relative_to {
        Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
        _ => PathBuf::from(spec),
    };
    if !path.is_file() {
        return Err(LoadError::NotFound(spec.to_owned()));
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| LoadError::Io(path.display().to_string(), e))?;
    Ok(Source {
        name: path.display().to_string(),
        dir: path.parent().map(Path::to_path_buf),
        text,
    })
}

/// Parses one profile's text.
pub(crate) fn parse(source_name: &str, text: &str) -> Result<Profile, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::Parse {
        source_name: source_name.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
}

/// Loads `spec` with everything it extends, merged, not yet expanded.
pub(crate) fn load_unexpanded(spec: &str) -> Result<(Profile, String), LoadError> {
    let mut chain: Vec<(Profile, String)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some((spec.to_owned(), None::<PathBuf>));
    while let Some((name, dir)) = next.take() {
        let source = find(&name, dir.as_deref())?;
        if seen.contains(&source.name) {
            seen.push(source.name.clone());
            return Err(LoadError::Cycle(spec.to_owned(), seen.join(" -> ")));
        }
        if seen.len() >= 8 {
            return Err(LoadError::TooDeep(spec.to_owned()));
        }
        seen.push(source.name.clone());
        let profile = parse(&source.name, &source.text)?;
        next = profile
            .profile
            .extends
            .clone()
            .map(|parent| (parent, source.dir.clone()));
        chain.push((profile, source.name));
    }
    let name = chain.first().map(|(_, n)| n.clone()).unwrap_or_default();
    let mut merged = Profile::default();
    for (profile, _) in chain.into_iter().rev() {
        merge(&mut merged, profile);
    }
    Ok((merged, name))
}

/// Whether the profile `spec` (with what it extends) speaks of `${workspace}`.
pub(crate) fn uses_workspace(spec: &str) -> bool {
    let Ok((profile, _)) = load_unexpanded(spec) else {
        return false;
    };
    let mentions = |text: &str| text.contains("${workspace}");
    profile.sandbox.read.iter().any(|p| mentions(p))
        || profile.sandbox.write.iter().any(|p| mentions(p))
        || profile.tools.rules.iter().any(|rule| {
            [&rule.glob, &rule.not_glob]
                .into_iter()
                .flatten()
                .any(|p| mentions(p))
        })
}

/// Loads and expands `spec`: the profile a session runs under.
pub(crate) fn load(spec: &str, vars: &Variables) -> Result<Profile, LoadError> {
    let (profile, name) = load_unexpanded(spec)?;
    expand(profile, &name, vars)
}

fn merge(base: &mut Profile, child: Profile) {
    let meta = child.profile;
    if !meta.name.is_empty() {
        base.profile.name = meta.name;
    }
    if meta.version != 0 {
        base.profile.version = meta.version;
    }
    if !meta.description.is_empty() {
        base.profile.description = meta.description;
    }
    if !meta.owner.is_empty() {
        base.profile.owner = meta.owner;
    }
    base.profile.review_by = meta.review_by.or(base.profile.review_by.take());
    base.profile.extends = None;
    let sandbox = child.sandbox;
    base.sandbox.network = sandbox.network.or(base.sandbox.network.take());
    base.sandbox.allow_hosts.extend(sandbox.allow_hosts);
    base.sandbox.launcher_registries = sandbox
        .launcher_registries
        .or(base.sandbox.launcher_registries);
    base.sandbox.read.extend(sandbox.read);
    base.sandbox.write.extend(sandbox.write);
    base.sandbox.env.extend(sandbox.env);
    base.sandbox.require = sandbox.require.or(base.sandbox.require.take());
    let tools = child.tools;
    base.tools.default = tools.default.or(base.tools.default);
    base.tools.destructive = tools.destructive.or(base.tools.destructive);
    base.tools.unlisted = tools.unlisted.or(base.tools.unlisted);
    base.tools.check_schema = tools.check_schema.or(base.tools.check_schema);
    base.tools.pins = tools.pins.or(base.tools.pins.take());
    base.tools.allow.extend(tools.allow);
    base.tools.prompt.extend(tools.prompt);
    base.tools.deny.extend(tools.deny);
    base.tools.hide_denied = tools.hide_denied.or(base.tools.hide_denied);
    base.tools.on_prompt = tools.on_prompt.or(base.tools.on_prompt);
    base.tools.approval = tools.approval.or(base.tools.approval.take());
    base.tools.approval_timeout = tools
        .approval_timeout
        .or(base.tools.approval_timeout.take());
    base.tools.rules.extend(tools.rules);
    base.audit.on_failure = child.audit.on_failure.or(base.audit.on_failure);
    // A child names a credential whole: a base's spec for the same variable is replaced.
    base.secrets.extend(child.secrets);
    let responses = child.responses;
    base.responses.max_text = responses.max_text.or(base.responses.max_text.take());
    base.responses.strip_control = responses.strip_control.or(base.responses.strip_control);
    base.responses.injection = responses.injection.or(base.responses.injection.take());
    base.responses.check_output_schema = responses
        .check_output_schema
        .or(base.responses.check_output_schema);
    let limits = child.limits;
    base.limits.calls = limits.calls.or(base.limits.calls.take());
    base.limits.burst = limits.burst.or(base.limits.burst);
    base.limits.call_timeout = limits.call_timeout.or(base.limits.call_timeout.take());
    base.limits.per_tool.extend(limits.per_tool);
    base.limits.concurrency = limits.concurrency.or(base.limits.concurrency);
    base.limits.loop_count = limits.loop_count.or(base.limits.loop_count);
    base.limits.loop_window = limits.loop_window.or(base.limits.loop_window.take());
    base.limits.breaker_failures = limits.breaker_failures.or(base.limits.breaker_failures);
    base.limits.breaker_cooldown = limits
        .breaker_cooldown
        .or(base.limits.breaker_cooldown.take());
    base.limits.max_message = limits.max_message.or(base.limits.max_message.take());
    base.limits.processes = limits.processes.or(base.limits.processes);
    base.limits.memory = limits.memory.or(base.limits.memory.take());
    base.limits.tmpfs = limits.tmpfs.or(base.limits.tmpfs.take());
    base.limits.cache = limits.cache.or(base.limits.cache.take());
}

/// Replaces `${workspace}`, `${home}` and `${cwd}` in `text`.
pub(crate) fn expand_text(
    text: &str,
    vars: &Variables,
    source_name: &str,
    what: &str,
) -> Result<String, LoadError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value = match name {
            "workspace" => &vars.workspace,
            "home" => &vars.home,
            "cwd" => &vars.cwd,
            other => {
                return Err(LoadError::Variable {
                    source_name: source_name.to_owned(),
                    what: what.to_owned(),
                    name: other.to_owned(),
                });
            }
        };
        out.push_str(&value.display().to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(mut profile: Profile, source: &str, vars: &Variables) -> Result<Profile, LoadError> {
    let each = |items: &mut Vec<String>, what: &str| -> Result<(), LoadError> {
        for item in items.iter_mut() {
            *item = expand_text(item, vars, source, what)?;
        }
        Ok(())
    };
    each(&mut profile.sandbox.read, "sandbox.read")?;
    each(&mut profile.sandbox.write, "sandbox.write")?;
    for rule in &mut profile.tools.rules {
        expand_rule(rule, vars, source)?;
    }
    Ok(profile)
}

fn expand_rule(rule: &mut ArgRule, vars: &Variables, source: &str) -> Result<(), LoadError> {
    // In globs, a variable's value is literal: `[`, `*`, `?`, `{` in a workspace path must
    // not widen the pattern.
    let escaped = Variables {
        workspace: escape_glob(&vars.workspace),
        home: escape_glob(&vars.home),
        cwd: escape_glob(&vars.cwd),
    };
    // A rule about the workspace says which it is: "outside the workspace" means little
    // to someone who did not choose it (it defaults to the current directory).
    let about_workspace = [&rule.glob, &rule.not_glob]
        .into_iter()
        .flatten()
        .any(|pattern| pattern.contains("${workspace}"));
    if about_workspace {
        rule.reason = format!(
            "{} (the workspace is {})",
            rule.reason,
            vars.workspace.display()
        );
    }
    for field in [&mut rule.glob, &mut rule.not_glob] {
        if let Some(pattern) = field.as_mut() {
            // `${workspace}/**` with the workspace `/` is `/**`, not `//**` (which would
            // match no path at all).
            for (name, value) in [
                ("workspace", &vars.workspace),
                ("home", &vars.home),
                ("cwd", &vars.cwd),
            ] {
                if value.as_os_str() == "/" {
                    *pattern = pattern.replace(&format!("${{{name}}}/"), &format!("${{{name}}}"));
                }
            }
            *pattern = expand_text(
                pattern,
                &escaped,
                source,
                &format!("the rule for {}", rule.tool),
            )?;
        }
    }
    Ok(())
}

fn escape_glob(path: &Path) -> PathBuf {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '*' | '?' | '[' | ']' | '{' | '}' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            other => out.push(other),
        }
    }
    PathBuf::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn vars() -> Variables {
        Variables {
            workspace: "/w".into(),
            home: "/h".into(),
            cwd: "/c".into(),
        }
    }

    #[test]
    fn variables_expand_and_unknown_ones_are_errors() {
        assert_eq!(
            expand_text("${workspace}/**", &vars(), "p", "x").unwrap(),
            "/w/**"
        );
        assert_eq!(
            expand_text("${home}/a:${cwd}", &vars(), "p", "x").unwrap(),
            "/h/a:/c"
        );
        assert!(
            matches!(expand_text("${HOME}", &vars(), "p", "x"), Err(LoadError::Variable { name, .. }) if name == "HOME")
        );
    }

    #[test]
    fn variables_in_globs_are_literal() {
        let vars = Variables {
            workspace: "/p[1]".into(),
            home: "/h".into(),
            cwd: "/c".into(),
        };
        let mut rule = ArgRule {
            tool: "*".into(),
            arg: "/path".into(),
            not_glob: Some("${workspace}/**".into()),
            ..Default::default()
        };
        expand_rule(&mut rule, &vars, "p").unwrap();
        assert_eq!(rule.not_glob.as_deref(), Some("/p[[]1[]]/**"));
        // The root as the workspace: everything below it, not a pattern matching nothing.
        let root = Variables {
            workspace: "/".into(),
            ..vars
        };
        let mut rule = ArgRule {
            tool: "*".into(),
            arg: "/path".into(),
            not_glob: Some("${workspace}/**".into()),
            ..Default::default()
        };
        expand_rule(&mut rule, &root, "p").unwrap();
        assert_eq!(rule.not_glob.as_deref(), Some("/**"));
    }

    #[test]
    fn parse_errors_name_the_line_and_unknown_keys() {
        let err = parse("p.toml", "[tools]\ndefualt = \"allow\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.toml") && err.contains("line 2") && err.contains("defualt"),
            "{err}"
        );
        // A mistyped mode is an error too, never a silent fallback to the default.
        let err = parse("p.toml", "[responses]\ninjection = \"Block\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("expected one of `off`, `flag`, `block`"),
            "{err}"
        );
        for (text, expected) in [
            (
                "[sandbox]\nnetwork = \"hots\"\n",
                "expected one of `none`, `host`, `allowlist`",
            ),
            (
                "[sandbox]\nrequire = [\"namespace\"]\n",
                "expected one of `namespaces`, `landlock`, `seccomp`",
            ),
            (
                "[tools]\npins = \"on\"\n",
                "expected one of `enforce`, `warn`, `off`",
            ),
        ] {
            let err = parse("p.toml", text).unwrap_err().to_string();
            assert!(err.contains("line 2") && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn extends_merges_lists_and_overrides_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "[profile]\nname = \"base\"\n[tools]\ndefault = \"deny\"\nallow = [\"a\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("child.toml"),
            "[profile]\nname = \"child\"\nextends = \"base.toml\"\n[tools]\nallow = [\"b\"]\n",
        )
        .unwrap();
        let profile = load(dir.path().join("child.toml").to_str().unwrap(), &vars()).unwrap();
        assert_eq!(profile.profile.name, "child");
        assert_eq!(
            profile.tools.default,
            Some(super::super::model::Verdict::Deny)
        );
        assert_eq!(profile.tools.allow, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn a_profile_extending_itself_is_a_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.toml");
        std::fs::write(&path, "[profile]\nextends = \"loop.toml\"\n").unwrap();
        assert!(matches!(
            load(path.to_str().unwrap(), &vars()),
            Err(LoadError::Cycle(..))
        ));
    }
}
