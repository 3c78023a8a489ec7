//! The audit trail: one hash-chained record per event of a session (DESIGN.md "Audit log").
//!
//! `AuditLog` is what the relay calls; it fills in the session's fixed fields, redacts and
//! caps payloads, and hands records to the `appender` (which writes through outages with the
//! `writer`), on the caller's thread or, with `on-failure = "continue"`, through the
//! `queue` to a writer thread. `reader`, `report` and `chain` serve
//! `mcpguard logs` and `mcpguard audit`.

pub(crate) mod appender;
pub(crate) mod chain;
pub(crate) mod queue;
pub(crate) mod reader;
pub(crate) mod record;
pub(crate) mod redact;
pub(crate) mod report;
pub(crate) mod writer;

use crate::profile::model::AuditFailureMode;
use record::{ClientInfo, Decision, EventKind, Payload, ProfileRef, Record, ResultInfo};
pub use redact::Injected;
use redact::Redactor;
use serde_json::Value;
use std::path::Path;
use writer::Durability;

/// A record that could not be written (the reason is on stderr, once per outage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unrecorded;

/// How much of request and response payloads is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PayloadMode {
    /// The payload, redacted, up to 64 KiB (larger ones: a preview), with the hash of the whole.
    Full,
    /// Only the size and hash.
    Hash,
    /// Nothing of the payload.
    None,
}

/// Largest payload kept whole in a record.
const PAYLOAD_CAP: usize = 64 * 1024;
/// How much of a larger payload is kept as a preview.
const PREVIEW: usize = 1024;

/// Where records go: written on the caller's thread, or queued for the writer thread.
enum Sink {
    Inline(appender::Appender),
    Queued(queue::Queue),
    /// Only while switching from one to the other.
    Switching,
}

pub struct AuditLog {
    sink: Sink,
    on_failure: AuditFailureMode,
    redactor: Redactor,
    /// Every value handed to the server, kept out of every record.
    injected: Vec<Injected>,
    mode: PayloadMode,
    session: String,
    server: String,
    profile: ProfileRef,
    client: Option<ClientInfo>,
}

/// A decision as it is recorded (borrowed; `record::Decision` is what is written): the
/// verdict (allow, prompt, deny; `error` for a connection that failed), the deciding rule
/// and the reason.
pub struct DecisionRef<'a> {
    pub verdict: &'a str,
    pub rule: &'a str,
    pub reason: &'a str,
}

impl AuditLog {
    pub fn open(
        state: &Path,
        server: &str,
        profile: ProfileRef,
        mode: PayloadMode,
        injected: impl IntoIterator<Item = Injected>,
    ) -> std::io::Result<Self> {
        let injected: Vec<Injected> = injected.into_iter().collect();
        let writer = writer::AuditWriter::open(writer::server_dir(
            state,
            &crate::fspath::safe_component(server),
        ))?;
        Ok(AuditLog {
            sink: Sink::Inline(appender::Appender::new(writer, server)),
            on_failure: AuditFailureMode::default(),
            redactor: Redactor::new(injected.clone()),
            injected,
            mode,
            session: session_id(),
            server: server.to_owned(),
            profile,
            client: None,
        })
    }

    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// Remembers the client as it announced itself, for every later record.
    pub fn set_client(&mut self, client: ClientInfo) {
        self.client = Some(client);
    }

    fn base(&self, kind: EventKind) -> Record {
        Record {
            client: self.client.clone(),
            ..Record::new(
                kind.name(),
                &self.session,
                &self.server,
                self.profile.clone(),
            )
        }
    }

    /// What the session does with a request whose record cannot be written. Set before
    /// the session starts: once records go to the writer thread the mode is fixed (a switch
    /// to "refuse" would otherwise relay requests before their records are written).
    pub fn set_on_failure(&mut self, mode: AuditFailureMode) {
        match &mut self.sink {
            Sink::Inline(appender) => {
                self.on_failure = mode;
                appender.set_on_failure(mode);
            }
            Sink::Queued(_) | Sink::Switching => {
                debug_assert!(false, "audit.on-failure changed after the session started");
            }
        }
    }

    /// Whether a request whose record could not be written is to be refused.
    pub fn refuses_unrecorded(&self) -> bool {
        self.on_failure == AuditFailureMode::Refuse
    }

    /// Appends a record: written before this returns, or queued for the writer thread
    /// (waiting while its queue is full) once [`AuditLog::write_on_a_thread_if_continuing`]
    /// moved the writing there.
    fn write(&mut self, record: Record, durability: Durability) -> Result<(), Unrecorded> {
        match &mut self.sink {
            Sink::Inline(appender) => appender.append(record, durability),
            Sink::Queued(queue) => queue.append(record, durability),
            Sink::Switching => {
                tracing::error!(server = %self.server, "an audit record was lost while the writer thread started (a bug in mcpguard: please report it)");
                Err(Unrecorded)
            }
        }
    }

    /// With `on-failure = "continue"`, moves the writing to a thread of its own behind a
    /// bounded queue: a request no longer waits for its record (nothing is dropped; see
    /// `queue`). With `"refuse"` records stay on the caller's thread, since a request may
    /// only be relayed once its record is written. Called once the sandbox is started,
    /// which is done while mcpguard has one thread. If no thread can be started, records
    /// stay on this one, which loses nothing.
    pub fn write_on_a_thread_if_continuing(&mut self) {
        if self.on_failure != AuditFailureMode::Continue {
            return;
        }
        let Sink::Inline(appender) = std::mem::replace(&mut self.sink, Sink::Switching) else {
            return;
        };
        self.sink = match queue::Queue::start(appender) {
            Ok(queue) => Sink::Queued(queue),
            Err((e, appender)) => {
                tracing::warn!(
                    server = %self.server,
                    "could not start the audit writer thread ({e}); records are written on the relay's thread"
                );
                Sink::Inline(*appender)
            }
        };
    }

    /// Waits until every record handed over so far is written (or counted as lost).
    pub fn drain(&self) {
        if let Sink::Queued(queue) = &self.sink {
            queue.drain();
        }
    }

    /// Appends a record whose loss stops nothing: a failure is on stderr and counted in
    /// the outage, and the gap is recorded when the trail is writable again.
    fn record(&mut self, record: Record, durability: Durability) {
        let _ = self.write(record, durability);
    }

    /// How much of payloads this trail keeps.
    pub fn payload_mode(&self) -> PayloadMode {
        self.mode
    }

    pub fn payload(&self, value: &Value) -> Option<Payload> {
        if self.mode == PayloadMode::None {
            return None;
        }
        let redacted = self.redactor.value(value);
        let text = redacted.to_string();
        let sha256 = chain::sha256_hex(text.as_bytes());
        let bytes = text.len() as u64;
        Some(match self.mode {
            PayloadMode::Full if text.len() <= PAYLOAD_CAP => Payload {
                bytes,
                sha256,
                truncated: false,
                value: Some(redacted),
                preview: None,
            },
            PayloadMode::Full => {
                let cut = (0..=PREVIEW)
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                Payload {
                    bytes,
                    sha256,
                    truncated: true,
                    value: None,
                    preview: Some(text[..cut].to_owned()),
                }
            }
            _ => Payload {
                bytes,
                sha256,
                truncated: false,
                value: None,
                preview: None,
            },
        })
    }

    /// Free-form facts, redacted like payloads.
    fn detail(&self, detail: Value) -> Option<Value> {
        Some(self.redactor.value(&detail))
    }

    /// Not waited for on the disk: the server's start does not hold for it, and the session's
    /// end (or an earlier synced record) carries it with the rest.
    pub fn session_start(&mut self, detail: Value) {
        let mut record = self.base(EventKind::SessionStart);
        record.detail = self.detail(detail);
        self.record(record, Durability::Flushing);
    }

    /// The server restarted with renewed credentials (what it runs as, its new pid).
    pub fn server_restart(&mut self, detail: Value) {
        let mut record = self.base(EventKind::ServerRestart);
        record.detail = self.detail(detail);
        self.record(record, Durability::Synced);
    }

    /// The layers in force. Not synced on its own: the next synced record (a denial, the
    /// session's end) carries it to disk.
    pub fn sandbox(&mut self, detail: Value) {
        let mut record = self.base(EventKind::Sandbox);
        record.detail = self.detail(detail);
        self.record(record, Durability::Written);
    }

    /// Keeps `more` (credentials handed to a restarted server) out of the records too.
    pub(crate) fn learn_injected(&mut self, more: Vec<Injected>) {
        for value in more {
            if !self.injected.contains(&value) {
                self.injected.push(value);
            }
        }
        self.redactor = Redactor::new(self.injected.clone());
    }

    /// A string as it may be recorded.
    pub fn redact_text(&self, text: &str) -> String {
        self.redactor.string(text)
    }

    pub fn request_with_payload(
        &mut self,
        method: &str,
        tool: Option<&str>,
        id: Option<Value>,
        args: Option<Payload>,
        verdict: DecisionRef<'_>,
    ) -> Result<(), Unrecorded> {
        let mut record = self.base(EventKind::Request);
        record.method = Some(method.to_owned());
        record.tool = tool.map(|t| self.redactor.string(t));
        record.id = id.map(|i| self.redactor.value(&i));
        record.args = args;
        let deny = verdict.verdict == "deny";
        record.decision = Some(decision(&self.redactor, verdict));
        self.write(record, Durability::synced_if(deny))
    }

    /// A request the server sent the client (sampling, elicitation, roots); `params` is
    /// what it asks. Its loss refuses the request like a client request's.
    pub fn server_request(
        &mut self,
        method: &str,
        id: Option<Value>,
        params: Option<Payload>,
    ) -> Result<(), Unrecorded> {
        let mut record = self.base(EventKind::ServerRequest);
        record.method = Some(method.to_owned());
        record.id = id.map(|i| self.redactor.value(&i));
        record.args = params;
        self.write(record, Durability::Synced)
    }

    /// The client's answer to a request of the server's (what a sampling model or a person
    /// answering an elicitation sent back).
    pub fn client_answer(
        &mut self,
        method: &str,
        id: Option<Value>,
        is_error: bool,
        bytes: u64,
        payload: Option<Payload>,
    ) -> Result<(), Unrecorded> {
        let mut record = self.base(EventKind::ServerResponse);
        record.method = Some(method.to_owned());
        record.id = id.map(|i| self.redactor.value(&i));
        record.result = Some(ResultInfo {
            is_error,
            bytes,
            tokens: bytes.div_ceil(4),
            payload,
        });
        self.write(record, Durability::Written)
    }

    /// A message mcpguard refused to relay (malformed, oversize, late).
    pub fn refused(&mut self, id: Option<Value>, rule: &str, reason: &str) {
        let mut record = self.base(EventKind::Refused);
        record.id = id.map(|i| self.redactor.value(&i));
        record.decision = Some(decision(
            &self.redactor,
            DecisionRef {
                verdict: "deny",
                rule,
                reason,
            },
        ));
        self.record(record, Durability::Synced);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn response_with_payload(
        &mut self,
        event: EventKind,
        method: &str,
        tool: Option<&str>,
        id: Option<Value>,
        latency_ms: f64,
        is_error: bool,
        bytes: u64,
        payload: Option<Payload>,
    ) {
        let mut record = self.base(event);
        record.method = Some(method.to_owned());
        record.tool = tool.map(|t| self.redactor.string(t));
        record.id = id.map(|i| self.redactor.value(&i));
        record.latency_ms = Some((latency_ms * 1000.0).round() / 1000.0);
        record.result = Some(ResultInfo {
            is_error,
            bytes,
            tokens: bytes.div_ceil(4),
            payload,
        });
        let sync = event != EventKind::Response;
        self.record(record, Durability::synced_if(sync));
    }

    /// What response inspection found in a tool's answer.
    pub fn inspection(&mut self, tool: &str, id: Value, detail: Value) {
        let mut record = self.base(EventKind::ResponseInspected);
        record.tool = Some(tool.to_owned());
        record.id = Some(id);
        record.detail = self.detail(detail);
        self.record(record, Durability::Synced);
    }

    /// Tool definitions that differ from the pins.
    pub fn pin_change(&mut self, detail: Value) {
        let mut record = self.base(EventKind::PinChange);
        record.detail = self.detail(detail);
        self.record(record, Durability::Synced);
    }

    /// A connection the egress filter allowed, refused or could not make (verdict allow,
    /// deny or error); `detail` names the destination.
    ///
    /// Returns whether what it records may go ahead: false when the record could not be
    /// written and the profile refuses what it cannot record.
    pub fn network(&mut self, verdict: DecisionRef<'_>, detail: Value) -> bool {
        let mut record = self.base(EventKind::Network);
        record.decision = Some(decision(&self.redactor, verdict));
        record.detail = self.detail(detail);
        // Not synced one by one: the server decides how often it connects, and a flood of
        // refusals must not become a flood of fsyncs (the session's end syncs them all).
        self.write(record, Durability::Written).is_ok() || !self.refuses_unrecorded()
    }

    /// An allowed connection ended; `detail` has its byte counts.
    pub fn network_end(&mut self, latency_ms: f64, detail: Value) {
        let mut record = self.base(EventKind::NetworkEnd);
        record.latency_ms = Some(latency_ms);
        record.detail = self.detail(detail);
        self.record(record, Durability::Written);
    }

    /// A call held for approval: `detail` has the approval id, the argument digest and the
    /// channels it was put before.
    pub fn approval_request(
        &mut self,
        tool: &str,
        id: Value,
        asked_by: DecisionRef<'_>,
        detail: Value,
    ) -> Result<(), Unrecorded> {
        let mut record = self.base(EventKind::ApprovalRequest);
        record.method = Some("tools/call".to_owned());
        record.tool = Some(self.redactor.string(tool));
        record.id = Some(self.redactor.value(&id));
        record.decision = Some(decision(&self.redactor, asked_by));
        record.detail = self.detail(detail);
        self.write(record, Durability::Synced)
    }

    /// How an approval ended: `outcome` is the verdict it led to, `approver` who answered
    /// (none when nobody did), `wait_ms` how long the call was held; `detail` has the
    /// channel, uid, scope and outcome.
    pub fn approval_answer(
        &mut self,
        tool: &str,
        id: Value,
        outcome: DecisionRef<'_>,
        approver: Option<String>,
        wait_ms: f64,
        detail: Value,
    ) -> Result<(), Unrecorded> {
        let mut record = self.base(EventKind::ApprovalAnswer);
        record.method = Some("tools/call".to_owned());
        record.tool = Some(self.redactor.string(tool));
        record.id = Some(self.redactor.value(&id));
        let sync = outcome.verdict != "allow";
        let mut decided = decision(&self.redactor, outcome);
        decided.approver = approver;
        record.decision = Some(decided);
        record.latency_ms = Some((wait_ms * 1000.0).round() / 1000.0);
        record.detail = self.detail(detail);
        // Synced like a request's record: at once for a denial, with the session's end for
        // an approval (the call it lets through is not held up by a disk flush).
        self.write(record, Durability::synced_if(sync))
    }

    /// A resource limit reached (`detail.limit` names which: `cache`).
    pub fn limit(&mut self, detail: Value) {
        let mut record = self.base(EventKind::Limit);
        record.detail = self.detail(detail);
        self.record(record, Durability::Synced);
    }

    pub fn session_end(&mut self, detail: Value) {
        let mut record = self.base(EventKind::SessionEnd);
        record.detail = self.detail(detail);
        self.record(record, Durability::Synced);
    }
}

fn decision(redactor: &Redactor, verdict: DecisionRef<'_>) -> Decision {
    Decision {
        verdict: verdict.verdict.to_owned(),
        rule: redactor.string(verdict.rule),
        reason: redactor.string(verdict.reason),
        approver: None,
    }
}

/// A random session id (16 hex digits).
fn session_id() -> String {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got != bytes.len() as isize {
        // Unique enough to tell sessions apart when the kernel cannot give randomness.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = ((nanos as u64) ^ (std::process::id() as u64) << 32).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
