//! Logs and reports people read: the `logs` table says why a call was denied, the report
//! shows one line per kind of anomaly (not one per call), `--html` says where the page went,
//! and columns stay aligned whatever the length of a tool's name.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;

/// A tool name longer than any column.
const LONG: &str = "fetch_every_single_record_from_the_remote_archive_and_summarize_it";

/// A trail under `home`: one real session with the fake server (an echo call, a denied
/// `rm_everything` and a call of the unknown tool `LONG`, which the server answers with an
/// error, kept without its text: the trail keeps a tool's answers, not JSON-RPC errors),
/// then 52 calls of echo between 00:00 and 05:59 UTC in that session (written as
/// copies of its echo request, dated at night: a report reads the dates it is given).
fn trail(home: &Path) {
    let profile = home.join("readable.toml");
    std::fs::write(
        &profile,
        "[profile]\nname = \"readable\"\nextends = \"everything\"\n[tools]\ndeny = [\"rm*\"]\n",
    )
    .unwrap();
    let mut guard = Guarded::start_in(
        home,
        None,
        &[
            "--name",
            "fs",
            "--profile",
            profile.to_str().unwrap(),
            "--shutdown-grace",
            "300ms",
        ],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(&initialize(json!(0)));
    assert_eq!(guard.recv_json()["id"], json!(0));
    guard.send_json(&echo_call(json!(1), "hi"));
    answer(&guard, json!(1));
    for (id, tool) in [(2, "rm_everything"), (3, LONG)] {
        guard.send_json(&request(
            json!(id),
            "tools/call",
            json!({"name": tool, "arguments": {}}),
        ));
        answer(&guard, json!(id));
    }
    let (_, stderr) = guard.finish();
    let dir = home.join("state/audit/fs");
    let (_, stdout, _) = mcpguard_in(home, &["logs", "--json"]);
    let echo: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == "request" && r["tool"] == "echo")
        .unwrap_or_else(|| panic!("no echo request in {stdout}\n{stderr}"));
    let night: String = (0..52)
        .map(|i| {
            let mut call = echo.clone();
            call["ts"] = json!(format!("2026-11-21T0{}:{:02}:00.000Z", i / 10, i));
            format!("{call}\n")
        })
        .collect();
    std::fs::write(dir.join("2026-11-21.jsonl"), night).unwrap();
}

/// The char index of `needle` in `line`.
fn column(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {line}"));
    line[..at].chars().count()
}

#[test]
fn the_logs_table_names_the_rule_of_a_denial_and_stays_aligned() {
    let home = tempfile::tempdir().unwrap();
    trail(home.path());
    let (code, table, stderr) = mcpguard_in(home.path(), &["logs"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    let verdict = column(lines[0], "verdict");
    for line in &lines[1..] {
        let cell: String = line.chars().skip(verdict).take(7).collect();
        assert!(
            ["allow", "deny", "ok", "error", "-"].contains(&cell.trim_end()),
            "the verdict column is not where its heading is:\n{table}"
        );
    }
    let denied = lines.iter().find(|l| l.contains("rm_everything")).unwrap();
    let note: String = denied
        .chars()
        .skip(column(lines[0], "rule: reason"))
        .collect();
    assert!(note == "`rm_everything` is in tools.deny:rm*", "{denied}");
    let long = lines
        .iter()
        .find(|l| l.contains("fetch_every_single") && l.contains("error"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(long.contains('…') && !long.contains(LONG), "{long}");
    let (_, json, _) = mcpguard_in(home.path(), &["logs", "--json"]);
    assert!(json.contains(LONG));
}

#[test]
fn the_report_collapses_anomalies_and_html_goes_to_its_file() {
    let home = tempfile::tempdir().unwrap();
    trail(home.path());
    let (code, text, stderr) = mcpguard_in(home.path(), &["audit", "report"]);
    assert_eq!(code, Some(0), "{stderr}");
    let off_hours: Vec<&str> = text.lines().filter(|l| l.contains("off-hours")).collect();
    assert_eq!(off_hours.len(), 1, "{text}");
    // 52 at night, and the session's own calls too when the test runs before 06:00 UTC.
    assert!(
        off_hours[0].starts_with("  ! fs: 5")
            && off_hours[0].contains(" calls off-hours (before 06:00 UTC): echo ×5"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let heading = lines
        .iter()
        .position(|l| l.trim_start().starts_with("tool "))
        .unwrap();
    let calls_end = column(lines[heading], "calls") + "calls".len();
    for row in lines[heading + 1..]
        .iter()
        .take_while(|l| l.starts_with("  ") && !l.starts_with("  !") && !l.trim().is_empty())
    {
        let chars: Vec<char> = row.chars().collect();
        assert!(
            chars[calls_end - 1].is_ascii_digit() && chars[calls_end] == ' ',
            "the calls column is not under its heading:\n{text}"
        );
    }
    assert!(text.contains('…'), "{text}");
    let html = home.path().join("report.html");
    let (code, stdout, stderr) = mcpguard_in(
        home.path(),
        &["audit", "report", "--html", html.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("wrote the HTML report to {}\n", html.display())
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("class=\"anomaly\"").count(), 1, "{page}");
    crate::audit::render_in_chromium(&html);
}
