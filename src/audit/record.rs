//! The audit record (contract: JSON Lines, versioned; DESIGN.md "Audit log").
//!
//! Owns: the fields of a record and their order on disk. `hash` is always the last key, so
//! a record's hashed bytes are its line with `,"hash":"…"` removed; `prev` is the hash of
//! the record before it (on this server's chain), which makes editing, deleting or
//! reordering any record detectable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The record format version.
pub(crate) const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) v: u32,
    /// RFC 3339, UTC, milliseconds.
    pub(crate) ts: String,
    /// Position on the server's chain, from 1.
    pub(crate) seq: u64,
    pub(crate) session: String,
    pub(crate) server: String,
    pub(crate) profile: ProfileRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client: Option<ClientInfo>,
    /// What happened: one of `EventKind`'s names (kept as text on disk, so a reader of an
    /// older or newer trail still shows every record).
    pub(crate) event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) args: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<ResultInfo>,
    /// Event-specific facts (sandbox layers, exit status, command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<Value>,
    pub(crate) prev: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) hash: String,
}

/// The kinds of audit record (contract: their names are what `event` holds on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionStart,
    Sandbox,
    /// A client request, with the gate's decision.
    Request,
    /// The server's answer to a client request.
    Response,
    /// A message mcpguard refused to relay, or withheld.
    Refused,
    /// A call mcpguard answered itself because the server did not in time.
    Timeout,
    /// A request that died with the server.
    Aborted,
    /// A request whose answer could not be relayed.
    Unreadable,
    ResponseInspected,
    PinChange,
    /// A request the server sent the client (sampling, elicitation, roots).
    ServerRequest,
    /// The client's answer to one.
    ServerResponse,
    Network,
    NetworkEnd,
    /// A resource limit reached.
    Limit,
    /// A call held for a person's approval, and the channels it was put before.
    ApprovalRequest,
    /// How that ended: the answer (who, through which channel, scope), or no answer.
    ApprovalAnswer,
    /// The trail is writable again after records were lost.
    AuditResumed,
    /// The server was restarted between calls with freshly minted credentials.
    ServerRestart,
    SessionEnd,
}

impl EventKind {
    pub const ALL: [EventKind; 20] = [
        EventKind::SessionStart,
        EventKind::Sandbox,
        EventKind::Request,
        EventKind::Response,
        EventKind::Refused,
        EventKind::Timeout,
        EventKind::Aborted,
        EventKind::Unreadable,
        EventKind::ResponseInspected,
        EventKind::PinChange,
        EventKind::ServerRequest,
        EventKind::ServerResponse,
        EventKind::Network,
        EventKind::NetworkEnd,
        EventKind::Limit,
        EventKind::ApprovalRequest,
        EventKind::ApprovalAnswer,
        EventKind::AuditResumed,
        EventKind::ServerRestart,
        EventKind::SessionEnd,
    ];

    /// The name written in `event`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::SessionStart => "session.start",
            EventKind::Sandbox => "sandbox",
            EventKind::Request => "request",
            EventKind::Response => "response",
            EventKind::Refused => "refused",
            EventKind::Timeout => "timeout",
            EventKind::Aborted => "aborted",
            EventKind::Unreadable => "unreadable",
            EventKind::ResponseInspected => "response.inspected",
            EventKind::PinChange => "pin.change",
            EventKind::ServerRequest => "server.request",
            EventKind::ServerResponse => "server.response",
            EventKind::Network => "network",
            EventKind::NetworkEnd => "network.end",
            EventKind::Limit => "limit",
            EventKind::ApprovalRequest => "approval.request",
            EventKind::ApprovalAnswer => "approval.answer",
            EventKind::AuditResumed => "audit.resumed",
            EventKind::ServerRestart => "server.restart",
            EventKind::SessionEnd => "session.end",
        }
    }

    /// The kind `name` stands for; None for a name this version does not write.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl Record {
    /// What kind of record this is; None for an event this version does not know.
    pub(crate) fn kind(&self) -> Option<EventKind> {
        EventKind::from_name(&self.event)
    }

    /// A record of `event` with nothing but its session's fields; the writer dates,
    /// numbers and seals it (`ts`, `seq`, `prev`, `hash`).
    pub(crate) fn new(event: &str, session: &str, server: &str, profile: ProfileRef) -> Record {
        Record {
            v: VERSION,
            ts: String::new(),
            seq: 0,
            session: session.to_owned(),
            server: server.to_owned(),
            profile,
            client: None,
            event: event.to_owned(),
            method: None,
            tool: None,
            id: None,
            args: None,
            decision: None,
            latency_ms: None,
            result: None,
            detail: None,
            prev: String::new(),
            hash: String::new(),
        }
    }
}

/// Which policy the session ran under: a name and the digest of its effective content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRef {
    pub name: String,
    pub digest: String,
}

/// The client as it announced itself (`initialize` clientInfo, or modern `_meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Decision {
    /// allow | prompt | deny
    pub(crate) verdict: String,
    pub(crate) rule: String,
    pub(crate) reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approver: Option<String>,
}

/// A request or response payload as kept: redacted, and capped with the hash of the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) preview: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResultInfo {
    #[serde(rename = "isError")]
    pub(crate) is_error: bool,
    pub(crate) bytes: u64,
    /// A rough token count (bytes / 4) for cost accounting.
    pub(crate) tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) payload: Option<Payload>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::from_name("nonsense"), None);
    }
}
