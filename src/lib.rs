//! mcpguard: a security guard for local MCP servers. See DESIGN notes in each module header.

pub mod audit;
pub mod cli;
pub mod egress;
pub mod fspath;
// Only for the cargo-fuzz targets in fuzz/, which build with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;
pub mod jsonrpc;
pub mod logging;
pub mod mcp;
pub mod paths;
pub mod policy;
pub mod profile;
pub mod proxy;
pub mod sandbox;
pub mod terminal;
pub mod units;
