//! `mcpguard clients`: every agent config found, each server entry in it, how it is
//! reached, and whether mcpguard wraps it (and under which profile).

use crate::wrap::clients::{self, Scope};
use crate::wrap::edit;
use crate::wrap::entry::Transport;
use serde_json::json;
use std::io::Write;

pub(crate) fn run(as_json: bool) -> anyhow::Result<u8> {
    let places = super::wrap::places()?;
    let files = clients::found(&places);
    let mut out = super::output::stdout();
    let mut listed = Vec::new();
    for file in &files {
        let (entries, error) = match super::wrap::read(file) {
            Ok((_, entries)) => (entries, None),
            Err(e) => (Vec::new(), Some(format!("{e:#}"))),
        };
        let servers: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                let (transport, argv, wrapped, profile) = match &entry.transport {
                    Transport::Stdio(launch) => match edit::wrapped(launch) {
                        Some(w) => ("stdio", Some(w.original), true, Some(w.profile)),
                        None => ("stdio", Some(launch.argv()), false, None),
                    },
                    Transport::Remote(_) => ("remote", None, false, None),
                    Transport::Other(_) => ("other", None, false, None),
                };
                let command = match (&argv, &entry.transport) {
                    (Some(argv), _) => shell_words(argv),
                    (None, Transport::Remote(how) | Transport::Other(how)) => how.clone(),
                    (None, Transport::Stdio(_)) => String::new(),
                };
                json!({"name": entry.name, "transport": transport, "command": command, "argv": argv, "wrapped": wrapped, "profile": profile})
            })
            .collect();
        listed.push(json!({
            "client": file.client.id(),
            "scope": file.scope.label(),
            "path": file.path.display().to_string(),
            "servers": servers,
            "error": error,
        }));
    }
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&listed)?)?;
        return Ok(0);
    }
    if files.is_empty() {
        writeln!(out, "No agent config found. Looked for:")?;
        for candidate in clients::candidates(&places) {
            writeln!(
                out,
                "  {:<15} {}",
                candidate.client.label(),
                super::wrap::shown(&candidate.path)
            )?;
        }
        return Ok(0);
    }
    let (mut total, mut wrapped_count) = (0, 0);
    for (file, listing) in files.iter().zip(&listed) {
        let scope = match file.scope {
            Scope::User => "user",
            Scope::Project => "project",
        };
        writeln!(
            out,
            "{} ({scope}) {}",
            file.client.label(),
            super::wrap::shown(&file.path)
        )?;
        if let Some(error) = listing["error"].as_str() {
            writeln!(out, "  {error}")?;
            continue;
        }
        let servers = listing["servers"].as_array().cloned().unwrap_or_default();
        if servers.is_empty() {
            writeln!(out, "  (no MCP servers)")?;
        }
        for server in servers {
            let name = crate::terminal::escape(server["name"].as_str().unwrap_or("")).into_owned();
            let command =
                crate::terminal::escape(server["command"].as_str().unwrap_or("")).into_owned();
            let state = match (server["transport"].as_str(), server["profile"].as_str()) {
                (Some("stdio"), Some(profile)) => {
                    wrapped_count += 1;
                    format!("wrapped, profile {}", crate::terminal::escape(profile))
                }
                (Some("stdio"), None) => "NOT wrapped".to_owned(),
                (Some("remote"), _) => "remote, not wrappable".to_owned(),
                _ => "not a command".to_owned(),
            };
            total += 1;
            writeln!(
                out,
                "  {name:<20} {:<7} {state:<26} {command}",
                server["transport"].as_str().unwrap_or("")
            )?;
        }
    }
    writeln!(
        out,
        "{} files, {total} servers, {wrapped_count} wrapped",
        files.len()
    )?;
    Ok(0)
}

/// A command line as a shell would read it back: words with spaces or quotes quoted.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | '\\'));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
