//! The approval prompt on mcpguard's controlling terminal.
//!
//! Owns: whether mcpguard has a terminal to ask on (`/dev/tty` opens), and one prompt at a
//! time on it: the question, then a line read with the choices allow once / allow for
//! this session / deny. The prompt stops as soon as the approval is answered elsewhere,
//! withdrawn or expired (its `closed` flag), so the terminal is never left waiting for a
//! question that no longer stands. Runs on a blocking thread.

use super::{Choice, Scope};
use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One prompt at a time: two questions on one terminal would take each other's answers.
static PROMPT: Mutex<()> = Mutex::new(());

fn open_tty() -> Option<OwnedFd> {
    open(
        "/dev/tty",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// Whether mcpguard has a controlling terminal to ask on: one that reads lines. A terminal
/// in raw mode belongs to a full-screen program (the agent's own interface): a question
/// there would take its keystrokes and never see an answer.
pub(crate) fn available() -> bool {
    open_tty().is_some_and(|tty| {
        nix::sys::termios::tcgetattr(&tty).is_ok_and(|mode| {
            mode.local_flags
                .contains(nix::sys::termios::LocalFlags::ICANON)
        })
    })
}

/// What a typed line means.
pub(crate) fn read_choice(line: &str) -> Option<Choice> {
    match line.trim().to_ascii_lowercase().as_str() {
        "o" | "once" | "y" | "yes" => Some(Choice::Allow(Scope::Once)),
        "s" | "session" => Some(Choice::Allow(Scope::Session)),
        "d" | "deny" | "n" | "no" => Some(Choice::Deny("denied at mcpguard's terminal".into())),
        _ => None,
    }
}

/// Asks `question` on the terminal until it is answered or `closed` is set; None when
/// there is no terminal, it was closed, or the approval left the table meanwhile.
pub(crate) fn ask(question: &str, closed: &AtomicBool) -> Option<Choice> {
    let _turn = PROMPT.lock().unwrap_or_else(|p| p.into_inner());
    if closed.load(Ordering::SeqCst) {
        return None;
    }
    let tty = open_tty()?;
    let mut out = std::fs::File::from(tty.try_clone().ok()?);
    let _ = write!(
        out,
        "\n{question}\n[o] allow once  [s] allow for this session  [d] deny: "
    );
    let mut typed = Vec::new();
    loop {
        if closed.load(Ordering::SeqCst) {
            let _ = writeln!(out, "\n(answered elsewhere, or no longer waiting)");
            return None;
        }
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(250u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
        let mut byte = [0u8; 256];
        let n = nix::unistd::read(&tty, &mut byte).ok()?;
        if n == 0 {
            return None;
        }
        typed.extend_from_slice(&byte[..n]);
        while let Some(end) = typed.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let line: Vec<u8> = typed.drain(..=end).collect();
            match read_choice(&String::from_utf8_lossy(&line)) {
                Some(choice) => return Some(choice),
                None => {
                    let _ = write!(out, "type o, s or d: ");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn typed_answers() {
        assert_eq!(read_choice("o\n"), Some(Choice::Allow(Scope::Once)));
        assert_eq!(
            read_choice(" Session "),
            Some(Choice::Allow(Scope::Session))
        );
        assert!(matches!(read_choice("d"), Some(Choice::Deny(_))));
        assert_eq!(read_choice("always"), None);
        assert_eq!(read_choice(""), None);
    }
}
