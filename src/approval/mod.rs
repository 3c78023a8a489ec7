//! Human approval of tool calls a profile marks `prompt`.
//!
//! Owns: what an approval is (the exact call it is for, who may answer and how), the
//! session's table of calls waiting for one, and the channels that reach a person: the
//! agent's own elicitation (`elicit`, legacy era) or `input_required` (modern era,
//! `request_state`), the per-user socket `mcpguard approve` talks to (`socket`), and the
//! controlling terminal (`tty`). The relay side of a held call lives in `proxy::held`.

pub(crate) mod always;
pub(crate) mod digest;
pub(crate) mod elicit;
pub(crate) mod peer;
pub(crate) mod present;
pub(crate) mod request_state;
pub(crate) mod runtime_dir;
pub(crate) mod socket;
pub(crate) mod table;
pub(crate) mod tty;
pub(crate) mod wire;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a call waits for a person unless the profile says otherwise: below the 60 s
/// after which the common clients give up on a request.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(50);

/// A way to reach the person (profile `tools.approval`, tried in the order given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Channel {
    /// The agent asks its user: an `elicitation/create` request (legacy era) or an
    /// `input_required` result (2026-07-28), when the client declared elicitation.
    Elicit,
    /// `mcpguard approve` in another terminal, while one is running.
    Socket,
    /// A prompt on mcpguard's controlling terminal, when it has one.
    Tty,
}

impl Channel {
    /// The order used when the profile names none.
    pub(crate) const DEFAULT_ORDER: [Channel; 3] = [Channel::Elicit, Channel::Socket, Channel::Tty];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Channel::Elicit => "elicit",
            Channel::Socket => "socket",
            Channel::Tty => "tty",
        }
    }
}

/// How far an approval reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    /// This call only.
    Once,
    /// The same tool with the same arguments, for as long as this mcpguard runs.
    Session,
    /// Calls of this tool whose arguments match a pattern, from now on (written to the
    /// user's approvals file, `always`).
    Always,
}

impl Scope {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Once => "once",
            Scope::Session => "session",
            Scope::Always => "always",
        }
    }
}

/// What the person decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    Allow(Scope),
    /// Denied, declined or dismissed; the text says which, for the model and the trail.
    Deny(String),
}

/// Who answered, through which channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Approver {
    /// The agent's user, through elicitation or `input_required`.
    Client,
    /// `mcpguard approve`, run by this uid as this process.
    Socket {
        uid: u32,
        pid: u32,
        program: Option<String>,
    },
    /// The controlling terminal.
    Tty,
}

impl Approver {
    pub(crate) fn channel(&self) -> Channel {
        match self {
            Approver::Client => Channel::Elicit,
            Approver::Socket { .. } => Channel::Socket,
            Approver::Tty => Channel::Tty,
        }
    }

    /// As the audit record's `decision.approver` holds it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Approver::Client => "elicit".to_owned(),
            Approver::Socket { uid, pid, program } => format!(
                "socket uid={uid} pid={pid} {}",
                program.as_deref().unwrap_or("?")
            ),
            Approver::Tty => "tty".to_owned(),
        }
    }

    pub(crate) fn uid(&self) -> Option<u32> {
        match self {
            Approver::Socket { uid, .. } => Some(*uid),
            _ => None,
        }
    }
}

/// An answer to one pending approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) choice: Choice,
    pub(crate) approver: Approver,
    /// For `Scope::Always`: the argument patterns of the rule to write.
    pub(crate) pattern: Option<always::ArgPatterns>,
}
