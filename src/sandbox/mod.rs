//! The Linux sandbox around the server. No tokio in here: the namespace work happens in a
//! re-executed helper process (`init.rs`), and the rest is pure planning or plain syscalls.
//!
//! `host` gathers what the plan needs to know about this machine; `plan` turns it and the
//! request into a plan (pure); `channels` hands the plan to the helper (`init`), which
//! builds the sandbox from it; the helper's stdin/stdout become the server's.

pub mod cache;
pub mod channels;
pub mod handoff;
pub mod host;
pub mod init;
pub mod landlock;
pub mod limits;
pub mod mounts;
pub mod namespaces;
pub mod network;
pub mod plan;
pub mod privileges;
pub mod probe;
pub mod seccomp;

pub use channels::{Channels, channels};
pub use host::{PlanError, cache_key, check_grants, create_caches, host_facts};
