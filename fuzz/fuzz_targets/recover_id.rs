//! A broken or oversize line whose id and role are recovered.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    mcpguard::fuzz_entry::recover_id(bytes);
});
