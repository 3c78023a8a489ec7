//! The sandbox plan: everything the helper will do, decided in advance as plain data.
//!
//! Owns: turning what the user asked for (`SandboxRequest`) and facts about this machine
//! (`HostFacts`: uid, home, where the command's toolchain lives) into a `Plan`: the mounts of
//! the minimal view, the Landlock rules, the environment, the argv, the layers required. It
//! is pure (no syscalls, no environment reads), so every decision is unit-tested whole. The
//! helper (`init.rs`) only carries a plan out.
//!
//! The view mirrors host paths: a directory exposed from the host appears at the same path
//! inside, so Landlock rules, the working directory and error messages name the same paths
//! in both worlds, and the same rules serve the degraded (no-namespace) mode.

use super::limits::ResourceLimits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

// The layers and network modes are the profile's words (the contract); the plan uses them.
pub(crate) use crate::profile::model::{Layer, Network};

/// How the sandbox's network namespace is wired to the egress filter (allowlist mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EgressPlan {
    /// TCP ports whose connections to any captured address reach the filter.
    pub(crate) capture_ports: Vec<u16>,
    /// IPv4 addresses named in the allowlist, captured as well (the synthetic range always is).
    pub(crate) captured_addresses: Vec<Ipv4Addr>,
}

/// The synthetic addresses the sandbox's name server hands out (198.18.0.0/15, reserved for
/// benchmarking, so no real destination is shadowed); all of them lead to the filter.
pub(crate) const SYNTHETIC_NETWORK: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 15);
/// The address the synthetic range is given on the sandbox's loopback.
pub(crate) const SYNTHETIC_GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The HTTP proxy port on the sandbox's loopback (HTTP_PROXY and friends point here).
pub(crate) const PROXY_PORT: u16 = 3128;
/// Where the proxy is, as the server's proxy variables say it.
pub(crate) const PROXY_URL: &str = "http://127.0.0.1:3128";
/// TCP ports captured whatever the allowlist says (host patterns without a port mean these).
pub(crate) const WEB_PORTS: [u16; 2] = [80, 443];

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SandboxRequest {
    pub(crate) server_name: String,
    pub(crate) argv: Vec<String>,
    pub(crate) network: Network,
    /// The capture wiring, in allowlist mode.
    pub(crate) egress: Option<EgressPlan>,
    /// Host paths exposed read-only (must exist).
    pub(crate) read: Vec<PathBuf>,
    /// Host paths exposed read-write (must exist).
    pub(crate) write: Vec<PathBuf>,
    /// Host variables passed through by name, or set to a value.
    pub(crate) env: Vec<EnvGrant>,
    /// Layers without which the server must not start.
    pub(crate) require: BTreeSet<Layer>,
    /// What the server may consume.
    pub(crate) limits: ResourceLimits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvGrant {
    /// Pass the host's value of this variable, if it has one.
    Inherit(String),
    /// Set this variable to this value.
    Set(String, String),
}

/// Facts about this machine and user that the plan depends on, gathered by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFacts {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: PathBuf,
    pub(crate) cwd: PathBuf,
    /// The host environment, for the variables that are let through.
    pub(crate) env: Vec<(String, String)>,
    /// Top-level directories of `/` that are symlinks (usr-merge: /bin -> usr/bin), with
    /// their link text.
    pub(crate) root_symlinks: Vec<(PathBuf, PathBuf)>,
    /// Which of the standard system directories exist.
    pub(crate) system_dirs: Vec<PathBuf>,
    /// Real directories the command's program needs (see `toolchain_roots`).
    pub(crate) toolchain: Vec<PathBuf>,
    /// Per-server persistent cache directories (host side), paired with where they appear.
    pub(crate) caches: Vec<(PathBuf, PathBuf)>,
    /// Host files and directories hidden from the view even though their parent is shown.
    pub(crate) masked: Vec<PathBuf>,
    /// mcpguard's own directories (`host::guard_dirs`), hidden wherever a grant shows them.
    pub(crate) guard_dirs: Vec<PathBuf>,
}

impl Plan {
    /// The server's own package cache on the host (the directory its caches live in).
    pub(crate) fn cache_dir(&self) -> Option<&Path> {
        self.mounts.iter().find_map(|mount| match mount {
            Mount::BindAt { source, .. } => source.parent(),
            _ => None,
        })
    }
}

/// One step of building the view, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mount {
    /// A host path bound at the same path inside.
    Bind { path: PathBuf, writable: bool },
    /// A persistent host directory bound at another path inside (caches).
    BindAt { source: PathBuf, target: PathBuf },
    /// An empty private directory of the view's one scratch tmpfs (`Plan::limits.tmpfs`
    /// bytes shared by all of them and /dev/shm).
    Tmpfs { path: PathBuf, mode: u32 },
    /// A symlink, as on the host.
    Symlink { path: PathBuf, target: PathBuf },
    /// Something hidden: an empty read-only file or directory over it.
    Mask { path: PathBuf },
    /// A read-only file with these contents at `path`, symlinks followed inside the view
    /// (over the host's file if the view shows one there).
    File { path: PathBuf, contents: String },
    /// A private read-only tmpfs at `path` holding one file (mode 0400) per credential
    /// delivered as a file; nothing else sees it, and it goes with the sandbox.
    Secrets {
        path: PathBuf,
        files: Vec<(String, SecretText)>,
    },
    /// A fresh /proc showing only the sandbox.
    Proc,
    /// A minimal /dev.
    Dev,
}

/// Landlock rules, on the paths as seen by the server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct LandlockRules {
    pub(crate) read: Vec<PathBuf>,
    pub(crate) write: Vec<PathBuf>,
}

/// Everything the sandbox helper does, as data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub(crate) server_name: String,
    pub(crate) argv: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: PathBuf,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) network: Network,
    /// The capture wiring, in allowlist mode.
    pub(crate) egress: Option<EgressPlan>,
    pub(crate) require: BTreeSet<Layer>,
    /// What the server may consume (the tmpfs budget is shared by every `Mount::Tmpfs`).
    pub(crate) limits: ResourceLimits,
    /// The view, when namespaces are available.
    pub(crate) mounts: Vec<Mount>,
    /// Landlock with namespaces: the view is already minimal, so everything in it may be
    /// read; writes only where granted.
    pub(crate) landlock: LandlockRules,
    /// Landlock without namespaces (degraded): reads only where the view would have shown.
    pub(crate) landlock_degraded: LandlockRules,
    /// HOME, TMPDIR and the working directory when there is no private view.
    pub(crate) degraded_home: PathBuf,
    /// The environment then: HOME and TMPDIR where Landlock lets the server write.
    pub(crate) degraded_env: Vec<(String, String)>,
    /// Credentials delivered as environment variables, added at the last moment (never
    /// part of `env`, so a dry run, the digest and debug output cannot show them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) secret_env: Vec<(String, SecretText)>,
}

/// Where credentials delivered as files are, inside the sandbox.
pub(crate) const SECRETS_DIR: &str = "/run/secrets";

/// A credential's value on its way to the server: serialised for the helper's pipe, never
/// shown (`Debug` hides it), wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct SecretText(pub(crate) String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[secret]")
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Plan {
    /// Hands the server credentials: each of `in_env` as a variable, each of `in_files` as
    /// a file on the private tmpfs with its path in `<variable>_FILE`.
    pub(crate) fn deliver(
        &mut self,
        in_env: Vec<(String, SecretText)>,
        in_files: Vec<(String, SecretText)>,
    ) {
        self.secret_env = in_env;
        self.mounts.retain(|m| !matches!(m, Mount::Secrets { .. }));
        for (name, _) in &in_files {
            let variable = format!("{name}_FILE");
            let path = format!("{SECRETS_DIR}/{name}");
            for env in [&mut self.env, &mut self.degraded_env] {
                env.retain(|(k, _)| *k != variable);
                env.push((variable.clone(), path.clone()));
            }
        }
        let files = in_files;
        if !files.is_empty() {
            self.mounts.push(Mount::Secrets {
                path: PathBuf::from(SECRETS_DIR),
                files,
            });
        }
    }
}

/// The hostname inside the sandbox.
pub(crate) const HOSTNAME: &str = "mcpguard";

/// The sandbox's resolver configuration in allowlist mode: the name server on its loopback.
const RESOLV_CONF: &str = "# written by mcpguard: names are answered by its egress filter\nnameserver 127.0.0.1\noptions attempts:2 timeout:2\n";
/// The sandbox's hosts file in allowlist mode (the hostname line is added).
const HOSTS: &str =
    "# written by mcpguard\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";

/// Host variables naming the certificate authorities to trust, let through whenever the
/// server has a network: a machine behind a TLS-inspecting gateway needs them to reach
/// anything, and they name public files, not secrets.
const CA_ENV: [&str; 7] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "GIT_SSL_CAINFO",
];

/// Proxy variables set in allowlist mode, for clients that honour them (most HTTP clients;
/// Node needs NODE_USE_ENV_PROXY). Clients that ignore them are captured transparently.
const PROXY_ENV: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Whether `name` is one of the variables allowlist mode sets to point at its proxy.
pub(crate) fn is_proxy_variable(name: &str) -> bool {
    PROXY_ENV.contains(&name) || ["NO_PROXY", "no_proxy", "NODE_USE_ENV_PROXY"].contains(&name)
}

/// Host variables always let through (when set), beyond those the user grants.
const BASIC_ENV: [&str; 6] = ["PATH", "LANG", "LANGUAGE", "TZ", "TERM", "LC_ALL"];

/// Standard system directories shown read-only when they exist.
pub(crate) const SYSTEM_DIRS: [&str; 9] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/opt",
];

/// Files and directories under /etc that hold host secrets; hidden even though /etc is shown.
pub(crate) const MASKED_ETC: [&str; 10] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
    "/etc/security/opasswd",
    "/etc/krb5.keytab",
];

/// Device nodes bound into the minimal /dev.
pub(crate) const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Builds the plan.
pub(crate) fn build(request: &SandboxRequest, facts: &HostFacts) -> Plan {
    let mut mounts = Vec::new();
    for (path, target) in &facts.root_symlinks {
        mounts.push(Mount::Symlink {
            path: path.clone(),
            target: target.clone(),
        });
    }
    for dir in &facts.system_dirs {
        mounts.push(Mount::Bind {
            path: dir.clone(),
            writable: false,
        });
    }
    for path in &facts.masked {
        mounts.push(Mount::Mask { path: path.clone() });
    }
    mounts.push(Mount::Tmpfs {
        path: PathBuf::from("/tmp"),
        mode: 0o1777,
    });
    mounts.push(Mount::Tmpfs {
        path: PathBuf::from("/var/tmp"),
        mode: 0o1777,
    });
    mounts.push(Mount::Tmpfs {
        path: PathBuf::from("/run"),
        mode: 0o755,
    });
    mounts.push(Mount::Tmpfs {
        path: facts.home.clone(),
        mode: 0o700,
    });
    // Binds that may nest go parents first, so the more specific grant wins.
    let mut binds: Vec<Mount> = Vec::new();
    for dir in &facts.toolchain {
        // `/bin` on a usr-merged system is a link the view reproduces: a bind there would
        // land on `/usr/bin`, a second mount over what `/usr` already shows.
        let seen_as = through_root_links(dir, &facts.root_symlinks);
        if !covered_by(dir, &facts.system_dirs) && !covered_by(&seen_as, &facts.system_dirs) {
            binds.push(Mount::Bind {
                path: dir.clone(),
                writable: false,
            });
        }
    }
    for (source, target) in &facts.caches {
        binds.push(Mount::BindAt {
            source: source.clone(),
            target: target.clone(),
        });
    }
    for path in &request.read {
        binds.push(Mount::Bind {
            path: path.clone(),
            writable: false,
        });
    }
    for path in &request.write {
        binds.push(Mount::Bind {
            path: path.clone(),
            writable: true,
        });
    }
    binds.sort_by_key(|mount| match mount {
        Mount::Bind { path, .. } | Mount::BindAt { target: path, .. } => path.components().count(),
        _ => 0,
    });
    // mcpguard's own files under a directory the server was granted: hidden, after every
    // bind (no grant lies inside them: `check_grants` refuses those).
    let hidden: Vec<PathBuf> = facts
        .guard_dirs
        .iter()
        .filter(|dir| shown_from_host(dir, &binds))
        .cloned()
        .collect();
    mounts.extend(binds);
    for dir in hidden {
        mounts.push(Mount::Mask { path: dir });
    }
    if request.network == Network::Allowlist {
        // Names are looked up by the filter, never by the server: the resolver points at
        // the sandbox's own name server, and the hosts file knows only localhost.
        mounts.push(Mount::File {
            path: PathBuf::from("/etc/resolv.conf"),
            contents: RESOLV_CONF.to_owned(),
        });
        mounts.push(Mount::File {
            path: PathBuf::from("/etc/hosts"),
            contents: format!("{HOSTS}127.0.1.1 {HOSTNAME}\n"),
        });
    }
    mounts.push(Mount::Proc);
    mounts.push(Mount::Dev);

    let mut writable: Vec<PathBuf> = ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .map(PathBuf::from)
        .collect();
    writable.push(facts.home.clone());
    writable.extend(request.write.iter().cloned());
    writable.extend(DEVICES.iter().map(|d| Path::new("/dev").join(d)));
    let landlock = LandlockRules {
        read: vec![PathBuf::from("/")],
        write: writable,
    };

    let degraded_home = facts.caches.first().map_or_else(
        || {
            facts
                .home
                .join(".cache/mcpguard/degraded")
                .join(crate::fspath::safe_component(&request.server_name))
        },
        |(source, _)| source.parent().unwrap_or(source).join("home"),
    );
    let mut degraded_read: Vec<PathBuf> = facts.system_dirs.clone();
    degraded_read.extend(facts.toolchain.iter().cloned());
    degraded_read.extend(request.read.iter().cloned());
    degraded_read.push(PathBuf::from("/proc"));
    // Not all of /dev: the user's terminal (/dev/pts/N) is there. The devices a server
    // uses are granted one by one below (read and write).
    let mut degraded_write: Vec<PathBuf> = vec![degraded_home.clone()];
    degraded_write.extend(request.write.iter().cloned());
    degraded_write.extend(DEVICES.iter().map(|d| Path::new("/dev").join(d)));
    let landlock_degraded = LandlockRules {
        read: degraded_read,
        write: degraded_write,
    };

    let granted = request
        .read
        .iter()
        .chain(&request.write)
        .any(|g| facts.cwd.starts_with(g));
    let cwd = if granted {
        facts.cwd.clone()
    } else {
        facts.home.clone()
    };

    let env = environment(request, facts);
    Plan {
        server_name: request.server_name.clone(),
        argv: request.argv.clone(),
        degraded_env: env
            .iter()
            .map(|(name, value)| match name.as_str() {
                "HOME" => (name.clone(), degraded_home.display().to_string()),
                "TMPDIR" => (
                    name.clone(),
                    degraded_home.join("tmp").display().to_string(),
                ),
                _ => (name.clone(), value.clone()),
            })
            .collect(),
        env,
        secret_env: Vec::new(),
        cwd,
        uid: facts.uid,
        gid: facts.gid,
        network: request.network,
        egress: request.egress.clone(),
        require: request.require.clone(),
        limits: request.limits,
        mounts,
        landlock,
        landlock_degraded,
        degraded_home,
    }
}

/// Whether `path` lies under one of `dirs` (already shown).
/// Whether `dir` appears in the view as the host's own directory: the deepest mount that
/// covers it binds the host path at the same place (not a tmpfs, not a cache bound
/// elsewhere).
fn shown_from_host(dir: &Path, binds: &[Mount]) -> bool {
    binds
        .iter()
        .filter_map(|mount| match mount {
            Mount::Bind { path, .. } if dir.starts_with(path) => Some((path, true)),
            Mount::BindAt { target, .. } if dir.starts_with(target) => Some((target, false)),
            _ => None,
        })
        .max_by_key(|(path, _)| path.components().count())
        .is_some_and(|(_, from_host)| from_host)
}

/// Where `path` leads when it starts with one of the root's symlinks (`/bin/x` is
/// `/usr/bin/x` when `/bin` links to `usr/bin`); `path` itself otherwise.
fn through_root_links(path: &Path, links: &[(PathBuf, PathBuf)]) -> PathBuf {
    for (link, target) in links {
        if let Ok(rest) = path.strip_prefix(link) {
            let target = Path::new("/").join(target);
            return crate::fspath::lexical_normalize(&target.join(rest));
        }
    }
    path.to_path_buf()
}

pub(crate) fn covered_by(path: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|dir| path.starts_with(dir))
}

/// The server's environment: the basics, HOME and TMPDIR, and what the user granted.
/// Nothing else of the host's environment (agent sockets, session bus, display, tokens the
/// user happened to export) reaches the server.
fn environment(request: &SandboxRequest, facts: &HostFacts) -> Vec<(String, String)> {
    let host = |name: &str| {
        facts
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: String| {
        env.retain(|(k, _)| k != name);
        env.push((name.to_owned(), value));
    };
    for name in BASIC_ENV {
        if let Some(value) = host(name) {
            set(name, value);
        }
    }
    if host("PATH").is_none() {
        set("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned());
    }
    set("HOME", facts.home.display().to_string());
    set("TMPDIR", "/tmp".to_owned());
    if request.network != Network::None {
        for name in CA_ENV {
            if let Some(value) = host(name) {
                set(name, value);
            }
        }
    }
    for grant in &request.env {
        match grant {
            EnvGrant::Inherit(name) => {
                if let Some(value) = host(name) {
                    set(name, value);
                }
            }
            EnvGrant::Set(name, value) => set(name, value.clone()),
        }
    }
    // After the grants: the filter is the only way out, whatever the user's variables say.
    if request.network == Network::Allowlist {
        for name in PROXY_ENV {
            set(name, PROXY_URL.to_owned());
        }
        for name in ["NO_PROXY", "no_proxy"] {
            set(name, "localhost,127.0.0.1,::1".to_owned());
        }
        set("NODE_USE_ENV_PROXY", "1".to_owned());
    }
    env.sort();
    env
}

/// The directories a program needs, from its resolved path: the real location of the
/// executable (symlinks followed) and, when it sits in a `bin` directory, the prefix above
/// it (where its libraries live: `~/.nvm/versions/node/v22`, `~/.pyenv`). `homes` is the
/// home directory as given and with symlinks resolved. Home itself, `/`, and the shared
/// directories right under home (`~/.local`, `~/.cargo`, `~/.config`: they also hold
/// keyrings and registry tokens) are never granted whole: a program in one of them gets its
/// own directory only when that is narrower, and nothing otherwise (`--allow-read` grants
/// it); `~/bin` holds programs only, and a version manager's own tree (`~/.pyenv`) is
/// granted whole because its shims need it.
pub(crate) fn toolchain_roots(
    resolved: &Path,
    canonical: &Path,
    homes: &[PathBuf],
) -> Vec<PathBuf> {
    let too_broad = |dir: &Path| {
        dir == Path::new("/")
            || homes.iter().any(|home| {
                dir == home
                    || (dir.parent() == Some(home)
                        && dir.file_name() != Some("bin".as_ref())
                        && !is_version_manager_home(dir))
            })
    };
    let mut roots = Vec::new();
    for exe in [resolved, canonical] {
        let Some(dir) = exe.parent() else { continue };
        let prefix = match dir.file_name().and_then(|n| n.to_str()) {
            Some("bin" | "shims" | "sbin") => dir.parent().unwrap_or(dir),
            _ => dir,
        };
        let root = if !too_broad(prefix) {
            prefix
        } else if !too_broad(dir) {
            dir
        } else {
            continue;
        };
        if !roots.iter().any(|r: &PathBuf| root.starts_with(r)) {
            roots.retain(|r: &PathBuf| !r.starts_with(root));
            roots.push(root.to_path_buf());
        }
    }
    roots
}

/// Directories under home that belong wholly to one version manager, whose shims need the
/// whole tree (`~/.pyenv/shims/python3` runs `~/.pyenv/libexec` and `~/.pyenv/versions`).
fn is_version_manager_home(dir: &Path) -> bool {
    const VERSION_MANAGERS: &[&str] = &[
        ".pyenv", ".rbenv", ".nodenv", ".goenv", ".volta", ".bun", ".deno", ".asdf",
    ];
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|name| VERSION_MANAGERS.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn facts() -> HostFacts {
        HostFacts {
            uid: 1000,
            gid: 1000,
            home: p("/home/me"),
            cwd: p("/home/me/src/project"),
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("LANG".into(), "C.UTF-8".into()),
                ("SSH_AUTH_SOCK".into(), "/run/user/1000/ssh".into()),
                (
                    "DBUS_SESSION_BUS_ADDRESS".into(),
                    "unix:path=/run/user/1000/bus".into(),
                ),
                ("DISPLAY".into(), ":0".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "hunter2".into()),
                ("GITHUB_TOKEN".into(), "ghp_x".into()),
            ],
            root_symlinks: vec![(p("/bin"), p("usr/bin"))],
            system_dirs: vec![p("/usr"), p("/etc")],
            toolchain: vec![p("/usr/bin"), p("/home/me/.nvm/versions/node/v22")],
            caches: vec![(
                p("/home/me/.cache/mcpguard/servers/fs/npm"),
                p("/home/me/.npm"),
            )],
            masked: vec![p("/etc/shadow")],
            guard_dirs: vec![
                p("/home/me/.local/state/mcpguard"),
                p("/home/me/.config/mcpguard"),
                p("/run/user/1000/mcpguard"),
                p("/home/me/.cache/mcpguard"),
            ],
        }
    }

    #[test]
    fn mcpguards_own_files_are_hidden_under_any_grant_that_shows_them() {
        let masks = |read: Vec<PathBuf>, write: Vec<PathBuf>| -> Vec<PathBuf> {
            let request = SandboxRequest {
                read,
                write,
                ..request()
            };
            build(&request, &facts())
                .mounts
                .into_iter()
                .filter_map(|m| match m {
                    Mount::Mask { path } if !path.starts_with("/etc") => Some(path),
                    _ => None,
                })
                .collect()
        };
        // Granted nothing that shows them: nothing to hide.
        assert_eq!(
            masks(vec![p("/home/me/docs")], vec![]),
            Vec::<PathBuf>::new()
        );
        // The whole home writable: state, settings and the caches of every server are hidden.
        assert_eq!(
            masks(vec![], vec![p("/home/me")]),
            vec![
                p("/home/me/.local/state/mcpguard"),
                p("/home/me/.config/mcpguard"),
                p("/home/me/.cache/mcpguard")
            ]
        );
        // The runtime directory of the session bus, granted for D-Bus: the sockets are hidden.
        assert_eq!(
            masks(vec![p("/run/user/1000")], vec![]),
            vec![p("/run/user/1000/mcpguard")]
        );
        // Hidden after every bind, so no grant can show them again.
        let plan = build(
            &SandboxRequest {
                write: vec![p("/home/me")],
                ..request()
            },
            &facts(),
        );
        let last_bind = plan
            .mounts
            .iter()
            .rposition(|m| matches!(m, Mount::Bind { .. } | Mount::BindAt { .. }))
            .unwrap();
        let first_own_mask = plan
            .mounts
            .iter()
            .position(|m| matches!(m, Mount::Mask { path } if path.ends_with("mcpguard")))
            .unwrap();
        assert!(first_own_mask > last_bind);
    }

    fn request() -> SandboxRequest {
        SandboxRequest {
            server_name: "fs".into(),
            argv: vec!["node".into(), "server.js".into()],
            network: Network::None,
            egress: None,
            read: vec![p("/home/me/docs")],
            write: vec![p("/home/me/src/project")],
            env: vec![
                EnvGrant::Inherit("GITHUB_TOKEN".into()),
                EnvGrant::Set("MODE".into(), "ci".into()),
            ],
            require: Layer::ALL.into_iter().collect(),
            limits: ResourceLimits {
                processes: 64,
                memory: Some(1 << 30),
                tmpfs: 32 << 20,
                cache: None,
            },
        }
    }

    #[test]
    fn a_program_under_a_root_link_adds_no_mount_over_the_system_view() {
        // /bin/true on a usr-merged system: /bin is the link to usr/bin, /usr is shown.
        let facts = HostFacts {
            toolchain: vec![p("/bin"), p("/usr")],
            ..facts()
        };
        let binds: Vec<PathBuf> = build(&request(), &facts)
            .mounts
            .into_iter()
            .filter_map(|m| match m {
                Mount::Bind { path, .. } => Some(path),
                _ => None,
            })
            .collect();
        assert_eq!(
            binds,
            vec![
                p("/usr"),
                p("/etc"),
                p("/home/me/docs"),
                p("/home/me/src/project")
            ]
        );
        assert_eq!(
            through_root_links(&p("/bin/x/../y"), &facts.root_symlinks),
            p("/usr/bin/y")
        );
        assert_eq!(
            through_root_links(&p("/binary"), &facts.root_symlinks),
            p("/binary")
        );
    }

    #[test]
    fn the_allowlist_plan_points_names_and_proxies_at_the_filter() {
        let mut facts = facts();
        facts
            .env
            .push(("SSL_CERT_FILE".into(), "/etc/ssl/certs/ca.pem".into()));
        facts
            .env
            .push(("HTTP_PROXY".into(), "http://corp-proxy:8080".into()));
        let egress = EgressPlan {
            capture_ports: vec![80, 443, 5432],
            captured_addresses: vec![Ipv4Addr::new(10, 0, 0, 5)],
        };
        let allowlist = SandboxRequest {
            network: Network::Allowlist,
            egress: Some(egress.clone()),
            // A grant of a proxy variable does not win over the filter's.
            env: vec![EnvGrant::Inherit("HTTP_PROXY".into())],
            ..request()
        };
        let plan = build(&allowlist, &facts);
        assert_eq!(plan.egress, Some(egress));
        let proxy = || "http://127.0.0.1:3128".to_owned();
        assert_eq!(
            plan.env,
            vec![
                ("ALL_PROXY".into(), proxy()),
                ("HOME".into(), "/home/me".into()),
                ("HTTPS_PROXY".into(), proxy()),
                ("HTTP_PROXY".into(), proxy()),
                ("LANG".into(), "C.UTF-8".into()),
                ("NODE_USE_ENV_PROXY".into(), "1".into()),
                ("NO_PROXY".into(), "localhost,127.0.0.1,::1".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("SSL_CERT_FILE".into(), "/etc/ssl/certs/ca.pem".into()),
                ("TMPDIR".into(), "/tmp".into()),
                ("all_proxy".into(), proxy()),
                ("http_proxy".into(), proxy()),
                ("https_proxy".into(), proxy()),
                ("no_proxy".into(), "localhost,127.0.0.1,::1".into()),
            ]
        );
        // The resolver files are mcpguard's, placed after every bind (where the view's own
        // symlinks lead, e.g. systemd-resolved's stub in /run) and before /proc and /dev.
        let tail: Vec<&Mount> = plan.mounts.iter().rev().take(4).rev().collect();
        assert_eq!(
            tail,
            vec![
                &Mount::File {
                    path: p("/etc/resolv.conf"),
                    contents: RESOLV_CONF.into(),
                },
                &Mount::File {
                    path: p("/etc/hosts"),
                    contents: format!("{HOSTS}127.0.1.1 mcpguard\n"),
                },
                &Mount::Proc,
                &Mount::Dev,
            ]
        );
        // Without a network the certificate variables stay out too.
        let none = build(&request(), &facts);
        assert!(none.env.iter().all(|(k, _)| k != "SSL_CERT_FILE"));
        assert!(none.mounts.iter().all(|m| !matches!(m, Mount::File { .. })));
    }

    #[test]
    fn plan_builds_the_minimal_view() {
        let plan = build(&request(), &facts());
        assert_eq!(
            plan,
            Plan {
                server_name: "fs".into(),
                argv: vec!["node".into(), "server.js".into()],
                env: vec![
                    ("GITHUB_TOKEN".into(), "ghp_x".into()),
                    ("HOME".into(), "/home/me".into()),
                    ("LANG".into(), "C.UTF-8".into()),
                    ("MODE".into(), "ci".into()),
                    ("PATH".into(), "/usr/bin:/bin".into()),
                    ("TMPDIR".into(), "/tmp".into()),
                ],
                cwd: p("/home/me/src/project"),
                uid: 1000,
                gid: 1000,
                network: Network::None,
                egress: None,
                require: Layer::ALL.into_iter().collect(),
                limits: ResourceLimits {
                    processes: 64,
                    memory: Some(1 << 30),
                    tmpfs: 32 << 20,
                    cache: None,
                },
                mounts: vec![
                    Mount::Symlink {
                        path: p("/bin"),
                        target: p("usr/bin")
                    },
                    Mount::Bind {
                        path: p("/usr"),
                        writable: false
                    },
                    Mount::Bind {
                        path: p("/etc"),
                        writable: false
                    },
                    Mount::Mask {
                        path: p("/etc/shadow")
                    },
                    Mount::Tmpfs {
                        path: p("/tmp"),
                        mode: 0o1777
                    },
                    Mount::Tmpfs {
                        path: p("/var/tmp"),
                        mode: 0o1777
                    },
                    Mount::Tmpfs {
                        path: p("/run"),
                        mode: 0o755
                    },
                    Mount::Tmpfs {
                        path: p("/home/me"),
                        mode: 0o700
                    },
                    Mount::BindAt {
                        source: p("/home/me/.cache/mcpguard/servers/fs/npm"),
                        target: p("/home/me/.npm")
                    },
                    Mount::Bind {
                        path: p("/home/me/docs"),
                        writable: false
                    },
                    Mount::Bind {
                        path: p("/home/me/src/project"),
                        writable: true
                    },
                    Mount::Bind {
                        path: p("/home/me/.nvm/versions/node/v22"),
                        writable: false
                    },
                    Mount::Proc,
                    Mount::Dev,
                ],
                landlock: LandlockRules {
                    read: vec![p("/")],
                    write: vec![
                        p("/tmp"),
                        p("/var/tmp"),
                        p("/dev/shm"),
                        p("/home/me"),
                        p("/home/me/src/project"),
                        p("/dev/null"),
                        p("/dev/zero"),
                        p("/dev/full"),
                        p("/dev/random"),
                        p("/dev/urandom"),
                        p("/dev/tty"),
                    ],
                },
                landlock_degraded: LandlockRules {
                    read: vec![
                        p("/usr"),
                        p("/etc"),
                        p("/usr/bin"),
                        p("/home/me/.nvm/versions/node/v22"),
                        p("/home/me/docs"),
                        p("/proc"),
                    ],
                    write: vec![
                        p("/home/me/.cache/mcpguard/servers/fs/home"),
                        p("/home/me/src/project"),
                        p("/dev/null"),
                        p("/dev/zero"),
                        p("/dev/full"),
                        p("/dev/random"),
                        p("/dev/urandom"),
                        p("/dev/tty"),
                    ],
                },
                degraded_home: p("/home/me/.cache/mcpguard/servers/fs/home"),
                // Without a private view, HOME and TMPDIR are where Landlock allows writes.
                degraded_env: vec![
                    ("GITHUB_TOKEN".into(), "ghp_x".into()),
                    (
                        "HOME".into(),
                        "/home/me/.cache/mcpguard/servers/fs/home".into()
                    ),
                    ("LANG".into(), "C.UTF-8".into()),
                    ("MODE".into(), "ci".into()),
                    ("PATH".into(), "/usr/bin:/bin".into()),
                    (
                        "TMPDIR".into(),
                        "/home/me/.cache/mcpguard/servers/fs/home/tmp".into()
                    ),
                ],
                secret_env: Vec::new(),
            }
        );
    }

    #[test]
    fn cwd_outside_the_view_falls_back_to_home() {
        let mut facts = facts();
        facts.cwd = p("/srv/elsewhere");
        assert_eq!(build(&request(), &facts).cwd, p("/home/me"));
    }

    #[test]
    fn toolchain_roots_take_the_prefix_above_bin() {
        let homes = [p("/home/me")];
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.nvm/versions/node/v22/bin/node"),
                &p("/home/me/.nvm/versions/node/v22/bin/node"),
                &homes
            ),
            vec![p("/home/me/.nvm/versions/node/v22")]
        );
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.pyenv/shims/python3"),
                &p("/home/me/.pyenv/shims/python3"),
                &homes
            ),
            vec![p("/home/me/.pyenv")]
        );
        assert_eq!(
            toolchain_roots(&p("/home/me/bin/tool"), &p("/home/me/bin/tool"), &homes),
            vec![p("/home/me/bin")]
        );
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.local/bin/uvx"),
                &p("/home/me/.local/bin/uvx"),
                &homes
            ),
            vec![p("/home/me/.local/bin")]
        );
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.cargo/bin/server"),
                &p("/home/me/.cargo/bin/server"),
                &homes
            ),
            vec![p("/home/me/.cargo/bin")]
        );
        assert_eq!(
            toolchain_roots(
                &p("/usr/local/bin/npx"),
                &p("/usr/local/lib/node_modules/npm/bin/npx-cli.js"),
                &homes
            ),
            vec![p("/usr/local")]
        );
        assert_eq!(
            toolchain_roots(&p("/home/me/server.py"), &p("/home/me/server.py"), &homes),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.config/tool"),
                &p("/home/me/.config/tool"),
                &homes
            ),
            Vec::<PathBuf>::new()
        );
        let linked = [p("/home/me"), p("/data/home/me")];
        assert_eq!(
            toolchain_roots(
                &p("/home/me/.local/bin/uvx"),
                &p("/data/home/me/.local/bin/uvx"),
                &linked
            ),
            vec![p("/home/me/.local/bin"), p("/data/home/me/.local/bin")]
        );
        assert_eq!(
            toolchain_roots(
                &p("/home/me/bin/tool"),
                &p("/data/home/me/bin/tool"),
                &linked
            ),
            vec![p("/home/me/bin"), p("/data/home/me/bin")]
        );
    }

    #[test]
    fn layers_parse_by_name() {
        assert_eq!(Layer::parse("landlock"), Ok(Layer::Landlock));
        assert!(
            Layer::parse("apparmor")
                .unwrap_err()
                .contains("namespaces, landlock and seccomp")
        );
    }
}
