//! Minting a short-lived token from a long-lived secret.
//!
//! Owns: running the profile's `mint` command outside the sandbox, with the stored secret
//! on its stdin and nothing of it in its argv or environment, bounded in time and output;
//! its stdout (trimmed) is the token. What it says on stderr is shown only with the secret
//! and the token taken out.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a mint command may take.
const MINT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a token may be.
const MAX_TOKEN: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum MintError {
    #[error("cannot run the mint command `{program}`: {source}")]
    Start {
        program: String,
        source: std::io::Error,
    },
    #[error("the mint command `{program}` {what}{stderr}")]
    Failed {
        program: String,
        what: String,
        stderr: String,
    },
}

/// Runs `argv` with `secret` on stdin; its stdout, without surrounding whitespace, is the
/// token. `scrub` takes the secret out of anything shown.
pub(crate) fn mint(
    argv: &[String],
    secret: &str,
    scrub: &dyn Fn(&str) -> String,
) -> Result<Zeroizing<String>, MintError> {
    let program = argv.first().cloned().unwrap_or_default();
    let failed = |what: String, stderr: &[u8]| {
        let text = String::from_utf8_lossy(stderr);
        let text = text.trim();
        MintError::Failed {
            program: program.clone(),
            what,
            stderr: if text.is_empty() {
                String::new()
            } else {
                format!(
                    "; it said: {}",
                    crate::terminal::escape(&scrub(&text.chars().take(2000).collect::<String>()))
                )
            },
        }
    };
    let mut child = Command::new(&program)
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| MintError::Start {
            program: program.clone(),
            source,
        })?;
    // Both pipes are read on threads of their own, so a command that writes before it has
    // read all of its input cannot deadlock against us.
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut bytes = Zeroizing::new(Vec::new());
            let _ = out.take(MAX_TOKEN as u64 + 1).read_to_end(&mut bytes);
            bytes
        })
    });
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.take(64 * 1024).read_to_end(&mut bytes);
            bytes
        })
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is its own business; its output decides.
        let _ = stdin.write_all(secret.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= MINT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("did not finish within {MINT_TIMEOUT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Err(format!("could not be waited for: {e}")),
        }
    };
    let out = stdout
        .and_then(|t| t.join().ok())
        .unwrap_or_else(|| Zeroizing::new(Vec::new()));
    let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let status = status.map_err(|what| failed(what, &err))?;
    if !status.success() {
        return Err(failed(format!("failed ({status})"), &err));
    }
    if out.len() > MAX_TOKEN {
        return Err(failed(format!("printed more than {MAX_TOKEN} bytes"), &err));
    }
    let Ok(text) = std::str::from_utf8(&out) else {
        return Err(failed("printed something that is not UTF-8".into(), &err));
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(failed("printed no token".into(), &err));
    }
    Ok(Zeroizing::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_token_is_the_trimmed_stdout_and_failures_say_why_without_the_secret() {
        let scrub = |t: &str| t.replace("long-lived", "[REDACTED:gh]");
        let token = mint(
            &argv(&["sh", "-c", "read s; printf ' short-%s\\n' \"${#s}\""]),
            "long-lived",
            &scrub,
        )
        .unwrap();
        assert_eq!(token.as_str(), "short-10");
        let failed = mint(
            &argv(&["sh", "-c", "read s; echo \"bad $s\" >&2; exit 3"]),
            "long-lived",
            &scrub,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            failed,
            "the mint command `sh` failed (exit status: 3); it said: bad [REDACTED:gh]"
        );
        let empty = mint(&argv(&["true"]), "long-lived", &scrub)
            .unwrap_err()
            .to_string();
        assert_eq!(empty, "the mint command `true` printed no token");
    }
}
