//! The capabilities a client declares, as the key a server's tool set may depend on.
//!
//! Owns: reading them from `initialize` (legacy: `params.capabilities`) or from a modern
//! request's `_meta["io.modelcontextprotocol/clientCapabilities"]`, and reducing them to a
//! stable key of the capabilities a server's tools depend on: `sampling` and `elicitation`
//! with their parts (`elicitation.url`), and `roots`. Servers such as server-everything list
//! more tools to a client that can be sampled, elicited or asked for roots; the pins keep
//! one listing per key, so a fuller client is not taken for a server adding tools. Nothing
//! else counts (`experimental`, `tasks`, `roots.listChanged`): every new key is a kind of
//! client whose first listing is pinned on sight, so the key must not change with a flag
//! that gives a server no reason to list other tools.

use super::methods;
use serde_json::Value;

/// The key of the capabilities this request declares, if it declares any.
pub(crate) fn declared(method: &str, params: Option<&Value>) -> Option<String> {
    let params = params?;
    let capabilities = if method == methods::INITIALIZE {
        params.get("capabilities")
    } else {
        params
            .get("_meta")
            .and_then(|meta| meta.get("io.modelcontextprotocol/clientCapabilities"))
    }?;
    Some(key(capabilities))
}

/// The capabilities that shape a tool list, with their parts where those matter,
/// sorted and joined; `none` for none.
pub(crate) fn key(capabilities: &Value) -> String {
    let mut names = Vec::new();
    for name in ["elicitation", "roots", "sampling"] {
        let Some(value) = capabilities.get(name) else {
            continue;
        };
        match value
            .as_object()
            .filter(|sub| name != "roots" && !sub.is_empty())
        {
            Some(sub) => names.extend(sub.keys().map(|s| format!("{name}.{s}"))),
            None => names.push(name.to_owned()),
        }
    }
    names.sort();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn keys_name_capabilities_and_their_parts() {
        assert_eq!(key(&json!({})), "none");
        assert_eq!(
            key(
                &json!({"sampling": {}, "roots": {"listChanged": true}, "elicitation": {"form": {}, "url": {}}})
            ),
            "elicitation.form,elicitation.url,roots,sampling"
        );
        // Flags that give a server no reason to list other tools make no new kind.
        assert_eq!(
            key(&json!({"sampling": {}, "experimental": {"x": {}}, "tasks": {}})),
            "sampling"
        );
        let legacy = json!({"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}}});
        assert_eq!(
            declared("initialize", Some(&legacy)),
            Some("sampling".into())
        );
        let modern =
            json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": {"roots": {}}}});
        assert_eq!(declared("tools/list", Some(&modern)), Some("roots".into()));
        assert_eq!(declared("tools/list", Some(&json!({}))), None);
        assert_eq!(declared("initialize", None), None);
    }
}
