//! The terminal rendering of `audit report`: a table per server with a bar and a sparkline
//! per tool, the network destinations, then the anomalies.
//!
//! Owns: the layout of the text report. Every name a server or a model chose goes through
//! `terminal::escape`, so a tool name cannot move the cursor or forge a line; name columns
//! are as wide as their names, up to a cap (`columns`).

use super::{Report, joined, ms};
use crate::{columns, terminal};
use std::fmt::Write as _;

/// The eight heights of a sparkline cell, lowest first (an empty bucket is a space).
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Widest a tool or destination column gets, in characters; longer names end in `…`.
const NAME_CAP: usize = 40;

/// Width of the calls bar of the busiest tool, in characters.
const BAR_WIDTH: usize = 20;

fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|v| {
            if max == 0 || *v == 0 {
                ' '
            } else {
                SPARKS[((*v * 7) / max) as usize]
            }
        })
        .collect()
}

/// A bar of `value` against `max` over `width` characters; any nonzero value shows at
/// least one block, so a rarely called tool is still visible.
fn bar(value: u64, max: u64, width: usize) -> String {
    let filled = if max == 0 {
        0
    } else {
        ((value as f64 / max as f64) * width as f64).round() as usize
    };
    "█".repeat(filled.max(usize::from(value > 0)))
}

/// The report for a terminal.
pub(crate) fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mcpguard audit report: {} to {}",
        terminal::escape(report.from.as_deref().unwrap_or("-")),
        terminal::escape(report.to.as_deref().unwrap_or("-"))
    );
    if report.servers.is_empty() {
        let _ = writeln!(out, "\nno records in this window");
        return out;
    }
    let max_calls = report
        .servers
        .values()
        .flat_map(|s| s.tools.values())
        .map(|t| t.calls)
        .max()
        .unwrap_or(0);
    for (name, server) in &report.servers {
        let _ = writeln!(
            out,
            "\n{}: {} session(s), {} request(s); profile {}; client {}",
            terminal::escape(name),
            server.sessions,
            server.requests,
            terminal::escape(&joined(&server.profiles)),
            if server.clients.is_empty() {
                "-".to_owned()
            } else {
                terminal::escape(&joined(&server.clients)).into_owned()
            }
        );
        let tools: Vec<_> = server
            .tools
            .iter()
            .map(|(tool, t)| (terminal::escape(tool), t))
            .collect();
        let width = columns::width("tool", tools.iter().map(|(tool, _)| tool), NAME_CAP);
        if !tools.is_empty() {
            let _ = writeln!(
                out,
                "  {} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}  {:<20} activity",
                columns::left("tool", width),
                "calls",
                "denied",
                "errors",
                "p50 ms",
                "p95 ms",
                "bytes",
                "tokens",
                ""
            );
        }
        for (tool, t) in &tools {
            let _ = writeln!(
                out,
                "  {} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}  {:<20} {}",
                columns::left(tool, width),
                t.calls,
                t.denials,
                t.errors,
                ms(t.p50_ms),
                ms(t.p95_ms),
                t.bytes,
                t.tokens,
                bar(t.calls, max_calls, BAR_WIDTH),
                sparkline(&t.timeline)
            );
        }
        let asked: Vec<_> = tools
            .iter()
            .filter(|(_, t)| t.approvals.asked > 0)
            .collect();
        if !asked.is_empty() {
            let _ = writeln!(
                out,
                "  {} {:>6} {:>7} {:>6} {:>10} {:>14}",
                columns::left("approvals", width),
                "asked",
                "allowed",
                "denied",
                "unanswered",
                "median wait ms"
            );
            for (tool, t) in asked {
                let a = &t.approvals;
                let _ = writeln!(
                    out,
                    "  {} {:>6} {:>7} {:>6} {:>10} {:>14}",
                    columns::left(tool, width),
                    a.asked,
                    a.allowed,
                    a.denied,
                    a.unanswered,
                    ms(a.wait_p50_ms)
                );
            }
        }
        let hosts: Vec<_> = server
            .hosts
            .iter()
            .map(|(target, h)| (terminal::escape(target), h))
            .collect();
        let width = columns::width(
            "network destination",
            hosts.iter().map(|(target, _)| target),
            NAME_CAP,
        );
        if !hosts.is_empty() {
            let _ = writeln!(
                out,
                "  {} {:>7} {:>7} {:>6} {:>12} {:>12}",
                columns::left("network destination", width),
                "allowed",
                "refused",
                "failed",
                "bytes up",
                "bytes down"
            );
        }
        for (target, h) in &hosts {
            let _ = writeln!(
                out,
                "  {} {:>7} {:>7} {:>6} {:>12} {:>12}",
                columns::left(target, width),
                h.allowed,
                h.refused,
                h.failed,
                h.bytes_up,
                h.bytes_down
            );
        }
    }
    let _ = writeln!(out, "\nanomalies:");
    if report.anomalies.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for anomaly in &report.anomalies {
        let _ = writeln!(out, "  ! {}", terminal::escape(&anomaly.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn sparkline_scales_to_the_peak() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▁▂▄█");
    }
}
