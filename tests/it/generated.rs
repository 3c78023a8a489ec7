//! The committed shell completions and manual page match what the binary generates from its
//! flag definitions, and the bash script really completes.

use crate::common::{mcpguard_in, repo};
use std::process::Command;

const GENERATED: &[(&[&str], &str)] = &[
    (&["completions", "bash"], "completions/mcpguard.bash"),
    (&["completions", "zsh"], "completions/_mcpguard"),
    (&["completions", "fish"], "completions/mcpguard.fish"),
    (&["man"], "man/mcpguard.1"),
];

#[test]
fn committed_completions_and_man_page_are_current() {
    let home = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for (args, file) in GENERATED {
        let (code, stdout, stderr) = mcpguard_in(home.path(), args);
        assert_eq!(code, Some(0), "mcpguard {args:?}: {stderr}");
        let committed = std::fs::read_to_string(repo().join(file)).unwrap_or_default();
        if committed != stdout {
            stale.push(format!("mcpguard {} > {file}", args.join(" ")));
        }
    }
    assert_eq!(
        stale,
        Vec::<String>::new(),
        "generated files are stale; regenerate them"
    );
}

#[test]
fn bash_completion_offers_subcommands_and_run_flags() {
    let script = repo().join("completions/mcpguard.bash");
    let complete = |words: &str| {
        let probe = format!(
            "source {:?}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _mcpguard mcpguard \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display().to_string()
        );
        let output = Command::new("bash").args(["-c", &probe]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let subcommands = complete("mcpguard ''");
    for expected in [
        "run",
        "doctor",
        "logs",
        "audit",
        "profile",
        "pins",
        "completions",
        "man",
    ] {
        assert!(
            subcommands.iter().any(|w| w == expected),
            "{expected} missing from {subcommands:?}"
        );
    }
    assert_eq!(complete("mcpguard run --allow-w"), vec!["--allow-write"]);
    assert_eq!(
        complete("mcpguard run --net ''"),
        vec!["none", "allowlist", "host"]
    );
}
