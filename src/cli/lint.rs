//! `mcpguard profile lint`: what is wrong with a profile before it is shipped.
//!
//! Owns: the checks (syntax and unknown keys with their line, `extends` cycles, unknown
//! variables, globs and regexes that do not compile, paths that do not exist, rule examples
//! that do not come out as declared, review dates in the past, values out of range) as a
//! list of diagnostics, errors and warnings.

use crate::policy::{Policy, args::ArgRules};
use crate::profile::load::{self, Variables};
use crate::profile::model::{Network, Profile, Verdict};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    pub(crate) severity: Severity,
    pub(crate) message: String,
}

fn error(message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        message,
    }
}

fn warning(message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        message,
    }
}

/// Lints profile `spec` (a file or a built-in name); `today` is YYYY-MM-DD.
pub(crate) fn lint(spec: &str, vars: &Variables, today: &str) -> Vec<Diagnostic> {
    let profile = match load::load(spec, vars) {
        Ok(profile) => profile,
        Err(e) => return vec![error(e.to_string())],
    };
    let mut out = Vec::new();
    check_meta(&profile, today, &mut out);
    check_sandbox(&profile, &mut out);
    if let Err(e) = Policy::new(&profile) {
        out.push(error(e.to_string()));
        return out;
    }
    check_examples(&profile, vars, &mut out);
    out
}

fn check_meta(profile: &Profile, today: &str, out: &mut Vec<Diagnostic>) {
    let meta = &profile.profile;
    for (key, value) in [
        ("name", &meta.name),
        ("description", &meta.description),
        ("owner", &meta.owner),
    ] {
        if value.is_empty() {
            out.push(warning(format!(
                "profile.{key} is empty: say who answers for this profile and what it is for"
            )));
        }
    }
    match &meta.review_by {
        None => out.push(warning(
            "profile.review-by is not set: set the date by which this profile is reviewed".into(),
        )),
        Some(date) if !valid_date(date) => out.push(error(format!(
            "profile.review-by = \"{date}\" is not a date (YYYY-MM-DD)"
        ))),
        Some(date) if date.as_str() < today => out.push(warning(format!(
            "profile.review-by = \"{date}\" is past: review the profile"
        ))),
        Some(_) => {}
    }
    if let Some(size) = profile.responses.max_text.as_ref().filter(|s| *s != "off")
        && let Err(e) = crate::units::parse_size(size)
    {
        out.push(error(format!("responses.max-text: {e}")));
    }
    if profile.tools.on_prompt == Some(Verdict::Prompt) {
        out.push(error(
            "tools.on-prompt must be \"deny\" or \"allow\"; it is what a prompt becomes".into(),
        ));
    }
}

fn valid_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[1].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && parts[2].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

fn check_sandbox(profile: &Profile, out: &mut Vec<Diagnostic>) {
    let sandbox = &profile.sandbox;
    if let Err(e) = crate::egress::allowlist::Allowlist::parse(&sandbox.allow_hosts) {
        out.push(error(format!("sandbox.allow-hosts: {e}")));
    }
    match sandbox.network {
        // An empty allowlist is a profile whose users name the hosts (--allow-host).
        Some(Network::Allowlist) => {}
        other if !sandbox.allow_hosts.is_empty() => {
            out.push(error(format!(
                "sandbox.allow-hosts is set but network = \"{}\": set network = \"allowlist\"",
                other.unwrap_or(Network::None).name()
            )));
        }
        _ => {}
    }
    for (key, paths) in [("read", &sandbox.read), ("write", &sandbox.write)] {
        for path in paths {
            if !std::path::Path::new(path).exists() {
                out.push(warning(format!(
                    "sandbox.{key}: {path} does not exist on this machine"
                )));
            }
        }
    }
    if let Some(calls) = &profile.limits.calls
        && let Err(e) = crate::policy::rate::RateSpec::parse(calls, profile.limits.burst)
    {
        out.push(error(e));
    }
    if let Err(e) = crate::sandbox::limits::ResourceLimits::from_profile(&profile.limits) {
        out.push(error(e));
    }
}

/// Replaces variables in the string values of an example's arguments.
fn expand_value(value: &Value, vars: &Variables) -> Value {
    match value {
        Value::String(s) => {
            Value::String(load::expand_text(s, vars, "", "").unwrap_or_else(|_| s.clone()))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| expand_value(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand_value(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn check_examples(profile: &Profile, vars: &Variables, out: &mut Vec<Diagnostic>) {
    let Ok(rules) = ArgRules::new(&profile.tools.rules) else {
        return;
    };
    for (index, rule) in profile.tools.rules.iter().enumerate() {
        if rule.examples.is_empty() {
            out.push(warning(format!(
                "tools.rules[{index}] ({} {}): no examples; add some so lint can check it",
                rule.tool, rule.arg
            )));
        }
        for example in &rule.examples {
            let args = expand_value(&example.args, vars);
            let base = crate::policy::args::Base {
                cwd: vars.workspace.clone(),
                home: vars.home.clone(),
            };
            let got = rules.outcome_of(index, &args, &base);
            if got != example.decision {
                out.push(error(format!(
                    "tools.rules[{index}] ({} {}): the example {args} gives {}, but it says {}",
                    rule.tool,
                    rule.arg,
                    got.name(),
                    example.decision.name()
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn vars() -> Variables {
        Variables {
            workspace: "/workspace".into(),
            home: "/home/me".into(),
            cwd: "/workspace".into(),
        }
    }

    #[test]
    fn built_in_profiles_are_clean() {
        for name in crate::profile::builtin::names() {
            let errors: Vec<Diagnostic> = lint(name, &vars(), "2026-11-21")
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            assert_eq!(errors, vec![], "{name}");
        }
    }

    #[test]
    fn finds_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            r#"[profile]
name = "bad"
description = "d"
owner = "o"
review-by = "2020-01-01"
[sandbox]
read = ["/nonexistent/mcpguard"]
[[tools.rules]]
tool = "*"
arg = "/path"
not-glob = "${workspace}/**"
examples = [{ args = { path = "${workspace}/a" }, decision = "deny" }]
"#,
        )
        .unwrap();
        let found = lint(path.to_str().unwrap(), &vars(), "2026-11-21");
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(found.len(), 3, "{messages:?}");
        assert!(messages[0].contains("is past"));
        assert!(messages[1].contains("does not exist"));
        assert!(messages[2].contains("gives allow, but it says deny"));
        std::fs::write(
            &path,
            "[tools]\nrules = [{ tool = \"x\", arg = \"/a\", regex = \"(\" }]\n",
        )
        .unwrap();
        let found = lint(path.to_str().unwrap(), &vars(), "2026-11-21");
        assert!(
            found
                .iter()
                .any(|d| d.severity == Severity::Error && d.message.contains("does not compile")),
            "{found:?}"
        );
        std::fs::write(&path, "[limits]\nprocesses = 3\ntmpfs = \"off\"\n").unwrap();
        let found = lint(path.to_str().unwrap(), &vars(), "2026-11-21");
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("limits.processes = 3: write a number from 16")),
            "{messages:?}"
        );
    }
}
