//! `mcpguard doctor`: which sandbox layers this machine can enforce, tested for real, with a
//! fix for each gap.

use crate::sandbox::plan::{self, Network, SandboxRequest};
use crate::sandbox::{self, namespaces, probe};
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Serialize)]
struct Findings {
    namespaces: Vec<probe::NamespaceCheck>,
    landlock_abi: i32,
    landlock_covers: &'static str,
    seccomp: bool,
    trial: Trial,
    /// A trial in allowlist mode: the egress sockets handed over, or why not.
    allowlist: Allowlist,
    /// Each resource limit and what enforces it, as the trial sandbox reported.
    limits: Vec<String>,
    /// The delegated cgroup v2 a future version could use, or why there is none.
    cgroup: String,
    /// Each server's persistent cache and its size.
    caches: Vec<sandbox::cache::CacheEntry>,
    /// The approval channels this machine has: one line each.
    approvals: Vec<String>,
    /// One line per gap: what is missing and how to fix it.
    fixes: Vec<String>,
    /// Whether `mcpguard run` with the default requirements will start here.
    default_sandbox_ok: bool,
}

#[derive(Debug, Serialize)]
struct Allowlist {
    ok: bool,
    /// The sockets handed over (proxy, capture ports, names).
    sockets: Vec<String>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Trial {
    ok: bool,
    report: Option<sandbox::init::LayerReport>,
    error: Option<String>,
}

/// Runs the checks; exit code 0 when the default sandbox works here, 1 when it does not.
pub(crate) fn run(json: bool) -> anyhow::Result<u8> {
    let namespaces = probe::namespaces();
    let landlock_abi = probe::landlock_abi();
    let seccomp = probe::seccomp_available();
    let trial = trial(Network::None);
    let allowlist_trial = trial_allowlist();

    let mut fixes = Vec::new();
    let user_ok = namespaces
        .iter()
        .any(|n| n.name == "user" && n.error.is_none());
    let missing: Vec<&str> = namespaces
        .iter()
        .filter(|n| n.error.is_some())
        .map(|n| n.name)
        .collect();
    if !user_ok {
        fixes.push(format!("namespaces: {}", namespaces::userns_hint()));
    } else if !missing.is_empty() {
        fixes.push(format!(
            "namespaces: this kernel lacks the {} namespace type(s); it needs a kernel built with \
             them (CONFIG_*_NS)",
            missing.join(", ")
        ));
    }
    if landlock_abi == 0 {
        fixes.push(
            "landlock: not available; it needs Linux 5.13+ with `landlock` in the kernel's `lsm=` list \
             (e.g. lsm=landlock,lockdown,yama,integrity,apparmor), or run with --require namespaces,seccomp"
                .into(),
        );
    } else if landlock_abi < 6 {
        fixes.push(format!(
            "landlock: ABI {landlock_abi} lacks {}; a newer kernel (6.12+) covers them (the network namespace \
             already isolates the network)",
            if landlock_abi < 4 { "TCP rules and scopes" } else { "abstract-socket and signal scopes" }
        ));
    }
    if !seccomp {
        fixes.push("seccomp: not available; the kernel needs CONFIG_SECCOMP_FILTER".into());
    }
    if let Some(error) = &allowlist_trial.error {
        fixes.push(format!(
            "network allowlist: {error}; servers that need a registry or an API cannot be given \
             one here (--net none still works, --net host is unfiltered)"
        ));
    }
    let default_sandbox_ok = trial
        .report
        .as_ref()
        .is_some_and(|r| r.namespaces && r.seccomp && r.landlock.is_full());
    if !default_sandbox_ok {
        // Never "every layer is enforced" above a failed trial.
        fixes.push(format!(
            "trial sandbox: {}",
            trial
                .error
                .as_deref()
                .unwrap_or("it started without every layer of the default sandbox (see above)")
        ));
    }
    let limits = trial
        .report
        .as_ref()
        .map(|r| r.limits.clone())
        .unwrap_or_default();
    let cgroup = match probe::delegated_cgroup() {
        Ok(dir) => format!(
            "{} is delegated (pids, memory), but mcpguard does not use cgroups yet",
            dir.display()
        ),
        Err(why) => format!("none delegated ({why}); rlimits and pid_max apply"),
    };
    let caches = crate::paths::cache_dir()
        .map(|base| sandbox::cache::list(&base).unwrap_or_default())
        .unwrap_or_default();
    let default_cache = sandbox::limits::DEFAULT_CACHE;
    for entry in caches.iter().filter(|e| e.bytes > default_cache) {
        fixes.push(format!(
            "cache: {} holds {} bytes, over the default limits.cache ({default_cache} bytes); \
             `mcpguard cache prune --server {}` empties it",
            entry.path.display(),
            entry.bytes,
            entry.name
        ));
    }
    let approvals = approval_channels(&mut fixes);
    let findings = Findings {
        approvals,
        limits,
        cgroup,
        caches,
        namespaces,
        landlock_abi,
        landlock_covers: probe::landlock_coverage(landlock_abi),
        seccomp,
        trial,
        allowlist: allowlist_trial,
        fixes,
        default_sandbox_ok,
    };
    let mut out = super::output::stdout();
    if json {
        // An EPIPE comes back out as the marked io::Error it was (`output`).
        serde_json::to_writer_pretty(&mut out, &findings).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &findings)?;
    }
    Ok(if findings.default_sandbox_ok { 0 } else { 1 })
}

/// What each approval channel can do on this machine (the agent's elicitation is the
/// agent's: said, not tested).
fn approval_channels(fixes: &mut Vec<String>) -> Vec<String> {
    use crate::approval::{present, runtime_dir, tty};
    let mut lines = vec![
        "elicit: depends on the agent (Claude Code, VS Code, Cursor ask their user; Claude Desktop and Zed cannot)"
            .to_owned(),
    ];
    match runtime_dir::ensure() {
        Ok(dir) => {
            let running = crate::approval::socket::sessions(&dir).len();
            let watching = if present::someone_watching(&dir, None) {
                "an `mcpguard approve` is running"
            } else {
                "no `mcpguard approve` is running (start one to answer calls)"
            };
            lines.push(format!(
                "socket: {} (private), {running} session socket(s); {watching}",
                dir.display()
            ));
        }
        Err(e) => {
            lines.push(format!("socket: unavailable: {e}"));
            fixes.push(format!("approvals: {e}"));
        }
    }
    lines.push(if tty::available() {
        "tty: mcpguard run from here has a terminal to ask on".to_owned()
    } else {
        "tty: no controlling terminal here (agents start servers without one)".to_owned()
    });
    lines
}

/// A tiny sandbox with `network`, as `run` would start it, nothing required.
fn trial_outcome(network: Network) -> Result<probe::TrialOutcome, String> {
    let egress = (network == Network::Allowlist).then(|| plan::EgressPlan {
        capture_ports: plan::WEB_PORTS.to_vec(),
        captured_addresses: Vec::new(),
    });
    let request = SandboxRequest {
        server_name: "doctor".into(),
        argv: vec!["true".into()],
        network,
        egress,
        read: Vec::new(),
        write: Vec::new(),
        env: Vec::new(),
        // Nothing required: the trial reports what it gets instead of refusing.
        require: Default::default(),
        limits: Default::default(),
    };
    let facts = sandbox::host_facts(&request).map_err(|e| e.to_string())?;
    let plan = plan::build(&request, &facts);
    sandbox::create_caches(&plan).map_err(|e| e.to_string())?;
    probe::trial(&plan)
}

fn trial(network: Network) -> Trial {
    match trial_outcome(network) {
        Ok(outcome) => Trial {
            ok: outcome.code == Some(0) && outcome.report.is_some(),
            error: outcome.failure(),
            report: outcome.report,
        },
        Err(e) => Trial {
            ok: false,
            report: None,
            error: Some(e),
        },
    }
}

fn trial_allowlist() -> Allowlist {
    let failed = |error: String| Allowlist {
        ok: false,
        sockets: Vec::new(),
        error: Some(error),
    };
    match trial_outcome(Network::Allowlist) {
        Ok(probe::TrialOutcome {
            egress: Some(Ok(roles)),
            report: Some(report),
            code: Some(0),
            ..
        }) if report.network == Network::Allowlist => Allowlist {
            ok: true,
            sockets: roles
                .iter()
                .map(|role| format!("{role:?}").to_lowercase())
                .collect(),
            error: None,
        },
        Ok(probe::TrialOutcome {
            report: Some(report),
            ..
        }) if report.network != Network::Allowlist => {
            failed("without a network namespace the allowlist falls back to no network".into())
        }
        Ok(probe::TrialOutcome {
            egress: Some(Err(e)),
            ..
        }) => failed(e),
        Ok(outcome) if outcome.code != Some(0) => failed(outcome.failure().unwrap_or_default()),
        Ok(_) => failed("the trial sandbox handed nothing over".into()),
        Err(e) => failed(e),
    }
}

fn yes_no(error: &Option<String>) -> String {
    match error {
        None => "yes".into(),
        Some(e) => format!("NO ({e})"),
    }
}

fn print_table(out: &mut impl Write, f: &Findings) -> std::io::Result<()> {
    writeln!(out, "mcpguard doctor: what this machine can enforce")?;
    for check in &f.namespaces {
        let label = if check.name == "user" {
            "user namespaces".to_owned()
        } else {
            format!("  {} namespace", check.name)
        };
        writeln!(out, "  {label:<22} {}", yes_no(&check.error))?;
    }
    let landlock = if f.landlock_abi > 0 {
        format!("ABI {}: {}", f.landlock_abi, f.landlock_covers)
    } else {
        "NO".into()
    };
    writeln!(out, "  {:<22} {landlock}", "landlock")?;
    writeln!(
        out,
        "  {:<22} {}",
        "seccomp",
        if f.seccomp { "yes" } else { "NO" }
    )?;
    let trial = match (&f.trial.report, &f.trial.error) {
        (Some(r), None) => format!(
            "ok: namespaces {}, landlock {} (ABI {}), seccomp {}{}",
            if r.namespaces { "on" } else { "OFF" },
            r.landlock.enforced,
            r.landlock.abi,
            if r.seccomp { "on" } else { "OFF" },
            if r.degraded.is_empty() {
                String::new()
            } else {
                format!("; degraded: {}", r.degraded.join("; "))
            }
        ),
        (_, Some(e)) => format!("FAILED: {e}"),
        (None, None) => "FAILED: no report".into(),
    };
    writeln!(out, "  {:<22} {trial}", "trial sandbox")?;
    let allowlist = match &f.allowlist.error {
        None => format!(
            "ok: egress sockets handed over ({})",
            f.allowlist.sockets.join(", ")
        ),
        Some(e) => format!("FAILED: {e}"),
    };
    writeln!(out, "  {:<22} {allowlist}", "network allowlist")?;
    for (index, line) in f.limits.iter().enumerate() {
        let label = if index == 0 { "limits" } else { "" };
        writeln!(out, "  {label:<22} {line}")?;
    }
    writeln!(out, "  {:<22} {}", "cgroup v2", f.cgroup)?;
    for (index, line) in f.approvals.iter().enumerate() {
        let label = if index == 0 { "approval channels" } else { "" };
        writeln!(out, "  {label:<22} {line}")?;
    }
    let total: u64 = f.caches.iter().map(|e| e.bytes).sum();
    writeln!(
        out,
        "  {:<22} {} server cache(s), {total} bytes (`mcpguard cache list`)",
        "caches",
        f.caches.len()
    )?;
    if f.fixes.is_empty() {
        writeln!(
            out,
            "\nEvery layer of the default sandbox is enforced here."
        )?;
    } else {
        writeln!(out, "\nGaps and fixes:")?;
        for fix in &f.fixes {
            writeln!(out, "  - {fix}")?;
        }
    }
    Ok(())
}
