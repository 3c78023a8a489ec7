//! `mcpguard run`: turns the command line into a sandbox plan and a session, and runs it
//! (or describes it with --dry-run).

use super::args::{NetArg, RunArgs};
use crate::audit::record::ProfileRef;
use crate::audit::redact::Injected;
use crate::audit::{AuditLog, PayloadMode, chain};
use crate::egress::EgressConfig;
use crate::egress::allowlist::Allowlist;
use crate::mcp::pins::{self, PinFile};
use crate::paths;
use crate::policy::Policy;
use crate::profile::{
    self,
    model::{PinMode, Profile},
};
use crate::proxy::refuse_start::{self, Refusal};
use crate::proxy::session::{self, Launch, SessionError};
use crate::proxy::shared::PinState;
use crate::proxy::shared::SessionConfig;
use crate::sandbox::limits::ResourceLimits;
use crate::sandbox::plan::{self, EgressPlan, EnvGrant, Layer, Network, Plan, SandboxRequest};
use crate::sandbox::visibility::{self, Hidden};
use crate::sandbox::{self, PlanError};
use crate::secrets::credentials::{self, Credential};
use crate::units;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

/// Runs the session; returns mcpguard's exit code. When the session cannot start, the
/// reason goes to stderr and, as a JSON-RPC error, to the client (`refuse_start`); a dry
/// run only says it on stderr.
pub(crate) fn run(args: RunArgs) -> anyhow::Result<u8> {
    let dry_run = args.dry_run;
    match start(args) {
        Ok(code) => Ok(code),
        Err(refusal) if dry_run => {
            tracing::error!("{}", refusal.message);
            Ok(refusal.exit)
        }
        Err(refusal) => Ok(refuse_start::refuse_on_stdio(&refusal)),
    }
}

/// Starts and runs the session; `Err` when it could not start, with what the client is told.
fn start(args: RunArgs) -> Result<u8, Refusal> {
    let vars = super::profile::variables(args.workspace.clone());
    let profile = profile::load::load(&args.profile, &vars)
        .context("--profile")
        .map_err(Refusal::config)?;
    if args.workspace.is_none() && profile::load::uses_workspace(&args.profile) {
        tracing::warn!(
            "profile {} speaks of ${{workspace}} and no --workspace was given: the workspace \
             is the current directory, {}{}; pass --workspace DIR to name the project",
            crate::terminal::escape(&args.profile),
            crate::terminal::escape(&vars.workspace.display().to_string()),
            if vars.workspace.as_os_str() == "/" {
                " (the whole filesystem)"
            } else {
                ""
            }
        );
    }
    let mut policy = Policy::new(&profile)
        .with_context(|| format!("profile {}", args.profile))
        .map_err(Refusal::config)?;
    let limits = &profile.limits;
    let max_message = match (args.max_message, &limits.max_message) {
        (Some(size), _) => size,
        (None, Some(text)) => units::parse_size(text)
            .map_err(|e| Refusal::config(anyhow::anyhow!("limits.max-message: {e}")))?,
        (None, None) => 16 << 20,
    };
    let call_timeout = match (args.call_timeout, &limits.call_timeout) {
        (Some(limit), _) => limit.0,
        (None, Some(text)) => {
            units::parse_timeout(text)
                .map_err(|e| Refusal::config(anyhow::anyhow!("limits.call-timeout: {e}")))?
                .0
        }
        (None, None) => Some(std::time::Duration::from_secs(120)),
    };
    let config = SessionConfig {
        server_name: server_name(&args),
        max_message,
        call_timeout,
        shutdown_grace: args.shutdown_grace,
        start_hints: Vec::new(),
        workspace: vars.workspace.clone(),
        server_identity: String::new(),
    };
    let (request, egress) =
        sandbox_request(&args, &profile, &config.server_name).map_err(Refusal::config)?;
    let credentials = credentials::configured(&profile.secrets, &args.secret)
        .context("credentials")
        .map_err(Refusal::config)?;
    let plan = match sandbox::host_facts(&request) {
        Ok(facts) => plan::build(&request, &facts),
        Err(PlanError::Program(e)) => return Err(Refusal::program(&e)),
        Err(e @ (PlanError::Grant { .. } | PlanError::OwnFiles { .. })) => {
            return Err(Refusal::config(e));
        }
        Err(e) => return Err(Refusal::internal(e)),
    };
    let hidden = hidden_arguments(&plan);
    for path in &hidden {
        tracing::warn!(server = %config.server_name, "{}", path.warning());
    }
    let config = SessionConfig {
        start_hints: hidden.iter().map(Hidden::hint).collect(),
        server_identity: sandbox::host::identity(&request),
        ..config
    };
    if args.dry_run {
        return match dry_run(
            &plan,
            &config,
            &profile,
            egress.as_ref(),
            &hidden,
            &credentials,
        ) {
            // A reader that stopped reading the plan is a normal end.
            Err(e) if super::output::closed(&e) => Ok(0),
            other => Ok(other?),
        };
    }
    // Fetched before anything starts: a credential that cannot be had stops the session
    // with its reason, and this process holds the values from here on.
    let issued = if credentials.is_empty() {
        None
    } else {
        crate::secrets::keep_private();
        Some(credentials::issue(&credentials).map_err(Refusal::config)?)
    };
    sandbox::create_caches(&plan).map_err(Refusal::internal)?;
    if plan.network == Network::Host {
        tracing::warn!(
            server = %config.server_name,
            "--net host: the server shares your network and can reach every host and every local service you can"
        );
    }
    let audit = if args.no_audit {
        tracing::warn!(server = %config.server_name, "--no-audit: this session leaves no audit trail");
        None
    } else {
        Some(open_audit(
            &plan,
            &profile,
            egress.as_ref(),
            &request,
            &config.server_name,
            args.audit_payloads,
            issued
                .as_ref()
                .map(|i| i.injected.clone())
                .unwrap_or_default(),
        )?)
    };
    // The server's cache directory holds every cache bound into the view.
    let cache_budget =
        plan.cache_dir()
            .zip(plan.limits.cache)
            .map(|(dir, max)| sandbox::cache::Budget {
                dir: dir.to_path_buf(),
                max,
            });
    let pins = pin_state(&profile, &plan, &config.server_name)?;
    // The server resolves relative paths from its working directory, and `~` from its home.
    policy.base = crate::policy::args::Base {
        cwd: plan.cwd.clone(),
        home: vars.home.clone(),
    };
    let mut plan = Box::new(plan);
    let issued = issued.map(|mut issued| {
        plan.deliver(
            std::mem::take(&mut issued.in_env),
            std::mem::take(&mut issued.in_files),
        );
        issued
    });
    large_allocations_are_mapped();
    // The helper is forked now, while this process has one thread: no runtime yet.
    let started = crate::proxy::child::start(&plan).map_err(|e| Refusal {
        exit: e.exit_code(),
        ..Refusal::internal(e)
    })?;
    // One thread runs the whole relay: each message costs a few microseconds of work
    // against tens of microseconds of process wake-ups, so a second worker bought nothing
    // on the relay benchmark (round trip, bulk, 10 MiB: the same within noise) and cost two
    // thread starts competing with the sandbox's own start (start-up 0.97x without them).
    // Blocking work (the cache measurement, credential issuing) goes to blocking threads;
    // the egress filter has a runtime of its own. The server's parent-death signal is tied
    // to the thread that spawned it, which must live as long as the session: this thread
    // started the sandbox (just above) and restarts it, and waits in `block_on` for the
    // whole session.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Refusal::internal)?;
    let outcome = runtime.block_on(session::run(
        Launch {
            plan,
            egress,
            credentials,
            issued,
            started,
            cache_budget,
        },
        config,
        audit,
        Some(policy),
        pins,
    ));
    // Everything the session does has ended and its records are written; what is left (a
    // read on a terminal in a blocking thread) ends with the process, which does not wait
    // for each thread in turn.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => Ok(code),
        // The helper not starting is mcpguard's failure; the server's command is found and
        // run by the helper, whose failures the session answers itself.
        Err(SessionError::Spawn(e)) => Err(Refusal {
            exit: e.exit_code(),
            ..Refusal::internal(e)
        }),
        Err(e) => Err(Refusal::internal(e)),
    }
}

/// Makes every allocation of 1 MiB or more a mapping of its own (glibc otherwise raises
/// that threshold to the largest block freed, up to 32 MiB): a message of several MiB then
/// grows by moving pages, not by copying them into a second block, and its memory goes back
/// to the system when it has been relayed.
fn large_allocations_are_mapped() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt takes two integers; M_MMAP_THRESHOLD with 1 MiB is a valid setting.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// The session's audit trail: records name the profile and the digest of everything the
/// session runs under (the resolved profile, the sandbox plan and the allowlist). Every environment value
/// the user had mcpguard hand the server is kept out of the records.
fn open_audit(
    plan: &Plan,
    profile: &Profile,
    egress: Option<&EgressConfig>,
    request: &SandboxRequest,
    server: &str,
    mode: PayloadMode,
    credentials: Vec<Injected>,
) -> anyhow::Result<AuditLog> {
    let state = paths::state_dir().context(paths::NO_STATE_DIR)?;
    let mut effective = serde_json::to_vec(profile)?;
    effective.extend(serde_json::to_vec(plan)?);
    // The hosts --allow-host and launchers added are part of what the session runs under.
    let hosts: Vec<&str> = egress
        .map(|e| e.allowlist.entries().collect())
        .unwrap_or_default();
    effective.extend(serde_json::to_vec(&hosts)?);
    let digest = chain::sha256_hex(&effective);
    let granted: Vec<&str> = request
        .env
        .iter()
        .map(|g| match g {
            EnvGrant::Inherit(name) | EnvGrant::Set(name, _) => name.as_str(),
        })
        .collect();
    let injected = plan
        .env
        .iter()
        .filter(|(k, _)| granted.contains(&k.as_str()))
        .map(|(k, v)| Injected {
            name: k.clone(),
            value: v.clone(),
        })
        .chain(credentials);
    let name = if profile.profile.name.is_empty() {
        "unnamed".to_owned()
    } else {
        profile.profile.name.clone()
    };
    let mut audit = AuditLog::open(&state, server, ProfileRef { name, digest }, mode, injected)
        .with_context(|| format!("opening the audit trail under {}", state.display()))?;
    audit.set_on_failure(profile.audit.on_failure.unwrap_or_default());
    Ok(audit)
}

/// The pins of this server identity (name, command, profile), unless pinning is off.
fn pin_state(profile: &Profile, plan: &Plan, server: &str) -> anyhow::Result<Option<PinState>> {
    let enforce = match profile.tools.pins.unwrap_or_default() {
        PinMode::Off => return Ok(None),
        PinMode::Warn => false,
        PinMode::Enforce => true,
    };
    let state = paths::state_dir().context(paths::NO_STATE_DIR)?;
    let path = pins::pin_path(&state, server, &plan.argv, &profile.profile.name);
    let file = pins::load(&path)?.unwrap_or_else(|| PinFile {
        server: server.to_owned(),
        command: plan.argv.clone(),
        profile: profile.profile.name.clone(),
        ..PinFile::default()
    });
    let first_listing = file.tools.is_empty() && file.pending.is_empty();
    Ok(Some(PinState {
        path,
        file,
        enforce,
        first_listing,
        paginated: false,
    }))
}

/// `--name`, or the name the command gives its server (`server_name`). A derived name keys
/// the audit trail and the pins, so the run says which one it chose (a dry run shows it).
fn server_name(args: &RunArgs) -> String {
    if let Some(name) = &args.name {
        return name.clone();
    }
    let name = crate::server_name::derive(&args.command);
    if !args.dry_run {
        tracing::warn!(
            "serving {name} (the name of its audit trail and pins, derived from the command; --name sets another)"
        );
    }
    name
}

fn sandbox_request(
    args: &RunArgs,
    profile: &Profile,
    server_name: &str,
) -> anyhow::Result<(SandboxRequest, Option<EgressConfig>)> {
    let require = match (&args.require, &profile.sandbox.require) {
        (Some(names), _) => names
            .iter()
            .filter(|l| !l.trim().is_empty() && l.trim() != "none")
            .map(|l| Layer::parse(l.trim()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()
            .context("--require")?,
        (None, Some(layers)) => layers.iter().copied().collect(),
        (None, None) => Layer::ALL.into_iter().collect(),
    };
    let mut env: Vec<EnvGrant> = profile
        .sandbox
        .env
        .iter()
        .map(|name| EnvGrant::Inherit(name.clone()))
        .collect();
    env.extend(args.env.iter().map(|grant| match grant.split_once('=') {
        Some((name, value)) => EnvGrant::Set(name.to_owned(), value.to_owned()),
        None => EnvGrant::Inherit(grant.clone()),
    }));
    let (network, egress) = network(args, profile)?;
    if network == Network::Allowlist {
        for grant in &env {
            let (EnvGrant::Inherit(name) | EnvGrant::Set(name, _)) = grant;
            if plan::is_proxy_variable(name) {
                tracing::warn!(
                    "{name} is not passed to the server: with the network allowlist, the proxy \
                     variables name mcpguard's egress filter, the only way out"
                );
            }
        }
    }
    let mut read: Vec<PathBuf> = profile.sandbox.read.iter().map(PathBuf::from).collect();
    read.extend(args.allow_read.iter().cloned());
    let mut write: Vec<PathBuf> = profile.sandbox.write.iter().map(PathBuf::from).collect();
    write.extend(args.allow_write.iter().cloned());
    let egress_plan = egress.as_ref().map(|config| EgressPlan {
        capture_ports: config.allowlist.capture_ports(),
        captured_addresses: config.allowlist.captured_addresses(),
    });
    let request = SandboxRequest {
        server_name: server_name.to_owned(),
        argv: args.command.clone(),
        network,
        egress: egress_plan,
        read: sandbox::check_grants(&read, "--allow-read / sandbox.read")?,
        write: sandbox::check_grants(&write, "--allow-write / sandbox.write")?,
        env,
        require,
        limits: ResourceLimits::from_profile(&profile.limits).map_err(anyhow::Error::msg)?,
    };
    Ok((request, egress))
}

/// The server's network, from the flags and the profile, and the filter's settings in
/// allowlist mode. `--allow-host` implies the allowlist; a package launcher gets its
/// registry unless no network was asked for explicitly (`--net none`, or the profile's
/// `network = "none"`; an unset network means none but lets a launcher reach its registry)
/// or the profile turned that off.
fn network(args: &RunArgs, profile: &Profile) -> anyhow::Result<(Network, Option<EgressConfig>)> {
    let sandbox = &profile.sandbox;
    let from_profile = sandbox.network.unwrap_or(Network::None);
    if from_profile != Network::Allowlist && !sandbox.allow_hosts.is_empty() {
        anyhow::bail!(
            "profile {}: sandbox.allow-hosts is set but sandbox.network is not \"allowlist\"; set \
             network = \"allowlist\" (or remove allow-hosts)",
            args.profile
        );
    }
    let mut network = match args.net {
        Some(NetArg::None) => Network::None,
        Some(NetArg::Host) => Network::Host,
        Some(NetArg::Allowlist) => Network::Allowlist,
        None => from_profile,
    };
    if !args.allow_host.is_empty() {
        match (args.net, network) {
            (Some(NetArg::None), _) => {
                anyhow::bail!("--allow-host contradicts --net none; leave one of them out")
            }
            (_, Network::Host) => anyhow::bail!(
                "--allow-host has no effect with the host network (--net host or the profile's \
                 network = \"host\"); use --net allowlist"
            ),
            _ => network = Network::Allowlist,
        }
    }
    let mut hosts: Vec<String> = if network == Network::Allowlist {
        sandbox.allow_hosts.clone()
    } else {
        Vec::new()
    };
    hosts.extend(args.allow_host.iter().cloned());
    // An explicit "none" (flag or profile) keeps a launcher's registry out too.
    let explicitly_none = args.net == Some(NetArg::None)
        || (args.net.is_none() && sandbox.network == Some(Network::None));
    let launcher = crate::egress::launchers::registry_of(&args.command);
    if let Some((launcher, registry)) = launcher
        && sandbox.launcher_registries.unwrap_or(true)
        && !explicitly_none
        && network != Network::Host
    {
        network = Network::Allowlist;
        hosts.extend(registry.iter().map(|h| (*h).to_owned()));
        tracing::warn!("{}", launcher_note(launcher, registry));
    }
    if network != Network::Allowlist {
        return Ok((network, None));
    }
    // Each source checked apart, so an error names the one that holds the bad entry.
    Allowlist::parse(&sandbox.allow_hosts)
        .map_err(|e| anyhow::anyhow!("profile {}: sandbox.allow-hosts: {e}", args.profile))?;
    Allowlist::parse(&args.allow_host).map_err(|e| anyhow::anyhow!("--allow-host: {e}"))?;
    let allowlist = Allowlist::parse(&hosts).map_err(|e| anyhow::anyhow!("allowlist: {e}"))?;
    Ok((
        network,
        Some(EgressConfig {
            allowlist,
            profile: profile.profile.name.clone(),
        }),
    ))
}

/// The command's paths that exist here but that the view will not show.
fn hidden_arguments(plan: &Plan) -> Vec<Hidden> {
    let Some(program) = plan
        .argv
        .first()
        .and_then(|p| crate::program::resolve(p, paths::search_path().as_deref()))
    else {
        return Vec::new();
    };
    let program = std::path::absolute(&program).unwrap_or(program);
    visibility::hidden_arguments(plan, &program, visibility::on_host)
}

/// The start-up line of a server started through a package launcher.
fn launcher_note(launcher: &str, registry: &[&str]) -> String {
    format!(
        "{launcher} downloads packages: only {} {} reachable for it, nothing else \
         (--net none, network = \"none\" or sandbox.launcher-registries = false in the \
         profile turn this off)",
        registry.join(" and "),
        if registry.len() > 1 { "are" } else { "is" }
    )
}

fn dry_run(
    plan: &Plan,
    config: &SessionConfig,
    profile: &Profile,
    egress: Option<&EgressConfig>,
    hidden: &[Hidden],
    credentials: &[Credential],
) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
    writeln!(out, "mcpguard run (dry run: nothing was started)")?;
    writeln!(out, "  server name:     {}", config.server_name)?;
    writeln!(
        out,
        "  workspace:       {}",
        crate::terminal::escape(&config.workspace.display().to_string())
    )?;
    writeln!(
        out,
        "  profile:         {} (version {})",
        profile.profile.name, profile.profile.version
    )?;
    let tools = &profile.tools;
    writeln!(
        out,
        "  tools:           default {}, destructive {}, allow {:?}, prompt {:?}, deny {:?}, {} argument rule(s); prompt resolves to {}",
        tools.default.map_or("allow", |v| v.name()),
        tools.destructive.map_or("-", |v| v.name()),
        tools.allow,
        tools.prompt,
        tools.deny,
        tools.rules.len(),
        tools.on_prompt.map_or("deny", |v| v.name())
    )?;
    writeln!(
        out,
        "  command:         {}",
        serde_json::to_string(&plan.argv)?
    )?;
    writeln!(out, "  working dir:     {}", plan.cwd.display())?;
    writeln!(out, "  max message:     {} bytes", config.max_message)?;
    match config.call_timeout {
        Some(limit) => writeln!(
            out,
            "  call timeout:    {}",
            humantime::format_duration(limit)
        )?,
        None => writeln!(out, "  call timeout:    off")?,
    }
    writeln!(
        out,
        "  shutdown grace:  {}",
        humantime::format_duration(config.shutdown_grace)
    )?;
    let required: Vec<&str> = plan.require.iter().map(|l| l.name()).collect();
    writeln!(
        out,
        "  sandbox:         namespaces (user, mount, pid, ipc, uts, cgroup{}), landlock, seccomp, no capabilities, no_new_privs",
        if plan.network == Network::Host {
            ""
        } else {
            ", net"
        }
    )?;
    writeln!(
        out,
        "  required layers: {}",
        if required.is_empty() {
            "none".to_owned()
        } else {
            required.join(", ")
        }
    )?;
    let network = match (plan.network, egress) {
        (Network::None, _) => "none (loopback only; no TCP on Landlock ABI 4+)".to_owned(),
        (Network::Host, _) => "HOST (unfiltered)".to_owned(),
        (Network::Allowlist, Some(egress)) => {
            let hosts: Vec<&str> = egress.allowlist.entries().collect();
            format!(
                "allowlist through mcpguard's egress filter: {}; proxy {}, TCP ports {:?} \
                 captured, names answered by the filter",
                if hosts.is_empty() {
                    "no host".to_owned()
                } else {
                    hosts.join(", ")
                },
                plan::PROXY_URL,
                egress.allowlist.capture_ports()
            )
        }
        (Network::Allowlist, None) => "allowlist (no filter: nothing reachable)".to_owned(),
    };
    writeln!(out, "  network:         {network}")?;
    let limits = &plan.limits;
    let bytes = |b: Option<u64>| b.map_or_else(|| "off".to_owned(), |b| format!("{b} bytes"));
    writeln!(
        out,
        "  limits:          {} tasks, memory {} per process, tmpfs {} bytes shared, cache {}",
        limits.processes,
        bytes(limits.memory),
        limits.tmpfs,
        bytes(limits.cache)
    )?;
    let names: Vec<&str> = plan.env.iter().map(|(k, _)| k.as_str()).collect();
    writeln!(out, "  environment:     {}", names.join(" "))?;
    for credential in credentials {
        writeln!(
            out,
            "  credential:      {} from secret {}{}{}, {}",
            credential.variable,
            credential.key,
            if credential.mint.is_empty() {
                String::new()
            } else {
                format!(
                    ", minted by {}",
                    crate::terminal::escape(&serde_json::to_string(&credential.mint)?)
                )
            },
            credential
                .ttl
                .map(|ttl| format!(", renewed every {}", humantime::format_duration(ttl)))
                .unwrap_or_default(),
            match credential.delivery {
                crate::profile::model::Delivery::Env => "in the environment".to_owned(),
                crate::profile::model::Delivery::File => format!(
                    "in the file {}/{} (path in {}_FILE)",
                    plan::SECRETS_DIR,
                    credential.variable,
                    credential.variable
                ),
            }
        )?;
    }
    for path in hidden {
        writeln!(
            out,
            "  not visible:     {} (--allow-read {})",
            crate::terminal::escape(&path.argument),
            crate::terminal::escape(&path.grant.display().to_string())
        )?;
    }
    writeln!(out, "  view:")?;
    for mount in &plan.mounts {
        let line = match mount {
            plan::Mount::Bind {
                path,
                writable: true,
            } => format!("{}  read-write", path.display()),
            plan::Mount::Bind {
                path,
                writable: false,
            } => format!("{}  read-only", path.display()),
            plan::Mount::BindAt { source, target } => format!(
                "{}  read-write (persistent: {})",
                target.display(),
                source.display()
            ),
            plan::Mount::Tmpfs { path, .. } => {
                format!("{}  private, empty, discarded at exit", path.display())
            }
            plan::Mount::Symlink { path, target } => {
                format!("{} -> {}", path.display(), target.display())
            }
            plan::Mount::Mask { path } => format!("{}  hidden", path.display()),
            plan::Mount::File { path, .. } => {
                format!("{}  written by mcpguard, read-only", path.display())
            }
            plan::Mount::Secrets { path, .. } => {
                format!("{}  the credentials, private, read-only", path.display())
            }
            plan::Mount::Proc => "/proc  fresh, shows only the sandbox".to_owned(),
            plan::Mount::Dev => format!("/dev  minimal: {}, shm", plan::DEVICES.join(" ")),
        };
        writeln!(out, "    {line}")?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_launcher_note_reads_as_a_sentence() {
        assert_eq!(
            launcher_note("npx", &["registry.npmjs.org"]),
            "npx downloads packages: only registry.npmjs.org is reachable for it, nothing else \
             (--net none, network = \"none\" or sandbox.launcher-registries = false in the \
             profile turn this off)"
        );
        assert!(
            launcher_note("uvx", &["pypi.org", "files.pythonhosted.org"])
                .starts_with("uvx downloads packages: only pypi.org and files.pythonhosted.org are reachable for it, nothing else")
        );
    }
}
