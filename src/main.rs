//! Entry point: parse the command line, run it, and map the outcome to an exit status.
//! Exit codes are decided here only (contract: 125 when mcpguard itself failed).

use clap::Parser;
use mcpguard::cli::{self, args::Cli};
use std::process::ExitCode;

/// mcpguard could not do its own job (bad arguments, setup failure).
const EXIT_GUARD_FAILED: u8 = 125;

fn main() -> ExitCode {
    // The sandbox helper is this same binary; it must start before anything else exists
    // (no runtime, no threads, no parsing beyond argv[1]).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == mcpguard::sandbox::init::SUBCOMMAND)
    {
        mcpguard::sandbox::init::main();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_GUARD_FAILED } else { 0 };
            // Printing help or a usage error; if stderr is gone there is nobody to tell.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    mcpguard::logging::init(cli.verbose, cli.quiet, cli.log_dir.as_deref());
    match cli::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(EXIT_GUARD_FAILED)
        }
    }
}
