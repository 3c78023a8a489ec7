//! Package launchers and the registries they download from.
//!
//! Owns: recognising a server command that starts with a launcher (`npx -y pkg`,
//! `uvx pkg`), which must reach its registry on first run, and naming that registry's
//! hosts. Under a profile that leaves the network unset (none), or an allowlist, such a
//! command gets exactly these hosts too (`sandbox.launcher-registries`, on by default), so it
//! works without `--net host`; an explicit "none" keeps them out.

/// The npm registry.
const NPM: &[&str] = &["registry.npmjs.org"];
/// PyPI: the index and the file host.
const PYPI: &[&str] = &["pypi.org", "files.pythonhosted.org"];

/// The launcher `argv` starts with, and the hosts of its registry.
pub(crate) fn registry_of(argv: &[String]) -> Option<(&'static str, &'static [&'static str])> {
    let program = argv.first()?;
    let name = program.rsplit('/').next().unwrap_or(program);
    let subcommand = |words: &[&str]| {
        argv.get(1..=words.len())
            .is_some_and(|given| given.iter().zip(words).all(|(a, b)| a == b))
    };
    match name {
        "npx" => Some(("npx", NPM)),
        "pnpx" => Some(("pnpx", NPM)),
        "bunx" => Some(("bunx", NPM)),
        "npm" if subcommand(&["exec"]) => Some(("npm exec", NPM)),
        "pnpm" if subcommand(&["dlx"]) => Some(("pnpm dlx", NPM)),
        "uvx" => Some(("uvx", PYPI)),
        "uv" if subcommand(&["tool", "run"]) => Some(("uv tool run", PYPI)),
        "pipx" if subcommand(&["run"]) => Some(("pipx run", PYPI)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn launchers_are_recognised_by_program_and_subcommand() {
        assert_eq!(
            registry_of(&argv(&["npx", "-y", "@modelcontextprotocol/server-memory"])),
            Some(("npx", NPM))
        );
        assert_eq!(
            registry_of(&argv(&["/usr/local/bin/uvx", "mcp-server-time"])),
            Some(("uvx", PYPI))
        );
        assert_eq!(
            registry_of(&argv(&["uv", "tool", "run", "mcp-server-git"])),
            Some(("uv tool run", PYPI))
        );
        assert_eq!(registry_of(&argv(&["uv", "run", "server.py"])), None);
        assert_eq!(registry_of(&argv(&["npm", "start"])), None);
        assert_eq!(registry_of(&argv(&["node", "npx"])), None);
        assert_eq!(registry_of(&argv(&[])), None);
    }
}
