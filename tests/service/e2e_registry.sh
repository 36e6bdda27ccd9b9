#!/usr/bin/env bash
# End to end, real parts, loopback only: Debian's docker-registry (TLS,
# htpasswd) configured with a notification endpoint pointing at
# `cellscan serve`; `skopeo copy` pushes a real image (the Alpine OCI layout
# of scripts/make-test-images.sh); the report is served under the digest the
# registry reported within seconds; ImageReview denied/allowed as the
# verdict says; the alert arrives signed (only when the image is not
# healthy); a wrong webhook secret is refused; a second push of the same
# digest is not scanned again; SIGTERM stops the service cleanly; the
# registry password appears nowhere.
#
#   tests/service/e2e_registry.sh [BUILD_DIR]
#
# BUILD_DIR (default $CELLSCAN_BUILD_DIR, else build-serve) has bin/cellscan
# and libexec/cellscan/cellscan-worker; $CELLSCAN_BIN overrides the binary.
# Exit 0 pass, 77 skipped (the reason is printed), 1 failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${CELLSCAN_BUILD_DIR:-$REPO/build-serve}}
BIN=${CELLSCAN_BIN:-$BUILD/bin/cellscan}
FX=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}/oci
SHARED=${CS_SHARED_DIR:-$REPO/../shared}

skip() { echo "SKIP: $*"; exit 77; }
for t in docker-registry skopeo openssl htpasswd python3 curl jq; do
  command -v "$t" >/dev/null || skip "$t is not installed (scripts/setup.sh installs it)"
done
[ -x "$BIN" ] || skip "no cellscan binary at $BIN"
"$BIN" serve --help >/dev/null 2>&1 || skip "this cellscan has no serve command (cmd_serve.c not wired into main.c)"
[ -f "$FX/alpine/index.json" ] || skip "no $FX/alpine (run scripts/make-test-images.sh --only alpine)"
[ -d "$SHARED/fixtures/osv/records/Alpine" ] || skip "no shared OSV fixtures at $SHARED/fixtures/osv"

W=$(mktemp -d /tmp/cellscan-e2e-serve.XXXXXX)
SERVE_PID=
RX_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  [ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null
  "$REPO/scripts/registry-test-env.sh" stop "$W/env" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset CELLSCAN_REGISTRY_USERNAME CELLSCAN_REGISTRY_PASSWORD

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { # DESCRIPTION COMMAND...
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------- vulnerability data, secrets, ports ----------
"$BIN" db import "$SHARED/fixtures/osv/records/Alpine" "$SHARED/fixtures/osv/records/Debian" \
  --db "$W/vulndb.sqlite" >"$W/db.log" 2>&1 || { cat "$W/db.log"; echo "db import failed"; exit 1; }
openssl rand -hex 16 >"$W/webhook.secret"
openssl rand -hex 16 >"$W/alert.secret"
P_SERVE=$(free_port)
API=http://127.0.0.1:$P_SERVE

# ---------- the registry, notifying the service ----------
CS_NOTIFY_URL=$API/v1/webhooks/registry CS_NOTIFY_SECRET_FILE=$W/webhook.secret \
  "$REPO/scripts/registry-test-env.sh" start "$W/env" >/dev/null || { echo "registry env failed"; exit 1; }
# shellcheck disable=SC1091
. "$W/env/env"
grep -q "url: $API/v1/webhooks/registry" "$W/env/basic.yml" || { echo "no notifications in the registry config"; exit 1; }

# registry credentials for the service: a Docker config, as `cellscan scan` reads it
mkdir -p "$W/docker"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" \
  >"$W/docker/config.json"
chmod 600 "$W/docker/config.json"

# ---------- the alert receiver ----------
python3 "$HERE/alert_receiver.py" "$W/rx.port" "$W/alerts.jsonl" "$W/alert.secret" &
RX_PID=$!
for _ in $(seq 1 50); do [ -f "$W/rx.port" ] && break; sleep 0.1; done
[ -f "$W/rx.port" ] || { echo "alert receiver did not start"; exit 1; }

# ---------- cellscan serve ----------
cat >"$W/serve.json" <<EOF
{
  "listen": "127.0.0.1:$P_SERVE",
  "state_dir": "$W/state",
  "vulndb": "$W/vulndb.sqlite",
  "webhook_secret_file": "$W/webhook.secret",
  "ca_file": "$CA",
  "docker_config": "$W/docker",
  "instance": "e2e",
  "concurrency": 2,
  "registries": [{"host": "$REG"}],
  "alerts": [{"url": "http://127.0.0.1:$(cat "$W/rx.port")/hook", "secret_file": "$W/alert.secret"}],
  "queue": {"grace_seconds": 10, "backoff_base": 2},
  "imagereview": {"deadline_ms": 20000}
}
EOF
"$BIN" serve --config "$W/serve.json" >"$W/serve.log" 2>&1 &
SERVE_PID=$!
up=0
for _ in $(seq 1 100); do
  curl -fs "$API/healthz" >/dev/null 2>&1 && { up=1; break; }
  sleep 0.1
done
[ $up = 1 ] || { cat "$W/serve.log"; echo "cellscan serve did not come up"; exit 1; }
ok "serve is up ($(curl -s "$API/healthz"))"

# ---------- push a real image; the registry notifies; the report appears ----------
t0=$(date +%s.%N)
skopeo copy -q --digestfile "$W/digest" --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$CERTDIR" \
  "oci:$FX/alpine" "docker://$REG/e2e/alpine:3" || { echo "skopeo push failed"; exit 1; }
DIGEST=$(cat "$W/digest")
echo "pushed $REG/e2e/alpine:3 as $DIGEST"
got=0
for _ in $(seq 1 600); do
  code=$(curl -s -o "$W/report.json" -w '%{http_code}' "$API/v1/images/$DIGEST/report")
  [ "$code" = 200 ] && { got=1; break; }
  sleep 0.1
done
t1=$(date +%s.%N)
if [ $got = 1 ]; then
  ok "report served under the pushed digest, push-to-report $(python3 -c "print(round($t1-$t0,2))") s"
else
  bad "no report for $DIGEST after 60 s"
  tail -20 "$W/serve.log"
fi
check "report is cellscan-report/1" test "$(jq -r .schema "$W/report.json" 2>/dev/null)" = cellscan-report/1
VERDICT=$(jq -r .verdict "$W/report.json" 2>/dev/null)
check "report has a verdict ($VERDICT)" test -n "$VERDICT" -a "$VERDICT" != null
check "the image is listed under its repository" \
  test "$(curl -s "$API/v1/images?repository=$REG/e2e/alpine" | jq -r '.images[0].digest')" = "$DIGEST"
check "the image is listed under its verdict" \
  test "$(curl -s "$API/v1/images?verdict=$VERDICT" | jq -r --arg d "$DIGEST" '[.images[].digest] | index($d) != null')" = true
check "the stored severity counts agree with the report's" \
  test "$(curl -s "$API/v1/images?repository=$REG/e2e/alpine" | jq -c '.images[0].counts | {critical, high, medium, low}')" = \
       "$(jq -c '.summary.counts | {critical, high, medium, low}' "$W/report.json")"
JOB=$(curl -s "$API/metrics" | grep -c '^cellscan_scans_total{outcome="'"$VERDICT"'"} 1$')
check "one scan ran" test "$JOB" = 1
check "the scan ended with a finished worker" \
  test "$(curl -s "$API/metrics" | grep '^cellscan_worker_endings_total{kind="ok"}' | cut -d' ' -f2)" = 1
# the findings endpoint agrees with the report
NF=$(jq '[.findings[] | select(.decision.status != "ignored")] | length' "$W/report.json" 2>/dev/null || echo x)
check "findings endpoint has the report's findings ($NF)" \
  test "$(curl -s "$API/v1/images/$DIGEST/findings" | jq '.findings | length')" = "$NF"
FIRST_ID=$(jq -r '.findings[0].id // empty' "$W/report.json")
if [ -n "$FIRST_ID" ]; then
  check "findings by id name the image" \
    test "$(curl -s "$API/v1/findings?id=$FIRST_ID" | jq -r --arg d "$DIGEST" '[.images[].digest] | index($d) != null')" = true
fi

# the same document `cellscan scan --format json` writes for that reference
# (run-dependent members aside: the sandbox's measurements)
if ! "$BIN" scan 2>&1 | grep -q 'unknown command'; then
  REF=$(curl -s "$API/v1/images?repository=$REG/e2e/alpine" | jq -r '.images[0].refs[0]')
  DOCKER_CONFIG=$W/docker "$BIN" scan "$REF" --format json --db "$W/vulndb.sqlite" --ca-file "$CA" \
    --cache-dir "$W/cli-cache" --no-progress -o "$W/cli-report.json" >"$W/cli.log" 2>&1
  strip='del(.sandbox) | del(.generated)'
  check "the served report is the one \`cellscan scan --format json\` writes ($REF)" \
    test "$(jq -S "$strip" "$W/report.json")" = "$(jq -S "$strip" "$W/cli-report.json" 2>/dev/null)"
fi

# ---------- ImageReview ----------
review() { # IMAGE
  printf '{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{"image":"%s"}]}}' "$1" |
    curl -s -X POST -H 'Content-Type: application/json' --data-binary @- "$API/v1/imagereview"
}
want=false
[ "$VERDICT" = healthy ] && want=true
check "review by tag follows the verdict (allowed=$want)" test "$(review "$REG/e2e/alpine:3" | jq .status.allowed)" = "$want"
check "review by digest follows the verdict" test "$(review "$REG/e2e/alpine@$DIGEST" | jq .status.allowed)" = "$want"
R=$(review "unknown.example:5000/x/y:1")
check "an image of an unconfigured registry is denied by default" test "$(echo "$R" | jq .status.allowed)" = false
check "... with a reason" test -n "$(echo "$R" | jq -r '.status.reason // empty')"
# unknown on the configured registry: scanned on demand within the deadline
skopeo copy -q --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$CERTDIR" \
  "oci:$FX/alpine" "docker://$REG/e2e/other:1" || bad "second push failed"
R=$(review "$REG/e2e/other:1")
check "on-demand review answers with a verdict ($(echo "$R" | jq -c .status.auditAnnotations))" \
  test "$(echo "$R" | jq -r '.status.auditAnnotations["image-0-verdict"]')" = "$VERDICT"

# ---------- alerts ----------
sleep 2
NA=$(wc -l <"$W/alerts.jsonl" 2>/dev/null || echo 0)
if [ "$VERDICT" = healthy ]; then
  check "no alert for a healthy image" test "$NA" = 0
else
  check "one alert for the new $VERDICT image" \
    test "$(jq -r --arg d "$DIGEST" 'select(.body.digest == $d) | .body.verdict' "$W/alerts.jsonl" | sort -u)" = "$VERDICT"
  check "every alert is signed" test "$(jq -r .signature_ok "$W/alerts.jsonl" | sort -u)" = true
  check "the image raised exactly one alert" \
    test "$(jq -r --arg d "$DIGEST" 'select(.body.digest == $d) | .alert_id' "$W/alerts.jsonl" | sort -u | wc -l)" = 1
fi

# ---------- the webhook's secret ----------
check "a wrong webhook secret is refused" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer nope' -d '{"events":[]}' "$API/v1/webhooks/registry")" = 401
check "so is a missing one" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"events":[]}' "$API/v1/webhooks/registry")" = 401

# ---------- the same digest pushed again is not scanned again ----------
before=$(curl -s "$API/metrics" | awk '/^cellscan_scans_total\{outcome="(healthy|unhealthy|error)"\}/ {s+=$2} END {print s}')
skopeo copy -q --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$CERTDIR" \
  "oci:$FX/alpine" "docker://$REG/e2e/alpine:again" || bad "third push failed"
sleep 3
after=$(curl -s "$API/metrics" | awk '/^cellscan_scans_total\{outcome="(healthy|unhealthy|error)"\}/ {s+=$2} END {print s}')
check "a known digest pushed again is not rescanned ($before -> $after)" test "$before" = "$after"
check "the registry's events were counted" \
  test "$(curl -s "$API/metrics" | grep '^cellscan_webhook_events_total{result="known"}' | cut -d' ' -f2)" -ge 1

# ---------- secrets stay secret ----------
curl -s "$API/metrics" >"$W/metrics.txt"
curl -s "$API/v1/images" >"$W/images.json"
check "the registry password is in no answer, log or report" \
  bash -c "! grep -rqF -- '$REG_PASS' '$W/serve.log' '$W/metrics.txt' '$W/images.json' '$W/report.json' '$W/alerts.jsonl' 2>/dev/null"
check "the webhook secret is in no answer or log" \
  bash -c "! grep -rqF -- \"\$(cat '$W/webhook.secret')\" '$W/serve.log' '$W/metrics.txt' '$W/images.json' 2>/dev/null"

# ---------- kill -9 while a real scan runs; the restart finishes it ----------
if [ -f "$FX/debian/index.json" ]; then
  skopeo copy -q --digestfile "$W/digest-deb" --dest-creds "$REG_USER:$REG_PASS" \
    --dest-cert-dir "$CERTDIR" "oci:$FX/debian" "docker://$REG/e2e/debian:12" || bad "debian push failed"
  DEB=$(cat "$W/digest-deb" 2>/dev/null)
  running=0
  for _ in $(seq 1 600); do
    if curl -s "$API/metrics" | grep -q '^cellscan_jobs{state="running"} 1$'; then running=1; break; fi
    sleep 0.05
  done
  check "the debian scan is running" test $running = 1
  kill -KILL "$SERVE_PID"
  wait "$SERVE_PID" 2>/dev/null
  check "no report yet for the killed scan" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/images/$DEB/report" 2>/dev/null)" != 200
  "$BIN" serve --config "$W/serve.json" >>"$W/serve.log" 2>&1 &
  SERVE_PID=$!
  got=0
  for _ in $(seq 1 1200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/images/$DEB/report")" = 200 ] && { got=1; break; }
    sleep 0.1
  done
  check "after kill -9 and a restart the job was put back" grep -q 'put back in the queue' "$W/serve.log"
  check "... and its report is served" test $got = 1
  check "... once (one image in the repository)" \
    test "$(curl -s "$API/v1/images?repository=$REG/e2e/debian" | jq '.images | length')" = 1
  check "... and the earlier result is still there" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/images/$DIGEST/report")" = 200
else
  echo "skip kill -9 with a real scan: no $FX/debian"
fi

# ---------- HTTPS (a second service, its own state directory) ----------
P_TLS=$(free_port)
cat >"$W/tls.json" <<EOF
{"listen": "127.0.0.1:$P_TLS", "state_dir": "$W/state-tls", "vulndb": "$W/vulndb.sqlite",
 "tls": {"cert": "$W/env/ca/server.crt", "key": "$W/env/ca/server.key"}}
EOF
"$BIN" serve --config "$W/tls.json" >"$W/serve-tls.log" 2>&1 &
TLS_PID=$!
code=000
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "https://127.0.0.1:$P_TLS/healthz" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
check "HTTPS with the configured certificate" test "$code" = 200
check "no plain HTTP on the HTTPS port" \
  bash -c "! curl -s -m 3 -o /dev/null 'http://127.0.0.1:$P_TLS/healthz'"
kill -TERM "$TLS_PID" 2>/dev/null
wait "$TLS_PID"
check "HTTPS service: SIGTERM exit status 0" test $? = 0

# ---------- SIGTERM ----------
kill -TERM "$SERVE_PID"
st=1
for _ in $(seq 1 200); do
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then wait "$SERVE_PID"; st=$?; break; fi
  sleep 0.1
done
SERVE_PID=
check "SIGTERM: exit status 0" test "$st" = 0
check "SIGTERM: said it stopped" grep -q 'stopped' "$W/serve.log"

echo "passed $PASS, failed $FAIL"
[ "$FAIL" = 0 ]
