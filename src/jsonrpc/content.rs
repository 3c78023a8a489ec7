//! Reading the content of a message (`params`, `result`) in full, or saying why it cannot be.
//!
//! Owns: the one strict parse that every stage judging content goes through. The envelope
//! parse (`message`) skips over values without decoding them, so it accepts text a full
//! parse refuses: a string with a lone surrogate escape (`"\ud800"`), nesting deeper than
//! serde_json's recursion limit. A stage that fell back to "nothing to judge" on such text
//! would forward what it never saw; so the callers turn an `Unreadable` into a refusal, never
//! into a skipped stage. Numbers of any size and precision are read as written
//! (serde_json's `arbitrary_precision`), so `1e400` is a number here as it is to the server.
//!
//! Two lighter forms refuse exactly what `read` refuses but keep less, so that a large message
//! no stage judges is not held twice (its line and a copy of every string in it): `check`
//! keeps nothing, and `outline` keeps only the object's small members.

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// Why content could not be read in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreadable(String);

/// Parses `raw` (a JSON value already accepted by the envelope parse) in full.
pub(crate) fn read(raw: &str) -> Result<Value, Unreadable> {
    serde_json::from_str(raw).map_err(|e| Unreadable(describe(&e)))
}

/// Refuses exactly what [`read`] refuses, without building the value: every string is
/// decoded (escapes included) and every number read, then dropped.
pub(crate) fn check(raw: &str) -> Result<(), Unreadable> {
    // serde_json gives two key names a meaning of their own when a `Value` is built (a number
    // or raw JSON written as a string), and refuses such an object when that string is not
    // one. Text holding either name is read in full, so that both forms refuse alike.
    if memchr::memmem::find(raw.as_bytes(), SERDE_PRIVATE_KEYS.as_bytes()).is_some() {
        return read(raw).map(drop);
    }
    serde_json::from_str::<Checked>(raw)
        .map(drop)
        .map_err(|e| Unreadable(describe(&e)))
}

/// What serde_json's two key names of its own begin with.
const SERDE_PRIVATE_KEYS: &str = "$serde_json::private::";

/// Members larger than this (as written) are left out of an [`outline`].
pub(crate) const OUTLINE_MEMBER_LIMIT: usize = 64 * 1024;

/// Refuses exactly what [`read`] refuses, and returns the object with only its members of at
/// most [`OUTLINE_MEMBER_LIMIT`] bytes as written; larger members are checked and left out
/// (a repeated key whose last value is large is left out too, as `read` keeps the last). Text
/// that is not an object is read in full. For stages that look up small members (`_meta`,
/// `clientInfo`) of a message they do not judge; never for one they judge, where a member
/// left out would go unseen.
pub(crate) fn outline(raw: &str) -> Result<Value, Unreadable> {
    outline_within(raw, OUTLINE_MEMBER_LIMIT)
}

/// [`outline`] with another member limit (the fuzz target's inputs are smaller than the real one).
pub(crate) fn outline_within(raw: &str, member_limit: usize) -> Result<Value, Unreadable> {
    check(raw)?;
    let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(raw) else {
        return read(raw);
    };
    let mut kept = serde_json::Map::new();
    for (key, member) in members {
        if member.get().len() <= member_limit {
            kept.insert(key, read(member.get())?);
        } else {
            kept.remove(&key);
        }
    }
    Ok(Value::Object(kept))
}

/// A JSON value read as strictly as a `Value` is, and not kept.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// An object's members in order: each key decoded, each value borrowed as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
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

    /// Texts `read` takes and texts it refuses, each class as the lighter forms must see it.
    fn samples() -> Vec<(String, bool)> {
        let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        vec![
            (r#"{"path":"/etc/passwd\ud800"}"#.into(), false),
            (r#"{"\udc00":1}"#.into(), false),
            (r#"["\ud83d\ude00", 1e400, -0, "\n\u0041"]"#.into(), true),
            (nested(100), true),
            (nested(200), false),
            (format!(r#"{{"a":{}}}"#, nested(127)), false),
            // serde_json's own key names: refused unless the string is what they announce.
            (r#"{"$serde_json::private::Number":"12"}"#.into(), true),
            (r#"{"$serde_json::private::Number":"twelve"}"#.into(), false),
            (r#"{"$serde_json::private::RawValue":"[1,"}"#.into(), false),
            ("[1,]".into(), false),
        ]
    }

    #[test]
    fn check_and_outline_refuse_exactly_what_read_refuses() {
        for (text, readable) in samples() {
            assert_eq!(read(&text).is_ok(), readable, "read: {text}");
            assert_eq!(check(&text).is_ok(), readable, "check: {text}");
            assert_eq!(
                outline_within(&text, 4).is_ok(),
                readable,
                "outline: {text}"
            );
        }
        // A refusal names the same cause in each form.
        let lone = r#"{"big":"0123456789","p":"\ud800"}"#;
        assert_eq!(check(lone), read(lone).map(drop));
        assert_eq!(
            outline_within(lone, 4).unwrap_err(),
            read(lone).unwrap_err()
        );
    }

    #[test]
    fn an_outline_keeps_the_small_members_as_read_and_checks_the_large_ones() {
        let text = r#"{"_meta":{"v":"2026"},"blob":"0123456789abcdef","k":"first","k":"0123456789abcdef","n":[1]}"#;
        assert_eq!(
            outline_within(text, 14).unwrap(),
            serde_json::json!({"_meta": {"v": "2026"}, "n": [1]})
        );
        // The last of a repeated key is the one kept, as `read` keeps it.
        let repeated = r#"{"k":"0123456789abcdef","k":"last"}"#;
        assert_eq!(
            outline_within(repeated, 8).unwrap(),
            serde_json::json!({"k": "last"})
        );
        // Within the limit, the outline is the whole.
        assert_eq!(outline_within(text, 1 << 10).unwrap(), read(text).unwrap());
        // What is not an object is read in full.
        assert_eq!(
            outline_within("[1,2]", 1).unwrap(),
            serde_json::json!([1, 2])
        );
        let hidden = r#"{"_meta":{},"blob":["0123456789abcdef","\ud800"]}"#;
        assert!(outline_within(hidden, 14).is_err());
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
