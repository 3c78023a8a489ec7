//! `mcpguard cache list | prune`: the servers' persistent caches.

use super::args::CacheCommand;
use crate::paths;
use crate::sandbox::cache::{self, CacheEntry};
use anyhow::Context;
use std::io::Write;

/// Whether the cache directory `dir_name` belongs to `server`: its exact directory name,
/// or any identity of a server of that name (`<name>-<16 hex digits>`, see
/// `sandbox::cache_key`).
fn belongs_to(dir_name: &str, server: &str) -> bool {
    if dir_name == server {
        return true;
    }
    let prefix = crate::fspath::safe_component(server);
    dir_name
        .strip_prefix(prefix.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|digest| digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The caches the command is about: all of them, or those of `server`.
fn selected(server: Option<&str>) -> anyhow::Result<Vec<CacheEntry>> {
    let base = paths::cache_dir().context("cannot tell mcpguard's cache directory")?;
    let all = cache::list(&base)
        .with_context(|| format!("reading {}", cache::servers_dir(&base).display()))?;
    let chosen: Vec<CacheEntry> = all
        .into_iter()
        .filter(|entry| server.is_none_or(|name| belongs_to(&entry.name, name)))
        .collect();
    if let Some(name) = server
        && chosen.is_empty()
    {
        anyhow::bail!(
            "no cache of a server named {name} under {}; `mcpguard cache list` shows them",
            cache::servers_dir(&base).display()
        );
    }
    Ok(chosen)
}

pub(crate) fn run(command: CacheCommand) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_name_selects_each_of_its_identities() {
        assert!(belongs_to("npx-0123456789abcdef", "npx"));
        assert!(belongs_to("npx-0123456789abcdef", "npx-0123456789abcdef"));
        assert!(!belongs_to("npx-0123456789abcdef", "np"));
        assert!(!belongs_to("npx-fs-0123456789abcdef", "npx"));
        assert!(!belongs_to("npx-0123456789abcdeg", "npx"));
        assert!(belongs_to("a_b-0123456789abcdef", "a b"));
    }
}
