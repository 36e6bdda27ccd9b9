#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR [SECONDS [NAME...]] - runs the libFuzzer binaries
# of a CELLSCAN_FUZZ=ON build (BUILD_DIR/bin/fuzz/<name>_fuzz) for SECONDS
# each (default 180), two at a time, starting from the committed corpus.
# New inputs go to BUILD_DIR/fuzz-run/<name>/new, crashes to
# BUILD_DIR/fuzz-run/<name>/crash-*; the committed corpus is not touched.
# Afterwards, to keep what adds coverage:
#   BUILD_DIR/bin/fuzz/<name>_fuzz -merge=1 tests/fuzz/corpus/<name> \
#       BUILD_DIR/fuzz-run/<name>/new
# (docs/fuzzing.md). Exit status: 1 when any target crashed.
set -uo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS [NAME...]]}
secs=${2:-180}
shift 2 2>/dev/null || shift $#
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in "$build"/bin/fuzz/*_fuzz; do
    [ -x "$f" ] && names+=("$(basename "$f" _fuzz)")
  done
fi
[ "${#names[@]}" -gt 0 ] || { echo "run-fuzzers: no fuzzers in $build/bin/fuzz" >&2; exit 2; }

run_one() {
  local n=$1 out="$build/fuzz-run/$1" dict=()
  mkdir -p "$out/new"
  [ -f "$here/dict/$n.dict" ] && dict=(-dict="$here/dict/$n.dict")
  # Small inputs keep the committed corpora small (docs/fuzzing.md); rpm
  # databases need whole pages to get anywhere.
  local maxlen=8192
  [ "$n" = rpm ] && maxlen=20480
  "$build/bin/fuzz/${n}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$maxlen" -print_final_stats=1 "${dict[@]}" -artifact_prefix="$out/" \
    "$out/new" "$here/corpus/$n" > "$out/log" 2>&1
  local rc=$?
  printf '%-12s exit %d  %s\n' "$n" "$rc" "$(grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' "$out/log" | tail -1)"
  return $rc
}

status=0
i=0
pids=()
for n in "${names[@]}"; do
  run_one "$n" &
  pids+=($!)
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
ls "$build"/fuzz-run/*/crash-* "$build"/fuzz-run/*/leak-* "$build"/fuzz-run/*/timeout-* \
  "$build"/fuzz-run/*/oom-* 2>/dev/null
exit $status
