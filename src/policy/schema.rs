//! Stage: the call's arguments against the tool's own `inputSchema`.
//!
//! Owns: compiling each tool's schema once per session (keyed by tool and the schema's
//! hash, so a changed schema is compiled again), with no remote `$ref` (the validator is
//! built without network or file resolution), and describing the first violations in
//! words. A schema that does not compile is itself a reason to deny: the call cannot be
//! checked.

use crate::audit::chain::sha256_hex;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct SchemaCache {
    compiled: HashMap<(String, String), Result<jsonschema::Validator, String>>,
}

impl SchemaCache {
    /// A description of what is wrong with `arguments`, or None when they fit the schema.
    pub(crate) fn check(
        &mut self,
        tool: &str,
        schema: &Value,
        arguments: Option<&Value>,
    ) -> Option<String> {
        if schema.is_null() {
            return None;
        }
        let key = (tool.to_owned(), sha256_hex(schema.to_string().as_bytes()));
        let validator = self
            .compiled
            .entry(key)
            .or_insert_with(|| jsonschema::validator_for(schema).map_err(|e| e.to_string()));
        let validator = match validator {
            Ok(v) => v,
            Err(e) => {
                return Some(format!(
                    "the tool's inputSchema does not compile ({e}), so the call cannot be checked"
                ));
            }
        };
        let empty = Value::Object(Default::default());
        let instance = arguments.unwrap_or(&empty);
        let problems: Vec<String> = validator
            .iter_errors(instance)
            .take(3)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        (!problems.is_empty()).then(|| {
            format!(
                "the arguments do not match the tool's inputSchema: {}",
                problems.join("; ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_against_2020_12_and_draft_07() {
        let mut cache = SchemaCache::default();
        let schema = json!({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
            "properties":{"n":{"type":"integer","minimum":1}},"required":["n"],"additionalProperties":false});
        assert_eq!(cache.check("t", &schema, Some(&json!({"n": 2}))), None);
        let problem = cache
            .check("t", &schema, Some(&json!({"n": 0, "x": 1})))
            .unwrap();
        assert!(
            problem.contains("/n: 0 is less than the minimum of 1")
                && problem.contains("Additional properties"),
            "{problem}"
        );
        let draft7 = json!({"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["a"]});
        assert!(
            cache
                .check("u", &draft7, Some(&json!({})))
                .unwrap()
                .contains("\"a\" is a required property")
        );
        let remote = json!({"$ref": "https://example.com/schema.json"});
        assert!(
            cache
                .check("r", &remote, Some(&json!({})))
                .unwrap()
                .contains("cannot be checked")
        );
    }
}
