//! The Linux sandbox around the server. No tokio in here: the namespace work happens in a
//! helper process (`init.rs`), forked from the still single-threaded supervisor (`fork`)
//! or re-executed, and the rest is pure planning or plain syscalls.
//!
//! `host` gathers what the plan needs to know about this machine; `plan` turns it and the
//! request into a plan (pure); `channels` hands the plan to the helper (`init`), which
//! builds the sandbox from it; the helper's stdin/stdout become the server's.

pub(crate) mod cache;
pub(crate) mod channels;
pub(crate) mod fork;
pub(crate) mod handoff;
pub(crate) mod host;
pub(crate) mod init;
pub(crate) mod landlock;
pub(crate) mod limits;
pub(crate) mod mounts;
pub(crate) mod namespaces;
pub(crate) mod network;
pub(crate) mod plan;
pub(crate) mod privileges;
pub(crate) mod probe;
pub(crate) mod seccomp;
pub(crate) mod visibility;

pub(crate) use channels::{Channels, channels};
pub(crate) use host::{PlanError, check_grants, create_caches, host_facts};
