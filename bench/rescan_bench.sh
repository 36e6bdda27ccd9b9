#!/usr/bin/env bash
# Rescan throughput: `cellscan rescan --all` of a store holding N images
# (default 1000) after a vulnerability-database update, with -j 1 and -j 2,
# next to a baseline measured in the same hyperfine run: what an operator
# does without rescan for ONE image, `cellscan scan` of the Debian test image
# with every layer's inventory already cached (no sandboxed worker runs, as
# in a rescan). Prints a Markdown table and the cost per image.
#
#   bash bench/rescan_bench.sh [N]
#
# CELLSCAN_BUILD_DIR (default build/release) is configured if needed and the
# targets cellscan, cellscan-worker and rescan_bench are built there (-j2).
# RUNS (default 5) is hyperfine's minimum number of runs per command; the
# warm scan, being short, gets as many as fit in hyperfine's 3 seconds.
#
# What is set up (cached under /var/tmp/cellscan-bench/rescan, rebuilt
# when N, the image, this script, its helper or the store/database schema
# versions change):
#  - old.sqlite: the OSV fixture records (../shared/fixtures/osv/records,
#    the .json ones) imported with `cellscan db import`; it affects nothing
#    in the Debian 12 image, which is healthy against it;
#  - new.sqlite: old.sqlite plus six hand-made records for Debian:12 source
#    packages of the image (openssl, glibc, zlib, curl, ca-certificates:
#    five affect the installed version, one is fixed before it), written
#    from the image's own inventory so they follow a rebuilt test image;
#    the "vulnerability data changed" of the scenario;
#  - store.sqlite: bench/rescan_bench.c scans the Debian test image once
#    with serve's real scanner against old.sqlite and stores the result
#    under N synthetic digests (cs_store_put_result with the scan's image
#    object, so each copy gets its reverse index from package_keys).
# Every timed rescan starts from a fresh copy of store.sqlite (hyperfine
# --prepare, not timed), so each run re-judges N healthy images that all
# become unhealthy: N verdict changes, N history rows, N alerts queued (the
# default with --store alone).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
build=${CELLSCAN_BUILD_DIR:-build/release}
runs=${RUNS:-5}
work=/var/tmp/cellscan-bench/rescan

case $n in '' | *[!0-9]*) echo "usage: bash bench/rescan_bench.sh [N]" >&2; exit 2 ;; esac
command -v hyperfine > /dev/null || { echo "hyperfine is not installed" >&2; exit 2; }

# --- build -------------------------------------------------------------------
# configuring again keeps the cached options and makes a new bench target known
cmake -S . -B "$build" > /dev/null
if grep -q '^CELLSCAN_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "warning: $build is a sanitizer build; its timings mean little" >&2
fi
cmake --build "$build" -j2 --target cellscan cellscan-worker rescan_bench > /dev/null
cs=$build/bin/cellscan
worker=$build/libexec/cellscan/cellscan-worker
helper=$build/bench/rescan_bench

cache=$(bash scripts/make-test-images.sh --print-dir | tail -n 1)
layout=$cache/oci/debian
ref=oci:$layout:latest
records=../shared/fixtures/osv/records
[ -d "$records" ] || { echo "no $records (the shared fixtures)" >&2; exit 2; }

# --- vulnerability databases and the store (cached) ---------------------------
mkdir -p "$work"
stamp=$(
  echo "n=$n"
  sha256sum "$layout/index.json" bench/rescan_bench.sh bench/rescan_bench.c | cut -d' ' -f1
  grep -h 'define CS_STORE_SCHEMA_VERSION\|define CS_VULNDB_SCHEMA' \
    supervisor/store/store.h supervisor/vulndb/vulndb.h || true
  find "$records" -name '*.json' | sort | xargs cat | sha256sum | cut -d' ' -f1
)
if [ "$(cat "$work/stamp" 2> /dev/null)" != "$stamp" ] || [ ! -f "$work/store.sqlite" ]; then
  echo "setting up $work ($n images)..." >&2
  rm -rf "$work/state" "$work/records" "$work"/*.sqlite* "$work/stamp" "$work/xdg"
  find "$records" -name '*.json' -print0 | sort -z |
    xargs -0 "$cs" db import --db "$work/old.sqlite" --quiet >&2
  "$helper" "$worker" "$work/state" "$work/old.sqlite" "$ref" "$work/store.sqlite" "$n" \
    "$work/inventory.json" >&2
  mkdir -p "$work/records"
  python3 - "$work/inventory.json" "$work/records" << 'EOF'
import json, sys
inv = json.load(open(sys.argv[1]))
release = "Debian:" + inv["os"]["version_id"]
src = {}
for p in inv["packages"]:
    if p.get("kind") == "dpkg":
        src.setdefault(p.get("source_name") or p["name"], p.get("source_version") or p["version"])
# (id, source package, CVSS vector, fixed: "+" = just after the installed
# version, None = no fix yet, else that version)
recs = [
    ("CELLSCAN-BENCH-1", "openssl", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "+"),
    ("CELLSCAN-BENCH-2", "glibc", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", "+"),
    ("CELLSCAN-BENCH-3", "zlib", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L", "+"),
    ("CELLSCAN-BENCH-4", "curl", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N", None),
    ("CELLSCAN-BENCH-5", "ca-certificates", "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "+"),
    ("CELLSCAN-BENCH-6", "openssl", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "1.1.1n-0+deb11u1"),
]
for rid, pkg, vec, fixed in recs:
    if pkg not in src:
        sys.exit("the test image has no source package %s" % pkg)
    events = [{"introduced": "0"}]
    if fixed == "+":
        events.append({"fixed": src[pkg] + "+bench1"})  # dpkg: sorts after the installed one
    elif fixed is not None:
        events.append({"fixed": fixed})
    rec = {"schema_version": "1.6.0", "id": rid, "modified": "2026-11-01T00:00:00Z",
           "published": "2026-11-01T00:00:00Z",
           "summary": "cellscan rescan benchmark record (hand-made)",
           "severity": [{"type": "CVSS_V3", "score": vec}],
           "affected": [{"package": {"ecosystem": release, "name": pkg},
                         "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}
    json.dump(rec, open("%s/%s.json" % (sys.argv[2], rid), "w"), indent=1)
EOF
  cp "$work/old.sqlite" "$work/new.sqlite"
  "$cs" db import "$work/records" --db "$work/new.sqlite" --quiet >&2
  echo "$stamp" > "$work/stamp"
fi
store=$work/store.sqlite
db=$work/new.sqlite
run=$work/run.sqlite
prepare="sh -c 'cp $store $run && rm -f $run-wal $run-shm'"
export XDG_CACHE_HOME=$work/xdg   # the warm scan's blob and layer cache, nowhere else

# --- checks: the work the timed commands do ----------------------------------
sh -c "cp $store $run && rm -f $run-wal $run-shm"
summary=$("$cs" rescan --store "$run" --all --db "$db" -j 1 --quiet | tail -n 1)
case $summary in
  "rescan: $n images, $n changed, 0 failed,"*) ;;
  *) echo "unexpected rescan summary: $summary" >&2; exit 1 ;;
esac
"$cs" scan "$ref" --db "$db" --format json --exit-code 0 -o /dev/null   # fills the cache
"$cs" scan "$ref" --db "$db" --format json --exit-code 0 -o "$work/scan.json"
python3 - "$work/scan.json" << 'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if r["sandbox"]["worker_ran"] or not all(l["cached"] for l in r["layers"]):
    sys.exit("the warm scan ran a worker")
if r["verdict"] != "unhealthy":
    sys.exit("the scan is %s against new.sqlite, expected unhealthy" % r["verdict"])
EOF

# --- the run ------------------------------------------------------------------
echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
echo "build: $build ($(grep '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2))"
echo "store: $n images ($(du -m "$store" | cut -f1) MB), $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['packages']))" "$work/inventory.json") packages each; database $(du -k "$db" | cut -f1) KB"
echo "untimed check: $summary"
echo
hyperfine -N -u millisecond -w 1 -m "$runs" --export-markdown "$work/result.md" --export-json "$work/result.json" \
  --prepare "$prepare" \
  -n "cellscan rescan --all -j 1 ($n images)" "$cs rescan --store $run --all --db $db -j 1" \
  --prepare "$prepare" \
  -n "cellscan rescan --all -j 2 ($n images)" "$cs rescan --store $run --all --db $db -j 2" \
  --prepare true \
  -n "baseline: cellscan scan of 1 image, layers cached" \
  "$cs scan $ref --db $db --format json --exit-code 0 -o /dev/null" > /dev/null
cat "$work/result.md"
echo
python3 - "$work/result.json" "$n" << 'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2])
j1, j2, scan = (x["mean"] * 1000 for x in r)
cpu = [(x["user"] + x["system"]) * 1000 for x in r]
for name, t, c in (("-j 1", j1, cpu[0]), ("-j 2", j2, cpu[1])):
    print("rescan %s: %.2f ms per image (%.0f images/s; CPU %.2f ms per image) vs one warm "
          "scan %.2f ms (CPU %.2f ms): a warm scan costs %.1f rescanned images"
          % (name, t / n, n / t * 1000, c / n, scan, cpu[2], scan / (t / n)))
EOF
