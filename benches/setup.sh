#!/usr/bin/env bash
# What the benchmarks need beyond the test set-up: bubblewrap, the baseline the sandbox's
# start-up is compared with, and the real peers (server-everything) for time-to-first-answer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v bwrap >/dev/null; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
  else
    echo "benches/setup.sh: bubblewrap is missing; install it with: sudo apt-get install bubblewrap" >&2
    exit 1
  fi
fi
# curl downloads through the egress filter (benches/egress.rs).
if ! command -v curl >/dev/null; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl
  else
    echo "benches/setup.sh: curl is missing; install it with: sudo apt-get install curl" >&2
    exit 1
  fi
fi
tests/setup.sh
# The parsers the sandboxed server can reach, fuzzed for a bounded time each (FUZZ_SECONDS,
# default 60; 0 skips it); an input that crashes one fails the set-up. Never part of CI.
if [[ "${FUZZ_SECONDS:-60}" != 0 ]]; then
  fuzz/run.sh
fi
