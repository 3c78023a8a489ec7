//! Codex's `config.toml`: its `[mcp_servers.<name>]` entries (tables, inline tables or
//! dotted keys) and the spans of the values in them, read with `toml_edit`, which keeps
//! where everything is.
//!
//! Owns: reading; the file is only ever changed by span edits (`edit`).

use super::entry::{
    ArgsSlot, Entry, Item, Launch, Layout, List, SyntaxError, Text, Transport, bracketed_separator,
    line_ending,
};
use toml_edit::{Document, InlineTable, Table, Value};

/// The key Codex keeps its servers under.
const ROOT: &str = "mcp_servers";

/// Every entry of `[mcp_servers]`.
pub(crate) fn entries(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let document = Document::parse(text).map_err(|e| {
        SyntaxError::at(
            text,
            e.span().map_or(0, |s| s.start),
            e.message().trim().to_owned(),
        )
    })?;
    let Some(servers) = document.as_table().get(ROOT) else {
        return Ok(Vec::new());
    };
    let servers: Vec<(String, Fields<'_>)> = if let Some(table) = servers.as_table() {
        table
            .iter()
            .map(|(name, item)| {
                let fields = match item {
                    toml_edit::Item::Table(t) => Fields::Table(t),
                    toml_edit::Item::Value(Value::InlineTable(t)) => Fields::Inline(t),
                    _ => Fields::Neither,
                };
                (name.to_owned(), fields)
            })
            .collect()
    } else if let Some(table) = servers.as_inline_table() {
        table
            .iter()
            .map(|(name, value)| {
                let fields = match value {
                    Value::InlineTable(t) => Fields::Inline(t),
                    _ => Fields::Neither,
                };
                (name.to_owned(), fields)
            })
            .collect()
    } else {
        let at = servers.span().map_or(0, |s| s.start);
        return Err(SyntaxError::at(text, at, "`mcp_servers` is not a table"));
    };
    Ok(servers
        .into_iter()
        .map(|(name, fields)| Entry {
            locator: format!("{ROOT}.{}", key_text(&name)),
            transport: transport(text, &fields),
            name,
        })
        .collect())
}

/// A key as TOML writes it: bare when it can be.
fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        super::edit::literal(key)
    }
}

/// An entry's table, however it is written.
enum Fields<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
    Neither,
}

impl<'a> Fields<'a> {
    fn value(&self, key: &str) -> Option<&'a Value> {
        match self {
            Fields::Table(t) => t.get(key).and_then(|i| i.as_value()),
            Fields::Inline(t) => t.get(key),
            Fields::Neither => None,
        }
    }

    fn string(&self, key: &str) -> Option<&'a str> {
        self.value(key).and_then(Value::as_str)
    }

    /// `env`: an inline table, or a `[mcp_servers.x.env]` table.
    fn env(&self) -> Vec<(String, String)> {
        let pairs: Vec<(String, String)> = match self {
            Fields::Table(t) => match t.get("env") {
                Some(toml_edit::Item::Table(env)) => env
                    .iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), value_text(v.as_value()?))))
                    .collect(),
                Some(toml_edit::Item::Value(Value::InlineTable(env))) => env
                    .iter()
                    .map(|(k, v)| (k.to_owned(), value_text(v)))
                    .collect(),
                _ => Vec::new(),
            },
            Fields::Inline(t) => match t.get("env") {
                Some(Value::InlineTable(env)) => env
                    .iter()
                    .map(|(k, v)| (k.to_owned(), value_text(v)))
                    .collect(),
                _ => Vec::new(),
            },
            Fields::Neither => Vec::new(),
        };
        pairs
    }
}

fn value_text(value: &Value) -> String {
    match value.as_str() {
        Some(s) => s.to_owned(),
        None => value.to_string().trim().to_owned(),
    }
}

fn transport(text: &str, fields: &Fields<'_>) -> Transport {
    if matches!(fields, Fields::Neither) {
        return Transport::Other("not a table".to_owned());
    }
    if let Some(url) = fields.string("url") {
        return Transport::Remote(url.to_owned());
    }
    let Some(command) = fields.value("command") else {
        return Transport::Other("no `command`".to_owned());
    };
    let (Some(value), Some(span)) = (command.as_str(), command.span()) else {
        return Transport::Other("its `command` is not a string".to_owned());
    };
    let command = Text {
        span,
        value: value.to_owned(),
    };
    let args = match fields.value("args") {
        None => None,
        Some(Value::Array(array)) => {
            let Some(span) = array.span() else {
                return Transport::Other("its `args` could not be located".to_owned());
            };
            let mut items = Vec::new();
            for element in array.iter() {
                let (Some(value), Some(span)) = (element.as_str(), element.span()) else {
                    return Transport::Other(
                        "its `args` holds something other than strings".into(),
                    );
                };
                items.push(Item {
                    start: span.start,
                    text: Text {
                        span,
                        value: value.to_owned(),
                    },
                });
            }
            let open_end = span.start + 1;
            Some(List {
                layout: Layout::Bracketed {
                    open_end,
                    separator: bracketed_separator(text, open_end, items.first().map(|i| i.start)),
                },
                span,
                items,
            })
        }
        Some(_) => return Transport::Other("its `args` is not a list".to_owned()),
    };
    let args_slot = match fields {
        Fields::Inline(_) => ArgsSlot {
            at: command.span.end,
            lead: ", args = ".to_owned(),
        },
        _ => {
            // A line of its own after the command's line, keyed as the command is (`command`,
            // or a dotted `mcp_servers.x.command`).
            let line_start = text[..command.span.start].rfind('\n').map_or(0, |i| i + 1);
            let key_line = &text[line_start..command.span.start];
            // The dotted path before a bare `command` key (`mcp_servers.x.`), kept for `args`;
            // a quoted key gets a plain `args`.
            let key_prefix = key_line
                .rfind("command")
                .map(|at| &key_line[..at])
                .filter(|p| p.trim().is_empty() || p.ends_with('.'))
                .unwrap_or("");
            let line_end = super::entry::end_of_line(text, command.span.end);
            ArgsSlot {
                at: line_end,
                lead: format!("{}{key_prefix}args = ", line_ending(text)),
            }
        }
    };
    let env_names = match fields.value("env_vars") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Transport::Stdio(Box::new(Launch {
        command,
        args,
        args_slot,
        env: fields.env(),
        env_names,
        env_file: None,
        cwd: fields.string("cwd").map(str::to_owned),
    }))
}
