//! The policy gate on the client → server direction.
//!
//! Owns: running the policy on a `tools/call` (with the tools this session has seen listed,
//! the pins, the compiled schemas), then the session's throttles (`policy::throttle`), and
//! turning the outcome into either "forward" or the reply the client gets instead: a
//! blocked call as an `isError` tool result (the model reads why), a rate-limited one as a
//! `mcpguard.rate_limited` error. A call that needs approval is let through when the person
//! already said yes (this session, or "always" in their approvals file, or the approved
//! round it retries), asked through the first channel that reaches a person (held by
//! `proxy::held`, or answered with mcpguard's own `input_required` in the 2026-07-28 era),
//! and decided by `tools.on-prompt` when no channel does.

use super::held::{self, HoldRequest};
use super::shared::{Shared, State};
use crate::approval::digest::CallDigest;
use crate::approval::request_state::INPUT_KEY;
use crate::approval::{Channel, elicit};
use crate::jsonrpc::message::RequestId;
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::mcp::era::Era;
use crate::policy::throttle::Throttled;
use crate::profile::model::Verdict;
use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

/// What the gate decided, for the relay and the audit record.
pub(crate) struct Outcome {
    /// The reply to send the client instead of forwarding; None: forward.
    pub(crate) blocked: Option<Bytes>,
    pub(crate) verdict: Verdict,
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// The call waits for a person (and `blocked` is None).
    pub(crate) hold: Option<HoldRequest>,
    /// A person approved this exact call (its digest): the server's own `input_required`
    /// answer to it opens one more round without asking again.
    pub(crate) approved: Option<CallDigest>,
}

/// What the call itself says about approval.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallApproval {
    /// The person approved this very call in the round it retries (mcpguard's own
    /// `requestState`, checked); the text says by whom.
    pub(crate) approved: Option<String>,
    /// It carries a `requestState` of the server's own (a round of the server's
    /// questions): the state's hash.
    pub(crate) server_state: Option<String>,
    /// Its `_meta` client capabilities declare form elicitation (2026-07-28 era).
    pub(crate) client_elicits: bool,
}

impl Outcome {
    /// What a request other than `tools/call` gets: relayed, only recorded.
    pub(crate) fn unjudged() -> Self {
        Outcome::relayed(
            Verdict::Allow,
            "default".into(),
            "only tools/call is judged".into(),
        )
    }

    /// Relayed to the server, under `verdict` (allow, or a prompt the profile resolved).
    fn relayed(verdict: Verdict, rule: String, reason: String) -> Self {
        Outcome {
            blocked: None,
            verdict,
            rule,
            reason,
            hold: None,
            approved: None,
        }
    }

    /// Blocked: the model gets a tool result saying why (contract: `code` in `_meta`).
    fn blocked(id: &RequestId, code: &str, rule: String, reason: String, modern: bool) -> Self {
        Outcome {
            blocked: Some(reply::denial_line(id, code, &rule, &reason, modern)),
            verdict: Verdict::Deny,
            rule,
            reason,
            hold: None,
            approved: None,
        }
    }

    /// Refused for now: the client gets a `mcpguard.rate_limited` error and may retry.
    fn rate_limited(id: &RequestId, rule: String, reason: String) -> Self {
        Outcome {
            blocked: Some(reply::error_line(Some(id), ErrorCode::RateLimited, &reason)),
            verdict: Verdict::Deny,
            rule,
            reason,
            hold: None,
            approved: None,
        }
    }
}

/// Judges a `tools/call` with `name` (None when unreadable or repeated); `content` is its
/// params read in full (the caller refuses params that cannot be).
pub(crate) fn judge(
    shared: &Shared,
    state: &mut State,
    id: &RequestId,
    name: Option<&str>,
    params: Option<&RawValue>,
    content: Option<&Value>,
    approval: &CallApproval,
) -> Outcome {
    let Some(policy) = &shared.policy else {
        return Outcome::relayed(
            Verdict::Allow,
            "default".into(),
            "no policy configured".into(),
        );
    };
    // `"arguments": null` is read as no arguments, as the SDKs read it.
    let arguments = content
        .and_then(|c| c.get("arguments"))
        .filter(|a| !a.is_null());
    // A name repeated in params, a key a lenient server would read as `name` or
    // `arguments`, or params that are not an object, give no name at all.
    // `keys_of` is `None` for params that are not an object.
    let keys = params.and_then(|p| crate::jsonrpc::keys::keys_of(p.get()));
    let name = name.filter(|_| {
        keys.as_deref().is_some_and(|keys| {
            crate::jsonrpc::keys::shadowing(keys, &["name", "arguments", "_meta"]).is_none()
        })
    });
    let State {
        catalog,
        schemas,
        era,
        pins,
        ..
    } = state;
    // Policy uses the pinned definition (annotations are untrusted hints; only the pinned
    // ones count), and the session's first sight of the tool when nothing is pinned yet.
    let entry = name.and_then(|n| {
        pins.as_ref()
            .and_then(|p| p.file.entry(n))
            .or_else(|| catalog.get(n).cloned())
    });
    if let (Some(name), Some(pins)) = (name, pins.as_ref())
        && pins.enforce
        && pins.file.is_pending(name)
    {
        let reason = format!(
            "the definition of `{name}` changed since it was pinned, or it appeared later; review it with \
             `mcpguard pins diff --server {server}` and accept it with `mcpguard pins approve --server {server}`",
            server = shared.config.server_name
        );
        return Outcome::blocked(
            id,
            "denied.pin",
            "tools.pins".into(),
            reason,
            *era == Era::Modern,
        );
    }
    let evaluation = policy.evaluate(
        name,
        arguments,
        entry.as_ref(),
        catalog.seen_list(),
        schemas,
    );
    let decisive = evaluation.decisive;
    if evaluation.verdict == Verdict::Deny {
        let code = if decisive.rule.starts_with("denied.") {
            decisive.rule.clone()
        } else {
            "denied.rule".to_owned()
        };
        tracing::info!(server = %shared.config.server_name, "blocked tools/call {} (id {id}): {}", name.unwrap_or("?"), decisive.reason);
        return Outcome::blocked(
            id,
            &code,
            decisive.rule,
            decisive.reason,
            *era == Era::Modern,
        );
    }
    let tool = name.unwrap_or("?");
    let mut verdict = evaluation.verdict;
    let (mut rule, mut reason) = (decisive.rule, decisive.reason);
    let mut ask = None;
    let mut approved = None;
    if verdict == Verdict::Prompt {
        let digest = CallDigest::of(tool, arguments);
        match route(shared, state, tool, arguments, &digest, approval) {
            Route::Granted(why) => {
                verdict = Verdict::Allow;
                reason = format!("{reason}; {why}");
                approved = Some(digest);
            }
            Route::Ask(channel) => {
                ask = Some(HoldRequest {
                    tool: tool.to_owned(),
                    arguments: arguments
                        .cloned()
                        .unwrap_or(Value::Object(Default::default())),
                    digest,
                    rule: rule.clone(),
                    reason: reason.clone(),
                    channel,
                });
            }
            Route::Nobody(why_not) => {
                let on_prompt = policy.on_prompt();
                reason = format!(
                    "{reason}; it needs approval, and no approval channel can reach a person now: {} (tools.on-prompt = \"{}\"); {}",
                    why_not.join("; "),
                    on_prompt.name(),
                    held::next_time(&shared.config.server_name, tool)
                );
                if on_prompt != Verdict::Allow {
                    tracing::info!(server = %shared.config.server_name, "blocked tools/call {tool} (id {id}): {reason}");
                    return Outcome::blocked(
                        id,
                        "denied.prompt",
                        rule,
                        reason,
                        state.era == Era::Modern,
                    );
                }
                verdict = Verdict::Allow;
            }
        }
    }
    let modern = state.era == Era::Modern;
    // Counting the calls in flight walks the pending table: only when a cap asks.
    let in_flight = if policy.concurrency.is_some() {
        state.pending.calls_in_flight()
    } else {
        0
    };
    let now = std::time::Instant::now();
    match state
        .throttles
        .admit(policy, tool, arguments, in_flight, now)
    {
        Ok(()) => match ask {
            None => Outcome {
                approved,
                ..Outcome::relayed(verdict, rule, reason)
            },
            Some(ask) if ask.channel == Channel::Elicit && modern => {
                input_required(shared, state, id, ask)
            }
            Some(ask) => Outcome {
                blocked: None,
                verdict: Verdict::Prompt,
                rule: std::mem::take(&mut rule),
                reason: std::mem::take(&mut reason),
                hold: Some(ask),
                approved: None,
            },
        },
        Err(Throttled::RateLimited { rule, reason }) => Outcome::rate_limited(id, rule, reason),
        Err(Throttled::Blocked { code, rule, reason }) => {
            Outcome::blocked(id, code, rule.into(), reason, modern)
        }
    }
}

/// Where a call that needs approval goes.
enum Route {
    /// The person already said yes; the text says where.
    Granted(String),
    /// Ask through this channel.
    Ask(Channel),
    /// No channel reaches a person; why not, per channel.
    Nobody(Vec<String>),
}

fn route(
    shared: &Shared,
    state: &mut State,
    tool: &str,
    arguments: Option<&Value>,
    digest: &CallDigest,
    approval: &CallApproval,
) -> Route {
    if let Some(by) = &approval.approved {
        return Route::Granted(by.clone());
    }
    if state.approvals.granted_for_session(digest) {
        return Route::Granted("approved for this session with the same arguments".into());
    }
    // One retry per round the server opened: taken here, opened again if the server asks
    // once more.
    if let Some(server_state) = &approval.server_state
        && state.approvals.take_continuation(digest, server_state)
    {
        return Route::Granted("a round of the server's own questions on an approved call".into());
    }
    if let Some(entry) = held::always_allows(&shared.config, tool, arguments) {
        return Route::Granted(format!("approved always ({entry})"));
    }
    if state.approvals.waiting() >= crate::approval::table::MAX_WAITING {
        return Route::Nobody(vec![format!(
            "{} calls already wait for approval in this session",
            crate::approval::table::MAX_WAITING
        )]);
    }
    let channels = shared
        .policy
        .as_ref()
        .map(|p| p.approval_channels.as_slice())
        .unwrap_or_default();
    match held::reachable(channels, state, approval.client_elicits) {
        Ok(channel) => Route::Ask(channel),
        Err(why_not) => Route::Nobody(why_not),
    }
}

/// The 2026-07-28 way to ask: the call is answered at once with mcpguard's own question and
/// a sealed `requestState`; the client's retry carries the answer (checked in the relay).
fn input_required(shared: &Shared, state: &mut State, id: &RequestId, ask: HoldRequest) -> Outcome {
    let timeout = shared
        .policy
        .as_ref()
        .map_or(crate::approval::DEFAULT_TIMEOUT, |p| p.approval_timeout);
    let (approval_id, _) = state.approvals.next_ids();
    state.approvals.issue(
        approval_id.clone(),
        crate::approval::table::Issued {
            tool: ask.tool.clone(),
            call_id: id.clone(),
            digest: ask.digest.clone(),
            issued: std::time::Instant::now(),
        },
    );
    let issued = state.signer.as_ref().map(|signer| {
        signer.issue(
            &ask.tool,
            &ask.digest,
            &approval_id,
            timeout,
            std::time::SystemTime::now(),
        )
    });
    let Some(Ok(request_state)) = issued else {
        let reason = format!(
            "{}; it needs approval, and mcpguard could not seal an approval request (no randomness from the kernel)",
            ask.reason
        );
        return Outcome::blocked(id, "denied.prompt", ask.rule, reason, true);
    };
    let question = elicit::question(
        &shared.config.server_name,
        &ask.tool,
        &ask.arguments,
        &ask.rule,
        &ask.reason,
    );
    let mut elicitation = elicit::params(&question);
    elicitation["mode"] = Value::String("form".into());
    let result = serde_json::json!({
        "resultType": "input_required",
        "inputRequests": {
            INPUT_KEY: {"method": "elicitation/create", "params": elicitation}
        },
        "requestState": request_state,
    });
    if let Some(audit) = state.audit.as_mut() {
        let _ = audit.approval_request(
            &ask.tool,
            super::recording::id_value(id),
            crate::audit::DecisionRef {
                verdict: "prompt",
                rule: &ask.rule,
                reason: &ask.reason,
            },
            serde_json::json!({
                "approval": approval_id,
                "digest": ask.digest.0,
                "channels": ["elicit"],
                "timeout_ms": timeout.as_millis() as u64,
            }),
        );
    }
    tracing::info!(
        server = %shared.config.server_name,
        "tools/call {} (id {id}) asks for approval {approval_id} through the client (input_required)",
        crate::terminal::escape(&ask.tool)
    );
    Outcome {
        blocked: Some(reply::result_line(id, &result)),
        verdict: Verdict::Prompt,
        rule: ask.rule,
        reason: ask.reason,
        hold: None,
        approved: None,
    }
}
