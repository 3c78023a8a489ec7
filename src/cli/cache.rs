//! `mcpguard cache list | prune`: the servers' persistent caches.

use super::args::CacheCommand;
use crate::paths;
use crate::sandbox::cache::{self, CacheEntry};
use anyhow::Context;
use std::io::Write;

/// The caches the command is about: all of them, or the one named `server`.
fn selected(server: Option<&str>) -> anyhow::Result<Vec<CacheEntry>> {
    let base = paths::cache_dir().context("cannot tell mcpguard's cache directory")?;
    let all = cache::list(&base)
        .with_context(|| format!("reading {}", cache::servers_dir(&base).display()))?;
    let chosen: Vec<CacheEntry> = all
        .into_iter()
        .filter(|entry| server.is_none_or(|name| entry.name == name))
        .collect();
    if let Some(name) = server
        && chosen.is_empty()
    {
        anyhow::bail!(
            "no cache named {name} under {}; `mcpguard cache list` shows the names",
            cache::servers_dir(&base).display()
        );
    }
    Ok(chosen)
}

pub fn run(command: CacheCommand) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match command {
        CacheCommand::List { server } => {
            let entries = selected(server.as_deref())?;
            if entries.is_empty() {
                writeln!(out, "no server caches")?;
            }
            for entry in entries {
                writeln!(
                    out,
                    "{:<24} {:>12} bytes  {}",
                    entry.name,
                    entry.bytes,
                    entry.path.display()
                )?;
            }
        }
        CacheCommand::Prune { server } => {
            for entry in selected(server.as_deref())? {
                let freed = cache::prune(&entry.path)
                    .with_context(|| format!("emptying {}", entry.path.display()))?;
                writeln!(out, "{}: emptied, {freed} bytes freed", entry.name)?;
            }
        }
    }
    Ok(0)
}
