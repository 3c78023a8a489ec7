//! The stdio relay between the agent (client) and the MCP server.

pub mod child;
pub mod client_to_server;
pub mod gate;
pub mod pending;
pub mod process_tree;
pub mod recording;
pub(crate) mod server_stderr;
pub mod server_to_client;
pub mod session;
pub mod shared;
pub mod stdio;
pub mod timeout;
pub mod writer;
