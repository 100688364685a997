#!/usr/bin/env bash
# Fuzzes Glimpse's parsers with libFuzzer for a bounded time.
#
#   Tools/fuzz/run.sh [SECONDS] [TARGET...]
#
# Builds `glimpse-fuzz` with -sanitize=fuzzer,address (scratch path .build-fuzz), then runs each
# target (default: all of safetensors torch image config tokenizer) for SECONDS (default 60),
# starting from its seed corpus Tests/Fixtures/fuzz/<target>/ and the saved crashers. Inputs
# that reach new code are kept in .build-fuzz/findings/corpus/<target>/ (reused by the next
# run); an input that crashes, hangs (-timeout) or blows memory (-rss_limit_mb) is written to
# .build-fuzz/findings/crashers/<target>/ and the script exits 1 after the remaining targets.
# Environment: GLIMPSE_FUZZ_FINDINGS moves the findings folder; GLIMPSE_FUZZ_ARGS adds
# libFuzzer options (e.g. "-jobs=4 -workers=4").
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors torch image config tokenizer)
case "$seconds" in ''|*[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

scratch=.build-fuzz
findings="${GLIMPSE_FUZZ_FINDINGS:-$scratch/findings}"
echo "fuzz: building glimpse-fuzz with -sanitize=fuzzer,address in $scratch" >&2
swift build -c debug --product glimpse-fuzz --scratch-path "$scratch" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DGLIMPSE_FUZZ 2>&1 | { grep -v "Cannot export local symbol" >&2 || true; }
binary="$scratch/debug/glimpse-fuzz"

# Loaders read files by path: the target writes each input to $TMPDIR, here a RAM disk when
# there is one, removed at the end.
tmp="$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/glimpse-fuzz.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The longest input the fuzzer makes, per target: a little above the largest seed.
max_len() {
  case "$1" in
    config) echo 4096 ;;
    safetensors|torch) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

failed=()
for target in "${targets[@]}"; do
  seeds="Tests/Fixtures/fuzz/$target"
  [ -d "$seeds" ] || { echo "run.sh: no seed corpus $seeds (targets: safetensors torch image config tokenizer)" >&2; exit 2; }
  corpus="$findings/corpus/$target" crashers="$findings/crashers/$target"
  mkdir -p "$corpus" "$crashers"
  corpora=("$corpus" "$seeds")
  [ -d "Tests/Fixtures/fuzz/crashers/$target" ] && corpora+=("Tests/Fixtures/fuzz/crashers/$target")
  log="$findings/$target.log"
  echo "fuzz: $target for ${seconds}s (log $log)" >&2
  status=0
  # Leak checking is off: the Swift runtime's lazily built caches read as leaks, and real
  # growth per input is caught by -rss_limit_mb.
  GLIMPSE_FUZZ_TARGET="$target" TMPDIR="$tmp" SWIFT_BACKTRACE=enable=no \
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
    "$binary" -max_total_time="$seconds" -max_len="$(max_len "$target")" -rss_limit_mb=2048 -timeout=10 \
      -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$crashers/" ${GLIMPSE_FUZZ_ARGS:-} \
      "${corpora[@]}" >"$log" 2>&1 || status=$?
  summary="$(grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$log" | tail -1 || true)"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target FAILED (exit $status); log: $log" >&2
    grep -E "ERROR: |SUMMARY: |Fatal error|Test unit written|^artifact_prefix" "$log" | head -20 >&2 || tail -30 "$log" >&2
    failed+=("$target")
  else
    echo "fuzz: $target ok: $summary" >&2
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}; inputs in $findings/crashers/<target>/" >&2
  echo "fuzz: reproduce with: swift build --product glimpse-fuzz && GLIMPSE_FUZZ_TARGET=<target> .build/debug/glimpse-fuzz FILE" >&2
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash" >&2
