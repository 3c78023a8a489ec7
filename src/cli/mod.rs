//! The command-line edge: parsing lives in `args`, each subcommand in its own file, no policy.

pub mod args;
pub mod audit;
pub mod cache;
pub mod doctor;
pub mod generate;
pub mod logs;
pub mod pins;
pub mod profile;
pub mod run;

use args::{Cli, Command};

/// Runs the parsed command line; returns the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Doctor { json } => doctor::run(json),
        Command::Logs(args) => logs::run(args),
        Command::Audit(command) => audit::run(command),
        Command::Profile(command) => profile::run(command),
        Command::Pins(command) => pins::run(command),
        Command::Cache(command) => cache::run(command),
        Command::Completions { shell } => generate::completions(shell),
        Command::Man => generate::man_page(),
    }
}
