//! MCP-level knowledge on top of JSON-RPC: method names, protocol era, tool-call views.

pub(crate) mod capabilities;
pub(crate) mod catalog;
pub(crate) mod era;
pub(crate) mod methods;
pub(crate) mod pins;
pub(crate) mod tool_call;
