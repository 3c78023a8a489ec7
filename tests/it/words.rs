//! What mcpguard says to a newcomer: help for every flag that the pins commands take, a
//! server command without `--` pointed at `--`, a misspelled profile name answered with the
//! built-in it misses, and a default profile whose description says what its rule does.

use crate::common::*;
use pretty_assertions::assert_eq;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_pins_commands_explain_their_server_flag() {
    let home = home();
    for command in ["list", "diff", "approve"] {
        let (code, stdout, stderr) = mcpguard_in(home.path(), &["pins", command, "--help"]);
        assert_eq!(code, Some(0), "{stderr}");
        let flag = stdout
            .split("--server <NAME>")
            .nth(1)
            .unwrap_or_else(|| panic!("{stdout}"));
        let help: String = flag.split("\n\n").next().unwrap().trim().to_owned();
        assert!(
            help.contains("the server of this name"),
            "pins {command} --server: {help:?}"
        );
    }
}

#[test]
fn a_server_command_without_the_separator_is_pointed_at_it() {
    let home = home();
    let (code, stdout, stderr) = mcpguard_in(
        home.path(),
        &["run", "--name", "notes", "node", "server.js", "--port", "0"],
    );
    assert_eq!((code, stdout.as_str()), (Some(125), ""));
    assert!(
        stderr.contains(
            "tip: the server's command goes after `--`: \
             mcpguard run --name notes -- node server.js --port 0"
        ),
        "{stderr}"
    );
}

#[test]
fn a_misspelled_profile_suggests_the_closest_built_in() {
    let home = home();
    for args in [
        &["run", "--profile", "filesytem", "--dry-run", "--", "true"][..],
        &["profile", "show", "filesytem"][..],
    ] {
        let (code, _, stderr) = mcpguard_in(home.path(), args);
        assert_eq!(code, Some(125), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no profile named `filesytem`")
                && stderr.contains("did you mean `filesystem`?"),
            "{args:?}: {stderr}"
        );
    }
    // A name near no built-in gets no guess.
    let (code, _, stderr) = mcpguard_in(home.path(), &["profile", "show", "postgres"]);
    assert_eq!(code, Some(125));
    assert!(!stderr.contains("did you mean"), "{stderr}");
}

#[test]
fn the_default_profile_says_non_destructive_tools_run() {
    let (code, stdout, stderr) = mcpguard_in(home().path(), &["profile", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
    let default = stdout
        .lines()
        .find(|l| l.starts_with("default "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        default.contains("tools annotated read-only or non-destructive allowed")
            && default.contains("every other tool needs approval (asked of a person; refused when none can be asked)"),
        "{default}"
    );
}
