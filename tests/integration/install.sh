#!/bin/sh
# An installed tree works wherever it is copied: cmake --install into one
# prefix, move the tree elsewhere, scan from there.
set -eu
build=$1
cache=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}
layout=$cache/oci/alpine
[ -f "$layout/index.json" ] || { echo "SKIP: no test image at $layout (scripts/make-test-images.sh)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/a" >/dev/null
[ -x "$tmp/a/bin/cellscan" ] && [ -x "$tmp/a/libexec/cellscan/cellscan-worker" ] ||
  { echo "FAIL: install layout"; ls -R "$tmp/a"; exit 1; }
mv "$tmp/a" "$tmp/moved"
env -u CELLSCAN_WORKER "$tmp/moved/bin/cellscan" sbom "oci:$layout:latest" -o "$tmp/out.json"
grep -q '"diff_id"' "$tmp/out.json" || { echo "FAIL: no output"; exit 1; }
[ ! -e "$tmp/moved/libexec/cellscan/cellscan-worker-probe" ] || { echo "FAIL: the test-only probe worker was installed"; exit 1; }
echo "1 passed, 0 failed"
