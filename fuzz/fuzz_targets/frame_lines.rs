//! The server's stdout through the line framing: the first byte picks the line cap, the
//! next few the sizes of the reads, the rest is the stream.
#![no_main]

/// How many input bytes after the first give the read sizes.
const CHUNK_SIZES: usize = 4;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Some((&cap, rest)) = bytes.split_first() else {
        return;
    };
    let (chunk_sizes, stream) = rest.split_at(CHUNK_SIZES.min(rest.len()));
    // Small caps (0-255) put the oversize path within reach of short inputs.
    mcpguard::fuzz_entry::frame_lines(stream, usize::from(cap), chunk_sizes);
});
