//! Starting the server and speaking to its process.
//!
//! Owns: serving a sandbox helper started for a plan (`child`) with the tasks it needs
//! (the layer report, the egress filter, the stderr relay) and its pipes made large; reading
//! the helper's report of the layers in force; and signalling the server's process group.
//! A session starts one at the beginning and, when credentials are renewed, others
//! (`restart`).

use super::child;
use super::child::SpawnError;
use super::server_stderr;
use super::shared::Shared;
use crate::sandbox::{
    init::{LayerReport, ServerExit},
    plan::Plan,
};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::sync::Arc;

/// Why a session could not run at all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("could not set up the session: {0}")]
    Setup(#[from] std::io::Error),
}

/// A server just started in its sandbox, with the pipes and tasks that serve it.
pub(crate) struct Spawned {
    pub(crate) child: child::Child,
    pub(crate) child_pid: Option<i32>,
    /// Reads the helper's report of the layers in force.
    pub(crate) report_task: tokio::task::JoinHandle<Reported>,
    /// Fires when the sandbox is up (the report arrived).
    pub(crate) report_seen: tokio::sync::oneshot::Receiver<()>,
    pub(crate) stderr: Option<server_stderr::Relay>,
    pub(crate) stdin: tokio::process::ChildStdin,
    pub(crate) stdout: tokio::process::ChildStdout,
    /// The egress filter serving this sandbox's network (allowlist mode).
    pub(crate) filter: Option<Arc<crate::egress::Filter>>,
}

/// Starts the server in the sandbox `plan` describes (a restart: from inside the runtime).
pub(crate) fn spawn_server(
    plan: &Plan,
    egress: Option<&crate::egress::EgressConfig>,
    shared: &Arc<Shared>,
) -> Result<Spawned, SessionError> {
    serve(child::start(plan)?, egress, shared)
}

/// Starts the tasks that serve a helper just started: the layer report, the egress filter,
/// the stderr relay; and makes its pipes large.
pub(crate) fn serve(
    started: child::Started,
    egress: Option<&crate::egress::EgressConfig>,
    shared: &Arc<Shared>,
) -> Result<Spawned, SessionError> {
    let child::Started {
        pid,
        pidfd,
        stdin,
        stdout,
        stderr,
        report,
        egress: egress_channel,
    } = started;
    let (server_exit, server_exited) = tokio::sync::oneshot::channel();
    let child = child::Child::watch(pidfd, server_exited)?;
    let (sandbox_up, report_seen) = tokio::sync::oneshot::channel();
    let report_task = tokio::spawn(report_layers(
        report,
        Arc::clone(shared),
        sandbox_up,
        server_exit,
    ));
    let mut filter = None;
    if let (Some(supervisor_end), Some(config)) = (egress_channel, egress.cloned()) {
        let recorder: Arc<dyn crate::egress::NetworkRecorder> = shared.clone();
        let started = crate::egress::Filter::new(config, recorder);
        crate::egress::start(supervisor_end, Arc::clone(&started))?;
        filter = Some(started);
    }
    let stderr = Some(server_stderr::start(
        stderr,
        &shared.config.server_name,
        shared.scrubber(),
    )?);
    child::enlarge_pipe(stdin.as_fd());
    child::enlarge_pipe(stdout.as_fd());
    let stdin = tokio::process::ChildStdin::from_std(std::process::ChildStdin::from(stdin))?;
    let stdout = tokio::process::ChildStdout::from_std(std::process::ChildStdout::from(stdout))?;
    Ok(Spawned {
        child,
        child_pid: Some(pid),
        report_task,
        report_seen,
        stderr,
        stdin,
        stdout,
        filter,
    })
}

/// What the helper's report said of the sandbox, as far as the session's end needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reported {
    /// The report arrived: the sandbox came up and the server was started.
    pub(crate) up: bool,
    /// The server ran in a pid namespace of its own, which ends with it every process it
    /// started (without one, its daemonized children outlive it and are the supervisor's
    /// to find, `process_tree`).
    pub(crate) pid_namespace: bool,
}

impl Reported {
    const NOT_UP: Reported = Reported {
        up: false,
        pid_namespace: false,
    };
}

/// Reads what the sandbox really enforces and says so: the layers on one line (with -v),
/// and every missing layer as a warning. `sandbox_up` fires when the report arrives (the
/// helper sends it just before it runs the server). Then reads the server's exit status,
/// which the sandbox sends when the server has exited, on to `server_exit`. Returns what
/// the report said.
async fn report_layers(
    fd: std::os::fd::OwnedFd,
    shared: Arc<Shared>,
    sandbox_up: tokio::sync::oneshot::Sender<()>,
    server_exit: tokio::sync::oneshot::Sender<i32>,
) -> Reported {
    let server = shared.config.server_name.clone();
    use tokio::io::AsyncBufReadExt;
    let Ok(pipe) = tokio::net::unix::pipe::Receiver::from_owned_fd(fd) else {
        // No report to wait for: the relay starts at once.
        let _ = sandbox_up.send(());
        return Reported {
            up: true,
            pid_namespace: false,
        };
    };
    // One line; the helper and PID 1 keep their copy of the pipe open until the end.
    let mut text = Vec::new();
    let mut reader = tokio::io::BufReader::new(pipe);
    if reader.read_until(b'\n', &mut text).await.is_err() || text.is_empty() {
        // The helper failed before reporting; it said why on stderr.
        return Reported::NOT_UP;
    }
    if let Ok(exit) = serde_json::from_slice::<ServerExit>(&text) {
        // The server's process failed before the sandbox was up (it said why on stderr),
        // and PID 1 passes its exit on.
        let _ = server_exit.send(exit.exit_code);
        return Reported::NOT_UP;
    }
    let _ = sandbox_up.send(());
    let mut pid_namespace = false;
    match serde_json::from_slice::<LayerReport>(&text) {
        Ok(report) => {
            pid_namespace = report.namespaces;
            tracing::info!(
                %server,
                "sandbox: namespaces {}, landlock {} (ABI {}), seccomp {}, network {:?}",
                if report.namespaces { "on" } else { "off" },
                report.landlock.enforced,
                report.landlock.abi,
                if report.seccomp { "on" } else { "off" },
                report.network,
            );
            for missing in &report.degraded {
                tracing::warn!(%server, "sandbox degraded: {missing}");
            }
            if let Some(audit) = shared.lock().audit.as_mut() {
                audit.sandbox(serde_json::to_value(&report).unwrap_or_default());
            }
        }
        Err(e) => tracing::warn!(%server, "unreadable sandbox report: {e}"),
    }
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await.is_ok()
        && let Ok(exit) = serde_json::from_slice::<ServerExit>(&line)
    {
        let _ = server_exit.send(exit.exit_code);
    }
    Reported {
        up: true,
        pid_namespace,
    }
}

pub(crate) fn send_to_group(child_pid: Option<i32>, signal: Signal) {
    let Some(pid) = child_pid else { return };
    // The server leads its own process group; fall back to the process if the group is gone.
    if killpg(Pid::from_raw(pid), signal).is_err() {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}
