//! The exit status contract (DESIGN.md): the server's own code, 128+N when it died of
//! signal N, 125 when mcpguard itself failed (bad arguments or profile, a sandbox that
//! could not be set up as required), 126 when the command is not executable, 127 when it
//! is not found.
//!
//! Owns: those numbers and the mapping of the server's end to one. Every other module
//! names them from here (the sandbox helper too, which exits with them itself).

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// mcpguard could not do its own job.
pub(crate) const GUARD_FAILED: u8 = 125;
/// The server's command exists but cannot be executed.
pub(crate) const NOT_EXECUTABLE: u8 = 126;
/// The server's command was not found.
pub(crate) const NOT_FOUND: u8 = 127;

/// mcpguard's exit code for the server's exit status: its own code, or 128+N for signal N.
pub(crate) fn of_server(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        // An exit status is 0..=255 on Linux: the cast keeps it.
        return code as u8;
    }
    match status.signal() {
        Some(signal) => (128 + signal) as u8,
        // Neither an exit code nor a signal: nothing the server said; mcpguard cannot tell.
        None => GUARD_FAILED,
    }
}

/// The same code as a process exit status, for `std::process::exit`.
pub(crate) const fn status(code: u8) -> i32 {
    code as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_server_end_follows_the_contract() {
        assert_eq!(of_server(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(of_server(ExitStatus::from_raw(0)), 0);
        assert_eq!(of_server(ExitStatus::from_raw(libc::SIGKILL)), 137);
        assert_eq!(of_server(ExitStatus::from_raw(libc::SIGTERM)), 143);
    }
}
