//! Rendering text that a server or a model controls so that a terminal shows it and does
//! nothing else.
//!
//! Owns: the one escaping rule every command and every diagnostic uses for such text (tool
//! names, server output, audit fields). A terminal acts on control characters: ESC starts
//! sequences that move the cursor, retitle the window, write the clipboard (OSC 52) or
//! answer with keystrokes; CR and LF let a name forge a line of its own; Unicode bidi
//! controls reorder what is shown. So ESC is shown as `\e`, CR as `\r`, LF as `\n`, any
//! other C0 control and DEL as `\xNN`, C1 controls and bidi overrides and isolates as
//! `\u{NNNN}`, and bytes that are not UTF-8 as `\xNN`. Tab stays (harmless, and common in
//! server logs). Everything else, backslashes included, is shown as is.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Pushes the visible form of `c` when it cannot be shown as itself; false when it can.
fn push_visible(c: char, out: &mut String) -> bool {
    match c {
        '\t' => return false,
        '\u{1b}' => out.push_str("\\e"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\0'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_unicode_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        _ => return false,
    }
    true
}

/// C1 controls (8-bit CSI, OSC... in their UTF-8 form) and the bidi formatting characters
/// that reorder the text around them.
fn needs_unicode_escape(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_safe(c: char) -> bool {
    c == '\t' || !(c.is_ascii_control() || needs_unicode_escape(c))
}

/// `text` as a terminal may show it (see the module header for the rule).
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_safe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_escaped(text, &mut out);
    Cow::Owned(out)
}

fn push_escaped(text: &str, out: &mut String) {
    for c in text.chars() {
        if !push_visible(c, out) {
            out.push(c);
        }
    }
}

/// Like `escape`, for bytes that may not be UTF-8 (a server's stderr): each byte of an
/// invalid sequence is shown as `\xNN`.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        push_escaped(chunk.valid(), &mut out);
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Serialized JSON made safe for a terminal without changing its meaning. serde_json
/// already escapes C0 controls inside strings, but passes DEL, C1 controls and bidi
/// overrides through raw; those can only occur inside strings (everything structural in
/// JSON is printable ASCII), where `\uNNNN` means the same character.
pub(crate) fn escape_json(json: &str) -> Cow<'_, str> {
    if json.chars().all(is_safe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if is_safe(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "read_file\tC:\\path ünïcødé ✓";
        assert!(matches!(escape(text), Cow::Borrowed(_)));
        assert_eq!(escape(text), text);
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(
            escape("a\u{1b}]52;c;aGk=\u{7}b\rc\nd\0e\u{7f}f"),
            "a\\e]52;c;aGk=\\x07b\\rc\\nd\\x00e\\x7ff"
        );
    }

    #[test]
    fn c1_controls_and_bidi_overrides_become_visible() {
        assert_eq!(
            escape("x\u{9b}31m \u{202e}txt.exe\u{2066}"),
            "x\\u{9b}31m \\u{202e}txt.exe\\u{2066}"
        );
    }

    #[test]
    fn invalid_utf8_is_shown_byte_by_byte() {
        assert_eq!(
            escape_bytes(b"ok \xff\xfe \x1b[2J \xc3\xa9"),
            "ok \\xff\\xfe \\e[2J é"
        );
    }

    #[test]
    fn json_stays_json_and_means_the_same() {
        let value = serde_json::json!({"name": "a\u{1b}b\u{9b}c\u{202e}d\u{7f}"});
        let json = serde_json::to_string(&value).unwrap();
        let safe = escape_json(&json);
        assert_eq!(safe, "{\"name\":\"a\\u001bb\\u009bc\\u202ed\\u007f\"}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }
}
