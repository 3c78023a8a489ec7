//! Profiles: everything a security team decides about one server, as TOML.

pub(crate) mod builtin;
pub(crate) mod load;
pub(crate) mod model;
