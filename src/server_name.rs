//! The server's default name, derived from its command line (`--name` unset).
//!
//! Owns: how a command names the server it starts. The name keys the audit trail and the
//! pin file, so two unrelated servers must not share it: the interpreter or launcher
//! (`node`, `npx`, `python3`, `uvx`) names nothing, the package or script it runs does.
//! A pure function of argv (no filesystem reads): a launcher's package argument without
//! its `@scope/` and `@version`; an interpreter's script, by the package directory it
//! sits in (`node_modules/<pkg>`, `site-packages/<pkg>`) or else its file stem, or its
//! nearest meaningful parent directory when the stem is generic (`index`, `main`…);
//! `python -m pkg.mod` by `pkg`. A leading `mcp-` is dropped (`mcp-server-git` →
//! `server-git`, as the official packages are called `@modelcontextprotocol/server-…`).

use std::path::Path;

/// File stems and directories that name no server (`dist/index.js`, `src/server.py`).
const GENERIC: [&str; 14] = [
    "index", "main", "server", "dist", "build", "src", "lib", "bin", "out", "app", "cli",
    "__main__", "__init__", ".bin",
];

/// The name a command gives its server: derived from the package or script it runs, or
/// the program's file name when there is nothing better.
pub(crate) fn derive(command: &[String]) -> String {
    let Some(program) = command.first() else {
        return "server".to_owned();
    };
    let rest = &command[1..];
    let base = file_name(program);
    let derived = match launcher(base) {
        Some(Launcher::Package) => package_argument(rest),
        Some(Launcher::Subcommand(sub)) => match rest.split_first() {
            Some((first, after)) if first == sub => package_argument(after),
            _ => None,
        },
        Some(Launcher::UvRun) => match rest.split_first() {
            Some((first, after)) if first == "run" => uv_run(after),
            _ => None,
        },
        Some(Launcher::Python) => python(rest),
        Some(Launcher::Script) => first_operand(rest, &["run"]).map(script),
        None => from_path(program),
    };
    derived
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| shorten(base))
}

/// How a program runs the server it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Launcher {
    /// Fetches and runs a package named by its first operand (`npx`, `bunx`, `uvx`).
    Package,
    /// The same behind a subcommand (`pnpm dlx`, `yarn dlx`, `bun x`, `pipx run`).
    Subcommand(&'static str),
    /// `uv run`: a script, a command or a package (`--with`).
    UvRun,
    /// `python -m module` or `python script.py`.
    Python,
    /// Runs a script: its first operand (`node`, `deno run`, `tsx`).
    Script,
}

fn launcher(program: &str) -> Option<Launcher> {
    Some(match program {
        "npx" | "bunx" | "pnpx" | "uvx" => Launcher::Package,
        "pnpm" | "yarn" => Launcher::Subcommand("dlx"),
        "bun" => Launcher::Subcommand("x"),
        "pipx" => Launcher::Subcommand("run"),
        "uv" => Launcher::UvRun,
        "node" | "nodejs" | "tsx" | "ts-node" | "deno" => Launcher::Script,
        p if p.starts_with("python") => Launcher::Python,
        _ => return None,
    })
}

/// Flags of launchers and interpreters that take the next argument as their value.
const VALUED: [&str; 14] = [
    "-p",
    "--package",
    "--from",
    "--with",
    "--spec",
    "--python",
    "--directory",
    "--project",
    "-r",
    "--require",
    "--import",
    "--loader",
    "-c",
    "--config",
];

/// The first argument that is not a flag (nor a flag's value), nor one of `skip` (the
/// subcommand of `deno run script.ts`).
fn first_operand<'a>(args: &'a [String], skip: &[&str]) -> Option<&'a str> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if skip.contains(&arg.as_str()) {
            continue;
        }
        if !arg.starts_with('-') {
            return Some(arg);
        }
        if !arg.contains('=') && VALUED.contains(&arg.as_str()) {
            args.next();
        }
    }
    None
}

/// The value of a flag naming the package explicitly (`npx -p pkg cmd`, `uvx --from pkg`).
fn package_flag(args: &[String]) -> Option<&str> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        for flag in ["-p", "--package", "--from", "--spec"] {
            if arg == flag {
                return args.next().map(String::as_str);
            }
            if let Some(value) = arg.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
                return Some(value);
            }
        }
        if !arg.starts_with('-') {
            return None;
        }
    }
    None
}

fn package_argument(args: &[String]) -> Option<String> {
    let spec = package_flag(args).or_else(|| first_operand(args, &[]))?;
    if spec.contains('/') && !spec.starts_with('@') {
        // A path or URL to a package: its last meaningful component.
        return from_path(spec.trim_end_matches('/').trim_end_matches(".git"));
    }
    Some(package(spec))
}

/// A package spec without its scope and version: `@scope/name@1.2` and `name==1.2` → `name`.
fn package(spec: &str) -> String {
    let unscoped = match spec.strip_prefix('@') {
        Some(scoped) => scoped.split_once('/').map_or(scoped, |(_, name)| name),
        None => spec,
    };
    let name = unscoped
        .split(['@', '=', '<', '>', '~', '[', ' ', '!'])
        .next()
        .unwrap_or(unscoped);
    shorten(name)
}

fn uv_run(args: &[String]) -> Option<String> {
    let operand = first_operand(args, &[])?;
    if is_script(operand) {
        Some(script(operand))
    } else {
        // A command the environment provides, named after its package.
        Some(package(operand))
    }
}

fn python(args: &[String]) -> Option<String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "-m" {
            let module = args.next()?;
            return Some(shorten(module.split('.').next().unwrap_or(module)));
        }
        if let Some(module) = arg.strip_prefix("-m").filter(|m| !m.is_empty()) {
            return Some(shorten(module.split('.').next().unwrap_or(module)));
        }
        if !arg.starts_with('-') {
            return Some(script(arg));
        }
        if arg == "-X" || arg == "-W" {
            args.next();
        }
    }
    None
}

fn is_script(arg: &str) -> bool {
    arg.contains('/')
        || [".js", ".mjs", ".cjs", ".ts", ".mts", ".py"]
            .iter()
            .any(|ext| arg.ends_with(ext))
}

/// A script's server: the package it belongs to, else its meaningful stem or directory.
fn script(path: &str) -> String {
    from_path(path).unwrap_or_else(|| shorten(stem(file_name(path))))
}

/// The package a path lies in (`node_modules/[@scope/]pkg`, `site-packages/pkg`), else the
/// first meaningful name from its file stem up; None when every component is generic.
fn from_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = Path::new(path)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .filter(|c| !matches!(*c, "/" | "." | ".."))
        .collect();
    let package_dir = parts
        .iter()
        .rposition(|p| matches!(*p, "node_modules" | "site-packages" | "dist-packages"));
    if let Some(at) = package_dir {
        let mut next = parts.get(at + 1..).unwrap_or_default().iter();
        match next.next() {
            Some(scope) if scope.starts_with('@') => {
                if let Some(name) = next.next() {
                    return Some(shorten(name));
                }
            }
            // `node_modules/.bin/mcp-server-memory`: the link's name is the command's.
            Some(&".bin") => {}
            Some(name) if parts.len() > at + 2 => return Some(shorten(stem(name))),
            _ => {}
        }
    }
    let mut candidates = parts.iter().rev();
    let last = candidates.next()?;
    std::iter::once(stem(last))
        .chain(candidates.copied())
        .find(|name| !GENERIC.contains(name) && !name.is_empty())
        .map(shorten)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn stem(name: &str) -> &str {
    [".js", ".mjs", ".cjs", ".ts", ".mts", ".py"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
}

/// `mcp-server-git` → `server-git`; a name that is only `mcp-` stays as it is.
fn shorten(name: &str) -> String {
    name.strip_prefix("mcp-")
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_package_or_script_names_the_server() {
        let table = [
            (
                "npx -y @modelcontextprotocol/server-memory",
                "server-memory",
            ),
            (
                "npx --yes @modelcontextprotocol/server-everything@2025.11.1 stdio",
                "server-everything",
            ),
            ("npx -p @scope/pkg@1 bin-name", "pkg"),
            ("npx mcp-server-kubernetes", "server-kubernetes"),
            ("bunx @upstash/context7-mcp@latest", "context7-mcp"),
            ("pnpm dlx @playwright/mcp", "mcp"),
            ("yarn dlx some-server", "some-server"),
            ("bun x tavily-mcp@0.1.4", "tavily-mcp"),
            ("uvx mcp-server-git --repository .", "server-git"),
            (
                "uvx --from mcp-server-fetch==1.0 mcp-server-fetch",
                "server-fetch",
            ),
            ("pipx run mcp-server-time", "server-time"),
            (
                "uv run --with mcp-server-sqlite mcp-server-sqlite --db x",
                "server-sqlite",
            ),
            ("uv run --directory /srv/weather weather.py", "weather"),
            ("uv run /srv/weather/src/server.py", "weather"),
            (
                "node /opt/mcp-server-filesystem/dist/index.js /data",
                "server-filesystem",
            ),
            (
                "node /x/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js /d",
                "server-filesystem",
            ),
            ("node /x/node_modules/some-mcp/build/main.mjs", "some-mcp"),
            (
                "node --enable-source-maps -r dotenv/config ./server/weather.js",
                "weather",
            ),
            ("node index.js", "index"),
            (
                "/usr/bin/node /home/me/git/notes-server/src/index.ts",
                "notes-server",
            ),
            ("deno run -A jsr:@x/y/main.ts", "y"),
            ("tsx src/github.ts", "github"),
            (
                "python3 -m mcp_server_time --local-timezone UTC",
                "mcp_server_time",
            ),
            ("python3 -m my_pkg.server", "my_pkg"),
            ("python3 -u /srv/tools/jira/__main__.py", "jira"),
            ("/usr/bin/python3.12 server.py", "server"),
            (
                "python3 /x/lib/python3.12/site-packages/mcp_git/cli.py",
                "mcp_git",
            ),
            (
                "/x/peers/node/node_modules/.bin/mcp-server-memory",
                "server-memory",
            ),
            ("/usr/local/bin/mcp-server-git", "server-git"),
            ("./target/release/my-server", "my-server"),
            ("npx", "npx"),
            ("python3", "python3"),
            ("node --inspect", "node"),
        ];
        let derived: Vec<(&str, String)> = table
            .iter()
            .map(|(command, _)| {
                let argv: Vec<String> = command.split(' ').map(str::to_owned).collect();
                (*command, derive(&argv))
            })
            .collect();
        let expected: Vec<(&str, String)> = table
            .iter()
            .map(|(command, name)| (*command, (*name).to_owned()))
            .collect();
        assert_eq!(derived, expected);
    }
}
