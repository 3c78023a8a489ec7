//! The sandbox's own processes: the helper (`mcpguard __sandbox-init`, re-executed by the
//! supervisor, or forked from it, `fork`) and PID 1 and PID 2 of the sandbox.
//!
//! Owns: carrying out a `Plan` in a fresh single-threaded process (namespace work is not
//! safe in the multi-threaded supervisor): enter the namespaces, fork PID 1 of the new pid
//! namespace (which builds the view, brings loopback up, sets the hostname, in allowlist
//! mode adds the capture addresses to loopback and hands the egress sockets to the
//! supervisor on fd 5 (`handoff`), then reaps and forwards signals), fork PID 2 (which
//! gives up every privilege, applies Landlock and then seccomp, and execs the server).
//! Where the supervisor could clone PID 1 straight into the namespaces (`fork`), there is no
//! helper: PID 1 starts at `carry_out_as_pid_one`. Without user namespaces the helper either
//! refuses (exit 125 with the reason and the fix) or, when the plan allows it, runs the
//! server with Landlock and seccomp only and says so.
//!
//! Process tree and lifetime: supervisor → [helper →] PID 1 → PID 2 (server). Each link has
//! a parent-death SIGKILL, and PID 1's death empties the namespace, so killing the supervisor
//! takes the whole sandbox with it. Signals go the same way down: [helper →] PID 1 → the
//! server's process group. Exit status comes back up unchanged (signal N as 128+N).

use super::landlock::{self, LandlockOutcome};
use super::plan::{
    HOSTNAME, Layer, Network, PROXY_PORT, Plan, SYNTHETIC_GATEWAY, SYNTHETIC_NETWORK,
};
use super::{handoff, mounts, namespaces, network, privileges, seccomp};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use serde::Serialize;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The hidden subcommand (argv[1]) that reaches this module.
pub(crate) const SUBCOMMAND: &str = "__sandbox-init";
/// The descriptor the plan arrives on.
pub(crate) const PLAN_FD: RawFd = 3;
/// The descriptor the layer report leaves on.
pub(crate) const REPORT_FD: RawFd = 4;
/// The descriptor the egress sockets leave on (allowlist mode; see `handoff`).
pub(crate) const EGRESS_FD: RawFd = 5;
/// Exit status when the sandbox could not be set up as required (contract).
const EXIT_SETUP: i32 = crate::exit::status(crate::exit::GUARD_FAILED);

/// Signals passed on to the server.
const FORWARDED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// What the sandbox really enforces, reported to the supervisor before the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct LayerReport {
    pub(crate) namespaces: bool,
    pub(crate) landlock: LandlockOutcome,
    pub(crate) seccomp: bool,
    pub(crate) network: Network,
    /// What is missing compared with the full sandbox, in words.
    pub(crate) degraded: Vec<String>,
    /// Each resource limit in force and what enforces it, in words.
    #[serde(default)]
    pub(crate) limits: Vec<String>,
}

/// What the sandbox says on the report pipe once the server has exited: its exit status as
/// the sandbox will pass it on (signal N as 128+N). PID 1 sends it before its own exit,
/// which tears the namespaces down; the supervisor ends the session meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct ServerExit {
    pub(crate) exit_code: i32,
}

/// Entry point; never returns. argv: `mcpguard __sandbox-init PLAN_FD REPORT_FD
/// SUPERVISOR_PID [EGRESS_FD]`.
pub(crate) fn main() -> ! {
    let args: Vec<i32> = std::env::args()
        .skip(2)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (plan_fd, report_fd, supervisor, egress_fd) = match args[..] {
        [plan, report, supervisor] => (plan, report, supervisor, None),
        [plan, report, supervisor, egress] => (plan, report, supervisor, Some(egress)),
        _ => fatal(
            "usage: mcpguard __sandbox-init PLAN_FD REPORT_FD SUPERVISOR_PID [EGRESS_FD] (internal)",
        ),
    };
    // Die with the supervisor; if it is already gone, stop here.
    die_with_parent();
    if nix::unistd::getppid().as_raw() != supervisor {
        leave(EXIT_SETUP);
    }
    // The rest of the helper finds the pipes at fixed numbers; whatever else mcpguard
    // inherited from the agent (a terminal, a log file) is not for the sandbox.
    let moves: Vec<(RawFd, RawFd)> = [(plan_fd, PLAN_FD), (report_fd, REPORT_FD)]
        .into_iter()
        .chain(egress_fd.map(|fd| (fd, EGRESS_FD)))
        .collect();
    if let Err(e) = take_descriptors(&moves) {
        fatal(&format!(
            "could not take over the plan, report and egress descriptors: {e} (internal)"
        ));
    }

    // Core dumps of this helper would hold the plan, credentials included. (It stays
    // dumpable until the user namespace is set up: a non-dumpable process may not write its
    // own uid map.)
    no_core_dumps();
    let plan = match read_plan() {
        Ok(plan) => plan,
        Err(e) => fatal(&format!("could not read the sandbox plan: {e}")),
    };
    carry_out(plan, egress_fd.is_some())
}

/// Puts each descriptor of `moves` (source, target) on its target number and closes every
/// other descriptor above stderr, so a helper or PID 1 holds exactly what it is given. Every
/// source is first copied clear of the target numbers, so that one sitting on another's
/// target is not clobbered. Kernels before 5.9 lack close_range; there, the server's own
/// closing before its exec (`close_all_but_report`, which has a fallback) is what counts.
pub(super) fn take_descriptors(moves: &[(RawFd, RawFd)]) -> std::io::Result<()> {
    let highest_target = PLAN_FD.max(REPORT_FD).max(EGRESS_FD);
    // SAFETY: fcntl, dup2, close and close_range on descriptors this process holds; none of
    // them is used through an owner afterwards (the caller hands over raw numbers).
    unsafe {
        let mut lifted = Vec::with_capacity(moves.len());
        for &(fd, target) in moves {
            let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, highest_target + 1);
            if copy < 0 {
                return Err(std::io::Error::last_os_error());
            }
            lifted.push((copy, target));
        }
        for &(fd, _) in moves {
            libc::close(fd);
        }
        for (copy, target) in lifted {
            if libc::dup2(copy, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if libc::syscall(
            libc::SYS_close_range,
            (highest_target + 1) as u32,
            u32::MAX,
            0u32,
        ) != 0
        {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOSYS) {
                return Err(e);
            }
        }
        for fd in [PLAN_FD, REPORT_FD, EGRESS_FD] {
            if !moves.iter().any(|&(_, target)| target == fd) {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Builds the sandbox `plan` describes and runs the server in it; never returns. The
/// caller has the standard descriptors on the server's pipes, the report pipe on
/// `REPORT_FD`, the egress channel on `EGRESS_FD` when `egress_channel`, nothing else
/// open, and is single-threaded (re-executed, or forked by `fork::start`).
pub(crate) fn carry_out(mut plan: Plan, egress_channel: bool) -> ! {
    no_core_dumps();
    take_secret_env(&mut plan);
    if plan.network == Network::Allowlist && !egress_channel {
        fatal("the network allowlist needs the egress channel (EGRESS_FD; internal)");
    }
    match namespaces::enter(plan.network, plan.uid, plan.gid) {
        Ok(()) => run_namespaced(&plan),
        Err(e) if plan.require.contains(&Layer::Namespaces) => fatal(&format!(
            "{e}. The namespaces layer is required (--require); to run with Landlock and seccomp \
             only, pass --require landlock,seccomp"
        )),
        Err(e) => run_degraded(&plan, &e.to_string()),
    }
}

/// Runs as PID 1 of namespaces the supervisor cloned this process into (`fork`), with its
/// ids mapped and its descriptors in place: the same PID 1 the helper forks; never returns.
pub(crate) fn carry_out_as_pid_one(mut plan: Plan, egress_channel: bool) -> ! {
    no_core_dumps();
    take_secret_env(&mut plan);
    if plan.network == Network::Allowlist && !egress_channel {
        fatal("the network allowlist needs the egress channel (EGRESS_FD; internal)");
    }
    let signals = block_signals();
    pid_one(&plan, &signals)
}

/// No core dump of this process: it holds the plan, credentials included.
pub(super) fn no_core_dumps() {
    if let Err(e) = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0) {
        fatal(&format!("could not turn core dumps off: {e}"));
    }
}

/// Credentials delivered in the environment join it only here, inside the sandbox's
/// processes.
fn take_secret_env(plan: &mut Plan) {
    for (name, value) in std::mem::take(&mut plan.secret_env) {
        for env in [&mut plan.env, &mut plan.degraded_env] {
            env.retain(|(k, _)| *k != name);
            env.push((name.clone(), value.0.clone()));
        }
    }
}

fn read_plan() -> Result<Plan, String> {
    // SAFETY: the supervisor passes the plan pipe as fd 3; nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(PLAN_FD) };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

pub(super) fn fatal(message: &str) -> ! {
    eprintln!("mcpguard: error: sandbox: {message}");
    leave(EXIT_SETUP)
}

/// Ends this process of the sandbox at once. Not `exit`: a process forked from the supervisor
/// carries its exit handlers and library destructors, which are the supervisor's to run (and
/// would copy each page they touch); nothing here buffers output (stderr is unbuffered).
pub(super) fn leave(code: i32) -> ! {
    // SAFETY: `_exit` takes an integer and does not return; it runs no code of this process.
    unsafe { libc::_exit(code) }
}

fn block_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        fatal(&format!("could not block signals: {e}"));
    }
    set
}

fn unblock_all() {
    // A failure here leaves signals blocked in the server; refuse rather than run it so.
    if let Err(e) = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None) {
        fatal(&format!("could not unblock signals: {e}"));
    }
}

pub(super) fn die_with_parent() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
}

/// Points fds 0 and 1 at /dev/null in a process that must not hold the server's pipes open
/// (the supervisor sees EOF only when every copy is closed).
fn release_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto the standard descriptors.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}

/// The exit code that carries `status` up one level (signal N as 128+N).
fn code_of(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

fn run_namespaced(plan: &Plan) -> ! {
    let signals = block_signals();
    // SAFETY: this process is single-threaded (the helper never starts a thread).
    match unsafe { fork() } {
        Err(e) => fatal(&format!("fork: {e}")),
        Ok(ForkResult::Child) => pid_one(plan, &signals),
        Ok(ForkResult::Parent { child }) => {
            // SAFETY: prctl with integer arguments: this helper keeps the plan (credentials
            // included) in memory while it waits, and its namespace setup is done.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
            release_stdio();
            // Only PID 1 sends on the egress channel; the supervisor must see it close if
            // PID 1 dies first.
            close_egress_channel();
            relay_until_exit(
                child,
                &signals,
                |sig| {
                    let _ = kill(child, sig);
                },
                // PID 1 reports the server's exit itself.
                |_| {},
            )
        }
    }
}

/// Waits for `child`, passing signals on with `forward`, then runs `at_exit` with its
/// status and exits with it.
fn relay_until_exit(
    child: Pid,
    signals: &SigSet,
    forward: impl Fn(Signal),
    at_exit: impl Fn(i32),
) -> ! {
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(status) => {
                        if status.pid() == Some(child)
                            && let Some(code) = code_of(status)
                        {
                            at_exit(code);
                            leave(code);
                        }
                    }
                }
            },
            Ok(signal) => forward(signal),
            Err(_) => {}
        }
    }
}

fn pid_one(plan: &Plan, signals: &SigSet) -> ! {
    die_with_parent();
    // Its own process group, so a signal to the helper's group reaches the server once,
    // through the helper, not a second time through here.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    if let Err(e) = mounts::build_root(&plan.mounts, &plan.limits) {
        fatal(&format!("could not build the view: {e}"));
    }
    // Kernels before 6.14 keep one pid_max for all namespaces; the write was refused then.
    let pid_capped = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        == Some(plan.limits.pid_max());
    if let Err(e) = nix::unistd::sethostname(HOSTNAME) {
        fatal(&format!("could not set the hostname: {e}"));
    }
    if plan.network != Network::Host
        && let Err(e) = network::loopback_up()
    {
        fatal(&format!("could not bring loopback up: {e}"));
    }
    if plan.network == Network::Allowlist {
        let Some(egress) = &plan.egress else {
            fatal("the network allowlist has no egress plan (internal)")
        };
        if let Err(e) = hand_over_egress(egress) {
            fatal(&format!("could not wire the network allowlist: {e}"));
        }
    }
    close_egress_channel();
    // SAFETY: prctl with integer arguments; makes /proc/1/mem and ptrace of PID 1 unavailable
    // to the server even though it runs as the same user.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // SAFETY: still single-threaded.
    match unsafe { fork() } {
        Err(e) => fatal(&format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            unblock_all();
            let isolation = Isolation::Namespaced { pid_capped };
            become_server(plan, &plan.landlock, isolation, &plan.cwd, &plan.env)
        }
        Ok(ForkResult::Parent { child }) => {
            release_stdio();
            relay_until_exit(
                child,
                signals,
                |sig| {
                    // The server leads its own session and process group.
                    let _ = kill(Pid::from_raw(-child.as_raw()), sig);
                },
                |code| {
                    report_full_tmpfs(&plan.limits);
                    report_server_exit(code);
                },
            )
        }
    }
}

/// Makes the synthetic range and the listed addresses local, opens the egress sockets and
/// sends them to the supervisor.
fn hand_over_egress(egress: &super::plan::EgressPlan) -> std::io::Result<()> {
    let (network, prefix) = SYNTHETIC_NETWORK;
    debug_assert!(network.octets()[..2] == SYNTHETIC_GATEWAY.octets()[..2]);
    network::add_loopback_address(SYNTHETIC_GATEWAY, prefix)?;
    for address in &egress.captured_addresses {
        if !address.is_loopback() {
            network::add_loopback_address(*address, 32)?;
        }
    }
    let sockets = handoff::open(egress)?;
    // SAFETY: EGRESS_FD is the channel the supervisor passed; it is open until closed below.
    let channel = unsafe { std::os::fd::BorrowedFd::borrow_raw(EGRESS_FD) };
    handoff::send(channel, &sockets)
}

fn close_egress_channel() {
    // SAFETY: closing a descriptor number this process owns (or that is not open).
    unsafe { libc::close(EGRESS_FD) };
}

fn run_degraded(plan: &Plan, why: &str) -> ! {
    let why = format!(
        "{why}. Running with Landlock and seccomp only: no private view of the filesystem (reads \
         limited by Landlock instead), no pid or IPC isolation{}",
        match plan.network {
            Network::None => "; IP sockets blocked by seccomp",
            Network::Allowlist =>
                "; the network allowlist needs a network namespace, so IP \
                                   sockets are blocked by seccomp instead (no network at all)",
            Network::Host => "",
        }
    );
    let why = why.as_str();
    if plan
        .mounts
        .iter()
        .any(|m| matches!(m, super::plan::Mount::Secrets { .. }))
    {
        fatal(&format!(
            "{why}. Credentials delivered as files need the private view (namespaces);              deliver them in the environment (delivery = \"env\") or run where user namespaces work"
        ));
    }
    // SAFETY: prctl with integer arguments: the helper holds the plan (credentials
    // included) until it becomes the server, and no namespace setup follows here.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let home = &plan.degraded_home;
    if let Err(e) = std::fs::create_dir_all(home.join("tmp")) {
        fatal(&format!("could not create {}: {e}", home.display()));
    }
    let cwd = if plan.cwd.exists()
        && plan
            .landlock_degraded
            .read
            .iter()
            .chain(&plan.landlock_degraded.write)
            .any(|p| plan.cwd.starts_with(p))
    {
        plan.cwd.clone()
    } else {
        home.clone()
    };
    // The helper leads the process group the supervisor made, and a group leader cannot
    // start a session; the server is forked so it can, and the helper relays as usual.
    let signals = block_signals();
    // SAFETY: this process is single-threaded.
    match unsafe { fork() } {
        Err(e) => fatal(&format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            die_with_parent();
            unblock_all();
            become_server(
                plan,
                &plan.landlock_degraded,
                Isolation::Degraded(why),
                &cwd,
                &plan.degraded_env,
            )
        }
        Ok(ForkResult::Parent { child }) => {
            release_stdio();
            close_egress_channel();
            relay_until_exit(
                child,
                &signals,
                |sig| {
                    let _ = kill(Pid::from_raw(-child.as_raw()), sig);
                },
                report_server_exit,
            )
        }
    }
}

/// Where the server runs: inside the namespaces PID 1 set up, or without them.
enum Isolation<'a> {
    /// `pid_capped`: whether the pid namespace's pid_max caps the number of tasks.
    Namespaced { pid_capped: bool },
    /// No namespaces, for this reason.
    Degraded(&'a str),
}

/// Says on stderr when the server exits with the shared tmpfs full, the one limit whose
/// hitting PID 1 can see afterwards (a refused fork or allocation is seen by the server
/// alone). /tmp is one of the scratch directories, so its file system is the shared one.
fn report_full_tmpfs(limits: &super::limits::ResourceLimits) {
    let Ok(stats) = nix::sys::statvfs::statvfs("/tmp") else {
        return;
    };
    let free = stats
        .blocks_available()
        .saturating_mul(stats.fragment_size());
    let inodes = stats.files_available();
    // A page or less left (or no inode) means a write failed for want of space.
    if free <= 4096 || inodes == 0 {
        eprintln!(
            "mcpguard: limit: the server filled its tmpfs budget ({} bytes shared by /tmp, \
             /var/tmp, /run, home and /dev/shm); raise limits.tmpfs in the profile if it needs more",
            limits.tmpfs
        );
    }
}

/// Gives up privileges, applies the limits, Landlock and seccomp, reports, and execs the
/// server.
fn become_server(
    plan: &Plan,
    rules: &super::plan::LandlockRules,
    isolation: Isolation<'_>,
    cwd: &Path,
    env: &[(String, String)],
) -> ! {
    let without_namespaces = match isolation {
        Isolation::Degraded(why) => Some(why),
        Isolation::Namespaced { .. } => None,
    };
    let step = |what: &str, result: std::io::Result<()>| {
        if let Err(e) = result {
            fatal(&format!("{what}: {e}"));
        }
    };
    let allow_network = plan.network == Network::Host;
    // In allowlist mode, TCP may go only to the proxy and the captured ports (all of which
    // lead to the filter); elsewhere connections are refused before they are tried.
    let tcp = match (plan.network, &plan.egress, without_namespaces) {
        (Network::Host, _, _) => landlock::Tcp::Unrestricted,
        (Network::Allowlist, Some(egress), None) => {
            let mut ports = egress.capture_ports.clone();
            ports.push(PROXY_PORT);
            landlock::Tcp::ConnectTo(ports)
        }
        _ => landlock::Tcp::Denied,
    };
    step("setsid", privileges::new_session());
    let (limits_in_force, limits_missing) = limits_in_force(plan, &isolation);
    // RLIMIT_NPROC counts the uid's tasks in the sandbox's own user namespace only; without
    // one it would count every process of the user on the host, so it is left alone then.
    let nproc = (without_namespaces.is_none() && plan.uid != 0).then_some(plan.limits.processes);
    step(
        "rlimits",
        privileges::limit_resources(nproc, plan.limits.memory),
    );
    if let Err(e) = nix::unistd::chdir(cwd) {
        fatal(&format!("could not enter {}: {e}", cwd.display()));
    }
    step("drop capabilities", privileges::drop_capabilities());
    step("no_new_privs", privileges::no_new_privs());
    if let Err(e) = privileges::verify_unprivileged() {
        fatal(&e);
    }
    let mut degraded: Vec<String> = without_namespaces
        .map(|why| format!("namespaces: {why}"))
        .into_iter()
        .chain(limits_missing)
        .collect();
    let outcome = match landlock::restrict(rules, &tcp) {
        Ok(outcome) => outcome,
        Err(e) => LandlockOutcome {
            abi: landlock::kernel_abi(),
            enforced: format!("off: {e}"),
        },
    };
    if !outcome.is_full() {
        let what = format!(
            "landlock: {} (kernel ABI {})",
            outcome.enforced, outcome.abi
        );
        if outcome.enforced.starts_with("off") && plan.require.contains(&Layer::Landlock) {
            fatal(&format!(
                "{what}. The landlock layer is required (--require); it needs Linux 5.13+ with \
                 landlock in the `lsm=` boot parameter; to run without it, leave it out of --require"
            ));
        }
        degraded.push(what);
    }
    // Without a network namespace, seccomp keeps IP sockets out of reach.
    let denials = seccomp::denials(allow_network || without_namespaces.is_none());
    let program = match seccomp::program(&denials) {
        Ok(program) => program,
        Err(e) => fatal(&format!("could not build the seccomp filter: {e}")),
    };
    step("close inherited descriptors", close_all_but_report());
    let installed = seccomp::install(&program);
    if let Err(e) = &installed {
        if plan.require.contains(&Layer::Seccomp) {
            fatal(&format!("could not install the seccomp filter: {e}"));
        }
        degraded.push(format!("seccomp: {e}"));
    }
    send_report(&LayerReport {
        namespaces: without_namespaces.is_none(),
        landlock: outcome,
        seccomp: installed.is_ok(),
        // Without a network namespace the allowlist cannot be wired; seccomp then blocks IP.
        network: match (plan.network, without_namespaces) {
            (Network::Allowlist, Some(_)) => Network::None,
            (network, _) => network,
        },
        degraded,
        limits: limits_in_force,
    });
    exec(&plan.argv, env)
}

/// Each limit in force and what enforces it, and the limits that are not, in words.
fn limits_in_force(plan: &Plan, isolation: &Isolation<'_>) -> (Vec<String>, Vec<String>) {
    let limits = &plan.limits;
    let mut in_force = Vec::new();
    let mut missing = Vec::new();
    let namespaced = matches!(isolation, Isolation::Namespaced { .. });
    let pid_capped = matches!(isolation, Isolation::Namespaced { pid_capped: true });
    let nproc = namespaced && plan.uid != 0;
    let by: Vec<&str> = [
        pid_capped.then_some("pid_max of the sandbox's pid namespace"),
        nproc.then_some("RLIMIT_NPROC in the sandbox's user namespace"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if by.is_empty() {
        missing.push(format!(
            "processes: not limited ({})",
            match isolation {
                Isolation::Degraded(_) =>
                    "without a user namespace RLIMIT_NPROC would count all of the user's \
                          processes",
                Isolation::Namespaced { .. } =>
                    "uid 0 is exempt from RLIMIT_NPROC and this kernel has no \
                           per-namespace pid_max (Linux 6.14+)",
            }
        ));
    } else {
        in_force.push(format!(
            "processes: {} tasks ({})",
            limits.processes,
            by.join(" and ")
        ));
    }
    match limits.memory {
        Some(bytes) => in_force.push(format!("memory: {bytes} bytes per process (RLIMIT_DATA)")),
        None => in_force.push("memory: off (limits.memory)".into()),
    }
    if namespaced {
        in_force.push(format!(
            "tmpfs: {} bytes shared by /tmp, /var/tmp, /run, home and /dev/shm",
            limits.tmpfs
        ));
    }
    (in_force, missing)
}

/// Closes every inherited descriptor except the standard ones and the report pipe (which
/// `send_report` closes after writing).
fn close_all_but_report() -> std::io::Result<()> {
    let close_range = |first: i32, last: u32| {
        // SAFETY: close_range takes plain integers.
        let result = unsafe { libc::syscall(libc::SYS_close_range, first as u32, last, 0u32) };
        if result == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    let ranges =
        close_range(3, (REPORT_FD - 1) as u32).and_then(|()| close_range(REPORT_FD + 1, u32::MAX));
    match ranges {
        Ok(()) => Ok(()),
        // Kernels before 5.9 have no close_range: close what /proc lists, one by one.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            let open: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .filter(|fd| *fd > 2 && *fd != REPORT_FD)
                .collect();
            for fd in open {
                // SAFETY: closing descriptors this process holds (the directory's own is
                // already closed; closing it again only fails with EBADF).
                unsafe { libc::close(fd) };
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Tells the supervisor the server's exit status (`ServerExit`) on the report pipe, which
/// this process still holds. Best effort: without it the supervisor waits for this
/// process's own exit, as it always could. This process's stderr, the server's stderr pipe,
/// is let go first: the supervisor reads that pipe to its end before the session ends, and
/// a descriptor held until the exit is only closed once the namespaces are torn down.
fn report_server_exit(code: i32) {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto stderr, which nothing in this process writes to any more.
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
    }
    let Ok(mut line) = serde_json::to_vec(&ServerExit { exit_code: code }) else {
        return;
    };
    line.push(b'\n');
    // SAFETY: fd 4 is the report pipe (or closed, when the supervisor did not ask); the
    // File is forgotten below, so the descriptor stays open for the exit that follows.
    let mut file = unsafe { std::fs::File::from_raw_fd(REPORT_FD) };
    let _ = file.write_all(&line);
    std::mem::forget(file);
}

fn send_report(report: &LayerReport) {
    // SAFETY: fd 4 is the report pipe the supervisor passed (or closed, when it did not ask).
    let mut file = unsafe { std::fs::File::from_raw_fd(REPORT_FD) };
    if let Ok(mut line) = serde_json::to_vec(report) {
        line.push(b'\n');
        // The supervisor may not listen (dry tests); the server runs either way.
        let _ = file.write_all(&line);
    }
}

/// Replaces this process with the server, looking the program up on the plan's PATH.
fn exec(argv: &[String], env: &[(String, String)]) -> ! {
    let Some(program) = argv.first() else {
        fatal("no command to run")
    };
    // mcpguard ignores SIGPIPE (Rust's runtime does, to see EPIPE instead), and an ignored
    // signal stays ignored across exec: the server starts with the default, as any program
    // its agent would start.
    // SAFETY: signal() with a valid signal number and SIG_DFL; no handler is involved.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) } == libc::SIG_ERR {
        fatal("could not restore SIGPIPE's default action");
    }
    let to_c = |s: &str| CString::new(s).unwrap_or_else(|_| fatal(&format!("NUL byte in {s:?}")));
    let argv: Vec<CString> = argv.iter().map(|a| to_c(a)).collect();
    let envp: Vec<CString> = env.iter().map(|(k, v)| to_c(&format!("{k}={v}"))).collect();
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| std::ffi::OsStr::new(v.as_str()));
    let candidates = crate::program::candidates(program, path);
    let mut denied = None;
    for candidate in candidates {
        let Ok(c_path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        let Err(e) = nix::unistd::execve(&c_path, &argv, &envp);
        match e {
            nix::Error::ENOENT | nix::Error::ENOTDIR => {}
            other => denied = Some((candidate, other)),
        }
    }
    match denied {
        Some((candidate, e)) => {
            eprintln!(
                "mcpguard: error: command not executable inside the sandbox: {}: {e}",
                candidate.display()
            );
            leave(crate::exit::status(crate::exit::NOT_EXECUTABLE));
        }
        None => {
            eprintln!(
                "mcpguard: error: command not found inside the sandbox: {program} (it must be under a \
                 system directory or a path granted with --allow-read)"
            );
            leave(crate::exit::status(crate::exit::NOT_FOUND));
        }
    }
}
