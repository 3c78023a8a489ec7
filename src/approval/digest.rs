//! The identity of one exact call: its tool and arguments, digested.
//!
//! Owns: the canonical text of a call (keys sorted at every level, numbers as written) and
//! its SHA-256. An approval is for a digest, so approving `write_file {path: a}` says
//! nothing about `{path: b}`, and the same arguments sent with their keys in another
//! order are the same call.

use serde_json::Value;

/// The SHA-256 (hex) of a call's canonical text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CallDigest(pub(crate) String);

impl CallDigest {
    /// The digest of `tool` called with `arguments` (absent arguments are `{}`, as the
    /// SDKs read them).
    pub(crate) fn of(tool: &str, arguments: Option<&Value>) -> CallDigest {
        let mut text = String::new();
        canonical(&Value::String(tool.to_owned()), &mut text);
        text.push('\n');
        match arguments {
            Some(arguments) => canonical(arguments, &mut text),
            None => text.push_str("{}"),
        }
        CallDigest(crate::audit::chain::sha256_hex(text.as_bytes()))
    }
}

impl std::fmt::Display for CallDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` as text with object keys sorted (numbers as written).
pub(crate) fn canonical_text(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    text
}

/// Writes `value` with object keys sorted, whatever order the map keeps them in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(item) = map.get(key) {
                    canonical(item, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter_and_values_do() {
        let a = CallDigest::of(
            "write_file",
            Some(&json!({"path": "a", "content": {"x": 1, "y": [1, 2]}})),
        );
        let reordered: Value =
            serde_json::from_str(r#"{"content":{"y":[1,2],"x":1},"path":"a"}"#).unwrap();
        assert_eq!(a, CallDigest::of("write_file", Some(&reordered)));
        let other_path = CallDigest::of(
            "write_file",
            Some(&json!({"path": "b", "content": {"x": 1, "y": [1, 2]}})),
        );
        let other_tool = CallDigest::of(
            "read_file",
            Some(&json!({"path": "a", "content": {"x": 1, "y": [1, 2]}})),
        );
        assert!(a != other_path && a != other_tool && other_path != other_tool);
        assert_eq!(
            CallDigest::of("t", None),
            CallDigest::of("t", Some(&json!({})))
        );
        assert_eq!(a.0.len(), 64);
    }

    #[test]
    fn a_tool_name_cannot_absorb_the_arguments() {
        // The name is written as a JSON string, so no name can spell another call's text.
        let tricky = CallDigest::of("t\n{}", None);
        assert!(tricky != CallDigest::of("t", Some(&json!({}))));
    }
}
