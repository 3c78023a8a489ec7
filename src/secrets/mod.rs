//! Credentials from the OS keyring for the servers that need them.
//!
//! `store` reaches the keyring (Secret Service or kernel keyutils), `index` keeps what is
//! known about each stored secret (never its value), `mint` turns a long-lived secret into
//! a short-lived token outside the sandbox, and `credentials` fetches what one start of a
//! server gets. Redaction of every value handed over is `audit::redact`'s.

pub(crate) mod credentials;
pub(crate) mod index;
pub(crate) mod mint;
pub(crate) mod store;

/// Makes this process non-dumpable: no core dump, and no ptrace or /proc/<pid>/mem by
/// other processes of the user, while it holds secret values. (Set before anything is
/// read; it stays for the life of the process, which holds them until it ends.)
pub(crate) fn keep_private() {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if result != 0 {
        tracing::warn!(
            "could not make mcpguard non-dumpable ({}); a core dump could hold the secrets",
            std::io::Error::last_os_error()
        );
    }
}
