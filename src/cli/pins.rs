//! `mcpguard pins list | diff | approve`. Pinned definitions are what servers listed, so
//! every name and definition is escaped for the terminal (`terminal`).

use super::args::PinsCommand;
use crate::mcp::pins::{self, PinFile};
use crate::{paths, terminal};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

fn pin_files(server: Option<&str>) -> anyhow::Result<Vec<(PathBuf, PinFile)>> {
    let state = paths::state_dir().context(paths::NO_STATE_DIR)?;
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(state.join("pins")) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        if let Some(file) = pins::load(&path)?
            && server.is_none_or(|s| s == file.server)
        {
            found.push((path, file));
        }
    }
    found.sort_by(|a, b| a.1.server.cmp(&b.1.server).then(a.0.cmp(&b.0)));
    Ok(found)
}

pub(crate) fn run(command: PinsCommand) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
    match command {
        PinsCommand::List { server } => {
            let files = pin_files(server.as_deref())?;
            if files.is_empty() {
                writeln!(out, "no pinned servers")?;
            }
            for (_, file) in files {
                writeln!(
                    out,
                    "{}: {} tools pinned, {} pending change(s); profile {}; command {}",
                    terminal::escape(&file.server),
                    file.tools.len(),
                    file.pending.len(),
                    terminal::escape(&file.profile),
                    terminal::escape_json(&serde_json::to_string(&file.command)?)
                )?;
            }
            Ok(0)
        }
        PinsCommand::Diff { server } => {
            let mut any = false;
            for (_, file) in pin_files(server.as_deref())? {
                for (name, new) in &file.pending {
                    any = true;
                    let old = file.tools.get(name).map(|p| &p.definition);
                    writeln!(
                        out,
                        "{}: {}",
                        terminal::escape(&file.server),
                        terminal::escape(name)
                    )?;
                    for change in file.changes.iter().filter(|c| &c.tool == name) {
                        writeln!(
                            out,
                            "  {}: {}",
                            terminal::escape(&change.kind),
                            terminal::escape(&change.what.join("; "))
                        )?;
                    }
                    let definition = |d| terminal::escape_json(&pins::canonical(d)).into_owned();
                    match old {
                        Some(old) => writeln!(out, "  - pinned: {}", definition(old))?,
                        None => writeln!(out, "  - pinned: (none)")?,
                    }
                    match new {
                        Some(new) => writeln!(out, "  + listed: {}", definition(new))?,
                        None => writeln!(out, "  + listed: (no longer listed)")?,
                    }
                }
            }
            if !any {
                writeln!(out, "no pending changes")?;
            }
            Ok(0)
        }
        PinsCommand::Approve { server } => {
            // Every approval is saved before a word is printed: a reader that stops reading
            // early (`| head -1`) must not leave half of them undone.
            let mut approved = Vec::new();
            for (path, mut file) in pin_files(server.as_deref())? {
                let count = file.approve();
                if count > 0 {
                    pins::save(&path, &file)?;
                    approved.push((file.server, count));
                }
            }
            for (server, count) in approved {
                writeln!(
                    out,
                    "{}: approved {count} change(s)",
                    terminal::escape(&server)
                )?;
            }
            Ok(0)
        }
    }
}
