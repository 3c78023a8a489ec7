//! The text edits that wrap and unwrap an entry: spans replaced, elements inserted, never a
//! re-serialised file; and the check that the result says what was meant.
//!
//! Owns: how a new value is written (one literal form valid in JSON, TOML and YAML), how
//! new list elements follow the list's own layout, and the wrapped form's reading
//! (`mcpguard run … -- <original argv>`).

use super::entry::{Entry, Launch, Layout, Transport};
use std::ops::Range;

/// Replace `range` of the text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) range: Range<usize>,
    pub(crate) text: String,
}

/// `text` with `edits` made (they must not overlap).
pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for edit in sorted {
        out.push_str(&text[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A string literal that JSON, TOML (a basic string) and YAML (double-quoted) all read as
/// `value`: JSON's escapes, with DEL escaped too (TOML and YAML refuse it raw).
pub(crate) fn literal(value: &str) -> String {
    // A String always serialises.
    let json = serde_json::to_string(value).unwrap_or_default();
    json.replace('\u{7f}', "\\u007f")
}

/// How the wrapped form reads: `mcpguard run [options] -- <original argv>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wrapped {
    /// The `--profile` value (`default` when none is given).
    pub(crate) profile: String,
    /// Index in `args` of the `--` that ends mcpguard's options.
    pub(crate) separator: usize,
    /// The server's own command and arguments, after `--`.
    pub(crate) original: Vec<String>,
}

/// Whether a program path names mcpguard.
pub(crate) fn is_mcpguard(command: &str) -> bool {
    std::path::Path::new(command)
        .file_name()
        .is_some_and(|n| n == "mcpguard")
}

/// The wrapped form of `launch`, when it is one.
pub(crate) fn wrapped(launch: &Launch) -> Option<Wrapped> {
    if !is_mcpguard(&launch.command.value) {
        return None;
    }
    let args = launch.args_values();
    if args.first().map(String::as_str) != Some("run") {
        return None;
    }
    let separator = args.iter().position(|a| a == "--")?;
    let options = &args[1..separator];
    let mut profile = "default".to_owned();
    let mut i = 0;
    while i < options.len() {
        if options[i] == "--profile" {
            if let Some(value) = options.get(i + 1) {
                profile.clone_from(value);
            }
            i += 1;
        } else if let Some(value) = options[i].strip_prefix("--profile=") {
            profile = value.to_owned();
        }
        i += 1;
    }
    Some(Wrapped {
        profile,
        separator,
        original: args[separator + 1..].to_vec(),
    })
}

/// The edits that wrap `launch`: its command becomes `mcpguard`, its arguments `options`
/// (mcpguard's, ending with `--`), then the original command, then the original arguments
/// as they were written.
pub(crate) fn wrap(text: &str, launch: &Launch, mcpguard: &str, options: &[String]) -> Vec<Edit> {
    let mut new_items: Vec<String> = options.iter().map(|o| literal(o)).collect();
    new_items.push(literal(&launch.command.value));
    let mut edits = vec![Edit {
        range: launch.command.span.clone(),
        text: literal(mcpguard),
    }];
    edits.push(match &launch.args {
        Some(list) => insert_items(text, list, 0, &new_items),
        None => Edit {
            range: launch.args_slot.at..launch.args_slot.at,
            text: format!("{}[{}]", launch.args_slot.lead, new_items.join(", ")),
        },
    });
    edits
}

/// The edit that puts `new_items` (literals) before element `before` of `list` (at its end
/// when there is no such element).
fn insert_items(
    text: &str,
    list: &super::entry::List,
    before: usize,
    new_items: &[String],
) -> Edit {
    match &list.layout {
        Layout::Dashes { indent } => {
            let newline = super::entry::line_ending(text);
            let at = list
                .items
                .get(before)
                .map_or(list.span.end, |item| item.start);
            let lines: Vec<String> = new_items.iter().map(|i| format!("- {i}")).collect();
            let joint = format!("{newline}{indent}");
            let text = if before < list.items.len() {
                format!("{}{joint}", lines.join(&joint))
            } else {
                format!("{joint}{}", lines.join(&joint))
            };
            Edit {
                range: at..at,
                text,
            }
        }
        Layout::Bracketed {
            open_end,
            separator,
        } => match list.items.get(before) {
            Some(item) => Edit {
                range: item.start..item.start,
                text: format!("{}{separator}", new_items.join(separator)),
            },
            None => match list.items.last() {
                Some(last) => Edit {
                    range: last.text.span.end..last.text.span.end,
                    text: format!("{separator}{}", new_items.join(separator)),
                },
                None => Edit {
                    range: *open_end..*open_end,
                    text: new_items.join(", "),
                },
            },
        },
    }
}

/// The edits that change a wrapped entry's profile to `profile` (none when it has it).
pub(crate) fn set_profile(text: &str, launch: &Launch, profile: &str) -> Vec<Edit> {
    let (Some(list), Some(wrapped)) = (&launch.args, wrapped(launch)) else {
        return Vec::new();
    };
    if wrapped.profile == profile {
        return Vec::new();
    }
    let options = &list.items[1..wrapped.separator];
    let mut last = None;
    for (i, item) in options.iter().enumerate() {
        if item.text.value == "--profile" {
            last = options
                .get(i + 1)
                .map(|v| (v.text.span.clone(), literal(profile)));
        } else if item.text.value.starts_with("--profile=") {
            last = Some((
                item.text.span.clone(),
                literal(&format!("--profile={profile}")),
            ));
        }
    }
    match last {
        Some((range, text)) => vec![Edit { range, text }],
        None => vec![insert_items(
            text,
            list,
            1,
            &[literal("--profile"), literal(profile)],
        )],
    }
}

/// The edits that unwrap `launch` from its own argv (the record of the original is gone or
/// does not match): the element after `--` becomes the command again, and mcpguard's
/// elements go. What the original file said beyond its argv (no `args` at all, another
/// spelling) cannot be known.
pub(crate) fn unwrap_from_argv(
    text: &str,
    launch: &Launch,
    wrapped: &Wrapped,
) -> Option<Vec<Edit>> {
    let list = launch.args.as_ref()?;
    let command = list.items.get(wrapped.separator + 1)?;
    let mut edits = vec![Edit {
        range: launch.command.span.clone(),
        text: text[command.text.span.clone()].to_owned(),
    }];
    match list.items.get(wrapped.separator + 2) {
        Some(first_kept) => edits.push(Edit {
            range: list.items[0].start..first_kept.start,
            text: String::new(),
        }),
        None => match &list.layout {
            Layout::Bracketed { open_end, .. } => edits.push(Edit {
                range: *open_end..list.span.end - 1,
                text: String::new(),
            }),
            Layout::Dashes { .. } => {
                // `args:` then dashes: the key keeps an empty flow list on its own line.
                let before = text[..list.span.start].trim_end();
                if !before.ends_with(':') {
                    return None;
                }
                edits.push(Edit {
                    range: before.len()..list.span.end,
                    text: " []".to_owned(),
                });
            }
        },
    }
    Some(edits)
}

/// What an entry means, without where it is: compared before and after an edit, so that an
/// edit changes exactly what it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meaning {
    pub(crate) name: String,
    pub(crate) locator: String,
    pub(crate) argv: Option<Vec<String>>,
    pub(crate) rest: String,
}

pub(crate) fn meaning(entry: &Entry) -> Meaning {
    let (argv, rest) = match &entry.transport {
        Transport::Stdio(launch) => (
            Some(launch.argv()),
            format!(
                "stdio env={:?} names={:?} file={:?} cwd={:?}",
                launch.env, launch.env_names, launch.env_file, launch.cwd
            ),
        ),
        Transport::Remote(url) => (None, format!("remote {url}")),
        Transport::Other(why) => (None, format!("other {why}")),
    };
    Meaning {
        name: entry.name.clone(),
        locator: entry.locator.clone(),
        argv,
        rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrap::json::{self, Dialect};
    use pretty_assertions::assert_eq;

    fn launch(text: &str) -> Launch {
        let entries = json::entries(text, Dialect::Commented, &[vec!["s".to_owned()]]).unwrap();
        match &entries[0].transport {
            Transport::Stdio(launch) => (**launch).clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_literal_reads_the_same_in_json_toml_and_yaml() {
        assert_eq!(literal("a\"b\\c\u{7f}\n"), "\"a\\\"b\\\\c\\u007f\\n\"");
    }

    #[test]
    fn the_wrapped_form_is_read_back() {
        let text = r#"{"s": {"x": {"command": "/opt/bin/mcpguard", "args": ["run", "--name", "x", "--profile=git", "--", "uvx", "srv", "--", "a"]}}}"#;
        assert_eq!(
            wrapped(&launch(text)),
            Some(Wrapped {
                profile: "git".into(),
                separator: 4,
                original: vec!["uvx".into(), "srv".into(), "--".into(), "a".into()],
            })
        );
        let plain =
            r#"{"s": {"x": {"command": "/opt/bin/mcpguard-helper", "args": ["run", "--"]}}}"#;
        assert_eq!(wrapped(&launch(plain)), None);
    }

    #[test]
    fn new_elements_follow_the_list_layout() {
        let one_line = r#"{"s": {"x": {"command": "srv", "args": ["a"]}}}"#;
        let many = "{\"s\": {\"x\": {\"command\": \"srv\", \"args\": [\n      \"a\"\n    ]}}}";
        let empty = r#"{"s": {"x": {"command": "srv", "args": []}}}"#;
        let absent = r#"{"s": {"x": {"command": "srv"}}}"#;
        let wrap_it = |text: &str| {
            apply(
                text,
                &wrap(text, &launch(text), "/g", &["run".into(), "--".into()]),
            )
        };
        assert_eq!(
            wrap_it(one_line),
            r#"{"s": {"x": {"command": "/g", "args": ["run", "--", "srv", "a"]}}}"#
        );
        assert_eq!(
            wrap_it(many),
            "{\"s\": {\"x\": {\"command\": \"/g\", \"args\": [\n      \"run\",\n      \"--\",\n      \"srv\",\n      \"a\"\n    ]}}}"
        );
        assert_eq!(
            wrap_it(empty),
            r#"{"s": {"x": {"command": "/g", "args": ["run", "--", "srv"]}}}"#
        );
        assert_eq!(
            wrap_it(absent),
            r#"{"s": {"x": {"command": "/g", "args": ["run", "--", "srv"]}}}"#
        );
    }
}
