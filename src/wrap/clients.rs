//! The agents whose configs `wrap` edits, where each keeps its MCP servers on Linux (for the
//! user, and for the project in the current directory), and in which format.
//!
//! Owns: the table of shared/reference/client-configs.md as code: file locations, the keys
//! the servers sit under, the JSON dialect, and whether the agent starts servers with the
//! reduced `PATH` of a desktop application.

use super::entry::{Entry, SyntaxError};
use super::json::{self, Dialect};
use std::path::{Path, PathBuf};

/// An agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Client {
    /// Claude Desktop (`~/.config/Claude/claude_desktop_config.json`).
    ClaudeDesktop,
    /// Claude Code (`~/.claude.json`: user and this project's local servers; `.mcp.json`).
    ClaudeCode,
    /// Cursor (`~/.cursor/mcp.json`, `.cursor/mcp.json`).
    Cursor,
    /// VS Code (`~/.config/Code/User/mcp.json`, `.vscode/mcp.json`).
    Vscode,
    /// Windsurf (`~/.codeium/windsurf/mcp_config.json`).
    Windsurf,
    /// Zed (`~/.config/zed/settings.json`, `.zed/settings.json`).
    Zed,
    /// Codex (`$CODEX_HOME/config.toml`, `.codex/config.toml`).
    Codex,
    /// Continue (`~/.continue/config.yaml`, `.continue/mcpServers/*.yaml|*.json`).
    Continue,
    /// Gemini CLI (`~/.gemini/settings.json`, `.gemini/settings.json`).
    Gemini,
}

impl Client {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::Windsurf => "Windsurf",
            Client::Zed => "Zed",
            Client::Codex => "Codex",
            Client::Continue => "Continue",
            Client::Gemini => "Gemini CLI",
        }
    }

    /// The name `--client` takes.
    pub(crate) fn id(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// Whether the agent is a desktop application, which starts servers with the reduced
    /// `PATH` of the session rather than the shell's.
    pub(crate) fn is_desktop_app(self) -> bool {
        matches!(
            self,
            Client::ClaudeDesktop
                | Client::Cursor
                | Client::Vscode
                | Client::Windsurf
                | Client::Zed
        )
    }

    /// Whether the agent expands `${VAR}` in its servers' commands, arguments and variables
    /// (shared/reference/client-configs.md: Claude Desktop and Codex do not).
    pub(crate) fn expands_variables(self) -> bool {
        !matches!(self, Client::ClaudeDesktop | Client::Codex)
    }

    /// What to do after the file changed for the agent to use it.
    pub(crate) fn reload_hint(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "quit Claude Desktop completely and start it again",
            Client::ClaudeCode => {
                "start a new Claude Code session (it asks again before using changed project servers)"
            }
            Client::Cursor | Client::Vscode | Client::Zed | Client::Windsurf => {
                "the editor reloads the file by itself; restart the servers if it asks"
            }
            Client::Codex => "start Codex again (it reads its config at start)",
            Client::Continue => "reload Continue (it reads its config when it starts)",
            Client::Gemini => "start Gemini CLI again",
        }
    }
}

/// How a file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON: the dialect, and the paths of keys to the objects of servers.
    Json(Dialect, Vec<Vec<String>>),
    /// TOML (`[mcp_servers.<name>]`).
    Toml,
    /// YAML (a `mcpServers` list).
    Yaml,
}

/// Whose servers a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    User,
    Project,
}

impl Scope {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
        }
    }
}

/// One agent config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFile {
    pub(crate) client: Client,
    pub(crate) scope: Scope,
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
}

impl ConfigFile {
    /// The server entries in `text`, this file's contents.
    pub(crate) fn entries(&self, text: &str) -> Result<Vec<Entry>, SyntaxError> {
        match &self.format {
            Format::Json(dialect, roots) => json::entries(text, *dialect, roots),
            Format::Toml => super::toml::entries(text),
            Format::Yaml => super::yaml::entries(text),
        }
    }
}

/// Where the agents' files are looked for.
#[derive(Debug, Clone)]
pub(crate) struct Places {
    pub(crate) home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub(crate) config_home: PathBuf,
    /// `$CODEX_HOME`, else `~/.codex`.
    pub(crate) codex_home: PathBuf,
    /// The project: the current directory.
    pub(crate) project: PathBuf,
}

fn keys(path: &[&str]) -> Vec<String> {
    path.iter().map(|k| (*k).to_owned()).collect()
}

fn json_file(
    client: Client,
    scope: Scope,
    path: PathBuf,
    dialect: Dialect,
    roots: Vec<Vec<String>>,
) -> ConfigFile {
    ConfigFile {
        client,
        scope,
        path,
        format: Format::Json(dialect, roots),
    }
}

/// Every file each agent could keep servers in, whether or not it exists.
pub(crate) fn candidates(places: &Places) -> Vec<ConfigFile> {
    let home = &places.home;
    let project = &places.project;
    let servers = || vec![keys(&["mcpServers"])];
    let project_key = project.to_string_lossy().into_owned();
    let mut files = vec![
        json_file(
            Client::ClaudeDesktop,
            Scope::User,
            places.config_home.join("Claude/claude_desktop_config.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::ClaudeCode,
            Scope::User,
            home.join(".claude.json"),
            Dialect::Strict,
            vec![
                keys(&["mcpServers"]),
                vec!["projects".to_owned(), project_key, "mcpServers".to_owned()],
            ],
        ),
        json_file(
            Client::ClaudeCode,
            Scope::Project,
            project.join(".mcp.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::Cursor,
            Scope::User,
            home.join(".cursor/mcp.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::Cursor,
            Scope::Project,
            project.join(".cursor/mcp.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::Vscode,
            Scope::User,
            places.config_home.join("Code/User/mcp.json"),
            Dialect::Commented,
            vec![keys(&["servers"])],
        ),
        json_file(
            Client::Vscode,
            Scope::Project,
            project.join(".vscode/mcp.json"),
            Dialect::Commented,
            vec![keys(&["servers"])],
        ),
        json_file(
            Client::Windsurf,
            Scope::User,
            home.join(".codeium/windsurf/mcp_config.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::Zed,
            Scope::User,
            places.config_home.join("zed/settings.json"),
            Dialect::Commented,
            vec![keys(&["context_servers"])],
        ),
        json_file(
            Client::Zed,
            Scope::Project,
            project.join(".zed/settings.json"),
            Dialect::Commented,
            vec![keys(&["context_servers"])],
        ),
        ConfigFile {
            client: Client::Codex,
            scope: Scope::User,
            path: places.codex_home.join("config.toml"),
            format: Format::Toml,
        },
        ConfigFile {
            client: Client::Codex,
            scope: Scope::Project,
            path: project.join(".codex/config.toml"),
            format: Format::Toml,
        },
        ConfigFile {
            client: Client::Continue,
            scope: Scope::User,
            path: home.join(".continue/config.yaml"),
            format: Format::Yaml,
        },
        json_file(
            Client::Gemini,
            Scope::User,
            home.join(".gemini/settings.json"),
            Dialect::Strict,
            servers(),
        ),
        json_file(
            Client::Gemini,
            Scope::Project,
            project.join(".gemini/settings.json"),
            Dialect::Strict,
            servers(),
        ),
    ];
    // Continue's block files: every YAML (and Claude-shaped JSON) file in the folder.
    if let Ok(dir) = std::fs::read_dir(project.join(".continue/mcpServers")) {
        let mut blocks: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        blocks.sort();
        for path in blocks {
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml") => Format::Yaml,
                Some("json") => Format::Json(Dialect::Strict, servers()),
                _ => continue,
            };
            files.push(ConfigFile {
                client: Client::Continue,
                scope: Scope::Project,
                path,
                format,
            });
        }
    }
    files
}

/// The agent files that exist here, in `candidates` order (a file named twice, as when the
/// project is the home directory, once).
pub(crate) fn found(places: &Places) -> Vec<ConfigFile> {
    let mut seen: Vec<PathBuf> = Vec::new();
    candidates(places)
        .into_iter()
        .filter(|f| f.path.is_file())
        .filter(|f| {
            let key = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
            if seen.contains(&key) {
                return false;
            }
            seen.push(key);
            true
        })
        .collect()
}

/// The file `--config` names: its agent from `client` when given, else from where it is
/// (a known location), else from what it holds.
pub(crate) fn named(
    places: &Places,
    path: &Path,
    client: Option<Client>,
) -> anyhow::Result<ConfigFile> {
    let canonical = path
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let known = candidates(places).into_iter().find(|f| {
        f.path.canonicalize().is_ok_and(|p| p == canonical) && client.is_none_or(|c| c == f.client)
    });
    if let Some(mut file) = known {
        file.path = path.to_path_buf();
        return Ok(file);
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let format_for = |client: Client| -> Format {
        match client {
            Client::Codex => Format::Toml,
            Client::Continue if extension != "json" => Format::Yaml,
            Client::Vscode => Format::Json(Dialect::Commented, vec![keys(&["servers"])]),
            Client::Zed => Format::Json(Dialect::Commented, vec![keys(&["context_servers"])]),
            _ => Format::Json(Dialect::Strict, vec![keys(&["mcpServers"])]),
        }
    };
    let client = match client {
        Some(client) => client,
        None => match extension {
            "toml" => Client::Codex,
            "yaml" | "yml" => Client::Continue,
            "json" | "jsonc" => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let top = json::top_keys(&text);
                if top.iter().any(|k| k == "servers") {
                    Client::Vscode
                } else if top.iter().any(|k| k == "context_servers") {
                    Client::Zed
                } else {
                    Client::ClaudeDesktop
                }
            }
            _ => anyhow::bail!(
                "{}: cannot tell which agent's config this is; name it with --client",
                path.display()
            ),
        },
    };
    Ok(ConfigFile {
        client,
        scope: Scope::User,
        path: path.to_path_buf(),
        format: format_for(client),
    })
}
