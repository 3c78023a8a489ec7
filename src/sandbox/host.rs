//! What the plan needs to know about this machine, and the grants checked against it.
//!
//! Owns: finding the program and its toolchain, the system directories and root symlinks,
//! the home, the masked /etc files, where the server's persistent caches are (one per
//! server identity, `cache_key`), creating those caches when a session really starts (a
//! dry run only describes them), and checking the paths a user granted.

use super::plan::{self, HostFacts, MASKED_ETC, Plan, SYSTEM_DIRS, SandboxRequest};
use crate::paths;
use std::io;
use std::path::{Path, PathBuf};

/// Why a sandbox could not even be planned.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlanError {
    #[error(transparent)]
    Program(#[from] crate::program::ProgramError),
    #[error("{flag} {path}: {source} (the path must exist on this machine)")]
    Grant {
        flag: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot tell the home directory: HOME is not set")]
    NoHome,
    #[error("could not create the cache directory {path}: {source}")]
    Cache { path: PathBuf, source: io::Error },
    #[error(
        "{flag} {path}: this is inside mcpguard's own files ({own}: the audit trail, pins, approvals or \
         approval sockets), which no server may see; grant a directory outside it"
    )]
    OwnFiles {
        flag: &'static str,
        path: PathBuf,
        own: PathBuf,
    },
}

/// mcpguard's own directories (state, settings, approval sockets, caches), as named and as
/// they resolve: no server may see them, whatever it was granted (a server that could read
/// the approval socket or write the approvals file could approve its own calls).
pub(crate) fn guard_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let named = [
        paths::state_dir(),
        paths::config_dir(),
        Some(paths::runtime_dir()),
        paths::cache_dir(),
    ];
    for dir in named.into_iter().flatten() {
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        if let Ok(real) = std::fs::canonicalize(&dir)
            && real != dir
        {
            dirs.push(real);
        }
        dirs.push(crate::fspath::lexical_normalize(&dir));
    }
    dirs
}

/// Gathers what the plan needs to know about this machine.
pub(crate) fn host_facts(request: &SandboxRequest) -> Result<HostFacts, PlanError> {
    let program = request.argv.first().cloned().unwrap_or_default();
    let resolved = crate::program::resolve_or_explain(&program, paths::search_path().as_deref())?;
    let resolved = std::path::absolute(&resolved).unwrap_or(resolved);
    let canonical = std::fs::canonicalize(&resolved).unwrap_or_else(|_| resolved.clone());
    let home = paths::home().ok_or(PlanError::NoHome)?;
    let mut root_symlinks = Vec::new();
    let mut system_dirs = Vec::new();
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => root_symlinks.push((path.to_path_buf(), target)),
            Err(_) if path.is_dir() => system_dirs.push(path.to_path_buf()),
            Err(_) => {}
        }
    }
    let caches = match paths::cache_dir() {
        Some(base) => {
            let server = base.join("servers").join(cache_key(
                &request.server_name,
                &canonical,
                &request.argv,
            ));
            let pairs = [
                ("npm", ".npm"),
                ("cache", ".cache"),
                ("uv", ".local/share/uv"),
            ];
            let mut caches = Vec::new();
            for (source, target) in pairs {
                caches.push((server.join(source), home.join(target)));
            }
            caches
        }
        None => Vec::new(),
    };
    let homes = vec![
        home.clone(),
        std::fs::canonicalize(&home).unwrap_or_else(|_| home.clone()),
    ];
    let toolchain = plan::toolchain_roots(&resolved, &canonical, &homes);
    if toolchain.is_empty() && !plan::covered_by(&canonical, &system_dirs) {
        tracing::warn!(
            "{} sits directly in your home or a shared directory there (~/.config, ~/.local); \
             mcpguard does not expose that whole directory, so the server cannot see its \
             program: move it into a directory of its own and grant that with --allow-read",
            canonical.display()
        );
    }
    Ok(HostFacts {
        // SAFETY: getuid cannot fail and touches no memory.
        uid: unsafe { libc::getuid() },
        // SAFETY: getgid cannot fail and touches no memory.
        gid: unsafe { libc::getgid() },
        cwd: std::env::current_dir().unwrap_or_else(|_| home.clone()),
        home: home.clone(),
        env: paths::environment(),
        root_symlinks,
        system_dirs,
        toolchain,
        caches,
        masked: MASKED_ETC
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.symlink_metadata().is_ok())
            .collect(),
        guard_dirs: guard_dirs()
            .into_iter()
            .filter(|dir| {
                // Made now if missing, so that a server granted a parent cannot make one
                // of its own there for mcpguard to read later (an approvals file).
                use std::os::unix::fs::DirBuilderExt;
                let _ = std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir);
                dir.is_dir()
            })
            .collect(),
    })
}

/// The directory name of a server's package cache: its name made safe, and a digest of
/// its identity (the name, the program as resolved on this machine, every argument, so
/// the package `npx` or `uvx` runs). A key two servers could share would let one plant
/// code that the other runs with its own grants: every `npx` server once shared `npx`.
pub(crate) fn cache_key(name: &str, program: &Path, argv: &[String]) -> String {
    let mut identity = format!("{name}\0{}", program.display());
    for arg in argv.iter().skip(1) {
        identity.push('\0');
        identity.push_str(arg);
    }
    let digest = crate::audit::chain::sha256_hex(identity.as_bytes());
    format!("{}-{}", crate::fspath::safe_component(name), &digest[..16])
}

/// The server's identity as the plan sees it: its name and a digest of the program as
/// resolved here and every argument (as its cache is keyed).
pub(crate) fn identity(request: &SandboxRequest) -> String {
    let program = request.argv.first().cloned().unwrap_or_default();
    let resolved = crate::program::resolve_or_explain(&program, paths::search_path().as_deref())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .unwrap_or_else(|_| PathBuf::from(&program));
    cache_key(&request.server_name, &resolved, &request.argv)
}

/// Checks the paths the user granted and makes them absolute.
pub(crate) fn check_grants(
    paths: &[PathBuf],
    flag: &'static str,
) -> Result<Vec<PathBuf>, PlanError> {
    paths
        .iter()
        .map(|path| {
            let absolute = std::path::absolute(path).map_err(|e| PlanError::Grant {
                flag,
                path: path.clone(),
                source: e,
            })?;
            std::fs::metadata(&absolute).map_err(|e| PlanError::Grant {
                flag,
                path: path.clone(),
                source: e,
            })?;
            // `..` and `.` removed as written, so a grant names the directory it appears to.
            let normal = crate::fspath::lexical_normalize(&absolute);
            let real = std::fs::canonicalize(&absolute).unwrap_or_else(|_| normal.clone());
            if let Some(own) = guard_dirs()
                .into_iter()
                .find(|own| normal.starts_with(own) || real.starts_with(own))
            {
                return Err(PlanError::OwnFiles {
                    flag,
                    path: path.clone(),
                    own,
                });
            }
            Ok(normal)
        })
        .collect()
}

/// Creates the server's persistent caches (the host side of each cache the plan binds),
/// saying so the first time a server identity gets one.
pub(crate) fn create_caches(plan: &Plan) -> Result<(), PlanError> {
    let Some(dir) = plan.cache_dir() else {
        return Ok(());
    };
    if !dir.exists() {
        tracing::warn!(
            server = %plan.server_name,
            "a new package cache for this server: {} (one per server name and command, so \
             no other server can change what this one runs)",
            dir.display()
        );
    }
    for mount in &plan.mounts {
        if let super::plan::Mount::BindAt { source, .. } = mount {
            std::fs::create_dir_all(source).map_err(|e| PlanError::Cache {
                path: source.clone(),
                source: e,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn cache_keys_separate_every_server_identity() {
        let npx = Path::new("/usr/bin/npx");
        let fs_pkg = "@modelcontextprotocol/server-filesystem";
        let argv = |args: &[&str]| -> Vec<String> {
            std::iter::once("npx")
                .chain(args.iter().copied())
                .map(String::from)
                .collect()
        };
        let fs = cache_key("npx", npx, &argv(&["-y", fs_pkg]));
        let memory = cache_key(
            "npx",
            npx,
            &argv(&["-y", "@modelcontextprotocol/server-memory"]),
        );
        assert!(fs.starts_with("npx-") && fs.len() == 4 + 16, "{fs}");
        assert_ne!(fs, memory);
        // The same identity keeps its cache; another name, program or argument does not.
        assert_eq!(fs, cache_key("npx", npx, &argv(&["-y", fs_pkg])));
        for other in [
            cache_key("fs", npx, &argv(&["-y", fs_pkg])),
            cache_key(
                "npx",
                Path::new("/opt/node/bin/npx"),
                &argv(&["-y", fs_pkg]),
            ),
            cache_key("npx", npx, &argv(&["-y", fs_pkg, "/srv"])),
            // Arguments are separated, not joined: ["-y x"] is not ["-y", "x"].
            cache_key("npx", npx, &argv(&[&format!("-y {fs_pkg}")])),
        ] {
            assert_ne!(fs, other);
        }
        assert!(cache_key("../x", npx, &argv(&[])).starts_with("_.._x-"));
    }
}
