//! `mcpguard logs`: the audit trail as a table or as JSON Lines, optionally followed.
//! Records hold what servers and models sent (tool names, methods), so every field is
//! escaped for the terminal (`terminal`); JSON Lines stay JSON that means the same.

use super::args::LogsArgs;
use crate::audit::reader::{self, Filter};
use crate::audit::record::{EventKind, Record};
use crate::{paths, terminal};
use anyhow::Context;
use std::io::Write;
use std::time::{Duration, SystemTime};

pub(crate) fn run(args: LogsArgs) -> anyhow::Result<u8> {
    let state = paths::state_dir().context(paths::NO_STATE_DIR)?;
    let filter = Filter {
        server: args.server,
        tool: args.tool,
        decision: args.decision,
        since: args.since,
    };
    let mut tail = reader::Tail::default();
    let mut out = super::output::stdout();
    if !args.json {
        writeln!(
            out,
            "{:<24} {:<16} {:<14} {:<24} {:<7} {:>10} {:>9}",
            "time", "server", "event", "tool/method", "verdict", "latency", "size"
        )?;
    }
    loop {
        let now = SystemTime::now();
        let records = tail
            .new_records(&state)
            .with_context(|| format!("reading {}", state.display()))?;
        for record in records {
            if !filter.matches(&record, now) {
                continue;
            }
            if args.json {
                let json = serde_json::to_string(&record)?;
                writeln!(out, "{}", terminal::escape_json(&json))?;
            } else {
                writeln!(out, "{}", row(&record))?;
            }
        }
        out.flush()?;
        if !args.follow {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn row(record: &Record) -> String {
    // Network records name a destination, not a tool.
    let kind = record.kind();
    let destination = if matches!(kind, Some(EventKind::Network | EventKind::NetworkEnd)) {
        crate::audit::report::destination(record)
    } else {
        None
    };
    let transferred = record
        .detail
        .as_ref()
        .filter(|_| kind == Some(EventKind::NetworkEnd))
        .and_then(|d| Some(d["bytes_up"].as_u64()? + d["bytes_down"].as_u64()?));
    let what = record
        .tool
        .as_deref()
        .or(record.method.as_deref())
        .or(destination.as_deref())
        .unwrap_or("-");
    let verdict = match (&record.decision, &record.result) {
        (Some(d), _) => d.verdict.clone(),
        (None, Some(r)) if r.is_error => "error".into(),
        (None, Some(_)) => "ok".into(),
        _ => "-".into(),
    };
    let latency = record
        .latency_ms
        .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms"));
    let size = record
        .result
        .as_ref()
        .map(|r| r.bytes)
        .or_else(|| record.args.as_ref().map(|a| a.bytes))
        .or(transferred)
        .map_or_else(|| "-".into(), |b| format!("{b} B"));
    format!(
        "{:<24} {:<16} {:<14} {:<24} {:<7} {:>10} {:>9}",
        terminal::escape(record.ts.get(..23).unwrap_or(&record.ts)),
        terminal::escape(&record.server),
        terminal::escape(&record.event),
        terminal::escape(what),
        terminal::escape(&verdict),
        latency,
        size
    )
}
