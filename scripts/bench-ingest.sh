#!/usr/bin/env bash
# Times a full ingest and a no-op re-ingest of a generated corpus with the release binary.
#
#   scripts/bench-ingest.sh [DOCS]      # default 10000
#
# The corpus comes from `labsearch gen-corpus` (word lists: apt-get install wswedish wnorwegian
# wdanish wdutch wamerican dict-freedict-fin-eng). Prints both wall times and their ratio.
# scripts/bench measures the same and much more; this is the quick check.
set -euo pipefail
cd "$(dirname "$0")/.."
docs="${1:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin labsearch
target="${CARGO_TARGET_DIR:-target}/release"
"$target/labsearch" gen-corpus --docs "$docs" --seed 1 --out "$work/data"

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/last.log" 2>&1 || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
full=$(seconds "$target/labsearch" ingest --data "$work/data" --index "$work/index")
grep 'files read' "$work/last.log"
noop=$(seconds "$target/labsearch" ingest --data "$work/data" --index "$work/index")
grep 'files read' "$work/last.log"
awk -v f="$full" -v n="$noop" 'BEGIN {
  printf "full ingest:  %.2f s\nno-op ingest: %.2f s\nratio:        %.0fx (the no-op run takes %.1f%% of the full one)\n", f, n, f / n, 100 * n / f
}'
