//! Shell completions and the manual page, generated from the clap definitions in `args` so
//! they cannot drift from the flags (the committed copies in `completions/` and
//! `man/mcpguard.1` are checked against this output by a test).

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

/// Writes the roff manual page `mcpguard(1)` to stdout.
pub(crate) fn man_page() -> anyhow::Result<u8> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
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
