//! mcpguard: a security guard for local MCP servers. See DESIGN notes in each module header.

mod approval;
mod audit;
mod cli;
mod columns;
mod egress;
mod entry;
mod exit;
mod fspath;
// Only for the cargo-fuzz targets in fuzz/, which build with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;
mod jsonrpc;
mod logging;
mod mcp;
mod paths;
mod policy;
mod private_file;
mod profile;
mod program;
mod proxy;
mod sandbox;
mod secrets;
mod server_name;
mod terminal;
mod units;
mod wrap;

pub use entry::main;

/// What the benches (benches/*.rs) measure on its own, outside a session.
#[doc(hidden)]
pub mod bench {
    pub use crate::audit::record::ProfileRef;
    pub use crate::audit::redact::Redactor;
    pub use crate::audit::{AuditLog, DecisionRef, Injected, PayloadMode};
}
