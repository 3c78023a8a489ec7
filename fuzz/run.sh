#!/usr/bin/env bash
# Fuzzes every parser the sandboxed server can reach, each for a bounded time, and says per
# target how long it ran, how many inputs it tried and whether any made it crash.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   which targets (default: all of fuzz/Cargo.toml's)
#
# Run by benches/setup.sh, never by CI. New inputs go to fuzz/corpus-run/<target> (ignored by
# git), the committed seeds in fuzz/corpus/<target> are only read. A crash, a hang (over 10 s
# for one input) or a memory blow-up fails the run, naming the file that reproduces it:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seconds=${FUZZ_SECONDS:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-sniff dns_answer frame_lines recover_id parse_message}"

if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes the sanitizer flag (-Zsanitizer) that rustc accepts only on nightly;
# the stable toolchain takes it with RUSTC_BOOTSTRAP, and its standard library ships the
# address sanitizer's runtime.
export RUSTC_BOOTSTRAP=1
nice -n 10 cargo fuzz build

# Inputs beyond libFuzzer's default 4 KiB cap reach the limits these parsers enforce: the
# 16 KiB request head (sniff), the 4 KiB kept of an oversize line (framing).
max_len() {
  case $1 in
    sniff) echo 17000 ;;
    frame_lines) echo 9000 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case $1 in
    sniff) echo dict/net.dict ;;
    dns_answer) echo "" ;;
    *) echo dict/json.dict ;;
  esac
}

failed=()
printf '%-14s %8s %12s %10s %8s %s\n' target seconds executions exec/s corpus result >target/fuzz-summary
for target in "${targets[@]}"; do
  mkdir -p "corpus-run/$target"
  log="target/fuzz-$target.log"
  options=(-max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10
    -rss_limit_mb=2048 -print_final_stats=1)
  if [[ -n "$(dict "$target")" ]]; then
    options+=(-dict="$(dict "$target")")
  fi
  echo "fuzzing $target for ${seconds}s (log: fuzz/$log)" >&2
  status=0
  nice -n 10 cargo fuzz run "$target" "corpus-run/$target" "corpus/$target" -- "${options[@]}" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  corpus=$(find "corpus-run/$target" "corpus/$target" -type f | wc -l)
  result=ok
  if ((status != 0)); then
    artifact=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -1)
    result="FAILED (exit $status): ${artifact:-no artifact, see fuzz/$log}"
    failed+=("$target")
  fi
  printf '%-14s %8s %12s %10s %8s %s\n' "$target" "${took:--}" "${runs:--}" "${rate:--}" \
    "$corpus" "$result" | tee -a target/fuzz-summary >&2
done
echo >&2
cat target/fuzz-summary >&2
if ((${#failed[@]} > 0)); then
  echo "fuzz/run.sh: ${failed[*]} found an input that fails; reproduce with" \
    "RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file> (in fuzz/)" >&2
  exit 1
fi
