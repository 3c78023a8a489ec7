//! State the two directions of a session share.
//!
//! Owns: the session's settings, the pending tables and the client's protocol era, behind
//! one short-held lock (the runtime is single-threaded, so the lock is never contended; it
//! exists so timers and both directions can reach the same tables).

use super::pending::Pending;
use crate::audit::AuditLog;
use crate::mcp::catalog::Catalog;
use crate::mcp::era::Era;
use crate::mcp::pins::PinFile;
use crate::policy::Policy;
use crate::policy::schema::SchemaCache;
use crate::policy::throttle::Throttles;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// What a session is told at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionConfig {
    /// Server name used in diagnostics.
    pub(crate) server_name: String,
    /// Largest accepted line, newline excluded.
    pub(crate) max_message: usize,
    /// How long a `tools/call` may go unanswered (progress resets it); `None` for no limit.
    pub(crate) call_timeout: Option<Duration>,
    /// How long the server gets after stdin closes, and again after SIGTERM.
    pub(crate) shutdown_grace: Duration,
    /// What may keep the server from starting, with its fix (paths of its command that the
    /// view does not show): said when it exits before answering the client's first request.
    pub(crate) start_hints: Vec<String>,
    /// What `${workspace}` stands for in this session's profile.
    pub(crate) workspace: std::path::PathBuf,
    /// The server's identity: its name and a digest of the command it runs (what "always"
    /// approvals are bound to).
    pub(crate) server_identity: String,
}

pub(crate) struct Shared {
    pub(crate) config: SessionConfig,
    /// The profile's rules for tool calls (absent: everything is relayed).
    pub(crate) policy: Option<Policy>,
    state: Mutex<State>,
    /// Whether any credential was handed over: read on every server line, so a session
    /// without credentials never takes the lock for it.
    handed_over_any: std::sync::atomic::AtomicBool,
}

pub(crate) struct State {
    pub(crate) pending: Pending,
    pub(crate) era: Era,
    /// What the client declared it can do (`mcp::capabilities::key`): the pins keep one
    /// listing per kind of client.
    pub(crate) client_capabilities: String,
    /// The session's audit trail (absent with --no-audit).
    pub(crate) audit: Option<AuditLog>,
    /// Records waiting until their message has been forwarded.
    pub(crate) audit_jobs: Vec<super::recording::Job>,
    /// The tools the server listed in this session.
    pub(crate) catalog: Catalog,
    pub(crate) schemas: SchemaCache,
    /// The stages that judge a call by the session's history (rates, loops, breaker).
    pub(crate) throttles: Throttles,
    /// The server's pinned tools (absent with `tools.pins = "off"`).
    pub(crate) pins: Option<PinState>,
    /// Calls waiting for a person, and what people already approved.
    pub(crate) approvals: crate::approval::table::Table,
    /// The client declared form elicitation at `initialize` (legacy era).
    pub(crate) client_elicits: bool,
    /// Seals mcpguard's own `requestState` (absent when the kernel gave no randomness).
    pub(crate) signer: Option<crate::approval::request_state::Signer>,
    /// The directory of the approval socket this session serves (absent: not served).
    pub(crate) approval_dir: Option<std::path::PathBuf>,
    /// Where this mcpguard sits among processes: who may answer its approvals.
    pub(crate) origin: crate::approval::peer::Origin,
    /// The credentials handed to the server so far, taken out of everything it sends the
    /// client and of its stderr (absent: none were).
    pub(crate) scrubber: Option<std::sync::Arc<crate::audit::redact::Redactor>>,
    /// Every credential value handed over in this session (each restart adds the new ones).
    handed_over: Vec<crate::audit::redact::Injected>,
    /// The params of the client's `initialize` (legacy era), replayed to a restarted server.
    pub(crate) client_initialize: Option<String>,
}

/// The pin file of this server identity and how changes are treated.
pub(crate) struct PinState {
    pub(crate) path: std::path::PathBuf,
    pub(crate) file: PinFile,
    /// Block and hide changed tools (else only report them).
    pub(crate) enforce: bool,
    /// The identity had no pins when the session began and its first listing is still
    /// paging: every page is pinned, not reported as additions.
    pub(crate) first_listing: bool,
    /// The server paginates its tool list: removals cannot be told from one page.
    pub(crate) paginated: bool,
}

impl Shared {
    /// A session's shared state with no guards at all (the relay's own tests).
    #[cfg(test)]
    pub(crate) fn new(config: SessionConfig) -> Self {
        Self::with_guards(config, None, None, None)
    }

    /// A session's shared state with everything that guards it: the audit trail, the
    /// policy and the pins.
    pub(crate) fn with_guards(
        config: SessionConfig,
        audit: Option<AuditLog>,
        policy: Option<Policy>,
        pins: Option<PinState>,
    ) -> Self {
        let throttles = Throttles::new(policy.as_ref(), std::time::Instant::now());
        let signer = crate::approval::request_state::Signer::new()
            .inspect_err(|e| {
                tracing::warn!("no randomness from the kernel ({e}): approvals cannot be asked through input_required")
            })
            .ok();
        let random = crate::approval::request_state::random_hex(8).unwrap_or_else(|_| {
            format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            )
        });
        Self {
            config,
            policy,
            handed_over_any: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State {
                pending: Pending::default(),
                era: Era::Unknown,
                client_capabilities: "none".to_owned(),
                audit,
                audit_jobs: Vec::new(),
                catalog: Catalog::default(),
                schemas: SchemaCache::default(),
                throttles,
                pins,
                approvals: crate::approval::table::Table::new(std::process::id(), &random),
                client_elicits: false,
                signer,
                approval_dir: None,
                origin: crate::approval::peer::Origin::of_this_process(),
                scrubber: None,
                handed_over: Vec::new(),
                client_initialize: None,
            }),
        }
    }

    /// Whether answers' records wait to be written.
    pub(crate) fn has_audit_jobs(&self) -> bool {
        !self.lock().audit_jobs.is_empty()
    }

    /// Writes the records of the answers relayed so far.
    pub(crate) fn flush_audit(&self) {
        let mut state = self.lock();
        if state.audit_jobs.is_empty() {
            return;
        }
        let jobs = std::mem::take(&mut state.audit_jobs);
        if let Some(audit) = state.audit.as_mut() {
            super::recording::run(audit, jobs);
        }
    }

    /// Takes `injected` (credentials just handed to the server) out of what the client, the
    /// audit trail and stderr see from now on, besides those handed over before.
    pub(crate) fn learn_injected(&self, injected: Vec<crate::audit::redact::Injected>) {
        let mut state = self.lock();
        for value in injected {
            if !state.handed_over.contains(&value) {
                state.handed_over.push(value);
            }
        }
        let all = state.handed_over.clone();
        if let Some(audit) = state.audit.as_mut() {
            audit.learn_injected(all.clone());
        }
        let redactor = crate::audit::redact::Redactor::new(all);
        state.scrubber = redactor
            .has_injected()
            .then(|| std::sync::Arc::new(redactor));
        self.handed_over_any.store(
            state.scrubber.is_some(),
            std::sync::atomic::Ordering::Release,
        );
    }

    /// What takes the credentials out of the server's output (absent: none were handed over).
    pub(crate) fn scrubber(&self) -> Option<std::sync::Arc<crate::audit::redact::Redactor>> {
        if !self
            .handed_over_any
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        self.lock().scrubber.clone()
    }

    /// The shared state. A panic while holding the lock cannot leave the tables half
    /// updated in a way that matters more than losing them, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The egress filter records its decisions in the session's audit trail.
impl crate::egress::NetworkRecorder for Shared {
    fn network(&self, verdict: crate::audit::DecisionRef<'_>, detail: serde_json::Value) -> bool {
        match self.lock().audit.as_mut() {
            Some(audit) => audit.network(verdict, detail),
            None => true,
        }
    }

    fn network_end(&self, latency_ms: f64, detail: serde_json::Value) {
        if let Some(audit) = self.lock().audit.as_mut() {
            audit.network_end(latency_ms, detail);
        }
    }
}

/// `mcpguard approve` reads and answers the session's pending approvals.
impl crate::approval::socket::Desk for Shared {
    fn pending(&self) -> Vec<crate::approval::wire::View> {
        let state = self.lock();
        let now = std::time::Instant::now();
        state
            .approvals
            .pending()
            .map(|ask| crate::approval::wire::View {
                id: ask.id.clone(),
                server: self.config.server_name.clone(),
                pid: std::process::id(),
                tool: ask.tool.clone(),
                arguments: ask.arguments.clone(),
                shown: crate::approval::elicit::shown_arguments(&ask.arguments),
                digest: ask.digest.0.clone(),
                rule: ask.rule.clone(),
                reason: ask.reason.clone(),
                channels: ask.channels.clone(),
                since: humantime::format_rfc3339_seconds(ask.since).to_string(),
                waited_ms: now.duration_since(ask.started).as_millis() as u64,
                remaining_ms: ask.deadline.saturating_duration_since(now).as_millis() as u64,
            })
            .collect()
    }

    fn answer(&self, id: &str, answer: crate::approval::Answer) -> Result<(), String> {
        let mut state = self.lock();
        if answer.choice == crate::approval::Choice::Allow(crate::approval::Scope::Always) {
            // The entry it would write must be valid before the answer is taken.
            let ask = state
                .approvals
                .pending()
                .find(|ask| ask.id == id)
                .ok_or_else(|| format!("no pending approval has id {id}"))?;
            crate::approval::always::entry_for(
                &self.config.server_name,
                &self.config.server_identity,
                &ask.tool,
                &ask.arguments,
                &answer.pattern.clone().unwrap_or_default(),
                String::new(),
                String::new(),
            )
            .map_err(|e| e.to_string())?;
        }
        state
            .approvals
            .answer(id, answer)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
