//! `mcpguard profile list | show | lint`.

use super::args::ProfileCommand;
use super::lint::{self, Severity};
use crate::paths;
use crate::profile::builtin;
use crate::profile::load::{self, Variables};
use std::io::Write;
use std::path::PathBuf;

/// The variables of this invocation: `${workspace}` as given (or the current directory).
pub(crate) fn variables(workspace: Option<PathBuf>) -> Variables {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    Variables {
        workspace: workspace
            .map(|w| std::path::absolute(&w).unwrap_or(w))
            .unwrap_or_else(|| cwd.clone()),
        home: paths::home().unwrap_or_else(|| PathBuf::from("/")),
        cwd,
    }
}

pub(crate) fn run(command: ProfileCommand) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
    match command {
        ProfileCommand::List => {
            for name in builtin::names() {
                let description = builtin::get(name)
                    .and_then(|text| load::parse(name, text).ok())
                    .map(|p| p.profile.description)
                    .unwrap_or_default();
                writeln!(out, "{name:<12} {description}")?;
            }
            Ok(0)
        }
        ProfileCommand::Show {
            name,
            resolved,
            workspace,
        } => {
            if resolved {
                let profile = load::load(&name, &variables(workspace))?;
                write!(out, "{}", toml::to_string_pretty(&profile)?)?;
            } else if let Some(text) = builtin::get(&name) {
                write!(out, "{text}")?;
            } else {
                let text = std::fs::read_to_string(&name).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        // Probably a misspelled built-in: the error says which.
                        anyhow::Error::from(load::LoadError::NotFound(name.clone()))
                    } else {
                        anyhow::anyhow!("{name}: {e}")
                    }
                })?;
                write!(out, "{text}")?;
            }
            Ok(0)
        }
        ProfileCommand::Lint { files, workspace } => {
            let vars = variables(workspace);
            let today = humantime::format_rfc3339(std::time::SystemTime::now()).to_string()[..10]
                .to_owned();
            let mut errors = 0;
            for file in &files {
                let found = lint::lint(file, &vars, &today);
                if found.is_empty() {
                    writeln!(out, "{file}: ok")?;
                }
                for diagnostic in found {
                    let label = match diagnostic.severity {
                        Severity::Error => {
                            errors += 1;
                            "error"
                        }
                        Severity::Warning => "warning",
                    };
                    writeln!(out, "{file}: {label}: {}", diagnostic.message)?;
                }
            }
            Ok(u8::from(errors > 0))
        }
    }
}
