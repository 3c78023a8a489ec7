//! Restarting the server between calls when its credentials are renewed.
//!
//! Owns: the switch from one server process to the next inside one client session. The
//! session calls it only when nothing is on its way in either direction; the writer to
//! the server is paused (what the client sends meanwhile waits in its queue, in order),
//! the old server gets EOF and the shutdown ladder, fresh credentials are fetched (minted
//! outside the sandbox), a new sandbox starts with them, and — legacy era — the client's
//! own `initialize` is replayed under an id of mcpguard's (its answer consumed, never
//! relayed) so the agent's session simply continues. Nothing the client sent is lost or
//! answered twice: requests queued during the switch reach the new server.

use super::child::Child;
use super::process_tree;
use super::server::{SessionError, Spawned, send_to_group, spawn_server};
use super::server_stderr;
use super::server_to_client;
use super::shared::Shared;
use super::writer::{self, LineSender, Stopped, WriterEnd};
use crate::jsonrpc::framing::{Frame, LineReader};
use crate::mcp::era::Era;
use crate::sandbox::plan::Plan;
use crate::secrets::credentials::{self, Credential};
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

/// How long a restarted server may take to come up and answer the replayed `initialize`.
const START_PATIENCE: Duration = Duration::from_secs(30);
/// How long the old server's last stderr lines get.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// The server side of a session as the session loop holds it.
pub(super) struct Running {
    pub(super) child: Child,
    pub(super) child_pid: Option<i32>,
    pub(super) report_task: JoinHandle<super::server::Reported>,
    pub(super) stderr: Option<server_stderr::Relay>,
    pub(super) filter: Option<Arc<crate::egress::Filter>>,
    pub(super) writer: JoinHandle<Stopped<ChildStdin>>,
    pub(super) reader: JoinHandle<server_to_client::ServerEnd>,
}

/// A restart that did not complete: why, and what the session is left with (a server that
/// has exited or is about to, so the session ends answering what is pending).
pub(super) struct Failure {
    pub(super) why: String,
    pub(super) running: Running,
}

pub(super) struct Restart<'a> {
    pub(super) shared: &'a Arc<Shared>,
    pub(super) plan: &'a mut Plan,
    pub(super) egress: Option<&'a crate::egress::EgressConfig>,
    pub(super) credentials: &'a [Credential],
    pub(super) grace: Duration,
}

impl Restart<'_> {
    /// Replaces `old` (whose writer has been told to pause) with a server holding fresh
    /// credentials; returns it and how long those live.
    pub(super) async fn run(
        self,
        old: Running,
        to_client: &LineSender,
        to_server: &LineSender,
        pause: &tokio::sync::watch::Sender<bool>,
        paused: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(Running, Option<Duration>), Box<Failure>> {
        let mut old = old;
        let (stdin, queue) = match (&mut old.writer).await {
            Ok(Stopped::Paused(stdin, queue)) => (stdin, queue),
            Ok(Stopped::Ended(end)) => {
                return Err(unchanged(
                    old,
                    format!("the server stopped reading before its restart ({end:?})"),
                ));
            }
            Err(e) => {
                return Err(unchanged(
                    old,
                    format!("the writer to the server failed: {e}"),
                ));
            }
        };
        let Running {
            mut child,
            child_pid,
            report_task,
            stderr,
            filter,
            reader,
            ..
        } = old;
        // The old server: EOF, then the ladder.
        drop(stdin);
        let status = self.stop(&mut child, child_pid).await;
        let mut reader = reader;
        if tokio::time::timeout(self.grace, &mut reader).await.is_err() {
            reader.abort();
        }
        if let Some(relay) = stderr {
            relay.finish(STDERR_DRAIN).await;
        }
        report_task.abort();
        if let Some(filter) = &filter {
            filter.records.close_all();
        }
        process_tree::kill_descendants(None);
        let server = &self.shared.config.server_name;
        tracing::debug!(%server, ?status, "the old server is gone");

        // From here on a failure leaves the session with the old, exited server.
        let exited = |why: String, child: Child, reader: JoinHandle<_>| {
            Box::new(Failure {
                why,
                running: Running {
                    child,
                    child_pid,
                    // The sandbox did come up (the first one): the session ends as after any exit.
                    report_task: tokio::spawn(async {
                        super::server::Reported {
                            up: true,
                            pid_namespace: false,
                        }
                    }),
                    stderr: None,
                    filter: None,
                    writer: ended_writer(),
                    reader,
                },
            })
        };
        let wanted = self.credentials.to_vec();
        let issued = match tokio::task::spawn_blocking(move || credentials::issue(&wanted)).await {
            Ok(Ok(issued)) => issued,
            Ok(Err(e)) => {
                return Err(exited(
                    format!("could not renew the credentials: {e:#}"),
                    child,
                    reader,
                ));
            }
            Err(e) => {
                return Err(exited(
                    format!("could not renew the credentials: {e}"),
                    child,
                    reader,
                ));
            }
        };
        let lifetime = issued.lifetime;
        self.shared.learn_injected(issued.injected);
        self.plan.deliver(issued.in_env, issued.in_files);
        let spawned = match spawn_server(self.plan, self.egress, self.shared) {
            Ok(spawned) => spawned,
            Err(e) => {
                let why = match e {
                    SessionError::Spawn(e) => e.to_string(),
                    SessionError::Setup(e) => e.to_string(),
                };
                return Err(exited(
                    format!("could not restart the server: {why}"),
                    child,
                    reader,
                ));
            }
        };
        let Spawned {
            child,
            child_pid,
            report_task,
            report_seen,
            stderr,
            mut stdin,
            stdout,
            filter,
        } = spawned;
        let mut lines = LineReader::new(stdout, self.shared.config.max_message);
        let started = async {
            tokio::time::timeout(START_PATIENCE, report_seen)
                .await
                .map_err(|_| {
                    format!("the restarted sandbox did not come up within {START_PATIENCE:?}")
                })?
                .map_err(|_| {
                    "the restarted sandbox failed to start (see the lines above)".to_owned()
                })?;
            self.replay_initialize(&mut stdin, &mut lines).await
        };
        let outcome = started.await;
        let running = |writer, reader| Running {
            child,
            child_pid,
            report_task,
            stderr,
            filter,
            writer,
            reader,
        };
        if let Err(why) = outcome {
            // The new server is told to go; the session ends on its exit.
            drop(stdin);
            send_to_group(child_pid, Signal::SIGTERM);
            return Err(Box::new(Failure {
                why,
                running: running(
                    ended_writer(),
                    tokio::spawn(async { server_to_client::ServerEnd::Eof }),
                ),
            }));
        }
        pause.send_replace(false);
        let writer = tokio::spawn(writer::write_lines_until_paused(stdin, queue, paused));
        let reader = tokio::spawn(server_to_client::relay(
            lines,
            Arc::clone(self.shared),
            to_client.clone(),
            to_server.clone(),
        ));
        if let Some(audit) = self.shared.lock().audit.as_mut() {
            audit.server_restart(serde_json::json!({
                "reason": "credentials renewed",
                "pid": child_pid,
                "previous_exit": status,
                "credentials": self.credentials.iter().map(|c| &c.variable).collect::<Vec<_>>(),
            }));
        }
        tracing::info!(%server, "server restarted with renewed credentials");
        Ok((running(writer, reader), lifetime))
    }

    /// Waits for the old server to exit after its EOF; SIGTERM to its group after the grace,
    /// then SIGKILL to everything. Returns its exit code.
    async fn stop(&self, child: &mut Child, child_pid: Option<i32>) -> Option<i32> {
        if let Ok(Ok(status)) = tokio::time::timeout(self.grace, child.wait()).await {
            return status.code();
        }
        send_to_group(child_pid, Signal::SIGTERM);
        if let Ok(Ok(status)) = tokio::time::timeout(self.grace, child.wait()).await {
            return status.code();
        }
        process_tree::kill_descendants(child_pid);
        child.wait().await.ok().and_then(|s| s.code())
    }

    /// Legacy era: the client's `initialize` again, under mcpguard's own id; its answer
    /// and whatever the server says before it are consumed, then `initialized` follows.
    async fn replay_initialize(
        &self,
        stdin: &mut ChildStdin,
        lines: &mut LineReader<ChildStdout>,
    ) -> Result<(), String> {
        let params = {
            let state = self.shared.lock();
            if state.era == Era::Modern {
                return Ok(());
            }
            match &state.client_initialize {
                Some(params) => params.clone(),
                // The client never initialized: there is nothing to continue.
                None => return Ok(()),
            }
        };
        let id = format!("mcpguard-restart-{}", std::process::id());
        let request = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"initialize\",\"params\":{params}}}\n",
            serde_json::Value::String(id.clone())
        );
        let write = async {
            stdin.write_all(request.as_bytes()).await?;
            stdin.flush().await
        };
        write
            .await
            .map_err(|e| format!("the restarted server did not take initialize: {e}"))?;
        let answer = async {
            loop {
                let frame = lines
                    .next_frame()
                    .await
                    .map_err(|e| format!("reading the restarted server: {e}"))?;
                let Some(Frame::Line(line)) = frame else {
                    return Err("the restarted server ended before answering initialize".to_owned());
                };
                let Ok(message) = serde_json::from_slice::<serde_json::Value>(&line) else {
                    continue;
                };
                if message.get("id").and_then(|v| v.as_str()) != Some(id.as_str()) {
                    tracing::debug!(
                        "consumed a message of the restarted server before its initialize answer"
                    );
                    continue;
                }
                if let Some(error) = message.get("error") {
                    return Err(format!(
                        "the restarted server refused initialize: {}",
                        crate::terminal::escape(&error.to_string())
                    ));
                }
                return Ok(());
            }
        };
        tokio::time::timeout(START_PATIENCE, answer)
            .await
            .map_err(|_| {
                format!("the restarted server did not answer initialize within {START_PATIENCE:?}")
            })??;
        let initialized = b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
        stdin
            .write_all(initialized)
            .await
            .map_err(|e| format!("the restarted server did not take initialized: {e}"))?;
        stdin.flush().await.map_err(|e| e.to_string())
    }
}

/// A restart that stopped before anything changed: the session keeps the old server, whose
/// writer has ended.
fn unchanged(mut old: Running, why: String) -> Box<Failure> {
    old.writer = ended_writer();
    Box::new(Failure { why, running: old })
}

fn ended_writer() -> JoinHandle<Stopped<ChildStdin>> {
    tokio::spawn(async { Stopped::Ended(WriterEnd::Closed) })
}
