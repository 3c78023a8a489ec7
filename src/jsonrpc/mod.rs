//! JSON-RPC 2.0 on newline-delimited streams: framing, envelope views, id recovery, replies.

pub(crate) mod content;
pub(crate) mod framing;
pub(crate) mod id_recovery;
pub(crate) mod keys;
pub(crate) mod message;
pub(crate) mod reply;
