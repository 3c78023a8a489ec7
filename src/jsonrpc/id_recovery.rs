//! Recovering the request id (and role) of a line that could not be parsed whole.
//!
//! Owns: reading the top-level `"id"` and whether a broken line was a request (`"method"`)
//! or a response (`"result"`/`"error"`), from the start of the line (an oversize message
//! keeps only its first and last bytes; a line with one bad byte is not JSON), so that the
//! sender still gets an error for its request instead of silence, and the error goes to the
//! side that is waiting. It is a small tokenizer that tracks nesting and strings; it never
//! guesses: a value it cannot read whole is no id.

use super::message::RequestId;
use serde_json::value::RawValue;

/// What a broken line was, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Request,
    Response,
    Unknown,
}

/// What could be recovered from a broken line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recovered {
    pub(crate) id: Option<RequestId>,
    pub(crate) role: Role,
}

/// Recovers id and role from the first bytes of a line and, for an oversize line whose
/// middle was dropped, from its last bytes (where an `"id"` written last would be).
pub(crate) fn recover(prefix: &[u8], suffix: Option<&[u8]>) -> Recovered {
    let mut found = scan_prefix(prefix);
    if found.id.is_none() {
        found.id = suffix.and_then(trailing_id);
    }
    found
}

/// The top-level `"id"` of the object that `bytes` starts, if it can be read completely.
#[cfg(any(test, fuzzing))]
pub(crate) fn recover_id(bytes: &[u8]) -> Option<RequestId> {
    scan_prefix(bytes).id
}

fn scan_prefix(bytes: &[u8]) -> Recovered {
    let mut found = Recovered {
        id: None,
        role: Role::Unknown,
    };
    let mut depth = 0usize;
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return found;
    }
    // Whether the next string at depth 1 is a key (true) or a value.
    let mut expect_key = false;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = bytes[i] == b'{' && depth == 1;
                i += 1;
            }
            b'}' | b']' => {
                let Some(d) = depth.checked_sub(1) else {
                    return found;
                };
                depth = d;
                i += 1;
            }
            b',' => {
                expect_key = depth == 1;
                i += 1;
            }
            b'"' => {
                let Some(end) = string_end(bytes, i) else {
                    return found;
                };
                if depth == 1 && expect_key {
                    match &bytes[i..=end] {
                        b"\"id\"" if found.id.is_none() => {
                            let colon = skip_ws(bytes, end + 1);
                            if bytes.get(colon) == Some(&b':') {
                                found.id = read_scalar(bytes, skip_ws(bytes, colon + 1));
                            }
                        }
                        b"\"method\"" => found.role = Role::Request,
                        b"\"result\"" | b"\"error\"" => found.role = Role::Response,
                        _ => {}
                    }
                }
                expect_key = false;
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// The id of an object whose last member is `"id": <scalar>`, read from its final bytes.
/// The last `}` of a line closes the top-level object, so the member just before it is a
/// top-level one.
fn trailing_id(suffix: &[u8]) -> Option<RequestId> {
    let mut end = suffix.len();
    while end > 0 && suffix[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if end == 0 || suffix[end - 1] != b'}' {
        return None;
    }
    end -= 1;
    while end > 0 && suffix[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let value_end = end;
    let value_start = if end > 0 && suffix[end - 1] == b'"' {
        let mut i = end - 1;
        loop {
            i = i.checked_sub(1)?;
            if suffix[i] == b'"' {
                let backslashes = suffix[..i]
                    .iter()
                    .rev()
                    .take_while(|b| **b == b'\\')
                    .count();
                if backslashes % 2 == 0 {
                    break i;
                }
            }
        }
    } else {
        let digits = suffix[..end]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        if digits == 0 {
            return None;
        }
        end - digits
    };
    let mut i = value_start;
    while i > 0 && suffix[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    if i == 0 || suffix[i - 1] != b':' {
        return None;
    }
    i -= 1;
    while i > 0 && suffix[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    if i < 4 || &suffix[i - 4..i] != b"\"id\"" {
        return None;
    }
    let mut before = i - 4;
    while before > 0 && suffix[before - 1].is_ascii_whitespace() {
        before -= 1;
    }
    if before == 0 || !matches!(suffix[before - 1], b',' | b'{') {
        return None;
    }
    let text = std::str::from_utf8(&suffix[value_start..value_end]).ok()?;
    RequestId::from_raw(&RawValue::from_string(text.to_owned()).ok()?)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// Index of the closing quote of the string that opens at `open`.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn read_scalar(bytes: &[u8], start: usize) -> Option<RequestId> {
    let end = if bytes.get(start) == Some(&b'"') {
        string_end(bytes, start)? + 1
    } else {
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        // A number cut off by the end of the prefix is not known whole.
        if len == 0 || start + len >= bytes.len() {
            return None;
        }
        start + len
    };
    let text = std::str::from_utf8(&bytes[start..end]).ok()?;
    let raw = RawValue::from_string(text.to_owned()).ok()?;
    RequestId::from_raw(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn num(n: &str) -> Option<RequestId> {
        Some(RequestId::Number(n.into()))
    }

    #[test]
    fn finds_top_level_ids() {
        assert_eq!(
            recover_id(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x"#),
            num("7")
        );
        assert_eq!(
            recover_id(br#"{ "id" : "a\"b", "method""#),
            Some(RequestId::String("a\"b".into()))
        );
        assert_eq!(recover_id(br#"{"jsonrpc":"2.0","id":0,"#), num("0"));
    }

    #[test]
    fn ignores_nested_and_value_positions() {
        assert_eq!(recover_id(br#"{"params":{"id":5},"method":"id","x"#), None);
        assert_eq!(recover_id(br#"{"params":{"id":5},"id":6,"#), num("6"));
        assert_eq!(recover_id(br#"{"a":"id","id":9}"#), num("9"));
    }

    #[test]
    fn refuses_incomplete_values() {
        assert_eq!(recover_id(br#"{"id":12"#), None);
        assert_eq!(recover_id(br#"{"id":"abc"#), None);
        assert_eq!(recover_id(br#"["id",1]"#), None);
        assert_eq!(recover_id(b"\xff{\"id\":1,"), None);
    }

    #[test]
    fn tells_requests_from_responses() {
        assert_eq!(
            recover(br#"{"jsonrpc":"2.0","id":3,"result":{"x":"#, None),
            Recovered {
                id: num("3"),
                role: Role::Response
            }
        );
        assert_eq!(
            recover(br#"{"method":"tools/call","params":{"result":1,"#, None),
            Recovered {
                id: None,
                role: Role::Request
            }
        );
    }

    #[test]
    fn reads_an_id_written_last() {
        let prefix = br#"{"jsonrpc":"2.0","method":"tools/call","params":{"text":"xxxx"#;
        assert_eq!(recover(prefix, Some(br#"xxxx"}},"id":7}"#)).id, num("7"));
        assert_eq!(
            recover(prefix, Some(br#"xx"}}, "id" : "q\"7" }  "#)).id,
            Some(RequestId::String("q\"7".into()))
        );
        assert_eq!(recover(prefix, Some(br#"x","id":7}}"#)).id, None);
        assert_eq!(recover(prefix, Some(br#"x"}},"xid":7}"#)).id, None);
        assert_eq!(recover(prefix, Some(br#"x"}},"id":7"#)).id, None);
    }
}
