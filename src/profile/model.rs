//! The profile format (contract: TOML; keys are added, never renamed).
//!
//! Owns: the typed sections a security team writes for one server: governance (`[profile]`),
//! the sandbox (`[sandbox]`), tool decisions and argument rules (`[tools]`,
//! `[[tools.rules]]`) and limits (`[limits]`). Unknown keys are errors, so a misspelt rule
//! never silently does nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Profile {
    #[serde(default)]
    pub(crate) profile: Meta,
    #[serde(default)]
    pub(crate) sandbox: SandboxSection,
    #[serde(default)]
    pub(crate) tools: ToolsSection,
    #[serde(default)]
    pub(crate) limits: LimitsSection,
    #[serde(default)]
    pub(crate) responses: ResponsesSection,
    #[serde(default)]
    pub(crate) audit: AuditSection,
    /// Credentials from the OS keyring handed to the server, by the environment variable
    /// that names them for the server (`[secrets.GITHUB_TOKEN]`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) secrets: std::collections::BTreeMap<String, SecretSpec>,
}

/// One credential the server gets: a stored secret, or a short-lived token a command mints
/// from it outside the sandbox.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SecretSpec {
    /// The name it was stored under (`mcpguard secret set NAME`).
    pub(crate) key: String,
    /// How long what the server holds may live ("15m", "1h"); when it runs out mcpguard
    /// mints (or reads) a fresh one and restarts the server between calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ttl: Option<String>,
    /// A command (argv) run outside the sandbox with the stored secret on its stdin; its
    /// stdout is the short-lived token the server gets instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) mint: Vec<String>,
    /// "env" (default): the value is in the variable; "file": it is in a file on a private
    /// tmpfs inside the sandbox, whose path is in `<NAME>_FILE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delivery: Option<Delivery>,
}

/// How a credential reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Delivery {
    /// As the value of the environment variable.
    #[default]
    Env,
    /// In a file on a private tmpfs; the variable `<NAME>_FILE` holds its path.
    File,
}

/// What the session does when its audit trail cannot be written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct AuditSection {
    /// "refuse" (default): requests whose record cannot be written are refused with
    /// `mcpguard.audit_unavailable` until it can; "continue": they are relayed unrecorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) on_failure: Option<AuditFailureMode>,
}

/// What happens to a request whose audit record cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditFailureMode {
    /// Refuse it: nothing reaches the server that the trail does not hold.
    #[default]
    Refuse,
    /// Relay it anyway, with a line on stderr.
    Continue,
}

/// What tool results may carry back to the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ResponsesSection {
    /// Largest total of text content per result (e.g. "1MiB", or "off"); the rest is cut
    /// with a visible marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_text: Option<String>,
    /// Remove ANSI escape sequences and control characters from text (default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) strip_control: Option<bool>,
    /// Prompt-injection heuristic: "flag" (default: report and record), "block" (withhold the
    /// result) or "off". Any other value is refused when the profile loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) injection: Option<InjectionMode>,
    /// Check structuredContent against the tool's pinned outputSchema (default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) check_output_schema: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Meta {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) version: u32,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) owner: String,
    /// YYYY-MM-DD; lint warns when it is past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) review_by: Option<String>,
    /// A built-in profile name or a file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) extends: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SandboxSection {
    /// none (the default) | host | allowlist
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) network: Option<Network>,
    /// Hosts reachable in allowlist mode: `api.example.com`, `*.example.org:443`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) allow_hosts: Vec<String>,
    /// Whether a package launcher (`npx`, `uvx`…) gets its registry allowed (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) launcher_registries: Option<bool>,
    #[serde(default)]
    pub(crate) read: Vec<String>,
    #[serde(default)]
    pub(crate) write: Vec<String>,
    /// Host variables passed through (by name).
    #[serde(default)]
    pub(crate) env: Vec<String>,
    /// Layers that must be in force, or mcpguard refuses to run (exit 125).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) require: Option<Vec<Layer>>,
}

/// The isolation layers a user can require (contract names: profile `require`, `--require`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Layer {
    Namespaces,
    Landlock,
    Seccomp,
}

impl Layer {
    pub(crate) const ALL: [Layer; 3] = [Layer::Namespaces, Layer::Landlock, Layer::Seccomp];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Layer::Namespaces => "namespaces",
            Layer::Landlock => "landlock",
            Layer::Seccomp => "seccomp",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Layer, String> {
        Layer::ALL.into_iter().find(|l| l.name() == text).ok_or_else(|| {
            format!("unknown sandbox layer `{text}`; the layers are namespaces, landlock and seccomp")
        })
    }
}

/// Network access of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Network {
    /// A network namespace with only loopback; Landlock refuses TCP there too where the
    /// kernel supports it (the default).
    #[default]
    None,
    /// The host's network, unfiltered.
    Host,
    /// Its own network namespace, like `None`, whose outbound TCP and name lookups reach
    /// mcpguard's egress filter and nothing else.
    Allowlist,
}

impl Network {
    /// The profile's word for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Host => "host",
            Network::Allowlist => "allowlist",
        }
    }
}

/// Tool pinning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PinMode {
    /// A tool whose definition changed since it was pinned, or that appeared later, is
    /// blocked and hidden until `mcpguard pins approve`.
    #[default]
    Enforce,
    /// The change is reported and recorded; policy keeps using the pinned definition.
    Warn,
    /// No pins are kept.
    Off,
}

/// What the prompt-injection heuristic does with a result that looks like one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InjectionMode {
    Off,
    /// Report on stderr and in the audit trail, and pass the result on.
    #[default]
    Flag,
    /// Withhold the result.
    Block,
}

/// allow < prompt < deny: the strictest decision wins.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Allow,
    Prompt,
    #[default]
    Deny,
}

impl Verdict {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Prompt => "prompt",
            Verdict::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ToolsSection {
    /// Decision for tools no pattern names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<Verdict>,
    /// Decision at least as strict as this for tools no list names that may change things: not annotated
    /// `readOnlyHint: true` or `destructiveHint: false` (absent annotations mean destructive,
    /// as the MCP specification says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) destructive: Option<Verdict>,
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    #[serde(default)]
    pub(crate) prompt: Vec<String>,
    #[serde(default)]
    pub(crate) deny: Vec<String>,
    /// Decision for calls to tools the server has not listed in this session, or made
    /// before any tools/list (default: deny).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unlisted: Option<Verdict>,
    /// Check each call's arguments against the tool's own inputSchema (default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) check_schema: Option<bool>,
    /// Tool pinning: `enforce` (default: a tool whose definition changed since it was pinned,
    /// or that appeared later, is blocked and hidden until `mcpguard pins approve`), `warn`
    /// (the change is reported and recorded; policy keeps using the pinned definition) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pins: Option<PinMode>,
    /// Remove denied tools from tools/list answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hide_denied: Option<bool>,
    /// What a `prompt` decision becomes when no approval channel can reach a person: deny
    /// (default) or allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) on_prompt: Option<Verdict>,
    /// The approval channels, in the order they are tried (default: elicit, socket, tty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approval: Option<Vec<crate::approval::Channel>>,
    /// How long a call waits for a person before it is denied (default: 50s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approval_timeout: Option<String>,
    #[serde(default)]
    pub(crate) rules: Vec<ArgRule>,
}

/// A rule on one argument of a tool. It fires when every condition it states holds; then
/// its decision applies.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ArgRule {
    /// Tool name pattern (glob).
    pub(crate) tool: String,
    /// JSON pointer into the arguments, e.g. `/path`.
    pub(crate) arg: String,
    /// Fires when the (normalised) path matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) glob: Option<String>,
    /// Fires when the (normalised) path does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) not_glob: Option<String>,
    /// Fires when the value matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) regex: Option<String>,
    /// Fires when the value (as text) is longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_length: Option<usize>,
    /// Fires when the value is not one of these.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub(crate) one_of: Option<Vec<serde_json::Value>>,
    #[serde(default = "deny")]
    pub(crate) decision: Verdict,
    #[serde(default)]
    pub(crate) reason: String,
    /// Examples lint checks: arguments and the decision this rule must give them.
    #[serde(default)]
    pub(crate) examples: Vec<Example>,
}

fn deny() -> Verdict {
    Verdict::Deny
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Example {
    pub(crate) args: serde_json::Value,
    /// The rule's own outcome: its decision when it fires, `allow` when it does not.
    pub(crate) decision: Verdict,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LimitsSection {
    /// `N/sec`, `N/min` or `N/hour`: the sustained rate of tools/call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) calls: Option<String>,
    /// How many calls may come at once above the rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) burst: Option<u32>,
    /// Rates per tool name glob (`"write_*" = "10/min"`); each glob has its own bucket,
    /// holding as many calls as its rate names.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) per_tool: std::collections::BTreeMap<String, String>,
    /// Most tools/call in flight at once; more are refused until one is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) concurrency: Option<usize>,
    /// Loop detection: the same tool with the same arguments this many times within
    /// `loop-window` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) loop_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) loop_window: Option<String>,
    /// Circuit breaker: after this many failed calls in a row (error results, JSON-RPC
    /// errors, timeouts), calls fail fast for `breaker-cooldown`, then one probes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) breaker_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) breaker_cooldown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) call_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_message: Option<String>,
    /// Most tasks (processes and threads) the sandbox holds at once (default 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) processes: Option<u32>,
    /// Memory each sandboxed process may allocate, e.g. "4GiB" (default), or "off".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) memory: Option<String>,
    /// One budget shared by every writable tmpfs of the view (/tmp, /var/tmp, /run, home,
    /// /dev/shm), e.g. "512MiB" (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tmpfs: Option<String>,
    /// Size of the server's persistent cache checked at start, e.g. "2GiB" (default), or "off".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cache: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a profile can hold, filled in, so the documentation check sees them all.
    const EVERY_KEY: &str = r#"
[profile]
name = "n"
version = 1
description = "d"
owner = "o"
review-by = "2027-01-01"
extends = "default"
[sandbox]
network = "allowlist"
allow-hosts = ["api.example.com"]
launcher-registries = false
read = ["/r"]
write = ["/w"]
env = ["LANG"]
require = ["seccomp"]
[tools]
default = "allow"
destructive = "prompt"
allow = ["a"]
prompt = ["p"]
deny = ["d"]
unlisted = "deny"
check-schema = true
pins = "enforce"
hide-denied = true
on-prompt = "deny"
[[tools.rules]]
tool = "t"
arg = "/a"
glob = "g"
not-glob = "n"
regex = "r"
max-length = 1
enum = ["e"]
decision = "deny"
reason = "why"
examples = [{ args = {}, decision = "allow" }]
[limits]
calls = "1/min"
burst = 1
per-tool = { "w*" = "1/min" }
concurrency = 2
loop-count = 3
loop-window = "1m"
breaker-failures = 5
breaker-cooldown = "30s"
call-timeout = "1s"
max-message = "1KiB"
processes = 64
memory = "1GiB"
tmpfs = "64MiB"
cache = "1GiB"
[responses]
max-text = "1KiB"
strip-control = true
injection = "flag"
check-output-schema = true
[secrets.GITHUB_TOKEN]
key = "github"
ttl = "15m"
mint = ["gh-mint"]
delivery = "file"
"#;

    fn keys(value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, inner) in table {
                    out.push(key.clone());
                    // The keys of these tables are the user's (tool globs, example arguments).
                    if key != "per-tool" && key != "args" {
                        keys(inner, out);
                    }
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|i| keys(i, out)),
            _ => {}
        }
    }

    #[test]
    fn every_key_is_documented_in_the_manual() {
        let profile: Profile = toml::from_str(EVERY_KEY).unwrap();
        let value = toml::Value::try_from(&profile).unwrap();
        let mut found = Vec::new();
        keys(&value, &mut found);
        let manual = include_str!("../../man/mcpguard-profile.5").replace("\\-", "-");
        let missing: Vec<&String> = found
            .iter()
            .filter(|k| k.as_str() != "args" && !manual.contains(k.as_str()))
            .collect();
        assert!(missing.is_empty(), "undocumented profile keys: {missing:?}");
        assert!(
            found.len() > 40,
            "the sample does not cover the format: {found:?}"
        );
    }
}
