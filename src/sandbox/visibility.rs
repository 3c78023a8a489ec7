//! Which of the command's own paths the server will not see inside its view.
//!
//! Owns: telling, before anything starts, that the program, a script argument or another
//! path-like argument that exists on this machine is hidden by the view (outside every
//! grant, under the private home or /tmp, under a mask), and the `--allow-read DIR` that
//! shows it. Without this a run fails later with the runtime's own words ("Cannot find
//! module …") that never mention a grant.
//!
//! The view is the plan's mounts in order: a path shows what the last mount at or above it
//! shows. Only a `Bind` of the same host path shows the host's file there.

use super::plan::{Mount, Plan};
use std::path::{Path, PathBuf};

/// A path of the command that the server will not see, and the grant that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hidden {
    /// The argument as the user wrote it.
    pub(crate) argument: String,
    /// The directory to grant with `--allow-read`.
    pub(crate) grant: PathBuf,
}

impl Hidden {
    /// What may have kept the server from starting, for the client's error.
    pub(crate) fn hint(&self) -> String {
        format!(
            "{} is not visible inside the sandbox (--allow-read {} shows it)",
            self.argument,
            self.grant.display()
        )
    }

    /// The line that says so, with the fix.
    pub(crate) fn warning(&self) -> String {
        format!(
            "{} exists on this machine but is not visible inside the sandbox; \
             add --allow-read {} (or sandbox.read in the profile) if the server needs it",
            crate::terminal::escape(&self.argument),
            crate::terminal::escape(&self.grant.display().to_string())
        )
    }
}

/// Whether the host path `path` (absolute, symlinks resolved) shows as itself in the view.
pub(crate) fn visible(mounts: &[Mount], path: &Path) -> bool {
    let mut shown = false;
    for mount in mounts {
        let (at, shows_host) = match mount {
            Mount::Bind { path, .. } => (path.as_path(), true),
            Mount::BindAt { target, .. } => (target.as_path(), false),
            Mount::Tmpfs { path, .. } | Mount::Mask { path } | Mount::Secrets { path, .. } => {
                (path.as_path(), false)
            }
            Mount::File { path, .. } | Mount::Symlink { path, .. } => (path.as_path(), false),
            Mount::Proc => (Path::new("/proc"), false),
            Mount::Dev => (Path::new("/dev"), false),
        };
        if path.starts_with(at) {
            shown = shows_host;
        }
    }
    shown
}

/// A host path as it is on this machine: where it resolves to, and whether it is a
/// directory; None when it does not exist.
pub(crate) fn on_host(path: &Path) -> Option<(PathBuf, bool)> {
    let real = std::fs::canonicalize(path).ok()?;
    let is_dir = real.is_dir();
    Some((real, is_dir))
}

/// The arguments of `argv` (the program included) that name an existing host path the
/// server will not see. `resolve` is `on_host` (a seam for the tests).
pub(crate) fn hidden_arguments(
    plan: &Plan,
    program: &Path,
    resolve: impl Fn(&Path) -> Option<(PathBuf, bool)>,
) -> Vec<Hidden> {
    let mut hidden = Vec::new();
    let mut consider = |argument: &str, host: &Path| {
        let Some((real, is_dir)) = resolve(host) else {
            return;
        };
        if visible(&plan.mounts, &real) {
            return;
        }
        let grant = if is_dir {
            real.clone()
        } else {
            real.parent()
                .map_or_else(|| real.clone(), Path::to_path_buf)
        };
        if !hidden.iter().any(|h: &Hidden| h.grant == grant) {
            hidden.push(Hidden {
                argument: argument.to_owned(),
                grant,
            });
        }
    };
    if let Some(first) = plan.argv.first() {
        consider(first, program);
    }
    for argument in plan.argv.iter().skip(1) {
        // A path-like argument: absolute, explicitly relative, or with a directory part.
        // Flags (`--port=80`), package names (`@scope/pkg`) and URLs are not paths.
        let value = argument
            .split_once('=')
            .filter(|(flag, _)| flag.starts_with('-'))
            .map_or(argument.as_str(), |(_, value)| value);
        let looks_like_path = value.starts_with('/')
            || value.starts_with("./")
            || value.starts_with("../")
            || (value.contains('/')
                && !value.starts_with('-')
                && !value.starts_with('@')
                && !value.contains("://"));
        if !looks_like_path {
            continue;
        }
        consider(argument, &plan.cwd.join(value));
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn p(text: &str) -> PathBuf {
        PathBuf::from(text)
    }

    fn mounts() -> Vec<Mount> {
        vec![
            Mount::Bind {
                path: p("/usr"),
                writable: false,
            },
            Mount::Tmpfs {
                path: p("/home/me"),
                mode: 0o700,
            },
            Mount::Bind {
                path: p("/home/me/.nvm/versions/node/v22"),
                writable: false,
            },
            Mount::Bind {
                path: p("/home/me/src/project"),
                writable: true,
            },
            Mount::Tmpfs {
                path: p("/tmp"),
                mode: 0o1777,
            },
        ]
    }

    #[test]
    fn the_last_mount_above_a_path_decides() {
        let mounts = mounts();
        assert!(visible(&mounts, Path::new("/usr/bin/node")));
        assert!(visible(&mounts, Path::new("/home/me/src/project/a.txt")));
        assert!(visible(
            &mounts,
            Path::new("/home/me/.nvm/versions/node/v22/bin/node")
        ));
        assert!(!visible(&mounts, Path::new("/home/me/other/server.js")));
        assert!(!visible(&mounts, Path::new("/tmp/server.js")));
        assert!(!visible(&mounts, Path::new("/opt/server/index.js")));
    }

    #[test]
    fn hidden_arguments_name_the_grant_that_shows_them() {
        let plan_argv = [
            "node",
            "/home/me/other/dist/index.js",
            "./local/run.js",
            "/home/me/src/project",
            "--config=/etc/../opt/cfg/app.json",
            "@modelcontextprotocol/server-memory",
            "https://example.com/a",
            "/does/not/exist",
        ];
        let existing = [
            "/usr/bin/node",
            "/home/me/other/dist/index.js",
            "/home/me/work/local/run.js",
            "/home/me/src/project",
            "/opt/cfg/app.json",
        ];
        let resolve = |path: &Path| {
            let normal = crate::fspath::lexical_normalize(path);
            let is_dir = normal == Path::new("/home/me/src/project");
            existing
                .iter()
                .any(|e| Path::new(e) == normal)
                .then_some((normal, is_dir))
        };
        let mut plan_mounts = mounts();
        plan_mounts.push(Mount::Bind {
            path: p("/etc"),
            writable: false,
        });
        let plan = Plan {
            argv: plan_argv.iter().map(|a| a.to_string()).collect(),
            cwd: p("/home/me/work"),
            mounts: plan_mounts,
            ..Plan::default()
        };
        assert_eq!(
            hidden_arguments(&plan, Path::new("/usr/bin/node"), resolve),
            vec![
                Hidden {
                    argument: "/home/me/other/dist/index.js".into(),
                    grant: p("/home/me/other/dist"),
                },
                Hidden {
                    argument: "./local/run.js".into(),
                    grant: p("/home/me/work/local"),
                },
                Hidden {
                    argument: "--config=/etc/../opt/cfg/app.json".into(),
                    grant: p("/opt/cfg"),
                },
            ]
        );
    }
}
