//! The policy pipeline on every `tools/call`: the strictest decision wins, and every rule
//! that matched is kept for the audit record.
//!
//! Stages, in order: the call's shape (a name, object arguments, a tool this session has
//! seen listed), the tool's own `inputSchema`, the profile's tool decisions (name patterns
//! and, for tools that may change things, the `destructive` decision), the argument rules,
//! then the rate limit. A `prompt` is left for the gate (`proxy::gate`), which asks a
//! person when an approval channel is there and falls back to `on-prompt` when none is.
//! A denial is a decision, never an error.

pub(crate) mod args;
pub(crate) mod breaker;
pub(crate) mod names;
pub(crate) mod rate;
pub(crate) mod repeat;
pub(crate) mod response;
pub(crate) mod schema;
pub(crate) mod throttle;

use crate::mcp::catalog::ToolEntry;
use crate::profile::model::{Profile, Verdict};
use serde_json::Value;

/// Why a call was decided as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) verdict: Verdict,
    /// A stable name for what decided (`denied.schema`, `tools.deny:delete_*`, ...).
    pub(crate) rule: String,
    pub(crate) reason: String,
}

/// The outcome of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub(crate) verdict: Verdict,
    /// The finding that decided (the strictest; the first among equals).
    pub(crate) decisive: Finding,
    /// Everything that matched.
    pub(crate) findings: Vec<Finding>,
}

/// A compiled profile, ready to judge calls.
pub(crate) struct Policy {
    names: names::NameRules,
    args: args::ArgRules,
    on_prompt: Verdict,
    unlisted: Verdict,
    check_schema: bool,
    pub(crate) hide_denied: bool,
    pub(crate) rate: Option<rate::RateSpec>,
    pub(crate) responses: response::ResponseRules,
    /// Where the server's relative paths and `~` lead.
    pub(crate) base: args::Base,
    /// Per-tool rates: (glob text, matcher, rate).
    pub(crate) per_tool: Vec<(String, globset::GlobMatcher, rate::RateSpec)>,
    /// Most tools/call in flight at once.
    pub(crate) concurrency: Option<usize>,
    /// Loop detection: (count, window).
    pub(crate) repeats: Option<(usize, std::time::Duration)>,
    /// Circuit breaker: (consecutive failures, cool-down).
    pub(crate) breaker: Option<(u32, std::time::Duration)>,
    /// Where a call that needs approval is asked, in order.
    pub(crate) approval_channels: Vec<crate::approval::Channel>,
    /// How long a held call waits for a person.
    pub(crate) approval_timeout: std::time::Duration,
}

fn duration(
    text: &Option<String>,
    key: &str,
    default: u64,
) -> Result<std::time::Duration, PolicyError> {
    match text {
        Some(text) => crate::units::parse_duration(text)
            .map_err(|problem| PolicyError::value(format!("limits.{key}"), problem.to_string())),
        None => Ok(std::time::Duration::from_secs(default)),
    }
}

/// Why a profile cannot be compiled into a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PolicyError {
    /// A tool-name glob or an argument rule that does not compile (the message names it).
    #[error("{0}")]
    Rule(String),
    /// A value that does not parse, under its profile key.
    #[error("{key}: {problem}")]
    Value { key: String, problem: String },
}

impl PolicyError {
    fn value(key: impl Into<String>, problem: impl Into<String>) -> Self {
        PolicyError::Value {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl Policy {
    pub(crate) fn new(profile: &Profile) -> Result<Policy, PolicyError> {
        Ok(Policy {
            names: names::NameRules::new(&profile.tools).map_err(PolicyError::Rule)?,
            args: args::ArgRules::new(&profile.tools.rules).map_err(PolicyError::Rule)?,
            on_prompt: profile.tools.on_prompt.unwrap_or(Verdict::Deny),
            unlisted: profile.tools.unlisted.unwrap_or(Verdict::Deny),
            check_schema: profile.tools.check_schema.unwrap_or(true),
            hide_denied: profile.tools.hide_denied.unwrap_or(false),
            base: args::Base::default(),
            responses: response::ResponseRules {
                strip_control: profile.responses.strip_control.unwrap_or(true),
                max_text: match &profile.responses.max_text {
                    Some(text) if text == "off" => None,
                    Some(text) => Some(
                        crate::units::parse_size(text)
                            .map_err(|e| PolicyError::value("responses.max-text", e.to_string()))?,
                    ),
                    None => None,
                },
                injection: profile.responses.injection.unwrap_or_default(),
                check_output_schema: profile.responses.check_output_schema.unwrap_or(true),
            },
            per_tool: profile
                .limits
                .per_tool
                .iter()
                .map(|(pattern, rate_text)| {
                    let glob = globset::Glob::new(pattern).map_err(|e| {
                        PolicyError::value(
                            "limits.per-tool",
                            format!("`{pattern}` is not a valid glob: {e}"),
                        )
                    })?;
                    let spec = rate::RateSpec::parse(rate_text, None).map_err(|e| {
                        PolicyError::value(format!("limits.per-tool.\"{pattern}\""), e)
                    })?;
                    // A per-tool bucket holds as many calls as its rate names.
                    let burst = spec.per_second * rate::seconds_of(rate_text);
                    Ok((
                        pattern.clone(),
                        glob.compile_matcher(),
                        rate::RateSpec {
                            burst: burst.max(1.0),
                            ..spec
                        },
                    ))
                })
                .collect::<Result<_, PolicyError>>()?,
            concurrency: profile.limits.concurrency,
            approval_channels: match &profile.tools.approval {
                Some(channels) => {
                    let mut unique = Vec::new();
                    for channel in channels {
                        if unique.contains(channel) {
                            return Err(PolicyError::value(
                                "tools.approval",
                                format!("`{}` is named twice", channel.name()),
                            ));
                        }
                        unique.push(*channel);
                    }
                    unique
                }
                None => crate::approval::Channel::DEFAULT_ORDER.to_vec(),
            },
            approval_timeout: match &profile.tools.approval_timeout {
                Some(text) => {
                    let limit = crate::units::parse_duration(text).map_err(|problem| {
                        PolicyError::value("tools.approval-timeout", problem.to_string())
                    })?;
                    if limit.is_zero() {
                        return Err(PolicyError::value(
                            "tools.approval-timeout",
                            "must be longer than 0s (to never ask, leave tools.approval empty)",
                        ));
                    }
                    limit
                }
                None => crate::approval::DEFAULT_TIMEOUT,
            },
            repeats: match profile.limits.loop_count {
                Some(count) => Some((
                    count,
                    duration(&profile.limits.loop_window, "loop-window", 60)?,
                )),
                None => None,
            },
            breaker: match profile.limits.breaker_failures {
                Some(failures) => Some((
                    failures,
                    duration(&profile.limits.breaker_cooldown, "breaker-cooldown", 30)?,
                )),
                None => None,
            },
            rate: match &profile.limits.calls {
                Some(text) => Some(
                    rate::RateSpec::parse(text, profile.limits.burst).map_err(PolicyError::Rule)?,
                ),
                None => None,
            },
        })
    }

    /// The decision for a listed tool by its name and annotations alone (for hiding it):
    /// a tool that needs approval stays listed, since a person may allow it.
    pub(crate) fn tool_verdict(&self, name: &str, entry: Option<&ToolEntry>) -> Verdict {
        self.names.decide(name, entry).verdict
    }

    /// What a call that needs approval becomes when no approval channel is there.
    pub(crate) fn on_prompt(&self) -> Verdict {
        fallback(self.on_prompt)
    }

    /// Judges one `tools/call`. `name` is None when the call had no readable single name;
    /// `entry` is the tool as listed in this session (None: never listed).
    pub(crate) fn evaluate(
        &self,
        name: Option<&str>,
        arguments: Option<&Value>,
        entry: Option<&ToolEntry>,
        catalog_seen: bool,
        schemas: &mut schema::SchemaCache,
    ) -> Evaluation {
        let mut findings = Vec::new();
        let deny = |rule: &str, reason: String| Finding {
            verdict: Verdict::Deny,
            rule: rule.into(),
            reason,
        };
        match name {
            None => findings.push(deny(
                "denied.malformed",
                "the call has no tool name, or names it twice".into(),
            )),
            Some(name) => {
                if !matches!(arguments, None | Some(Value::Object(_))) {
                    findings.push(deny(
                        "denied.malformed",
                        "the arguments are not an object".into(),
                    ));
                }
                let unlisted = |reason: String| Finding {
                    verdict: self.unlisted,
                    rule: "denied.unlisted".into(),
                    reason,
                };
                if !catalog_seen {
                    findings.push(unlisted(
                        "the tool list has not been seen in this session; call tools/list first"
                            .into(),
                    ));
                } else if entry.is_none() {
                    findings.push(unlisted(format!(
                        "the server did not list a tool named `{name}`"
                    )));
                }
                if let Some(entry) = entry.filter(|_| self.check_schema)
                    && let Some(problem) = schemas.check(name, &entry.input_schema, arguments)
                {
                    findings.push(deny("denied.schema", problem));
                }
                let empty = Value::Object(Default::default());
                let by_name = self.names.decide(name, entry);
                // Among equally strict findings the first decides: the profile's explicit
                // lists and rules say more than the shape checks, which say more than
                // `tools.default`.
                let mut explicit = Vec::new();
                if by_name.rule != "tools.default" {
                    explicit.push(by_name.clone());
                }
                explicit.extend(
                    self.args
                        .check(name, arguments.unwrap_or(&empty), &self.base),
                );
                findings.splice(0..0, explicit);
                if by_name.rule == "tools.default" {
                    findings.push(by_name);
                }
            }
        }
        finish(findings)
    }
}

/// What `prompt` becomes without an approval channel: `on-prompt`, and never `prompt`
/// itself (that would wait for an answer that cannot come).
fn fallback(on_prompt: Verdict) -> Verdict {
    if on_prompt == Verdict::Allow {
        Verdict::Allow
    } else {
        Verdict::Deny
    }
}

/// Picks the strictest finding.
fn finish(mut findings: Vec<Finding>) -> Evaluation {
    let strictest = findings
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Allow);
    let decisive = findings
        .iter()
        .find(|f| f.verdict == strictest)
        .cloned()
        .unwrap_or(Finding {
            verdict: Verdict::Allow,
            rule: "default".into(),
            reason: "no rule matched".into(),
        });
    findings.retain(|f| f.verdict != Verdict::Allow || f.rule != "default");
    Evaluation {
        verdict: strictest,
        decisive,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load::{Variables, load};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn entry(schema: Value, annotations: Value) -> ToolEntry {
        ToolEntry {
            input_schema: schema,
            output_schema: Value::Null,
            annotations,
        }
    }

    fn policy(name: &str) -> Policy {
        let vars = Variables {
            workspace: "/ws".into(),
            home: "/home/me".into(),
            cwd: "/ws".into(),
        };
        Policy::new(&load(name, &vars).unwrap()).unwrap()
    }

    #[test]
    fn filesystem_profile_judges_calls() {
        let policy = policy("filesystem");
        let mut cache = schema::SchemaCache::default();
        let schema = json!({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path"]});
        let tool = entry(schema, json!({"readOnlyHint": true}));
        let read = policy.evaluate(
            Some("read_text_file"),
            Some(&json!({"path": "/ws/a.md"})),
            Some(&tool),
            true,
            &mut cache,
        );
        assert_eq!(read.verdict, Verdict::Allow);
        let outside = policy.evaluate(
            Some("read_text_file"),
            Some(&json!({"path": "/ws/../etc/passwd"})),
            Some(&tool),
            true,
            &mut cache,
        );
        assert_eq!(
            (outside.verdict, outside.decisive.rule.as_str()),
            (Verdict::Deny, "tools.rules[0]:*:/path")
        );
        let write = policy.evaluate(
            Some("write_file"),
            Some(&json!({"path": "/ws/a.md", "content": "x"})),
            Some(&tool),
            true,
            &mut cache,
        );
        assert_eq!(
            (write.verdict, write.decisive.rule.as_str()),
            (Verdict::Prompt, "tools.prompt:write_file")
        );
        assert_eq!(policy.on_prompt(), Verdict::Deny);
        let invalid = policy.evaluate(
            Some("read_text_file"),
            Some(&json!({"path": 7})),
            Some(&tool),
            true,
            &mut cache,
        );
        assert_eq!(invalid.decisive.rule, "denied.schema");
        let unlisted = policy.evaluate(
            Some("read_text_file"),
            Some(&json!({"path": "/ws/a"})),
            None,
            true,
            &mut cache,
        );
        assert_eq!(unlisted.decisive.rule, "denied.unlisted");
        let early = policy.evaluate(
            Some("read_text_file"),
            Some(&json!({"path": "/ws/a"})),
            None,
            false,
            &mut cache,
        );
        assert!(early.decisive.reason.contains("tools/list first"));
        let not_object = policy.evaluate(
            Some("read_text_file"),
            Some(&json!(["/ws/a"])),
            Some(&tool),
            true,
            &mut cache,
        );
        assert_eq!(not_object.decisive.rule, "denied.malformed");
        let nameless = policy.evaluate(None, None, None, true, &mut cache);
        assert_eq!(nameless.decisive.rule, "denied.malformed");
    }

    #[test]
    fn default_profile_needs_approval_for_unannotated_tools() {
        let policy = policy("default");
        let mut cache = schema::SchemaCache::default();
        let open = json!({"type":"object"});
        let read_only = policy.evaluate(
            Some("look"),
            Some(&json!({})),
            Some(&entry(open.clone(), json!({"readOnlyHint": true}))),
            true,
            &mut cache,
        );
        assert_eq!(read_only.verdict, Verdict::Allow);
        let unannotated = policy.evaluate(
            Some("change"),
            Some(&json!({})),
            Some(&entry(open.clone(), Value::Null)),
            true,
            &mut cache,
        );
        assert_eq!(
            (unannotated.verdict, unannotated.decisive.rule.as_str()),
            (Verdict::Prompt, "tools.destructive")
        );
        let harmless = policy.evaluate(
            Some("add"),
            Some(&json!({})),
            Some(&entry(open, json!({"destructiveHint": false}))),
            true,
            &mut cache,
        );
        assert_eq!(harmless.verdict, Verdict::Allow);
    }
}
