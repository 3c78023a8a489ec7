//! A minimal JSON-RPC responder for a session that could not start.
//!
//! Owns: what the client sees when mcpguard cannot start the server (a misspelled profile,
//! a profile with a bad key, a command not found or not executable, a sandbox layer that
//! is required but missing, any other failure before the server runs): every request the
//! client sends, `initialize`, the 2026-07-28 era's `server/discover` or anything else
//! with an id, is answered with a JSON-RPC error carrying the message stderr shows and a
//! stable `data.code` (`reply::ErrorCode`); notifications, responses and unreadable lines
//! are ignored. A plain JSON-RPC error is valid in both eras.
//!
//! It answers until the client closes its end, and never longer than the bounds below: a
//! client that sends nothing, or keeps talking, cannot keep mcpguard alive. mcpguard then
//! exits with the contract's code (`exit`), whichever way the conversation ended. A
//! terminal on stdin is a person, not a client: nothing is read from it.

use super::stdio::{self, BoxedReader};
use super::writer::{self, LineSender};
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::jsonrpc::message::{self, Kind, Parsed, RequestId};
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::program::ProgramError;
use std::io::IsTerminal;
use std::time::Duration;
use tokio::time::Instant;

/// How long a client may take to send its first request. A client sends `initialize` as
/// soon as it has started the server, and mcpguard fails within milliseconds of starting:
/// this is an order of magnitude above any real client's delay.
pub(crate) const FIRST_REQUEST: Duration = Duration::from_secs(10);
/// How long mcpguard waits for the client's next request (or its EOF) after an answer.
pub(crate) const AFTER_ANSWER: Duration = Duration::from_secs(10);
/// The longest the whole conversation may last.
pub(crate) const AT_MOST: Duration = Duration::from_secs(60);
/// The longest line read; a longer one is skipped.
const MAX_LINE: usize = 16 << 20;

/// Why the session did not start: the message (as on stderr, without the `mcpguard:
/// error:` prefix), the `data.code` the client gets, and mcpguard's exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) exit: u8,
    pub(crate) message: String,
}

impl Refusal {
    /// The command line or the profile is wrong (exit 125).
    pub(crate) fn config(error: impl Into<anyhow::Error>) -> Self {
        Self::new(ErrorCode::Config, crate::exit::GUARD_FAILED, error.into())
    }

    /// mcpguard itself failed (exit 125).
    pub(crate) fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::new(ErrorCode::Internal, crate::exit::GUARD_FAILED, error.into())
    }

    /// The server's command is not found (127) or not executable (126).
    pub(crate) fn program(error: &ProgramError) -> Self {
        let exit = error.exit_code();
        Self {
            code: code_of_exit(exit),
            exit,
            message: error.to_string(),
        }
    }

    /// The sandbox helper exited with `exit` before the server ran, saying `said` last on
    /// stderr (`mcpguard: error: ...`, or nothing).
    pub(crate) fn helper(status: u8, said: Option<&str>) -> Self {
        // Before the sandbox came up, anything but "not found" or "not executable" (a
        // setup failure, or death by a signal) is mcpguard's failure: the contract's 125.
        let exit = match status {
            crate::exit::NOT_FOUND | crate::exit::NOT_EXECUTABLE => status,
            _ => crate::exit::GUARD_FAILED,
        };
        let message = match said {
            Some(line) => line
                .strip_prefix("mcpguard: error: ")
                .unwrap_or(line)
                .to_owned(),
            None => format!("the sandbox could not be set up (status {status})"),
        };
        Self {
            code: code_of_exit(exit),
            exit,
            message,
        }
    }

    fn new(code: ErrorCode, exit: u8, error: anyhow::Error) -> Self {
        Self {
            code,
            exit,
            message: format!("{error:#}"),
        }
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

/// The `data.code` for an exit code of the sandbox helper or the program lookup.
fn code_of_exit(exit: u8) -> ErrorCode {
    match exit {
        crate::exit::NOT_FOUND => ErrorCode::NotFound,
        crate::exit::NOT_EXECUTABLE => ErrorCode::NotExecutable,
        _ => ErrorCode::SandboxUnavailable,
    }
}

/// Says why on stderr, answers the client on mcpguard's own stdin and stdout (unless stdin
/// is a terminal), and returns the exit code. For failures before the relay took stdio.
pub(crate) fn refuse_on_stdio(refusal: &Refusal) -> u8 {
    tracing::error!("{}", refusal.message);
    if std::io::stdin().is_terminal() {
        return refusal.exit;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::debug!("no runtime to answer the client: {e}");
            return refusal.exit;
        }
    };
    runtime.block_on(async {
        let (client_in, client_out) = match stdio::open_client_stdio() {
            Ok(streams) => streams,
            Err(e) => {
                tracing::debug!("cannot answer the client: {e}");
                return;
            }
        };
        let (to_client, queue) = writer::channel(1 << 20);
        let writing = tokio::spawn(writer::write_lines(client_out, queue));
        answer(LineReader::new(client_in, MAX_LINE), &to_client, refusal).await;
        to_client.close();
        // Bounded: a client that stopped reading cannot keep mcpguard alive.
        let _ = tokio::time::timeout(AFTER_ANSWER, writing).await;
    });
    // A read on a regular file may still sit in a blocking thread.
    runtime.shutdown_timeout(Duration::from_millis(100));
    refusal.exit
}

/// Answers every request read from `reader` with `refusal` until EOF or a bound runs out.
pub(crate) async fn answer(
    mut reader: LineReader<BoxedReader>,
    to_client: &LineSender,
    refusal: &Refusal,
) {
    let started = Instant::now();
    let mut deadline = started + FIRST_REQUEST;
    loop {
        let deadline_now = deadline.min(started + AT_MOST);
        let frame = match tokio::time::timeout_at(deadline_now, reader.next_frame()).await {
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::debug!("reading the client failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!("the client neither asked nor left in time; exiting");
                return;
            }
        };
        let Frame::Line(line) = frame else { continue };
        let Some(answer) = answer_line(&line, refusal) else {
            continue;
        };
        // A client that sends but never reads must not hold mcpguard past its bound.
        match tokio::time::timeout_at(started + AT_MOST, to_client.send(answer)).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
        deadline = Instant::now() + AFTER_ANSWER;
    }
}

/// The answer to one client line: an error for each request in it, or `None` when it holds
/// no request.
fn answer_line(line: &[u8], refusal: &Refusal) -> Option<bytes::Bytes> {
    let text = message::line_text(line).ok()?;
    let error = |id: &RequestId| reply::error_line(Some(id), refusal.code, &refusal.message);
    match message::parse(text).ok()? {
        Parsed::Single(Kind::Request { id, .. }) => Some(error(&id)),
        Parsed::Single(_) => None,
        Parsed::Batch(elements) => {
            let answers: Vec<bytes::Bytes> = elements
                .iter()
                .filter_map(|element| match &element.kind {
                    Ok(Kind::Request { id, .. }) => Some(error(id)),
                    _ => None,
                })
                .collect();
            if answers.is_empty() {
                return None;
            }
            let mut batch = b"[".to_vec();
            for (i, answer) in answers.iter().enumerate() {
                if i > 0 {
                    batch.push(b',');
                }
                batch.extend_from_slice(answer.strip_suffix(b"\n").unwrap_or(answer));
            }
            batch.extend_from_slice(b"]\n");
            Some(bytes::Bytes::from(batch))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn refusal() -> Refusal {
        Refusal {
            code: ErrorCode::Config,
            exit: 125,
            message: "--profile: no such profile".into(),
        }
    }

    fn answered(line: &str) -> Option<Value> {
        answer_line(line.as_bytes(), &refusal()).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn requests_of_both_eras_get_the_reason_and_the_code() {
        for method in ["initialize", "server/discover", "tools/list"] {
            let line = format!(r#"{{"jsonrpc":"2.0","id":"a1","method":"{method}"}}"#);
            assert_eq!(
                answered(&line),
                Some(json!({"jsonrpc":"2.0","id":"a1","error":{"code":-31010,
                    "message":"mcpguard: --profile: no such profile",
                    "data":{"code":"mcpguard.config"}}}))
            );
        }
    }

    #[test]
    fn notifications_responses_and_noise_are_not_answered() {
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None
        );
        assert_eq!(answered(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
        assert_eq!(answered("not json"), None);
        assert_eq!(answered(""), None);
    }

    #[test]
    fn a_batch_gets_a_batch_of_errors() {
        let got = answered(
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"x"}]"#,
        )
        .unwrap();
        let ids: Vec<&Value> = got.as_array().unwrap().iter().map(|a| &a["id"]).collect();
        assert_eq!(ids, [&json!(1), &json!(2)]);
    }

    #[test]
    fn the_helper_reason_loses_its_prefix_and_keeps_its_code() {
        let r = Refusal::helper(125, Some("mcpguard: error: sandbox: no user namespaces"));
        assert_eq!(r.message, "sandbox: no user namespaces");
        assert_eq!(r.code, ErrorCode::SandboxUnavailable);
        assert_eq!(Refusal::helper(127, None).code, ErrorCode::NotFound);
        assert_eq!(Refusal::helper(126, None).code, ErrorCode::NotExecutable);
        // Killed by a signal before the sandbox came up: mcpguard's failure.
        assert_eq!(Refusal::helper(128 + 31, None).exit, 125);
    }
}
