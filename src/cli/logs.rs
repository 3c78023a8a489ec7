//! `mcpguard logs`: the audit trail as a table or as JSON Lines, optionally followed.
//! Records hold what servers and models sent (tool names, methods), so every field is
//! escaped for the terminal (`terminal`); JSON Lines stay JSON that means the same.

use super::args::LogsArgs;
use crate::audit::reader::{self, Filter};
use crate::audit::record::{EventKind, Record};
use crate::{columns, paths, terminal};
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
    // The table's widths come from the first records shown (all of them, unless followed).
    let mut layout: Option<Layout> = None;
    loop {
        let now = SystemTime::now();
        let records = tail
            .new_records(&state)
            .with_context(|| format!("reading {}", state.display()))?;
        let shown: Vec<Record> = records
            .into_iter()
            .filter(|record| filter.matches(record, now))
            .collect();
        if args.json {
            for record in &shown {
                let json = serde_json::to_string(record)?;
                writeln!(out, "{}", terminal::escape_json(&json))?;
            }
        } else {
            let rows: Vec<Row> = shown.iter().map(Row::of).collect();
            if layout.is_none() {
                let fitted = Layout::fit(&rows);
                writeln!(out, "{}", fitted.heading())?;
                layout = Some(fitted);
            }
            if let Some(layout) = &layout {
                for row in &rows {
                    writeln!(out, "{}", layout.line(row))?;
                }
            }
        }
        out.flush()?;
        if !args.follow {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Widest a server name column gets, in characters.
const SERVER_CAP: usize = 24;
/// Widest a tool, method or destination column gets.
const WHAT_CAP: usize = 40;
/// Longest note (a denial's rule and reason, an error's text) the table shows; `--json`
/// has all of it.
const NOTE_CAP: usize = 72;

/// One record as the table shows it, escaped for the terminal.
struct Row {
    time: String,
    server: String,
    event: String,
    what: String,
    verdict: String,
    latency: String,
    size: String,
    /// Why: a denial's rule and reason, an error's text; empty otherwise.
    note: String,
}

/// The table's column widths.
struct Layout {
    server: usize,
    event: usize,
    what: usize,
}

impl Layout {
    fn fit(rows: &[Row]) -> Layout {
        Layout {
            server: columns::width("server", rows.iter().map(|r| &r.server), SERVER_CAP),
            event: columns::width("event", rows.iter().map(|r| &r.event), 18),
            what: columns::width("tool/method", rows.iter().map(|r| &r.what), WHAT_CAP),
        }
    }

    fn heading(&self) -> String {
        self.line(&Row {
            time: "time".into(),
            server: "server".into(),
            event: "event".into(),
            what: "tool/method".into(),
            verdict: "verdict".into(),
            latency: "latency".into(),
            size: "size".into(),
            note: "rule: reason".into(),
        })
    }

    fn line(&self, row: &Row) -> String {
        let line = format!(
            "{:<23} {} {} {} {:<7} {:>10} {:>9}  {}",
            row.time,
            columns::left(&row.server, self.server),
            columns::left(&row.event, self.event),
            columns::left(&row.what, self.what),
            row.verdict,
            row.latency,
            row.size,
            columns::clip(&row.note, NOTE_CAP)
        );
        line.trim_end().to_owned()
    }
}

impl Row {
    fn of(record: &Record) -> Row {
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
        Row {
            time: terminal::escape(record.ts.get(..23).unwrap_or(&record.ts)).into_owned(),
            server: terminal::escape(&record.server).into_owned(),
            event: terminal::escape(&record.event).into_owned(),
            what: terminal::escape(what).into_owned(),
            verdict: terminal::escape(&verdict).into_owned(),
            latency,
            size,
            note: terminal::escape(&one_line(&note(record))).into_owned(),
        }
    }
}

/// Why a record is not a plain success: the rule and reason of a decision other than
/// allow, or what an error answer said (when the trail kept it).
fn note(record: &Record) -> String {
    if let Some(decision) = record.decision.as_ref().filter(|d| d.verdict != "allow") {
        // Reasons often name their rule already.
        return if decision.reason.contains(&decision.rule) {
            decision.reason.clone()
        } else {
            format!("{}: {}", decision.rule, decision.reason)
        };
    }
    let Some(result) = record.result.as_ref().filter(|r| r.is_error) else {
        return String::new();
    };
    let Some(payload) = &result.payload else {
        return String::new();
    };
    if let Some(value) = &payload.value {
        // A tool's error text, or a JSON-RPC error's message.
        let text = value["content"][0]["text"]
            .as_str()
            .or(value["message"].as_str())
            .or(value["error"]["message"].as_str());
        if let Some(text) = text {
            return text.to_owned();
        }
        return value.to_string();
    }
    payload.preview.clone().unwrap_or_default()
}

/// Line breaks and runs of white space as one space: a note is one cell of one row.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
