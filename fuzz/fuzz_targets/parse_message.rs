//! One line of the server's stdout through the envelope parse and the content read.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    mcpguard::fuzz_entry::parse_message(bytes);
});
