//! The egress filter: the only way out of a sandbox in allowlist mode.
//!
//! The server keeps its own empty network namespace. Inside it, PID 1 opens the sockets
//! the filter serves (`sandbox::handoff`) and hands them to the supervisor, which serves
//! them from outside, with the supervisor's network:
//!
//! ```text
//!   server ── HTTP_PROXY=127.0.0.1:3128 ─────────► proxy socket   ┐
//!   server ── getaddrinfo ─► 127.0.0.1:53 ───────► names socket   ├─► filter (supervisor)
//!   server ── connect 198.18.x.y:443 (or :80, ──► capture socket  ┘     │ judge by name,
//!             or a listed port)                                          │ resolve, refuse
//!                                                                        ▼ special ranges
//!                                                                   the allowed host
//! ```
//!
//! A client that ignores the proxy variables still looks names up, gets a synthetic
//! address (`names`), and its connection arrives at a capture socket with that address as
//! the destination: the filter knows the name it was for, checks it against the TLS server
//! name or the HTTP Host header (`sniff`), and judges it like a proxy request. A literal
//! address the allowlist does not name has no route at all.
//!
//! Every decision is an audit record (`network`, and `network.end` with byte counts;
//! repeated refusals of one destination are sampled, with the running count); a refusal is
//! an HTTP 403 where the protocol allows one, and a line on stderr that names the profile
//! key to change.

pub(crate) mod address;
mod admit;
pub(crate) mod allowlist;
pub(crate) mod launchers;
pub(crate) mod names;
mod records;
mod refusal;
mod relay;
mod serve;
pub(crate) mod sniff;
mod target;

pub(crate) use serve::{Filter, start};

use allowlist::Allowlist;
pub(crate) use records::NetworkRecorder;

/// What the filter of one session is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EgressConfig {
    pub(crate) allowlist: Allowlist,
    /// The profile's name, for messages that say where to change the allowlist.
    pub(crate) profile: String,
}

/// Locks `mutex`, taking over from a holder that panicked: the filter's tables stay usable
/// (every update to them is a single insert, remove or increment).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
