//! What never reaches the audit log: secret-looking values and every value mcpguard itself
//! handed the server.
//!
//! Owns: redacting a JSON value before it is recorded: values under keys that name secrets
//! (`Authorization`, `token`, `password`, `api_key`, `cookie`...), strings shaped like
//! credentials (`Bearer …`, GitHub/Slack/OpenAI-style tokens, AWS key ids, JWTs), and any
//! occurrence of an injected value, wherever it appears inside a string.

use serde_json::Value;

pub(crate) const REDACTED: &str = "[redacted]";

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

/// Prefixes of well-known credential formats.
const SECRET_PREFIXES: [&str; 10] = [
    "Bearer ",
    "Basic ",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "sk-",
    "xoxb-",
    "xoxp-",
    "AKIA",
];

#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// Values mcpguard injected (environment values it set or passed); never recorded.
    injected: Vec<String>,
}

impl Redactor {
    /// `injected` values shorter than 4 characters are ignored: redacting "1" or "on"
    /// everywhere would destroy the record and protect nothing.
    pub(crate) fn new(injected: impl IntoIterator<Item = String>) -> Self {
        let mut injected: Vec<String> = injected.into_iter().filter(|v| v.len() >= 4).collect();
        // Longest first, so a value containing another is replaced whole.
        injected.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor { injected }
    }

    pub(crate) fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let hidden = is_secret_key(k) && matches!(v, Value::String(_));
                        (
                            k.clone(),
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

    pub(crate) fn string(&self, text: &str) -> String {
        if looks_like_credential(text) {
            return REDACTED.into();
        }
        let mut out = text.to_owned();
        for secret in &self.injected {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

fn is_secret_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.iter().any(|k| folded.contains(k))
}

fn looks_like_credential(text: &str) -> bool {
    let trimmed = text.trim();
    if SECRET_PREFIXES.iter().any(|p| trimmed.starts_with(p))
        && trimmed.len() >= 12
        && !trimmed.contains(char::is_whitespace)
    {
        return true;
    }
    if let Some(rest) = trimmed
        .strip_prefix("Bearer ")
        .or_else(|| trimmed.strip_prefix("Basic "))
    {
        return !rest.is_empty();
    }
    // A JWT: three base64url parts, the first a JSON header.
    trimmed.starts_with("eyJ")
        && trimmed.split('.').count() == 3
        && trimmed.len() > 30
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn redacts_keys_shapes_and_injected_values() {
        let redactor = Redactor::new(["s3cr3t-value-xyz".to_owned(), "on".to_owned()]);
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
                "headers": {"Authorization": "[redacted]", "X-Api-Key": "[redacted]", "Accept": "json"},
                "text": "use [redacted] please, on time",
                "token_count": 12,
                "note": "[redacted]",
                "jwt": "[redacted]",
                "nested": [{"password": "[redacted]"}],
                "path": "/home/me/src"
            })
        );
    }
}
