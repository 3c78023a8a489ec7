//! Every process the session started, found and killed.
//!
//! Owns: making the supervisor a child subreaper (so that a server's daemonized grandchild,
//! which double-forks and calls setsid to escape its process group, is re-parented to us
//! instead of to init), listing our descendants from /proc, and killing and reaping them.
//! The pid namespace of the sandbox makes this airtight later; this is what works without it.

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::time::Duration;

/// Makes orphaned descendants of this process its children.
pub(crate) fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The parent of every process visible in /proc.
fn parent_map() -> HashMap<i32, i32> {
    let mut parents = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return parents;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = parent_from_stat(&stat) {
            parents.insert(pid, ppid);
        }
    }
    parents
}

/// The ppid field of /proc/PID/stat; the command name before it may contain anything, so
/// the fields are read after its last `)`.
fn parent_from_stat(stat: &str) -> Option<i32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The children of `pid` from /proc/PID/task/*/children, or `None` when the kernel does
/// not provide those files (CONFIG_PROC_CHILDREN).
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let text = match std::fs::read_to_string(task.path().join("children")) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            // The task ended meanwhile.
            Err(_) => continue,
        };
        children.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Some(children)
}

/// All descendants of `root`, parents before children: walked through the children lists
/// when the kernel has them (cost proportional to the tree), else by scanning all of /proc.
pub(crate) fn descendants(root: i32) -> Vec<i32> {
    if let Some(direct) = children_of(root) {
        let mut found = Vec::new();
        let mut queue = direct;
        while let Some(pid) = queue.pop() {
            found.push(pid);
            queue.extend(children_of(pid).unwrap_or_default());
        }
        return found;
    }
    descendants_by_scan(root)
}

fn descendants_by_scan(root: i32) -> Vec<i32> {
    let parents = parent_map();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in &parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// SIGKILLs every descendant of this process, repeating until none is alive so that a
/// process forking meanwhile is caught, and reaps the dead ones except `owned_child`, whose
/// status belongs to the code that spawned it. Returns how many processes were signalled.
pub(crate) fn kill_descendants(owned_child: Option<i32>) -> usize {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..100 {
        let found = descendants(me);
        if found.is_empty() {
            // Nothing alive and nothing to reap (the usual end: the pid namespace took the
            // server's processes with it), without a second walk of /proc.
            return killed;
        }
        let alive: Vec<i32> = found.into_iter().filter(|pid| !is_zombie(*pid)).collect();
        if alive.is_empty() {
            break;
        }
        for pid in &alive {
            if kill(Pid::from_raw(*pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        reap_children_except(owned_child);
        std::thread::sleep(Duration::from_millis(2));
    }
    reap_children_except(owned_child);
    killed
}

/// Reaps our own exited children, leaving `spared` to its owner.
pub(crate) fn reap_children_except(spared: Option<i32>) {
    let me = std::process::id() as i32;
    let children = children_of(me).unwrap_or_else(|| {
        parent_map()
            .into_iter()
            .filter(|(_, parent)| *parent == me)
            .map(|(pid, _)| pid)
            .collect()
    });
    for pid in children {
        if Some(pid) == spared {
            continue;
        }
        // Only processes already dead are collected here; a live one stays for the next round.
        let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rfind(')')
                .map(|i| stat[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn reads_parent_after_a_hostile_command_name() {
        assert_eq!(parent_from_stat("42 (a) b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_from_stat("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parent_from_stat("garbage"), None);
    }
}
