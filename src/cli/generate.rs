//! Shell completions and the manual page, generated from the clap definitions in `args` so
//! they cannot drift from the flags (the committed copies in `completions/` and
//! `man/mcpguard.1`, `man/mcpguard-<subcommand>.1` are checked against this output by a test).

use super::args::Cli;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mcpguard", &mut script);
    write_stdout(&script)
}

/// Writes the roff manual page `mcpguard(1)`, or `mcpguard-<subcommand>(1)`, to stdout.
pub(crate) fn man_page(subcommand: Option<&str>) -> anyhow::Result<u8> {
    let mut cli = Cli::command();
    cli.build();
    let page_of = match subcommand {
        None => cli,
        Some(name) => {
            let Some(sub) = cli.find_subcommand(name).cloned() else {
                let names: Vec<String> = cli
                    .get_subcommands()
                    .map(|s| s.get_name().to_owned())
                    .filter(|s| s != "help")
                    .collect();
                anyhow::bail!(
                    "no subcommand `{name}`; the pages are: {}",
                    names.join(", ")
                );
            };
            // The page's title and usage read `mcpguard-run` / `mcpguard run`.
            sub.name(format!("mcpguard-{name}"))
                .bin_name(format!("mcpguard {name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(page_of)
        .render(&mut page)
        .context("could not render the manual page")?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut stdout = super::output::stdout();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("could not write to stdout")?;
    Ok(0)
}
