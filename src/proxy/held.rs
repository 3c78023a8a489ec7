//! A `tools/call` held for a person's approval while the relay goes on.
//!
//! Owns: choosing the channel that can reach a person now (the profile's `tools.approval`
//! order: the client's elicitation, a running `mcpguard approve`, the controlling terminal),
//! and, for a held call, putting the question before it, waiting (bounded by
//! `tools.approval-timeout`, never counted by `--call-timeout`) while other messages keep
//! flowing, telling a waiting client through its progress token, and then either relaying
//! the original bytes of the call or answering it with a denial that says how to approve
//! next time. An answer through one channel withdraws the question from the others. The
//! 2026-07-28 era's `input_required` round is not held here: the gate answers it at once
//! and checks the retry (`approval::request_state`).

use super::shared::{Shared, State};
use super::timeout;
use super::writer::LineSender;
use crate::approval::digest::CallDigest;
use crate::approval::table::Ask;
use crate::approval::{Answer, Approver, Channel, Choice, Scope, always, elicit, present, tty};
use crate::audit::DecisionRef;
use crate::jsonrpc::message::RequestId;
use crate::jsonrpc::reply;
use crate::mcp::era::Era;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How often a client with a progress token hears that its call still waits.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A call the gate decided to hold, with what the question shows.
#[derive(Debug, Clone)]
pub(crate) struct HoldRequest {
    pub(crate) tool: String,
    pub(crate) arguments: Value,
    pub(crate) digest: CallDigest,
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// The channel that asks (never `Elicit` in the modern era: that is answered at once).
    pub(crate) channel: Channel,
}

/// Whether the client declared form elicitation (`capabilities` of `initialize`, or a
/// modern request's `_meta` client capabilities).
pub(crate) fn elicits_form(capabilities: Option<&Value>) -> bool {
    match capabilities.and_then(|c| c.get("elicitation")) {
        Some(Value::Object(modes)) => modes.is_empty() || modes.contains_key("form"),
        _ => false,
    }
}

/// The first channel in the profile's order that can reach a person now; otherwise why
/// none can, one phrase per channel.
pub(crate) fn reachable(
    channels: &[Channel],
    state: &State,
    modern_client_elicits: bool,
) -> Result<Channel, Vec<String>> {
    let mut why_not = Vec::new();
    for channel in channels {
        match channel {
            Channel::Elicit => {
                let elicits = if state.era == Era::Modern {
                    modern_client_elicits && state.signer.is_some()
                } else {
                    state.client_elicits
                };
                if elicits {
                    return Ok(Channel::Elicit);
                }
                why_not.push("the client did not declare elicitation (tools.approval \"elicit\")".to_owned());
            }
            Channel::Socket => match &state.approval_dir {
                Some(dir) if present::someone_watching(dir, Some(&state.origin)) => {
                    return Ok(Channel::Socket);
                }
                Some(_) => why_not.push(
                    "no `mcpguard approve` is running (start one in a terminal, then retry the call)"
                        .to_owned(),
                ),
                None => why_not.push(
                    "the approval socket could not be opened (see the warning at start)".to_owned(),
                ),
            },
            Channel::Tty => {
                if tty::available() {
                    return Ok(Channel::Tty);
                }
                why_not.push("mcpguard has no controlling terminal".to_owned());
            }
        }
    }
    if channels.is_empty() {
        why_not.push("the profile names no approval channel (tools.approval = [])".to_owned());
    }
    Err(why_not)
}

/// How to approve next time, for a denial.
pub(crate) fn next_time(server: &str, tool: &str) -> String {
    format!(
        "to approve it, retry while `mcpguard approve` runs in a terminal (or answer the agent's \
         approval form); to stop asking, allow `{tool}` in the profile (tools.allow) or answer \
         \"always\" in `mcpguard approve` (server `{server}`)"
    )
}

/// What a held call needs besides the question: its id and progress token, and its bytes.
pub(crate) struct Held {
    pub(crate) id: RequestId,
    pub(crate) progress_token: Option<String>,
    pub(crate) line: Bytes,
    pub(crate) request: HoldRequest,
}

/// The two writers a held call may need.
#[derive(Clone)]
pub(crate) struct Outlets {
    pub(crate) to_server: LineSender,
    pub(crate) to_client: LineSender,
}

/// Holds `held`: puts the question before its channel (and on the socket's list, when the
/// profile names the socket), records it, and waits for the answer on a task of its own.
/// Returns the line to send the client now (the elicitation request), if any.
pub(crate) fn start(shared: &Arc<Shared>, held: Held, outlets: Outlets) -> Option<Bytes> {
    let Held {
        id,
        progress_token,
        line,
        request,
    } = held;
    let policy_channels = shared
        .policy
        .as_ref()
        .map(|p| p.approval_channels.clone())
        .unwrap_or_default();
    let timeout = shared
        .policy
        .as_ref()
        .map_or(crate::approval::DEFAULT_TIMEOUT, |p| p.approval_timeout);
    let server = shared.config.server_name.clone();
    let question = elicit::question(
        &server,
        &request.tool,
        &request.arguments,
        &request.rule,
        &request.reason,
    );
    let mut state = shared.lock();
    let (approval_id, elicitation_id) = state.approvals.next_ids();
    let mut channels = vec![request.channel];
    if request.channel != Channel::Socket
        && policy_channels.contains(&Channel::Socket)
        && state.approval_dir.is_some()
    {
        channels.push(Channel::Socket);
    }
    let started = std::time::Instant::now();
    let ask = Ask {
        id: approval_id.clone(),
        call_id: id.clone(),
        tool: request.tool.clone(),
        arguments: request.arguments.clone(),
        digest: request.digest.clone(),
        rule: request.rule.clone(),
        reason: request.reason.clone(),
        since: SystemTime::now(),
        started,
        deadline: started + timeout,
        channels: channels.clone(),
        elicitation_id: (request.channel == Channel::Elicit).then(|| elicitation_id.clone()),
        closed: Arc::default(),
    };
    let closed = Arc::clone(&ask.closed);
    let to_client_now = ask.elicitation_id.as_ref().map(|eid| {
        let params = elicit::params(&question);
        Bytes::from(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"elicitation/create\",\"params\":{params}}}\n",
            eid.to_json()
        ))
    });
    if let Some(audit) = state.audit.as_mut() {
        let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
        let _ = audit.approval_request(
            &request.tool,
            super::recording::id_value(&id),
            DecisionRef {
                verdict: "prompt",
                rule: &request.rule,
                reason: &request.reason,
            },
            json!({
                "approval": approval_id,
                "digest": request.digest.0,
                "channels": names,
                "timeout_ms": timeout.as_millis() as u64,
            }),
        );
    }
    let answer = state.approvals.open(ask);
    drop(state);
    tracing::info!(
        %server,
        "tools/call {} (id {id}) waits for approval {approval_id} ({})",
        crate::terminal::escape(&request.tool),
        channels.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
    );
    if request.channel == Channel::Tty {
        let (shared, approval_id, closed) =
            (Arc::clone(shared), approval_id.clone(), Arc::clone(&closed));
        tokio::task::spawn_blocking(move || {
            if let Some(choice) = tty::ask(&question, &closed) {
                let _ = shared.lock().approvals.answer(
                    &approval_id,
                    Answer {
                        choice,
                        approver: Approver::Tty,
                        pattern: None,
                    },
                );
            }
        });
    }
    let waiter = Waiter {
        shared: Arc::clone(shared),
        id,
        approval_id,
        progress_token,
        line,
        request,
        timeout,
        elicitation: (channels[0] == Channel::Elicit).then_some(elicitation_id),
        outlets,
    };
    tokio::spawn(waiter.wait(answer, started));
    to_client_now
}

struct Waiter {
    shared: Arc<Shared>,
    id: RequestId,
    approval_id: String,
    progress_token: Option<String>,
    line: Bytes,
    request: HoldRequest,
    timeout: Duration,
    elicitation: Option<RequestId>,
    outlets: Outlets,
}

/// How a held call ended.
enum End {
    Answered(Answer),
    TimedOut,
}

impl Waiter {
    async fn wait(
        self,
        mut answer: tokio::sync::oneshot::Receiver<Answer>,
        started: std::time::Instant,
    ) {
        let deadline = Instant::now() + self.timeout;
        let mut progress = tokio::time::interval(PROGRESS_EVERY);
        let end = loop {
            tokio::select! {
                received = &mut answer => match received {
                    Ok(answer) => break End::Answered(answer),
                    // Withdrawn by the client, or ended with the session: whoever took it
                    // out has answered for it.
                    Err(_) => return,
                },
                () = tokio::time::sleep_until(deadline) => {
                    if self.shared.lock().approvals.expire(&self.approval_id).is_some() {
                        break End::TimedOut;
                    }
                    // Answered in the same instant: the answer is in the channel.
                }
                _ = progress.tick(), if self.progress_token.is_some() => {
                    self.progress(started).await;
                }
            }
        };
        let waited = started.elapsed();
        if self.elicitation.is_some()
            && !matches!(&end, End::Answered(a) if a.approver == Approver::Client)
        {
            // The question still shows in the client: take it back.
            if let Some(eid) = &self.elicitation {
                self.outlets
                    .to_client
                    .send(reply::cancelled_line(
                        eid,
                        "mcpguard: answered elsewhere, or no longer waiting",
                    ))
                    .await;
            }
        }
        match end {
            End::Answered(answer) => self.answered(answer, waited).await,
            End::TimedOut => self.timed_out(waited).await,
        }
    }

    async fn progress(&self, started: std::time::Instant) {
        let Some(token) = &self.progress_token else {
            return;
        };
        let waited = started.elapsed().as_secs();
        let message = Value::String(format!(
            "mcpguard: waiting for approval {} ({}s of {}s)",
            self.approval_id,
            waited,
            self.timeout.as_secs()
        ));
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":{token},\"progress\":{waited},\"message\":{message}}}}}\n"
        );
        self.outlets.to_client.send(Bytes::from(line)).await;
    }

    /// Records how the approval ended; false when the trail refuses to go on without the
    /// record (`audit.on-failure = "refuse"`) and could not write it.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        state: &mut State,
        verdict: &str,
        reason: &str,
        answer: Option<&Answer>,
        outcome: &str,
        waited: Duration,
        always: Option<Value>,
    ) -> bool {
        let Some(audit) = state.audit.as_mut() else {
            return true;
        };
        let scope = answer.and_then(|a| match a.choice {
            Choice::Allow(scope) => Some(scope.name()),
            Choice::Deny(_) => None,
        });
        let mut detail = json!({
            "approval": self.approval_id,
            "outcome": outcome,
            "channel": answer.map(|a| a.approver.channel().name()),
            "uid": answer.and_then(|a| a.approver.uid()),
            "scope": scope,
            "wait_ms": waited.as_millis() as u64,
            "digest": self.request.digest.0,
        });
        if let Some(always) = always {
            detail["always"] = always;
        }
        let written = audit.approval_answer(
            &self.request.tool,
            super::recording::id_value(&self.id),
            DecisionRef {
                verdict,
                rule: "approval",
                reason,
            },
            answer.map(|a| a.approver.describe()),
            waited.as_secs_f64() * 1000.0,
            detail,
        );
        written.is_ok() || !audit.refuses_unrecorded()
    }

    async fn deny(&self, code: &str, rule: &str, reason: &str) {
        let modern = self.shared.lock().era == Era::Modern;
        self.outlets
            .to_client
            .send(reply::denial_line(&self.id, code, rule, reason, modern))
            .await;
    }

    async fn answered(self, answer: Answer, waited: Duration) {
        let server = self.shared.config.server_name.clone();
        let tool = crate::terminal::escape(&self.request.tool).into_owned();
        // Cancelled by the client in the instant since the answer: nothing more is sent.
        let cancelled = self.shared.lock().approvals.take_released(&self.id);
        if cancelled {
            let mut state = self.shared.lock();
            let reason = "the client cancelled the call as it was answered";
            self.record(
                &mut state,
                "deny",
                reason,
                Some(&answer),
                "withdrawn",
                waited,
                None,
            );
            tracing::info!(%server, "tools/call {tool} (id {}) cancelled by the client as it was answered; not relayed", self.id);
            return;
        }
        match &answer.choice {
            Choice::Deny(why) => {
                let reason = format!(
                    "the call needed approval ({}) and {why}",
                    self.request.reason
                );
                {
                    let mut state = self.shared.lock();
                    self.record(
                        &mut state,
                        "deny",
                        &reason,
                        Some(&answer),
                        "denied",
                        waited,
                        None,
                    );
                }
                tracing::info!(%server, "tools/call {tool} (id {}) denied: {why}", self.id);
                self.deny("denied.approval", "approval", &reason).await;
            }
            Choice::Allow(scope) => {
                let reason = format!(
                    "approved by {} ({})",
                    answer.approver.describe(),
                    scope.name()
                );
                let kept = (*scope == Scope::Always)
                    .then(|| keep_always(&self.shared.config, &self.request, &answer));
                let always = kept.as_ref().map(|kept| match kept {
                    Ok(entry) => json!({"entry": entry, "saved": true}),
                    Err(why) => json!({"saved": false, "error": why.to_string()}),
                });
                let relayed = {
                    let mut state = self.shared.lock();
                    if *scope == Scope::Session {
                        state.approvals.grant_session(self.request.digest.clone());
                    }
                    if self.record(
                        &mut state,
                        "allow",
                        &reason,
                        Some(&answer),
                        "allowed",
                        waited,
                        always,
                    ) {
                        let deadline = self
                            .shared
                            .config
                            .call_timeout
                            .map(|limit| Instant::now() + limit);
                        let generation = state.pending.client_request(
                            self.id.clone(),
                            crate::mcp::methods::TOOLS_CALL,
                            Some(self.request.tool.clone()),
                            self.progress_token.clone(),
                            deadline,
                        );
                        state
                            .pending
                            .mark_approved(&self.id, self.request.digest.clone());
                        Some(deadline.map(|d| (d, generation)))
                    } else {
                        None
                    }
                };
                if let Some(Err(why)) = &kept {
                    tracing::warn!(%server, "the approval of {tool} was not kept for later: {why}");
                }
                let Some(deadline) = relayed else {
                    // The trail cannot hold who approved it: not relayed.
                    self.deny(
                        "denied.audit",
                        "audit.on-failure",
                        "the call was approved, but the audit trail cannot record the approval \
                         (audit.on-failure = \"refuse\"); ask again once the trail is writable",
                    )
                    .await;
                    return;
                };
                tracing::info!(%server, "tools/call {tool} (id {}) {reason}; relayed", self.id);
                if let Some((deadline, generation)) = deadline {
                    timeout::arm(
                        Arc::clone(&self.shared),
                        self.id.clone(),
                        generation,
                        deadline,
                        self.outlets.to_client.clone(),
                        self.outlets.to_server.clone(),
                    );
                }
                self.outlets.to_server.send(self.line.clone()).await;
            }
        }
        self.shared.flush_audit();
    }

    async fn timed_out(self, waited: Duration) {
        let server = self.shared.config.server_name.clone();
        let reason = format!(
            "the call needed approval ({}) and nobody answered within {}; {}",
            self.request.reason,
            humantime::format_duration(self.timeout),
            next_time(&server, &self.request.tool)
        );
        let modern = {
            let mut state = self.shared.lock();
            self.record(&mut state, "deny", &reason, None, "timeout", waited, None);
            state.era == Era::Modern
        };
        tracing::warn!(
            %server,
            "tools/call {} (id {}) denied: nobody approved it within {}",
            crate::terminal::escape(&self.request.tool),
            self.id,
            humantime::format_duration(self.timeout)
        );
        self.outlets
            .to_client
            .send(reply::denial_line(
                &self.id,
                "denied.approval_timeout",
                "tools.approval-timeout",
                &reason,
                modern,
            ))
            .await;
    }
}

/// Writes the entry an "always" answer asked for: the exact call, with the string
/// arguments the person widened to their globs. Returns the entry as listed.
fn keep_always(
    config: &super::shared::SessionConfig,
    request: &HoldRequest,
    answer: &Answer,
) -> Result<String, always::AlwaysError> {
    let path = always::path()?;
    let entry = always::entry_for(
        &config.server_name,
        &config.server_identity,
        &request.tool,
        &request.arguments,
        &answer.pattern.clone().unwrap_or_default(),
        humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        answer.approver.describe(),
    )?;
    let shown = entry.shown();
    always::update(&path, |file| {
        file.entries.push(entry);
        Ok(())
    })?;
    Ok(shown)
}

/// Whether the user's approvals file allows this call; a file that cannot be read allows
/// nothing (and says why).
pub(crate) fn always_allows(
    config: &super::shared::SessionConfig,
    tool: &str,
    arguments: Option<&Value>,
) -> Option<String> {
    let path = always::path().ok()?;
    match always::load(&path) {
        Ok(file) => file
            .entries
            .iter()
            .position(|entry| entry.allows(&config.server_identity, tool, arguments))
            .map(|n| format!("{} entry {}", path.display(), n + 1)),
        Err(e) => {
            tracing::warn!(server = %config.server_name, "{e}");
            None
        }
    }
}

/// Answers every call still held when the session ends.
pub(crate) fn end_all(shared: &Shared, why: &str) -> Vec<Bytes> {
    let mut state = shared.lock();
    // Questions put in an `input_required` answer that no retry answered.
    let unanswered = state.approvals.drain_issued();
    if let Some(audit) = state.audit.as_mut() {
        for (approval, issued) in unanswered {
            let _ = audit.approval_answer(
                &issued.tool,
                super::recording::id_value(&issued.call_id),
                DecisionRef {
                    verdict: "deny",
                    rule: "approval",
                    reason: "the client never retried with an answer to the approval request",
                },
                None,
                issued.issued.elapsed().as_secs_f64() * 1000.0,
                json!({"approval": approval, "outcome": "unanswered", "channel": "elicit", "digest": issued.digest.0}),
            );
        }
    }
    let asks = state.approvals.drain();
    let modern = state.era == Era::Modern;
    let mut lines = Vec::new();
    for ask in asks {
        let reason = format!("the call needed approval and {why} before anyone answered");
        if let Some(audit) = state.audit.as_mut() {
            let _ = audit.approval_answer(
                &ask.tool,
                super::recording::id_value(&ask.call_id),
                DecisionRef {
                    verdict: "deny",
                    rule: "approval",
                    reason: &reason,
                },
                None,
                ask.started.elapsed().as_secs_f64() * 1000.0,
                json!({"approval": ask.id, "outcome": "ended", "digest": ask.digest.0}),
            );
        }
        lines.push(reply::denial_line(
            &ask.call_id,
            "denied.approval",
            "approval",
            &reason,
            modern,
        ));
    }
    lines
}

/// The client cancelled held call `id`: the question is withdrawn everywhere, and nothing
/// is answered. Returns the line that takes the question back from the client, if it was
/// asked there.
pub(crate) fn withdraw(state: &mut State, id: &RequestId) -> Option<Option<Bytes>> {
    let ask = match state.approvals.withdraw_call(id)? {
        crate::approval::table::Withdrawal::Asked(ask) => ask,
        // Answered an instant ago: its waiter stops it and records that.
        crate::approval::table::Withdrawal::Released => return Some(None),
    };
    if let Some(audit) = state.audit.as_mut() {
        let _ = audit.approval_answer(
            &ask.tool,
            super::recording::id_value(&ask.call_id),
            DecisionRef {
                verdict: "deny",
                rule: "approval",
                reason: "the client cancelled the call while it waited for approval",
            },
            None,
            ask.started.elapsed().as_secs_f64() * 1000.0,
            json!({"approval": ask.id, "outcome": "withdrawn", "digest": ask.digest.0}),
        );
    }
    Some(
        ask.elicitation_id
            .map(|eid| reply::cancelled_line(&eid, "mcpguard: the call was cancelled")),
    )
}
