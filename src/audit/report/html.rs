//! The HTML rendering of `audit report`: one self-contained page (inline CSS and SVG, no
//! scripts, nothing fetched), so it can be mailed or archived and opens anywhere.
//!
//! Owns: the page's markup. Every name chosen by a server or a model goes through
//! `escape`: its control characters made visible as on the terminal, then its markup
//! escaped.

use super::{Report, joined, ms};
use crate::terminal;
use std::fmt::Write as _;

/// `text` for the HTML page: control characters made visible as on the terminal (a page
/// copied into a terminal, or opened with a text viewer, must not act on them), then the
/// markup escaped.
fn escape(text: &str) -> String {
    terminal::escape(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The report as one self-contained HTML page.
pub fn render_html(report: &Report) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mcpguard audit report</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;color:#1b1f24;background:#fafbfc}}\
         h1{{font-size:1.5em}}h2{{font-size:1.15em;margin-top:2em}}table{{border-collapse:collapse;background:#fff}}\
         td,th{{padding:.35em .7em;border-bottom:1px solid #d8dee4;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .meta{{color:#57606a}}.anomaly{{color:#9a3412;background:#fff7ed;padding:.3em .6em;margin:.2em 0;border-left:3px solid #ea580c}}\
         .bar{{fill:#2563eb}}.deny{{fill:#dc2626}}</style></head><body>"
    );
    let _ = write!(
        html,
        "<h1>mcpguard audit report</h1><p class=\"meta\">{} to {}</p>",
        escape(report.from.as_deref().unwrap_or("-")),
        escape(report.to.as_deref().unwrap_or("-"))
    );
    let _ = write!(html, "<h2>Anomalies</h2>");
    if report.anomalies.is_empty() {
        let _ = write!(html, "<p>None.</p>");
    }
    for anomaly in &report.anomalies {
        let _ = write!(
            html,
            "<div class=\"anomaly\">{}</div>",
            escape(&anomaly.to_string())
        );
    }
    for (name, server) in &report.servers {
        let _ = write!(
            html,
            "<h2>{}</h2><p class=\"meta\">{} session(s), {} request(s) · profile {} · client {}</p>",
            escape(name),
            server.sessions,
            server.requests,
            escape(&joined(&server.profiles)),
            escape(&joined(&server.clients))
        );
        let max = server
            .tools
            .values()
            .map(|t| t.calls)
            .max()
            .unwrap_or(0)
            .max(1);
        let height = 24 * server.tools.len().max(1) + 8;
        let _ = write!(
            html,
            "<svg width=\"640\" height=\"{height}\" role=\"img\" aria-label=\"calls per tool\">"
        );
        for (i, (tool, t)) in server.tools.iter().enumerate() {
            let y = 4 + i * 24;
            let width = (t.calls as f64 / max as f64 * 400.0).round();
            let denied = (t.denials as f64 / max as f64 * 400.0).round();
            let _ = write!(
                html,
                "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect class=\"bar\" x=\"200\" y=\"{y}\" width=\"{width}\" height=\"16\"/>\
                 <rect class=\"deny\" x=\"200\" y=\"{y}\" width=\"{denied}\" height=\"16\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
                y + 12,
                escape(tool),
                210.0 + width,
                y + 12,
                t.calls
            );
        }
        let _ = write!(
            html,
            "</svg><table><tr><th>tool</th><th>calls</th><th>denied</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>bytes</th><th>tokens</th></tr>"
        );
        for (tool, t) in &server.tools {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(tool),
                t.calls,
                t.denials,
                t.errors,
                ms(t.p50_ms),
                ms(t.p95_ms),
                t.bytes,
                t.tokens
            );
        }
        let _ = write!(html, "</table>");
        if !server.hosts.is_empty() {
            let _ = write!(
                html,
                "<table><tr><th>network destination</th><th>allowed</th><th>refused</th><th>failed</th><th>bytes up</th><th>bytes down</th></tr>"
            );
            for (target, h) in &server.hosts {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(target),
                    h.allowed,
                    h.refused,
                    h.failed,
                    h.bytes_up,
                    h.bytes_down
                );
            }
            let _ = write!(html, "</table>");
        }
    }
    let _ = writeln!(html, "</body></html>");
    html
}
