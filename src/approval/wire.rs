//! What `mcpguard approve` and a session say to each other on the approval socket.
//!
//! Owns: the messages, one JSON object per line: a request (`list`, or `answer` one
//! approval) and its reply (the pending approvals, or whether the answer was taken).

use super::Scope;
use super::always::ArgPatterns;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest request line a session reads.
pub(crate) const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Request {
    List,
    Answer {
        id: String,
        allow: bool,
        #[serde(default = "once")]
        scope: Scope,
        /// For scope `always`: the argument globs of the rule (default: the exact call).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<ArgPatterns>,
    },
}

fn once() -> Scope {
    Scope::Once
}

/// One pending approval as an approver sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct View {
    pub(crate) id: String,
    pub(crate) server: String,
    /// The mcpguard process that holds the call.
    pub(crate) pid: u32,
    pub(crate) tool: String,
    pub(crate) arguments: Value,
    /// The arguments in readable form: (key, value shortened and escaped).
    pub(crate) shown: Vec<(String, String)>,
    pub(crate) digest: String,
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// Where else it was asked (`elicit`, `socket`, `tty`).
    pub(crate) channels: Vec<super::Channel>,
    /// When it was asked (RFC 3339).
    pub(crate) since: String,
    pub(crate) waited_ms: u64,
    /// Time left before it is denied.
    pub(crate) remaining_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub(crate) ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pending: Option<Vec<View>>,
}

impl Reply {
    pub(crate) fn refused(error: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(error.into()),
            pending: None,
        }
    }

    pub(crate) fn done() -> Reply {
        Reply {
            ok: true,
            error: None,
            pending: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn requests_read_as_written() {
        let answer: Request =
            serde_json::from_str(r#"{"op":"answer","id":"12-3","allow":true}"#).unwrap();
        assert_eq!(
            answer,
            Request::Answer {
                id: "12-3".into(),
                allow: true,
                scope: Scope::Once,
                pattern: None
            }
        );
        let always = Request::Answer {
            id: "1-1".into(),
            allow: true,
            scope: Scope::Always,
            pattern: Some(ArgPatterns::from([("path".into(), "/ws/**".into())])),
        };
        let text = serde_json::to_string(&always).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), always);
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"list"}"#).unwrap(),
            Request::List
        );
        assert!(
            serde_json::from_str::<Request>(
                r#"{"op":"answer","id":"1","allow":true,"scope":"forever"}"#
            )
            .is_err()
        );
    }
}
