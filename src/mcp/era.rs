//! Which MCP protocol era a client speaks, learned from its messages.
//!
//! Legacy (≤ 2025-11-25) starts with `initialize`; modern (2026-07-28) sends `server/discover`
//! or carries `io.modelcontextprotocol/protocolVersion` in each request's `_meta`. A dual-era
//! client probes with `server/discover` and falls back to `initialize` when a legacy server
//! answers -32601, so the era is decided by the last of these signals, not the first.

use super::methods;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    Unknown,
    Legacy,
    Modern,
}

/// Where a modern request names its protocol version, under `params._meta`.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// The era a request tells of, if it tells one, from its params as already read in full
/// (a second parse of every request's params cost as much as the first).
pub(crate) fn era_of_request(method: &str, params: Option<&Value>) -> Option<Era> {
    if method == methods::INITIALIZE {
        return Some(Era::Legacy);
    }
    if method == methods::SERVER_DISCOVER {
        return Some(Era::Modern);
    }
    params?
        .get("_meta")?
        .get(PROTOCOL_VERSION_META)?
        .is_string()
        .then_some(Era::Modern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn raw(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn tells_the_era_from_method_or_meta() {
        assert_eq!(era_of_request("initialize", None), Some(Era::Legacy));
        assert_eq!(era_of_request("server/discover", None), Some(Era::Modern));
        let modern =
            raw(r#"{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#);
        assert_eq!(
            era_of_request("tools/call", Some(&modern)),
            Some(Era::Modern)
        );
        let legacy = raw(r#"{"name":"x","_meta":{"progressToken":1}}"#);
        assert_eq!(era_of_request("tools/call", Some(&legacy)), None);
        assert_eq!(era_of_request("tools/list", None), None);
        // Only a version that is a string tells; params that are not an object tell nothing.
        let odd = raw(r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}"#);
        assert_eq!(era_of_request("tools/call", Some(&odd)), None);
        assert_eq!(era_of_request("tools/call", Some(&raw("[1,2]"))), None);
    }
}
