//! Where a connection wants to go: the destination as the server named it, how it reached
//! the filter, and what it claimed about itself on the way.

use super::allowlist::Host;

/// How a connection reached the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    /// Through the HTTP proxy the proxy variables name.
    Proxy,
    /// Captured on its way to a (synthetic or listed) address.
    Capture,
}

impl Via {
    pub(super) fn name(self) -> &'static str {
        match self {
            Via::Proxy => "proxy",
            Via::Capture => "capture",
        }
    }
}

/// Where a connection wants to go, and what it said about it.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(crate) host: Host,
    pub(crate) port: u16,
    pub(crate) via: Via,
    /// The TLS server name or HTTP Host a connection sent.
    pub(crate) claimed: Option<String>,
}

impl Target {
    /// The name the connection was judged by; `None` when judged by address, where no
    /// name can steer it elsewhere at the destination.
    pub(super) fn judged_name(&self) -> Option<&str> {
        match &self.host {
            Host::Name(name) => Some(name),
            Host::Address(_) => None,
        }
    }

    pub(super) fn shown(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
impl Target {
    /// A destination judged by name, as a captured connection to it would be.
    pub(super) fn named(name: &str, port: u16) -> Target {
        Target {
            host: Host::Name(name.into()),
            port,
            via: Via::Capture,
            claimed: None,
        }
    }
}
