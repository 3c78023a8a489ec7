//! Reading the content of a message (`params`, `result`) in full, or saying why it cannot be.
//!
//! Owns: the one strict parse that every stage judging content goes through. The envelope
//! parse (`message`) skips over values without decoding them, so it accepts text a full
//! parse refuses: a string with a lone surrogate escape (`"\ud800"`), nesting deeper than
//! serde_json's recursion limit. A stage that fell back to "nothing to judge" on such text
//! would forward what it never saw; so the callers turn an `Unreadable` into a refusal, never
//! into a skipped stage. Numbers of any size and precision are read as written
//! (serde_json's `arbitrary_precision`), so `1e400` is a number here as it is to the server.

use serde_json::Value;

/// Why content could not be read in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreadable(String);

/// Parses `raw` (a JSON value already accepted by the envelope parse) in full.
pub(crate) fn read(raw: &str) -> Result<Value, Unreadable> {
    serde_json::from_str(raw).map_err(|e| Unreadable(describe(&e)))
}

/// What went wrong, in words a user can act on (serde_json's own text names a column in a
/// line nobody sees).
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let what = if text.contains("recursion limit") {
        "it is nested deeper than 128 levels"
    } else if text.contains("surrogate") || text.contains("escape") {
        "it holds a string escape that is not a valid Unicode character (a lone surrogate)"
    } else {
        "it is not JSON mcpguard can read in full"
    };
    format!("{what} ({text})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn numbers_of_any_size_are_read_as_written() {
        let value =
            read(r#"{"opts":1e400,"big":123456789012345678901234567890,"neg":-0}"#).unwrap();
        // The same numbers, written back without loss (the exponent gains its sign).
        assert_eq!(
            value.to_string(),
            r#"{"big":123456789012345678901234567890,"neg":-0,"opts":1e+400}"#
        );
    }

    #[test]
    fn lone_surrogates_and_deep_nesting_are_unreadable() {
        let lone = read(r#"{"path":"/etc/passwd\ud800"}"#).unwrap_err();
        assert!(lone.0.starts_with("it holds a string escape"), "{lone}");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep = read(&deep).unwrap_err();
        assert!(deep.0.starts_with("it is nested deeper"), "{deep}");
        // A surrogate pair is one valid character.
        assert_eq!(
            read(r#""\ud83d\ude00""#).unwrap(),
            Value::String("😀".into())
        );
    }
}
