//! Entry point: everything is in the library (`mcpguard::main`, src/entry.rs).

fn main() -> std::process::ExitCode {
    mcpguard::main()
}
