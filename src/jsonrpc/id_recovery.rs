//! Recovering the request id from a line that could not be parsed whole.
//!
//! Owns: finding the top-level `"id"` of a JSON object in a truncated or otherwise broken
//! line (an oversize message keeps only its first bytes; a line with one bad byte is not
//! JSON), so that the sender still gets an error reply for its request instead of silence.
//! It is a small tokenizer that tracks nesting and strings; it never guesses: a value it
//! cannot read whole is no id.

use super::message::RequestId;
use serde_json::value::RawValue;

/// The top-level `"id"` of the object that `bytes` starts, if it can be read completely.
pub fn recover_id(bytes: &[u8]) -> Option<RequestId> {
    let mut depth = 0usize;
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
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
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b',' => {
                expect_key = depth == 1;
                i += 1;
            }
            b'"' => {
                let end = string_end(bytes, i)?;
                if depth == 1 && expect_key && &bytes[i..=end] == b"\"id\"" {
                    let colon = skip_ws(bytes, end + 1);
                    if bytes.get(colon) != Some(&b':') {
                        return None;
                    }
                    return read_scalar(bytes, skip_ws(bytes, colon + 1));
                }
                expect_key = false;
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    None
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
}
