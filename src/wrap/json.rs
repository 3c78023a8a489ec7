//! The JSON and JSONC agent configs (Claude Desktop and Code, Cursor, Windsurf, Gemini,
//! VS Code, Zed): their server entries and the spans of the values in them.
//!
//! Owns: reading those files with comments and trailing commas where the agent allows them
//! (VS Code, Zed), and nothing that writes: edits are spans (`edit`), never a re-serialised
//! file.

use super::entry::{
    ArgsSlot, Entry, Item, Launch, Layout, List, SyntaxError, Text, Transport, bracketed_separator,
};
use jsonc_parser::ast::{Object, Value};
use jsonc_parser::common::Ranged;

/// What the file may hold beyond strict JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// RFC 8259 JSON (what Claude Desktop, Cursor and Claude Code read).
    Strict,
    /// JSON with comments and trailing commas (VS Code, Zed).
    Commented,
}

/// Every server entry under each of `roots` (a path of keys from the top, to the object
/// whose members are the servers: `["mcpServers"]`, `["projects", "/dir", "mcpServers"]`).
pub(crate) fn entries(
    text: &str,
    dialect: Dialect,
    roots: &[Vec<String>],
) -> Result<Vec<Entry>, SyntaxError> {
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options(dialect))
        .map_err(|e| SyntaxError::at(text, e.range().start, e.kind().to_string()))?;
    let Some(top) = parsed.value else {
        return Ok(Vec::new());
    };
    let Value::Object(top) = top else {
        return Err(SyntaxError::at(
            text,
            top.range().start,
            "the file holds something other than an object",
        ));
    };
    let mut found = Vec::new();
    for root in roots {
        let Some(servers) = descend(&top, root) else {
            continue;
        };
        let Value::Object(servers) = servers else {
            return Err(SyntaxError::at(
                text,
                servers.range().start,
                format!("`{}` is not an object of servers", root.join(".")),
            ));
        };
        let prefix: String = root
            .iter()
            .map(|k| format!("/{}", pointer_escape(k)))
            .collect();
        for (index, member) in servers.properties.iter().enumerate() {
            let name = member.name.as_str().to_owned();
            let repeated = servers.properties[index + 1..]
                .iter()
                .any(|later| later.name.as_str() == name);
            // The agent keeps the last of repeated keys; the others are dead text.
            let (locator, transport) = if repeated {
                (
                    format!("{prefix}/{}#{index}", pointer_escape(&name)),
                    Transport::Other(
                        "a later entry has the same name, and the agent reads only that one"
                            .to_owned(),
                    ),
                )
            } else {
                (
                    format!("{prefix}/{}", pointer_escape(&name)),
                    transport(text, &member.value),
                )
            };
            found.push(Entry {
                locator,
                transport,
                name,
            });
        }
    }
    Ok(found)
}

/// The top-level keys, to tell which agent a file given with `--config` belongs to.
pub(crate) fn top_keys(text: &str) -> Vec<String> {
    let Ok(parsed) =
        jsonc_parser::parse_to_ast(text, &Default::default(), &options(Dialect::Commented))
    else {
        return Vec::new();
    };
    match parsed.value {
        Some(Value::Object(top)) => top
            .properties
            .iter()
            .map(|p| p.name.as_str().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn options(dialect: Dialect) -> jsonc_parser::ParseOptions {
    let commented = dialect == Dialect::Commented;
    jsonc_parser::ParseOptions {
        allow_comments: commented,
        allow_loose_object_property_names: false,
        allow_trailing_commas: commented,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn descend<'a, 'b>(object: &'b Object<'a>, path: &[String]) -> Option<&'b Value<'a>> {
    let (first, rest) = path.split_first()?;
    let value = member(object, first)?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        Value::Object(inner) => descend(inner, rest),
        _ => None,
    }
}

fn member<'a, 'b>(object: &'b Object<'a>, key: &str) -> Option<&'b Value<'a>> {
    // The last of repeated keys is the one a JSON reader keeps.
    object
        .properties
        .iter()
        .rev()
        .find(|p| p.name.as_str() == key)
        .map(|p| &p.value)
}

fn string<'b>(object: &'b Object<'_>, key: &str) -> Option<&'b str> {
    match member(object, key)? {
        Value::StringLit(lit) => Some(lit.value.as_ref()),
        _ => None,
    }
}

/// `~` and `/` escaped as in a JSON pointer (RFC 6901), and `#` (which marks a place).
pub(crate) fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1").replace('#', "~2")
}

fn transport(text: &str, value: &Value<'_>) -> Transport {
    let Value::Object(entry) = value else {
        return Transport::Other("not an object".to_owned());
    };
    for key in ["url", "serverUrl", "httpUrl"] {
        if let Some(url) = string(entry, key) {
            return Transport::Remote(url.to_owned());
        }
    }
    if let Some(kind @ ("http" | "sse" | "streamable-http" | "streamableHttp")) =
        string(entry, "type")
    {
        return Transport::Remote(kind.to_owned());
    }
    match member(entry, "command") {
        Some(Value::StringLit(_)) => launch(text, entry, "command"),
        // Zed's older shape: `"command": {"path": …, "args": […], "env": {…}}`.
        Some(Value::Object(nested)) if string(nested, "path").is_some() => {
            launch(text, nested, "path")
        }
        Some(_) => Transport::Other("its `command` is not a string".to_owned()),
        None => Transport::Other("no `command` (an extension's server?)".to_owned()),
    }
}

fn launch(text: &str, entry: &Object<'_>, command_key: &str) -> Transport {
    let Some(Value::StringLit(command)) = member(entry, command_key) else {
        return Transport::Other(format!("its `{command_key}` is not a string"));
    };
    let args = match member(entry, "args") {
        None => None,
        Some(Value::Array(array)) => {
            let mut items = Vec::new();
            for element in &array.elements {
                let Value::StringLit(lit) = element else {
                    return Transport::Other(
                        "its `args` holds something other than strings".into(),
                    );
                };
                items.push(Item {
                    start: lit.range.start,
                    text: Text {
                        span: lit.range.start..lit.range.end,
                        value: lit.value.to_string(),
                    },
                });
            }
            let open_end = array.range.start + 1;
            Some(List {
                span: array.range.start..array.range.end,
                layout: Layout::Bracketed {
                    open_end,
                    separator: bracketed_separator(text, open_end, items.first().map(|i| i.start)),
                },
                items,
            })
        }
        Some(_) => return Transport::Other("its `args` is not a list".to_owned()),
    };
    let env = match member(entry, "env") {
        Some(Value::Object(env)) => env
            .properties
            .iter()
            .map(|p| {
                let value = match &p.value {
                    Value::StringLit(lit) => lit.value.to_string(),
                    other => text[other.range().start..other.range().end].to_owned(),
                };
                (p.name.as_str().to_owned(), value)
            })
            .collect(),
        _ => Vec::new(),
    };
    Transport::Stdio(Box::new(Launch {
        command: Text {
            span: command.range.start..command.range.end,
            value: command.value.to_string(),
        },
        args,
        args_slot: ArgsSlot {
            at: command.range.end,
            lead: ", \"args\": ".to_owned(),
        },
        env,
        env_names: Vec::new(),
        env_file: string(entry, "envFile").map(str::to_owned),
        cwd: string(entry, "cwd").map(str::to_owned),
    }))
}
