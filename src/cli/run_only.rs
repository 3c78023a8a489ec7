//! `mcpguard run …` parsed by a command line that knows only `run`, for the start-up of
//! every server an agent launches: clap builds the parser of every subcommand it knows
//! before it reads a word, and `run` is the one that is timed.
//!
//! Owns: telling from argv, past the global options, that the subcommand is `run`, and the
//! one-subcommand parser, which shares `run`'s arguments, texts and the global options with
//! the full one (`args`), so help, errors and results are the same (a test compares them).

use super::args::{Cli, Command, Globals, RUN_ABOUT, RUN_LONG_ABOUT, RunArgs};
use clap::{Parser, Subcommand};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(name = "mcpguard", version, propagate_version = true)]
struct RunOnly {
    #[command(flatten)]
    globals: Globals,

    #[command(subcommand)]
    command: OnlyRun,
}

#[derive(Debug, Subcommand)]
enum OnlyRun {
    #[command(about = RUN_ABOUT, long_about = RUN_LONG_ABOUT)]
    Run(RunArgs),
}

/// Parses `argv` when its subcommand is `run` (after any global options); `None` for
/// anything else, which the full command line parses.
pub(crate) fn parse(argv: &[OsString]) -> Option<Result<Cli, clap::Error>> {
    if !names_run(argv) {
        return None;
    }
    Some(RunOnly::try_parse_from(argv).map(|only| Cli {
        globals: only.globals,
        command: match only.command {
            OnlyRun::Run(args) => Command::Run(args),
        },
    }))
}

/// Whether the first word after the program and the global options is `run`.
fn names_run(argv: &[OsString]) -> bool {
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else {
            return false;
        };
        match word {
            "run" => return true,
            "--verbose" | "--quiet" => {}
            "--log-dir" => {
                words.next();
            }
            _ if word.starts_with("--log-dir=") => {}
            // -v, -vv, -q: short flags that take no value.
            _ if word.len() > 1
                && word.starts_with('-')
                && !word.starts_with("--")
                && word[1..].chars().all(|c| c == 'v' || c == 'q') => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use pretty_assertions::assert_eq;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_a_run_command_line_takes_the_short_way() {
        for yes in [
            &["mcpguard", "run", "--", "srv"][..],
            &["mcpguard", "-q", "run", "--", "srv"],
            &["mcpguard", "-vv", "--log-dir", "/tmp/l", "run", "--", "srv"],
            &["mcpguard", "--log-dir=/tmp/l", "--quiet", "run"],
        ] {
            assert!(names_run(&argv(yes)), "{yes:?}");
        }
        for no in [
            &["mcpguard"][..],
            &["mcpguard", "--version"],
            &["mcpguard", "logs", "run"],
            &["mcpguard", "--log-dir", "run", "logs"],
            &["mcpguard", "-x", "run"],
            &["mcpguard", "wrap", "--", "run"],
        ] {
            assert!(!names_run(&argv(no)), "{no:?}");
        }
    }

    #[test]
    fn parses_and_explains_run_as_the_full_command_line_does() {
        for words in [
            &[
                "mcpguard",
                "-q",
                "run",
                "--profile",
                "p.toml",
                "--net",
                "allowlist",
                "--allow-host",
                "example.com",
                "--",
                "srv",
                "-x",
            ][..],
            &[
                "mcpguard",
                "run",
                "-v",
                "--no-audit",
                "--allow-read",
                "/a",
                "--",
                "srv",
            ],
            &["mcpguard", "run", "--", "srv", "--quiet", "run"],
        ] {
            let full = format!("{:?}", Cli::try_parse_from(argv(words)).unwrap());
            let short = format!("{:?}", parse(&argv(words)).unwrap().unwrap());
            assert_eq!(short, full, "{words:?}");
        }
        for words in [
            &["mcpguard", "run"][..],
            &["mcpguard", "run", "--bogus", "--", "srv"],
            &["mcpguard", "run", "--help"],
            &["mcpguard", "-q", "-v", "run", "--", "srv"],
        ] {
            let full = Cli::try_parse_from(argv(words)).unwrap_err();
            let short = parse(&argv(words)).unwrap().unwrap_err();
            assert_eq!(
                (short.kind(), short.render().to_string()),
                (full.kind(), full.render().to_string()),
                "{words:?}"
            );
        }
        let mut full = Cli::command();
        let mut short = RunOnly::command();
        full.build();
        short.build();
        let help = |c: &mut clap::Command| {
            c.find_subcommand_mut("run")
                .unwrap()
                .render_long_help()
                .to_string()
        };
        assert_eq!(help(&mut short), help(&mut full));
    }
}
