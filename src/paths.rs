//! The environment mcpguard itself reads. This is the only module that reads environment
//! variables, so what mcpguard depends on is listed in one place.

use std::ffi::OsString;

/// `PATH`, where commands are looked up.
pub fn search_path() -> Option<OsString> {
    std::env::var_os("PATH")
}
