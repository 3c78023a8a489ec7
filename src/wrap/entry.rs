//! One server entry of an agent's config, as its file's text holds it: the entry's name and
//! place, how it starts its server, and the byte spans of the values `wrap` edits.
//!
//! Owns: the shape every format's reader (`json`, `toml`, `yaml`) produces, so that the
//! edits (`edit`) and the checks after them never depend on the format.

use std::ops::Range;

/// A string value as written: where it is in the file, and what it says once decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    pub(crate) span: Range<usize>,
    pub(crate) value: String,
}

/// One element of a list: where the element begins (a YAML block item at its `-`), and its
/// string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) start: usize,
    pub(crate) text: Text,
}

/// How the elements of a list are laid out, so that new ones read like the old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `[a, b]` (JSON, TOML, a YAML flow sequence): `open_end` is just after the `[`;
    /// `separator` is what stands between two elements (`, `, or `,\n` and the indentation
    /// when each element has a line of its own).
    Bracketed { open_end: usize, separator: String },
    /// A YAML block sequence: one `- item` a line, each line indented by `indent`.
    Dashes { indent: String },
}

/// A list of strings (`args`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct List {
    pub(crate) span: Range<usize>,
    pub(crate) items: Vec<Item>,
    pub(crate) layout: Layout,
}

/// Where an `args` list goes when the entry has none: at byte `at`, the text `lead` (the
/// separator, the key and what joins it to its value), then the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgsSlot {
    pub(crate) at: usize,
    pub(crate) lead: String,
}

/// A server the agent starts as a command: the spans `wrap` edits and what the agent gives
/// the process besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    pub(crate) command: Text,
    pub(crate) args: Option<List>,
    pub(crate) args_slot: ArgsSlot,
    /// The variables the agent sets for the server (`env`), with their values as written
    /// (the agent expands `${VAR}` in them).
    pub(crate) env: Vec<(String, String)>,
    /// Names of further variables the agent passes through (Codex `env_vars`).
    pub(crate) env_names: Vec<String>,
    /// A file of variables the agent reads for the server (VS Code and Cursor `envFile`).
    pub(crate) env_file: Option<String>,
    /// The directory the agent starts the server in (Codex `cwd`).
    pub(crate) cwd: Option<String>,
}

impl Launch {
    /// The command and its arguments, decoded.
    pub(crate) fn argv(&self) -> Vec<String> {
        std::iter::once(self.command.value.clone())
            .chain(self.args_values())
            .collect()
    }

    pub(crate) fn args_values(&self) -> Vec<String> {
        self.args
            .iter()
            .flat_map(|list| list.items.iter().map(|item| item.text.value.clone()))
            .collect()
    }

    /// The bytes the wrap edits cover: the command and its `args` (where they would go when
    /// absent), and everything between them.
    pub(crate) fn region(&self) -> Range<usize> {
        let mut start = self.command.span.start;
        let mut end = self.command.span.end;
        match &self.args {
            Some(list) => {
                start = start.min(list.span.start);
                end = end.max(list.span.end);
            }
            None => {
                start = start.min(self.args_slot.at);
                end = end.max(self.args_slot.at);
            }
        }
        start..end
    }
}

/// How the agent reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A command on stdio: what mcpguard wraps.
    Stdio(Box<Launch>),
    /// A server over the network (`url`, `serverUrl`, `type = "http"`…): listed, left alone.
    Remote(String),
    /// Neither (an extension's settings, an entry without a command): left alone.
    Other(String),
}

/// One server entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The name the agent gives it (its key, or Continue's `name`).
    pub(crate) name: String,
    /// Where it is in the file, unique within it (`/mcpServers/memory`,
    /// `mcp_servers.docs`), the key of its wrap record.
    pub(crate) locator: String,
    pub(crate) transport: Transport,
}

/// A file that does not parse, or holds something other than the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl SyntaxError {
    /// The error at byte `offset` of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The whitespace that begins the line holding byte `offset`, up to `offset` (when only
/// whitespace stands before it on its line).
pub(crate) fn indentation_before(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then(|| before.to_owned())
}

/// Whether a newline stands between bytes `from` and `to`.
pub(crate) fn spans_lines(text: &str, from: usize, to: usize) -> bool {
    text[from..to].contains('\n')
}

/// The separator a bracketed list uses between elements: `, `, or a comma, a newline and
/// the first element's indentation when that element has a line of its own.
pub(crate) fn bracketed_separator(text: &str, open_end: usize, first: Option<usize>) -> String {
    match first {
        Some(first) if spans_lines(text, open_end, first) => {
            let indent = indentation_before(text, first).unwrap_or_default();
            let newline = if text[..first].ends_with(&format!("\r\n{indent}")) {
                "\r\n"
            } else {
                "\n"
            };
            format!(",{newline}{indent}")
        }
        _ => ", ".to_owned(),
    }
}

/// The line ending the file uses (CRLF when its first line ends so).
pub(crate) fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Where the line holding byte `from` ends (before its `\r\n` or `\n`, or at the end).
pub(crate) fn end_of_line(text: &str, from: usize) -> usize {
    let end = text[from..].find('\n').map_or(text.len(), |i| from + i);
    if text[..end].ends_with('\r') {
        end - 1
    } else {
        end
    }
}
