//! JSON-RPC 2.0 envelope views over the raw bytes of one line.
//!
//! Owns: classifying a line (request, notification, response, batch), request ids as JSON
//! values (`1` and `"1"` differ, `0` is valid), and nothing else. Only the envelope is parsed:
//! `params`, `result` and `error` stay borrowed raw JSON so that the original bytes can be
//! forwarded unchanged. Duplicate envelope keys are rejected (they have been used to show a
//! guard one `method` and the server another).

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A request id as a JSON value. Numbers are kept in canonical integer form so that the
/// same id written as `1` and `1.0` still matches; strings never match numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RequestId {
    Number(String),
    String(String),
}

impl RequestId {
    /// Reads an id from its raw JSON text; `None` for `null` or a non-scalar.
    pub(crate) fn from_raw(raw: &RawValue) -> Option<Self> {
        let text = raw.get().trim();
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text)
                .ok()
                .map(RequestId::String);
        }
        let number: serde_json::Number = serde_json::from_str(text).ok()?;
        Some(RequestId::Number(canonical_number(&number)))
    }

    /// The id as JSON text, for writing replies.
    pub(crate) fn to_json(&self) -> String {
        match self {
            RequestId::Number(n) => n.clone(),
            RequestId::String(s) => serde_json::Value::String(s.clone()).to_string(),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

fn canonical_number(number: &serde_json::Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
        _ => number.to_string(),
    }
}

/// The envelope fields of one JSON-RPC object, borrowed from the line, and every top-level
/// key as written (repeats included), all read in one pass over the line.
/// Unknown top-level keys are tolerated (and forwarded); repeated known keys are not.
#[derive(Debug, Default)]
struct RawEnvelope<'a> {
    jsonrpc: Option<Cow<'a, str>>,
    id: Option<&'a RawValue>,
    method: Option<Cow<'a, str>>,
    params: Option<&'a RawValue>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
    keys: Vec<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> serde::de::Visitor<'de> for EnvelopeVisitor {
    type Value = RawEnvelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut envelope = RawEnvelope::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            // A repeated envelope key (even after a null) has shown a guard one value and the
            // server another.
            if envelope.keys.contains(&key)
                && ["jsonrpc", "method", "id", "params", "result", "error"].contains(&key.as_ref())
            {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            }
            match key.as_ref() {
                "jsonrpc" => envelope.jsonrpc = map.next_value::<Option<Key<'de>>>()?.map(|k| k.0),
                "method" => envelope.method = map.next_value::<Option<Key<'de>>>()?.map(|k| k.0),
                "id" => envelope.id = map.next_value()?,
                "params" => envelope.params = map.next_value()?,
                "result" => envelope.result = map.next_value()?,
                "error" => envelope.error = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            envelope.keys.push(key);
        }
        Ok(envelope)
    }
}

/// A string borrowed from the line when it holds no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The envelope keys mcpguard reads.
const ENVELOPE_KEYS: &[&str] = &["jsonrpc", "id", "method", "params", "result", "error"];

/// What one JSON-RPC object is.
#[derive(Debug, Clone)]
pub(crate) enum Kind<'a> {
    Request {
        id: RequestId,
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    Notification {
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    /// A result or error; `id` is `None` when it was `null` or missing.
    Response {
        id: Option<RequestId>,
        is_error: bool,
        result: Option<&'a RawValue>,
    },
}

/// Why a line is not an acceptable JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("the line is not valid UTF-8 (byte {valid_up_to} starts an invalid sequence)")]
    InvalidUtf8 { valid_up_to: usize },
    #[error("the line is not valid JSON: {0}")]
    NotJson(String),
    #[error("the line is not a JSON-RPC 2.0 message: {0}")]
    NotJsonRpc(String),
    #[error("the batch is empty")]
    EmptyBatch,
}

/// One element of a batch: its raw text (to rebuild the batch without some elements) and
/// what it is, or why it is not a message.
#[derive(Debug, Clone)]
pub(crate) struct Element<'a> {
    pub(crate) raw: &'a RawValue,
    pub(crate) kind: Result<Kind<'a>, Malformed>,
}

/// One parsed line: a single message or a batch, each element classified on its own.
#[derive(Debug, Clone)]
pub(crate) enum Parsed<'a> {
    Single(Kind<'a>),
    Batch(Vec<Element<'a>>),
}

/// A batch line made of some of the elements of another, in order.
pub(crate) fn batch_line(elements: &[&RawValue]) -> bytes::Bytes {
    let mut line =
        Vec::with_capacity(elements.iter().map(|e| e.get().len() + 1).sum::<usize>() + 2);
    line.push(b'[');
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        line.extend_from_slice(element.get().as_bytes());
    }
    line.extend_from_slice(b"]\n");
    bytes::Bytes::from(line)
}

/// Checks that `line` is UTF-8 and returns it as text without its line ending.
pub(crate) fn line_text(line: &[u8]) -> Result<&str, Malformed> {
    let text = std::str::from_utf8(line).map_err(|e| Malformed::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    Ok(text.trim_end_matches(['\n', '\r']))
}

/// Parses one line (already checked to be UTF-8 by [`line_text`]).
pub(crate) fn parse(text: &str) -> Result<Parsed<'_>, Malformed> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let elements: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| Malformed::NotJson(e.to_string()))?;
        if elements.is_empty() {
            return Err(Malformed::EmptyBatch);
        }
        let elements = elements
            .into_iter()
            .map(|raw| Element {
                raw,
                kind: parse_object(raw.get()),
            })
            .collect();
        return Ok(Parsed::Batch(elements));
    }
    parse_object(text).map(Parsed::Single)
}

fn parse_object(text: &str) -> Result<Kind<'_>, Malformed> {
    let envelope: RawEnvelope<'_> = serde_json::from_str(text).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            Malformed::NotJsonRpc(e.to_string())
        } else {
            Malformed::NotJson(e.to_string())
        }
    })?;
    // Every envelope must mean the same to every parser (see `keys`): a notification with a
    // look-alike `Id` and `Method` is a request to a lenient peer, a response with a
    // look-alike `Result` an answer the guard never read.
    if let Some(problem) = super::keys::shadowing(&envelope.keys, ENVELOPE_KEYS) {
        return Err(Malformed::NotJsonRpc(problem));
    }
    if envelope.jsonrpc.as_deref() != Some("2.0") {
        return Err(Malformed::NotJsonRpc("\"jsonrpc\" must be \"2.0\"".into()));
    }
    let id = envelope.id.and_then(RequestId::from_raw);
    if envelope.id.is_some_and(|raw| raw.get().trim() != "null") && id.is_none() {
        return Err(Malformed::NotJsonRpc(
            "\"id\" must be a string or a number".into(),
        ));
    }
    match (envelope.method, envelope.result, envelope.error) {
        (Some(method), None, None) => Ok(match id {
            Some(id) => Kind::Request {
                id,
                method,
                params: envelope.params,
            },
            None => Kind::Notification {
                method,
                params: envelope.params,
            },
        }),
        (None, Some(result), None) => Ok(Kind::Response {
            id,
            is_error: false,
            result: Some(result),
        }),
        (None, None, Some(_)) => Ok(Kind::Response {
            id,
            is_error: true,
            result: None,
        }),
        _ => Err(Malformed::NotJsonRpc(
            "exactly one of \"method\", \"result\" or \"error\" must be present".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn kind(text: &str) -> Kind<'_> {
        match parse(text).unwrap() {
            Parsed::Single(kind) => kind,
            Parsed::Batch(_) => panic!("unexpected batch"),
        }
    }

    fn num(n: &str) -> RequestId {
        RequestId::Number(n.into())
    }

    #[test]
    fn ids_keep_their_json_type() {
        let raw = |t: &str| RequestId::from_raw(&RawValue::from_string(t.into()).unwrap());
        assert_eq!(raw("1"), Some(num("1")));
        assert_eq!(raw("1.0"), Some(num("1")));
        assert_eq!(raw("0"), Some(num("0")));
        assert_eq!(raw("\"1\""), Some(RequestId::String("1".into())));
        assert_ne!(raw("1"), raw("\"1\""));
        assert_eq!(raw("null"), None);
        assert_eq!(raw("[1]"), None);
        assert_eq!(RequestId::String("a\"b".into()).to_json(), "\"a\\\"b\"");
    }

    #[test]
    fn classifies_requests_notifications_and_responses() {
        match kind(r#"{"jsonrpc":"2.0","id":0,"method":"roots/list"}"#) {
            Kind::Request { id, method, params } => {
                assert_eq!(
                    (id, method.as_ref(), params.is_none()),
                    (num("0"), "roots/list", true)
                );
            }
            other => panic!("{other:?}"),
        }
        match kind(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) {
            Kind::Notification { method, .. } => assert_eq!(method, "notifications/initialized"),
            other => panic!("{other:?}"),
        }
        match kind(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#) {
            Kind::Response {
                id,
                is_error,
                result,
            } => {
                assert_eq!(
                    (id, is_error, result.map(|r| r.get())),
                    (Some(RequestId::String("a".into())), false, Some("{}"))
                );
            }
            other => panic!("{other:?}"),
        }
        match kind(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#) {
            Kind::Response { id, is_error, .. } => assert_eq!((id, is_error), (None, true)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_smuggling_shapes() {
        let err = |t: &str| parse(t).unwrap_err();
        assert!(matches!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}"#),
            Malformed::NotJsonRpc(_)
        ));
        assert!(matches!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}"#),
            Malformed::NotJsonRpc(_)
        ));
        assert!(matches!(
            err(r#"{"jsonrpc":"2.0","id":1}"#),
            Malformed::NotJsonRpc(_)
        ));
        assert!(matches!(
            err(r#"{"id":1,"method":"x"}"#),
            Malformed::NotJsonRpc(_)
        ));
        assert!(matches!(
            err(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            Malformed::NotJsonRpc(_)
        ));
        assert!(matches!(err("this is not json"), Malformed::NotJson(_)));
        assert_eq!(err("[]"), Malformed::EmptyBatch);
        assert_eq!(
            line_text(b"{\xff}\n"),
            Err(Malformed::InvalidUtf8 { valid_up_to: 1 })
        );
    }

    #[test]
    fn batches_are_classified_element_by_element() {
        let text = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#;
        match parse(text).unwrap() {
            Parsed::Batch(elements) => {
                assert_eq!(elements.len(), 2);
                assert!(
                    matches!(&elements[0].kind, Ok(Kind::Request { id, .. }) if *id == num("1"))
                );
                assert!(
                    matches!(&elements[1].kind, Ok(Kind::Notification { method, .. }) if method == "b")
                );
                assert_eq!(
                    batch_line(&[elements[1].raw]),
                    bytes::Bytes::from_static(b"[{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]\n")
                );
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5]"#).unwrap() {
            Parsed::Batch(elements) => {
                assert!(elements[0].kind.is_ok());
                assert_eq!(elements[1].raw.get(), "5");
                assert!(matches!(elements[1].kind, Err(Malformed::NotJsonRpc(_))));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn line_text_strips_crlf() {
        assert_eq!(line_text(b"{}\r\n"), Ok("{}"));
    }
}
