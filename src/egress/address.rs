//! Which resolved addresses the filter refuses unless the allowlist names them.
//!
//! Owns: the list of special ranges — loopback, link-local (cloud metadata lives at
//! 169.254.169.254), private, shared (carrier NAT), multicast, unspecified, broadcast and
//! reserved, the synthetic range the sandbox's name server hands out, and their IPv6
//! counterparts, with IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4) judged as
//! IPv4. The filter adds this machine's own addresses (`local_addresses`). A name that
//! resolves into one of these (DNS rebinding to 127.0.0.1, a metadata alias) is refused.

use crate::sandbox::plan::SYNTHETIC_NETWORK;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The special range `address` lies in, by name; `None` for an ordinary public address.
pub(crate) fn special_range(address: IpAddr) -> Option<&'static str> {
    match address.to_canonical() {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn in_v4(address: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(address) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn special_v4(address: Ipv4Addr) -> Option<&'static str> {
    let (synthetic, synthetic_prefix) = SYNTHETIC_NETWORK;
    let ranges: [([u8; 4], u32, &'static str); 12] = [
        ([0, 0, 0, 0], 8, "unspecified"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([10, 0, 0, 0], 8, "private"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 168, 0, 0], 16, "private"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([100, 64, 0, 0], 10, "shared address space (carrier NAT)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments"),
        (
            [168, 63, 129, 16],
            32,
            "Azure's platform endpoint (cloud metadata)",
        ),
        (
            synthetic.octets(),
            u32::from(synthetic_prefix),
            "mcpguard's synthetic range",
        ),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved or broadcast"),
    ];
    ranges
        .iter()
        .find(|(network, prefix, _)| in_v4(address, *network, *prefix))
        .map(|(_, _, name)| *name)
}

fn special_v6(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    if address.is_unspecified() {
        return Some("unspecified");
    }
    if address.is_loopback() {
        return Some("loopback");
    }
    let o = address.octets();
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d) carry an
    // IPv4 address in their low 32 bits; 6to4 (2002::/16) in bits 16-47.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0, 0] {
        return special_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if segments[0] == 0x2002 {
        return special_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    if segments[..2] == [0x2001, 0] {
        return Some("Teredo tunnel");
    }
    if segments[..3] == [0x64, 0xff9b, 1] {
        return Some("local-use NAT64");
    }
    match segments[0] {
        s if s & 0xfe00 == 0xfc00 => Some("unique-local (private)"),
        s if s & 0xffc0 == 0xfe80 => Some("link-local"),
        s if s & 0xffc0 == 0xfec0 => Some("site-local (private)"),
        s if s & 0xff00 == 0xff00 => Some("multicast"),
        _ => None,
    }
}

/// This machine's own addresses (a public address of its own reaches services bound to
/// every interface, like loopback does).
pub(crate) fn local_addresses() -> Vec<IpAddr> {
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    interfaces
        .filter_map(|interface| {
            let address = interface.address?;
            if let Some(v4) = address.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn range(text: &str) -> Option<&'static str> {
        special_range(text.parse().unwrap())
    }

    #[test]
    fn special_ranges_are_named() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("127.1.2.3", Some("loopback")),
            ("0.0.0.0", Some("unspecified")),
            ("10.20.30.40", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local (cloud metadata)")),
            (
                "100.100.100.200",
                Some("shared address space (carrier NAT)"),
            ),
            ("198.18.0.7", Some("mcpguard's synthetic range")),
            ("198.19.255.255", Some("mcpguard's synthetic range")),
            ("198.20.0.1", None),
            ("224.0.0.251", Some("multicast")),
            ("255.255.255.255", Some("reserved or broadcast")),
            ("203.0.113.80", None),
            ("8.8.8.8", None),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("::ffff:127.0.0.1", Some("loopback")),
            (
                "::ffff:169.254.169.254",
                Some("link-local (cloud metadata)"),
            ),
            ("64:ff9b::a9fe:a9fe", Some("link-local (cloud metadata)")),
            ("64:ff9b::808:808", None),
            ("::7f00:1", Some("loopback")),
            ("2002:a9fe:a9fe::1", Some("link-local (cloud metadata)")),
            ("2002:808:808::1", None),
            ("2001:0:4136:e378::1", Some("Teredo tunnel")),
            ("64:ff9b:1::a", Some("local-use NAT64")),
            (
                "168.63.129.16",
                Some("Azure's platform endpoint (cloud metadata)"),
            ),
            ("fd00::2", Some("unique-local (private)")),
            ("fe80::1", Some("link-local")),
            ("ff02::1", Some("multicast")),
            ("2606:4700::1111", None),
        ];
        let got: Vec<(&str, Option<&str>)> = cases.iter().map(|(a, _)| (*a, range(a))).collect();
        assert_eq!(got, cases.to_vec());
    }
}
