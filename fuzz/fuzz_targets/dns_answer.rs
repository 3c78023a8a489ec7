//! One datagram to the sandbox's name server.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    mcpguard::fuzz_entry::dns_answer(bytes);
});
