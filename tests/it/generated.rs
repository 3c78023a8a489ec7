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

/// Every subcommand `mcpguard help` lists has its page `man/mcpguard-<name>.1`, as the
/// binary renders it, and no page is left of a subcommand that is gone.
#[test]
fn committed_subcommand_pages_are_current() {
    let home = tempfile::tempdir().unwrap();
    let (_, help, _) = mcpguard_in(home.path(), &["help"]);
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(subcommands.contains(&"wrap".to_owned()), "{subcommands:?}");
    let mut stale = Vec::new();
    for name in &subcommands {
        let (code, page, stderr) = mcpguard_in(home.path(), &["man", name]);
        assert_eq!(code, Some(0), "mcpguard man {name}: {stderr}");
        assert!(page.contains(&format!(".TH mcpguard-{name} 1")), "{page}");
        let file = format!("man/mcpguard-{name}.1");
        if std::fs::read_to_string(repo().join(&file)).unwrap_or_default() != page {
            stale.push(format!("mcpguard man {name} > {file}"));
        }
    }
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("mcpguard-") && f.ends_with(".1"))
        .collect();
    pages.sort();
    let mut wanted: Vec<String> = subcommands
        .iter()
        .map(|n| format!("mcpguard-{n}.1"))
        .collect();
    wanted.sort();
    assert_eq!(pages, wanted, "pages of subcommands that no longer exist");
    assert_eq!(
        stale,
        Vec::<String>::new(),
        "pages are stale; regenerate them"
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
