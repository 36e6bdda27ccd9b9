#!/usr/bin/env bash
# Runs cellscan's benchmarks on this machine and prints Markdown tables, each
# figure next to a baseline measured in the same run. Uses the normal build
# (build/release) and the test images (scripts/make-test-images.sh).
#
#   bash bench/run.sh [sandbox|inventory|stream|match|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
cmake --build build/release -j"$(nproc)" --target cellscan cellscan-worker sandbox_overhead >/dev/null
cache=$(bash scripts/make-test-images.sh --print-dir | tail -n 1)
cs=build/release/bin/cellscan

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"
echo

if [ "$what" = all ] || [ "$what" = sandbox ]; then
  echo "### Sandbox overhead"
  echo
  build/release/bench/sandbox_overhead build/release 300
  echo
fi

if [ "$what" = all ] || [ "$what" = inventory ]; then
  echo "### Inventory: warm rescan with every layer cached, worker peak memory"
  echo
  layout=$cache/oci/debian
  c=$(mktemp -d)
  $cs sbom "oci:$layout:latest" --cache-dir "$c" -o "$c/cold.json"
  python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['sandbox']; print('worker peak RSS: %.1f MiB' % (s['worker_max_rss_kb']/1024))" "$c/cold.json"
  hyperfine -N -w 3 -r 30 --export-markdown "$c/warm.md" \
    -n "warm rescan, every layer cached" "$cs sbom oci:$layout:latest --cache-dir $c -o /dev/null" >/dev/null
  cat "$c/warm.md"
  rm -rf "$c"
  echo
fi

if [ "$what" = all ] || [ "$what" = stream ]; then
  echo "### Streaming a real image: cellscan sbom vs decompressing the same blobs"
  echo
  for img in debian debian-zstd; do
    layout=$cache/oci/$img
    blobs=$(python3 -c "
import json,sys
e=json.load(open('$layout/expected.json'))
print(' '.join('$layout/blobs/sha256/'+l['digest'][7:] for l in e['images'][0]['layers']))")
    case $img in
      debian) base="zcat $blobs" ;;
      debian-zstd) base="zstdcat $blobs" ;;
    esac
    hyperfine -w 2 -r 10 --export-markdown /tmp/cellscan-bench-$img.md \
      -n "cellscan sbom oci:$img (verify, sandbox, decompress, sha256, tar walk, dpkg)" \
      "$cs sbom oci:$layout:latest -o /dev/null" \
      -n "baseline: ${base%% *} of the same layer blobs" "$base" >/dev/null
    cat /tmp/cellscan-bench-$img.md
    echo
  done
fi

if [ "$what" = all ] || [ "$what" = match ]; then
  # The synthetic OSV set and its database are cached outside the repo.
  dir=${CELLSCAN_BENCH_DIR:-/var/tmp/cellscan-bench}
  mkdir -p "$dir"
  [ -f "$dir/syn/all.zip" ] || python3 scripts/make-osv-synthetic.py "$dir/syn" 200000
  [ -f "$dir/syn-v2.db" ] || $cs db import --db "$dir/syn-v2.db" "$dir/syn/all.zip" >/dev/null
  cmake --build build/release -j"$(nproc)" --target match_bench >/dev/null
  echo "### Matching 10,000 packages against 200,000 records"
  echo
  build/release/bench/match_bench "$dir/syn-v2.db" 10000
  echo
  echo "### The whole scan of a 10,000-package image (dir: rootfs) against that database"
  echo
  [ -f "$dir/bigroot/var/lib/dpkg/status" ] || python3 bench/big_rootfs.py "$dir/bigroot" 10000
  cmake --build build/release -j"$(nproc)" --target cellscan cellscan-worker >/dev/null
  hyperfine -N -w 1 -r 5 --export-markdown "$dir/scan.md" \
    -n "cellscan scan dir:BIGROOT --format json (inventory, matching, policy, report)" \
    "$cs scan dir:$dir/bigroot --db $dir/syn-v2.db --format json -o /dev/null --exit-code 0" \
    -n "baseline: cellscan sbom dir:BIGROOT --format json (the inventory alone)" \
    "$cs sbom dir:$dir/bigroot --format json -o /dev/null" >/dev/null
  cat "$dir/scan.md"
  echo
fi
