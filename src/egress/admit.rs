//! What of a client's first bytes may go on to the destination it was judged for.
//!
//! Owns: the check of the first bytes against the name a connection was judged by (the TLS
//! server name, with encrypted ClientHellos refused; the HTTP Host and absolute target,
//! one Host only), and the rewriting of a plain HTTP request so that it goes on alone
//! (origin form, the judged Host, `Connection: close`, exactly its body). Pure functions.

use super::allowlist::Host;
use super::refusal::Refusal;
use super::sniff::{self, HttpHead, Sniffed};
use super::target::Target;
use crate::sandbox::plan::WEB_PORTS;

/// What of the client's bytes goes to the destination.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admitted {
    /// These bytes, then everything the client sends.
    Raw(Vec<u8>),
    /// These bytes (a rewritten request head and the start of its body), then exactly
    /// `body_left` more, then nothing: one plain HTTP request per connection.
    Once { bytes: Vec<u8>, body_left: u64 },
}

/// A proxied plain HTTP request, rewritten for its destination: origin form, the URL's
/// authority as Host (whatever Host the client wrote), one request.
pub(super) fn forward_once(
    head: &HttpHead,
    path: &str,
    rest: &[u8],
    target: &Target,
) -> Result<Admitted, Refusal> {
    if head.hosts().len() > 1 {
        return Err(Refusal::content("several Host headers".into()));
    }
    let body = head.body_length().map_err(Refusal::content)?;
    let authority = if target.port == 80 {
        target.host.to_string()
    } else {
        target.shown()
    };
    Ok(once(head.rebuild(path, &authority), rest, body))
}

fn once(mut bytes: Vec<u8>, rest: &[u8], body: u64) -> Admitted {
    let taken = rest.len().min(usize::try_from(body).unwrap_or(usize::MAX));
    bytes.extend_from_slice(&rest[..taken]);
    Admitted::Once {
        bytes,
        body_left: body - taken as u64,
    }
}

/// The authority of an absolute-form request target (`http://host:port/path`) and what
/// follows it, if the target is one.
pub(super) fn absolute_authority(target: &str) -> Option<(&str, &str)> {
    let scheme_end = target.find("://")?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    Some(rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len())))
}

/// Checks the client's first bytes against the name `target` was judged by, and says what
/// of them goes to the destination.
pub(super) fn admit(sniffed: Sniffed, head: &[u8], target: &Target) -> Result<Admitted, Refusal> {
    let Some(name) = target.judged_name() else {
        // Judged by address: the address is the destination, whatever the bytes say.
        return Ok(Admitted::Raw(head.to_vec()));
    };
    let port = target.port;
    let same = |claimed: &str| -> bool {
        match sniff::split_authority(claimed) {
            Ok((host, claimed_port)) => {
                Host::checked(host).is_ok_and(|h| h == Host::Name(name.to_owned()))
                    && claimed_port.is_none_or(|p| p == port)
            }
            Err(_) => false,
        }
    };
    match sniffed {
        Sniffed::Tls(hello) => {
            if hello.encrypted {
                return Err(Refusal::content(format!(
                    "the connection for {name} sent an encrypted ClientHello (ECH), which hides \
                     the server it asks for; it is not relayed (Chromium sends a decoy one by \
                     default: start it with --disable-features=EncryptedClientHello)"
                )));
            }
            match hello.server_name {
                Some(server) if server == name => Ok(Admitted::Raw(head.to_vec())),
                Some(server) => Err(Refusal::content(format!(
                    "the connection was for {name} but its TLS server name is {server:?}"
                ))),
                None => Err(Refusal::content(format!(
                    "the TLS connection for {name} names no server (SNI)"
                ))),
            }
        }
        Sniffed::Http(request) => {
            let hosts = request.hosts();
            if hosts.len() > 1 {
                return Err(Refusal::content("several Host headers".into()));
            }
            let absolute = absolute_authority(&request.target);
            let authorities = absolute.map(|(authority, _)| authority);
            for claimed in hosts.iter().map(String::as_str).chain(authorities) {
                if !same(claimed) {
                    return Err(Refusal::content(format!(
                        "the connection was for {name} but its request names {claimed:?}"
                    )));
                }
            }
            let path = match absolute {
                Some((_, after)) => sniff::origin_path(after),
                None if request.target.starts_with('/') || request.target == "*" => {
                    request.target.clone()
                }
                None => {
                    return Err(Refusal::content(format!(
                        "request target {:?} is neither a path nor an absolute URL",
                        request.target
                    )));
                }
            };
            let body = request.body_length().map_err(Refusal::content)?;
            let authority = if port == 80 {
                name.to_owned()
            } else {
                format!("{name}:{port}")
            };
            Ok(once(
                request.rebuild(&path, &authority),
                &head[request.length..],
                body,
            ))
        }
        Sniffed::Malformed(why) => Err(Refusal::content(format!(
            "the connection for {name}:{port} sent something that is not valid: {why}"
        ))),
        Sniffed::Other if WEB_PORTS.contains(&port) => Err(Refusal::content(format!(
            "the connection for {name}:{port} is neither TLS nor HTTP"
        ))),
        Sniffed::Other | Sniffed::NeedMore => Ok(Admitted::Raw(head.to_vec())),
    }
}

pub(super) fn claimed_of(sniffed: &Sniffed) -> Option<String> {
    match sniffed {
        Sniffed::Tls(hello) => hello.server_name.clone(),
        Sniffed::Http(request) => request.hosts().into_iter().next(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn admitted(bytes: &[u8], target: &Target) -> Result<Admitted, String> {
        admit(sniff::sniff(bytes), bytes, target).map_err(|r| r.reason)
    }

    #[test]
    fn plain_http_is_rewritten_for_the_judged_name_and_forwarded_alone() {
        let api = Target::named("api.example.com", 8080);
        assert_eq!(
            admitted(
                b"POST /v1 HTTP/1.1\r\nHost: API.example.com:8080\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nbodyGET /second HTTP/1.1\r\nHost: evil.example\r\n\r\n",
                &api
            ),
            Ok(Admitted::Once {
                bytes: b"POST /v1 HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody".to_vec(),
                body_left: 0
            })
        );
        assert_eq!(
            admitted(b"PUT /up HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 10\r\n\r\nabc", &api),
            Ok(Admitted::Once {
                bytes: b"PUT /up HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc".to_vec(),
                body_left: 7
            })
        );
        assert_eq!(
            admitted(b"GET http://api.example.com:8080?q HTTP/1.1\r\n\r\n", &api),
            Ok(Admitted::Once {
                bytes:
                    b"GET /?q HTTP/1.1\r\nHost: api.example.com:8080\r\nConnection: close\r\n\r\n"
                        .to_vec(),
                body_left: 0
            })
        );
    }

    #[test]
    fn first_bytes_that_do_not_match_the_judged_name_are_refused() {
        let api = Target::named("api.example.com", 80);
        let refused = |bytes: &[u8], why: &str| {
            let reason = admitted(bytes, &api).unwrap_err();
            assert!(reason.contains(why), "{reason}");
        };
        refused(
            b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "its request names \"evil.example\"",
        );
        refused(
            b"GET http://evil.example/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
            "its request names \"evil.example\"",
        );
        refused(
            b"GET / HTTP/1.1\r\nHost: api.example.com\r\nHost: evil.example\r\n\r\n",
            "several Host headers",
        );
        refused(
            b"GET / HTTP/1.1\r\nHost: api.example.com:81\r\n\r\n",
            "its request names \"api.example.com:81\"",
        );
        refused(
            b"GET / HTTP/1.1\r\nHost: api.example.com:80@evil.example\r\n\r\n",
            "its request names",
        );
        refused(
            b"\r\nGET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "not valid",
        );
        refused(
            b"POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
            "Transfer-Encoding",
        );
        refused(b"\x00\x01binary", "neither TLS nor HTTP");
        // A ClientHello that names the allowed server outside and hides another inside.
        let hidden = Target::named("api.example.com", 443);
        let ech = sniff::Sniffed::Tls(sniff::ClientHello {
            server_name: Some("api.example.com".into()),
            encrypted: true,
        });
        let reason = admit(ech, b"\x16", &hidden).unwrap_err().reason;
        assert!(reason.contains("encrypted ClientHello (ECH)"), "{reason}");
        let plain = sniff::Sniffed::Tls(sniff::ClientHello {
            server_name: Some("api.example.com".into()),
            encrypted: false,
        });
        assert_eq!(
            admit(plain, b"\x16", &hidden).map_err(|r| r.reason),
            Ok(Admitted::Raw(b"\x16".to_vec()))
        );
        refused(
            b"GET / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 40\r\n\r\nGET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "a body on a GET request",
        );
        // On every port, lenient-server HTTP is HTTP, checked like any other.
        let alt = Target::named("api.example.com", 8080);
        for bytes in [
            b"get / HTTP/1.1\r\nHost: evil.example\r\n\r\n".as_slice(),
            b"GET  / HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
        ] {
            assert!(
                admitted(bytes, &alt).is_err(),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        // On a port that is not a web port, another protocol is judged by name alone.
        assert_eq!(
            admitted(b"\x00\x01binary", &Target::named("db.example.com", 5432)),
            Ok(Admitted::Raw(b"\x00\x01binary".to_vec()))
        );
    }
}
