//! The agents' variable expansion in `command`, `args` and `env` (`${VAR}`,
//! `${VAR:-default}`, `${env:VAR}`, `${workspaceFolder}`, `${userHome}`), done the way the
//! agent would, for the check before writing. The file keeps the variables as written.
//!
//! Owns: telling a value mcpguard can expand from one only the agent can fill in
//! (`${input:…}`, Continue's `${{ secrets.… }}`).

use std::collections::HashMap;
use std::path::PathBuf;

/// What variables stand for here.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables {
    /// Whether the agent expands variables at all (Claude Desktop and Codex pass values as
    /// written).
    pub(crate) expands: bool,
    pub(crate) environment: HashMap<String, String>,
    pub(crate) home: Option<PathBuf>,
    /// The project folder, for a project's own config.
    pub(crate) workspace: Option<PathBuf>,
}

impl Variables {
    /// `value` expanded, or None when a variable in it only the agent can fill in.
    pub(crate) fn expand(&self, value: &str) -> Option<String> {
        if !self.expands {
            return Some(value.to_owned());
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            if after.starts_with('{') {
                // `${{ secrets.X }}`: Continue's own secrets.
                return None;
            }
            let end = after.find('}')?;
            out.push_str(&self.one(&after[..end])?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn one(&self, name: &str) -> Option<String> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        match name {
            "workspaceFolder" | "workspaceRoot" => return path(&self.workspace),
            "userHome" => return path(&self.home),
            _ => {}
        }
        if name.starts_with("input:") || name.starts_with("command:") || name.starts_with("config:")
        {
            return None;
        }
        let name = name.strip_prefix("env:").unwrap_or(name);
        match name.split_once(":-") {
            Some((var, default)) => Some(
                self.environment
                    .get(var)
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .unwrap_or_else(|| default.to_owned()),
            ),
            None => self.environment.get(name).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn expands_what_it_can_and_says_when_it_cannot() {
        let vars = Variables {
            expands: true,
            environment: [("TOKEN".to_owned(), "t0k".to_owned())].into(),
            home: Some("/home/me".into()),
            workspace: Some("/home/me/app".into()),
        };
        let cases: Vec<(&str, Option<String>)> = vec![
            ("plain", Some("plain".into())),
            ("${TOKEN}", Some("t0k".into())),
            ("a${env:TOKEN}b", Some("at0kb".into())),
            ("${MISSING:-fallback}", Some("fallback".into())),
            ("${workspaceFolder}/db", Some("/home/me/app/db".into())),
            ("${userHome}", Some("/home/me".into())),
            ("${MISSING}", None),
            ("${input:api-key}", None),
            ("${{ secrets.SQLITE_TOKEN }}", None),
            ("${unclosed", None),
        ];
        let got: Vec<(&str, Option<String>)> =
            cases.iter().map(|(v, _)| (*v, vars.expand(v))).collect();
        assert_eq!(got, cases);
        let literal = Variables {
            expands: false,
            ..vars
        };
        assert_eq!(
            literal.expand("${input:api-key}"),
            Some("${input:api-key}".to_owned())
        );
    }
}
