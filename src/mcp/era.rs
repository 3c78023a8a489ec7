//! Which MCP protocol era a client speaks, learned from its messages.
//!
//! Legacy (≤ 2025-11-25) starts with `initialize`; modern (2026-07-28) sends `server/discover`
//! or carries `io.modelcontextprotocol/protocolVersion` in each request's `_meta`. A dual-era
//! client probes with `server/discover` and falls back to `initialize` when a legacy server
//! answers -32601, so the era is decided by the last of these signals, not the first.

use super::methods;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    Unknown,
    Legacy,
    Modern,
}

#[derive(Deserialize)]
struct ParamsMeta<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaVersion<'a>>,
}

#[derive(Deserialize)]
struct MetaVersion<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<std::borrow::Cow<'a, str>>,
}

/// The era a request tells of, if it tells one.
pub(crate) fn era_of_request(method: &str, params: Option<&RawValue>) -> Option<Era> {
    if method == methods::INITIALIZE {
        return Some(Era::Legacy);
    }
    if method == methods::SERVER_DISCOVER {
        return Some(Era::Modern);
    }
    let params = params?;
    let parsed: ParamsMeta<'_> = serde_json::from_str(params.get()).ok()?;
    parsed.meta?.protocol_version.map(|_| Era::Modern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.into()).unwrap()
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
    }
}
