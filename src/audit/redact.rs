//! What never reaches the audit log, and which credentials never reach the client.
//!
//! Owns: redacting a JSON value before it is recorded — values under keys that name
//! secrets (`Authorization`, `token`, `password`, `api_key`, `cookie`...), credential
//! shapes found anywhere inside a string (GitHub, `Bearer`/`Basic`, AWS key ids, Slack,
//! `sk-` API keys, JWTs, PEM private keys, passwords in URLs), and every value mcpguard
//! handed the server, in its plain, base64 (also inside a longer base64 text), URL-encoded
//! and JSON-escaped forms — and taking those handed-over values out of what the server
//! sends the client and writes on stderr.
//!
//! Markers: `[REDACTED:<name>]` for a handed-over value (the secret's or variable's name),
//! `[REDACTED:<kind>]` for a shape (`github`, `bearer`, `aws`...), `[REDACTED]` for a value
//! under a secret-naming key. Each marker is safe inside a JSON string.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine;
use regex::{Regex, RegexSet};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a value under a secret-naming key becomes.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// A value mcpguard handed the server, and the name its marker shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub name: String,
    pub value: String,
}

/// Key fragments that mark a value as secret (compared lowercase, `-` and `_` ignored).
const SECRET_KEYS: [&str; 11] = [
    "authorization",
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "cookie",
    "credential",
    "privatekey",
    "sessionid",
    "accesskey",
];

/// Credential shapes: (kind, pattern). A pattern with a group named `secret` replaces only
/// that group (the scheme word or the URL around it stays readable).
const SHAPES: [(&str, &str); 9] = [
    (
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    ),
    (
        // No word boundary before: `my_ghp_…` is a token all the same.
        "github",
        r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    ),
    (
        "bearer",
        r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
    ),
    (
        "basic",
        r"(?i:\bbasic)\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
    ),
    ("aws", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    ("slack", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("api-key", r"\bsk-[A-Za-z0-9_-]{20,}"),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
    ),
    (
        "url-password",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@]+:(?P<secret>[^\s/?#@]+)@",
    ),
];

struct Shapes {
    any: RegexSet,
    each: Vec<(&'static str, Regex)>,
}

/// Compiled once. The patterns are constants checked by the tests below, so compiling
/// them cannot fail at run time.
#[allow(clippy::expect_used)]
static COMPILED: LazyLock<Shapes> = LazyLock::new(|| Shapes {
    any: RegexSet::new(SHAPES.iter().map(|(_, p)| *p)).expect("constant patterns"),
    each: SHAPES
        .iter()
        .map(|(kind, p)| (*kind, Regex::new(p).expect("constant pattern")))
        .collect(),
});

/// The literal every shape starts with (or holds), matched case-insensitively in one pass:
/// most strings hold none, and then no pattern runs at all.
const ANCHORS: [&str; 14] = [
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "bearer",
    "basic",
    "akia",
    "asia",
    "xox",
    "sk-",
    "eyj",
    "private key",
];

/// Compiled once from constants (the tests below run it), so building cannot fail.
#[allow(clippy::expect_used)]
static ANCHORED: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .build(ANCHORS.iter().chain(&["://"]))
        .expect("constant anchors")
});

/// Every handed-over value's forms, found in one pass.
#[derive(Debug, Clone)]
struct Forms {
    finder: AhoCorasick,
    /// The marker of each pattern of `finder`.
    markers: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    forms: Option<Forms>,
    /// The forms could not be compiled: every string is withheld instead.
    withhold_all: bool,
}

/// What every string becomes when the forms could not be compiled.
const WITHHELD: &str = "[REDACTED:all]";

/// Values shorter than this are not redacted: redacting "1" or "on" everywhere would
/// destroy the record and protect nothing.
const SHORTEST: usize = 4;
/// The shortest piece of a value's base64 that is looked for inside a longer base64 text.
const SHORTEST_BASE64_PIECE: usize = 8;

impl Redactor {
    pub fn new(injected: impl IntoIterator<Item = Injected>) -> Self {
        let mut patterns: Vec<(String, String)> = Vec::new();
        for item in injected {
            if item.value.len() < SHORTEST {
                continue;
            }
            let marker = format!("[REDACTED:{}]", item.name);
            for form in forms_of(&item.value) {
                if !patterns.iter().any(|(p, _)| *p == form) {
                    patterns.push((form, marker.clone()));
                }
            }
        }
        if patterns.is_empty() {
            return Redactor::default();
        }
        // Longest first, so a value containing another is replaced whole.
        patterns.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let finder = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns.iter().map(|(p, _)| p.as_bytes()));
        match finder {
            Ok(finder) => Redactor {
                forms: Some(Forms {
                    finder,
                    markers: patterns.into_iter().map(|(_, m)| m).collect(),
                }),
                withhold_all: false,
            },
            Err(e) => {
                // Only a pattern set beyond the automaton's size limits fails; rather than
                // show the values, every string is withheld.
                tracing::error!(
                    "cannot build the redaction of handed-over values ({e}); every string is withheld"
                );
                Redactor {
                    forms: None,
                    withhold_all: true,
                }
            }
        }
    }

    /// Whether any value was handed over.
    pub(crate) fn has_injected(&self) -> bool {
        self.forms.is_some() || self.withhold_all
    }

    /// `value` as it may be recorded.
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let hidden = is_secret_key(k) && matches!(v, Value::String(_));
                        (
                            self.injected(k).into_owned(),
                            if hidden {
                                Value::String(REDACTED.into())
                            } else {
                                self.value(v)
                            },
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// `text` as it may be recorded: handed-over values first (their names are the more
    /// precise marker), then every credential shape.
    pub(crate) fn string(&self, text: &str) -> String {
        let text = self.injected(text);
        shapes(&text).into_owned()
    }

    /// `text` with the handed-over values taken out (diagnostics: the server's stderr).
    pub(crate) fn scrub_injected_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.injected(text)
    }

    /// A line the server sends the client, with every handed-over value taken out of its
    /// strings and keys; `None` when there is nothing to take out (the line goes as it
    /// came). A line with `\u` escapes is decoded first, since a value may hide in them.
    pub fn scrub_injected_line(&self, raw: &[u8]) -> Option<Vec<u8>> {
        if self.withhold_all {
            return match serde_json::from_slice::<Value>(raw) {
                Ok(value) => Some(
                    serde_json::to_vec(&self.injected_in_value(&value))
                        .unwrap_or_else(|_| WITHHELD.as_bytes().to_vec()),
                ),
                Err(_) => Some(WITHHELD.as_bytes().to_vec()),
            };
        }
        let forms = self.forms.as_ref()?;
        // `\u` and `\/` are the two ways JSON can spell a character differently; every
        // other escape is one of the forms looked for.
        let escaped = memchr::memmem::find(raw, b"\\u").is_some()
            || memchr::memmem::find(raw, b"\\/").is_some();
        if !escaped && !forms.finder.is_match(raw) {
            return None;
        }
        if let Ok(value) = serde_json::from_slice::<Value>(raw) {
            let clean = self.injected_in_value(&value);
            if clean != value
                && let Ok(bytes) = serde_json::to_vec(&clean)
            {
                return Some(bytes);
            }
            if !forms.finder.is_match(raw) {
                // Only escapes, and nothing behind them: the line goes as it came.
                return None;
            }
        }
        // Not JSON, or a form the decoded strings do not show (split across the syntax) or
        // that could not be written back: the forms are replaced in the bytes themselves
        // (the markers are JSON-string safe). Never the line as it came.
        let mut out = Vec::with_capacity(raw.len());
        forms
            .finder
            .replace_all_with_bytes(raw, &mut out, |m, _, dst| {
                dst.extend_from_slice(forms.markers[m.pattern().as_usize()].as_bytes());
                true
            });
        (out != raw).then_some(out)
    }

    fn injected_in_value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.injected(s).into_owned()),
            // A value echoed as a number (a PIN, an account number).
            Value::Number(n) => match self.injected(n.as_str()) {
                Cow::Borrowed(_) => value.clone(),
                Cow::Owned(text) => Value::String(text),
            },
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.injected_in_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.injected(k).into_owned(), self.injected_in_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn injected<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.withhold_all && !text.is_empty() {
            return Cow::Borrowed(WITHHELD);
        }
        let Some(forms) = &self.forms else {
            return Cow::Borrowed(text);
        };
        if !forms.finder.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        forms.finder.replace_all_with(text, &mut out, |m, _, dst| {
            dst.push_str(&forms.markers[m.pattern().as_usize()]);
            true
        });
        Cow::Owned(out)
    }
}

/// The forms a handed-over value may take in what a server writes.
fn forms_of(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut forms = vec![value.to_owned()];
    // As a JSON string's contents (a server nesting JSON inside a string), also with every
    // non-ASCII character and `/` escaped, as other encoders write them.
    if let Ok(quoted) = serde_json::to_string(value) {
        let inner = &quoted[1..quoted.len() - 1];
        forms.push(inner.to_owned());
        forms.push(inner.replace('/', "\\/"));
        for upper in [false, true] {
            let mut ascii = String::with_capacity(inner.len() * 2);
            for c in inner.chars() {
                if c.is_ascii() {
                    ascii.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        if upper {
                            ascii.push_str(&format!("\\u{unit:04X}"));
                        } else {
                            ascii.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            forms.push(ascii);
        }
    }
    // Percent-encoded, with either case of hex digits, and `+` for spaces.
    let upper = percent_encode(bytes, true);
    forms.push(upper.clone());
    forms.push(percent_encode(bytes, false));
    forms.push(upper.replace("%20", "+"));
    // base64, alone (both alphabets, padded or not) ...
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        let encoded = engine.encode(bytes);
        forms.push(encoded.trim_end_matches('=').to_owned());
        forms.push(encoded);
    }
    // ... and inside a longer base64 text, at any of the three byte alignments: only the
    // characters that depend on the value alone.
    for offset in 0..3usize {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(bytes);
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&padded);
        // The first characters mix in the filler bytes; the last full group may mix in
        // whatever follows the value.
        let skip = (offset * 8).div_ceil(6);
        let whole_groups = (offset + bytes.len()) / 3 * 4;
        if whole_groups > skip && whole_groups - skip >= SHORTEST_BASE64_PIECE {
            let piece = &encoded[skip..whole_groups];
            forms.push(piece.to_owned());
            forms.push(piece.replace('+', "-").replace('/', "_"));
        }
    }
    forms.retain(|f| f.len() >= SHORTEST);
    forms.sort();
    forms.dedup();
    forms
}

fn percent_encode(bytes: &[u8], upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn is_secret_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.iter().any(|k| folded.contains(k))
}

/// Whether a word after `Bearer`/`Basic` looks like a credential rather than English: it
/// has a digit, base64 padding or symbols, or capitals after its first letter.
fn looks_encoded(word: &str) -> bool {
    word.bytes()
        .any(|b| b.is_ascii_digit() || b"=+/".contains(&b))
        || word.bytes().skip(1).any(|b| b.is_ascii_uppercase())
}

/// Whether a match of `kind` is a credential rather than prose that shares its prefix:
/// generated keys and tokens carry digits (`sk-learn-compatible`, `xoxo-hugs` do not).
fn plausible(kind: &str, found: &str) -> bool {
    match kind {
        "api-key" | "slack" => found.bytes().any(|b| b.is_ascii_digit()),
        _ => true,
    }
}

/// Every credential shape in `text` replaced by its marker.
fn shapes(text: &str) -> Cow<'_, str> {
    if !ANCHORED.is_match(text) {
        return Cow::Borrowed(text);
    }
    let compiled = &*COMPILED;
    let found = compiled.any.matches(text);
    if !found.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for index in found.iter() {
        let (kind, pattern) = &compiled.each[index];
        let marker = format!("[REDACTED:{kind}]");
        out = pattern
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                if !plausible(kind, whole) {
                    return whole.to_owned();
                }
                match caps.name("secret") {
                    // A scheme word followed by an ordinary word ("basic arithmetic") is
                    // prose; a password in a URL is a password whatever it looks like.
                    Some(secret) if *kind != "url-password" && !looks_encoded(secret.as_str()) => {
                        whole.to_owned()
                    }
                    Some(secret) => {
                        let whole = caps.get(0).map_or("", |m| m.as_str());
                        let start = secret.start() - caps.get(0).map_or(0, |m| m.start());
                        format!(
                            "{}{marker}{}",
                            &whole[..start],
                            &whole[start + secret.len()..]
                        )
                    }
                    None => marker.clone(),
                }
            })
            .into_owned();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn named(name: &str, value: &str) -> Injected {
        Injected {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn redacts_keys_shapes_and_injected_values() {
        let redactor = Redactor::new([named("API", "s3cr3t-value-xyz"), named("SHORT", "on")]);
        let input = json!({
            "headers": {"Authorization": "Bearer abc.def", "X-Api-Key": "k1", "Accept": "json"},
            "text": "use s3cr3t-value-xyz please, on time",
            "token_count": 12,
            "note": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature",
            "nested": [{"password": "hunter2"}],
            "path": "/home/me/src"
        });
        assert_eq!(
            redactor.value(&input),
            json!({
                "headers": {"Authorization": "[REDACTED]", "X-Api-Key": "[REDACTED]", "Accept": "json"},
                "text": "use [REDACTED:API] please, on time",
                "token_count": 12,
                "note": "[REDACTED:github]",
                "jwt": "[REDACTED:jwt]",
                "nested": [{"password": "[REDACTED]"}],
                "path": "/home/me/src"
            })
        );
    }

    #[test]
    fn shapes_are_found_inside_sentences() {
        let redactor = Redactor::default();
        let cases = [
            (
                "token ghp_abcdefghijklmnopqrstuvwxyz012345 here",
                "token [REDACTED:github] here",
            ),
            (
                "pat github_pat_11ABCDEFG0123456789_abcdefghij ok",
                "pat [REDACTED:github] ok",
            ),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln and more",
                "Authorization: Bearer [REDACTED:bearer] and more",
            ),
            (
                "header Basic dXNlcjpwYXNzd29yZA== sent",
                "header Basic [REDACTED:basic] sent",
            ),
            ("aws AKIAIOSFODNN7EXAMPLE key", "aws [REDACTED:aws] key"),
            ("temp ASIAABCDEFGHIJKLMNOP.", "temp [REDACTED:aws]."),
            (
                "slack xoxb-1234567890-abcdefghij posted",
                "slack [REDACTED:slack] posted",
            ),
            (
                "key sk-proj-abcdefghijklmnopqrstuvwx1234 used",
                "key [REDACTED:api-key] used",
            ),
            (
                "anthropic sk-ant-api03-abcdefghijklmnopqrst end",
                "anthropic [REDACTED:api-key] end",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature!",
                "jwt [REDACTED:jwt]!",
            ),
            (
                "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\ndone",
                "key:\n[REDACTED:private-key]\ndone",
            ),
            (
                "cut -----BEGIN RSA PRIVATE KEY-----\nMIIE",
                "cut [REDACTED:private-key]",
            ),
            (
                "clone https://alice:hunter2secret@git.example.com/repo.git now",
                "clone https://alice:[REDACTED:url-password]@git.example.com/repo.git now",
            ),
            (
                "db postgres://admin:letmein@db/app",
                "db postgres://admin:[REDACTED:url-password]@db/app",
            ),
            (
                "var my_ghp_abcdefghijklmnopqrstuvwxyz012345",
                "var my_[REDACTED:github]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redactor.string(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let redactor = Redactor::default();
        for text in [
            "a task-list and a sketch",
            "AKIAxyz is too short",
            "ghp_ alone",
            "Bearer",
            "the bearer of bad news",
            "basic arithmetic",
            "Basic arithmetic",
            "Bearer instrument",
            "https://example.com/path?q=1",
            "mailto:someone@example.com",
            "sk-short",
            "pip install sk-learn-compatible-estimators",
            "xoxo-hugs-and-kisses-from-all",
            "bearer authentication-required",
        ] {
            assert_eq!(redactor.string(text), text);
        }
    }

    #[test]
    fn handed_over_values_are_found_in_every_form() {
        let secret = "tok/en+v@lue \"q\" 42";
        let redactor = Redactor::new([named("gh", secret)]);
        let standard = base64::engine::general_purpose::STANDARD.encode(secret);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let inside =
            base64::engine::general_purpose::STANDARD.encode(format!("prefix:{secret}:suffix"));
        let escaped = serde_json::to_string(secret).unwrap();
        let escaped = &escaped[1..escaped.len() - 1];
        for text in [
            secret.to_owned(),
            standard,
            url,
            percent_encode(secret.as_bytes(), true),
            percent_encode(secret.as_bytes(), false),
            escaped.to_owned(),
        ] {
            let shown = redactor.string(&format!("x {text} y"));
            assert_eq!(shown, "x [REDACTED:gh] y", "{text}");
        }
        let shown = redactor.string(&inside);
        assert!(shown.contains("[REDACTED:gh]"), "{inside} -> {shown}");
        assert!(!shown.contains(&inside[12..24]), "{shown}");
    }

    #[test]
    fn the_longest_value_is_replaced_whole() {
        let redactor = Redactor::new([named("SHORT", "abcd1234"), named("LONG", "abcd1234-more")]);
        assert_eq!(
            redactor.string("abcd1234-more and abcd1234"),
            "[REDACTED:LONG] and [REDACTED:SHORT]"
        );
    }

    #[test]
    fn lines_to_the_client_lose_only_handed_over_values() {
        let redactor = Redactor::new([named("gh", "ghp_live_value_0123456789abcdefghij")]);
        let clean = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello ghp_other_but_not_ours_0123456789ab"}]}}"#;
        assert_eq!(redactor.scrub_injected_line(clean), None);
        let dirty = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"token ghp_live_value_0123456789abcdefghij"}]}}"#;
        assert_eq!(
            String::from_utf8(redactor.scrub_injected_line(dirty).unwrap()).unwrap(),
            r#"{"id":1,"jsonrpc":"2.0","result":{"content":[{"text":"token [REDACTED:gh]","type":"text"}]}}"#
        );
        // Hidden behind \u escapes, and in a key.
        let escaped = br#"{"id":2,"result":{"\u0067hp_live_value_0123456789abcdefghij":"x"}}"#;
        assert_eq!(
            String::from_utf8(redactor.scrub_injected_line(escaped).unwrap()).unwrap(),
            r#"{"id":2,"result":{"[REDACTED:gh]":"x"}}"#
        );
        // Not JSON: replaced in the bytes.
        assert_eq!(
            redactor.scrub_injected_line(b"oops ghp_live_value_0123456789abcdefghij"),
            Some(b"oops [REDACTED:gh]".to_vec())
        );
        // Echoed as a number, or behind a `\/` escape.
        let pin = Redactor::new([named("PIN", "48213377"), named("P", "abc/defgh")]);
        assert_eq!(
            String::from_utf8(
                pin.scrub_injected_line(br#"{"pin":48213377,"p":"abc\/defgh"}"#)
                    .unwrap()
            )
            .unwrap(),
            r#"{"p":"[REDACTED:P]","pin":"[REDACTED:PIN]"}"#
        );
        // A value holding non-ASCII, nested as JSON inside a string by an ASCII-only encoder.
        let umlaut = Redactor::new([named("U", "geheim-\u{e4}-0042")]);
        assert_eq!(
            umlaut.string(r#"{"token": "geheim-\u00e4-0042"}"#),
            r#"{"token": "[REDACTED:U]"}"#
        );
        // A value the server splits across two strings is still taken out of the bytes.
        let split = Redactor::new([named("k", "ab\",\"cd12")]);
        assert_eq!(
            split.scrub_injected_line(br#"{"x":["zz-ab","cd12-yy"]}"#),
            Some(br#"{"x":["zz-[REDACTED:k]-yy"]}"#.to_vec())
        );
        assert_eq!(Redactor::new([]).scrub_injected_line(dirty), None);
        assert!(!Redactor::new([named("x", "on")]).has_injected());
    }
}
