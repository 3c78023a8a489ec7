//! Why a connection does not go through, and how that is said to an HTTP client.

/// Why a connection did not go through.
#[derive(Debug)]
pub(super) struct Refusal {
    /// deny (policy) or error (lookup, connect).
    pub(crate) verdict: &'static str,
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// What the user can change, for stderr and the 403 body.
    pub(crate) fix: Option<String>,
    pub(crate) status: u16,
}

impl Refusal {
    pub(super) fn denied(rule: &str, reason: String, fix: Option<String>) -> Refusal {
        Refusal {
            verdict: "deny",
            rule: rule.to_owned(),
            reason,
            fix,
            status: 403,
        }
    }

    /// The client's bytes do not match the name the connection was judged by, or cannot
    /// be read well enough to tell.
    pub(super) fn content(reason: String) -> Refusal {
        Refusal::denied("network.content", reason, None)
    }

    pub(super) fn failed(reason: String) -> Refusal {
        Refusal {
            verdict: "error",
            rule: "network.upstream".to_owned(),
            reason,
            fix: None,
            status: 502,
        }
    }

    pub(super) fn text(&self) -> String {
        match &self.fix {
            Some(fix) => format!("mcpguard: {}; {fix}\n", self.reason),
            None => format!("mcpguard: {}\n", self.reason),
        }
    }
}

pub(super) fn http_reply(status: u16, rule: &str, body: &str) -> Vec<u8> {
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Bad Gateway",
    };
    let rule: String = rule
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         X-Mcpguard-Rule: {rule}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn refusals_are_plain_http_answers_with_the_rule() {
        let refusal = Refusal::denied(
            "sandbox.allow-hosts",
            "evil.example:443 is not in sandbox.allow-hosts of profile default".into(),
            Some("to allow it, pass --allow-host evil.example:443".into()),
        );
        assert_eq!(
            String::from_utf8(http_reply(403, &refusal.rule, &refusal.text())).unwrap(),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n\
             X-Mcpguard-Rule: sandbox.allow-hosts\r\nContent-Length: 125\r\nConnection: close\r\n\r\n\
             mcpguard: evil.example:443 is not in sandbox.allow-hosts of profile default; to allow it, \
             pass --allow-host evil.example:443\n"
        );
    }
}
