//! The host allowlist (`sandbox.allow-hosts`, `--allow-host`).
//!
//! Owns: parsing entries (`api.example.com`, `*.example.org:443`, `10.0.0.5:5432`,
//! `[2001:db8::1]:443`) with errors that say what to write instead, and matching a
//! destination against them. A name matches exactly; `*.suffix` matches names below the
//! suffix (not the suffix itself); an address matches only when written as that address.
//! An entry without a port allows the web ports, 80 and 443: every other port is named.

use crate::sandbox::plan::{PROXY_PORT, WEB_PORTS};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};

/// Most distinct ports an allowlist may name (each is a listener in the sandbox).
const MAX_PORTS: usize = 64;

/// A destination as the server named it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub(crate) enum Host {
    Name(String),
    Address(IpAddr),
}

impl Host {
    /// A host as a client wrote it, checked: an address, or a valid host name (anything
    /// else is refused before it is judged, logged or suggested back to the user).
    pub(crate) fn checked(text: &str) -> Result<Host, String> {
        match Host::parse(text) {
            Host::Address(address) => Ok(Host::Address(address)),
            Host::Name(name) => valid_name(&name)
                .map(Host::Name)
                .map_err(|e| format!("not a host name: {e}")),
        }
    }

    /// A host as written in a request: lowercased, brackets and a trailing dot dropped,
    /// addresses recognised (IPv4-mapped IPv6 addresses become IPv4).
    pub(crate) fn parse(text: &str) -> Host {
        let trimmed = text.trim();
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(trimmed);
        match unbracketed.parse::<IpAddr>() {
            Ok(address) => Host::Address(address.to_canonical()),
            Err(_) => Host::Name(unbracketed.trim_end_matches('.').to_ascii_lowercase()),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Address(IpAddr::V6(address)) => write!(f, "[{address}]"),
            Host::Address(address) => write!(f, "{address}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Exact(String),
    /// Names strictly below this suffix.
    Below(String),
    Address(IpAddr),
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPattern {
    /// The entry as written, for messages and audit records.
    pub(crate) text: String,
    matcher: Matcher,
    port: Option<u16>,
}

impl HostPattern {
    pub(crate) fn parse(entry: &str) -> Result<HostPattern, String> {
        let text = entry.trim();
        let example = "write a host name with an optional port: \"api.example.com\", \
                       \"*.example.org:443\", \"10.0.0.5:5432\"";
        if text.is_empty() {
            return Err(format!("an empty entry; {example}"));
        }
        if text.contains("://") || text.contains('/') || text.contains('@') {
            return Err(format!("`{text}` is not a host; {example}"));
        }
        let (host, port) = split_port(text).map_err(|e| format!("`{text}`: {e}"))?;
        if port == Some(PROXY_PORT) {
            return Err(format!(
                "`{text}`: port {PROXY_PORT} is the sandbox's own proxy port and cannot be \
                 allowed as a destination"
            ));
        }
        let matcher = if let Ok(address) = host.parse::<IpAddr>() {
            let address = address.to_canonical();
            if let Some(range) = unlistable(address) {
                return Err(format!(
                    "`{text}`: {address} is {range} and cannot be a destination"
                ));
            }
            Matcher::Address(address)
        } else if host == "*" {
            return Err(format!(
                "`{text}` would allow every host; name the hosts, or use network = \"host\" \
                 (--net host) if the server really needs everything"
            ));
        } else if let Some(suffix) = host.strip_prefix("*.") {
            let suffix = valid_name(suffix).map_err(|e| format!("`{text}`: {e}"))?;
            if !suffix.contains('.') {
                return Err(format!(
                    "`{text}` is too broad: it allows every name under a top-level domain; \
                     name a registered domain, such as \"*.example.{suffix}\""
                ));
            }
            Matcher::Below(suffix)
        } else {
            Matcher::Exact(valid_name(host).map_err(|e| format!("`{text}`: {e}"))?)
        };
        Ok(HostPattern {
            text: text.to_owned(),
            matcher,
            port,
        })
    }

    fn port_matches(&self, port: u16) -> bool {
        match self.port {
            Some(allowed) => allowed == port,
            None => WEB_PORTS.contains(&port),
        }
    }

    pub(crate) fn matches(&self, host: &Host, port: u16) -> bool {
        if !self.port_matches(port) {
            return false;
        }
        match (&self.matcher, host) {
            (Matcher::Exact(name), Host::Name(asked)) => name == asked,
            (Matcher::Below(suffix), Host::Name(asked)) => asked
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (Matcher::Address(address), Host::Address(asked)) => address == asked,
            _ => false,
        }
    }
}

/// Splits `host[:port]`, `[v6]:port` and bare IPv6 addresses.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let parse_port = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("`{p}` is not a port (1-65535)")),
            Ok(port) => Ok(port),
        }
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address opened with `[` must close with `]`")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((address, Some(parse_port(port)?))),
            None if after.is_empty() => Ok((address, None)),
            None => Err(format!("unexpected `{after}` after the address")),
        };
    }
    match text.matches(':').count() {
        0 => Ok((text, None)),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            Ok((host, Some(parse_port(port)?)))
        }
        _ => Ok((text, None)),
    }
}

/// Why `address` can never be listed: it is no single destination, or it is the range the
/// sandbox's own name server hands out.
fn unlistable(address: IpAddr) -> Option<&'static str> {
    match super::address::special_range(address) {
        Some(range @ ("unspecified" | "multicast" | "reserved or broadcast")) => Some(range),
        Some(range @ "mcpguard's synthetic range") => Some(range),
        _ => None,
    }
}

/// A host name in canonical form, or why it is not one.
pub(crate) fn valid_name(name: &str) -> Result<String, String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if !name.is_ascii() {
        return Err("write international names in their ASCII (xn--) form".into());
    }
    if name.len() > 253 || name.is_empty() {
        return Err("a host name has 1 to 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "`{label}` is not a valid label (letters, digits, `-`, `_`; `*` only as the \
                 whole first label)"
            ));
        }
    }
    Ok(name)
}

/// The allowlist of a session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Allowlist {
    patterns: Vec<HostPattern>,
}

impl Allowlist {
    /// Parses every entry; the first bad one is the error, naming the entry.
    pub(crate) fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Allowlist, String> {
        let mut patterns: Vec<HostPattern> = Vec::new();
        for entry in entries {
            let pattern = HostPattern::parse(entry.as_ref())?;
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        let list = Allowlist { patterns };
        if list.capture_ports().len() > MAX_PORTS {
            return Err(format!(
                "the allowlist names more than {MAX_PORTS} distinct ports"
            ));
        }
        Ok(list)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.text.as_str())
    }

    /// The entry that allows `host:port`, if any.
    pub(crate) fn permits(&self, host: &Host, port: u16) -> Option<&HostPattern> {
        self.patterns.iter().find(|p| p.matches(host, port))
    }

    /// Whether an entry names `address` itself on `port`: the only way an address in a
    /// private, loopback or link-local range becomes reachable (through a name that
    /// resolves to it, too).
    pub(crate) fn names_address(&self, address: IpAddr, port: u16) -> bool {
        self.permits(&Host::Address(address.to_canonical()), port)
            .is_some()
    }

    /// The TCP ports captured in the sandbox: the web ports and every port an entry names.
    pub(crate) fn capture_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = WEB_PORTS.to_vec();
        ports.extend(self.patterns.iter().filter_map(|p| p.port));
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// IPv4 addresses entries name, captured in the sandbox like the synthetic range.
    pub(crate) fn captured_addresses(&self) -> Vec<Ipv4Addr> {
        let mut addresses: Vec<Ipv4Addr> = self
            .patterns
            .iter()
            .filter_map(|p| match p.matcher {
                Matcher::Address(IpAddr::V4(address)) => Some(address),
                _ => None,
            })
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        addresses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn name(text: &str) -> Host {
        Host::Name(text.into())
    }

    #[test]
    fn entries_parse_into_matchers() {
        assert_eq!(
            HostPattern::parse(" API.Example.com. ").map(|p| (p.matcher, p.port)),
            Ok((Matcher::Exact("api.example.com".into()), None))
        );
        assert_eq!(
            HostPattern::parse("*.example.org:443").map(|p| (p.matcher, p.port)),
            Ok((Matcher::Below("example.org".into()), Some(443)))
        );
        assert_eq!(
            HostPattern::parse("10.0.0.5:5432").map(|p| (p.matcher, p.port)),
            Ok((Matcher::Address("10.0.0.5".parse().unwrap()), Some(5432)))
        );
        assert_eq!(
            HostPattern::parse("[2001:db8::1]:8443").map(|p| (p.matcher, p.port)),
            Ok((Matcher::Address("2001:db8::1".parse().unwrap()), Some(8443)))
        );
        assert_eq!(
            HostPattern::parse("2001:db8::1").map(|p| (p.matcher, p.port)),
            Ok((Matcher::Address("2001:db8::1".parse().unwrap()), None))
        );
    }

    #[test]
    fn bad_entries_say_what_to_write() {
        let error = |text: &str| HostPattern::parse(text).unwrap_err();
        assert!(error("https://api.example.com").contains("is not a host"));
        assert!(error("*").contains("every host"));
        assert!(error("*.com").contains("too broad"));
        assert!(error("a.*.example.com").contains("not a valid label"));
        assert!(error("api.example.com:0").contains("not a port"));
        assert!(error("api.example.com:http").contains("not a port"));
        assert!(error("proxy.example.com:3128").contains("own proxy port"));
        assert!(error("bücher.example").contains("xn--"));
        assert!(error("[::1").contains("must close"));
        assert!(error("").contains("empty"));
        assert!(error("0.0.0.0:80").contains("unspecified"));
        assert!(error("[::]:80").contains("unspecified"));
        assert!(error("224.0.0.1").contains("multicast"));
        assert!(error("198.18.0.5:443").contains("synthetic"));
    }

    #[test]
    fn names_match_exactly_or_strictly_below_a_suffix() {
        let list = Allowlist::parse(&["api.example.com", "*.example.org:443"]).unwrap();
        let permits = |host: &str, port: u16| list.permits(&Host::parse(host), port).is_some();
        assert!(permits("api.example.com", 443));
        assert!(permits("API.EXAMPLE.COM.", 80));
        assert!(
            !permits("api.example.com", 8443),
            "no port means 80 and 443"
        );
        assert!(!permits("xapi.example.com", 443));
        assert!(!permits("example.com", 443));
        assert!(permits("cdn.example.org", 443));
        assert!(permits("a.b.example.org", 443));
        assert!(
            !permits("example.org", 443),
            "the suffix itself is not below it"
        );
        assert!(!permits("badexample.org", 443));
        assert!(!permits("cdn.example.org", 80), "the entry names port 443");
        assert!(!permits("cdn.example.org.evil.com", 443));
    }

    #[test]
    fn addresses_match_only_when_written_as_addresses() {
        let list = Allowlist::parse(&["10.0.0.5:5432", "api.example.com"]).unwrap();
        assert!(
            list.permits(&Host::parse("10.0.0.5"), 5432).is_some(),
            "listed address"
        );
        assert!(list.permits(&Host::parse("10.0.0.6"), 5432).is_none());
        assert!(
            list.permits(&Host::parse("::ffff:10.0.0.5"), 5432)
                .is_some(),
            "mapped"
        );
        assert!(list.names_address("10.0.0.5".parse().unwrap(), 5432));
        assert!(
            !list.names_address("10.0.0.5".parse().unwrap(), 443),
            "named for one port only"
        );
        assert!(!list.names_address("127.0.0.1".parse().unwrap(), 5432));
        assert_eq!(list.permits(&name("10.0.0.5.nip.io"), 5432), None);
    }

    #[test]
    fn capture_covers_the_web_ports_and_every_named_port() {
        let list =
            Allowlist::parse(&["a.example.com", "db.example.com:5432", "10.1.2.3:443"]).unwrap();
        assert_eq!(list.capture_ports(), vec![80, 443, 5432]);
        assert_eq!(list.captured_addresses(), vec![Ipv4Addr::new(10, 1, 2, 3)]);
    }

    #[test]
    fn hosts_from_requests_are_checked() {
        assert_eq!(
            Host::checked("API.example.com."),
            Ok(name("api.example.com"))
        );
        assert_eq!(
            Host::checked("[::1]"),
            Ok(Host::Address("::1".parse().unwrap()))
        );
        for bad in ["x$(id).example", "a b", "evil.com@x", "", "a..b"] {
            assert!(Host::checked(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_display_as_written_in_urls() {
        assert_eq!(Host::parse("[::1]").to_string(), "[::1]");
        assert_eq!(Host::parse("Example.COM").to_string(), "example.com");
    }
}
