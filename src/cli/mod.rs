//! The command-line edge: parsing lives in `args`, each subcommand in its own file, no policy.

pub(crate) mod approvals;
pub(crate) mod approve;
pub(crate) mod args;
pub(crate) mod audit;
pub(crate) mod cache;
pub(crate) mod clients;
pub(crate) mod doctor;
pub(crate) mod generate;
pub(crate) mod lint;
pub(crate) mod logs;
pub(crate) mod output;
pub(crate) mod pins;
pub(crate) mod profile;
pub(crate) mod run;
pub(crate) mod run_only;
pub(crate) mod secret;
pub(crate) mod usage;
pub(crate) mod wrap;

use args::{Cli, Command};

/// Runs the parsed command line; returns the exit code.
pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Doctor { json } => doctor::run(json),
        Command::Logs(args) => logs::run(args),
        Command::Audit(command) => audit::run(command),
        Command::Profile(command) => profile::run(command),
        Command::Pins(command) => pins::run(command),
        Command::Cache(command) => cache::run(command),
        Command::Approve(args) => approve::run(args),
        Command::Approvals(command) => approvals::run(command),
        Command::Secret(command) => secret::run(command),
        Command::Clients { json } => clients::run(json),
        Command::Wrap(args) => wrap::wrap(args),
        Command::Unwrap(args) => wrap::unwrap(args),
        Command::Completions { shell } => generate::completions(shell),
        Command::Man { subcommand } => generate::man_page(subcommand.as_deref()),
    }
}
