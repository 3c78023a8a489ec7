//! The sandbox's name server: every name gets a synthetic address.
//!
//! Owns: the table of synthetic addresses (198.18.0.0/15, one per name asked, stable for the
//! session) and the DNS wire format of the answers. No query ever leaves the machine: the
//! real lookup happens in the filter when a connection to a synthetic address arrives, and
//! only for a name the allowlist permits. That is what lets a client that ignores proxy
//! variables (Node's built-in fetch) be judged by name, and a non-HTTP protocol on a listed
//! port be judged at all. Only single-question A (and ANY) queries get an address; AAAA
//! and every other type get an empty answer (so clients use IPv4); `localhost` names and
//! names that are not valid host names do not exist.
//! The stub is deliberately this small: one question, no compression in questions, no
//! EDNS, which every stub resolver copes with.

use crate::sandbox::plan::{SYNTHETIC_GATEWAY, SYNTHETIC_NETWORK};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// How long a client may cache an answer, in seconds (the table lives as long as the
/// session, so any value is correct; a short one keeps clients asking).
const TTL: u32 = 60;

const TYPE_A: u16 = 1;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;

const RCODE_FORMAT_ERROR: u8 = 1;
const RCODE_SERVER_FAILURE: u8 = 2;
const RCODE_NAME_ERROR: u8 = 3;
const RCODE_NOT_IMPLEMENTED: u8 = 4;

/// Synthetic addresses handed out, both ways.
#[derive(Debug, Default)]
pub(crate) struct SyntheticNames {
    by_name: HashMap<String, Ipv4Addr>,
    by_address: HashMap<Ipv4Addr, String>,
    /// Offset of the next address from the start of the range.
    next: u32,
}

impl SyntheticNames {
    /// The address for `name` (lowercase, no trailing dot), allocated on first use; `None`
    /// when the range is used up.
    pub(crate) fn address_for(&mut self, name: &str) -> Option<Ipv4Addr> {
        if let Some(address) = self.by_name.get(name) {
            return Some(*address);
        }
        let (network, prefix) = SYNTHETIC_NETWORK;
        let size = 1u32 << (32 - u32::from(prefix));
        // Skip the network address and the gateway; stop before the broadcast address.
        let first = u32::from(SYNTHETIC_GATEWAY) - u32::from(network) + 1;
        let offset = first + self.next;
        if offset >= size - 1 {
            return None;
        }
        self.next += 1;
        let address = Ipv4Addr::from(u32::from(network) + offset);
        self.by_name.insert(name.to_owned(), address);
        self.by_address.insert(address, name.to_owned());
        Some(address)
    }

    /// The name a synthetic address was handed out for.
    pub(crate) fn name_of(&self, address: Ipv4Addr) -> Option<&str> {
        self.by_address.get(&address).map(String::as_str)
    }
}

/// A parsed question.
#[derive(Debug, PartialEq, Eq)]
struct Question {
    name: String,
    kind: u16,
    class: u16,
    /// Where the question ends in the query.
    end: usize,
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads the question name starting at byte 12 (labels only; a compression pointer in a
/// question is refused as malformed).
fn question(query: &[u8]) -> Option<Question> {
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let length = usize::from(*query.get(at)?);
        at += 1;
        if length == 0 {
            break;
        }
        if length > 63 {
            return None;
        }
        let label = query.get(at..at + length)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += length;
    }
    let name = labels.join(".");
    if name.len() > 253 {
        return None;
    }
    Some(Question {
        name,
        kind: read_u16(query, at)?,
        class: read_u16(query, at + 2)?,
        end: at + 4,
    })
}

/// The reply to `query`, or `None` when it is not worth one (a response, or too short to
/// carry an id).
pub(crate) fn answer(query: &[u8], names: &mut SyntheticNames) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    let opcode = (query[2] >> 3) & 0x0f;
    let questions = read_u16(query, 4)?;
    let reply = |rcode: u8, question_end: usize, address: Option<Ipv4Addr>| {
        let mut out = Vec::with_capacity(question_end + 16);
        out.extend_from_slice(&query[..2]);
        // QR, the query's opcode and RD; RA.
        out.push(0x80 | (query[2] & 0x79));
        out.push(0x80 | rcode);
        let question_count = u16::from(question_end > 12);
        out.extend_from_slice(&question_count.to_be_bytes());
        out.extend_from_slice(&u16::from(address.is_some()).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&query[12..question_end]);
        if let Some(address) = address {
            out.extend_from_slice(&[0xc0, 12]);
            out.extend_from_slice(&TYPE_A.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&TTL.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&address.octets());
        }
        out
    };
    if opcode != 0 {
        return Some(reply(RCODE_NOT_IMPLEMENTED, 12, None));
    }
    if questions != 1 {
        return Some(reply(RCODE_FORMAT_ERROR, 12, None));
    }
    let Some(question) = question(query) else {
        return Some(reply(RCODE_FORMAT_ERROR, 12, None));
    };
    let end = question.end;
    if question.name == "localhost"
        || question.name.ends_with(".localhost")
        || super::allowlist::valid_name(&question.name).is_err()
    {
        return Some(reply(RCODE_NAME_ERROR, end, None));
    }
    if question.class != CLASS_IN || !matches!(question.kind, TYPE_A | TYPE_ANY) {
        return Some(reply(0, end, None));
    }
    Some(match names.address_for(&question.name) {
        Some(address) => reply(0, end, Some(address)),
        None => reply(RCODE_SERVER_FAILURE, end, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn query(id: u16, name: &str, kind: u16) -> Vec<u8> {
        let mut q = Vec::new();
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&kind.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    #[test]
    fn a_queries_get_one_stable_synthetic_address_per_name() {
        let mut names = SyntheticNames::default();
        let q = query(0xbeef, "Registry.NPMJS.org", TYPE_A);
        let reply = answer(&q, &mut names).unwrap();
        let mut expected = vec![0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        expected.extend_from_slice(&q[12..]);
        expected.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 2]);
        assert_eq!(reply, expected);
        let again = answer(&query(1, "registry.npmjs.org", TYPE_A), &mut names).unwrap();
        assert_eq!(again[again.len() - 4..], [198, 18, 0, 2]);
        let other = answer(&query(2, "pypi.org", TYPE_A), &mut names).unwrap();
        assert_eq!(other[other.len() - 4..], [198, 18, 0, 3]);
        assert_eq!(
            names.name_of(Ipv4Addr::new(198, 18, 0, 2)),
            Some("registry.npmjs.org")
        );
        assert_eq!(names.name_of(Ipv4Addr::new(198, 18, 0, 9)), None);
    }

    #[test]
    fn other_types_get_an_empty_answer_and_localhost_does_not_exist() {
        let mut names = SyntheticNames::default();
        let q = query(7, "example.com", 28);
        let mut expected = vec![0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(&q[12..]);
        assert_eq!(answer(&q, &mut names).unwrap(), expected);
        let q = query(8, "localhost", TYPE_A);
        let reply = answer(&q, &mut names).unwrap();
        assert_eq!(reply[3], 0x83);
        let q = query(8, "x$(id).example", TYPE_A);
        assert_eq!(answer(&q, &mut names).unwrap()[3], 0x83);
        assert_eq!(names.name_of(Ipv4Addr::new(198, 18, 0, 2)), None);
    }

    #[test]
    fn malformed_queries_get_format_errors_and_responses_get_nothing() {
        let mut names = SyntheticNames::default();
        let mut q = query(9, "example.com", TYPE_A);
        q[12] = 0xc0;
        assert_eq!(
            answer(&q, &mut names).unwrap(),
            vec![0, 9, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let mut response = query(9, "example.com", TYPE_A);
        response[2] |= 0x80;
        assert_eq!(answer(&response, &mut names), None);
        assert_eq!(answer(&[0, 1, 2], &mut names), None);
        let truncated = &query(9, "example.com", TYPE_A)[..20];
        assert_eq!(answer(truncated, &mut names).unwrap()[3], 0x81);
    }

    #[test]
    fn the_range_runs_out_with_a_server_failure() {
        let mut names = SyntheticNames {
            next: (1 << 17) - 4,
            ..SyntheticNames::default()
        };
        assert_eq!(
            names.address_for("last.example"),
            Some(Ipv4Addr::new(198, 19, 255, 254))
        );
        assert_eq!(names.address_for("one-too-many.example"), None);
        let reply = answer(&query(3, "again.example", TYPE_A), &mut names).unwrap();
        assert_eq!(reply[3], 0x82);
    }
}
