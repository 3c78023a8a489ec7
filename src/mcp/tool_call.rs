//! The parts of a `tools/call` request and of progress notifications that the relay reads.
//!
//! Owns: the tool name and the progress token of a call (the token lets progress keep a
//! long call from timing out), the token of a `notifications/progress`, and whether a
//! call's result says `isError`. Arguments stay raw.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What the relay keeps of a `tools/call`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ToolCall {
    pub(crate) name: Option<String>,
    /// The progress token as JSON text (tokens are strings or numbers).
    pub(crate) progress_token: Option<String>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<ProgressMeta<'a>>,
}

#[derive(Deserialize)]
struct ProgressMeta<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ProgressParams<'a> {
    #[serde(rename = "progressToken", borrow)]
    progress_token: &'a RawValue,
}

/// Reads a `tools/call`'s params; malformed params give an empty view (the server judges them).
pub(crate) fn read_tool_call(params: Option<&RawValue>) -> ToolCall {
    let Some(params) = params else {
        return ToolCall::default();
    };
    match serde_json::from_str::<CallParams<'_>>(params.get()) {
        Ok(p) => ToolCall {
            name: p.name.map(|n| n.into_owned()),
            progress_token: p
                .meta
                .and_then(|m| m.progress_token)
                .map(|t| t.get().trim().to_owned()),
        },
        Err(_) => ToolCall::default(),
    }
}

/// The progress token of a `notifications/progress`, as JSON text.
pub(crate) fn progress_token(params: Option<&RawValue>) -> Option<String> {
    let params = params?;
    serde_json::from_str::<ProgressParams<'_>>(params.get())
        .ok()
        .map(|p| p.progress_token.get().trim().to_owned())
}

/// Whether a tools/call result says `isError: true` (a cheap look first: most do not; a
/// key written with escapes, `"is\u0045rror"`, is read by the parse, and a key written
/// twice counts as its last copy, as clients read it).
pub(crate) fn result_is_error(raw: &str) -> bool {
    (raw.contains("\"isError\"") || raw.contains("\\u"))
        && serde_json::from_str::<serde_json::Value>(raw)
            .is_ok_and(|v| v.get("isError") == Some(&serde_json::Value::Bool(true)))
}

/// The `requestState` of a 2026-07-28 `input_required` answer (the server asks the client
/// something before it completes the call); None for any other result.
pub(crate) fn input_request_state(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "resultType", borrow, default)]
        result_type: Option<std::borrow::Cow<'a, str>>,
        #[serde(rename = "requestState", default)]
        request_state: Option<String>,
    }
    if !raw.contains("resultType") {
        return None;
    }
    serde_json::from_str::<Kind<'_>>(raw)
        .ok()
        .filter(|k| k.result_type.as_deref() == Some("input_required"))
        .map(|k| k.request_state.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn reads_name_and_progress_token() {
        let params = RawValue::from_string(
            r#"{"name":"echo","arguments":{"a":1},"_meta":{"progressToken":"p1"}}"#.into(),
        )
        .unwrap();
        assert_eq!(
            read_tool_call(Some(&params)),
            ToolCall {
                name: Some("echo".into()),
                progress_token: Some("\"p1\"".into())
            }
        );
        let bad = RawValue::from_string("[1]".into()).unwrap();
        assert_eq!(read_tool_call(Some(&bad)), ToolCall::default());
        let progress = RawValue::from_string(r#"{"progressToken":3,"progress":1}"#.into()).unwrap();
        assert_eq!(progress_token(Some(&progress)), Some("3".into()));
    }
}
