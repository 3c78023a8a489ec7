//! Usage errors that say how to fix them: the server's command given to `mcpguard run`
//! without `--` (`mcpguard run node server.js`) gets a tip with the command line as it
//! should be, instead of clap's bare "unexpected argument".

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsString;

/// `error`, with a tip added when it has one to give; `argv` is this process's arguments.
pub(crate) fn explain(mut error: clap::Error, argv: &[OsString]) -> clap::Error {
    if let Some(tip) = separator_tip(&error, argv) {
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![StyledStr::from(tip)]),
        );
    }
    error
}

fn separator_tip(error: &clap::Error, argv: &[OsString]) -> Option<String> {
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    // A stray option has clap's own tip (`-- --bogus`); a word is the server's command.
    let Some(ContextValue::String(unexpected)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    if unexpected.starts_with('-') {
        return None;
    }
    let Some(ContextValue::StyledStr(usage)) = error.get(ContextKind::Usage) else {
        return None;
    };
    if !usage.to_string().contains("mcpguard run ") {
        return None;
    }
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let run = args.iter().position(|a| a == "run")?;
    let at = run + 1 + args[run + 1..].iter().position(|a| a == unexpected)?;
    let mut fixed = vec!["mcpguard".to_owned()];
    fixed.extend(args[..at].iter().map(|a| quote(a)));
    fixed.push("--".to_owned());
    fixed.extend(args[at..].iter().map(|a| quote(a)));
    Some(format!(
        "the server's command goes after `--`: {}",
        fixed.join(" ")
    ))
}

/// `word` as a POSIX shell reads it back.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::Parser;

    fn tip(line: &[&str]) -> Option<String> {
        let argv: Vec<OsString> = line.iter().map(OsString::from).collect();
        let error = Cli::try_parse_from(&argv).err()?;
        separator_tip(&error, &argv)
    }

    #[test]
    fn a_command_without_the_separator_gets_the_fixed_line() {
        assert_eq!(
            tip(&["mcpguard", "run", "node", "server.js"]).as_deref(),
            Some("the server's command goes after `--`: mcpguard run -- node server.js")
        );
        assert_eq!(
            tip(&["mcpguard", "-v", "run", "--name", "x", "npx", "-y", "it's"]).as_deref(),
            Some(
                "the server's command goes after `--`: mcpguard -v run --name x -- npx -y 'it'\\''s'"
            )
        );
        // Not about the separator: clap's own message stands.
        assert_eq!(tip(&["mcpguard", "run", "--bogus", "--", "node"]), None);
        assert_eq!(tip(&["mcpguard", "logs", "extra"]), None);
        assert_eq!(tip(&["mcpguard", "run", "--", "node"]), None);
    }
}
