//! The stdio relay between the agent (client) and the MCP server.

pub(crate) mod child;
pub(crate) mod client_to_server;
pub(crate) mod gate;
pub(crate) mod held;
pub(crate) mod pending;
pub(crate) mod process_tree;
pub(crate) mod recording;
pub(crate) mod refuse_start;
pub(crate) mod restart;
pub(crate) mod server;
pub(crate) mod server_stderr;
pub(crate) mod server_to_client;
pub(crate) mod session;
pub(crate) mod shared;
pub(crate) mod stdio;
pub(crate) mod timeout;
pub(crate) mod writer;
