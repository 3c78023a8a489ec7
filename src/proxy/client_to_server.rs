//! The client → server direction.
//!
//! Owns: reading the agent's lines, answering the ones that cannot be relayed (oversize,
//! not UTF-8, not JSON-RPC) with an error the client can match to its request, recording
//! requests in the pending table (and arming `tools/call` deadlines), honouring the client's
//! `notifications/cancelled`, and forwarding every acceptable line byte for byte. Batches are
//! inspected element by element. At client EOF it asks the server writer to close stdin.

use super::shared::Shared;
use super::stdio::BoxedReader;
use super::timeout;
use super::writer::LineSender;
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::jsonrpc::id_recovery::recover_id;
use crate::jsonrpc::message::{self, Kind, Malformed, Parsed, RequestId};
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::mcp::era::era_of_request;
use crate::mcp::{methods, tool_call};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::time::Instant;

/// How the client side ended.
#[derive(Debug)]
pub enum ClientEnd {
    /// The client closed its end (EOF).
    Eof,
    /// Reading failed.
    ReadError(std::io::Error),
    /// The server side is gone; nothing more can be relayed.
    ServerGone,
}

pub async fn relay(
    mut reader: LineReader<BoxedReader>,
    shared: Arc<Shared>,
    to_server: LineSender,
    to_client: LineSender,
) -> ClientEnd {
    let end = loop {
        let frame = match reader.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break ClientEnd::Eof,
            Err(e) => break ClientEnd::ReadError(e),
        };
        let forward = match frame {
            Frame::Line(line) => inspect_line(&shared, line, &to_server, &to_client).await,
            Frame::Oversize { prefix, len } => {
                let id = recover_id(&prefix);
                let message = format!(
                    "message of {len} bytes is larger than the {} byte limit (raise it with --max-message)",
                    shared.config.max_message
                );
                refuse(
                    &shared,
                    id,
                    ErrorCode::MessageTooLarge,
                    &message,
                    &to_client,
                )
                .await;
                None
            }
        };
        if let Some(line) = forward
            && !to_server.send(line).await
        {
            break ClientEnd::ServerGone;
        }
    };
    to_server.close().await;
    end
}

/// Checks one line; returns it when it is to be forwarded.
async fn inspect_line(
    shared: &Arc<Shared>,
    line: Bytes,
    to_server: &LineSender,
    to_client: &LineSender,
) -> Option<Bytes> {
    let text = match message::line_text(&line) {
        Ok(text) => text,
        Err(malformed) => {
            let id = recover_id(&line);
            refuse(
                shared,
                id,
                ErrorCode::InvalidUtf8,
                &malformed.to_string(),
                to_client,
            )
            .await;
            return None;
        }
    };
    if text.trim().is_empty() {
        return None;
    }
    let parsed = match message::parse(text) {
        Ok(parsed) => parsed,
        Err(malformed) => {
            let id = recover_id(text.as_bytes());
            let code = match malformed {
                Malformed::InvalidUtf8 { .. } => ErrorCode::InvalidUtf8,
                _ => ErrorCode::Malformed,
            };
            refuse(shared, id, code, &malformed.to_string(), to_client).await;
            return None;
        }
    };
    match parsed {
        Parsed::Single(kind) => note(shared, kind, to_server, to_client),
        Parsed::Batch(kinds) => {
            for kind in kinds {
                note(shared, kind, to_server, to_client);
            }
        }
    }
    Some(line)
}

/// Records what one client message means for the session.
fn note(shared: &Arc<Shared>, kind: Kind<'_>, to_server: &LineSender, to_client: &LineSender) {
    match kind {
        Kind::Request { id, method, params } => {
            let mut state = shared.lock();
            if let Some(era) = era_of_request(&method, params)
                && state.era != era
            {
                tracing::debug!(server = %shared.config.server_name, ?era, "client protocol era");
                state.era = era;
            }
            if method == methods::TOOLS_CALL {
                let call = tool_call::read_tool_call(params);
                let deadline = shared
                    .config
                    .call_timeout
                    .map(|limit| Instant::now() + limit);
                let generation = state.pending.client_request(
                    id.clone(),
                    &method,
                    call.name,
                    call.progress_token,
                    deadline,
                );
                drop(state);
                if let Some(deadline) = deadline {
                    timeout::arm(
                        Arc::clone(shared),
                        id,
                        generation,
                        deadline,
                        to_client.clone(),
                        to_server.clone(),
                    );
                }
            } else {
                state.pending.client_request(id, &method, None, None, None);
            }
        }
        Kind::Notification { method, params } => {
            if method == methods::NOTIFICATION_CANCELLED
                && let Some(id) = cancelled_request_id(params)
            {
                shared.lock().pending.client_cancelled(&id);
            }
        }
        Kind::Response { id: Some(id), .. } => {
            shared.lock().pending.client_response(&id);
        }
        Kind::Response { id: None, .. } => {}
    }
}

#[derive(Deserialize)]
struct CancelledParams<'a> {
    #[serde(rename = "requestId", borrow)]
    request_id: &'a RawValue,
}

/// The request a `notifications/cancelled` names.
pub fn cancelled_request_id(params: Option<&RawValue>) -> Option<RequestId> {
    let params: CancelledParams<'_> = serde_json::from_str(params?.get()).ok()?;
    RequestId::from_raw(params.request_id)
}

/// Answers a line that cannot be relayed: with an error when its id is known, and always
/// with a line on stderr, so nothing disappears silently.
async fn refuse(
    shared: &Arc<Shared>,
    id: Option<RequestId>,
    code: ErrorCode,
    why: &str,
    to_client: &LineSender,
) {
    let server = &shared.config.server_name;
    match &id {
        Some(id) => {
            tracing::warn!(%server, "refused a client message (id {id}, {}): {why}", code.name());
            to_client.send(reply::error_line(Some(id), code, why)).await;
        }
        None => {
            tracing::warn!(%server, "dropped a client message with no readable id ({}): {why}", code.name());
        }
    }
}
