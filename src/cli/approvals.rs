//! `mcpguard approvals list | revoke`: the approvals answered "always" (the user's overlay
//! file, `approval::always`). Entries hold what servers and agents named, so every field
//! is escaped for the terminal.

use super::args::ApprovalsCommand;
use crate::approval::always;
use crate::terminal;
use std::io::Write;

pub(crate) fn run(command: ApprovalsCommand) -> anyhow::Result<u8> {
    let path = always::path()?;
    let mut out = super::output::stdout();
    match command {
        ApprovalsCommand::List { json } => {
            let file = always::load(&path)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&file.entries)?)?;
                return Ok(0);
            }
            if file.entries.is_empty() {
                writeln!(out, "no approvals answered \"always\" ({})", path.display())?;
                return Ok(0);
            }
            for (n, entry) in file.entries.iter().enumerate() {
                writeln!(
                    out,
                    "{}  {} › {}  {}  (by {}, {})",
                    n + 1,
                    terminal::escape(&entry.server),
                    terminal::escape(&entry.tool),
                    terminal::escape(&entry.shown()),
                    terminal::escape(&entry.by),
                    terminal::escape(&entry.created)
                )?;
            }
            Ok(0)
        }
        ApprovalsCommand::Revoke {
            numbers,
            server,
            all,
        } => {
            let shown = path.display().to_string();
            let (revoked, left) = always::update(&path, |file| {
                let total = file.entries.len();
                if let Some(bad) = numbers.iter().find(|n| **n == 0 || **n > total) {
                    return Err(always::AlwaysError::Pattern {
                        key: format!("approval {bad}"),
                        message: format!(
                            "there is none: {total} in {shown} (see mcpguard approvals list)"
                        ),
                    });
                }
                let mut n = 0;
                file.entries.retain(|entry| {
                    n += 1;
                    let revoked = all
                        || numbers.contains(&n)
                        || server.as_deref().is_some_and(|s| s == entry.server);
                    !revoked
                });
                Ok((total - file.entries.len(), file.entries.len()))
            })?;
            writeln!(out, "revoked {revoked} approval(s); {left} left")?;
            Ok(0)
        }
    }
}
