//! The server → client direction.
//!
//! Owns: reading the server's stdout, diverting anything that is not a JSON-RPC message to
//! stderr (and answering the client's request instead when the broken line was its answer),
//! correlating responses with pending client requests, recording server → client requests
//! (sampling, elicitation, roots), letting progress push back call deadlines, dropping a late
//! answer to a call mcpguard already answered, and forwarding everything else byte for byte.

use super::client_to_server::cancelled_request_id;
use super::pending::ResponseFate;
use super::shared::Shared;
use super::writer::LineSender;
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::jsonrpc::id_recovery::recover_id;
use crate::jsonrpc::message::{self, Kind, Parsed};
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::mcp::{methods, tool_call};
use bytes::Bytes;
use std::sync::Arc;
use tokio::io::AsyncRead;
use tokio::time::Instant;

/// How many bytes of a diverted line are shown on stderr.
const PREVIEW_BYTES: usize = 200;

/// How the server side ended.
#[derive(Debug)]
pub enum ServerEnd {
    Eof,
    ReadError(std::io::Error),
    /// The client no longer reads.
    ClientGone,
}

pub async fn relay<R: AsyncRead + Unpin>(
    mut reader: LineReader<R>,
    shared: Arc<Shared>,
    to_client: LineSender,
) -> ServerEnd {
    loop {
        let frame = match reader.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return ServerEnd::Eof,
            Err(e) => return ServerEnd::ReadError(e),
        };
        let outgoing = match frame {
            Frame::Line(line) => inspect_line(&shared, line),
            Frame::Oversize { prefix, len } => {
                let why = format!(
                    "the server sent a message of {len} bytes, larger than the {} byte limit (raise it with --max-message)",
                    shared.config.max_message
                );
                divert(&shared, &prefix, ErrorCode::MessageTooLarge, &why)
            }
        };
        if let Some(line) = outgoing
            && !to_client.send(line).await
        {
            return ServerEnd::ClientGone;
        }
    }
}

/// Checks one server line; returns what goes to the client (the line itself, or an error
/// in place of a broken answer), if anything.
fn inspect_line(shared: &Arc<Shared>, line: Bytes) -> Option<Bytes> {
    let text = match message::line_text(&line) {
        Ok(text) => text,
        Err(malformed) => {
            return divert(
                shared,
                &line,
                ErrorCode::ResponseUnreadable,
                &malformed.to_string(),
            );
        }
    };
    if text.trim().is_empty() {
        return None;
    }
    let parsed = match message::parse(text) {
        Ok(parsed) => parsed,
        Err(malformed) => {
            return divert(
                shared,
                &line,
                ErrorCode::ResponseUnreadable,
                &malformed.to_string(),
            );
        }
    };
    let deliver = match parsed {
        Parsed::Single(kind) => note(shared, kind),
        Parsed::Batch(kinds) => {
            // Every element is noted, even after one that must not be delivered.
            let mut deliver = true;
            for kind in kinds {
                deliver &= note(shared, kind);
            }
            deliver
        }
    };
    deliver.then_some(line)
}

/// Records what one server message means; `false` when it must not reach the client.
fn note(shared: &Arc<Shared>, kind: Kind<'_>) -> bool {
    let mut state = shared.lock();
    match kind {
        Kind::Response { id: Some(id), .. } => match state.pending.server_response(&id) {
            ResponseFate::Answers(_) | ResponseFate::Unknown => true,
            ResponseFate::AlreadyAnswered => {
                tracing::warn!(
                    server = %shared.config.server_name,
                    "dropped the server's late answer to request {id}: mcpguard already answered it (timeout)"
                );
                false
            }
        },
        Kind::Response { id: None, .. } => true,
        Kind::Request { id, method, .. } => {
            state.pending.server_request(id, &method);
            true
        }
        Kind::Notification { method, params } => {
            if method == methods::NOTIFICATION_PROGRESS {
                if let (Some(token), Some(limit)) = (
                    tool_call::progress_token(params),
                    shared.config.call_timeout,
                ) {
                    state.pending.progress(&token, Instant::now() + limit);
                }
            } else if method == methods::NOTIFICATION_CANCELLED
                && let Some(id) = cancelled_request_id(params)
            {
                state.pending.server_cancelled(&id);
            }
            true
        }
    }
}

/// Sends a line that is not a relayable message to stderr instead of the client. When it
/// carries the id of a pending client request, the client gets an error for that request, so
/// it does not wait forever for an answer that will never come.
fn divert(shared: &Arc<Shared>, line: &[u8], code: ErrorCode, why: &str) -> Option<Bytes> {
    let preview = String::from_utf8_lossy(&line[..line.len().min(PREVIEW_BYTES)]);
    let preview = preview.trim_end().escape_debug().to_string();
    tracing::warn!(
        server = %shared.config.server_name,
        "the server wrote something to stdout that is not a relayable MCP message ({why}); \
         not forwarded to the client: {preview}"
    );
    let id = recover_id(line)?;
    let answered = matches!(
        shared.lock().pending.server_response(&id),
        ResponseFate::Answers(_)
    );
    answered.then(|| {
        let message = format!("the server's answer could not be relayed: {why}");
        reply::error_line(Some(&id), code, &message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::message::RequestId;
    use crate::proxy::shared::SessionConfig;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(SessionConfig {
            server_name: "t".into(),
            max_message: 1024,
            call_timeout: Some(Duration::from_secs(60)),
            shutdown_grace: Duration::from_secs(1),
        }))
    }

    #[test]
    fn broken_answer_to_a_pending_request_becomes_an_error() {
        let shared = shared();
        shared.lock().pending.client_request(
            RequestId::Number("4".into()),
            "tools/call",
            None,
            None,
            None,
        );
        let reply = inspect_line(
            &shared,
            Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"x\":\xff}}\n"),
        );
        let reply: serde_json::Value = serde_json::from_slice(&reply.unwrap()).unwrap();
        assert_eq!(reply["id"], serde_json::json!(4));
        assert_eq!(
            reply["error"]["data"]["code"],
            serde_json::json!("mcpguard.response_unreadable")
        );
        assert_eq!(shared.lock().pending.client_pending_count(), 0);
    }

    #[test]
    fn junk_without_a_pending_id_goes_nowhere() {
        let shared = shared();
        assert_eq!(
            inspect_line(&shared, Bytes::from_static(b"Server started on stdio\n")),
            None
        );
        assert_eq!(inspect_line(&shared, Bytes::from_static(b"\n")), None);
    }

    #[test]
    fn messages_pass_unchanged() {
        let shared = shared();
        let line = Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"a\" : 1}}\r\n");
        assert_eq!(inspect_line(&shared, line.clone()), Some(line));
    }
}
