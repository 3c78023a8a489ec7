//! Profiles: everything a security team decides about one server, as TOML.

pub mod builtin;
pub mod lint;
pub mod load;
pub mod model;
