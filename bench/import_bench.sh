#!/usr/bin/env bash
# Import throughput: `cellscan db import` of a synthetic OSV zip into a fresh
# database, in records per second, next to baselines measured in the same
# run on the same zip: inflating every entry (`unzip -p ... > /dev/null`) and
# inflating plus parsing every entry with Python's json module. Prints a
# Markdown table (median of RUNS runs, wall clock).
#
#   bash bench/import_bench.sh [ZIP] [CELLSCAN] [OTHER_CELLSCAN]
#
# ZIP defaults to /var/tmp/cellscan-bench/syn/all.zip (made by
# `python3 scripts/make-osv-synthetic.py /var/tmp/cellscan-bench/syn 200000`),
# CELLSCAN to build-perf/bin/cellscan (a RelWithDebInfo build). With
# OTHER_CELLSCAN (e.g. a build of an older commit) its import is measured in
# the same run too. RUNS=3 by default. The databases are written to a
# temporary directory and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
zip=${1:-/var/tmp/cellscan-bench/syn/all.zip}
cs=${2:-build-perf/bin/cellscan}
other=${3:-}
runs=${RUNS:-3}

[ -f "$zip" ] || { echo "no $zip: run scripts/make-osv-synthetic.py first" >&2; exit 2; }
[ -x "$cs" ] || { echo "no $cs: build the cellscan target first" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cs-import-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

records=$(python3 -c "import sys, zipfile; print(sum(1 for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith('.json')))" "$zip")

# seconds for one run of a command (wall clock)
t() {
  local s e
  s=$(date +%s.%N)
  "$@" > /dev/null
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

import_fresh() {
  rm -f "$tmp/db" "$tmp/db.lock"
  "$1" db import "$zip" --db "$tmp/db" --quiet
}

py_parse() {
  python3 -c "
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
n = 0
for name in z.namelist():
    if name.endswith('.json'):
        json.loads(z.read(name))
        n += 1
print(n)" "$zip"
}

row() {
  local what=$1; shift
  local ts=() i
  for ((i = 0; i < runs; i++)); do ts+=("$(t "$@")"); done
  local m
  m=$(printf '%s\n' "${ts[@]}" | median)
  printf '| %s | %.2f s | %.0f |\n' "$what" "$m" "$(echo "$records / $m" | bc -l)"
}

echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
echo "input: $zip ($records records, $(du -m "$zip" | cut -f1) MB)"
echo
echo "| what (median of $runs) | time | records/s |"
echo "|---|---|---|"
row "baseline: unzip -p (inflate only)" sh -c "unzip -p '$zip' > /dev/null"
row "baseline: python3 zipfile + json.loads of every entry" py_parse
row "cellscan db import, fresh database ($cs)" import_fresh "$cs"
if [ -n "$other" ]; then
  row "cellscan db import, fresh database ($other)" import_fresh "$other"
fi
# re-import into the database just built: every record unchanged
import_fresh "$cs" > /dev/null
row "cellscan db import again, all unchanged ($cs)" "$cs" db import "$zip" --db "$tmp/db" --quiet
