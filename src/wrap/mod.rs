//! Wrapping the agents' MCP server entries in `mcpguard run`, and unwrapping them: finding
//! the agents' configs (`clients`), reading each format with the spans of its values
//! (`json`, `toml`, `yaml` into `entry`), choosing the options (`plan`), editing spans
//! (`edit`, checked by `change`), starting each wrapped entry once before it is written
//! (`preflight`), writing atomically with a backup (`rewrite`), and remembering what was
//! there for `unwrap` (`record`).

pub(crate) mod change;
pub(crate) mod clients;
pub(crate) mod edit;
pub(crate) mod entry;
pub(crate) mod json;
pub(crate) mod plan;
pub(crate) mod preflight;
pub(crate) mod record;
pub(crate) mod rewrite;
pub(crate) mod toml;
pub(crate) mod vars;
pub(crate) mod yaml;
