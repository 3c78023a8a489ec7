//! Keys that mean one thing to mcpguard and another to the server.
//!
//! Owns: listing the keys of a JSON object as written (repeats included), and finding keys
//! that would shadow a key mcpguard judges on in a lenient parser: the same key twice, or a
//! variant that case-insensitive or NUL-tolerant decoders (several Go JSON stacks) take for
//! the real one (`Method`, `name\u0000`, `ſ`/`K` look-alikes). mcpguard reads the exact key;
//! if the server would read another, the message is refused.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

struct KeyList(Vec<String>);

impl<'de> Visitor<'de> for KeyList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            self.0.push(key);
        }
        Ok(self.0)
    }
}

/// The keys of the object `text` holds, in order, repeats included.
pub(crate) fn keys_of(text: &str) -> Option<Vec<String>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.deserialize_map(KeyList(Vec::new())).ok()
}

/// A key folded the way lenient decoders compare keys.
fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '\u{0}')
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ſ' => 's',
            'ı' => 'i',
            other => other,
        })
        .collect()
}

/// The first key of `keys` that repeats or shadows one of `judged`, described.
pub(crate) fn shadowing<K: AsRef<str>>(keys: &[K], judged: &[&str]) -> Option<String> {
    for (i, key) in keys.iter().enumerate() {
        let key = key.as_ref();
        // A key written exactly as judged (nearly every key) can only repeat.
        if judged.contains(&key) {
            if keys[..i].iter().any(|earlier| earlier.as_ref() == key) {
                return Some(format!("key `{key}` appears twice"));
            }
            continue;
        }
        // Plain ASCII keys are compared without folding into a new string.
        let plain = key.is_ascii() && !key.contains('\u{0}');
        let folded = (!plain).then(|| fold(key));
        let Some(real) = judged.iter().find(|j| match &folded {
            None => j.len() == key.len() && j.eq_ignore_ascii_case(key),
            Some(folded) => *folded == fold(j),
        }) else {
            continue;
        };
        if key != *real {
            return Some(format!(
                "key {key:?} would be read as `{real}` by a lenient server"
            ));
        }
        if keys[..i].iter().any(|earlier| earlier.as_ref() == key) {
            return Some(format!("key `{key}` appears twice"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn finds_repeats_and_look_alikes() {
        let judged = ["name", "arguments"];
        let keys = |text: &str| keys_of(text).unwrap();
        assert_eq!(
            shadowing(&keys(r#"{"name":"a","arguments":{}}"#), &judged),
            None
        );
        assert!(
            shadowing(&keys(r#"{"name":"a","Name":"b"}"#), &judged)
                .unwrap()
                .contains("\"Name\"")
        );
        assert!(shadowing(&keys(r#"{"name":"a","name\u0000":"b"}"#), &judged).is_some());
        assert!(
            shadowing(
                &keys(r#"{"name":"a","arguments":{},"arguments":{"p":1}}"#),
                &judged
            )
            .unwrap()
            .contains("twice")
        );
        assert!(shadowing(&keys(r#"{"nameſ":"x"}"#), &["names"]).is_some());
        assert_eq!(shadowing(&keys(r#"{"other":1,"Other":2}"#), &judged), None);
        assert_eq!(keys_of("[1]"), None);
        // Judged keys in camelCase are folded too.
        let result = ["content", "structuredContent", "isError"];
        assert_eq!(
            shadowing(&keys(r#"{"content":[],"structuredContent":{}}"#), &result),
            None
        );
        assert!(
            shadowing(&keys(r#"{"content":[],"StructuredContent":{}}"#), &result)
                .unwrap()
                .contains("\"StructuredContent\"")
        );
        assert!(shadowing(&keys(r#"{"isError":false,"iserror":true}"#), &result).is_some());
        assert!(shadowing(&keys(r#"{"\u212aey":1}"#), &["key"]).is_some());
    }
}
