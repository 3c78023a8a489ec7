//! Reading where a connection wants to go from its first bytes.
//!
//! Owns: the TLS ClientHello (its server name, and whether it hides the real one in an
//! encrypted ClientHello), the head of a plain HTTP request (target, every Host header,
//! body length) and its rewriting for a single forwarded request, and the proxy request
//! forms (`CONNECT host:port`, `GET http://host/path`), each from a buffer that may still
//! be incomplete ("need more"). Pure functions over bytes. Anything that starts like TLS
//! or HTTP but does not parse is `Malformed`, never passed off as "some other protocol":
//! servers are lenient where this parser is strict, and the difference would be a way
//! around the name check.

use std::net::IpAddr;

/// Largest head read before a connection is judged (a ClientHello with post-quantum key
/// shares is under 2 KiB; request heads are rarely over 8 KiB).
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Most headers a request head may carry.
const MAX_HEADERS: usize = 100;
/// The TLS extensions that carry an encrypted ClientHello (ECH, its drafts 0xfe08-0xfe0d)
/// or an encrypted server name (ESNI, 0xffce), whose inner server name the filter cannot
/// read.
fn hides_the_server(extension: u16) -> bool {
    (0xfe08..=0xfe0d).contains(&extension) || extension == 0xffce
}

/// What the first bytes of a connection say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    NeedMore,
    Tls(ClientHello),
    Http(HttpHead),
    /// Starts like TLS or HTTP but does not parse, or is too large.
    Malformed(String),
    /// Neither TLS nor HTTP (a database protocol, SSH, …).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientHello {
    /// The server_name extension, lowercased, without a trailing dot.
    pub(crate) server_name: Option<String>,
    /// Whether it carries an encrypted ClientHello.
    pub(crate) encrypted: bool,
}

/// A parsed HTTP/1 request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpHead {
    pub(crate) method: String,
    pub(crate) target: String,
    /// The minor version: HTTP/1.0 or HTTP/1.1.
    pub(crate) minor: u8,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// Bytes of the head, blank line included.
    pub(crate) length: usize,
}

impl HttpHead {
    /// Every Host header value, as text (invalid UTF-8 as replacement characters).
    pub(crate) fn hosts(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
            .map(|(_, value)| String::from_utf8_lossy(value).trim().to_owned())
            .collect()
    }

    /// The request body's length; an error for bodies whose end cannot be told from the
    /// head (chunked or other transfer codings, several or invalid Content-Length), and for
    /// a body on a method that has none (a server that ignores it would read it as a second
    /// request).
    pub(crate) fn body_length(&self) -> Result<u64, String> {
        let length = self.declared_length()?;
        let bodiless = ["GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "CONNECT"];
        if length > 0 && bodiless.iter().any(|m| self.method.eq_ignore_ascii_case(m)) {
            return Err(format!(
                "a body on a {} request is not relayed",
                self.method
            ));
        }
        Ok(length)
    }

    fn declared_length(&self) -> Result<u64, String> {
        if self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"))
        {
            return Err(
                "a request body with Transfer-Encoding is not relayed over plain HTTP \
                        (use HTTPS)"
                    .into(),
            );
        }
        let lengths: Vec<&[u8]> = self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map(|(_, value)| value.as_slice())
            .collect();
        match lengths[..] {
            [] => Ok(0),
            [value] if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| "Content-Length out of range".to_owned())
            }
            _ => Err("several or invalid Content-Length headers".into()),
        }
    }

    /// The head forwarded for this request alone: origin-form `path`, `Host: host`, no
    /// hop-by-hop or proxy headers, `Connection: close`.
    pub(crate) fn rebuild(&self, path: &str, host: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {path} HTTP/1.{}\r\nHost: {host}\r\n",
            self.method, self.minor
        )
        .into_bytes();
        for (name, value) in &self.headers {
            let hop = [
                "host",
                "connection",
                "proxy-connection",
                "keep-alive",
                "proxy-authorization",
                "te",
                "upgrade",
            ];
            if hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                continue;
            }
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"Connection: close\r\n\r\n");
        head
    }
}

/// A token character (RFC 9110), what a request method is made of.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// What the first line says about the protocol.
#[derive(Debug, PartialEq, Eq)]
enum FirstLine {
    /// A complete line whose last word is `HTTP/…`: an HTTP/1 request line.
    Http,
    /// Cannot be an HTTP request line (SMTP, Redis, a binary protocol).
    Other,
    NeedMore,
    /// A would-be request line longer than the head limit.
    TooLong,
}

/// Classifies the first line: HTTP exactly when it is a token, whitespace, and a rest of
/// the line with a word that starts with `HTTP/` (in any case). Lenient servers accept lowercase
/// methods and repeated spaces, so those count as HTTP here, and then must parse strictly.
fn first_line(bytes: &[u8]) -> FirstLine {
    let end = memchr::memchr(b'\n', bytes);
    let line = &bytes[..end.unwrap_or(bytes.len())];
    let method = line.iter().take_while(|b| is_token(**b)).count();
    match line.get(method) {
        _ if method == 0 => return FirstLine::Other,
        Some(b' ' | b'\t') => {}
        Some(_) => return FirstLine::Other,
        None if end.is_some() => return FirstLine::Other,
        None if bytes.len() >= MAX_HEAD => return FirstLine::TooLong,
        None => return FirstLine::NeedMore,
    }
    if end.is_none() {
        return if bytes.len() >= MAX_HEAD {
            FirstLine::TooLong
        } else {
            FirstLine::NeedMore
        };
    }
    // Any word naming an HTTP version makes it HTTP (then parsed strictly), so trailing
    // words a lenient server might skip cannot pass it off as another protocol.
    let names_http = line[method..]
        .split(|b| b.is_ascii_whitespace())
        .any(|word| word.len() >= 5 && word[..5].eq_ignore_ascii_case(b"HTTP/"));
    if names_http {
        FirstLine::Http
    } else {
        FirstLine::Other
    }
}

/// Parses an HTTP/1 request head.
fn http_head(bytes: &[u8]) -> Sniffed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => Sniffed::Http(HttpHead {
            method: request.method.unwrap_or_default().to_owned(),
            target: request.path.unwrap_or_default().to_owned(),
            minor: request.version.unwrap_or(1),
            headers: request
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect(),
            length,
        }),
        Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => Sniffed::NeedMore,
        Ok(httparse::Status::Partial) => {
            Sniffed::Malformed(format!("request head larger than {} KiB", MAX_HEAD / 1024))
        }
        Err(e) => Sniffed::Malformed(format!("not a valid HTTP/1 request head: {e}")),
    }
}

pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes.first() {
        None => Sniffed::NeedMore,
        Some(0x16) => match client_hello(bytes) {
            Hello::NeedMore if bytes.len() < MAX_HEAD => Sniffed::NeedMore,
            Hello::NeedMore => Sniffed::Malformed("ClientHello larger than the head limit".into()),
            Hello::Invalid => Sniffed::Malformed("not a valid TLS ClientHello".into()),
            Hello::Parsed(hello) => Sniffed::Tls(hello),
        },
        // Leading blank lines and whitespace are skipped by lenient servers.
        Some(b'\r' | b'\n' | b' ' | b'\t') => {
            Sniffed::Malformed("a request that starts with whitespace".into())
        }
        Some(_) => match first_line(bytes) {
            FirstLine::Http => http_head(bytes),
            FirstLine::Other => Sniffed::Other,
            FirstLine::NeedMore => Sniffed::NeedMore,
            FirstLine::TooLong => {
                Sniffed::Malformed(format!("a first line longer than {} KiB", MAX_HEAD / 1024))
            }
        },
    }
}

/// Whether new bytes from `from` on could change what `sniff` says: a parse is only worth
/// trying on the first bytes, when a TLS head is complete, or when a line has ended, so
/// that a client sending one byte at a time does not make the filter re-read its whole
/// head each time.
pub(crate) fn worth_sniffing(bytes: &[u8], from: usize) -> bool {
    if bytes.len() >= MAX_HEAD || from == 0 {
        return true;
    }
    match bytes.first() {
        None => false,
        Some(0x16) => bytes.len() >= 5 && (bytes[1] != 3 || tls_head_complete(bytes)),
        Some(_) => {
            bytes.len() < 64
                || memchr::memchr(b'\n', &bytes[from.saturating_sub(1).min(bytes.len())..])
                    .is_some()
        }
    }
}

/// Whether the TLS records in `bytes` hold a whole handshake message.
fn tls_head_complete(bytes: &[u8]) -> bool {
    let mut at = 0;
    let mut prefix: Vec<u8> = Vec::with_capacity(4);
    let mut total = 0usize;
    while let Some(header) = bytes.get(at..at + 5) {
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let body = &bytes[at + 5..(at + 5 + length).min(bytes.len())];
        for &byte in body {
            if prefix.len() == 4 {
                break;
            }
            prefix.push(byte);
        }
        total += body.len();
        if let [_, high, mid, low] = prefix[..] {
            let needed =
                4 + (usize::from(high) << 16) + usize::from(u16::from_be_bytes([mid, low]));
            if total >= needed {
                return true;
            }
        }
        if body.len() < length {
            return false;
        }
        at += 5 + length;
    }
    false
}

/// `host[:port]` or `[v6][:port]` into the host and the port, if written; an error for a
/// port that is not 1-65535 in digits.
pub(crate) fn split_authority(authority: &str) -> Result<(&str, Option<u16>), String> {
    let port_of = |text: &str| -> Result<u16, String> {
        match text.parse::<u16>() {
            Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
            _ => Err(format!("`{text}` is not a port")),
        }
    };
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{authority}`: unclosed `[`"))?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port_of(port)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("`{authority}`: unexpected `{after}`")),
        };
    }
    if authority.parse::<IpAddr>().is_ok() {
        return Ok((authority, None));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port_of(port)?))),
        None => Ok((authority, None)),
    }
}

enum Hello {
    NeedMore,
    Invalid,
    Parsed(ClientHello),
}

/// Reads a ClientHello spread over one or more handshake records.
fn client_hello(bytes: &[u8]) -> Hello {
    if bytes.get(1).is_some_and(|version| *version != 3) {
        return Hello::Invalid;
    }
    if !tls_head_complete(bytes) {
        return Hello::NeedMore;
    }
    let mut handshake: Vec<u8> = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 5) {
        if header[0] != 0x16 || header[1] != 3 {
            return Hello::Invalid;
        }
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length == 0 {
            return Hello::Invalid;
        }
        let Some(body) = bytes.get(at + 5..at + 5 + length) else {
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
    if handshake.len() < 4 || handshake[0] != 1 {
        return Hello::Invalid;
    }
    let needed = 4
        + usize::from(handshake[1]) * 65536
        + usize::from(u16::from_be_bytes([handshake[2], handshake[3]]));
    match handshake.get(4..needed).and_then(hello_fields) {
        Some(hello) => Hello::Parsed(hello),
        None => Hello::Invalid,
    }
}

/// The server name and ECH presence of a ClientHello body; `None` when it is malformed.
fn hello_fields(body: &[u8]) -> Option<ClientHello> {
    let mut reader = Reader { bytes: body, at: 0 };
    reader.skip(2 + 32)?; // version, random
    let session = reader.u8()?;
    reader.skip(usize::from(session))?;
    let suites = reader.u16()?;
    reader.skip(usize::from(suites))?;
    let compression = reader.u8()?;
    reader.skip(usize::from(compression))?;
    let mut hello = ClientHello {
        server_name: None,
        encrypted: false,
    };
    if reader.at == body.len() {
        return Some(hello);
    }
    let extensions_length = usize::from(reader.u16()?);
    let mut extensions = Reader {
        bytes: reader.take(extensions_length)?,
        at: 0,
    };
    while extensions.at < extensions.bytes.len() {
        let kind = extensions.u16()?;
        let length = usize::from(extensions.u16()?);
        let data = extensions.take(length)?;
        match kind {
            0 => {
                if hello.server_name.is_some() {
                    return None;
                }
                hello.server_name = Some(server_name(data)?);
            }
            kind if hides_the_server(kind) => hello.encrypted = true,
            _ => {}
        }
    }
    Some(hello)
}

/// The host name in a server_name extension (exactly one, ASCII).
fn server_name(data: &[u8]) -> Option<String> {
    let mut list = Reader { bytes: data, at: 0 };
    let list_length = usize::from(list.u16()?);
    if list_length != data.len() - 2 {
        return None;
    }
    let name_type = list.u8()?;
    let name_length = usize::from(list.u16()?);
    let name = list.take(name_length)?;
    if name_type != 0 || list.at != data.len() || !name.is_ascii() {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    Some(name.trim_end_matches('.').to_ascii_lowercase())
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
pub(crate) enum ProxyRequest {
    NeedMore,
    /// `CONNECT host:port`: a tunnel; `rest` is what followed the head.
    Connect {
        host: String,
        port: u16,
        rest: Vec<u8>,
    },
    /// A plain HTTP request in absolute form, with the origin-form path it asks for and
    /// the bytes after its head.
    Forward {
        host: String,
        port: u16,
        path: String,
        head: HttpHead,
        rest: Vec<u8>,
    },
    /// A SOCKS5 greeting (not served: the proxy variables name an HTTP proxy).
    Socks,
    Invalid(String),
}

/// The origin-form path of what follows an absolute URL's authority: the fragment dropped,
/// `/` when nothing is left, a leading `/` before a bare query.
pub(crate) fn origin_path(after_authority: &str) -> String {
    let path = after_authority
        .split_once('#')
        .map_or(after_authority, |(before, _)| before);
    if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    }
}

pub(crate) fn proxy_request(bytes: &[u8]) -> ProxyRequest {
    if bytes.first() == Some(&0x05) {
        return ProxyRequest::Socks;
    }
    let head = match http_head(bytes) {
        Sniffed::NeedMore => return ProxyRequest::NeedMore,
        Sniffed::Http(head) => head,
        Sniffed::Malformed(why) => return ProxyRequest::Invalid(why),
        _ => return ProxyRequest::Invalid("not an HTTP request".into()),
    };
    let rest = bytes[head.length..].to_vec();
    let target = head.target.clone();
    if head.method.eq_ignore_ascii_case("CONNECT") {
        return match split_authority(&target) {
            Ok((host, Some(port))) if !host.is_empty() => ProxyRequest::Connect {
                host: host.to_owned(),
                port,
                rest,
            },
            Ok(_) => ProxyRequest::Invalid(format!("CONNECT needs host:port, not `{target}`")),
            Err(e) => ProxyRequest::Invalid(format!("CONNECT {e}")),
        };
    }
    let Some(after_scheme) = target
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        return ProxyRequest::Invalid(format!(
            "a proxy request must name an absolute http:// URL (or use CONNECT), not `{target}`"
        ));
    };
    let (authority, path) = match after_scheme.find(['/', '?', '#']) {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, "/"),
    };
    if authority.contains('@') {
        return ProxyRequest::Invalid("credentials in a proxied URL are not relayed".into());
    }
    let (host, port) = match split_authority(authority) {
        Ok((host, port)) if !host.is_empty() => (host, port),
        Ok(_) => return ProxyRequest::Invalid(format!("no host in `{target}`")),
        Err(e) => return ProxyRequest::Invalid(e),
    };
    let path = origin_path(path);
    ProxyRequest::Forward {
        host: host.to_owned(),
        port: port.unwrap_or(80),
        path,
        head,
        rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A ClientHello as curl sends it, trimmed to the fields that matter, with `name`, and
    /// an encrypted ClientHello extension when `ech`.
    fn hello_with(name: Option<&str>, ech: bool) -> Vec<u8> {
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
        if ech {
            extensions.extend_from_slice(&[0xfe, 0x0d, 0, 2, 0, 0]);
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

    fn hello(name: Option<&str>) -> Vec<u8> {
        hello_with(name, false)
    }

    fn tls(name: Option<&str>, encrypted: bool) -> Sniffed {
        Sniffed::Tls(ClientHello {
            server_name: name.map(str::to_owned),
            encrypted,
        })
    }

    #[test]
    fn the_server_name_comes_from_the_client_hello() {
        let bytes = hello(Some("Registry.npmjs.org"));
        assert_eq!(sniff(&bytes), tls(Some("registry.npmjs.org"), false));
        assert_eq!(sniff(&hello(None)), tls(None, false));
        assert_eq!(
            sniff(&hello_with(Some("registry.npmjs.org"), true)),
            tls(Some("registry.npmjs.org"), true)
        );
        for cut in [2, 5, 20, bytes.len() - 1] {
            assert_eq!(sniff(&bytes[..cut]), Sniffed::NeedMore, "cut at {cut}");
            assert!(!worth_sniffing(&bytes[..cut], cut - 1), "cut at {cut}");
        }
        assert!(worth_sniffing(&bytes, bytes.len() - 1));
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
        assert!(!worth_sniffing(&split[..split.len() - 1], split.len() - 2));
        assert_eq!(sniff(&split), tls(Some("pypi.org"), false));
    }

    #[test]
    fn anything_that_starts_like_tls_but_does_not_parse_is_malformed() {
        assert!(matches!(
            sniff(&[0x16, 9, 9, 0, 1, 0]),
            Sniffed::Malformed(_)
        ));
        let mut bad = hello(Some("x.example"));
        bad[5] = 2; // ServerHello, not ClientHello
        assert!(matches!(sniff(&bad), Sniffed::Malformed(_)));
        let mut binary_name = hello(Some("x.example"));
        let at = binary_name.len() - 2;
        binary_name[at] = 0xff;
        assert!(matches!(sniff(&binary_name), Sniffed::Malformed(_)));
    }

    #[test]
    fn plain_http_heads_are_parsed_whole() {
        let Sniffed::Http(head) = sniff(
            b"POST /x HTTP/1.1\r\nHost: API.example.com:8080\r\nContent-Length: 5\r\n\r\nhello",
        ) else {
            panic!("not HTTP")
        };
        assert_eq!(
            head,
            HttpHead {
                method: "POST".into(),
                target: "/x".into(),
                minor: 1,
                headers: vec![
                    ("Host".into(), b"API.example.com:8080".to_vec()),
                    ("Content-Length".into(), b"5".to_vec()),
                ],
                length: 67,
            }
        );
        assert_eq!(head.hosts(), vec!["API.example.com:8080".to_owned()]);
        assert_eq!(head.body_length(), Ok(5));
        assert_eq!(
            head.rebuild("/x", "api.example.com:8080"),
            b"POST /x HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                .to_vec()
        );
        assert_eq!(sniff(b"GET /x HTTP/1.1\r\nHost: api"), Sniffed::NeedMore);
        assert_eq!(sniff(b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), Sniffed::Other);
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.2\r\n"), Sniffed::Other);
        assert_eq!(sniff(b"PING\r\n"), Sniffed::Other);
        // Protocols whose client speaks words: SMTP, Redis inline, AMQP's binary greeting.
        assert_eq!(sniff(b"EHLO mail.example\r\n"), Sniffed::Other);
        assert_eq!(sniff(b"GET key\r\n"), Sniffed::Other);
        assert_eq!(sniff(b"*1\r\n$4\r\nPING\r\n"), Sniffed::Other);
        assert_eq!(sniff(b"AMQP\x00\x00\x09\x01"), Sniffed::Other);
        assert_eq!(sniff(b"GET /partial"), Sniffed::NeedMore);
        // An HTTP/1.0 request keeps its version when rewritten.
        let Sniffed::Http(old) = sniff(b"GET / HTTP/1.0\r\n\r\n") else {
            panic!("not HTTP")
        };
        assert_eq!(
            old.rebuild("/", "a.example"),
            b"GET / HTTP/1.0\r\nHost: a.example\r\nConnection: close\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn what_lenient_servers_accept_is_http_or_malformed_never_another_protocol() {
        let malformed = |bytes: &[u8]| matches!(sniff(bytes), Sniffed::Malformed(_));
        assert!(malformed(
            b"\r\nGET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"
        ));
        assert!(malformed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..120 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"Host: evil.example\r\n\r\n");
        assert!(malformed(&many));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD + 10, b'a');
        assert!(malformed(&huge));
        // Lenient servers take lowercase methods, repeated spaces and very long lines.
        assert!(malformed(b"GET  / HTTP/1.1\r\nHost: evil.example\r\n\r\n"));
        let mut long_line = b"GET /".to_vec();
        long_line.resize(MAX_HEAD, b'a');
        assert!(malformed(&long_line));
        assert!(matches!(
            sniff(b"get / HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
            Sniffed::Http(_)
        ));
        assert!(malformed(
            b"GET / HTTP/1.1 extra\r\nHost: evil.example\r\n\r\n"
        ));
    }

    #[test]
    fn bodies_whose_end_is_unclear_are_refused() {
        let head = |text: &[u8]| match sniff(text) {
            Sniffed::Http(head) => head,
            other => panic!("{other:?}"),
        };
        assert!(
            head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .body_length()
                .is_err()
        );
        assert!(
            head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .body_length()
                .is_err()
        );
        assert!(
            head(b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n")
                .body_length()
                .is_err()
        );
        assert_eq!(head(b"GET / HTTP/1.1\r\n\r\n").body_length(), Ok(0));
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body_length(),
            Ok(0)
        );
        assert!(
            head(b"GET / HTTP/1.1\r\nContent-Length: 40\r\n\r\n")
                .body_length()
                .is_err()
        );
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
        let ProxyRequest::Forward {
            host,
            port,
            path,
            head,
            rest,
        } = proxy_request(
            b"POST http://api.example.com:8080/v1?q=1#frag HTTP/1.1\r\nHost: evil.example\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
        )
        else {
            panic!("not a forward")
        };
        assert_eq!(
            (host.as_str(), port, path.as_str(), rest.as_slice()),
            ("api.example.com", 8080, "/v1?q=1", b"hi".as_slice())
        );
        assert_eq!(
            head.rebuild(&path, "api.example.com:8080"),
            b"POST /v1?q=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 2\r\nConnection: close\r\n\r\n".to_vec()
        );
        assert!(matches!(
            proxy_request(b"GET http://example.com HTTP/1.1\r\n\r\n"),
            ProxyRequest::Forward { port: 80, .. }
        ));
        assert_eq!(proxy_request(b"CONNECT exa"), ProxyRequest::NeedMore);
        assert_eq!(proxy_request(&[5, 1, 0]), ProxyRequest::Socks);
        for invalid in [
            b"GET /relative HTTP/1.1\r\n\r\n".as_slice(),
            b"CONNECT example.com HTTP/1.1\r\n\r\n",
            b"CONNECT example.com:99999 HTTP/1.1\r\n\r\n",
            b"GET http://user@example.com/ HTTP/1.1\r\n\r\n",
            b"GET http://example.com:8o/ HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(proxy_request(invalid), ProxyRequest::Invalid(_)),
                "{}",
                String::from_utf8_lossy(invalid)
            );
        }
    }

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_authority("a.example:81"), Ok(("a.example", Some(81))));
        assert_eq!(split_authority("a.example"), Ok(("a.example", None)));
        assert_eq!(split_authority("[::1]:80"), Ok(("::1", Some(80))));
        assert_eq!(split_authority("::1"), Ok(("::1", None)));
        assert!(split_authority("a.example:0").is_err());
        assert!(split_authority("a.example:").is_err());
    }
}
