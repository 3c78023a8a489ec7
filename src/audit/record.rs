//! The audit record (contract: JSON Lines, versioned; DESIGN.md "Audit log").
//!
//! Owns: the fields of a record and their order on disk. `hash` is always the last key, so
//! a record's hashed bytes are its line with `,"hash":"…"` removed; `prev` is the hash of
//! the record before it (on this server's chain), which makes editing, deleting or
//! reordering any record detectable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The record format version.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub v: u32,
    /// RFC 3339, UTC, milliseconds.
    pub ts: String,
    /// Position on the server's chain, from 1.
    pub seq: u64,
    pub session: String,
    pub server: String,
    pub profile: ProfileRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientInfo>,
    /// session.start, sandbox, request, response, refused, timeout, aborted, network,
    /// network.end, session.end
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultInfo>,
    /// Event-specific facts (sandbox layers, exit status, command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
    pub prev: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl Record {
    /// A record of `event` with nothing but its session's fields; the writer dates,
    /// numbers and seals it (`ts`, `seq`, `prev`, `hash`).
    pub fn new(event: &str, session: &str, server: &str, profile: ProfileRef) -> Record {
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
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// allow | prompt | deny
    pub verdict: String,
    pub rule: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
}

/// A request or response payload as kept: redacted, and capped with the hash of the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub bytes: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultInfo {
    #[serde(rename = "isError")]
    pub is_error: bool,
    pub bytes: u64,
    /// A rough token count (bytes / 4) for cost accounting.
    pub tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
}
