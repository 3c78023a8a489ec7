#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into fuzz/corpus/<target>/ (committed).

Small, real inputs of each shape the parsers take, so that libFuzzer starts from the
interesting paths instead of finding the TLS or DNS framing by chance. Re-run after adding
a seed; file names are the seeds' names, so a re-run changes nothing else.
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def u16(n):
    return struct.pack(">H", n)


def tls_extension(kind, body):
    return u16(kind) + u16(len(body)) + body


def client_hello(server_name=None, extra=()):
    extensions = b""
    if server_name is not None:
        name = server_name.encode()
        entry = b"\x00" + u16(len(name)) + name
        extensions += tls_extension(0, u16(len(entry)) + entry)
    extensions += tls_extension(43, b"\x04\x03\x04\x03\x03")  # supported_versions
    extensions += tls_extension(10, b"\x00\x04\x00\x1d\x00\x17")  # supported_groups
    share = b"\x00\x1d" + u16(32) + b"\x11" * 32
    extensions += tls_extension(51, u16(len(share)) + share)  # key_share
    for kind, body in extra:
        extensions += tls_extension(kind, body)
    body = (
        b"\x03\x03" + b"\x07" * 32  # legacy version, random
        + b"\x20" + b"\x09" * 32  # session id
        + u16(4) + b"\x13\x01\x13\x02"  # cipher suites
        + b"\x01\x00"  # compression methods
        + u16(len(extensions)) + extensions
    )
    handshake = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + u16(len(handshake)) + handshake


def dns_query(name, kind, ident=0xBEEF, flags=0x0100, questions=1, additional=b""):
    question = b""
    for label in name.split(".") if name else []:
        question += bytes([len(label)]) + label.encode()
    question += b"\x00" + u16(kind) + u16(1)
    arcount = 1 if additional else 0
    header = u16(ident) + u16(flags) + u16(questions) + u16(0) + u16(0) + u16(arcount)
    return header + question * max(questions, 1) + additional


hello = client_hello("api.example.com")
SEEDS = {
    "sniff": {
        "tls_sni": hello,
        "tls_no_sni": client_hello(None),
        "tls_ech": client_hello("public.example.com", [(0xFE0D, b"\x00" * 8)]),
        # The handshake message across two records, as large ClientHellos are sent.
        "tls_split_records": b"\x16\x03\x01" + u16(35) + hello[5:40]
        + b"\x16\x03\x01" + u16(len(hello) - 40) + hello[40:],
        "tls_partial": hello[:30],
        "http_get": b"GET /v1/x?y=1 HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n",
        "http_absolute": b"GET http://api.example.com:8080/x?y#z HTTP/1.1\r\n"
        b"Host: api.example.com\r\nProxy-Connection: keep-alive\r\n\r\n",
        "http_post": b"POST /upload HTTP/1.0\r\nHost: api.example.com\r\nContent-Length: 3\r\n\r\nabc",
        "http_chunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "http_two_hosts": b"GET / HTTP/1.1\r\nHost: a.example\r\nhost: b.example\r\n\r\n",
        "connect": b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n\x16\x03\x01",
        "connect_v6": b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
        "connect_no_port": b"CONNECT api.example.com HTTP/1.1\r\n\r\n",
        "socks5": b"\x05\x01\x00",
        "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
        "smtp": b"EHLO a\r\n",
        "authority": b"[2001:db8::1]:8443",
    },
    "dns_answer": {
        "a": dns_query("api.example.com", 1),
        "aaaa": dns_query("api.example.com", 28),
        "any": dns_query("api.example.com", 255),
        "txt": dns_query("example.com", 16),
        "localhost": dns_query("localhost", 1),
        "root": dns_query("", 1),
        "trailing_upper": dns_query("API.Example.COM", 1),
        "two_questions": dns_query("a.example", 1, questions=2),
        "edns": dns_query("api.example.com", 1, additional=b"\x00" + u16(41) + u16(1232)
                          + b"\x00\x00\x00\x00" + u16(0)),
        "compressed": u16(7) + u16(0x0100) + u16(1) + u16(0) * 3 + b"\xc0\x0c" + u16(1) + u16(1),
        "response": dns_query("api.example.com", 1, flags=0x8180),
        "status_opcode": dns_query("api.example.com", 1, flags=0x1100),
        "bad_label": dns_query("a_b!.example", 1),
        "short": b"\xbe\xef\x01\x00\x00\x01",
    },
}

LINES = [
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"/tmp/x"}}}',
    b'{"jsonrpc":"2.0","id":"abc","result":{"content":[{"type":"text","text":"hi"}]}}',
    b'{"jsonrpc":"2.0","id":-3.5e2,"error":{"code":-32601,"message":"no"}}',
    b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}',
    b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}',
    b'[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},7]',
]
MESSAGES = {
    "request": LINES[0],
    "result_string_id": LINES[1],
    "error_float_id": LINES[2],
    "notification": LINES[3],
    "null_id": LINES[4],
    "batch": LINES[5],
    "empty_batch": b"[]",
    "crlf": LINES[0] + b"\r\n",
    "duplicate_id": b'{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call"}',
    "escaped_key": b'{"jsonrpc":"2.0","id":1,"method":"x","\\u006dethod":"tools/call"}',
    "lone_surrogate": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\\ud800"}}',
    "deep": b'{"jsonrpc":"2.0","id":1,"method":"x","params":' + b"[" * 200 + b"]" * 200 + b"}",
    "huge_number": b'{"jsonrpc":"2.0","id":1e400,"result":123456789012345678901234567890}',
    "object_id": b'{"jsonrpc":"2.0","id":{"a":1},"method":"x"}',
    "old_version": b'{"jsonrpc":"1.0","id":1,"method":"x"}',
    "bad_utf8": b'{"jsonrpc":"2.0","id":1,"result":"\xff\xfe"}',
}
SEEDS["parse_message"] = MESSAGES
SEEDS["recover_id"] = {
    **{k: v for k, v in MESSAGES.items() if k not in ("empty_batch", "deep")},
    "truncated": LINES[0][:40],
    "id_last": b'{"jsonrpc":"2.0","result":{"text":"' + b"x" * 64 + b'"},"id":"q\\"7"}',
    "id_in_params": b'{"method":"tools/call","params":{"id":9,"result":1},"jsonrpc":"2.0"',
    "string_escapes": b'{"id":"\\u0041\\n\\\\","method":"m"}',
    "spaces": b'  { "id" : 12 , "method" : "m" }',
}
# The framing target: cap byte, four read-size bytes, then the stream.
STREAM = b"\n".join(LINES) + b"\n"
SEEDS["frame_lines"] = {
    "lines_one_read": b"\xff\xff\xff\xff\xff" + STREAM,
    "lines_small_reads": b"\xff\x00\x02\x06\x1f" + STREAM,
    "oversize_small_cap": b"\x10\x03\x07\x0b\x0d" + STREAM,
    "crlf_no_final_newline": b"\x40\x10\x10\x10\x10" + b"\r\n".join(LINES),
    "blank_lines": b"\x08\x00\x00\x00\x00" + b"\n\n\r\n  \n" + LINES[3] + b"\n",
    "oversize_at_eof": b"\x04\x01\x02\x03\x04" + LINES[1],
    # Longer than the 4 KiB kept of each end of an oversize line, id written last.
    "oversize_long": b"\xff\xff\x80\xff\x40" + b'{"jsonrpc":"2.0","result":"' + b"x" * 8500
    + b'","id":7}\n' + LINES[0] + b"\n",
}

for target, seeds in SEEDS.items():
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (folder / name).write_bytes(data)
