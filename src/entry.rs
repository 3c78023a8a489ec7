//! The program: the hidden sandbox-init dispatch before anything else, then the command
//! line, run, and the outcome mapped to an exit status (the numbers are `exit`'s).
//!
//! It lives in the library so that the library's public surface is this one function (and
//! what the benches measure): everything else is `pub(crate)`, and unused code shows.

use crate::cli::{self, args::Cli};
use crate::exit::GUARD_FAILED;
use clap::Parser;
use std::process::ExitCode;

/// Runs mcpguard with this process's arguments.
pub fn main() -> ExitCode {
    // The sandbox helper is this same binary; it must start before anything else exists
    // (no runtime, no threads, no parsing beyond argv[1]).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == crate::sandbox::init::SUBCOMMAND)
    {
        crate::sandbox::init::main();
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // An agent starting a server says `run`: that alone is parsed then (building every
    // other subcommand's parser cost more than a third of a millisecond on every start).
    let parsed = match cli::run_only::parse(&argv) {
        Some(parsed) => parsed,
        None => Cli::try_parse_from(&argv),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let e = cli::usage::explain(e, &argv);
            let code = if e.use_stderr() { GUARD_FAILED } else { 0 };
            // Printing help or a usage error; if stderr is gone there is nobody to tell.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::logging::init(
        cli.globals.verbose,
        cli.globals.quiet,
        cli.globals.log_dir.as_deref(),
    );
    match cli::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        // `mcpguard logs | head -1`: the reader has what it wanted; a normal end.
        Err(e) if cli::output::closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(GUARD_FAILED)
        }
    }
}
