//! JSON-RPC 2.0 on newline-delimited streams: framing, envelope views, id recovery, replies.

pub mod content;
pub mod framing;
pub mod id_recovery;
pub mod keys;
pub mod message;
pub mod reply;
