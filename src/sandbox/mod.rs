//! The Linux sandbox around the server. No tokio in here: the namespace work happens in a
//! re-executed helper process (`init.rs`), and the rest is pure planning or plain syscalls.
//!
//! `host_facts` gathers what the plan needs to know about this machine; `channels` opens
//! the plan pipe (the helper's fd 3), the report pipe (fd 4) and, in allowlist mode, the
//! socketpair the egress sockets come back on (fd 5); the helper's stdin/stdout become the
//! server's.

pub mod cache;
pub mod handoff;
pub mod init;
pub mod landlock;
pub mod limits;
pub mod mounts;
pub mod namespaces;
pub mod network;
pub mod plan;
pub mod privileges;
pub mod probe;
pub mod seccomp;

use crate::paths;
use plan::{HostFacts, MASKED_ETC, Plan, SYSTEM_DIRS, SandboxRequest};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Why a sandbox could not even be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
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
}

/// Gathers what the plan needs to know about this machine.
pub fn host_facts(request: &SandboxRequest) -> Result<HostFacts, PlanError> {
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
            if !server.exists() {
                tracing::warn!(
                    server = %request.server_name,
                    "a new package cache for this server: {} (one per server name and \
                     command, so no other server can change what this one runs)",
                    server.display()
                );
            }
            let pairs = [
                ("npm", ".npm"),
                ("cache", ".cache"),
                ("uv", ".local/share/uv"),
            ];
            let mut caches = Vec::new();
            for (source, target) in pairs {
                let source = server.join(source);
                std::fs::create_dir_all(&source).map_err(|e| PlanError::Cache {
                    path: source.clone(),
                    source: e,
                })?;
                caches.push((source, home.join(target)));
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
        // SAFETY: getuid/getgid cannot fail.
        uid: unsafe { libc::getuid() },
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
    })
}

/// The directory name of a server's package cache: its name made safe, and a digest of
/// its identity (the name, the program as resolved on this machine, every argument, so
/// the package `npx` or `uvx` runs). A key two servers could share would let one plant
/// code that the other runs with its own grants: every `npx` server once shared `npx`.
pub fn cache_key(name: &str, program: &Path, argv: &[String]) -> String {
    let mut identity = format!("{name}\0{}", program.display());
    for arg in argv.iter().skip(1) {
        identity.push('\0');
        identity.push_str(arg);
    }
    let digest = crate::audit::chain::sha256_hex(identity.as_bytes());
    format!("{}-{}", sanitize(name), &digest[..16])
}

/// A server name made safe as one path component.
pub fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

/// Checks the paths the user granted and makes them absolute.
pub fn check_grants(paths: &[PathBuf], flag: &'static str) -> Result<Vec<PathBuf>, PlanError> {
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
            Ok(crate::fspath::lexical_normalize(&absolute))
        })
        .collect()
}

/// The pipes that carry the plan in and the layer report out.
pub struct Channels {
    /// The helper's fd 3.
    pub plan_read: OwnedFd,
    /// The helper's fd 4.
    pub report_write: OwnedFd,
    /// Where the supervisor reads the report.
    pub report_read: OwnedFd,
    /// The helper's fd 5 and the supervisor's end, in allowlist mode (see `handoff`).
    pub egress: Option<(OwnedFd, OwnedFd)>,
}

impl Channels {
    /// The helper's descriptors (plan, report, and the egress channel in allowlist mode).
    fn helper_fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        [self.plan_read.as_raw_fd(), self.report_write.as_raw_fd()]
            .into_iter()
            .chain(self.egress.as_ref().map(|(helper, _)| helper.as_raw_fd()))
            .collect()
    }

    /// The helper's command line: `/proc/self/exe __sandbox-init PLAN REPORT PID [EGRESS]`
    /// (re-executed through /proc/self/exe so a replaced or deleted binary does not matter).
    pub fn helper_command(&self) -> std::process::Command {
        let fds = self.helper_fds();
        let mut command = std::process::Command::new("/proc/self/exe");
        command
            .arg(init::SUBCOMMAND)
            .arg(fds[0].to_string())
            .arg(fds[1].to_string())
            .arg(std::process::id().to_string())
            .args(fds.get(2).map(|fd| fd.to_string()));
        command
    }

    /// Runs `spawn` with the helper's descriptors inheritable, and closes them on exec
    /// again afterwards. Callers spawn from one thread only, so no other child can inherit
    /// them during that window.
    pub fn while_inheritable<T>(&self, spawn: impl FnOnce() -> T) -> T {
        let fds = self.helper_fds();
        let set = |flags: i32| {
            for &fd in &fds {
                // SAFETY: F_SETFD on descriptors these channels own.
                unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
            }
        };
        set(0);
        let spawned = spawn();
        set(libc::FD_CLOEXEC);
        spawned
    }
}

/// Writes `plan` into a pipe for the helper and opens the report pipe.
pub fn channels(plan: &Plan) -> io::Result<Channels> {
    let (plan_read, plan_write) = pipe()?;
    let (report_read, report_write) = pipe()?;
    let text = serde_json::to_vec(plan).map_err(io::Error::other)?;
    // A plan is a few KiB; a pipe holds 64 KiB, so this write never waits for the reader.
    if text.len() >= 60 * 1024 {
        return Err(io::Error::other(
            "the sandbox plan is too large for its pipe",
        ));
    }
    std::fs::File::from(plan_write).write_all(&text)?;
    let egress = if plan.network == plan::Network::Allowlist {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
        let (helper, supervisor) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        Some((helper, supervisor))
    } else {
        None
    };
    Ok(Channels {
        plan_read,
        report_write,
        report_read,
        egress,
    })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn names_become_safe_path_components() {
        assert_eq!(sanitize("fs"), "fs");
        assert_eq!(sanitize("../../etc"), "_.._.._etc");
        assert_eq!(sanitize("a b/c"), "a_b_c");
        assert_eq!(sanitize(""), "_");
    }

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

    #[test]
    fn grants_are_normalised() {
        assert_eq!(
            crate::fspath::lexical_normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
