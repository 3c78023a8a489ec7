//! Who may answer: a person, not the agent the session serves nor anything it started, and
//! never the server in its sandbox.
//!
//! Owns: telling, from `/proc`, whether a process that connects to the approval socket (or
//! holds an approver's mark) descends from this mcpguard (the server's sandbox), descends
//! from the agent that started this mcpguard (a shell tool steered by a prompt injection
//! could otherwise run `mcpguard approve ID --allow`), or runs in the agent's terminal
//! session. A person answers from a terminal of their own: another session, not under the
//! agent. This is a line drawn inside one uid, so it is best effort against a process that
//! leaves both (a daemon started through `setsid` and a double fork); every answer records
//! the approver's pid and program, so such an answer is visible in the trail.

use std::path::PathBuf;

/// How far up the parent chain is walked (init is reached long before).
const MAX_DEPTH: usize = 128;

/// This mcpguard's place in the process tree, read once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) own: u32,
    /// The process that started mcpguard: the agent (None when that is init).
    pub(crate) agent: Option<u32>,
    pub(crate) session: u32,
}

/// A process's parent and session, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    let parent = fields.next()?.parse().ok()?;
    let _group = fields.next()?;
    let session = fields.next()?.parse().ok()?;
    Some((parent, session))
}

impl Origin {
    pub(crate) fn of_this_process() -> Origin {
        let own = std::process::id();
        let (parent, session) = stat(own).unwrap_or((0, 0));
        Origin {
            own,
            agent: (parent > 1).then_some(parent),
            session,
        }
    }

    /// Why process `pid` may not answer, if it may not.
    pub(crate) fn refusal(&self, pid: u32) -> Option<String> {
        let Some((_, session)) = stat(pid) else {
            return Some(format!("process {pid} cannot be examined"));
        };
        let mut current = pid;
        for _ in 0..MAX_DEPTH {
            if current == self.own {
                return Some(format!(
                    "process {pid} runs inside this session (the server's sandbox)"
                ));
            }
            if Some(current) == self.agent {
                return Some(format!(
                    "process {pid} was started by the agent this session serves (pid {current}); \
                     answer from a terminal of your own"
                ));
            }
            match stat(current) {
                Some((parent, _)) if parent > 1 && parent != current => current = parent,
                _ => break,
            }
        }
        if session != 0 && session == self.session {
            return Some(format!(
                "process {pid} runs in the agent's own terminal session; answer from a terminal of your own"
            ));
        }
        None
    }
}

/// A process's program, for the record of who answered.
pub(crate) fn program(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_its_children_are_refused_and_strangers_are_not() {
        let origin = Origin::of_this_process();
        assert!(origin.refusal(origin.own).is_some());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let why = origin.refusal(child.id()).unwrap();
        assert!(why.contains("inside this session"), "{why}");
        let _ = child.kill();
        let _ = child.wait();
        // A process that is neither under this one nor under its parent, in another session.
        let stranger = Origin {
            own: u32::MAX - 1,
            agent: Some(u32::MAX - 2),
            session: u32::MAX - 3,
        };
        assert_eq!(stranger.refusal(std::process::id()), None);
        assert!(
            origin.refusal(u32::MAX).is_some(),
            "a process that cannot be read is refused"
        );
    }
}
