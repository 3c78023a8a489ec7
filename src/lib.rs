//! mcpguard: a security guard for local MCP servers. See DESIGN notes in each module header.

pub mod audit;
pub mod cli;
pub mod egress;
pub mod exit;
pub mod fspath;
pub mod jsonrpc;
pub mod logging;
pub mod mcp;
pub mod paths;
pub mod policy;
pub mod profile;
pub mod program;
pub mod proxy;
pub mod sandbox;
pub mod terminal;
pub mod units;
