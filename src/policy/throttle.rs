//! The stages that judge a call by the session's history rather than by the call itself.
//!
//! Owns: the session's rate buckets (`limits.calls`, `limits.per-tool`), the cap on calls in
//! flight (`limits.concurrency`), loop detection (`limits.loop-count`) and the circuit
//! breaker (`limits.breaker-*`), and the order they are asked in: the rate first (a refused
//! call is not counted anywhere else), then loops, then the breaker last, so that a call it
//! admits as its probe really goes to the server.

use super::Policy;
use super::breaker::Breaker;
use super::rate::Bucket;
use super::repeat::Repeats;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

/// Why a call that the profile allows is not relayed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Throttled {
    /// Too many calls: a JSON-RPC error (`mcpguard.rate_limited`) the client backs off on.
    RateLimited { rule: String, reason: String },
    /// A call the model should not repeat as it is: a blocked tool result it reads.
    Blocked {
        code: &'static str,
        rule: &'static str,
        reason: String,
    },
}

/// The session's history as these stages keep it.
#[derive(Debug)]
pub(crate) struct Throttles {
    calls: Option<Bucket>,
    per_tool: HashMap<String, Bucket>,
    repeats: Option<Repeats>,
    breaker: Option<Breaker>,
}

impl Throttles {
    pub(crate) fn new(policy: Option<&Policy>, now: Instant) -> Self {
        Throttles {
            calls: policy
                .and_then(|p| p.rate)
                .map(|spec| Bucket::new(spec, now)),
            per_tool: HashMap::new(),
            repeats: policy
                .and_then(|p| p.repeats)
                .map(|(count, window)| Repeats::new(count, window)),
            breaker: policy
                .and_then(|p| p.breaker)
                .map(|(failures, cooldown)| Breaker::new(failures, cooldown)),
        }
    }

    /// Whether a call to `tool` with `arguments` may go to the server now, with
    /// `in_flight` calls still unanswered.
    pub(crate) fn admit(
        &mut self,
        policy: &Policy,
        tool: &str,
        arguments: Option<&Value>,
        in_flight: usize,
        now: Instant,
    ) -> Result<(), Throttled> {
        if let Some(bucket) = self.calls.as_mut()
            && let Err(wait) = bucket.take(now)
        {
            return Err(Throttled::RateLimited {
                rule: "limits.calls".into(),
                reason: format!(
                    "too many tool calls: the profile allows {} (limits.calls, burst {}); retry in {:.1}s",
                    policy
                        .rate
                        .map_or(String::new(), |r| format!("{:.3}/s", r.per_second)),
                    policy.rate.map_or(0.0, |r| r.burst),
                    wait.as_secs_f64()
                ),
            });
        }
        for (pattern, glob, spec) in &policy.per_tool {
            if !glob.is_match(tool) {
                continue;
            }
            let bucket = self
                .per_tool
                .entry(pattern.clone())
                .or_insert_with(|| Bucket::new(*spec, now));
            if let Err(wait) = bucket.take(now) {
                return Err(Throttled::RateLimited {
                    rule: format!("limits.per-tool:{pattern}"),
                    reason: format!(
                        "too many calls to `{tool}`: limits.per-tool \"{pattern}\" allows {:.0} per period; retry in {:.1}s",
                        spec.burst,
                        wait.as_secs_f64()
                    ),
                });
            }
        }
        if let Some(limit) = policy.concurrency
            && in_flight >= limit
        {
            return Err(Throttled::RateLimited {
                rule: "limits.concurrency".into(),
                reason: format!(
                    "{limit} tool calls are already in flight (limits.concurrency); retry when one is answered"
                ),
            });
        }
        if let Some(repeats) = self.repeats.as_mut() {
            let key = format!(
                "{tool}\u{0}{}",
                arguments.map(Value::to_string).unwrap_or_default()
            );
            if let Err(before) = repeats.check(&key, now) {
                return Err(Throttled::Blocked {
                    code: "denied.loop",
                    rule: "limits.loop-count",
                    reason: format!(
                        "`{tool}` was called with the same arguments {before} times in a short window already; this looks like a loop (limits.loop-count)"
                    ),
                });
            }
        }
        if let Some(breaker) = self.breaker.as_mut()
            && let Err(wait) = breaker.admit(now)
        {
            return Err(Throttled::Blocked {
                code: "denied.breaker",
                rule: "limits.breaker-failures",
                reason: format!(
                    "the server failed {} tool calls in a row; calls fail fast for {:.0}s more (limits.breaker-failures, limits.breaker-cooldown)",
                    breaker.failures(),
                    wait.as_secs_f64().ceil()
                ),
            });
        }
        Ok(())
    }

    /// Tells the breaker how a relayed call ended (an error result, or no answer in time,
    /// is a failure); `failed` is asked only when there is a breaker to tell.
    pub(crate) fn call_ended(&mut self, failed: impl FnOnce() -> bool, now: Instant) {
        if let Some(breaker) = self.breaker.as_mut() {
            breaker.record(failed(), now);
        }
    }
}
