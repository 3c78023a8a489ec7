//! The HTML rendering of `audit report`: one self-contained page (inline CSS and SVG, no
//! scripts, nothing fetched), so it can be mailed or archived and opens anywhere.
//!
//! Owns: the page's template. It is a `maud` template, checked at compile time, which
//! escapes every value it inserts (`&`, `<`, `>`, `"`), so a name chosen by a server or a
//! model cannot become markup. The template does not touch control characters, so every
//! such name goes through `terminal::escape` first (a page copied into a terminal, or
//! opened with a text viewer, must not act on them): that is `shown`.

use super::{Report, ServerStats, joined, ms};
use crate::{columns, terminal};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::borrow::Cow;

/// The page's style sheet: a constant of ours, with no value from the records in it, so it
/// goes into the page as is (a `<style>` holds raw text, which escaping would corrupt).
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#1b1f24;background:#fafbfc}\
    h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse;background:#fff}\
    td,th{padding:.35em .7em;border-bottom:1px solid #d8dee4;text-align:right}td:first-child,th:first-child{text-align:left}\
    td:first-child{max-width:28em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
    .meta{color:#57606a}.anomaly{color:#9a3412;background:#fff7ed;padding:.3em .6em;margin:.2em 0;border-left:3px solid #ea580c}\
    .bar{fill:#2563eb}.deny{fill:#dc2626}";

/// Height of one tool's row in the calls chart, in pixels.
const ROW_HEIGHT: usize = 24;
/// Most characters of a tool name beside the calls chart (12px text before its bars at 200px).
const CHART_NAME_CAP: usize = 30;
/// Width of the busiest tool's bar in the calls chart, in pixels.
const BAR_WIDTH: f64 = 400.0;

/// Text from the records with its control characters made visible, as on the terminal;
/// the template escapes the markup.
fn shown(text: &str) -> Cow<'_, str> {
    terminal::escape(text)
}

/// The report as one self-contained HTML page.
pub(crate) fn render_html(report: &Report) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "mcpguard audit report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "mcpguard audit report" }
                p class="meta" {
                    (shown(report.from.as_deref().unwrap_or("-")))
                    " to "
                    (shown(report.to.as_deref().unwrap_or("-")))
                }
                h2 { "Anomalies" }
                @if report.anomalies.is_empty() {
                    p { "None." }
                }
                @for anomaly in &report.anomalies {
                    div class="anomaly" { (shown(&anomaly.to_string())) }
                }
                @for (name, server) in &report.servers {
                    (server_section(name, server))
                }
            }
        }
    };
    let mut html = page.into_string();
    html.push('\n');
    html
}

/// One server: its sessions, a chart of calls (and denials) per tool, the tools' table and
/// the network destinations' table.
fn server_section(name: &str, server: &ServerStats) -> Markup {
    html! {
        h2 { (shown(name)) }
        p class="meta" {
            (server.sessions) " session(s), " (server.requests) " request(s) · profile "
            (shown(&joined(&server.profiles))) " · client " (shown(&joined(&server.clients)))
        }
        (calls_chart(server))
        table {
            tr {
                th { "tool" } th { "calls" } th { "denied" } th { "errors" }
                th { "p50 ms" } th { "p95 ms" } th { "bytes" } th { "tokens" }
            }
            @for (tool, t) in &server.tools {
                tr {
                    td title=(shown(tool)) { (shown(tool)) } td { (t.calls) } td { (t.denials) } td { (t.errors) }
                    td { (ms(t.p50_ms)) } td { (ms(t.p95_ms)) } td { (t.bytes) } td { (t.tokens) }
                }
            }
        }
        @if server.tools.values().any(|t| t.approvals.asked > 0) {
            table {
                tr {
                    th { "approvals" } th { "asked" } th { "allowed" } th { "denied" }
                    th { "unanswered" } th { "median wait ms" }
                }
                @for (tool, t) in server.tools.iter().filter(|(_, t)| t.approvals.asked > 0) {
                    tr {
                        td title=(shown(tool)) { (shown(tool)) } td { (t.approvals.asked) }
                        td { (t.approvals.allowed) } td { (t.approvals.denied) }
                        td { (t.approvals.unanswered) } td { (ms(t.approvals.wait_p50_ms)) }
                    }
                }
            }
        }
        @if !server.hosts.is_empty() {
            table {
                tr {
                    th { "network destination" } th { "allowed" } th { "refused" }
                    th { "failed" } th { "bytes up" } th { "bytes down" }
                }
                @for (target, h) in &server.hosts {
                    tr {
                        td title=(shown(target)) { (shown(target)) } td { (h.allowed) } td { (h.refused) }
                        td { (h.failed) } td { (h.bytes_up) } td { (h.bytes_down) }
                    }
                }
            }
        }
    }
}

/// A bar per tool, its calls in blue with the denied share in red over it, scaled to the
/// server's busiest tool.
fn calls_chart(server: &ServerStats) -> Markup {
    let max = server
        .tools
        .values()
        .map(|t| t.calls)
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW_HEIGHT * server.tools.len().max(1) + 8;
    html! {
        svg width="640" height=(height) role="img" aria-label="calls per tool" {
            @for (i, (tool, t)) in server.tools.iter().enumerate() {
                @let y = 4 + i * ROW_HEIGHT;
                @let width = (t.calls as f64 / max as f64 * BAR_WIDTH).round();
                @let denied = (t.denials as f64 / max as f64 * BAR_WIDTH).round();
                // The bars start at x=200: a longer name is cut, whole in its tooltip.
                text x="0" y=(y + 12) font-size="12" {
                    title { (shown(tool)) }
                    (columns::clip(&shown(tool), CHART_NAME_CAP))
                }
                rect class="bar" x="200" y=(y) width=(width) height="16" {}
                rect class="deny" x="200" y=(y) width=(denied) height="16" {}
                text x=(210.0 + width) y=(y + 12) font-size="12" { (t.calls) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::ToolStats;
    use std::collections::BTreeMap;

    #[test]
    fn markup_in_names_is_text_on_the_page() {
        let mut server = ServerStats::default();
        server.tools.insert(
            "<img src=x onerror=\"a&b\">".to_owned(),
            ToolStats::default(),
        );
        let report = Report {
            servers: BTreeMap::from([("<script>".to_owned(), server)]),
            ..Report::default()
        };
        let html = render_html(&report);
        assert!(
            !html.contains("<img") && !html.contains("<script"),
            "{html}"
        );
        assert!(html.contains("<h2>&lt;script&gt;</h2>"), "{html}");
        assert!(
            html.contains(
                "<td title=\"&lt;img src=x onerror=&quot;a&amp;b&quot;&gt;\">\
                 &lt;img src=x onerror=&quot;a&amp;b&quot;&gt;</td>"
            ),
            "{html}"
        );
    }
}
