//! Continue's YAML configs (`~/.continue/config.yaml`, `.continue/mcpServers/*.yaml`): the
//! `mcpServers` list and the spans of the values in each entry, read from the parser's
//! events (a round-trip reader: serde-style YAML would lose the comments).
//!
//! Owns: a small tree of the file's nodes with their byte spans; the file is only ever
//! changed by span edits (`edit`).

use super::entry::{
    ArgsSlot, Entry, Item, Launch, Layout, List, SyntaxError, Text, Transport, indentation_before,
    line_ending,
};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::ops::Range;

/// A node of the file, with where it is (bytes).
#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        span: Range<usize>,
        plain: bool,
        anchored: bool,
    },
    Sequence {
        span: Range<usize>,
        items: Vec<Node>,
        flow: bool,
        anchored: bool,
    },
    Mapping {
        pairs: Vec<(Node, Node)>,
        flow: bool,
        anchored: bool,
    },
    /// An alias (`*name`): its target is not followed.
    Alias(usize),
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Scalar { span, .. } | Node::Sequence { span, .. } => span.start,
            Node::Mapping { pairs, .. } => pairs.first().map_or(0, |(k, _)| k.start()),
            Node::Alias(at) => *at,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        self.pair(key).map(|(_, v)| v)
    }

    /// The key node and value of `key` (the last, when it repeats: what a reader keeps).
    fn pair(&self, key: &str) -> Option<(&Node, &Node)> {
        let Node::Mapping { pairs, .. } = self else {
            return None;
        };
        pairs
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, Node::Scalar { value, .. } if value == key))
            .map(|(k, v)| (k, v))
    }

    /// Whether this node or one inside it is anchored, an alias, or a merge (`<<`): its
    /// text then is not all of what it means, and a span edit could change another entry.
    fn shared(&self) -> bool {
        match self {
            Node::Alias(_) => true,
            Node::Scalar { anchored, .. } => *anchored,
            Node::Sequence {
                items, anchored, ..
            } => *anchored || items.iter().any(Node::shared),
            Node::Mapping {
                pairs, anchored, ..
            } => {
                *anchored
                    || pairs.iter().any(|(k, v)| {
                        matches!(k, Node::Scalar { value, .. } if value == "<<")
                            || k.shared()
                            || v.shared()
                    })
            }
        }
    }

    fn string(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// The key Continue lists its servers under.
const ROOT: &str = "mcpServers";

/// Every entry of the `mcpServers` list.
pub(crate) fn entries(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let Some(top) = parse(text)? else {
        return Ok(Vec::new());
    };
    if !matches!(top, Node::Mapping { .. }) {
        return Err(SyntaxError::at(
            text,
            top.start(),
            "the file holds something other than a mapping",
        ));
    }
    let Some(servers) = top.get(ROOT) else {
        return Ok(Vec::new());
    };
    let Node::Sequence { items, .. } = servers else {
        return Err(SyntaxError::at(
            text,
            servers.start(),
            "`mcpServers` is not a list of servers",
        ));
    };
    let names: Vec<Option<&str>> = items
        .iter()
        .map(|item| item.get("name").and_then(Node::string))
        .collect();
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let name = names[index].map_or_else(|| index.to_string(), str::to_owned);
            // An entry is found again by its name, or by its place when the name repeats.
            let unique = names.iter().filter(|n| **n == names[index]).count() == 1;
            let key = if unique && names[index].is_some() {
                super::json::pointer_escape(&name)
            } else {
                format!("#{index}")
            };
            Entry {
                locator: format!("/{ROOT}/{key}"),
                transport: transport(text, item),
                name,
            }
        })
        .collect())
}

fn transport(text: &str, entry: &Node) -> Transport {
    let Node::Mapping { flow, .. } = entry else {
        return Transport::Other("not a mapping".to_owned());
    };
    if entry.shared() {
        return Transport::Other(
            "it uses YAML anchors, aliases or merges, which mcpguard does not edit; wrap it by hand"
                .to_owned(),
        );
    }
    if let Some(url) = entry.get("url").and_then(Node::string) {
        return Transport::Remote(url.to_owned());
    }
    if let Some(kind @ ("sse" | "streamable-http" | "http")) =
        entry.get("type").and_then(Node::string)
    {
        return Transport::Remote(kind.to_owned());
    }
    let Some((
        key,
        Node::Scalar {
            value, span, plain, ..
        },
    )) = entry.pair("command")
    else {
        return Transport::Other("no `command` that is a string".to_owned());
    };
    if *plain && text[span.clone()].contains('\n') {
        return Transport::Other("its `command` spans several lines".to_owned());
    }
    let command = Text {
        span: span.clone(),
        value: value.clone(),
    };
    let args = match entry.get("args") {
        None => None,
        Some(Node::Sequence {
            span, items, flow, ..
        }) => {
            let mut list = Vec::new();
            for item in items {
                let Node::Scalar { value, span, .. } = item else {
                    return Transport::Other(
                        "its `args` holds something other than strings".into(),
                    );
                };
                let start = if *flow {
                    span.start
                } else {
                    match dash_before(text, span.start) {
                        Some(dash) => dash,
                        None => {
                            return Transport::Other(
                                "its `args` is laid out in a way mcpguard does not edit".into(),
                            );
                        }
                    }
                };
                list.push(Item {
                    start,
                    text: Text {
                        span: span.clone(),
                        value: value.clone(),
                    },
                });
            }
            let layout = if *flow {
                let open_end = span.start + 1;
                Layout::Bracketed {
                    open_end,
                    separator: super::entry::bracketed_separator(
                        text,
                        open_end,
                        list.first().map(|i| i.start),
                    ),
                }
            } else {
                let Some(indent) = list.first().and_then(|i| indentation_before(text, i.start))
                else {
                    return Transport::Other(
                        "its `args` is laid out in a way mcpguard does not edit".into(),
                    );
                };
                Layout::Dashes { indent }
            };
            let span = if *flow {
                span.clone()
            } else {
                let start = list.first().map_or(span.start, |i| i.start);
                let end = list.last().map_or(span.end, |i| i.text.span.end);
                start..end
            };
            Some(List {
                span,
                items: list,
                layout,
            })
        }
        Some(_) => return Transport::Other("its `args` is not a list".to_owned()),
    };
    let args_slot = if *flow {
        ArgsSlot {
            at: command.span.end,
            lead: ", args: ".to_owned(),
        }
    } else {
        let key_start = key.start();
        let line_start = text[..key_start].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..key_start].chars().count();
        let line_end = super::entry::end_of_line(text, command.span.end);
        ArgsSlot {
            at: line_end,
            lead: format!("{}{}args: ", line_ending(text), " ".repeat(column)),
        }
    };
    let env = match entry.get("env") {
        Some(Node::Mapping { pairs, .. }) => pairs
            .iter()
            .filter_map(|(k, v)| {
                Some((k.string()?.to_owned(), v.string().unwrap_or("").to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    };
    Transport::Stdio(Box::new(Launch {
        command,
        args,
        args_slot,
        env,
        env_names: Vec::new(),
        env_file: None,
        cwd: entry.get("cwd").and_then(Node::string).map(str::to_owned),
    }))
}

/// The `-` of the block sequence item whose value starts at `value_start`.
fn dash_before(text: &str, value_start: usize) -> Option<usize> {
    let before = text[..value_start].trim_end_matches([' ', '\t']);
    before.ends_with('-').then(|| before.len() - 1)
}

/// The first document's tree.
fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    // The parser counts characters; edits need bytes.
    let bytes_at: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let byte = |chars: usize| bytes_at.get(chars).copied().unwrap_or(text.len());
    let mut stack: Vec<Building> = Vec::new();
    let mut done: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event
            .map_err(|e| SyntaxError::at(text, byte(e.marker().index()), e.info().to_owned()))?;
        let start = byte(span.start.index());
        let end = byte(span.end.index());
        let node = match event {
            Event::Scalar(value, style, anchor, _) => Some(Node::Scalar {
                value: value.into_owned(),
                span: start..end,
                plain: style == ScalarStyle::Plain,
                anchored: anchor > 0,
            }),
            Event::Alias(_) => Some(Node::Alias(start)),
            Event::SequenceStart(anchor, _) => {
                stack.push(Building::Sequence {
                    start,
                    items: Vec::new(),
                    flow: text[start..].starts_with('['),
                    anchored: anchor > 0,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Building::Mapping {
                    pairs: Vec::new(),
                    key: None,
                    flow: text[start..].starts_with('{'),
                    anchored: anchor > 0,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Building::Sequence {
                    start,
                    items,
                    flow,
                    anchored,
                }) => Some(Node::Sequence {
                    span: start..end.max(start),
                    items,
                    flow,
                    anchored,
                }),
                _ => return Err(SyntaxError::at(text, start, "unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Building::Mapping {
                    pairs,
                    flow,
                    anchored,
                    ..
                }) => Some(Node::Mapping {
                    pairs,
                    flow,
                    anchored,
                }),
                _ => return Err(SyntaxError::at(text, start, "unbalanced mapping")),
            },
            Event::DocumentEnd | Event::StreamEnd => {
                if done.is_some() {
                    break;
                }
                None
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            Some(Building::Sequence { items, .. }) => items.push(node),
            Some(Building::Mapping { pairs, key, .. }) => match key.take() {
                Some(k) => pairs.push((k, node)),
                None => *key = Some(node),
            },
            None => {
                if done.is_none() {
                    done = Some(node);
                }
            }
        }
    }
    Ok(done)
}

enum Building {
    Sequence {
        start: usize,
        items: Vec<Node>,
        flow: bool,
        anchored: bool,
    },
    Mapping {
        pairs: Vec<(Node, Node)>,
        key: Option<Node>,
        flow: bool,
        anchored: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_entry_is_read_with_the_spans_of_its_values() {
        let text = "mcpServers:\n  - name: été\n    command: npx # c\n    args:\n    - \"-y\"\n    - pkg\n    env:\n      K: v\n";
        let at = |s: &str| text.find(s).unwrap();
        let span = |s: &str| at(s)..at(s) + s.len();
        assert_eq!(
            entries(text).unwrap(),
            vec![Entry {
                name: "été".into(),
                locator: "/mcpServers/été".into(),
                transport: Transport::Stdio(Box::new(Launch {
                    command: Text {
                        span: span("npx"),
                        value: "npx".into()
                    },
                    args: Some(List {
                        span: at("- \"-y\"")..span("pkg").end,
                        items: vec![
                            Item {
                                start: at("- \"-y\""),
                                text: Text {
                                    span: span("\"-y\""),
                                    value: "-y".into()
                                }
                            },
                            Item {
                                start: at("- pkg"),
                                text: Text {
                                    span: span("pkg"),
                                    value: "pkg".into()
                                }
                            },
                        ],
                        layout: Layout::Dashes {
                            indent: "    ".into()
                        },
                    }),
                    args_slot: ArgsSlot {
                        at: at("\n    args:"),
                        lead: "\n    args: ".into()
                    },
                    env: vec![("K".into(), "v".into())],
                    env_names: vec![],
                    env_file: None,
                    cwd: None,
                })),
            }]
        );
    }
}
