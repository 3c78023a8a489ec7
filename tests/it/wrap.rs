//! `mcpguard wrap`, `unwrap` and `clients` on realistic agent configs: every format round
//! trips byte for byte (comments, trailing commas, unknown keys, remote entries, odd
//! spacing, CRLF), a second wrap changes nothing, an entry edited in between is rebuilt
//! from its argv with a warning, a file that does not parse is left alone with its line
//! named, and wrapped entries launched exactly as the agent launches them serve their
//! tools through mcpguard with the real servers.

use crate::common::{fake, mcpguard, peers, repo};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A machine of one user: a home with agent configs, a project (the current directory),
/// mcpguard's own files apart.
struct Machine {
    _root: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    guard_home: PathBuf,
}

/// Where each fixture goes, relative to the home (`~/`) or the project (`./`).
const PLACES: [(&str, &str); 6] = [
    (
        "claude_desktop_config.json",
        "~/.config/Claude/claude_desktop_config.json",
    ),
    ("claude.json", "~/.claude.json"),
    ("vscode_mcp.json", "./.vscode/mcp.json"),
    ("zed_settings.json", "~/.config/zed/settings.json"),
    ("codex_config.toml", "~/.codex/config.toml"),
    ("continue_config.yaml", "~/.continue/config.yaml"),
];

impl Machine {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().canonicalize().unwrap();
        let home = base.join("home");
        let project = base.join("project");
        let guard_home = base.join("mcpguard");
        for dir in [&home, &project, &guard_home] {
            std::fs::create_dir_all(dir).unwrap();
        }
        Machine {
            _root: root,
            home,
            project,
            guard_home,
        }
    }

    fn path(&self, place: &str) -> PathBuf {
        match place.split_once('/') {
            Some(("~", rest)) => self.home.join(rest),
            Some((".", rest)) => self.project.join(rest),
            _ => panic!("{place}"),
        }
    }

    /// Puts every fixture in its place (with CRLF line ends when asked); returns what each
    /// file holds.
    fn with_fixtures(&self, crlf: bool) -> Vec<(PathBuf, Vec<u8>)> {
        PLACES
            .iter()
            .map(|(fixture, place)| {
                let text =
                    std::fs::read_to_string(repo().join("tests/fixtures/configs").join(fixture))
                        .unwrap()
                        .replace("@PROJECT@", &self.project.display().to_string());
                let text = if crlf {
                    text.replace('\n', "\r\n")
                } else {
                    text
                };
                let path = self.path(place);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
                (path, text.into_bytes())
            })
            .collect()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(mcpguard());
        command
            .current_dir(&self.project)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env_remove("CODEX_HOME")
            .env("MCPGUARD_HOME", &self.guard_home)
            .stdin(Stdio::null());
        command
    }

    /// `mcpguard ARGS`: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let output = self.command().args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn clients(&self) -> Value {
        let (code, stdout, stderr) = self.run(&["clients", "--json"]);
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    }
}

fn contents(files: &[(PathBuf, Vec<u8>)]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|(path, _)| (path.clone(), std::fs::read(path).unwrap()))
        .collect()
}

/// Each server of `clients --json`: (file name, server, transport, wrapped, profile).
fn servers(listing: &Value) -> Vec<(String, String, String, bool, Option<String>)> {
    listing
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|file| {
            let name = Path::new(file["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            file["servers"].as_array().unwrap().iter().map(move |s| {
                (
                    name.clone(),
                    s["name"].as_str().unwrap().to_owned(),
                    s["transport"].as_str().unwrap().to_owned(),
                    s["wrapped"].as_bool().unwrap(),
                    s["profile"].as_str().map(str::to_owned),
                )
            })
        })
        .collect()
}

fn round_trip(crlf: bool) {
    let machine = Machine::new();
    let original = machine.with_fixtures(crlf);
    let (code, stdout, stderr) = machine.run(&["wrap", "--no-check", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let wrapped = contents(&original);
    for ((path, before), (_, after)) in original.iter().zip(&wrapped) {
        assert_ne!(
            before,
            after,
            "{} was not wrapped:\n{stdout}",
            path.display()
        );
        if crlf {
            let text = String::from_utf8(after.clone()).unwrap();
            assert_eq!(
                text.matches('\n').count(),
                text.matches("\r\n").count(),
                "{text}"
            );
        }
    }
    let profile = |p: &str| Some(p.to_owned());
    let stdio = |file: &str, name: &str, p: &str| {
        (
            file.to_owned(),
            name.to_owned(),
            "stdio".to_owned(),
            true,
            profile(p),
        )
    };
    let left = |file: &str, name: &str, transport: &str| {
        (
            file.to_owned(),
            name.to_owned(),
            transport.to_owned(),
            false,
            None,
        )
    };
    assert_eq!(
        servers(&machine.clients()),
        vec![
            stdio("claude_desktop_config.json", "filesystem", "filesystem"),
            stdio("claude_desktop_config.json", "memory", "memory"),
            stdio("claude_desktop_config.json", "weather", "default"),
            stdio("claude_desktop_config.json", "no-args", "time"),
            stdio("claude_desktop_config.json", "empty-args", "default"),
            left("claude_desktop_config.json", "remote", "remote"),
            stdio(".claude.json", "shell", "default"),
            left(".claude.json", "docs", "remote"),
            stdio(".claude.json", "fs", "default"),
            stdio("mcp.json", "memory", "memory"),
            left("mcp.json", "github", "remote"),
            stdio("settings.json", "local-mcp-server", "default"),
            stdio("settings.json", "legacy", "default"),
            left("settings.json", "from-extension", "other"),
            left("settings.json", "remote-mcp-server", "remote"),
            stdio("config.toml", "docs", "default"),
            stdio("config.toml", "time", "default"),
            left("config.toml", "remote", "remote"),
            stdio("config.toml", "dotted.name", "default"),
            stdio("config.yaml", "SQLite MCP", "default"),
            stdio("config.yaml", "no args", "default"),
            stdio("config.yaml", "flow", "default"),
            stdio("config.yaml", "flush", "default"),
            left("config.yaml", "Browser search", "remote"),
        ]
    );
    // Wrapping again changes nothing.
    let (code, stdout, stderr) = machine.run(&["wrap", "--no-check", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("wrote"), "{stdout}");
    assert_eq!(contents(&original), wrapped);
    // Unwrapping gives back every byte.
    let (code, stdout, stderr) = machine.run(&["unwrap", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("WARNING"), "{stdout}");
    assert_eq!(contents(&original), original);
}

#[test]
fn every_format_round_trips_byte_for_byte() {
    round_trip(false);
}

#[test]
fn every_format_round_trips_byte_for_byte_with_crlf_line_ends() {
    round_trip(true);
}

#[test]
fn the_wrapped_form_carries_the_original_argv_and_the_entrys_variables_by_name() {
    let machine = Machine::new();
    machine.with_fixtures(false);
    let (code, stdout, stderr) =
        machine.run(&["wrap", "--no-check", "--yes", "--client", "claude-desktop"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let config: Value = serde_json::from_slice(
        &std::fs::read(machine.path("~/.config/Claude/claude_desktop_config.json")).unwrap(),
    )
    .unwrap();
    let guard = mcpguard().canonicalize().unwrap().display().to_string();
    let servers = &config["mcpServers"];
    assert_eq!(
        servers["memory"],
        json!({
            "command": guard,
            "args": ["run", "--name", "memory", "--profile", "memory", "--env", "DEBUG", "--",
                     "npx", "-y", "@modelcontextprotocol/server-memory"],
            "env": {"DEBUG": "1"}
        })
    );
    assert_eq!(
        servers["no-args"],
        json!({"command": guard, "args": ["run", "--name", "no-args", "--profile", "time", "--", "mcp-server-time"]})
    );
    assert_eq!(servers["remote"]["url"], "https://example.com/mcp");
    assert!(
        stdout
            .contains("memory: wrap with profile `memory`, the built-in profile for server-memory"),
        "{stdout}"
    );
    assert!(
        stdout.contains("weather: wrap with profile `default`: no built-in profile is made for"),
        "{stdout}"
    );
    assert!(
        stdout.contains("remote: left alone: a remote server (https://example.com/mcp)"),
        "{stdout}"
    );
    // The other agents' files were not touched.
    assert!(
        !std::fs::read_to_string(machine.path("~/.codex/config.toml"))
            .unwrap()
            .contains("mcpguard")
    );
}

#[test]
fn another_profile_changes_only_the_profile_and_unwrap_still_restores_every_byte() {
    let machine = Machine::new();
    let original = machine.with_fixtures(false);
    let codex = machine.path("~/.codex/config.toml");
    assert_eq!(
        machine
            .run(&["wrap", "--no-check", "--yes", "--client", "codex"])
            .0,
        Some(0)
    );
    let once = std::fs::read_to_string(&codex).unwrap();
    let (code, stdout, _) = machine.run(&[
        "wrap",
        "--no-check",
        "--yes",
        "--client",
        "codex",
        "--server",
        "docs",
        "--profile",
        "fetch",
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("docs: profile default → fetch"), "{stdout}");
    let twice = std::fs::read_to_string(&codex).unwrap();
    let changed: Vec<(&str, &str)> = once
        .lines()
        .zip(twice.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, vec![("  \"default\",", "  \"fetch\",")]);
    assert_eq!(machine.run(&["unwrap", "--yes"]).0, Some(0));
    assert_eq!(contents(&original), original);
}

#[test]
fn an_entry_edited_after_wrap_is_rebuilt_from_its_argv_with_a_warning() {
    let machine = Machine::new();
    let original = machine.with_fixtures(false);
    let codex = machine.path("~/.codex/config.toml");
    assert_eq!(
        machine
            .run(&["wrap", "--no-check", "--yes", "--client", "codex"])
            .0,
        Some(0)
    );
    // The user adds an argument to the wrapped server, in the agent's file.
    let edit = |text: &str| {
        text.replace(
            "\"mcp-server\",   # the server",
            "\"mcp-server\", \"--verbose\",   # the server",
        )
    };
    let wrapped = std::fs::read_to_string(&codex).unwrap();
    assert!(
        wrapped.contains("\"mcp-server\",   # the server"),
        "{wrapped}"
    );
    std::fs::write(&codex, edit(&wrapped)).unwrap();
    let (code, stdout, stderr) = machine.run(&["unwrap", "--yes", "--client", "codex"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("docs: WARNING: it was edited since it was wrapped: rebuilt from its arguments after `--`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("time: restored as it was before wrap"),
        "{stdout}"
    );
    let (_, before) = original.iter().find(|(p, _)| *p == codex).unwrap();
    assert_eq!(
        std::fs::read_to_string(&codex).unwrap(),
        edit(std::str::from_utf8(before).unwrap())
    );
    // Without any record (wrapped elsewhere), the argv is all there is, and it says so.
    let continue_file = machine.path("~/.continue/config.yaml");
    assert_eq!(
        machine
            .run(&["wrap", "--no-check", "--yes", "--client", "continue"])
            .0,
        Some(0)
    );
    std::fs::remove_file(machine.guard_home.join("state/wraps.json")).unwrap();
    let (code, stdout, _) = machine.run(&["unwrap", "--yes", "--client", "continue"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("flow: WARNING: no record of it was kept"),
        "{stdout}"
    );
    let listing = servers(&machine.clients());
    assert!(listing.iter().all(|s| !s.3), "{listing:?}");
    let text = std::fs::read_to_string(&continue_file).unwrap();
    assert!(
        text.contains("    command: \"srv2\"\n    args: [a, \"b c\"]\n"),
        "{text}"
    );
}

#[test]
fn a_file_that_does_not_parse_is_left_untouched_and_its_line_named() {
    let machine = Machine::new();
    let cases = [
        (
            "broken.json",
            "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"}\n    \"b\": {\"command\": \"y\"}\n  }\n}\n",
            // Where the comma is missing.
            "line 3, column 26",
        ),
        (
            "broken.toml",
            "[mcp_servers.a]\ncommand = \"x\"\nargs = [\"y\"\n\n[other]\n",
            "line 5",
        ),
        (
            "broken.yaml",
            "mcpServers:\n  - name: a\n    command: x\n   args: [y]\n",
            "line 4",
        ),
    ];
    for (name, text, line) in cases {
        let path = machine.project.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, stdout, stderr) = machine.run(&[
            "wrap",
            "--no-check",
            "--yes",
            "--config",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(1), "{name}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(line) && stdout.contains("it was left untouched"),
            "{name}: {stdout}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}

#[test]
fn the_write_keeps_the_mode_makes_a_backup_and_needs_a_yes() {
    let machine = Machine::new();
    let original = machine.with_fixtures(false);
    let zed = machine.path("~/.config/zed/settings.json");
    std::fs::set_permissions(&zed, std::fs::Permissions::from_mode(0o640)).unwrap();
    // No terminal to confirm on, and no --yes: nothing is written.
    let (code, stdout, stderr) = machine.run(&["wrap", "--no-check", "--client", "zed"]);
    assert_eq!(code, Some(125), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("run again with --yes to write it"),
        "{stderr}"
    );
    assert!(
        stdout.contains("+    \"local-mcp-server\": {")
            || stdout.contains("-      \"command\": \"some-command\","),
        "the diff is shown first: {stdout}"
    );
    assert_eq!(contents(&original), original);
    // --dry-run shows the same diff and writes nothing either.
    let (code, dry, _) = machine.run(&["wrap", "--no-check", "--dry-run", "--client", "zed"]);
    assert_eq!(code, Some(0));
    assert!(dry.contains("@@"), "{dry}");
    assert_eq!(contents(&original), original);
    let (code, stdout, _) = machine.run(&["wrap", "--no-check", "--yes", "--client", "zed"]);
    assert_eq!(code, Some(0), "{stdout}");
    let mode = std::fs::metadata(&zed).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    let backups: Vec<PathBuf> = std::fs::read_dir(machine.guard_home.join("state/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let (_, before) = original.iter().find(|(p, _)| *p == zed).unwrap();
    assert_eq!(&std::fs::read(&backups[0]).unwrap(), before);
    assert!(
        stdout.contains(&format!("(backup: {})", backups[0].display())),
        "{stdout}"
    );
}

/// Starts `command args` with `env` and nothing else, as an agent does; asks for the tools.
fn tools_as_the_agent_sees_them(
    command: &str,
    args: &[String],
    env: &[(String, String)],
) -> Vec<String> {
    let mut child = Command::new(command)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ask = |message: Value| {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    };
    let mut answer = |id: u64| loop {
        let line = lines.next().expect("the server ended").unwrap();
        let message: Value = serde_json::from_str(&line).unwrap();
        if message["id"] == id && message.get("method").is_none() {
            return message;
        }
    };
    ask(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "agent", "version": "1"}}}),
    );
    assert!(answer(1)["result"]["serverInfo"].is_object());
    ask(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    ask(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let listed = answer(2);
    drop(stdin);
    let _ = child.wait();
    listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn wrapped_entries_serve_their_tools_when_the_agent_launches_them() {
    let machine = Machine::new();
    let workspace = machine.home.join("notes");
    std::fs::create_dir_all(&workspace).unwrap();
    let config = machine.path("~/.config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let filesystem = peers().join("node/node_modules/.bin/mcp-server-filesystem");
    let uvx = peers().join("uv/bin/uvx");
    std::fs::write(
        &config,
        serde_json::to_string_pretty(&json!({
            "mcpServers": {
                "notes": {"command": filesystem, "args": [workspace]},
                "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2026.8.31"], "env": {"MEMORY_FILE_PATH": "/tmp/memory.jsonl"}},
                "time": {"command": uvx, "args": ["mcp-server-time==2026.10.19"]}
            }
        }))
        .unwrap(),
    )
    .unwrap();
    let (code, stdout, stderr) = machine.run(&["wrap", "--yes", "--check-timeout", "240s"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("answered initialize and tools/list").count(),
        3,
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "notes: wrap with profile `filesystem`, the built-in profile for server-filesystem"
        ),
        "{stdout}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let agent_env = |extra: &Value| {
        // The session's environment (its CA certificates, as a user behind a corporate
        // proxy has them), a desktop application's PATH, and the entry's own variables.
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                !["PATH", "HOME", "MCPGUARD_HOME", "XDG_CONFIG_HOME"].contains(&k.as_str())
            })
            .collect();
        env.extend([
            ("HOME".to_owned(), machine.home.display().to_string()),
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            (
                "MCPGUARD_HOME".to_owned(),
                machine.guard_home.display().to_string(),
            ),
        ]);
        if let Some(extra) = extra.as_object() {
            for (k, v) in extra {
                env.push((k.clone(), v.as_str().unwrap().to_owned()));
            }
        }
        env
    };
    let launch = |name: &str| {
        let entry = &written["mcpServers"][name];
        let args: Vec<String> = entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        tools_as_the_agent_sees_them(
            entry["command"].as_str().unwrap(),
            &args,
            &agent_env(&entry["env"]),
        )
    };
    let notes = launch("notes");
    assert!(
        notes.contains(&"read_text_file".to_owned()) && notes.contains(&"write_file".to_owned()),
        "{notes:?}"
    );
    assert_eq!(
        launch("memory"),
        vec![
            "create_entities",
            "create_relations",
            "add_observations",
            "read_graph",
            "search_nodes",
            "open_nodes"
        ]
    );
    assert_eq!(launch("time"), vec!["get_current_time", "convert_time"]);
    let args = &written["mcpServers"]["memory"]["args"];
    assert_eq!(
        args[6], "MEMORY_FILE_PATH",
        "the variable passes by name: {args}"
    );
}

#[test]
fn an_entry_that_fails_its_check_is_not_written_and_says_why() {
    let machine = Machine::new();
    let config = machine.path("~/.cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let good = fake(&["normal"]);
    let text = serde_json::to_string_pretty(&json!({
        "mcpServers": {
            "good": {"command": good[0], "args": good[1..]},
            "missing": {"command": "/nonexistent/mcp-server"},
            "all-denied": {"command": good[0], "args": good[1..]}
        }
    }))
    .unwrap();
    std::fs::write(&config, &text).unwrap();
    let (code, stdout, stderr) =
        machine.run(&["wrap", "--yes", "--server", "good", "--server", "missing"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("checking good: answered initialize and tools/list"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checking missing: FAILED, NOT written: initialize was answered with an error [mcpguard.not_found]: mcpguard: command not found: /nonexistent/mcp-server"),
        "{stdout}"
    );
    // A profile that leaves the server no tool is no use in the agent either.
    let (code, stdout, _) = machine.run(&[
        "wrap",
        "--yes",
        "--server",
        "all-denied",
        "--profile",
        "memory",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("checking all-denied: NOT written: it offers no tool through mcpguard"),
        "{stdout}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let servers = &written["mcpServers"];
    assert_eq!(servers["good"]["args"][0], "run");
    assert_eq!(
        servers["missing"],
        json!({"command": "/nonexistent/mcp-server"})
    );
    assert_eq!(servers["all-denied"]["command"], good[0]);
}

#[test]
fn clients_lists_every_agent_and_says_where_it_looked_when_there_is_none() {
    let machine = Machine::new();
    let (code, stdout, _) = machine.run(&["clients"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.starts_with("No agent config found. Looked for:"),
        "{stdout}"
    );
    assert!(stdout.contains("~/.codex/config.toml"), "{stdout}");
    machine.with_fixtures(false);
    let (code, stdout, _) = machine.run(&["clients"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("Claude Desktop (user) ~/.config/Claude/claude_desktop_config.json"),
        "{stdout}"
    );
    assert!(stdout.contains("VS Code (project) "), "{stdout}");
    assert!(
        stdout.contains("  flow                 stdio   NOT wrapped                srv2 a 'b c'\n"),
        "{stdout}"
    );
    let listing = machine.clients();
    let flow = &listing[5]["servers"][2];
    assert_eq!(flow["argv"], json!(["srv2", "a", "b c"]), "{flow}");
    assert!(
        stdout
            .trim_end()
            .ends_with("6 files, 24 servers, 0 wrapped"),
        "{stdout}"
    );
}

/// Only the audit trails of the servers mcpguard started: a check leaves one.
fn started(machine: &Machine) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(machine.guard_home.join("state/audit"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_projects_config_runs_nothing_before_the_user_agrees_and_grants_nothing_outside_it() {
    let machine = Machine::new();
    let secrets = machine.home.join(".ssh");
    std::fs::create_dir_all(&secrets).unwrap();
    let inside = machine.project.join("data");
    std::fs::create_dir_all(&inside).unwrap();
    // The project's own server, in the repository.
    let script = machine.project.join("tools/server.py");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        r#"import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    r = {"tools": [{"name": "t", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]}
    if m["method"] == "initialize":
        r = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "1"}}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#,
    )
    .unwrap();
    let config = machine.project.join(".mcp.json");
    let text = serde_json::to_string_pretty(&json!({
        "mcpServers": {"cloned": {"command": "python3", "args": [script, secrets, inside]}}
    }))
    .unwrap();
    std::fs::write(&config, &text).unwrap();
    // Shown, not run: a dry run, and a change nobody confirmed.
    let (code, stdout, _) = machine.run(&["wrap", "--dry-run"]);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, _, stderr) = machine.run(&["wrap"]);
    assert_eq!(code, Some(125), "{stderr}");
    assert_eq!(started(&machine), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    assert!(
        stdout.contains(&format!(
            "{} NOT granted: a project's own config may not grant what lies outside the project",
            secrets.display()
        )),
        "{stdout}"
    );
    let (code, stdout, stderr) = machine.run(&["wrap", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(started(&machine), vec!["cloned".to_owned()]);
    let written: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let args: Vec<&str> = written["mcpServers"]["cloned"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let separator = args.iter().position(|a| *a == "--").unwrap();
    let options = &args[..separator];
    assert!(options.contains(&inside.to_str().unwrap()), "{args:?}");
    assert!(!options.contains(&secrets.to_str().unwrap()), "{args:?}");
}

#[test]
fn odd_names_and_layouts_stay_what_they_were() {
    let machine = Machine::new();
    let config = machine.project.join("odd.yaml");
    let text = "mcpServers:\n  - name: -x\n    command: srv\n  - name: \"#0\"\n    command: a\n    args: [\"1\"]   # trailing\n  - name: shared\n    command: &c b\n  - name: alias\n    command: *c\n";
    std::fs::write(&config, text).unwrap();
    let path = config.to_str().unwrap();
    let (code, stdout, stderr) = machine.run(&["wrap", "--no-check", "--yes", "--config", path]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("shared: left alone: it uses YAML anchors"),
        "{stdout}"
    );
    assert!(
        stdout.contains("alias: left alone: it uses YAML anchors"),
        "{stdout}"
    );
    let wrapped = std::fs::read_to_string(&config).unwrap();
    assert!(
        wrapped.contains("\"run\", \"--name=-x\", \"--profile\", \"default\", \"--\", \"srv\""),
        "{wrapped}"
    );
    // Without the record, from the argv: the flow list with a comment after it too.
    std::fs::remove_file(machine.guard_home.join("state/wraps.json")).unwrap();
    let (code, stdout, stderr) = machine.run(&["unwrap", "--yes", "--config", path]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        text.replace("command: srv\n", "command: \"srv\"\n    args: []\n")
            .replace("command: a\n", "command: \"a\"\n")
    );
}

/// A hostile config cannot drive the terminal through what wrap shows before it asks: names,
/// values and comments reach the screen escaped.
#[test]
fn what_a_config_holds_reaches_the_terminal_escaped() {
    let machine = Machine::new();
    let config = machine.path("~/.cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let text = "{\"mcpServers\": {\"\\u001b]0;owned\\u0007x\": {\"command\": \"srv\", \"args\": [\"\\u001b[2K\"]}}}\n";
    std::fs::write(&config, text).unwrap();
    // A comment beside the entry: diff context, shown before the question.
    let zed = machine.path("~/.config/zed/settings.json");
    std::fs::create_dir_all(zed.parent().unwrap()).unwrap();
    std::fs::write(
        &zed,
        "{\n  // \u{1b}[2J\u{1b}[1;1Hlooks fine\n  \"context_servers\": {\"s\": {\"command\": \"srv\"}}\n}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = machine.run(&["wrap", "--dry-run"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("\\e]0;owned\\x07x: wrap with profile"),
        "{stdout}"
    );
    assert!(stdout.contains("// \\e[2J\\e[1;1Hlooks fine"), "{stdout}");
    // A block file a repository named: its name reaches the screen escaped too.
    let blocks = machine.project.join(".continue/mcpServers");
    std::fs::create_dir_all(&blocks).unwrap();
    std::fs::write(
        blocks.join("\u{1b}[2Jx.yaml"),
        "mcpServers:\n  - name: b\n    command: srv\n",
    )
    .unwrap();
    let (_, listing, _) = machine.run(&["clients"]);
    assert!(listing.contains("\\e[2Jx.yaml"), "{listing:?}");
    assert!(
        listing.contains("\\e]0;owned\\x07x") && !listing.contains('\u{1b}'),
        "{listing:?}"
    );
}

/// The agent rewrote its file while wrap was checking the entry: wrap does not overwrite
/// the agent's change, and says so.
#[test]
fn a_file_changed_during_the_check_is_not_overwritten() {
    let machine = Machine::new();
    let tools = machine.home.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let script = tools.join("slow_server.py");
    // Answers only once it sees the go-ahead file (created by the test after its edit).
    std::fs::write(
        &script,
        r#"import json, os, sys, time
go = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go")
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    r = {"tools": [{"name": "t", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]}
    if m["method"] == "initialize":
        while not os.path.exists(go):
            time.sleep(0.02)
        r = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "1"}}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#,
    )
    .unwrap();
    let config = machine.path("~/.cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let text = serde_json::to_string_pretty(&json!({
        "mcpServers": {"slow": {"command": "python3", "args": [script]}}
    }))
    .unwrap();
    std::fs::write(&config, &text).unwrap();
    let mut wrap = machine
        .command()
        .args(["wrap", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(wrap.stdout.take().unwrap());
    let mut seen = String::new();
    // The check has begun: the agent rewrites its file now.
    while !seen.contains("checking slow: ") {
        let mut chunk = [0u8; 256];
        let n = std::io::Read::read(&mut stdout, &mut chunk).unwrap();
        assert!(n > 0, "wrap ended first: {seen}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    let agents_version = text.replace("\"slow\"", "\"slow-renamed\"");
    std::fs::write(&config, &agents_version).unwrap();
    std::fs::write(tools.join("go"), "").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut wrap.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = wrap.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}{rest}\n{stderr}");
    assert!(
        rest.contains("changed while mcpguard was working on it (did the agent rewrite it?); nothing was written: run the command again"),
        "{rest}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), agents_version);
}

/// JSON keeps the last of repeated keys: an entry a later one of the same name hides is
/// dead text, and wrapping it would show the user a change the agent never sees.
#[test]
fn an_entry_hidden_by_a_repeated_name_is_left_alone() {
    let machine = Machine::new();
    let config = machine.project.join("repeated.json");
    let text =
        "{\"mcpServers\": {\"a\": {\"command\": \"first\"}, \"a\": {\"command\": \"second\"}}}\n";
    std::fs::write(&config, text).unwrap();
    let path = config.to_str().unwrap();
    let (code, stdout, stderr) = machine.run(&["wrap", "--no-check", "--yes", "--config", path]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "a: left alone: a later entry has the same name, and the agent reads only that one"
        ),
        "{stdout}"
    );
    let wrapped = std::fs::read_to_string(&config).unwrap();
    assert!(wrapped.contains("{\"command\": \"first\"}"), "{wrapped}");
    assert!(wrapped.contains("\"--\", \"second\"]"), "{wrapped}");
    let (code, _, _) = machine.run(&["unwrap", "--yes", "--config", path]);
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}
