//! Replies that mcpguard itself writes, as JSON-RPC lines.
//!
//! Owns: the error codes mcpguard uses (contract: -31000..-31999, outside the range JSON-RPC
//! and MCP reserve) with their stable dotted `data.code` names, and the notifications it sends
//! on its own (`notifications/cancelled` on a timeout).

use super::message::RequestId;
use bytes::Bytes;

/// Why mcpguard answered a request itself. The numeric code and the dotted name are a
/// contract: clients and log pipelines key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// The request was not valid JSON or not JSON-RPC 2.0.
    Malformed,
    /// The message was longer than the configured cap.
    MessageTooLarge,
    /// The message was not valid UTF-8.
    InvalidUtf8,
    /// The server did not answer a `tools/call` in time.
    Timeout,
    /// The server exited before answering.
    ServerExited,
    /// The server answered, but its answer could not be relayed (oversize, not JSON).
    ResponseUnreadable,
    /// Too many tool calls for the profile's rate limit.
    RateLimited,
    /// A request's params could not be read in full, so they could not be judged.
    Unreadable,
    /// The audit trail cannot be written, and the profile refuses what it cannot record.
    AuditUnavailable,
    /// The session did not start: the command line or the profile is wrong.
    Config,
    /// The session did not start: the server's command was not found.
    NotFound,
    /// The session did not start: the server's command is not executable.
    NotExecutable,
    /// The session did not start: a required sandbox layer is not available here, or the
    /// sandbox could not be set up.
    SandboxUnavailable,
    /// The session did not start: mcpguard itself failed (state directory, pipes, ...).
    Internal,
}

impl ErrorCode {
    pub(crate) fn number(self) -> i64 {
        match self {
            ErrorCode::Malformed => -31001,
            ErrorCode::MessageTooLarge => -31002,
            ErrorCode::InvalidUtf8 => -31003,
            ErrorCode::Timeout => -31004,
            ErrorCode::ServerExited => -31005,
            ErrorCode::ResponseUnreadable => -31006,
            ErrorCode::RateLimited => -31007,
            ErrorCode::Unreadable => -31008,
            ErrorCode::AuditUnavailable => -31009,
            ErrorCode::Config => -31010,
            ErrorCode::NotFound => -31011,
            ErrorCode::NotExecutable => -31012,
            ErrorCode::SandboxUnavailable => -31013,
            ErrorCode::Internal => -31014,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "mcpguard.malformed",
            ErrorCode::MessageTooLarge => "mcpguard.message_too_large",
            ErrorCode::InvalidUtf8 => "mcpguard.invalid_utf8",
            ErrorCode::Timeout => "mcpguard.timeout",
            ErrorCode::ServerExited => "mcpguard.server_exited",
            ErrorCode::ResponseUnreadable => "mcpguard.response_unreadable",
            ErrorCode::RateLimited => "mcpguard.rate_limited",
            ErrorCode::Unreadable => "mcpguard.unreadable",
            ErrorCode::AuditUnavailable => "mcpguard.audit_unavailable",
            ErrorCode::Config => "mcpguard.config",
            ErrorCode::NotFound => "mcpguard.not_found",
            ErrorCode::NotExecutable => "mcpguard.not_executable",
            ErrorCode::SandboxUnavailable => "mcpguard.sandbox_unavailable",
            ErrorCode::Internal => "mcpguard.internal",
        }
    }
}

/// A JSON-RPC error line for `id` (or `null` when the id could not be read). Keys are
/// written in the conventional order (`jsonrpc`, `id`, `error`) for people reading logs.
pub(crate) fn error_line(id: Option<&RequestId>, code: ErrorCode, message: &str) -> Bytes {
    let id = id.map_or_else(|| "null".to_owned(), RequestId::to_json);
    let message = serde_json::Value::String(format!("mcpguard: {message}"));
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{},\"message\":{message},\"data\":{{\"code\":\"{}\"}}}}}}\n",
        code.number(),
        code.name()
    );
    Bytes::from(line)
}

/// A result line for `id` carrying `result` (mcpguard's rewrite of a server's answer).
pub(crate) fn result_line(id: &RequestId, result: &impl std::fmt::Display) -> Bytes {
    Bytes::from(format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{result}}}\n",
        id.to_json()
    ))
}

/// A blocked `tools/call`, answered as a tool result the model can read (contract):
/// `isError: true`, the reason as text, and the decision in `_meta`. Modern-era clients get
/// `resultType: "complete"` as every modern result carries.
pub(crate) fn denial_line(
    id: &RequestId,
    code: &str,
    rule: &str,
    reason: &str,
    modern: bool,
) -> Bytes {
    let text = serde_json::Value::String(format!("mcpguard: blocked: {reason}"));
    let code = serde_json::Value::String(code.to_owned());
    let rule = serde_json::Value::String(rule.to_owned());
    let result_type = if modern {
        ",\"resultType\":\"complete\""
    } else {
        ""
    };
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":{text}}}],\"isError\":true{result_type},\"_meta\":{{\"dev.mcpguard/decision\":{{\"code\":{code},\"rule\":{rule}}}}}}}}}\n",
        id.to_json()
    );
    Bytes::from(line)
}

/// `notifications/cancelled` for a request the server did not answer in time.
pub(crate) fn cancelled_line(id: &RequestId, reason: &str) -> Bytes {
    let reason = serde_json::Value::String(reason.to_owned());
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{{\"requestId\":{},\"reason\":{reason}}}}}\n",
        id.to_json()
    );
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn error_line_keeps_id_type_and_names_the_code() {
        let line = error_line(
            Some(&RequestId::String("7".into())),
            ErrorCode::Timeout,
            "late",
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&line).unwrap(),
            json!({"jsonrpc":"2.0","id":"7","error":{"code":-31004,"message":"mcpguard: late","data":{"code":"mcpguard.timeout"}}})
        );
        assert!(line.starts_with(br#"{"jsonrpc":"2.0","id":"7","error":{"code":-31004,"#));
        assert!(line.ends_with(b"}\n"));
        let id_of =
            |line: Bytes| serde_json::from_slice::<serde_json::Value>(&line).unwrap()["id"].clone();
        let zero = error_line(
            Some(&RequestId::Number("0".into())),
            ErrorCode::Malformed,
            "x",
        );
        assert_eq!(id_of(zero), json!(0));
        assert_eq!(
            id_of(error_line(None, ErrorCode::Malformed, "x")),
            json!(null)
        );
    }

    #[test]
    fn denial_is_a_tool_result_the_model_can_read() {
        let line = denial_line(
            &RequestId::String("7".into()),
            "denied.rule",
            "tools.deny:rm",
            "no",
            false,
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&line).unwrap(),
            json!({"jsonrpc":"2.0","id":"7","result":{"content":[{"type":"text","text":"mcpguard: blocked: no"}],"isError":true,
                "_meta":{"dev.mcpguard/decision":{"code":"denied.rule","rule":"tools.deny:rm"}}}})
        );
        let modern = denial_line(
            &RequestId::Number("1".into()),
            "denied.rule",
            "r",
            "no",
            true,
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&modern).unwrap()["result"]["resultType"],
            json!("complete")
        );
    }

    #[test]
    fn cancelled_line_carries_the_id_as_sent() {
        let line = cancelled_line(&RequestId::Number("12".into()), "timeout");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&line).unwrap(),
            json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12,"reason":"timeout"}})
        );
    }

    #[test]
    fn codes_stay_outside_the_reserved_range() {
        for code in [
            ErrorCode::Malformed,
            ErrorCode::MessageTooLarge,
            ErrorCode::InvalidUtf8,
            ErrorCode::Timeout,
            ErrorCode::ServerExited,
            ErrorCode::ResponseUnreadable,
            ErrorCode::RateLimited,
            ErrorCode::Unreadable,
            ErrorCode::AuditUnavailable,
            ErrorCode::Config,
            ErrorCode::NotFound,
            ErrorCode::NotExecutable,
            ErrorCode::SandboxUnavailable,
            ErrorCode::Internal,
        ] {
            assert!((-31999..=-31000).contains(&code.number()), "{code:?}");
            assert!(code.name().starts_with("mcpguard."));
        }
    }
}
