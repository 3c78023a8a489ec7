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
    /// Where the profile is written: the index in `args` of its value (`--profile P`) or
    /// of the whole option (`--profile=P`), and which form.
    pub(crate) profile_at: Option<(usize, bool)>,
    /// mcpguard's options, between `run` and `--`.
    pub(crate) options: Vec<String>,
    /// Index in `args` of the `--` that ends mcpguard's options.
    pub(crate) separator: usize,
    /// The server's own command and arguments, after `--`.
    pub(crate) original: Vec<String>,
}

/// The options of `mcpguard run` that take a value (a test holds this list against the
/// command line's definitions): their value is never the `--` that ends the options.
pub(crate) const VALUED_OPTIONS: [&str; 15] = [
    "--name",
    "--profile",
    "--workspace",
    "--allow-read",
    "--allow-write",
    "--net",
    "--allow-host",
    "--secret",
    "--env",
    "--require",
    "--max-message",
    "--call-timeout",
    "--shutdown-grace",
    "--audit-payloads",
    "--log-dir",
];

/// `flag value` as two elements, or `flag=value` when the value starts with `-` (it would
/// otherwise read as an option of its own).
pub(crate) fn option(flag: &str, value: &str) -> Vec<String> {
    if value.starts_with('-') {
        vec![format!("{flag}={value}")]
    } else {
        vec![flag.to_owned(), value.to_owned()]
    }
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
    let mut profile = "default".to_owned();
    let mut profile_at = None;
    let mut i = 1;
    let separator = loop {
        let arg = args.get(i)?;
        if arg == "--" {
            break i;
        }
        if arg == "--profile" {
            let value = args.get(i + 1)?;
            profile.clone_from(value);
            profile_at = Some((i + 1, false));
        } else if let Some(value) = arg.strip_prefix("--profile=") {
            profile = value.to_owned();
            profile_at = Some((i, true));
        }
        // An option's value is skipped whatever it says, `--` included.
        i += if VALUED_OPTIONS.contains(&arg.as_str()) {
            2
        } else {
            1
        };
    };
    Some(Wrapped {
        profile,
        profile_at,
        options: args[1..separator].to_vec(),
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

/// The edit that replaces mcpguard's options of a wrapped entry (between `run` and `--`)
/// with `options`, and the argv the entry then has.
pub(crate) fn set_options(
    text: &str,
    launch: &Launch,
    wrapped: &Wrapped,
    options: &[String],
) -> Option<(Edit, Vec<String>)> {
    let list = launch.args.as_ref()?;
    let literals: Vec<String> = options.iter().map(|o| literal(o)).collect();
    let edit = replace_items(text, list, 1, wrapped.separator, &literals);
    let argv = std::iter::once(launch.command.value.clone())
        .chain(std::iter::once("run".to_owned()))
        .chain(options.iter().cloned())
        .chain(launch.args_values().into_iter().skip(wrapped.separator))
        .collect();
    Some((edit, argv))
}

/// The edit that changes only a wrapped entry's profile, and the argv the entry then has.
pub(crate) fn set_profile(
    text: &str,
    launch: &Launch,
    wrapped: &Wrapped,
    profile: &str,
) -> Option<(Edit, Vec<String>)> {
    let list = launch.args.as_ref()?;
    let mut args = launch.args_values();
    let edit = match wrapped.profile_at {
        Some((at, equals_form)) => {
            let value = if equals_form {
                format!("--profile={profile}")
            } else {
                profile.to_owned()
            };
            let edit = Edit {
                range: list.items[at].text.span.clone(),
                text: literal(&value),
            };
            args[at] = value;
            edit
        }
        None => {
            let added = option("--profile", profile);
            let literals: Vec<String> = added.iter().map(|o| literal(o)).collect();
            let edit = replace_items(text, list, 1, 1, &literals);
            args.splice(1..1, added);
            edit
        }
    };
    let argv = std::iter::once(launch.command.value.clone())
        .chain(args)
        .collect();
    Some((edit, argv))
}

/// The edit that puts `new_items` (literals) in place of elements `from..to` of `list`
/// (element `to` must exist: it keeps its place after them).
fn replace_items(
    text: &str,
    list: &super::entry::List,
    from: usize,
    to: usize,
    new_items: &[String],
) -> Edit {
    let start = list.items[from].start;
    let end = list.items[to].start;
    let (lines, joint): (Vec<String>, String) = match &list.layout {
        Layout::Dashes { indent } => (
            new_items.iter().map(|i| format!("- {i}")).collect(),
            format!("{}{indent}", super::entry::line_ending(text)),
        ),
        Layout::Bracketed { separator, .. } => (new_items.to_vec(), separator.clone()),
    };
    let text = if lines.is_empty() {
        String::new()
    } else {
        format!("{}{joint}", lines.join(&joint))
    };
    Edit {
        range: start..end,
        text,
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
            Layout::Bracketed { open_end, .. } => {
                // The list's own `]` (a YAML flow list's span may run on past it).
                let close = text[..list.span.end].rfind(']')?;
                edits.push(Edit {
                    range: *open_end..close,
                    text: String::new(),
                });
            }
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
        let text = r#"{"s": {"x": {"command": "/opt/bin/mcpguard", "args": ["run", "--name", "--", "--profile=git", "--", "uvx", "srv", "--", "a"]}}}"#;
        assert_eq!(
            wrapped(&launch(text)),
            Some(Wrapped {
                profile: "git".into(),
                profile_at: Some((3, true)),
                options: vec!["--name".into(), "--".into(), "--profile=git".into()],
                separator: 4,
                original: vec!["uvx".into(), "srv".into(), "--".into(), "a".into()],
            })
        );
        let plain =
            r#"{"s": {"x": {"command": "/opt/bin/mcpguard-helper", "args": ["run", "--"]}}}"#;
        assert_eq!(wrapped(&launch(plain)), None);
        // `--profile` takes `--` as its value: no end of options, so not the wrapped form.
        let open = r#"{"s": {"x": {"command": "/opt/bin/mcpguard", "args": ["run", "--profile", "--", "srv"]}}}"#;
        assert_eq!(wrapped(&launch(open)), None);
    }

    #[test]
    fn a_value_that_reads_as_an_option_is_joined_to_its_flag() {
        assert_eq!(option("--name", "-x"), vec!["--name=-x".to_owned()]);
        assert_eq!(
            option("--name", "x"),
            vec!["--name".to_owned(), "x".to_owned()]
        );
    }

    #[test]
    fn the_profile_changes_where_it_is_written_and_nowhere_else() {
        let cases = [
            (
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--profile", "a", "--", "srv"]}}}"#,
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--profile", "b", "--", "srv"]}}}"#,
            ),
            (
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--profile=a", "--", "srv"]}}}"#,
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--profile=b", "--", "srv"]}}}"#,
            ),
            (
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--", "srv"]}}}"#,
                r#"{"s": {"x": {"command": "/g/mcpguard", "args": ["run", "--profile", "b", "--", "srv"]}}}"#,
            ),
        ];
        for (before, after) in cases {
            let entry = launch(before);
            let form = wrapped(&entry).unwrap();
            let (edit, argv) = set_profile(before, &entry, &form, "b").unwrap();
            assert_eq!(apply(before, &[edit]), after);
            assert_eq!(argv, launch(after).argv());
        }
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
