//! The machine's processes as /proc shows them, for tests that check what a session leaves
//! behind (processes, zombies) and what it starts.
//!
//! Owns: the one walk over /proc and the one reading of `/proc/PID/stat`.

use super::PATIENCE;
use std::time::{Duration, Instant};

/// A process's state letter (`R`, `S`, `Z`...) and parent, from its `/proc/PID/stat`. The
/// command name in parentheses may hold spaces and parentheses itself, so the fields are
/// read after its last `)`.
fn state_and_parent(stat: &str) -> (Option<&str>, Option<i32>) {
    let Some(end_of_name) = stat.rfind(')') else {
        return (None, None);
    };
    let mut fields = stat[end_of_name + 1..].split_whitespace();
    let state = fields.next();
    (state, fields.next().and_then(|p| p.parse().ok()))
}

/// Every process id under /proc.
pub(crate) fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process: (pid, state, parent pid).
pub(crate) fn process_table() -> Vec<(i32, String, i32)> {
    pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (state, parent) = state_and_parent(&stat);
            Some((pid, state?.to_string(), parent?))
        })
        .collect()
}

/// Whether process `pid` is gone (no /proc entry, or a zombie about to be collected).
pub(crate) fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => state_and_parent(&stat)
            .0
            .is_some_and(|state| state.starts_with(['Z', 'X'])),
    }
}

/// Waits until `pid` is dead, up to PATIENCE.
pub(crate) fn wait_dead(pid: i32) -> bool {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if is_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Processes whose environment contains `marker` (the test sets it in mcpguard's environment;
/// the server and everything it starts inherit it).
pub(crate) fn processes_with_marker(marker: &str) -> Vec<i32> {
    let needle = marker.as_bytes();
    pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ.split(|b| *b == 0).any(|var| var == needle) && !is_dead(*pid)
            })
        })
        .collect()
}
