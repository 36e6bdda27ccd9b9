#!/usr/bin/env bash
# API latency and throughput of `cellscan serve` on loopback, with wrk:
# GET /v1/images/{digest}/report (the stored report of a real image, the
# Alpine OCI layout of scripts/make-test-images.sh) and GET /healthz.
#
#   scripts/bench-serve.sh [BUILD_DIR] [DURATION_S] [CONNECTIONS]
#
# Prints wrk's summary for each endpoint. Needs wrk (Debian package), curl,
# jq and the shared OSV fixtures. Never run as a test: numbers, not verdicts.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${1:-$REPO/build}
DUR=${2:-10}
CONNS=${3:-32}
BIN=${CELLSCAN_BIN:-$BUILD/bin/cellscan}
FX=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}/oci
SHARED=${CS_SHARED_DIR:-$REPO/../shared}
for t in wrk curl jq python3; do
  command -v "$t" >/dev/null || { echo "bench-serve: $t is not installed" >&2; exit 1; }
done
W=$(mktemp -d /tmp/cellscan-bench-serve.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
"$BIN" db import "$SHARED/fixtures/osv/records/Alpine" --db "$W/vulndb.sqlite" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/serve.json" <<JSON
{"listen": "127.0.0.1:$PORT", "state_dir": "$W/state", "vulndb": "$W/vulndb.sqlite",
 "allow_local_sources": true, "limits": {"max_connections": 256}}
JSON
"$BIN" serve --config "$W/serve.json" 2>"$W/serve.log" &
PID=$!
API=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do curl -fs "$API/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
ID=$(curl -s -X POST -d "{\"image\": \"oci:$FX/alpine\"}" "$API/v1/scans" | jq -r .id)
DIGEST=
for _ in $(seq 1 600); do
  J=$(curl -s "$API/v1/scans/$ID")
  [ "$(echo "$J" | jq -r .state)" = done ] && { DIGEST=$(echo "$J" | jq -r .digest); break; }
  sleep 0.1
done
[ -n "$DIGEST" ] || { cat "$W/serve.log"; echo "bench-serve: the scan did not finish" >&2; exit 1; }
SIZE=$(curl -s "$API/v1/images/$DIGEST/report" | wc -c)
echo "== GET /v1/images/$DIGEST/report ($SIZE bytes), $CONNS connections, ${DUR}s"
wrk -t 4 -c "$CONNS" -d "${DUR}s" --latency "$API/v1/images/$DIGEST/report"
echo "== GET /healthz"
wrk -t 4 -c "$CONNS" -d "${DUR}s" --latency "$API/healthz"
kill -TERM "$PID"
wait "$PID" || true
PID=
