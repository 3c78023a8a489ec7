//! What `mcpguard run` options a wrapped entry gets: the profile that matches its server
//! (and why), the grants its own files need, and the variables the agent hands it.
//!
//! Owns: the rules of the choice, as a function of the entry's argv and a few facts about
//! the filesystem (`Facts`), so that they can be tested without one.

use super::edit::option;
use std::path::{Component, Path, PathBuf};

/// What the choice needs to know about the machine.
pub(crate) trait Facts {
    /// Whether `path` is a directory, a file, or neither.
    fn kind(&self, path: &Path) -> Kind;
    /// The program's file as `PATH` finds it for a bare name, then the same with every
    /// symlink followed (a `node_modules/.bin` link, a venv's `python`).
    fn resolve(&self, program: &str) -> Vec<PathBuf>;
    /// The agent's variable expansion of one value (`${VAR}`, `${workspaceFolder}`…), or None
    /// when only the agent can know it (`${input:…}`).
    fn expand(&self, value: &str) -> Option<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Directory,
    File,
    Missing,
}

/// The entry as the agent has it.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub(crate) name: String,
    /// The command and its arguments as written (the agent expands them).
    pub(crate) argv: Vec<String>,
    /// The variables the agent gives the server, by name.
    pub(crate) env_names: Vec<String>,
    /// For a project's own config: the project. What a file in a repository says is not
    /// trusted to grant anything outside it.
    pub(crate) confine: Option<PathBuf>,
}

/// The options and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) profile: String,
    /// Why this profile, in a sentence.
    pub(crate) why: String,
    /// `run`, mcpguard's options, `--`.
    pub(crate) options: Vec<String>,
    /// What the user should know (grants made, variables left out…).
    pub(crate) notes: Vec<String>,
}

/// The built-in profiles made for a server, by the name the server derives
/// (`server_name::derive`).
const MATCHING: [(&str, &str); 6] = [
    ("server-filesystem", "filesystem"),
    ("server-memory", "memory"),
    ("server-git", "git"),
    ("server-time", "time"),
    ("server-sqlite", "sqlite"),
    ("server-fetch", "fetch"),
];

/// Programs that fetch the package they run: their registry is reachable under the
/// launcher rule, and their cache is the server's own.
const LAUNCHERS: [&str; 9] = [
    "npx", "bunx", "pnpx", "uvx", "pipx", "pnpm", "yarn", "bun", "uv",
];

/// Programs that run a script given as their first operand.
const INTERPRETERS: [&str; 6] = ["node", "nodejs", "deno", "tsx", "ts-node", "bun"];

/// Variables the sandbox sets itself: passing the agent's would point the server at host
/// paths it cannot see.
const SANDBOX_OWNED: [&str; 2] = ["HOME", "TMPDIR"];

/// Directories every sandbox sees already.
const SYSTEM: [&str; 7] = ["/usr", "/etc", "/opt", "/bin", "/lib", "/proc", "/dev"];

/// The options for `subject`: `profile` when the user named one, else the built-in that
/// matches its server, else `default`.
pub(crate) fn choose(subject: &Subject, profile: Option<&str>, facts: &dyn Facts) -> Choice {
    let expanded: Vec<String> = subject
        .argv
        .iter()
        .map(|a| facts.expand(a).unwrap_or_else(|| a.clone()))
        .collect();
    let derived = crate::server_name::derive(&expanded);
    let (profile, why) = match profile {
        Some(p) => (p.to_owned(), format!("`{p}`, as --profile asked")),
        None => match MATCHING.iter().find(|(server, _)| *server == derived) {
            Some((_, p)) => (
                (*p).to_owned(),
                format!("`{p}`, the built-in profile for {derived}"),
            ),
            None => (
                "default".to_owned(),
                format!("`default`: no built-in profile is made for {derived}"),
            ),
        },
    };
    let mut grants = Grants {
        confine: subject.confine.clone(),
        ..Grants::default()
    };
    let mut notes = Vec::new();
    let program = expanded.first().map(String::as_str).unwrap_or("");
    let base = file_name(program);
    if LAUNCHERS.contains(&base) {
        notes.push(format!(
            "{base} fetches the server: its registry is reachable under the launcher rule, and nothing else"
        ));
    } else if let Some(root) = facts
        .resolve(program)
        .iter()
        .find_map(|file| package_root(file, facts))
    {
        grants.read(
            &root,
            root.display().to_string(),
            "the server's installed package",
        );
    }
    let interpreter = INTERPRETERS.contains(&base) || base.starts_with("python");
    let mut script_done = !interpreter;
    for (written, arg) in subject.argv.iter().zip(&expanded).skip(1) {
        let path = Path::new(arg);
        if !path.is_absolute() || is_system(path) {
            if !script_done && !arg.starts_with('-') {
                script_done = true;
            }
            continue;
        }
        let kind = facts.kind(path);
        if kind == Kind::Missing {
            notes.push(format!(
                "{arg} does not exist here (or cannot be read): nothing granted for it (the server will not find it in the sandbox either)"
            ));
            continue;
        }
        if !script_done && !arg.starts_with('-') {
            script_done = true;
            let files = facts.resolve(arg);
            let root = files
                .iter()
                .find_map(|file| package_root(file, facts))
                .or_else(|| files.iter().find_map(|file| project_root(file, facts)))
                .unwrap_or_else(|| path.parent().unwrap_or(path).to_path_buf());
            grants.read(&root, root.display().to_string(), "the server's own code");
            continue;
        }
        match (profile.as_str(), kind) {
            ("filesystem", Kind::Directory) => {
                if grants.allowed(path) {
                    if grants.workspace.is_none() {
                        grants.workspace = Some(written.clone());
                    } else {
                        notes.push(format!(
                            "{arg} is served too, but the filesystem profile confines calls to its \
                             workspace ({}): wrap it as an entry of its own to use it",
                            grants.workspace.as_deref().unwrap_or_default()
                        ));
                    }
                }
                grants.write(path, written.clone(), "a directory the server serves");
            }
            ("git", Kind::Directory) => {
                if grants.workspace.is_none() && grants.allowed(path) {
                    grants.workspace = Some(written.clone());
                }
                grants.write(path, written.clone(), "the repository the server works on");
            }
            ("sqlite", Kind::File) => {
                // SQLite writes its journal beside the database.
                let dir = path.parent().unwrap_or(path);
                grants.write(
                    dir,
                    dir.display().to_string(),
                    "the database's directory (SQLite writes its journal beside it)",
                );
            }
            _ => grants.read(path, written.clone(), "named in the server's arguments"),
        }
    }
    notes.append(&mut grants.refused);
    let mut options = vec!["run".to_owned()];
    options.extend(option("--name", &subject.name));
    options.extend(option("--profile", &profile));
    if let Some(workspace) = &grants.workspace {
        options.extend(option("--workspace", workspace));
    }
    for (path, why) in &grants.read_only {
        options.extend(option("--allow-read", path));
        notes.push(format!("{path} readable: {why}"));
    }
    for (path, why) in &grants.writable {
        options.extend(option("--allow-write", path));
        notes.push(format!("{path} writable: {why}"));
    }
    let mut names: Vec<&String> = subject.env_names.iter().collect();
    names.sort();
    names.dedup();
    for name in names {
        if SANDBOX_OWNED.contains(&name.as_str()) {
            notes.push(format!(
                "{name} from the config is not passed: the sandbox gives the server its own"
            ));
            continue;
        }
        options.extend(option("--env", name));
    }
    options.push("--".to_owned());
    Choice {
        profile,
        why,
        options,
        notes,
    }
}

#[derive(Debug, Default)]
struct Grants {
    workspace: Option<String>,
    read_only: Vec<(String, &'static str)>,
    writable: Vec<(String, &'static str)>,
    /// Grants may only be made inside this directory (a project's own config).
    confine: Option<PathBuf>,
    /// What was not granted, and why.
    refused: Vec<String>,
}

impl Grants {
    fn allowed(&self, path: &Path) -> bool {
        self.confine
            .as_ref()
            .is_none_or(|dir| path.starts_with(dir))
    }

    /// Whether `path` may be granted; says why not when it may not.
    fn admit(&mut self, path: &Path) -> bool {
        if self.allowed(path) {
            return true;
        }
        let note = format!(
            "{} NOT granted: a project's own config may not grant what lies outside the project; \
             if you trust it, add the grant to the wrapped entry yourself",
            path.display()
        );
        if !self.refused.contains(&note) {
            self.refused.push(note);
        }
        false
    }

    fn read(&mut self, path: &Path, written: String, why: &'static str) {
        if !self.admit(path) {
            return;
        }
        if !self
            .read_only
            .iter()
            .chain(&self.writable)
            .any(|(p, _)| *p == written)
        {
            self.read_only.push((written, why));
        }
    }

    fn write(&mut self, path: &Path, written: String, why: &'static str) {
        if !self.admit(path) {
            return;
        }
        self.read_only.retain(|(p, _)| *p != written);
        if !self.writable.iter().any(|(p, _)| *p == written) {
            self.writable.push((written, why));
        }
    }
}

fn file_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

fn is_system(path: &Path) -> bool {
    SYSTEM.iter().any(|dir| path.starts_with(dir))
}

/// The installation a file belongs to: the outermost `node_modules` directory it is in, or
/// the Python environment (a directory with `pyvenv.cfg`, or the prefix above
/// `lib/pythonX.Y/site-packages`). None for a system path, which every sandbox sees.
pub(crate) fn package_root(file: &Path, facts: &dyn Facts) -> Option<PathBuf> {
    if is_system(file) {
        return None;
    }
    let mut prefix = PathBuf::new();
    let components: Vec<Component<'_>> = file.components().collect();
    for (i, component) in components.iter().enumerate() {
        prefix.push(component);
        let name = component.as_os_str();
        if name == "node_modules" {
            return Some(prefix);
        }
        if name == "site-packages" && i >= 3 {
            // <prefix>/lib/pythonX.Y/site-packages
            return prefix.parent()?.parent()?.parent().map(Path::to_path_buf);
        }
    }
    file.ancestors()
        .skip(1)
        .take(4)
        .find(|dir| facts.kind(&dir.join("pyvenv.cfg")) == Kind::File)
        .map(Path::to_path_buf)
}

/// The project a script belongs to: the nearest directory above it with a `package.json`,
/// `pyproject.toml`, `setup.py` or `deno.json`.
fn project_root(file: &Path, facts: &dyn Facts) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|dir| {
            ["package.json", "pyproject.toml", "setup.py", "deno.json"]
                .iter()
                .any(|marker| facts.kind(&dir.join(marker)) == Kind::File)
        })
        .filter(|dir| dir.components().count() > 2)
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    /// A machine described by its files and directories.
    struct Fake {
        kinds: HashMap<PathBuf, Kind>,
        programs: HashMap<String, Vec<PathBuf>>,
    }

    impl Fake {
        fn new(dirs: &[&str], files: &[&str]) -> Self {
            let kinds = dirs
                .iter()
                .map(|d| (PathBuf::from(d), Kind::Directory))
                .chain(files.iter().map(|f| (PathBuf::from(f), Kind::File)))
                .collect();
            Fake {
                kinds,
                programs: HashMap::new(),
            }
        }

        fn program(mut self, name: &str, found: &[&str]) -> Self {
            self.programs
                .insert(name.to_owned(), found.iter().map(PathBuf::from).collect());
            self
        }
    }

    impl Facts for Fake {
        fn kind(&self, path: &Path) -> Kind {
            self.kinds.get(path).copied().unwrap_or(Kind::Missing)
        }
        fn resolve(&self, program: &str) -> Vec<PathBuf> {
            self.programs.get(program).cloned().unwrap_or_else(|| {
                if program.starts_with('/') {
                    vec![PathBuf::from(program)]
                } else {
                    Vec::new()
                }
            })
        }
        fn expand(&self, value: &str) -> Option<String> {
            Some(value.replace("${workspaceFolder}", "/home/me/app"))
        }
    }

    fn subject(name: &str, argv: &[&str], env: &[&str]) -> Subject {
        Subject {
            name: name.to_owned(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            env_names: env.iter().map(|s| (*s).to_owned()).collect(),
            confine: None,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_filesystem_server_gets_its_profile_its_directory_as_workspace_and_its_package() {
        let facts = Fake::new(&["/home/me/notes", "/home/me/other"], &[]).program(
            "/home/me/.local/lib/mcp/node_modules/.bin/mcp-server-filesystem",
            &[
                "/home/me/.local/lib/mcp/node_modules/.bin/mcp-server-filesystem",
                "/home/me/.local/lib/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
            ],
        );
        let choice = choose(
            &subject(
                "notes",
                &[
                    "/home/me/.local/lib/mcp/node_modules/.bin/mcp-server-filesystem",
                    "/home/me/notes",
                    "/home/me/other",
                ],
                &[],
            ),
            None,
            &facts,
        );
        assert_eq!(
            choice,
            Choice {
                profile: "filesystem".into(),
                why: "`filesystem`, the built-in profile for server-filesystem".into(),
                options: strings(&[
                    "run",
                    "--name",
                    "notes",
                    "--profile",
                    "filesystem",
                    "--workspace",
                    "/home/me/notes",
                    "--allow-read",
                    "/home/me/.local/lib/mcp/node_modules",
                    "--allow-write",
                    "/home/me/notes",
                    "--allow-write",
                    "/home/me/other",
                    "--",
                ]),
                notes: strings(&[
                    "/home/me/other is served too, but the filesystem profile confines calls to its workspace (/home/me/notes): wrap it as an entry of its own to use it",
                    "/home/me/.local/lib/mcp/node_modules readable: the server's installed package",
                    "/home/me/notes writable: a directory the server serves",
                    "/home/me/other writable: a directory the server serves",
                ]),
            }
        );
    }

    #[test]
    fn a_launcher_gets_no_grant_and_variables_pass_by_name() {
        let facts = Fake::new(&[], &[]);
        let choice = choose(
            &subject(
                "memory",
                &["npx", "-y", "@modelcontextprotocol/server-memory"],
                &["MEMORY_FILE_PATH", "HOME", "API_KEY", "API_KEY"],
            ),
            None,
            &facts,
        );
        assert_eq!(
            choice,
            Choice {
                profile: "memory".into(),
                why: "`memory`, the built-in profile for server-memory".into(),
                options: strings(&[
                    "run",
                    "--name",
                    "memory",
                    "--profile",
                    "memory",
                    "--env",
                    "API_KEY",
                    "--env",
                    "MEMORY_FILE_PATH",
                    "--",
                ]),
                notes: strings(&[
                    "npx fetches the server: its registry is reachable under the launcher rule, and nothing else",
                    "HOME from the config is not passed: the sandbox gives the server its own",
                ]),
            }
        );
    }

    #[test]
    fn a_script_is_granted_its_project_and_named_paths_read_only_as_written() {
        let facts = Fake::new(
            &["/home/me/app/data"],
            &[
                "/home/me/dev/srv/dist/index.js",
                "/home/me/dev/srv/package.json",
                "/home/me/app/db.sqlite",
            ],
        );
        let choice = choose(
            &subject(
                "custom",
                &[
                    "node",
                    "/home/me/dev/srv/dist/index.js",
                    "--data",
                    "${workspaceFolder}/data",
                    "/usr/share/dict",
                    "relative/path",
                ],
                &[],
            ),
            Some("default"),
            &facts,
        );
        assert_eq!(
            choice.options,
            strings(&[
                "run",
                "--name",
                "custom",
                "--profile",
                "default",
                "--allow-read",
                "/home/me/dev/srv",
                "--allow-read",
                "${workspaceFolder}/data",
                "--",
            ])
        );
        assert_eq!(choice.why, "`default`, as --profile asked");
    }

    #[test]
    fn git_and_sqlite_servers_get_write_access_where_they_write() {
        let facts = Fake::new(&["/home/me/repo"], &["/home/me/db/main.sqlite"]);
        let git = choose(
            &subject(
                "git",
                &["uvx", "mcp-server-git", "--repository", "/home/me/repo"],
                &[],
            ),
            None,
            &facts,
        );
        assert_eq!(
            git.options,
            strings(&[
                "run",
                "--name",
                "git",
                "--profile",
                "git",
                "--workspace",
                "/home/me/repo",
                "--allow-write",
                "/home/me/repo",
                "--",
            ])
        );
        let sqlite = choose(
            &subject(
                "db",
                &[
                    "uvx",
                    "mcp-server-sqlite",
                    "--db-path",
                    "/home/me/db/main.sqlite",
                ],
                &[],
            ),
            None,
            &facts,
        );
        assert_eq!(
            sqlite.options,
            strings(&[
                "run",
                "--name",
                "db",
                "--profile",
                "sqlite",
                "--allow-write",
                "/home/me/db",
                "--",
            ])
        );
    }

    #[test]
    fn a_python_environment_is_found_from_its_interpreter_or_its_site_packages() {
        let facts = Fake::new(&[], &["/home/me/venv/pyvenv.cfg"]);
        assert_eq!(
            package_root(Path::new("/home/me/venv/bin/mcp-server-git"), &facts),
            Some(PathBuf::from("/home/me/venv"))
        );
        assert_eq!(
            package_root(
                Path::new("/home/me/.local/lib/python3.12/site-packages/srv/__main__.py"),
                &facts
            ),
            Some(PathBuf::from("/home/me/.local"))
        );
        assert_eq!(
            package_root(Path::new("/usr/lib/node_modules/x/index.js"), &facts),
            None
        );
    }
}
