//! The environment mcpguard itself reads, and where it keeps its files. This is the only
//! module that reads environment variables, so what mcpguard depends on is listed here:
//! `PATH`, `HOME`, `XDG_RUNTIME_DIR`, `MCPGUARD_HOME` (moves all of mcpguard's own files under one directory,
//! for tests and for people who want them elsewhere), `DBUS_SESSION_BUS_ADDRESS` and
//! `MCPGUARD_SECRET_STORE` (where credentials are kept), `XDG_CONFIG_HOME` and `CODEX_HOME`
//! (where agents keep their configs) and, for the sandbox, the rest of the
//! environment as the set of variables a user may pass through by name.

use std::ffi::OsString;
use std::path::PathBuf;

/// `PATH`, where commands are looked up.
pub(crate) fn search_path() -> Option<OsString> {
    std::env::var_os("PATH")
}

/// The user's home directory.
pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

/// `$XDG_CONFIG_HOME`, else `~/.config`: where desktop agents keep their settings.
pub(crate) fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))
}

/// `$CODEX_HOME`, else `~/.codex`: where Codex keeps its config.
pub(crate) fn codex_home() -> Option<PathBuf> {
    std::env::var_os("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".codex")))
}

/// The whole environment, for the variables the sandbox lets through (non-UTF-8 pairs are
/// skipped: they cannot be named on the command line anyway).
pub(crate) fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Where mcpguard keeps caches (per-server package caches for sandboxed servers).
pub(crate) fn cache_dir() -> Option<PathBuf> {
    if let Some(base) = std::env::var_os("MCPGUARD_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(base).join("cache"));
    }
    directories::ProjectDirs::from("", "", "mcpguard").map(|d| d.cache_dir().to_path_buf())
}

/// Where mcpguard keeps the user's own settings (the approvals answered "always").
pub(crate) fn config_dir() -> Option<PathBuf> {
    if let Some(base) = std::env::var_os("MCPGUARD_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(base).join("config"));
    }
    directories::ProjectDirs::from("", "", "mcpguard").map(|d| d.config_dir().to_path_buf())
}

/// Where running sessions put their approval sockets: `$MCPGUARD_HOME/run`, else
/// `$XDG_RUNTIME_DIR/mcpguard`, else `/run/user/<uid>/mcpguard` when that exists, else
/// `/tmp/mcpguard-<uid>` (whose owner and mode are checked before use).
pub(crate) fn runtime_dir() -> PathBuf {
    if let Some(base) = std::env::var_os("MCPGUARD_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(base).join("run");
    }
    if let Some(base) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(base).join("mcpguard");
    }
    let uid = nix::unistd::getuid().as_raw();
    let per_user = PathBuf::from(format!("/run/user/{uid}"));
    if per_user.is_dir() {
        return per_user.join("mcpguard");
    }
    PathBuf::from(format!("/tmp/mcpguard-{uid}"))
}

/// The session bus the Secret Service would be reached on: `DBUS_SESSION_BUS_ADDRESS`, else
/// the per-user bus socket when one exists.
pub(crate) fn session_bus() -> Option<String> {
    if let Some(address) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Some(address);
    }
    let uid = nix::unistd::getuid().as_raw();
    let socket = PathBuf::from(format!("/run/user/{uid}/bus"));
    socket
        .exists()
        .then(|| format!("unix:path={}", socket.display()))
}

/// `MCPGUARD_SECRET_STORE`: the credential store a user chose (`secret-service`,
/// `keyutils`), when they chose one.
pub(crate) fn secret_store_choice() -> Option<String> {
    std::env::var("MCPGUARD_SECRET_STORE")
        .ok()
        .filter(|v| !v.is_empty())
}

/// What to say when `state_dir` has no answer.
pub(crate) const NO_STATE_DIR: &str = "cannot tell where mcpguard keeps its state (the audit trail, \
     the pins): HOME is not set; set HOME, or set MCPGUARD_HOME to the directory to use";

/// Where mcpguard keeps state (the audit trail).
pub(crate) fn state_dir() -> Option<PathBuf> {
    if let Some(base) = std::env::var_os("MCPGUARD_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(base).join("state"));
    }
    let dirs = directories::ProjectDirs::from("", "", "mcpguard")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}
