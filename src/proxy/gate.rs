//! The policy gate on the client → server direction.
//!
//! Owns: running the policy on a `tools/call` (with the tools this session has seen listed,
//! the compiled schemas and the rate bucket) and turning its outcome into either "forward"
//! or the reply the client gets instead: a blocked call as an `isError` tool result (the
//! model reads why), a rate-limited one as a `mcpguard.rate_limited` error.

use super::shared::{Shared, State};
use crate::jsonrpc::message::RequestId;
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::mcp::era::Era;
use crate::policy::rate::Bucket;
use crate::profile::model::Verdict;
use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

/// What the gate decided, for the relay and the audit record.
pub struct Outcome {
    /// The reply to send the client instead of forwarding; None: forward.
    pub blocked: Option<Bytes>,
    pub verdict: Verdict,
    pub rule: String,
    pub reason: String,
}

impl Outcome {
    /// What a request other than `tools/call` gets: relayed, only recorded.
    pub fn unjudged() -> Self {
        Outcome {
            blocked: None,
            verdict: Verdict::Allow,
            rule: "default".into(),
            reason: "only tools/call is judged".into(),
        }
    }
}

fn blocked_with(id: &RequestId, code: &str, rule: &str, reason: String, modern: bool) -> Outcome {
    Outcome {
        blocked: Some(reply::denial_line(id, code, rule, &reason, modern)),
        verdict: Verdict::Deny,
        rule: rule.into(),
        reason,
    }
}

/// Judges a `tools/call` with `name` (None when unreadable or repeated); `content` is its
/// params read in full (the caller refuses params that cannot be).
pub fn judge(
    shared: &Shared,
    state: &mut State,
    id: &RequestId,
    name: Option<&str>,
    params: Option<&RawValue>,
    content: Option<&Value>,
) -> Outcome {
    let Some(policy) = &shared.policy else {
        return Outcome {
            blocked: None,
            verdict: Verdict::Allow,
            rule: "default".into(),
            reason: "no policy configured".into(),
        };
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
        return Outcome {
            blocked: Some(reply::denial_line(
                id,
                "denied.pin",
                "tools.pins",
                &reason,
                *era == Era::Modern,
            )),
            verdict: Verdict::Deny,
            rule: "tools.pins".into(),
            reason,
        };
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
        return Outcome {
            blocked: Some(reply::denial_line(
                id,
                &code,
                &decisive.rule,
                &decisive.reason,
                *era == Era::Modern,
            )),
            verdict: Verdict::Deny,
            rule: decisive.rule,
            reason: decisive.reason,
        };
    }
    let now = std::time::Instant::now();
    let tool = name.unwrap_or("?");
    let modern = state.era == Era::Modern;
    // Order: the rate (a refused call is not counted anywhere else), then loops, then the
    // breaker last, so that a call it admits as its probe really goes to the server.
    if let Some(bucket) = state.bucket.as_mut()
        && let Err(wait) = bucket.take(now)
    {
        let reason = format!(
            "too many tool calls: the profile allows {} (limits.calls, burst {}); retry in {:.1}s",
            policy
                .rate
                .map_or(String::new(), |r| format!("{:.3}/s", r.per_second)),
            policy.rate.map_or(0.0, |r| r.burst),
            wait.as_secs_f64()
        );
        return Outcome {
            blocked: Some(reply::error_line(Some(id), ErrorCode::RateLimited, &reason)),
            verdict: Verdict::Deny,
            rule: "limits.calls".into(),
            reason,
        };
    }
    for (pattern, glob, spec) in &policy.per_tool {
        if !glob.is_match(tool) {
            continue;
        }
        let bucket = state
            .tool_buckets
            .entry(pattern.clone())
            .or_insert_with(|| Bucket::new(*spec, now));
        if let Err(wait) = bucket.take(now) {
            let reason = format!(
                "too many calls to `{tool}`: limits.per-tool \"{pattern}\" allows {:.0} per period; retry in {:.1}s",
                spec.burst,
                wait.as_secs_f64()
            );
            return Outcome {
                blocked: Some(reply::error_line(Some(id), ErrorCode::RateLimited, &reason)),
                verdict: Verdict::Deny,
                rule: format!("limits.per-tool:{pattern}"),
                reason,
            };
        }
    }
    if let Some(limit) = policy.concurrency
        && state.pending.calls_in_flight() >= limit
    {
        let reason = format!(
            "{limit} tool calls are already in flight (limits.concurrency); retry when one is answered"
        );
        return Outcome {
            blocked: Some(reply::error_line(Some(id), ErrorCode::RateLimited, &reason)),
            verdict: Verdict::Deny,
            rule: "limits.concurrency".into(),
            reason,
        };
    }
    if let Some(repeats) = state.repeats.as_mut() {
        let key = format!(
            "{tool}\u{0}{}",
            arguments.map(Value::to_string).unwrap_or_default()
        );
        if let Err(before) = repeats.check(&key, now) {
            let reason = format!(
                "`{tool}` was called with the same arguments {before} times in a short window already; this looks like a loop (limits.loop-count)"
            );
            return blocked_with(id, "denied.loop", "limits.loop-count", reason, modern);
        }
    }
    if let Some(breaker) = state.breaker.as_mut()
        && let Err(wait) = breaker.admit(now)
    {
        let reason = format!(
            "the server failed {} tool calls in a row; calls fail fast for {:.0}s more (limits.breaker-failures, limits.breaker-cooldown)",
            breaker.failures(),
            wait.as_secs_f64().ceil()
        );
        return blocked_with(
            id,
            "denied.breaker",
            "limits.breaker-failures",
            reason,
            modern,
        );
    }
    Outcome {
        blocked: None,
        verdict: evaluation.verdict,
        rule: decisive.rule,
        reason: decisive.reason,
    }
}
