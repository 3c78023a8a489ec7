//! The tools a server listed in this session.
//!
//! Owns: learning each tool's `inputSchema` and `annotations` from `tools/list` answers, the
//! first time a name is seen (later lists may add tools; a changed definition does not
//! replace what policy relies on, so flipping `destructiveHint` mid-session gains nothing),
//! and whether any list was seen at all.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolEntry {
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Value,
    pub(crate) annotations: Value,
}

impl ToolEntry {
    /// Marked read-only, or explicitly non-destructive. Absent annotations mean neither.
    pub(crate) fn is_harmless(&self) -> bool {
        self.annotations.get("readOnlyHint") == Some(&Value::Bool(true))
            || self.annotations.get("destructiveHint") == Some(&Value::Bool(false))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    tools: HashMap<String, ToolEntry>,
    seen_list: bool,
}

#[derive(Deserialize)]
struct ListResult {
    tools: Vec<ToolView>,
}

#[derive(Deserialize)]
struct ToolView {
    name: String,
    #[serde(rename = "inputSchema", default)]
    input_schema: Value,
    #[serde(rename = "outputSchema", default)]
    output_schema: Value,
    #[serde(default)]
    annotations: Value,
}

impl Catalog {
    /// Learns from a `tools/list` result; an error, and nothing learnt, when it is not a
    /// list of tools each with a name (what cannot be learnt must not be relayed).
    pub(crate) fn learn(&mut self, result: &Value) -> Result<(), String> {
        let list = ListResult::deserialize(result).map_err(|e| e.to_string())?;
        self.seen_list = true;
        for tool in list.tools {
            self.tools.entry(tool.name).or_insert(ToolEntry {
                input_schema: tool.input_schema,
                output_schema: tool.output_schema,
                annotations: tool.annotations,
            });
        }
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    pub(crate) fn seen_list(&self) -> bool {
        self.seen_list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn first_definition_wins() {
        let mut catalog = Catalog::default();
        assert!(!catalog.seen_list());
        catalog
            .learn(&json!({"tools":[{"name":"rm","inputSchema":{"type":"object"},"annotations":{"destructiveHint":true}}]}))
            .unwrap();
        catalog
            .learn(&json!({"tools":[{"name":"rm","inputSchema":{},"annotations":{"destructiveHint":false}},{"name":"ls"}]}))
            .unwrap();
        assert!(catalog.seen_list());
        assert_eq!(
            catalog.get("rm").unwrap().annotations,
            json!({"destructiveHint": true})
        );
        assert!(!catalog.get("rm").unwrap().is_harmless());
        assert!(!catalog.get("ls").unwrap().is_harmless());
    }

    #[test]
    fn a_list_of_another_shape_teaches_nothing() {
        let mut catalog = Catalog::default();
        for bad in [
            json!({}),
            json!({"tools": {"name": "rm"}}),
            json!({"tools": [{"name": 5}]}),
            json!({"tools": [{"description": "no name"}]}),
        ] {
            assert!(catalog.learn(&bad).is_err(), "{bad}");
        }
        assert!(!catalog.seen_list());
        assert_eq!(catalog.get("rm"), None);
    }
}
