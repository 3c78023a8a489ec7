//! What the relay tells the audit trail, taken from the messages it sees.
//!
//! Owns: turning relay facts into audit records: the client's name from `initialize` (or a
//! modern request's `_meta`), the arguments of a request, a response's size, `isError` and
//! payload, with large payloads hashed (not parsed, not previewed) (a 10 MiB answer
//! must not be copied into a record or held twice in memory). Records of relayed messages
//! are queued as `Job`s and written once the message has been forwarded, so the trail adds
//! no latency to the exchange itself.

use super::pending::ClientRequest;
use crate::audit::record::{ClientInfo, EventKind, Payload};
use crate::audit::{AuditLog, DecisionRef, Unrecorded, chain};
use crate::jsonrpc::message::RequestId;
use crate::mcp::methods;
use crate::profile::model::Verdict;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::ops::Range;

/// Payloads larger than this are hashed, not parsed.
pub(crate) const PARSE_LIMIT: usize = 64 * 1024;

/// An audit record to write once the message it describes has been forwarded. It holds the
/// line (shared, not copied) and where in it the interesting JSON lies.
pub(crate) enum Job {
    Response {
        id: RequestId,
        request: ClientRequest,
        latency_ms: f64,
        is_rpc_error: bool,
        line: Bytes,
        result: Option<Range<usize>>,
        bytes: usize,
    },
}

/// Where `part` (a slice of `line`) lies within it.
pub(crate) fn range_in(line: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= line.len()).then_some(start..end)
}

fn slice<'a>(line: &'a Bytes, range: &Option<Range<usize>>) -> Option<&'a str> {
    std::str::from_utf8(line.get(range.clone()?)?).ok()
}

/// Writes the records of `jobs`.
pub(crate) fn run(audit: &mut AuditLog, jobs: Vec<Job>) {
    for job in jobs {
        match job {
            Job::Response {
                id,
                request,
                latency_ms,
                is_rpc_error,
                line,
                result,
                bytes,
            } => {
                response(
                    audit,
                    &id,
                    &request,
                    latency_ms,
                    is_rpc_error,
                    slice(&line, &result),
                    bytes,
                );
            }
        }
    }
}

#[derive(Deserialize)]
struct ClientInfoView {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct CallArguments<'a> {
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

pub(crate) fn id_value(id: &RequestId) -> Value {
    serde_json::from_str(&id.to_json()).unwrap_or(Value::Null)
}

/// A payload for the record from raw JSON text.
fn raw_payload(audit: &AuditLog, raw: &str) -> Option<Payload> {
    payload_of(audit, raw, None)
}

/// A payload for the record from raw JSON text, or from `parsed`, the same text already
/// read in full by the relay (so it is not parsed twice on the way to the server).
fn payload_of(audit: &AuditLog, raw: &str, parsed: Option<&Value>) -> Option<Payload> {
    // Nothing of the payload is kept: no reason to parse it.
    if audit.payload_mode() == crate::audit::PayloadMode::None {
        return None;
    }
    if raw.len() <= PARSE_LIMIT {
        if let Some(value) = parsed {
            return audit.payload(value);
        }
        if let Ok(value) = serde_json::from_str::<Value>(raw) {
            return audit.payload(&value);
        }
    }
    // Too large to parse, or not readable in full: its size and hash are recorded, so the
    // record still tells exactly what passed.
    let mut payload = audit.payload(&Value::Null)?;
    payload.bytes = raw.len() as u64;
    payload.sha256 = chain::sha256_hex(raw.as_bytes());
    payload.value = None;
    payload.truncated = true;
    // No preview: a prefix of unparsed JSON cannot be redacted by key, and a secret cut at
    // its end would leak in part.
    Some(payload)
}

/// Records a client request with the gate's decision, before it is relayed (a request
/// the trail cannot hold may be refused). `content` is `params` as the relay read them.
pub(crate) fn request(
    audit: &mut AuditLog,
    id: &RequestId,
    method: &str,
    tool: Option<&str>,
    (params, content): (Option<&str>, Option<&Value>),
    decision: &(Verdict, String, String),
) -> Result<(), Unrecorded> {
    // The client as it announced itself: `clientInfo` at `initialize`, or in a modern
    // request's `_meta`; read from the params the relay already parsed.
    let announced = content
        .and_then(|c| {
            c.get("clientInfo").or_else(|| {
                c.get("_meta")
                    .and_then(|m| m.get("io.modelcontextprotocol/clientInfo"))
            })
        })
        .and_then(|info| ClientInfoView::deserialize(info).ok());
    if let Some(info) = announced {
        audit.set_client(ClientInfo {
            name: info.name,
            version: info.version,
        });
    }
    let (args, parsed) = match (method, params) {
        (methods::TOOLS_CALL, Some(p)) => (
            serde_json::from_str::<CallArguments<'_>>(p)
                .ok()
                .and_then(|c| c.arguments)
                .map(RawValue::get),
            content.and_then(|c| c.get("arguments")),
        ),
        (_, p) => (p, content),
    };
    let payload = args.and_then(|raw| payload_of(audit, raw, parsed));
    audit.request_with_payload(
        method,
        tool,
        Some(id_value(id)),
        payload,
        DecisionRef {
            verdict: decision.0.name(),
            rule: &decision.1,
            reason: &decision.2,
        },
    )
}

/// Records the client's answer to a request of the server's, before it is relayed (what
/// a person or a model answered on the user's behalf must be on the trail).
pub(crate) fn client_answer(
    audit: &mut AuditLog,
    id: &RequestId,
    method: &str,
    is_rpc_error: bool,
    result: Option<&str>,
) -> Result<(), Unrecorded> {
    let payload = result.and_then(|r| raw_payload(audit, r));
    audit.client_answer(
        method,
        Some(id_value(id)),
        is_rpc_error,
        result.map_or(0, |r| r.len() as u64),
        payload,
    )
}

/// Records a request the server sends the client, before it is relayed.
pub(crate) fn server_request(
    audit: &mut AuditLog,
    id: &RequestId,
    method: &str,
    params: Option<&str>,
) -> Result<(), Unrecorded> {
    let payload = params.and_then(|raw| raw_payload(audit, raw));
    audit.server_request(method, Some(id_value(id)), payload)
}

/// Records the server's answer to `request`.
fn response(
    audit: &mut AuditLog,
    id: &RequestId,
    request: &ClientRequest,
    latency_ms: f64,
    is_rpc_error: bool,
    result: Option<&str>,
    bytes: usize,
) {
    let is_error = is_rpc_error || result.is_some_and(crate::mcp::tool_call::result_is_error);
    let payload = result.and_then(|r| raw_payload(audit, r));
    audit.response_with_payload(
        EventKind::Response,
        &request.method,
        request.tool.as_deref(),
        Some(id_value(id)),
        latency_ms,
        is_error,
        bytes as u64,
        payload,
    );
}

/// Records a request mcpguard answered itself (`timeout`), that died with the server
/// (`aborted`), or whose answer could not be relayed (`unreadable`).
pub(crate) fn ended_without_answer(
    audit: &mut AuditLog,
    event: EventKind,
    id: &RequestId,
    request: &ClientRequest,
) {
    audit.response_with_payload(
        event,
        &request.method,
        request.tool.as_deref(),
        Some(id_value(id)),
        request.started.elapsed().as_secs_f64() * 1000.0,
        true,
        0,
        None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn ranges_point_into_the_line() {
        let line = Bytes::from_static(b"{\"params\":{\"a\":1}}\n");
        let text = std::str::from_utf8(&line).unwrap();
        let part = &text[10..17];
        assert_eq!(range_in(&line, part), Some(10..17));
        assert_eq!(slice(&line, &Some(10..17)), Some("{\"a\":1}"));
        assert_eq!(range_in(&line, "elsewhere"), None);
    }
}
