//! The hash chain: how a record's hash is computed and how a sequence of lines is checked.
//!
//! Owns: `hash = sha256(line without its hash)` (the line holds `prev`, so each hash covers
//! the whole history), and the verification walk that names the first record that does not
//! match: a changed record, a deleted or reordered one (its `prev` or `seq` no longer
//! follows), or a torn line left by a crash mid-write (reported, and the chain checked on
//! from the record before it).

use sha2::{Digest, Sha256};

/// `prev` of the first record of a chain.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

/// The line to write for a record serialized without its hash: the same JSON with
/// `"hash"` appended as the last key.
pub(crate) fn seal(unhashed: &str) -> (String, String) {
    let hash = sha256_hex(unhashed.as_bytes());
    let body = unhashed.strip_suffix('}').unwrap_or(unhashed);
    (format!("{body},\"hash\":\"{hash}\"}}"), hash)
}

/// Splits a sealed line into the hashed text and the stated hash.
pub(crate) fn unseal(line: &str) -> Option<(String, &str)> {
    let start = line.rfind(",\"hash\":\"")?;
    let rest = &line[start + 9..];
    let hash = rest.strip_suffix("\"}")?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((format!("{}}}", &line[..start]), hash))
}

/// One problem found on a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    /// A record whose content, position or link is wrong: the chain is broken here.
    Broken { line: usize, why: String },
    /// A line that is not a record (a write cut short by a crash).
    Torn { line: usize, bytes: usize },
}

/// The head of a chain: the last good record's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// Checks `lines` (numbered from `first_line`) as the continuation of `head`; returns the new
/// head and what was found. Stops at the first broken record.
pub(crate) fn check<'a>(
    head: Head,
    lines: impl Iterator<Item = &'a str>,
    first_line: usize,
) -> (Head, Vec<Finding>) {
    let mut head = head;
    let mut findings = Vec::new();
    for (offset, line) in lines.enumerate() {
        let number = first_line + offset;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Option<serde_json::Value> = serde_json::from_str(line).ok();
        let Some(record) = parsed else {
            findings.push(Finding::Torn {
                line: number,
                bytes: line.len(),
            });
            continue;
        };
        let broken = |why: String| Finding::Broken { line: number, why };
        let Some((hashed, stated)) = unseal(line) else {
            findings.push(broken("the record has no hash as its last field".into()));
            return (head, findings);
        };
        if sha256_hex(hashed.as_bytes()) != stated {
            findings.push(broken(
                "its content does not match its hash (the record was changed)".into(),
            ));
            return (head, findings);
        }
        let seq = record["seq"].as_u64().unwrap_or(0);
        let prev = record["prev"].as_str().unwrap_or("");
        if prev != head.hash {
            findings.push(broken(format!(
                "it does not follow record {} (prev {}…, expected {}…): a record before it was removed, \
                 inserted or reordered",
                head.seq,
                &prev.get(..12).unwrap_or(prev),
                &head.hash[..12]
            )));
            return (head, findings);
        }
        if seq != head.seq + 1 {
            findings.push(broken(format!(
                "its seq is {seq}, expected {}",
                head.seq + 1
            )));
            return (head, findings);
        }
        head = Head {
            seq,
            hash: stated.to_owned(),
        };
    }
    (head, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn chain(n: u64) -> Vec<String> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let (line, hash) = seal(&format!(
                    "{{\"seq\":{seq},\"event\":\"e{seq}\",\"prev\":\"{prev}\"}}"
                ));
                prev = hash;
                line
            })
            .collect()
    }

    #[test]
    fn seal_and_unseal_round_trip() {
        let (line, hash) = seal("{\"a\":1}");
        assert_eq!(unseal(&line), Some(("{\"a\":1}".to_owned(), hash.as_str())));
        assert!(line.ends_with(&format!(",\"hash\":\"{hash}\"}}")));
    }

    #[test]
    fn an_intact_chain_checks_out() {
        let lines = chain(3);
        let (head, findings) = check(Head::default(), lines.iter().map(String::as_str), 1);
        assert_eq!((head.seq, findings), (3, vec![]));
    }

    #[test]
    fn edits_deletions_and_reorderings_are_named() {
        let mut edited = chain(3);
        edited[1] = edited[1].replace("\"e2\"", "\"e9\"");
        assert_eq!(
            check(Head::default(), edited.iter().map(String::as_str), 1).1,
            vec![Finding::Broken {
                line: 2,
                why: "its content does not match its hash (the record was changed)".into()
            }]
        );
        let mut deleted = chain(3);
        deleted.remove(1);
        assert!(matches!(
            &check(Head::default(), deleted.iter().map(String::as_str), 1).1[..],
            [Finding::Broken { line: 2, .. }]
        ));
        let mut reordered = chain(3);
        reordered.swap(1, 2);
        assert!(matches!(
            &check(Head::default(), reordered.iter().map(String::as_str), 1).1[..],
            [Finding::Broken { line: 2, .. }]
        ));
    }

    #[test]
    fn a_torn_line_is_reported_and_the_chain_goes_on() {
        let mut lines = chain(3);
        lines.insert(2, "{\"seq\":3,\"event\":\"cut sho".to_owned());
        let (head, findings) = check(Head::default(), lines.iter().map(String::as_str), 1);
        assert_eq!(findings, vec![Finding::Torn { line: 3, bytes: 25 }]);
        assert_eq!(head.seq, 3);
    }
}
