//! The server → client direction.
//!
//! Owns: reading the server's stdout, diverting anything that is not a JSON-RPC message to
//! stderr (and answering the client's request instead when the broken line was its answer),
//! correlating responses with pending client requests, recording server → client requests
//! (sampling, elicitation, roots), letting progress push back call deadlines, dropping a late
//! answer to a call mcpguard already answered, and forwarding everything else byte for byte.

use super::client_to_server::cancelled_request_id;
use super::pending::ClientRequest;
use super::pending::ResponseFate;
use super::recording;
use super::shared::{Shared, State};
use super::writer::{Coalescer, LineSender};
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::jsonrpc::id_recovery::{self, Recovered, Role};
use crate::jsonrpc::message::RequestId;
use crate::jsonrpc::message::{self, Kind, Parsed};
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::jsonrpc::{content, keys};
use crate::mcp::{methods, tool_call};
use crate::policy::{Policy, response};
use crate::profile::model::Verdict;
use bytes::Bytes;
use std::sync::Arc;
use tokio::io::AsyncRead;
use tokio::time::Instant;

/// The keys of a tools/list result the catalog and the pins read.
const LIST_KEYS: &[&str] = &["tools", "nextCursor"];
/// The keys of a tool result that inspection reads.
const RESULT_KEYS: &[&str] = &["content", "structuredContent", "isError"];

/// How many bytes of a diverted line are shown on stderr.
const PREVIEW_BYTES: usize = 200;

/// How the server side ended.
#[derive(Debug)]
pub(crate) enum ServerEnd {
    Eof,
    ReadError(std::io::Error),
    /// The client no longer reads.
    ClientGone,
}

/// How long the retry that answers a server's own question about an approved call may
/// take (it must carry the server's exact `requestState`).
const CONTINUATION: std::time::Duration = std::time::Duration::from_secs(600);

/// What one server line leads to.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    /// For the client: the line, a batch rebuilt without some elements, or an error in place
    /// of a broken answer.
    to_client: Option<Bytes>,
    /// For the server: an error answering a broken request of its own.
    to_server: Option<Bytes>,
}

pub(crate) async fn relay<R: AsyncRead + Unpin>(
    mut reader: LineReader<R>,
    shared: Arc<Shared>,
    to_client: LineSender,
    to_server: LineSender,
) -> ServerEnd {
    let mut gathered = Coalescer::default();
    loop {
        let frame = match reader.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return finish(&shared, &mut gathered, &to_client, ServerEnd::Eof).await,
            Err(e) => {
                return finish(&shared, &mut gathered, &to_client, ServerEnd::ReadError(e)).await;
            }
        };
        let outcome = match frame {
            Frame::Line(line) => inspect_line(&shared, line),
            Frame::Oversize {
                prefix,
                suffix,
                len,
            } => {
                let why = format!(
                    "the server sent a message of {len} bytes, larger than the {} byte limit (raise it with --max-message)",
                    shared.config.max_message
                );
                let found = id_recovery::recover(&prefix, Some(&suffix));
                divert(&shared, &prefix, found, ErrorCode::MessageTooLarge, &why)
            }
        };
        if let Some(error) = outcome.to_server {
            // The server may have stopped reading; its error is not worth stalling the client.
            to_server.send(error).await;
        }
        let ready = match outcome.to_client {
            Some(line) => gathered.push(
                without_credentials(&shared, line),
                reader.has_buffered_line(),
            ),
            None if !reader.has_buffered_line() => gathered.flush(),
            None => None,
        };
        if let Some(lines) = ready
            && !to_client.send(lines).await
        {
            return ServerEnd::ClientGone;
        }
        if gathered.is_empty() && shared.has_audit_jobs() {
            // The answers just queued reach the client before their records are written
            // (the writer runs first), so a record costs the client no latency. They are
            // still written before anything the client sends next (its relay flushes them
            // first), so the trail keeps the order in which the client could act on them.
            // `refuse` concerns requests, which are recorded before they are relayed.
            tokio::task::yield_now().await;
            shared.flush_audit();
        }
    }
}

/// `line` with every credential handed to the server taken out: a server that echoes its
/// token (plainly, base64-encoded, escaped) must not hand it to the model.
fn without_credentials(shared: &Shared, line: Bytes) -> Bytes {
    let Some(scrubber) = shared.scrubber() else {
        return line;
    };
    let body = line.strip_suffix(b"\n").unwrap_or(&line);
    match scrubber.scrub_injected_line(body) {
        Some(mut clean) => {
            clean.push(b'\n');
            Bytes::from(clean)
        }
        None => line,
    }
}

/// Delivers what was gathered before the reader ended.
async fn finish(
    shared: &Shared,
    gathered: &mut Coalescer,
    to_client: &LineSender,
    end: ServerEnd,
) -> ServerEnd {
    let delivered = match gathered.flush() {
        Some(lines) => to_client.send(lines).await,
        None => true,
    };
    shared.flush_audit();
    if delivered {
        end
    } else {
        ServerEnd::ClientGone
    }
}

/// Checks one server line.
fn inspect_line(shared: &Arc<Shared>, line: Bytes) -> Outcome {
    let text = match message::line_text(&line) {
        Ok(text) => text,
        Err(malformed) => {
            let found = id_recovery::recover(&line, None);
            return divert(
                shared,
                &line,
                found,
                ErrorCode::ResponseUnreadable,
                &malformed.to_string(),
            );
        }
    };
    if text.trim().is_empty() {
        return Outcome::default();
    }
    match message::parse(text) {
        Ok(Parsed::Single(kind)) => match note(shared, kind, &line, line.len()) {
            Fate::Deliver => Outcome {
                to_client: Some(line),
                to_server: None,
            },
            Fate::Replace(replaced) => Outcome {
                to_client: Some(replaced),
                to_server: None,
            },
            Fate::Drop => Outcome::default(),
            Fate::AnswerServer(error) => Outcome {
                to_client: None,
                to_server: Some(error),
            },
        },
        Ok(Parsed::Batch(elements)) => {
            let total = elements.len();
            // Each element as it goes on: its own text, or what inspection made of it.
            let mut kept: Vec<String> = Vec::with_capacity(total);
            let mut rewritten = false;
            let mut outcome = Outcome::default();
            let mut errors_for_client = Vec::new();
            for element in elements {
                match element.kind {
                    Ok(kind) => match note(shared, kind, &line, element.raw.get().len()) {
                        Fate::Deliver => kept.push(element.raw.get().to_owned()),
                        Fate::Replace(replaced) => {
                            rewritten = true;
                            kept.push(String::from_utf8_lossy(&replaced).trim_end().to_owned());
                        }
                        Fate::Drop => {}
                        Fate::AnswerServer(error) => {
                            let mut errors =
                                outcome.to_server.take().map(Vec::from).unwrap_or_default();
                            errors.extend_from_slice(&error);
                            outcome.to_server = Some(Bytes::from(errors));
                        }
                    },
                    Err(malformed) => {
                        let raw = element.raw.get().as_bytes();
                        let why = format!("batch element: {malformed}");
                        let diverted = divert(
                            shared,
                            raw,
                            id_recovery::recover(raw, None),
                            ErrorCode::ResponseUnreadable,
                            &why,
                        );
                        errors_for_client.extend(diverted.to_client);
                        outcome.to_server = outcome.to_server.or(diverted.to_server);
                    }
                }
            }
            let mut for_client: Vec<u8> = match kept.len() {
                0 => Vec::new(),
                n if n == total && !rewritten => line.to_vec(),
                _ => format!("[{}]\n", kept.join(",")).into_bytes(),
            };
            for error in errors_for_client {
                for_client.extend_from_slice(&error);
            }
            outcome.to_client = (!for_client.is_empty()).then(|| Bytes::from(for_client));
            outcome
        }
        Err(malformed) => {
            let found = id_recovery::recover(text.as_bytes(), None);
            divert(
                shared,
                &line,
                found,
                ErrorCode::ResponseUnreadable,
                &malformed.to_string(),
            )
        }
    }
}

/// What becomes of one server message.
#[derive(Debug, PartialEq, Eq)]
enum Fate {
    /// It goes to the client as it is.
    Deliver,
    /// The client gets this instead: a tools/list without hidden tools, an inspected
    /// result, or an error in place of an answer that was withheld.
    Replace(Bytes),
    /// Nobody gets it.
    Drop,
    /// Not relayed; the server gets this error for its request.
    AnswerServer(Bytes),
}

/// Records what one server message means and decides its fate. A tools/list answer
/// teaches the catalog and the pins; a tool result is inspected; the server's own requests
/// are recorded before they reach the client.
fn note(shared: &Arc<Shared>, kind: Kind<'_>, line: &Bytes, bytes: usize) -> Fate {
    let mut state = shared.lock();
    match kind {
        Kind::Response {
            id: Some(id),
            is_error,
            result,
        } => match state.pending.server_response(&id) {
            ResponseFate::Answers(request) => {
                if request.method == methods::TOOLS_CALL {
                    let failed = || {
                        is_error
                            || result
                                .is_some_and(|r| crate::mcp::tool_call::result_is_error(r.get()))
                    };
                    state
                        .throttles
                        .call_ended(failed, std::time::Instant::now());
                    if let Some(digest) = &request.approved {
                        // The server's own questions about an approved call are rounds of
                        // it: the retries that answer them are not asked about again.
                        match result
                            .and_then(|r| crate::mcp::tool_call::input_request_state(r.get()))
                        {
                            // The retry that carries exactly this state continues the call; a
                            // person may take a while over the server's own question.
                            Some(request_state) => state.approvals.allow_continuation(
                                digest.clone(),
                                crate::audit::chain::sha256_hex(request_state.as_bytes()),
                                std::time::Instant::now() + CONTINUATION,
                            ),
                            None => state.approvals.complete(digest),
                        }
                    }
                }
                // What a stage must read and cannot is withheld, never relayed unjudged.
                let mut withheld = None;
                let mut replacement = None;
                if request.method == methods::TOOLS_LIST
                    && let Some(result) = result
                {
                    match learn_tools(shared, &mut state, &id, result.get()) {
                        Ok(hidden) => replacement = hidden,
                        Err(why) => withheld = Some(why),
                    }
                }
                if request.method == methods::TOOLS_CALL
                    && let (Some(result), Some(policy)) = (result, shared.policy.as_ref())
                    && response::worth_inspecting(result.get(), &policy.responses)
                {
                    match inspect_result(shared, policy, &mut state, &request, &id, result.get()) {
                        Ok(changed) => replacement = changed,
                        Err(why) => withheld = Some(why),
                    }
                }
                if let Some(why) = withheld {
                    let why = format!(
                        "the server's answer to {} was withheld: {why}",
                        request.method
                    );
                    tracing::warn!(server = %shared.config.server_name, "{why} (id {id})");
                    if let Some(audit) = state.audit.as_mut() {
                        audit.refused(Some(recording::id_value(&id)), "response.unreadable", &why);
                    }
                    replacement = Some(reply::error_line(
                        Some(&id),
                        ErrorCode::ResponseUnreadable,
                        &why,
                    ));
                }
                if state.audit.is_some() {
                    let job = recording::Job::Response {
                        latency_ms: request.started.elapsed().as_secs_f64() * 1000.0,
                        id,
                        request,
                        is_rpc_error: is_error,
                        line: line.clone(),
                        result: result.and_then(|r| recording::range_in(line, r.get())),
                        bytes,
                    };
                    state.audit_jobs.push(job);
                }
                replacement.map_or(Fate::Deliver, Fate::Replace)
            }
            ResponseFate::Unknown => {
                // Not an answer to anything the client asked (or asked and cancelled): it
                // would reach the client uninspected, and a client that matches ids loosely
                // ("5" for 5) would take it as the answer to a call mcpguard is still judging.
                tracing::warn!(
                    server = %shared.config.server_name,
                    "dropped the server's answer to request {id}, which the client has not asked (or has cancelled)"
                );
                Fate::Drop
            }
            ResponseFate::AlreadyAnswered => {
                tracing::warn!(
                    server = %shared.config.server_name,
                    "dropped the server's late answer to request {id}: mcpguard already answered it (timeout)"
                );
                Fate::Drop
            }
        },
        // An error the server could not tie to a request goes on; a result with no id is
        // not an answer to anything and would skip inspection.
        Kind::Response {
            id: None, is_error, ..
        } => {
            if !is_error {
                tracing::warn!(server = %shared.config.server_name, "dropped a result without an id from the server");
                return Fate::Drop;
            }
            Fate::Deliver
        }
        Kind::Request { id, method, params } => {
            // The client is asked on the server's behalf (a model to sample, a person to
            // answer): the trail holds what was asked, and what it cannot hold is not asked.
            let refusal = match params.map(|p| content::check(p.get())).transpose() {
                Err(unreadable) => Some((
                    ErrorCode::Malformed,
                    format!("the params of this {method} request cannot be read in full: {unreadable}"),
                )),
                Ok(_) => state.audit.as_mut().and_then(|audit| {
                    let written = recording::server_request(audit, &id, &method, params.map(|p| p.get()));
                    (written.is_err() && audit.refuses_unrecorded()).then(|| {
                        (
                            ErrorCode::AuditUnavailable,
                            "the audit trail cannot be written, so this request is not relayed to the client \
                             (audit.on-failure = \"refuse\")"
                                .to_owned(),
                        )
                    })
                }),
            };
            if let Some((code, why)) = refusal {
                tracing::warn!(server = %shared.config.server_name, "refused the server's {method} request {id}: {why}");
                return Fate::AnswerServer(reply::error_line(Some(&id), code, &why));
            }
            state.pending.server_request(id, &method);
            Fate::Deliver
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
            Fate::Deliver
        }
    }
}

/// Inspects a tool result (control characters, size, injection, outputSchema); returns the
/// line to send instead when it changed, or why the result cannot be inspected. Findings go
/// to stderr and the audit trail.
fn inspect_result(
    shared: &Shared,
    policy: &Policy,
    state: &mut State,
    request: &ClientRequest,
    id: &RequestId,
    raw: &str,
) -> Result<Option<Bytes>, String> {
    if let Some(problem) = keys::keys_of(raw).and_then(|k| keys::shadowing(&k, RESULT_KEYS)) {
        return Err(format!(
            "it is not a result every client reads alike: {problem}"
        ));
    }
    let value = content::read(raw).map_err(|e| format!("it cannot be inspected: {e}"))?;
    let tool = request.tool.as_deref().unwrap_or("?");
    let entry = state
        .pins
        .as_ref()
        .and_then(|p| p.file.entry(tool))
        .or_else(|| state.catalog.get(tool).cloned());
    let output_schema = entry
        .map(|e| e.output_schema)
        .unwrap_or(serde_json::Value::Null);
    let inspection = response::inspect(
        value,
        tool,
        &output_schema,
        &policy.responses,
        &mut state.schemas,
    );
    if inspection.findings.is_empty() {
        return Ok(None);
    }
    let server = &shared.config.server_name;
    tracing::warn!(
        %server,
        "the answer of {tool} (id {id}) {}: {}",
        if inspection.blocked { "was withheld" } else { "was inspected" },
        inspection.findings.join("; ")
    );
    if let Some(audit) = state.audit.as_mut() {
        audit.inspection(
            tool,
            recording::id_value(id),
            serde_json::json!({ "findings": inspection.findings, "blocked": inspection.blocked, "changed": inspection.replaced.is_some() }),
        );
    }
    Ok(inspection
        .replaced
        .map(|replaced| reply::result_line(id, &replaced)))
}

/// Learns a tools/list answer (the catalog, the pins) and returns the answer the client
/// gets instead when tools are hidden; an error when the answer cannot be read in full or
/// does not have the shape of a tool list (what the catalog cannot learn, the pins cannot
/// compare, so it is not relayed).
fn learn_tools(
    shared: &Shared,
    state: &mut State,
    id: &RequestId,
    raw: &str,
) -> Result<Option<Bytes>, String> {
    if let Some(problem) = keys::keys_of(raw).and_then(|k| keys::shadowing(&k, LIST_KEYS)) {
        return Err(format!(
            "it is not a tool list every client reads alike: {problem}"
        ));
    }
    let value = content::read(raw).map_err(|e| format!("it cannot be read in full: {e}"))?;
    state
        .catalog
        .learn(&value)
        .map_err(|e| format!("it is not a tool list mcpguard can check: {e}"))?;
    observe_pins(shared, state, &value);
    let hide_pending = state.pins.as_ref().is_some_and(|p| p.enforce);
    let hide_policy = shared.policy.as_ref().filter(|p| p.hide_denied);
    if hide_pending || hide_policy.is_some() {
        return Ok(hide_tools(hide_policy, state, id, value));
    }
    Ok(None)
}

/// Compares a tools/list answer with the pins: reports and records every change, and
/// saves the pins (first sight pins everything).
fn observe_pins(shared: &Shared, state: &mut State, value: &serde_json::Value) {
    let client_kind = state.client_capabilities.clone();
    let Some(pins) = state.pins.as_mut() else {
        return;
    };
    let Some(tools) = value.get("tools").and_then(|t| t.as_array()) else {
        return;
    };
    // An empty cursor ends a list as the SDKs read it.
    let more = value
        .get("nextCursor")
        .is_some_and(|c| !c.is_null() && c.as_str() != Some(""));
    pins.paginated |= more;
    // Removals are only inferred from a list that never paginated (one page is all of it).
    let complete = !pins.paginated;
    let before = pins.file.tools.len();
    // The first listing to a kind of client never seen pins what it alone is shown.
    if pins.file.is_new_client_kind(&client_kind) {
        pins.first_listing = true;
    }
    let changes = pins
        .file
        .observe_page(tools, complete, pins.first_listing, &client_kind);
    if !more {
        pins.first_listing = false;
    }
    if changes.is_empty() && pins.file.tools.len() == before {
        return;
    }
    let server = &shared.config.server_name;
    for change in &changes {
        tracing::warn!(
            %server,
            "tool {} {} since it was pinned ({}){}",
            change.tool,
            change.kind,
            change.what.join("; "),
            if pins.enforce { "; blocked until `mcpguard pins approve`" } else { "" }
        );
    }
    if let Err(e) = crate::mcp::pins::save(&pins.path, &pins.file) {
        tracing::error!(%server, "could not save the pins to {}: {e}", pins.path.display());
    }
    if !changes.is_empty()
        && let Some(audit) = state.audit.as_mut()
    {
        audit.pin_change(serde_json::json!({ "changes": changes, "enforced": state.pins.as_ref().is_some_and(|p| p.enforce) }));
    }
}

/// A tools/list answer without the tools that cannot be called: those the profile denies
/// (with `hide-denied`) and those waiting for pin approval (when pins are enforced).
/// Pagination cursors and every other field stay untouched; None when nothing is hidden.
fn hide_tools(
    policy: Option<&Policy>,
    state: &State,
    id: &RequestId,
    mut value: serde_json::Value,
) -> Option<Bytes> {
    let tools = value.get_mut("tools")?.as_array_mut()?;
    let before = tools.len();
    let pending = |name: &str| {
        state
            .pins
            .as_ref()
            .is_some_and(|p| p.enforce && p.file.is_pending(name))
    };
    tools.retain(|tool| {
        let name = tool.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let entry = state
            .pins
            .as_ref()
            .and_then(|p| p.file.entry(name))
            .or_else(|| state.catalog.get(name).cloned());
        !pending(name)
            && policy.is_none_or(|p| p.tool_verdict(name, entry.as_ref()) != Verdict::Deny)
    });
    if tools.len() == before {
        return None;
    }
    Some(reply::result_line(id, &value))
}

/// Sends a line that is not a relayable message to stderr instead of the client. When it
/// was the answer to a pending client request, the client gets an error for that request;
/// when it was a request of the server's own, the server gets the error; so nobody waits
/// forever for something that will never come.
fn divert(
    shared: &Arc<Shared>,
    line: &[u8],
    found: Recovered,
    code: ErrorCode,
    why: &str,
) -> Outcome {
    let preview = String::from_utf8_lossy(&line[..line.len().min(PREVIEW_BYTES)]);
    let preview = preview.trim_end().escape_debug().to_string();
    tracing::warn!(
        server = %shared.config.server_name,
        "the server wrote something to stdout that is not a relayable MCP message ({why}); \
         not forwarded to the client: {preview}"
    );
    let Some(id) = found.id else {
        return Outcome::default();
    };
    if found.role == Role::Request {
        let message = format!("the server's request could not be relayed to the client: {why}");
        return Outcome {
            to_client: None,
            to_server: Some(reply::error_line(Some(&id), code, &message)),
        };
    }
    let answered = {
        let mut state = shared.lock();
        let fate = state.pending.server_response(&id);
        if let (ResponseFate::Answers(request), Some(audit)) = (&fate, state.audit.as_mut()) {
            recording::ended_without_answer(
                audit,
                crate::audit::record::EventKind::Unreadable,
                &id,
                request,
            );
        }
        matches!(fate, ResponseFate::Answers(_))
    };
    let message = format!("the server's answer could not be relayed: {why}");
    Outcome {
        to_client: answered.then(|| reply::error_line(Some(&id), code, &message)),
        to_server: None,
    }
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
            start_hints: Vec::new(),
            workspace: "/w".into(),
            server_identity: "t-0".into(),
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
        assert_eq!(reply.to_server, None);
        let reply: serde_json::Value = serde_json::from_slice(&reply.to_client.unwrap()).unwrap();
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
            Outcome::default()
        );
        assert_eq!(
            inspect_line(&shared, Bytes::from_static(b"\n")),
            Outcome::default()
        );
    }

    #[test]
    fn messages_pass_unchanged() {
        let shared = shared();
        let line = Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"a\" : 1}}\r\n");
        assert_eq!(
            inspect_line(&shared, line.clone()),
            Outcome {
                to_client: Some(line),
                to_server: None
            }
        );
    }

    #[test]
    fn a_broken_server_request_is_answered_to_the_server() {
        let shared = shared();
        let outcome = inspect_line(
            &shared,
            Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"roots/list\",}\n"),
        );
        assert_eq!(outcome.to_client, None);
        let reply: serde_json::Value = serde_json::from_slice(&outcome.to_server.unwrap()).unwrap();
        assert_eq!(reply["id"], serde_json::json!(0));
    }

    #[test]
    fn a_late_answer_leaves_the_rest_of_its_batch() {
        let shared = shared();
        let generation = shared.lock().pending.client_request(
            RequestId::Number("1".into()),
            "tools/call",
            None,
            None,
            None,
        );
        shared
            .lock()
            .pending
            .answer_by_guard(&RequestId::Number("1".into()), generation);
        shared.lock().pending.client_request(
            RequestId::Number("2".into()),
            "ping",
            None,
            None,
            None,
        );
        let line = Bytes::from_static(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}, {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}]\n");
        assert_eq!(
            inspect_line(&shared, line).to_client,
            Some(Bytes::from_static(
                b"[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}]\n"
            ))
        );
    }
}
