#!/usr/bin/env bash
# The test command (README): installs everything the tests need on a fresh machine of the
# project's kind, then runs every test. Safe to run again; installs are skipped when done.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
tests/setup.sh
export MCPGUARD_TEST_PEERS="${PEERS:-$REPO/target/peers}"
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked -- --test-threads=2
