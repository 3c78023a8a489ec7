//! The client → server direction.
//!
//! Owns: reading the agent's lines, answering the ones that cannot be relayed (oversize,
//! not UTF-8, not JSON-RPC) with an error sent to whichever side waits for them (the client
//! for its requests, the server for the client's answers to its requests), recording
//! requests in the pending table (and arming `tools/call` deadlines), honouring the client's
//! `notifications/cancelled`, and forwarding every acceptable line byte for byte. Batches are
//! inspected element by element; a bad element is answered on its own and the rest go on.
//! At client EOF it asks the server writer to close the server's stdin.

use super::shared::Shared;
use super::stdio::BoxedReader;
use super::timeout;
use super::writer::{Coalescer, LineSender};
use super::{gate, held, recording};
use crate::approval::digest::CallDigest;
use crate::approval::request_state::{INPUT_KEY, PREFIX};
use crate::approval::{Answer, Approver, Choice, Scope, elicit};
use crate::jsonrpc::content;
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::jsonrpc::id_recovery::{self, Recovered, Role};
use crate::jsonrpc::message::{self, Kind, Malformed, Parsed, RequestId};
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::mcp::capabilities;
use crate::mcp::era::era_of_request;
use crate::mcp::{methods, tool_call};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::time::Instant;

/// How the client side ended.
#[derive(Debug)]
pub(crate) enum ClientEnd {
    /// The client closed its end (EOF).
    Eof,
    /// Reading failed.
    ReadError(std::io::Error),
    /// The server side is gone; nothing more can be relayed.
    ServerGone,
}

/// The two destinations a client line can lead to.
struct Outlets<'a> {
    to_server: &'a LineSender,
    to_client: &'a LineSender,
}

pub(crate) async fn relay(
    mut reader: LineReader<BoxedReader>,
    shared: Arc<Shared>,
    to_server: LineSender,
    to_client: LineSender,
) -> ClientEnd {
    let outlets = Outlets {
        to_server: &to_server,
        to_client: &to_client,
    };
    let mut gathered = Coalescer::default();
    let end = loop {
        let frame = match reader.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break ClientEnd::Eof,
            Err(e) => break ClientEnd::ReadError(e),
        };
        // Answers already on their way to the client are recorded before anything this
        // message leads to: the trail keeps the order in which the client could act on them.
        shared.flush_audit();
        let forward = match frame {
            Frame::Line(line) => inspect_line(&shared, line, &outlets).await,
            Frame::Oversize {
                prefix,
                suffix,
                len,
            } => {
                let found = id_recovery::recover(&prefix, Some(&suffix));
                let why = format!(
                    "message of {len} bytes is larger than the {} byte limit (raise it with --max-message)",
                    shared.config.max_message
                );
                refuse(&shared, found, ErrorCode::MessageTooLarge, &why, &outlets).await;
                None
            }
        };
        let ready = match forward {
            Some(line) => gathered.push(line, reader.has_buffered_line()),
            None if !reader.has_buffered_line() => gathered.flush(),
            None => None,
        };
        if let Some(lines) = ready
            && !to_server.send(lines).await
        {
            break ClientEnd::ServerGone;
        }
        if gathered.is_empty() {
            shared.flush_audit();
        }
    };
    if let Some(lines) = gathered.flush() {
        to_server.send(lines).await;
    }
    shared.flush_audit();
    to_server.close();
    end
}

/// Checks one line; returns what is to be forwarded (the line itself, or a batch rebuilt
/// without its bad elements).
async fn inspect_line(shared: &Arc<Shared>, line: Bytes, outlets: &Outlets<'_>) -> Option<Bytes> {
    let text = match message::line_text(&line) {
        Ok(text) => text,
        Err(malformed) => {
            let found = id_recovery::recover(&line, None);
            refuse(
                shared,
                found,
                ErrorCode::InvalidUtf8,
                &malformed.to_string(),
                outlets,
            )
            .await;
            return None;
        }
    };
    if text.trim().is_empty() {
        return None;
    }
    match message::parse(text) {
        Ok(Parsed::Single(kind)) => match note(shared, kind, outlets) {
            Fate::Forward => Some(line),
            Fate::Answer(reply) => {
                outlets.to_client.send(reply).await;
                None
            }
            Fate::Drop => None,
            Fate::ForwardInstead(error) => {
                outlets.to_server.send(error).await;
                None
            }
            Fate::Rewritten(rewritten) => Some(rewritten),
            Fate::Hold(ticket) => {
                hold(shared, *ticket, line, outlets).await;
                None
            }
        },
        Ok(Parsed::Batch(elements)) => {
            let total = elements.len();
            let mut kept: Vec<&RawValue> = Vec::with_capacity(total);
            for element in elements {
                match element.kind {
                    Ok(kind) => match note(shared, kind, outlets) {
                        Fate::Forward => kept.push(element.raw),
                        Fate::Answer(reply) => {
                            outlets.to_client.send(reply).await;
                        }
                        Fate::Drop => {}
                        Fate::ForwardInstead(error) => {
                            outlets.to_server.send(error).await;
                        }
                        // Only the 2026-07-28 era rewrites calls, and it has no batches:
                        // the call goes on its own.
                        Fate::Rewritten(rewritten) => {
                            outlets.to_server.send(rewritten).await;
                        }
                        Fate::Hold(ticket) => {
                            let line = Bytes::from(format!("{}\n", element.raw.get()));
                            hold(shared, *ticket, line, outlets).await;
                        }
                    },
                    Err(malformed) => {
                        let found = id_recovery::recover(element.raw.get().as_bytes(), None);
                        let why = format!("batch element: {malformed}");
                        refuse(shared, found, ErrorCode::Malformed, &why, outlets).await;
                    }
                }
            }
            match kept.len() {
                0 => None,
                n if n == total => Some(line),
                _ => Some(message::batch_line(&kept)),
            }
        }
        Err(malformed) => {
            let found = id_recovery::recover(text.as_bytes(), None);
            let code = match malformed {
                Malformed::InvalidUtf8 { .. } => ErrorCode::InvalidUtf8,
                _ => ErrorCode::Malformed,
            };
            refuse(shared, found, code, &malformed.to_string(), outlets).await;
            None
        }
    }
}

/// What becomes of one client message (of a line, or of one element of a batch).
enum Fate {
    /// It goes to the server as it is.
    Forward,
    /// Not relayed; the client gets this instead: a denial, or an error in place of the
    /// answer.
    Answer(Bytes),
    /// Not relayed, and nobody is answered (a tools/call without an id has no one to answer).
    Drop,
    /// The server gets this in its place: an error for its request, when the client's
    /// answer cannot be recorded.
    ForwardInstead(Bytes),
    /// The server gets this rewritten message (a retry with mcpguard's own approval round
    /// taken out).
    Rewritten(Bytes),
    /// Held for a person's approval (`proxy::held`).
    Hold(Box<Ticket>),
}

/// A call to hold, without its bytes (the caller has them).
struct Ticket {
    id: RequestId,
    progress_token: Option<String>,
    request: held::HoldRequest,
}

/// Holds a call: the question goes out, and the relay goes on.
async fn hold(shared: &Arc<Shared>, ticket: Ticket, line: Bytes, outlets: &Outlets<'_>) {
    let question = held::start(
        shared,
        held::Held {
            id: ticket.id,
            progress_token: ticket.progress_token,
            // Its own copy: the line is a view of a whole read buffer (framing), which a
            // call held for a person (up to the approval timeout) would keep alive.
            line: Bytes::copy_from_slice(&line),
            request: ticket.request,
        },
        held::Outlets {
            to_server: outlets.to_server.clone(),
            to_client: outlets.to_client.clone(),
        },
    );
    if let Some(question) = question {
        outlets.to_client.send(question).await;
    }
}

/// A request's params as the stages below read them: in full, except for a large request of a
/// method no stage judges by its content, whose small members are enough (its era, the client
/// it names) and whose large ones are only checked, so that it is not held twice.
fn read_content(method: &str, raw: &str) -> Result<serde_json::Value, content::Unreadable> {
    // The trail keeps what it parses of payloads up to its limit: those are read in full.
    let whole = raw.len() <= recording::PARSE_LIMIT
        || method == methods::TOOLS_CALL
        || DECLARE_CAPABILITIES.contains(&method)
        // A ping is relayed unrecorded only when it is bare, which an outline cannot tell.
        || method == methods::PING;
    if whole {
        content::read(raw)
    } else {
        content::outline(raw)
    }
}

/// The requests whose params declare what the client can do (what a tool list depends on).
const DECLARE_CAPABILITIES: [&str; 3] = [
    methods::INITIALIZE,
    methods::SERVER_DISCOVER,
    methods::TOOLS_LIST,
];

/// Records what one client message means for the session and decides its fate.
fn note(shared: &Arc<Shared>, kind: Kind<'_>, outlets: &Outlets<'_>) -> Fate {
    match kind {
        Kind::Request { id, method, params } => {
            // Every stage below reads the params (the era, the gate, the audit record): what
            // cannot be read in full is refused, never forwarded with a stage skipped.
            let content = match params.map(|p| read_content(&method, p.get())).transpose() {
                Ok(content) => content,
                Err(unreadable) => {
                    let why = format!(
                        "the params of this {method} request cannot be judged: {unreadable}"
                    );
                    tracing::warn!(server = %shared.config.server_name, "refused request {id}: {why}");
                    if let Some(audit) = shared.lock().audit.as_mut() {
                        audit.refused(Some(recording::id_value(&id)), "denied.unreadable", &why);
                    }
                    return Fate::Answer(reply::error_line(Some(&id), ErrorCode::Unreadable, &why));
                }
            };
            let mut state = shared.lock();
            // Only what a tool list can depend on is read, and only where it is declared or
            // used: not on every modern request.
            if DECLARE_CAPABILITIES.contains(&method.as_ref())
                && let Some(kind) = capabilities::declared(&method, content.as_ref())
            {
                state.client_capabilities = kind;
            }
            if method == methods::INITIALIZE {
                // Kept to start a restarted server the way the client started this one.
                state.client_initialize = params.map(|p| p.get().to_owned());
                state.client_elicits =
                    held::elicits_form(content.as_ref().and_then(|c| c.get("capabilities")));
            }
            if let Some(era) = era_of_request(&method, content.as_ref())
                && state.era != era
            {
                tracing::debug!(server = %shared.config.server_name, ?era, "client protocol era");
                state.era = era;
            }
            let is_call = method == methods::TOOLS_CALL;
            let call = if is_call {
                tool_call::read_tool_call(params)
            } else {
                tool_call::ToolCall::default()
            };
            let mut rewritten = None;
            let approval = if is_call {
                match approval_of(
                    shared,
                    &mut state,
                    &id,
                    call.name.as_deref(),
                    content.as_ref(),
                ) {
                    Ok((approval, rewrite)) => {
                        rewritten = rewrite;
                        approval
                    }
                    Err(denial) => return Fate::Answer(denial),
                }
            } else {
                gate::CallApproval::default()
            };
            let outcome = if is_call {
                gate::judge(
                    shared,
                    &mut state,
                    &id,
                    call.name.as_deref(),
                    params,
                    content.as_ref(),
                    &approval,
                )
            } else {
                gate::Outcome::unjudged()
            };
            if let Some(audit) = state.audit.as_mut() {
                let decision = (
                    outcome.verdict,
                    outcome.rule.clone(),
                    outcome.reason.clone(),
                );
                let written = recording::request(
                    audit,
                    &id,
                    &method,
                    call.name.as_deref(),
                    (params.map(RawValue::get), content.as_ref()),
                    &decision,
                );
                // A request the trail does not hold does not reach the server (a bare ping
                // carries nothing, and keeps a client from taking the server for dead).
                let bare_ping = method == methods::PING
                    && content
                        .as_ref()
                        .is_none_or(|c| c.as_object().is_some_and(|o| o.is_empty()));
                if written.is_err()
                    && outcome.blocked.is_none()
                    && audit.refuses_unrecorded()
                    && !bare_ping
                {
                    return Fate::Answer(reply::error_line(
                        Some(&id),
                        ErrorCode::AuditUnavailable,
                        "the audit trail cannot be written, so this request is not relayed \
                         (audit.on-failure = \"refuse\"); it is relayed again once the trail is writable",
                    ));
                }
            }
            if let Some(blocked) = outcome.blocked {
                return Fate::Answer(blocked);
            }
            if let Some(request) = outcome.hold {
                return Fate::Hold(Box::new(Ticket {
                    id,
                    progress_token: call.progress_token,
                    request,
                }));
            }
            if !is_call {
                state.pending.client_request(id, &method, None, None, None);
                return Fate::Forward;
            }
            let deadline = shared
                .config
                .call_timeout
                .map(|limit| Instant::now() + limit);
            let approved_digest = outcome.approved;
            let generation = state.pending.client_request(
                id.clone(),
                &method,
                call.name,
                call.progress_token,
                deadline,
            );
            if let Some(digest) = approved_digest {
                state.pending.mark_approved(&id, digest);
            }
            drop(state);
            if let Some(deadline) = deadline {
                timeout::arm(
                    Arc::clone(shared),
                    id,
                    generation,
                    deadline,
                    outlets.to_client.clone(),
                    outlets.to_server.clone(),
                );
            }
            match rewritten {
                Some(line) => Fate::Rewritten(line),
                None => Fate::Forward,
            }
        }
        Kind::Notification { method, .. } if method == methods::TOOLS_CALL => {
            // A tools/call without an id would run unjudged and unanswered: it is dropped.
            tracing::warn!(server = %shared.config.server_name, "dropped a tools/call without an id (nothing could be answered, so nothing is run)");
            if let Some(audit) = shared.lock().audit.as_mut() {
                audit.refused(None, "denied.malformed", "a tools/call without an id");
            }
            Fate::Drop
        }
        Kind::Notification { method, params } => {
            if method == methods::NOTIFICATION_CANCELLED
                && let Some(id) = cancelled_request_id(params)
            {
                let mut state = shared.lock();
                // A held call the server never saw: the question is withdrawn, and the
                // cancel goes no further.
                if let Some(take_back) = held::withdraw(&mut state, &id) {
                    tracing::info!(server = %shared.config.server_name, "the client cancelled held call {id}; its approval request is withdrawn");
                    return take_back.map_or(Fate::Drop, Fate::Answer);
                }
                state.pending.client_cancelled(&id);
            }
            Fate::Forward
        }
        Kind::Response {
            id: Some(id),
            is_error,
            result,
        } => {
            let mut state = shared.lock();
            if state.approvals.is_elicitation(&id) {
                // mcpguard's own question: the answer is consumed, never relayed.
                let approval = state
                    .approvals
                    .by_elicitation(&id)
                    .map(|ask| ask.id.clone());
                if let Some(approval) = approval {
                    let choice = if is_error {
                        Choice::Deny("the client could not show the approval request (it answered with an error)".into())
                    } else {
                        let result: Option<serde_json::Value> =
                            result.and_then(|r| content::read(r.get()).ok());
                        elicit::choice(result.as_ref())
                    };
                    let _ = state.approvals.answer(
                        &approval,
                        Answer {
                            choice,
                            approver: Approver::Client,
                            pattern: None,
                        },
                    );
                }
                return Fate::Drop;
            }
            let Some(method) = state.pending.client_response(&id) else {
                return Fate::Forward;
            };
            let Some(audit) = state.audit.as_mut() else {
                return Fate::Forward;
            };
            let written =
                recording::client_answer(audit, &id, &method, is_error, result.map(RawValue::get));
            if written.is_err() && audit.refuses_unrecorded() {
                // The server gets an error in place of an answer the trail does not hold.
                return Fate::ForwardInstead(reply::error_line(
                    Some(&id),
                    ErrorCode::AuditUnavailable,
                    "the client's answer is not relayed: the audit trail cannot be written \
                     (audit.on-failure = \"refuse\")",
                ));
            }
            Fate::Forward
        }
        Kind::Response { id: None, .. } => Fate::Forward,
    }
}

#[derive(Deserialize)]
struct CancelledParams<'a> {
    #[serde(rename = "requestId", borrow)]
    request_id: &'a RawValue,
}

/// The request a `notifications/cancelled` names.
pub(crate) fn cancelled_request_id(params: Option<&RawValue>) -> Option<RequestId> {
    let params: CancelledParams<'_> = serde_json::from_str(params?.get()).ok()?;
    RequestId::from_raw(params.request_id)
}

/// Answers a line that cannot be relayed, always with a line on stderr, and with an error to
/// the side that waits for it: the client when it was a request, the server when it was the
/// client's answer to one of the server's requests.
async fn refuse(
    shared: &Arc<Shared>,
    found: Recovered,
    code: ErrorCode,
    why: &str,
    outlets: &Outlets<'_>,
) {
    let server = &shared.config.server_name;
    if let Some(audit) = shared.lock().audit.as_mut() {
        audit.refused(found.id.as_ref().map(recording::id_value), code.name(), why);
    }
    let Some(id) = found.id else {
        tracing::warn!(%server, "dropped a client message with no readable id ({}): {why}", code.name());
        return;
    };
    let answers_server = match found.role {
        Role::Response => true,
        Role::Request => false,
        Role::Unknown => shared.lock().pending.is_server_request(&id),
    };
    if answers_server {
        shared.lock().pending.client_response(&id);
        tracing::warn!(%server, "the client's answer to server request {id} could not be relayed ({}): {why}", code.name());
        let message = format!("the client's answer could not be relayed: {why}");
        outlets
            .to_server
            .send(reply::error_line(Some(&id), code, &message))
            .await;
    } else {
        tracing::warn!(%server, "refused a client message (id {id}, {}): {why}", code.name());
        outlets
            .to_client
            .send(reply::error_line(Some(&id), code, why))
            .await;
    }
}

/// What a `tools/call` says about approval, read before the gate judges it. A retry that
/// carries mcpguard's own `requestState` is checked here: refused (Err: the denial) when the
/// state is forged, spent, expired or for another call, or when the person said no; else
/// the call is approved and comes back rewritten without mcpguard's part.
fn approval_of(
    shared: &Shared,
    state: &mut super::shared::State,
    id: &RequestId,
    name: Option<&str>,
    content: Option<&serde_json::Value>,
) -> Result<(gate::CallApproval, Option<Bytes>), Bytes> {
    let client_elicits = held::elicits_form(
        content
            .and_then(|c| c.get("_meta"))
            .and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities")),
    );
    let mut approval = gate::CallApproval {
        client_elicits,
        ..Default::default()
    };
    let Some(request_state) = content
        .and_then(|c| c.get("requestState"))
        .and_then(serde_json::Value::as_str)
    else {
        return Ok((approval, None));
    };
    if !request_state.starts_with(PREFIX) {
        approval.server_state = Some(crate::audit::chain::sha256_hex(request_state.as_bytes()));
        // The server's own round: its state goes on untouched, and an answer under
        // mcpguard's key, which no question of the server's asked, does not.
        let ours = content
            .and_then(|c| c.get("inputResponses"))
            .and_then(|r| r.get(INPUT_KEY))
            .is_some();
        let rewritten = ours.then(|| without_our_round(id, content, true));
        return Ok((approval, rewritten));
    }
    let tool = name.unwrap_or("?");
    let arguments = content
        .and_then(|c| c.get("arguments"))
        .filter(|a| !a.is_null());
    let digest = CallDigest::of(tool, arguments);
    let modern = state.era == crate::mcp::era::Era::Modern;
    let deny = |state: &mut super::shared::State,
                reason: String,
                approval_id: Option<&str>,
                approver: Option<String>,
                wait_ms: f64| {
        tracing::info!(server = %shared.config.server_name, "blocked tools/call {tool} (id {id}): {reason}");
        if let Some(audit) = state.audit.as_mut() {
            let _ = audit.approval_answer(
                tool,
                recording::id_value(id),
                crate::audit::DecisionRef { verdict: "deny", rule: "approval", reason: &reason },
                approver,
                wait_ms,
                serde_json::json!({"approval": approval_id, "outcome": "denied", "channel": "elicit", "digest": digest.0}),
            );
        }
        crate::jsonrpc::reply::denial_line(id, "denied.approval", "approval", &reason, modern)
    };
    let now = std::time::SystemTime::now();
    let redeemed = match state.signer.as_mut() {
        Some(signer) => signer.redeem(request_state, tool, &digest, now),
        None => Err(crate::approval::request_state::Refused::Forged),
    };
    let claims = match redeemed {
        Ok(claims) => {
            state.approvals.redeemed(&claims.approval);
            claims
        }
        Err(refused) => {
            let reason = format!("this retry of `{tool}` is refused: {refused}");
            return Err(deny(state, reason, None, None, 0.0));
        }
    };
    let timeout = shared
        .policy
        .as_ref()
        .map_or(crate::approval::DEFAULT_TIMEOUT, |p| p.approval_timeout);
    let issued = claims.expires.saturating_sub(timeout.as_millis() as u64);
    let now_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let wait_ms = now_ms.saturating_sub(issued) as f64;
    let answer = content
        .and_then(|c| c.get("inputResponses"))
        .and_then(|r| r.get(INPUT_KEY));
    match elicit::choice(answer) {
        Choice::Deny(why) => Err(deny(
            state,
            format!("the call needed approval and {why}"),
            Some(&claims.approval),
            Some(Approver::Client.describe()),
            wait_ms,
        )),
        Choice::Allow(scope) => {
            if scope == Scope::Session {
                state.approvals.grant_session(digest.clone());
            }
            let reason = format!("approved by elicit ({})", scope.name());
            if let Some(audit) = state.audit.as_mut() {
                let written = audit.approval_answer(
                    tool,
                    recording::id_value(id),
                    crate::audit::DecisionRef { verdict: "allow", rule: "approval", reason: &reason },
                    Some(Approver::Client.describe()),
                    wait_ms,
                    serde_json::json!({"approval": claims.approval, "outcome": "allowed", "channel": "elicit", "scope": scope.name(), "wait_ms": wait_ms as u64, "digest": digest.0}),
                );
                if written.is_err() && audit.refuses_unrecorded() {
                    // The trail cannot hold who approved it: not relayed.
                    return Err(crate::jsonrpc::reply::denial_line(
                        id,
                        "denied.audit",
                        "audit.on-failure",
                        "the call was approved, but the audit trail cannot record the approval \
                         (audit.on-failure = \"refuse\"); ask again once the trail is writable",
                        modern,
                    ));
                }
            }
            approval.approved = Some(reason);
            Ok((approval, Some(without_our_round(id, content, false))))
        }
    }
}

/// The retry as the server must see it: mcpguard's answer taken out, and its
/// `requestState` too unless `keep_state` (the state is the server's own).
fn without_our_round(
    id: &RequestId,
    content: Option<&serde_json::Value>,
    keep_state: bool,
) -> Bytes {
    let mut params = content.cloned().unwrap_or_default();
    if let Some(map) = params.as_object_mut() {
        if !keep_state {
            map.remove("requestState");
        }
        let now_empty = match map.get_mut("inputResponses") {
            Some(serde_json::Value::Object(responses)) => {
                responses.remove(INPUT_KEY);
                responses.is_empty()
            }
            _ => false,
        };
        if now_empty {
            map.remove("inputResponses");
        }
    }
    Bytes::from(format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"tools/call\",\"params\":{params}}}\n",
        id.to_json()
    ))
}
