//! Entry point: parse the command line, run it, and map the outcome to an exit status
//! (the numbers are `mcpguard::exit`'s).

use clap::Parser;
use mcpguard::cli::{self, args::Cli};
use mcpguard::exit::GUARD_FAILED;
use std::process::ExitCode;

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
            let code = if e.use_stderr() { GUARD_FAILED } else { 0 };
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
            ExitCode::from(GUARD_FAILED)
        }
    }
}
