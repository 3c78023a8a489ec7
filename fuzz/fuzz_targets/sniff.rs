//! The first bytes of a connection through the egress filter (TLS ClientHello, HTTP head, proxy request).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    mcpguard::fuzz_entry::sniff(bytes);
});
