//! The policy gate on the client → server direction.
//!
//! Owns: running the policy on a `tools/call` (with the tools this session has seen listed,
//! the pins, the compiled schemas), then the session's throttles (`policy::throttle`), and
//! turning the outcome into either "forward" or the reply the client gets instead: a
//! blocked call as an `isError` tool result (the model reads why), a rate-limited one as a
//! `mcpguard.rate_limited` error.

use super::shared::{Shared, State};
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
        }
    }

    /// Blocked: the model gets a tool result saying why (contract: `code` in `_meta`).
    fn blocked(id: &RequestId, code: &str, rule: String, reason: String, modern: bool) -> Self {
        Outcome {
            blocked: Some(reply::denial_line(id, code, &rule, &reason, modern)),
            verdict: Verdict::Deny,
            rule,
            reason,
        }
    }

    /// Refused for now: the client gets a `mcpguard.rate_limited` error and may retry.
    fn rate_limited(id: &RequestId, rule: String, reason: String) -> Self {
        Outcome {
            blocked: Some(reply::error_line(Some(id), ErrorCode::RateLimited, &reason)),
            verdict: Verdict::Deny,
            rule,
            reason,
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
        } else if evaluation.prompt_resolved {
            "denied.prompt".to_owned()
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
        Ok(()) => Outcome::relayed(evaluation.verdict, decisive.rule, decisive.reason),
        Err(Throttled::RateLimited { rule, reason }) => Outcome::rate_limited(id, rule, reason),
        Err(Throttled::Blocked { code, rule, reason }) => {
            Outcome::blocked(id, code, rule.into(), reason, modern)
        }
    }
}
