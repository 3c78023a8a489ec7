//! Reading where a connection wants to go from its first bytes.
//!
//! Owns: the TLS ClientHello's server name (SNI), the Host header of a plain HTTP request,
//! and the proxy request forms (`CONNECT host:port`, `GET http://host/path`), each from a
//! buffer that may still be incomplete ("need more"). Pure functions over bytes.

use std::net::IpAddr;

/// Largest head read before a connection is judged (a ClientHello with post-quantum key
/// shares is under 2 KiB; request heads are rarely over 8 KiB).
pub const MAX_HEAD: usize = 64 * 1024;

/// What the first bytes of a captured connection say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    NeedMore,
    /// A TLS ClientHello, with its server name when it sends one.
    Tls(Option<String>),
    /// A plain HTTP request, with its Host header (port removed) when it has one.
    Http(Option<String>),
    /// Something else (a database protocol, SSH, …).
    Other,
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes.first() {
        None => Sniffed::NeedMore,
        Some(0x16) => match client_hello(bytes) {
            Hello::NeedMore if bytes.len() < MAX_HEAD => Sniffed::NeedMore,
            Hello::NeedMore | Hello::Invalid => Sniffed::Other,
            Hello::ServerName(name) => Sniffed::Tls(name),
        },
        Some(b) if b.is_ascii_uppercase() => {
            let mut headers = [httparse::EMPTY_HEADER; 96];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(bytes) {
                Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => Sniffed::NeedMore,
                Ok(httparse::Status::Complete(_)) => Sniffed::Http(host_header(&request)),
                _ => Sniffed::Other,
            }
        }
        Some(_) => Sniffed::Other,
    }
}

fn host_header(request: &httparse::Request<'_, '_>) -> Option<String> {
    let value = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))?
        .value;
    let value = std::str::from_utf8(value).ok()?.trim();
    Some(split_authority(value).0.to_owned())
}

/// `host[:port]` or `[v6][:port]` into the host and the port, if written.
pub fn split_authority(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    if authority.parse::<IpAddr>().is_ok() {
        return (authority, None);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()),
        None => (authority, None),
    }
}

enum Hello {
    NeedMore,
    Invalid,
    ServerName(Option<String>),
}

/// Reads the server name of a ClientHello spread over one or more handshake records.
fn client_hello(bytes: &[u8]) -> Hello {
    // Gather the handshake bytes from consecutive records.
    let mut handshake: Vec<u8> = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 5) {
        if header[0] != 0x16 || header[1] != 3 {
            return Hello::Invalid;
        }
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(body) = bytes.get(at + 5..at + 5 + length) else {
            handshake.extend_from_slice(&bytes[(at + 5).min(bytes.len())..]);
            break;
        };
        handshake.extend_from_slice(body);
        at += 5 + length;
        if handshake.len() >= 4 {
            let needed = 4
                + usize::from(handshake[1]) * 65536
                + usize::from(u16::from_be_bytes([handshake[2], handshake[3]]));
            if handshake.len() >= needed {
                break;
            }
        }
    }
    if handshake.len() < 4 {
        return Hello::NeedMore;
    }
    if handshake[0] != 1 {
        return Hello::Invalid;
    }
    let needed = 4
        + usize::from(handshake[1]) * 65536
        + usize::from(u16::from_be_bytes([handshake[2], handshake[3]]));
    if handshake.len() < needed {
        return Hello::NeedMore;
    }
    match server_name(&handshake[4..needed]) {
        Some(name) => Hello::ServerName(name),
        None => Hello::Invalid,
    }
}

/// The server_name extension of a ClientHello body: `Some(None)` when there is none,
/// `None` when the body is malformed.
fn server_name(body: &[u8]) -> Option<Option<String>> {
    let mut reader = Reader { bytes: body, at: 0 };
    reader.skip(2 + 32)?; // version, random
    let session = reader.u8()?;
    reader.skip(usize::from(session))?;
    let suites = reader.u16()?;
    reader.skip(usize::from(suites))?;
    let compression = reader.u8()?;
    reader.skip(usize::from(compression))?;
    if reader.at == body.len() {
        return Some(None);
    }
    let extensions_length = usize::from(reader.u16()?);
    let end = reader.at + extensions_length;
    while reader.at + 4 <= end {
        let kind = reader.u16()?;
        let length = usize::from(reader.u16()?);
        if kind != 0 {
            reader.skip(length)?;
            continue;
        }
        let mut list = Reader {
            bytes: reader.take(length)?,
            at: 0,
        };
        let list_length = usize::from(list.u16()?);
        let list_end = list.at + list_length;
        while list.at < list_end {
            let name_type = list.u8()?;
            let name_length = usize::from(list.u16()?);
            let name = list.take(name_length)?;
            if name_type == 0 {
                let name = std::str::from_utf8(name).ok()?;
                return Some(Some(name.trim_end_matches('.').to_ascii_lowercase()));
            }
        }
        return Some(None);
    }
    Some(None)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// A request to the HTTP proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyRequest {
    NeedMore,
    /// `CONNECT host:port`: a tunnel; `rest` is what followed the head.
    Connect {
        host: String,
        port: u16,
        rest: Vec<u8>,
    },
    /// A plain HTTP request in absolute form, rewritten to origin form with
    /// `Connection: close` (one request per proxied connection), followed by what came
    /// after its head.
    Forward {
        host: String,
        port: u16,
        head: Vec<u8>,
    },
    /// A SOCKS5 greeting (not served: the proxy variables name an HTTP proxy).
    Socks,
    Invalid(String),
}

pub fn proxy_request(bytes: &[u8]) -> ProxyRequest {
    if bytes.first() == Some(&0x05) {
        return ProxyRequest::Socks;
    }
    let mut headers = [httparse::EMPTY_HEADER; 96];
    let mut request = httparse::Request::new(&mut headers);
    let head_length = match request.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => return ProxyRequest::NeedMore,
        Ok(httparse::Status::Partial) => {
            return ProxyRequest::Invalid("request head larger than 64 KiB".into());
        }
        Err(e) => return ProxyRequest::Invalid(format!("not an HTTP request: {e}")),
    };
    let method = request.method.unwrap_or("");
    let target = request.path.unwrap_or("");
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target);
        return match port {
            Some(port) if !host.is_empty() => ProxyRequest::Connect {
                host: host.to_owned(),
                port,
                rest: bytes[head_length..].to_vec(),
            },
            _ => ProxyRequest::Invalid(format!("CONNECT needs host:port, not `{target}`")),
        };
    }
    let Some(after_scheme) = target.strip_prefix("http://") else {
        return ProxyRequest::Invalid(format!(
            "a proxy request names an absolute http:// URL (or uses CONNECT), not `{target}`"
        ));
    };
    let (authority, path) = match after_scheme.find(['/', '?']) {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = split_authority(authority);
    if host.is_empty() {
        return ProxyRequest::Invalid(format!("no host in `{target}`"));
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for header in request.headers.iter() {
        let name = header.name;
        if [
            "connection",
            "proxy-connection",
            "keep-alive",
            "proxy-authorization",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(header.value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    head.extend_from_slice(&bytes[head_length..]);
    ProxyRequest::Forward {
        host: host.to_owned(),
        port: port.unwrap_or(80),
        head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A ClientHello as curl sends it, trimmed to the fields that matter, with `name`.
    fn hello(name: Option<&str>) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(32);
        body.extend_from_slice(&[9; 32]);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
        body.extend_from_slice(&[1, 0]);
        let mut extensions = Vec::new();
        // supported_versions first, so the parser must skip an extension.
        extensions.extend_from_slice(&[0, 43, 0, 3, 2, 3, 4]);
        if let Some(name) = name {
            let n = name.len() as u16;
            extensions.extend_from_slice(&[0, 0]);
            extensions.extend_from_slice(&(n + 5).to_be_bytes());
            extensions.extend_from_slice(&(n + 3).to_be_bytes());
            extensions.push(0);
            extensions.extend_from_slice(&n.to_be_bytes());
            extensions.extend_from_slice(name.as_bytes());
        }
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut handshake = vec![1, 0];
        handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
        handshake.extend_from_slice(&body);
        let mut record = vec![0x16, 3, 1];
        record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        record.extend_from_slice(&handshake);
        record
    }

    #[test]
    fn the_server_name_comes_from_the_client_hello() {
        let bytes = hello(Some("Registry.npmjs.org"));
        assert_eq!(
            sniff(&bytes),
            Sniffed::Tls(Some("registry.npmjs.org".into()))
        );
        assert_eq!(sniff(&hello(None)), Sniffed::Tls(None));
        for cut in [1, 5, 20, bytes.len() - 1] {
            assert_eq!(sniff(&bytes[..cut]), Sniffed::NeedMore, "cut at {cut}");
        }
    }

    #[test]
    fn a_client_hello_split_over_two_records_is_joined() {
        let whole = hello(Some("pypi.org"));
        let handshake = &whole[5..];
        let (a, b) = handshake.split_at(30);
        let mut split = vec![0x16, 3, 1];
        split.extend_from_slice(&(a.len() as u16).to_be_bytes());
        split.extend_from_slice(a);
        split.extend_from_slice(&[0x16, 3, 1]);
        split.extend_from_slice(&(b.len() as u16).to_be_bytes());
        split.extend_from_slice(b);
        assert_eq!(sniff(&split), Sniffed::Tls(Some("pypi.org".into())));
    }

    #[test]
    fn garbage_after_a_tls_byte_is_other() {
        assert_eq!(sniff(&[0x16, 9, 9, 0, 1, 0]), Sniffed::Other);
        let mut bad = hello(Some("x.example"));
        bad[5] = 2; // ServerHello, not ClientHello
        assert_eq!(sniff(&bad), Sniffed::Other);
    }

    #[test]
    fn plain_http_is_judged_by_its_host_header() {
        assert_eq!(
            sniff(b"GET /x HTTP/1.1\r\nHost: API.example.com:8080\r\nAccept: */*\r\n\r\n"),
            Sniffed::Http(Some("API.example.com".into()))
        );
        assert_eq!(sniff(b"GET /x HTTP/1.1\r\nHost: api"), Sniffed::NeedMore);
        assert_eq!(sniff(b"GET / HTTP/1.0\r\n\r\n"), Sniffed::Http(None));
        assert_eq!(sniff(b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), Sniffed::Other);
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.2\r\n"), Sniffed::Other);
    }

    #[test]
    fn proxy_requests_parse_into_tunnels_and_forwards() {
        assert_eq!(
            proxy_request(b"CONNECT registry.npmjs.org:443 HTTP/1.1\r\nHost: registry.npmjs.org:443\r\n\r\n\x16\x03"),
            ProxyRequest::Connect {
                host: "registry.npmjs.org".into(),
                port: 443,
                rest: vec![0x16, 3]
            }
        );
        assert_eq!(
            proxy_request(b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n"),
            ProxyRequest::Connect {
                host: "2001:db8::1".into(),
                port: 8443,
                rest: vec![]
            }
        );
        assert_eq!(
            proxy_request(
                b"POST http://user@api.example.com:8080/v1?q=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
            ),
            ProxyRequest::Forward {
                host: "api.example.com".into(),
                port: 8080,
                head: b"POST /v1?q=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".to_vec()
            }
        );
        assert_eq!(
            proxy_request(b"GET http://example.com HTTP/1.1\r\n\r\n"),
            ProxyRequest::Forward {
                host: "example.com".into(),
                port: 80,
                head: b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec()
            }
        );
        assert_eq!(proxy_request(b"CONNECT exa"), ProxyRequest::NeedMore);
        assert_eq!(proxy_request(&[5, 1, 0]), ProxyRequest::Socks);
        assert!(matches!(
            proxy_request(b"GET /relative HTTP/1.1\r\n\r\n"),
            ProxyRequest::Invalid(_)
        ));
        assert!(matches!(
            proxy_request(b"CONNECT example.com HTTP/1.1\r\n\r\n"),
            ProxyRequest::Invalid(_)
        ));
    }

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_authority("a.example:81"), ("a.example", Some(81)));
        assert_eq!(split_authority("a.example"), ("a.example", None));
        assert_eq!(split_authority("[::1]:80"), ("::1", Some(80)));
        assert_eq!(split_authority("::1"), ("::1", None));
    }
}
