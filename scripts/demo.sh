#!/usr/bin/env bash
# The README's "run it": on a fresh Debian 12 machine (as root) sets up what
# is missing, builds a real Debian image from Debian's archive (cached),
# loads vulnerability data, and scans the image in its sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/release/bin/cellscan ] || bash scripts/setup.sh >&2
cmake --build build/release -j"$(nproc)" >/dev/null
cs=$PWD/build/release/bin/cellscan
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: building the Debian test image needs root (debootstrap); run as root" >&2
  exit 2
fi
cache=$(bash scripts/make-test-images.sh --print-dir | tail -n 1)
image="oci:$cache/oci/debian:latest"
data=${XDG_DATA_HOME:-$HOME/.local/share}/cellscan
mkdir -p "$data"
db=$data/demo-vulndb.sqlite

# Vulnerability data: the public OSV feed when it can be reached, else the
# real OSV records shipped in ../shared/fixtures, saying which.
if timeout 120 "$cs" db update --ecosystem Debian --db "$db" >&2 2>/dev/null; then
  echo "demo: vulnerability data: OSV's Debian feed (db update)" >&2
elif [ -d ../shared/fixtures/osv/records ]; then
  rm -f "$db"
  "$cs" db import ../shared/fixtures/osv/records --db "$db" --quiet >&2
  echo "demo: the OSV feed is not reachable from here; vulnerability data: the real OSV" \
       "records in ../shared/fixtures/osv/records (a small sample: few or no findings" \
       "are expected for this image)" >&2
else
  echo "demo: no vulnerability data reachable (no OSV feed, no ../shared/fixtures)" >&2
  exit 3
fi
"$cs" db status --db "$db" >&2
echo "demo: cellscan scan $image" >&2
set +e
"$cs" scan "$image" --db "$db" --format table
rc=$?
set -e
echo "demo: exit code $rc (0 healthy, 1 unhealthy under the default policy)" >&2
[ "$rc" -le 1 ] || exit "$rc"
# The Alpine minirootfs from ../shared has a real advisory in the sample data.
if [ -f "$cache/oci/alpine/index.json" ]; then
  echo "demo: cellscan scan oci:$cache/oci/alpine:latest" >&2
  set +e
  "$cs" scan "oci:$cache/oci/alpine:latest" --db "$db" --format table
  rc=$?
  set -e
  echo "demo: exit code $rc" >&2
  [ "$rc" -le 1 ]
fi
