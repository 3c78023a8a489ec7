//! What the relay tells the audit trail, taken from the messages it sees.
//!
//! Owns: turning relay facts into audit calls: the client's name from `initialize` (or a
//! modern request's `_meta`), the arguments of a request, a response's size, `isError` and
//! payload, with large payloads hashed and previewed instead of parsed (a 10 MiB answer
//! must not be copied into a record or held twice in memory).

use super::pending::ClientRequest;
use crate::audit::record::{ClientInfo, Payload};
use crate::audit::{AuditLog, Verdict, chain};
use crate::jsonrpc::message::RequestId;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Payloads larger than this are hashed and previewed, not parsed.
const PARSE_LIMIT: usize = 64 * 1024;
const PREVIEW: usize = 1024;

#[derive(Deserialize)]
struct InitializeParams {
    #[serde(rename = "clientInfo")]
    client_info: Option<ClientInfoView>,
    #[serde(rename = "_meta")]
    meta: Option<MetaClient>,
}

#[derive(Deserialize)]
struct MetaClient {
    #[serde(rename = "io.modelcontextprotocol/clientInfo")]
    client_info: Option<ClientInfoView>,
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

#[derive(Deserialize)]
struct ErrorFlag {
    #[serde(rename = "isError", default)]
    is_error: bool,
}

pub fn id_value(id: &RequestId) -> Value {
    serde_json::from_str(&id.to_json()).unwrap_or(Value::Null)
}

/// A payload for the record from raw JSON text.
fn raw_payload(audit: &AuditLog, raw: &str) -> Option<Payload> {
    if raw.len() <= PARSE_LIMIT {
        return serde_json::from_str::<Value>(raw)
            .ok()
            .and_then(|v| audit.payload(&v));
    }
    let mut payload = audit.payload(&Value::Null)?;
    payload.bytes = raw.len() as u64;
    payload.sha256 = chain::sha256_hex(raw.as_bytes());
    payload.value = None;
    payload.truncated = true;
    let cut = (0..=PREVIEW)
        .rev()
        .find(|i| raw.is_char_boundary(*i))
        .unwrap_or(0);
    payload.preview = Some(audit.redact_text(&raw[..cut]));
    Some(payload)
}

/// Records a client request (no policy yet: every relayed request is allowed by default).
pub fn request(
    audit: &mut AuditLog,
    id: &RequestId,
    method: &str,
    tool: Option<&str>,
    params: Option<&RawValue>,
) {
    if method == "initialize"
        || method == "server/discover"
        || params.is_some_and(|p| p.get().contains("clientInfo"))
    {
        let announced = params.and_then(|p| serde_json::from_str::<InitializeParams>(p.get()).ok());
        if let Some(info) =
            announced.and_then(|p| p.client_info.or(p.meta.and_then(|m| m.client_info)))
        {
            audit.set_client(ClientInfo {
                name: info.name,
                version: info.version,
            });
        }
    }
    let args = match (method, params) {
        ("tools/call", Some(p)) => serde_json::from_str::<CallArguments<'_>>(p.get())
            .ok()
            .and_then(|c| c.arguments),
        (_, p) => p,
    };
    let payload = args.and_then(|raw| raw_payload(audit, raw.get()));
    audit.request_with_payload(
        method,
        tool,
        Some(id_value(id)),
        payload,
        Verdict {
            verdict: "allow",
            rule: "default",
            reason: "no policy stage denied it (policies are not configured yet)",
        },
    );
}

/// Records the server's answer to `request`.
pub fn response(
    audit: &mut AuditLog,
    id: &RequestId,
    request: &ClientRequest,
    is_rpc_error: bool,
    result: Option<&RawValue>,
    bytes: usize,
) {
    let is_error = is_rpc_error
        || result.is_some_and(|r| {
            r.get().contains("\"isError\"")
                && serde_json::from_str::<ErrorFlag>(r.get()).is_ok_and(|f| f.is_error)
        });
    let payload = result.and_then(|r| raw_payload(audit, r.get()));
    audit.response_with_payload(
        "response",
        &request.method,
        request.tool.as_deref(),
        Some(id_value(id)),
        request.started.elapsed().as_secs_f64() * 1000.0,
        is_error,
        bytes as u64,
        payload,
    );
}

/// Records a request mcpguard answered itself (`timeout`) or that died with the server
/// (`aborted`).
pub fn ended_without_answer(
    audit: &mut AuditLog,
    event: &str,
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
