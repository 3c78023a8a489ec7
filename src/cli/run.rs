//! `mcpguard run`: turns the command line into a session and runs it (or describes it).

use super::args::RunArgs;
use crate::paths;
use crate::proxy::child::{EXIT_NOT_FOUND, resolve_program};
use crate::proxy::session::{self, SessionError};
use crate::proxy::shared::SessionConfig;
use std::io::Write;

/// Runs the session; returns mcpguard's exit code.
pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    let config = SessionConfig {
        server_name: server_name(&args),
        max_message: args.max_message,
        call_timeout: args.call_timeout.0,
        shutdown_grace: args.shutdown_grace,
    };
    if args.dry_run {
        return dry_run(&args.command, &config);
    }
    // One thread: the relay is I/O bound, a single reactor keeps latency low, and the
    // server's parent-death signal is tied to the thread that spawned it, which must live as
    // long as the session (this one does).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(session::run(&args.command, config));
    // A read on a terminal may still sit in a blocking thread; it must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match outcome {
        Ok(code) => Ok(code),
        Err(SessionError::Spawn(e)) => {
            tracing::error!("{e}");
            Ok(e.exit_code())
        }
        Err(e) => Err(e.into()),
    }
}

fn server_name(args: &RunArgs) -> String {
    args.name.clone().unwrap_or_else(|| {
        let program = args.command.first().map(String::as_str).unwrap_or("server");
        program.rsplit('/').next().unwrap_or(program).to_owned()
    })
}

fn dry_run(command: &[String], config: &SessionConfig) -> anyhow::Result<u8> {
    let program = command.first().map(String::as_str).unwrap_or_default();
    let resolved = resolve_program(program, paths::search_path().as_deref());
    let mut out = std::io::stdout().lock();
    writeln!(out, "mcpguard run (dry run: nothing was started)")?;
    writeln!(out, "  server name:     {}", config.server_name)?;
    match &resolved {
        Some(path) => writeln!(out, "  program:         {}", path.display())?,
        None => writeln!(
            out,
            "  program:         {program} (NOT FOUND: not a file, and not on PATH)"
        )?,
    }
    writeln!(
        out,
        "  arguments:       {}",
        serde_json::to_string(&command[1..])?
    )?;
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
    writeln!(
        out,
        "  stdio:           JSON-RPC relayed and checked; stderr passed through"
    )?;
    writeln!(
        out,
        "  sandbox:         none yet (the server runs with your rights)"
    )?;
    Ok(if resolved.is_some() {
        0
    } else {
        EXIT_NOT_FOUND
    })
}
