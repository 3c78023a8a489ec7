//! One relay session: the server process, both directions, and the way it all ends.
//!
//! Owns: wiring the server's pipes and mcpguard's stdio to the relay tasks, forwarding
//! SIGINT/SIGTERM/SIGHUP to the server, the shutdown ladder (client EOF → close the server's
//! stdin → grace → SIGTERM to its process group → grace → SIGKILL of every descendant), and
//! what the client is owed at the end (an error for every request the server never answered,
//! with the last line it wrote on stderr). The client's stdin is read only once the sandbox
//! helper has reported the sandbox up: when the helper fails before that (a required layer
//! missing, the command not found or not executable inside), the session answers the
//! client's requests with the helper's reason instead (`refuse_start`).
//! Returns the exit code mcpguard ends with (contract: the server's code, 128+N for signal N).
//!
//! Data flow:
//!   client stdin ─► LineReader ─► client_to_server ─► writer ─► server stdin
//!   client stdout ◄─ writer ◄─ server_to_client ◄─ LineReader ◄─ server stdout
//!   mcpguard stderr ◄─ server_stderr (own thread: bounded, escaped, rate-limited) ◄─ server stderr
//!   (mcpguard's own replies and timers queue into the same writers, so order holds)

use super::refuse_start::{self, Refusal};
use super::restart::{Restart, Running};
pub(crate) use super::server::SessionError;
use super::server::{Spawned, send_to_group, serve};
use super::shared::{SessionConfig, Shared};
use super::stdio::BoxedReader;
use super::{client_to_server, process_tree, server_to_client, stdio, writer};
use crate::audit::AuditLog;
use crate::jsonrpc::framing::LineReader;
use crate::jsonrpc::reply::{self, ErrorCode};
use crate::sandbox::plan::Plan;
use nix::sys::signal::Signal;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep_until};

/// The next step of the shutdown ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Terminate,
    Kill,
}

/// How long the client writer gets to deliver the last answers once the server is gone.
const FINAL_FLUSH: Duration = Duration::from_secs(5);
/// How long the server's last stderr lines get to be shown once it is gone (everything
/// holding the pipe is dead by then, so this is only a bound).
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// How the client side ended: relayed until its end, or never started because the sandbox
/// did not come up (the reader comes back, untouched, to answer the client).
enum ClientSide {
    Relayed(client_to_server::ClientEnd),
    NotStarted(LineReader<BoxedReader>),
}

/// What to start: the command inside the sandbox `plan` describes, with the egress
/// filter's settings in allowlist mode. (There is no unconfined launch: every server runs
/// in a sandbox.)
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) plan: Box<Plan>,
    pub(crate) egress: Option<crate::egress::EgressConfig>,
    /// The credentials the server gets, fetched again at each restart.
    pub(crate) credentials: Vec<crate::secrets::credentials::Credential>,
    /// Those fetched for the first start (already delivered into `plan`).
    pub(crate) issued: Option<crate::secrets::credentials::Issued>,
    /// The helper of the first start, forked before the runtime existed.
    pub(crate) started: super::child::Started,
    /// The server's cache and its `limits.cache`, measured while the session runs.
    pub(crate) cache_budget: Option<crate::sandbox::cache::Budget>,
}

/// What each direction's writer may hold unwritten.
const QUEUED_BYTES: usize = 256 * 1024;

pub(crate) async fn run(
    launch: Launch,
    config: SessionConfig,
    audit: Option<AuditLog>,
    policy: Option<crate::policy::Policy>,
    pins: Option<super::shared::PinState>,
) -> Result<u8, SessionError> {
    let shared = Arc::new(Shared::with_guards(config, audit, policy, pins));
    let _written = RecordsWrittenAtTheEnd(Arc::clone(&shared));
    serve_session(launch, &shared).await
}

/// Whichever way the session ends (an error returned early, a panic unwinding), the
/// answers relayed so far are recorded and every record handed to the audit writer thread
/// is written before mcpguard goes.
struct RecordsWrittenAtTheEnd(Arc<Shared>);

impl Drop for RecordsWrittenAtTheEnd {
    fn drop(&mut self) {
        self.0.flush_audit();
        if let Some(audit) = self.0.lock().audit.as_ref() {
            audit.drain();
        }
    }
}

async fn serve_session(launch: Launch, shared: &Arc<Shared>) -> Result<u8, SessionError> {
    if let Err(e) = process_tree::become_subreaper() {
        // Without it a daemonized grandchild escapes to init; say so rather than pretend.
        tracing::warn!(
            "could not become a child subreaper ({e}); daemonized grandchildren may outlive the session"
        );
    }
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;

    let shared = Arc::clone(shared);
    // Served for the whole session; the socket file goes when this does.
    let _approval_socket = serve_approvals(&shared);
    let Launch {
        mut plan,
        egress,
        credentials,
        issued,
        started,
        cache_budget,
    } = launch;
    let mut renew_at = None;
    if let Some(issued) = issued {
        renew_at = issued.lifetime.map(|l| Instant::now() + renewal_after(l));
        shared.learn_injected(issued.injected);
    }
    let Spawned {
        child,
        child_pid,
        report_task,
        report_seen,
        stderr: server_stderr,
        stdin: server_stdin,
        stdout: server_stdout,
        filter: egress_filter,
    } = serve(started, egress.as_ref(), &shared)?;
    let egress = &egress;
    let client_is_terminal = std::io::stdin().is_terminal();
    let (client_in, client_out) = stdio::open_client_stdio()?;
    if let Some(audit) = shared.lock().audit.as_mut() {
        audit.write_on_a_thread_if_continuing();
        let mut detail = serde_json::json!({
            "command": plan.argv,
            "pid": child_pid,
            "sandboxed": true,
            "mcpguard": env!("CARGO_PKG_VERSION"),
            "network": plan.network,
            "workspace": shared.config.workspace,
        });
        if let Some(cache) = plan.cache_dir() {
            detail["cache"] = serde_json::json!(cache);
        }
        if let Some(egress) = egress {
            let hosts: Vec<&str> = egress.allowlist.entries().collect();
            detail["allow_hosts"] = serde_json::json!(hosts);
        }
        audit.session_start(detail);
    }
    let cache_check = cache_budget.map(|budget| {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || {
            if let Some(detail) = budget.check(&shared.config.server_name)
                && let Some(audit) = shared.lock().audit.as_mut()
            {
                audit.limit(detail);
            }
        })
    });
    let grace = shared.config.shutdown_grace;

    // Each direction holds at most this much unwritten before its producer waits (a longer
    // message goes alone): a peer that reads slowly slows the other down instead of
    // growing mcpguard's memory.
    let budget = QUEUED_BYTES;
    let (to_server, server_queue) = writer::channel(budget);
    let (to_client, client_queue) = writer::channel(budget);
    // Paused only to restart the server (renewed credentials); the queue then waits for it.
    let (pause_writer, paused) = tokio::sync::watch::channel(false);
    let server_writer = tokio::spawn(writer::write_lines_until_paused(
        server_stdin,
        server_queue,
        paused.clone(),
    ));
    let client_writer = tokio::spawn(writer::write_lines(client_out, client_queue));
    // Until the sandbox is up the reader is not touched, so a helper's failure can still
    // answer the client with it.
    let mut client_side = {
        let reader = LineReader::new(client_in, shared.config.max_message);
        let (shared, to_server, to_client) =
            (Arc::clone(&shared), to_server.clone(), to_client.clone());
        tokio::spawn(async move {
            if report_seen.await.is_err() {
                return ClientSide::NotStarted(reader);
            }
            let end = client_to_server::relay(reader, shared, to_server, to_client).await;
            ClientSide::Relayed(end)
        })
    };
    let server_side = tokio::spawn(server_to_client::relay(
        LineReader::new(server_stdout, shared.config.max_message),
        Arc::clone(&shared),
        to_client.clone(),
        to_server.clone(),
    ));
    // The server side as it is now; a restart replaces it whole.
    let mut running = Running {
        child,
        child_pid,
        report_task,
        stderr: server_stderr,
        filter: egress_filter,
        writer: server_writer,
        reader: server_side,
    };
    let mut child_exits = signal(SignalKind::child())?;

    let mut ladder: Option<(Instant, Step)> = None;
    let mut client_done = false;
    let mut server_out_done = false;
    let mut server_in_done = false;
    let mut signalled = false;
    let mut unstarted = None;
    let status = loop {
        let next_step = ladder.map(|(at, _)| at);
        tokio::select! {
            status = running.child.server_exited() => break status?,
            end = &mut client_side, if !client_done => {
                client_done = true;
                let end = match end {
                    Ok(ClientSide::NotStarted(reader)) => {
                        // The helper failed; it exits by itself.
                        unstarted = Some(reader);
                        continue;
                    }
                    Ok(ClientSide::Relayed(end)) => Ok(end),
                    Err(e) => Err(e),
                };
                if let Ok(client_to_server::ClientEnd::ReadError(e)) = &end {
                    tracing::warn!("reading from the client failed ({e}); ending the session");
                }
                tracing::debug!(?end, "client side ended; closing the server's stdin");
                ladder = ladder.or(Some((Instant::now() + grace, Step::Terminate)));
            }
            end = &mut running.reader, if !server_out_done => {
                server_out_done = true;
                if let Ok(server_to_client::ServerEnd::ReadError(e)) = &end {
                    tracing::warn!("reading the server's stdout failed ({e}); ending the session");
                }
                tracing::debug!(?end, "server side ended");
                to_server.close();
                ladder = ladder.or(Some((Instant::now() + grace, Step::Terminate)));
            }
            stopped = &mut running.writer, if !server_in_done => {
                server_in_done = true;
                let end = match stopped {
                    Ok(writer::Stopped::Ended(end)) => Ok(end),
                    // Only a restart pauses the writer, and it waits for that itself.
                    Ok(writer::Stopped::Paused(..)) => Ok(writer::WriterEnd::Closed),
                    Err(e) => Err(e),
                };
                // A server that closed its stdin is a normal end; anything else is worth a line.
                if let Ok(writer::WriterEnd::Failed(e)) = &end
                    && e.kind() != std::io::ErrorKind::BrokenPipe
                {
                    tracing::warn!("writing to the server's stdin failed ({e})");
                }
                tracing::debug!(?end, "server stdin closed");
            }
            Some(()) = interrupt.recv() => forward(Signal::SIGINT, running.child_pid, &mut signalled, &mut ladder, grace),
            Some(()) = terminate.recv() => forward(Signal::SIGTERM, running.child_pid, &mut signalled, &mut ladder, grace),
            Some(()) = hangup.recv() => forward(Signal::SIGHUP, running.child_pid, &mut signalled, &mut ladder, grace),
            Some(()) = child_exits.recv() => {
                // Orphans re-parented to us (we are their subreaper) are collected as they
                // die, so a long session does not pile up zombies.
                process_tree::reap_children_except(running.child_pid);
            }
            () = sleep_until(renew_at.unwrap_or_else(Instant::now)),
                if renew_at.is_some() && ladder.is_none() && !client_done && !server_out_done && !server_in_done =>
            {
                let due = renew_at.unwrap_or_else(Instant::now);
                // Only between calls: nothing on its way in either direction.
                if !shared.lock().pending.is_quiet() {
                    renew_at = Some(Instant::now() + QUIET_POLL);
                    continue;
                }
                tracing::info!(server = %shared.config.server_name, "renewing the server's credentials: restarting it between calls");
                let restart = Restart {
                    shared: &shared,
                    plan: &mut plan,
                    egress: egress.as_ref(),
                    credentials: &credentials,
                    grace,
                };
                pause_writer.send_replace(true);
                running = match restart.run(running, &to_client, &to_server, &pause_writer, paused.clone()).await {
                    Ok((restarted, lifetime)) => {
                        renew_at = lifetime.map(|l| Instant::now() + renewal_after(l));
                        tracing::debug!(late = ?Instant::now().saturating_duration_since(due), "server restarted");
                        restarted
                    }
                    Err(failure) => {
                        tracing::error!(server = %shared.config.server_name, "{}; the session ends", failure.why);
                        renew_at = None;
                        to_server.close();
                        ladder = Some((Instant::now(), Step::Terminate));
                        failure.running
                    }
                };
            }
            () = sleep_until(next_step.unwrap_or_else(Instant::now)), if next_step.is_some() => {
                ladder = climb(ladder, running.child_pid, grace);
            }
        }
    };

    let Running {
        mut child,
        report_task,
        stderr: server_stderr,
        filter: egress_filter,
        reader: mut server_side,
        ..
    } = running;
    // Whether the sandbox ever came up: the report pipe ends with the helper's tree.
    let report = tokio::time::timeout(STDERR_DRAIN, report_task).await;
    let reported = report
        .as_ref()
        .is_ok_and(|r| r.as_ref().map_or(true, |r| r.up));
    let pid_namespace = matches!(&report, Ok(Ok(r)) if r.pid_namespace);
    // The server is gone; whatever it left behind goes with it. Its pid namespace took
    // every process in it along; without one, they are looked for.
    if !pid_namespace {
        let killed = process_tree::kill_descendants(None);
        if killed > 0 {
            tracing::info!("killed {killed} process(es) the server left behind");
        }
    }
    if !server_out_done && tokio::time::timeout(grace, &mut server_side).await.is_err() {
        tracing::warn!("the server's stdout stayed open after it exited; stopped reading it");
        server_side.abort();
    }
    if !client_done && !reported {
        // Its gate is closed: it hands the reader back at once.
        if let Ok(Ok(ClientSide::NotStarted(reader))) =
            tokio::time::timeout(STDERR_DRAIN, &mut client_side).await
        {
            unstarted = Some(reader);
        }
    }
    client_side.abort();
    let last_words_on_stderr = match server_stderr {
        Some(relay) => relay.finish(STDERR_DRAIN).await,
        None => None,
    };
    let code = crate::exit::of_server(status);
    if let Some(reader) = unstarted {
        let refusal = Refusal::helper(code, last_words_on_stderr.as_deref());
        if !client_is_terminal {
            refuse_start::answer(reader, &to_client, &refusal).await;
        }
    }
    // Bounded: a client that stopped reading cannot keep mcpguard alive.
    let last_words = async {
        for denial in super::held::end_all(&shared, &format!("the server exited (status {code})")) {
            to_client.send(denial).await;
        }
        let unanswered = {
            let mut state = shared.lock();
            let unanswered = state.pending.drain_client_requests();
            if let Some(audit) = state.audit.as_mut() {
                for (id, request) in &unanswered {
                    super::recording::ended_without_answer(
                        audit,
                        crate::audit::record::EventKind::Aborted,
                        id,
                        request,
                    );
                }
            }
            unanswered
        };
        for (id, request) in unanswered {
            let mut message = match &last_words_on_stderr {
                Some(line) => format!(
                    "the server exited (status {code}) before answering {}; its last line on \
                     stderr: {line}",
                    request.method
                ),
                None => format!(
                    "the server exited (status {code}) before answering {}",
                    request.method
                ),
            };
            // Exited before it could answer the first request: likely a path it needs is
            // not in its view.
            let first_request = request.method == crate::mcp::methods::INITIALIZE
                || request.method == crate::mcp::methods::SERVER_DISCOVER;
            if first_request && !shared.config.start_hints.is_empty() {
                message.push_str("; likely cause: ");
                message.push_str(&shared.config.start_hints.join("; "));
            }
            to_client
                .send(reply::error_line(
                    Some(&id),
                    ErrorCode::ServerExited,
                    &message,
                ))
                .await;
        }
        to_client.close();
        client_writer.await
    };
    if tokio::time::timeout(FINAL_FLUSH, last_words).await.is_err() {
        tracing::warn!("the client did not read mcpguard's last messages within {FINAL_FLUSH:?}");
    }
    // Its record, if any, belongs before the session's end.
    if let Some(check) = cache_check {
        let _ = check.await;
    }
    shared.flush_audit();
    if let Some(filter) = &egress_filter {
        filter.records.close_all();
    }
    if let Some(audit) = shared.lock().audit.as_mut() {
        audit.session_end(serde_json::json!({ "exit_code": code }));
    }
    // The sandbox reported the server's exit before its own end; mcpguard ends after it.
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::warn!(
            "the sandbox's own processes were still exiting {grace:?} after the server; \
             mcpguard ends now and its end kills them (their parent-death signal)"
        );
    }
    Ok(code)
}

/// When to renew credentials that live `lifetime`: before they run out, leaving a fifth of
/// it (at most 30 s) for the restart.
fn renewal_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / 5).min(Duration::from_secs(30)))
}

/// How often a due renewal looks again for a moment with no call in flight.
const QUIET_POLL: Duration = Duration::from_millis(20);

/// Serves the approval socket when the profile names that channel; a directory that is not
/// private, or a socket that cannot be bound, leaves the channel out and says why.
fn serve_approvals(shared: &Arc<Shared>) -> Option<crate::approval::socket::Bound> {
    let wanted = shared.policy.as_ref().is_some_and(|p| {
        p.approval_channels
            .contains(&crate::approval::Channel::Socket)
    });
    if !wanted {
        return None;
    }
    let server = &shared.config.server_name;
    let dir = match crate::approval::runtime_dir::ensure() {
        Ok(dir) => dir,
        Err(e) => {
            tracing::warn!(%server, "approvals through `mcpguard approve` are off for this session: {e}");
            return None;
        }
    };
    let desk: Arc<dyn crate::approval::socket::Desk> = shared.clone();
    let origin = shared.lock().origin;
    match crate::approval::socket::serve(&dir, desk, origin) {
        Ok(bound) => {
            tracing::debug!(%server, "approval socket {}", bound.path().display());
            shared.lock().approval_dir = Some(dir);
            Some(bound)
        }
        Err(e) => {
            tracing::warn!(%server, "approvals through `mcpguard approve` are off for this session: cannot open a socket in {}: {e}", dir.display());
            None
        }
    }
}

/// Forwards a signal mcpguard received to the server's process group; a second one, or the
/// grace running out, kills everything.
fn forward(
    signal: Signal,
    child_pid: Option<i32>,
    signalled: &mut bool,
    ladder: &mut Option<(Instant, Step)>,
    grace: Duration,
) {
    if *signalled {
        tracing::warn!("second signal ({signal}); killing the server");
        *ladder = Some((Instant::now(), Step::Kill));
        return;
    }
    *signalled = true;
    tracing::info!("forwarding {signal} to the server");
    send_to_group(child_pid, signal);
    *ladder = Some((Instant::now() + grace, Step::Kill));
}

/// Takes the next step of the shutdown ladder and returns the one after it.
fn climb(
    ladder: Option<(Instant, Step)>,
    child_pid: Option<i32>,
    grace: Duration,
) -> Option<(Instant, Step)> {
    match ladder {
        Some((_, Step::Terminate)) => {
            tracing::info!(
                "the server did not exit within {grace:?} of its stdin closing; sending SIGTERM"
            );
            send_to_group(child_pid, Signal::SIGTERM);
            Some((Instant::now() + grace, Step::Kill))
        }
        Some((_, Step::Kill)) => {
            tracing::warn!(
                "the server did not exit after SIGTERM within {grace:?}; killing it and everything it started"
            );
            process_tree::kill_descendants(child_pid);
            None
        }
        None => None,
    }
}
