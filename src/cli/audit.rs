//! `mcpguard audit verify | report`.

use super::args::AuditCommand;
use crate::audit::chain::Finding;
use crate::audit::{reader, report};
use crate::paths;
use anyhow::Context;
use std::io::Write;
use std::time::SystemTime;

pub(crate) fn run(command: AuditCommand) -> anyhow::Result<u8> {
    let state = paths::state_dir().context(paths::NO_STATE_DIR)?;
    match command {
        AuditCommand::Verify { server } => verify(&state, server.as_deref()),
        AuditCommand::Report { since, html } => {
            let records =
                reader::records(&state).with_context(|| format!("reading {}", state.display()))?;
            let now = SystemTime::now();
            let in_window = |r: &crate::audit::record::Record| {
                since.is_none_or(|window| {
                    humantime::parse_rfc3339(&r.ts)
                        .is_ok_and(|ts| now.duration_since(ts).map_or(true, |age| age <= window))
                })
            };
            let (window, history): (Vec<_>, Vec<_>) = records.into_iter().partition(in_window);
            let built = report::build(&history, &window);
            // With --html the page is the report: the terminal gets where it went.
            let mut out = super::output::stdout();
            match html {
                Some(path) => {
                    std::fs::write(&path, report::render_html(&built))
                        .with_context(|| format!("writing {}", path.display()))?;
                    writeln!(
                        out,
                        "wrote the HTML report to {}",
                        crate::terminal::escape(&path.display().to_string())
                    )?;
                }
                None => write!(out, "{}", report::render_text(&built))?,
            }
            Ok(0)
        }
    }
}

fn verify(state: &std::path::Path, only: Option<&str>) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
    let mut broken = false;
    let servers = reader::servers(state);
    if servers.is_empty() {
        writeln!(out, "no audit records under {}", state.display())?;
    }
    for (server, dir) in servers {
        if only.is_some_and(|o| o != server) {
            continue;
        }
        let report = reader::verify(&server, &dir)?;
        if report.findings.is_empty() {
            writeln!(out, "{server}: ok, {} records", report.records)?;
            continue;
        }
        for (file, finding) in &report.findings {
            match finding {
                Finding::Torn { line, bytes } => writeln!(
                    out,
                    "{server}: torn record at {}:{line} ({bytes} bytes, a write cut short); the chain goes on from the record before it",
                    file.display()
                )?,
                Finding::Broken { line, why } => {
                    broken = true;
                    writeln!(out, "{server}: BROKEN at {}:{line}: {why}", file.display())?;
                }
            }
        }
        if !report.broken() {
            writeln!(out, "{server}: ok, {} records", report.records)?;
        }
    }
    Ok(u8::from(broken))
}
