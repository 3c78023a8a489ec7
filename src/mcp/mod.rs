//! MCP-level knowledge on top of JSON-RPC: method names, protocol era, tool-call views.

pub mod catalog;
pub mod era;
pub mod methods;
pub mod pins;
pub mod tool_call;
