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

    /// A record of `event` for the tests of the modules that write, queue and read records.
    #[cfg(test)]
    pub(crate) fn sample(event: &str) -> Record {
        Record::new(
            event,
            "s",
            "srv",
            ProfileRef {
                name: "cli".into(),
                digest: "d".into(),
            },
        )
    }

    /// Roughly how many bytes this record holds: its strings and values, payloads by the
    /// size they were recorded at (at most 64 KiB; larger ones keep a preview). What the
    /// audit queue's memory bound counts.
    pub(crate) fn weight(&self) -> usize {
        let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
        let payload = |p: &Option<Payload>| {
            p.as_ref().map_or(0, |p| {
                let kept = if p.value.is_some() {
                    p.bytes as usize
                } else {
                    0
                };
                kept + text(&p.preview) + p.sha256.len()
            })
        };
        let decision = self.decision.as_ref().map_or(0, |d| {
            d.verdict.len() + d.rule.len() + d.reason.len() + text(&d.approver)
        });
        let client = self
            .client
            .as_ref()
            .map_or(0, |c| c.name.len() + text(&c.version));
        let fixed = self.session.len() + self.server.len() + self.event.len() + 256;
        fixed
            + client
            + text(&self.method)
            + text(&self.tool)
            + self.id.as_ref().map_or(0, value_weight)
            + payload(&self.args)
            + self.result.as_ref().map_or(0, |r| payload(&r.payload))
            + decision
            + self.detail.as_ref().map_or(0, value_weight)
    }
}

/// Roughly how many bytes `value` holds.
fn value_weight(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Number(n) => n.to_string().len(),
        Value::Array(items) => items.iter().map(value_weight).sum::<usize>() + 2,
        Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + 3 + value_weight(v))
                .sum::<usize>()
                + 2
        }
        Value::Bool(_) | Value::Null => 5,
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

    #[test]
    fn a_record_weighs_what_the_server_made_it_hold() {
        let profile = ProfileRef {
            name: "p".into(),
            digest: "d".into(),
        };
        let small = Record::new("request", "session", "srv", profile.clone());
        let mut long_method = small.clone();
        long_method.method = Some("m".repeat(1 << 20));
        let mut deep_detail = small.clone();
        deep_detail.detail = Some(serde_json::json!({"found": ["x".repeat(100_000)]}));
        let mut big_payload = small.clone();
        big_payload.args = Some(Payload {
            bytes: 60_000,
            sha256: "h".repeat(64),
            truncated: false,
            value: Some(Value::String("v".repeat(60_000))),
            preview: None,
        });
        let weights = [&small, &long_method, &deep_detail, &big_payload].map(Record::weight);
        assert!(weights[0] < 1024, "{weights:?}");
        assert!(weights[1] > 1 << 20, "{weights:?}");
        assert!(weights[2] > 100_000, "{weights:?}");
        assert!(
            (60_000..61_024).contains(&(weights[3] - weights[0])),
            "{weights:?}"
        );
    }
}
