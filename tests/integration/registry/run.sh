#!/usr/bin/env bash
# Registry and blob-cache integration test (issue 3), through the real
# `cellscan sbom` binary against Debian's docker-registry on loopback (TLS,
# htpasswd basic auth, and a token-auth registry with a loopback token
# service), with a fault-injecting proxy in front.
#
#   tests/integration/registry/run.sh [BUILD_DIR]
#
# BUILD_DIR (default $CELLSCAN_BUILD_DIR, else build-registry) has
# bin/cellscan and libexec/cellscan/cellscan-worker; $CELLSCAN_BIN overrides
# the binary. Exit 0 pass, 77 skipped (the reason is printed), 1 failed.
# Images: built here with umoci from the shared Alpine minirootfs; Debian and
# the multi-platform Alpine index from scripts/make-test-images.sh are used
# when ${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}/oci has them.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${1:-${CELLSCAN_BUILD_DIR:-$REPO/build-registry}}
BIN=${CELLSCAN_BIN:-$BUILD/bin/cellscan}
FX=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}/oci
SHARED=${CS_SHARED_DIR:-$REPO/../shared}
ALPINE_TGZ=$SHARED/fixtures/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz

skip() { echo "SKIP: $*"; exit 77; }
for t in docker-registry skopeo umoci openssl htpasswd python3 curl jq; do
  command -v "$t" >/dev/null || skip "$t is not installed (scripts/setup.sh installs it)"
done
[ -x "$BIN" ] || skip "no cellscan binary at $BIN (build the cellscan and cellscan-worker targets)"
[ -f "$ALPINE_TGZ" ] || skip "$ALPINE_TGZ is missing (the shared fixtures)"
[ "$(id -u)" = 0 ] || skip "umoci unpack/repack of the test images needs root here"
if "$BIN" sbom --format layers --cache-dir /nonexistent 2>&1 | grep -q "unknown option"; then
  skip "this cellscan sbom does not take the source options yet (cs_source_parse_option is not wired into the CLI)"
fi

W=$(mktemp -d /tmp/cellscan-regtest.XXXXXX)
PROXY_PID=
cleanup() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  "$REPO/scripts/registry-test-env.sh" stop "$W/env" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset CELLSCAN_REGISTRY_USERNAME CELLSCAN_REGISTRY_PASSWORD
export DOCKER_CONFIG=$W/no-docker-config   # never the caller's credentials
mkdir -p "$W/out" "$W/bin"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
t0=$(date +%s)

# ---------- registries ----------
"$REPO/scripts/registry-test-env.sh" start "$W/env" >/dev/null || { echo "registry env failed"; exit 1; }
# shellcheck disable=SC1091
. "$W/env/env"

# ---------- images ----------
# base: the Alpine minirootfs as one layer; a and b: base plus one small layer
# each, so they share base's layer blob.
L=$W/oci
{
  umoci init --layout "$L" &&
  umoci new --image "$L:base" &&
  umoci unpack --image "$L:base" "$W/u0" &&
  tar -xzf "$ALPINE_TGZ" -C "$W/u0/rootfs" &&
  umoci repack --image "$L:base" "$W/u0" &&
  for x in a b; do
    umoci unpack --image "$L:base" "$W/u$x" && echo "$x" >"$W/u$x/rootfs/$x.txt" &&
    umoci repack --image "$L:$x" "$W/u$x" || exit 1
  done
} >"$W/umoci.log" 2>&1 || { cat "$W/umoci.log"; echo "building test images failed"; exit 1; }

push() { # SRC DEST [skopeo args]
  local src=$1 dst=$2
  shift 2
  skopeo copy -q "$@" --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$CERTDIR" \
    "$src" "docker://$REG/$dst" >"$W/push.log" 2>&1 || { cat "$W/push.log"; echo "push $dst failed"; exit 1; }
}
for x in base a b; do push "oci:$L:$x" "cs/$x:latest"; done
push "oci:$L:a" "private/a:latest"
HAVE_MULTI=0
HAVE_DEBIAN=0
if [ -f "$FX/alpine-multi/index.json" ]; then push "oci:$FX/alpine-multi:latest" cs/multi:latest --all; HAVE_MULTI=1; fi
if [ -f "$FX/debian/index.json" ]; then push "oci:$FX/debian:latest" cs/debian:latest; HAVE_DEBIAN=1; fi

# ---------- proxy ----------
python3 "$HERE/fault_proxy.py" "$REG" "$CA" "$W/env/ca/server.crt" "$W/env/ca/server.key" \
  "$W/ports.json" >"$W/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 1 100); do [ -f "$W/ports.json" ] && break; sleep 0.1; done
[ -f "$W/ports.json" ] || { cat "$W/proxy.log"; echo "proxy did not start"; exit 1; }
PX=127.0.0.1:$(jq -r .tls "$W/ports.json")
PLAIN=127.0.0.1:$(jq -r .plain "$W/ports.json")
SILENT=127.0.0.1:$(jq -r .silent "$W/ports.json")
CLOSED=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "setup: $(($(date +%s) - t0)) s (registry $REG, token registry $TREG, proxy $PX)"

ctl() { curl -s --cacert "$CA" -X POST "https://$PX/__ctl/$1" --data-binary "${2:-}" >/dev/null; }
plog() { curl -s --cacert "$CA" "https://$PX/__ctl/log"; }

# scan NAME REF [args]: stdout to out/NAME.json, stderr to out/NAME.err, RC, SECS
scan() {
  local name=$1 ref=$2
  shift 2
  local s e
  s=$(date +%s.%N)
  "$BIN" sbom --format layers "$ref" --cache-dir "$W/cache-$name" "$@" >"$W/out/$name.json" 2>"$W/out/$name.err"
  RC=$?
  e=$(date +%s.%N)
  SECS=$(echo "$e - $s" | bc 2>/dev/null || python3 -c "print($e - $s)")
}
creds() { export CELLSCAN_REGISTRY_USERNAME=$REG_USER CELLSCAN_REGISTRY_PASSWORD=$REG_PASS; }
nocreds() { unset CELLSCAN_REGISTRY_USERNAME CELLSCAN_REGISTRY_PASSWORD; }
# what must agree between sources: manifest, config, platform, layer digests/sizes/diff_ids
shape() { jq -c '[.manifest_digest, .config_digest, .platform, [.layers[] | [.digest, .size, .diff_id, .media_type]]]' "$1" 2>/dev/null; }
expect_ok() { # NAME WANT_SHAPE_FILE
  if [ "$RC" = 0 ] && [ "$(shape "$W/out/$1.json")" = "$(shape "$2")" ] && [ -n "$(shape "$2")" ]; then
    ok "$1"
  else
    bad "$1 (rc $RC): $(head -c 400 "$W/out/$1.err")"
  fi
}
expect_err() { # NAME PATTERN [RC]
  if [ "$RC" = "${3:-3}" ] && grep -Eq -- "$2" "$W/out/$1.err"; then
    ok "$1: $(head -c 200 "$W/out/$1.err")"
  else
    bad "$1 (rc $RC, wanted ${3:-3} and /$2/): $(head -c 400 "$W/out/$1.err")"
  fi
}

# references from the OCI layouts themselves
for x in a b base; do
  "$BIN" sbom --format layers "oci:$L:$x" >"$W/out/oci-$x.json" 2>"$W/out/oci-$x.err" || { cat "$W/out/oci-$x.err"; exit 1; }
done
MD_A=$(jq -r .manifest_digest "$W/out/oci-a.json")
BASE_LAYER=$(jq -r '.layers[0].digest' "$W/out/oci-base.json")
A_TOP=$(jq -r '.layers[1].digest' "$W/out/oci-a.json")

# ---------- the same image by tag, by digest, from the layout ----------
creds
scan by-tag "$REG/cs/a:latest" --ca-file "$CA"
expect_ok by-tag "$W/out/oci-a.json"
scan by-digest "$REG/cs/a@$MD_A" --ca-file "$CA"
expect_ok by-digest "$W/out/oci-a.json"
scan docker-scheme "docker://$REG/cs/a" --ca-file "$CA"
expect_ok docker-scheme "$W/out/oci-a.json"
# a damaged blob in the cache: never read while its layer's inventory is cached
# (so a warm scan does not hash it), named with the fix when it is needed
CD="$W/cache-by-tag"
DB="$CD/blobs/sha256/${A_TOP#sha256:}"
if [ -f "$DB" ]; then
  chmod u+w "$DB" && printf 'X' | dd of="$DB" bs=1 seek=100 conv=notrunc 2>/dev/null
  "$BIN" sbom --format layers "$REG/cs/a:latest" --ca-file "$CA" --cache-dir "$CD" \
    >"$W/out/damaged-warm.json" 2>"$W/out/damaged-warm.err"
  RC=$?
  expect_ok damaged-warm "$W/out/oci-a.json"
  "$BIN" sbom --format layers "$REG/cs/a:latest" --ca-file "$CA" --cache-dir "$CD" --no-cache \
    >"$W/out/damaged-cold.json" 2>"$W/out/damaged-cold.err"
  RC=$?
  expect_err damaged-cold "cached layer blob $A_TOP is damaged.*cellscan cache prune"
else
  bad "damaged: the by-tag scan left no blob $A_TOP in $CD"
fi
# one layer at a time gives the same image; a lane count out of range is a usage error
scan one-lane "$REG/cs/a:latest" --ca-file "$CA" --registry-parallel 1
expect_ok one-lane "$W/out/oci-a.json"
scan bad-lanes "$REG/cs/a:latest" --ca-file "$CA" --registry-parallel 17
expect_err bad-lanes "--registry-parallel: \"17\" is not a number from 1 to 16" 2
# inventories agree too (whatever the analyzers find)
if [ "$(jq -c '[.layers[] | .packages, .os]' "$W/out/by-tag.json")" = "$(jq -c '[.layers[] | .packages, .os]' "$W/out/oci-a.json")" ]; then
  ok "by-tag inventory = oci: inventory"
else bad "by-tag inventory differs from oci:"; fi
scan wrong-digest "$REG/cs/a@sha256:$(printf '0%.0s' $(seq 64))" --ca-file "$CA"
expect_err wrong-digest "not found"

if [ $HAVE_DEBIAN = 1 ]; then
  "$BIN" sbom --format layers "oci:$FX/debian:latest" >"$W/out/oci-debian.json" 2>/dev/null
  scan debian "$REG/cs/debian:latest" --ca-file "$CA"
  expect_ok debian "$W/out/oci-debian.json"
  want=$(jq '[.layers[].size] | add' "$W/out/oci-debian.json")
  got=$(du -b --apparent-size -c "$W"/cache-debian/blobs/sha256/* | tail -1 | cut -f1)
  [ "$want" = "$got" ] && ok "debian: cache holds exactly the compressed layers ($got bytes)" \
    || bad "debian: cache has $got bytes, layers $want"
else
  echo "note: no Debian fixture image in $FX (scripts/make-test-images.sh); its test is not run"
fi

# ---------- multi-platform index ----------
if [ $HAVE_MULTI = 1 ]; then
  "$BIN" sbom --format layers "oci:$FX/alpine-multi:latest" --platform linux/amd64 >"$W/out/oci-multi-amd64.json" 2>/dev/null
  "$BIN" sbom --format layers "oci:$FX/alpine-multi:latest" --platform linux/arm64 >"$W/out/oci-multi-arm64.json" 2>/dev/null
  scan multi-amd64 "$REG/cs/multi" --ca-file "$CA" --platform linux/amd64
  expect_ok multi-amd64 "$W/out/oci-multi-amd64.json"
  scan multi-arm64 "$REG/cs/multi:latest" --ca-file "$CA" --platform linux/arm64
  expect_ok multi-arm64 "$W/out/oci-multi-arm64.json"
  case $(jq -r .platform "$W/out/multi-arm64.json") in
    linux/arm64*) ok "multi-arm64: platform $(jq -r .platform "$W/out/multi-arm64.json")" ;;
    *) bad "multi-arm64: platform $(jq -r .platform "$W/out/multi-arm64.json")" ;;
  esac
  scan multi-none "$REG/cs/multi:latest" --ca-file "$CA" --platform linux/s390x
  expect_err multi-none "no image for platform linux/s390x .*linux/amd64, linux/arm64/v8"
else
  echo "note: no alpine-multi fixture in $FX; the platform tests are not run"
fi

# ---------- credentials ----------
nocreds
scan no-creds "$REG/cs/a:latest" --ca-file "$CA"
expect_err no-creds "authentication required"
export CELLSCAN_REGISTRY_USERNAME=$REG_USER CELLSCAN_REGISTRY_PASSWORD=wrong-$REG_PASS
scan wrong-creds "$REG/cs/a:latest" --ca-file "$CA"
expect_err wrong-creds "authentication failed: .* rejected the credentials from environment"
nocreds
printf '%s\n' "$REG_PASS" | "$BIN" sbom --format layers "$REG/cs/a:latest" --ca-file "$CA" --cache-dir "$W/cache-stdin" \
  --username "$REG_USER" --password-stdin >"$W/out/stdin.json" 2>"$W/out/stdin.err"
RC=$?
expect_ok stdin "$W/out/oci-a.json"
scan argv-password "$REG/cs/a:latest" --ca-file "$CA" --username "$REG_USER" --password "$REG_PASS"
expect_err argv-password "--password is not accepted" 2
# docker config: auths (base64 user:password)
mkdir -p "$W/dc1"
printf '{"auths":{"https://%s":{"auth":"%s"}}}' "$REG" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$W/dc1/config.json"
DOCKER_CONFIG=$W/dc1 scan docker-config "$REG/cs/a:latest" --ca-file "$CA"
expect_ok docker-config "$W/out/oci-a.json"
DOCKER_CONFIG=$W/dc1 scan no-docker-config "$REG/cs/a:latest" --ca-file "$CA" --no-docker-config
expect_err no-docker-config "authentication required"
# docker config: credHelpers, the helper spawned without a shell, server on stdin
mkdir -p "$W/dc2"
cat >"$W/bin/docker-credential-cstest" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$W/helper.argv"
cat >"$W/helper.stdin"
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$REG" "$REG_USER" "$REG_PASS"
EOF
chmod +x "$W/bin/docker-credential-cstest"
printf '{"credHelpers":{"%s":"cstest"}}' "$REG" >"$W/dc2/config.json"
PATH=$W/bin:$PATH DOCKER_CONFIG=$W/dc2 scan cred-helper "$REG/cs/a:latest" --ca-file "$CA"
expect_ok cred-helper "$W/out/oci-a.json"
if [ "$(cat "$W/helper.argv" 2>/dev/null)" = get ] && [ "$(cat "$W/helper.stdin" 2>/dev/null)" = "$REG" ]; then
  ok "cred-helper: argv is just 'get', the server came on stdin"
else bad "cred-helper: argv '$(cat "$W/helper.argv" 2>/dev/null)' stdin '$(cat "$W/helper.stdin" 2>/dev/null)'"; fi

# ---------- TLS and plain HTTP ----------
creds
scan no-ca "$REG/cs/a:latest"
expect_err no-ca "TLS with $REG failed"
scan plain-refused "$PLAIN/cs/a:latest" --ca-file "$CA"
expect_err plain-refused "TLS with $PLAIN failed|$PLAIN"
scan insecure "$PLAIN/cs/a:latest" --insecure-registry "$PLAIN"
expect_ok insecure "$W/out/oci-a.json"

# ---------- bearer tokens ----------
nocreds
: >"$TOKEN_LOG"
scan token-anon "$TREG/cs/a:latest" --ca-file "$CA"
expect_ok token-anon "$W/out/oci-a.json"
creds
: >"$TOKEN_LOG"
scan token-withheld "$TREG/private/a:latest" --ca-file "$CA"
expect_err token-withheld "not sent to the token service on $TOKEN_HOST .*--auth-allow-host $TOKEN_HOST"
if [ -s "$TOKEN_LOG" ] && ! jq -e 'select(.auth)' "$TOKEN_LOG" >/dev/null; then
  ok "token-withheld: the token service on another host got no credentials"
else bad "token-withheld: token service log: $(cat "$TOKEN_LOG")"; fi
: >"$TOKEN_LOG"
scan token-allowed "$TREG/private/a:latest" --ca-file "$CA" --auth-allow-host "$TOKEN_HOST"
expect_ok token-allowed "$W/out/oci-a.json"
[ "$(jq -s '[.[] | select(.auth and .ok)] | length' "$TOKEN_LOG")" = 1 ] \
  && ok "token-allowed: one authenticated token request (then cached)" \
  || bad "token-allowed: token log $(cat "$TOKEN_LOG")"
export CELLSCAN_REGISTRY_PASSWORD=wrong
scan token-wrong "$TREG/private/a:latest" --ca-file "$CA" --auth-allow-host "$TOKEN_HOST"
expect_err token-wrong "token service at $TOKEN_HOST rejected the credentials from environment"
creds

# ---------- faults through the proxy ----------
ctl reset
ctl rules '[{"match": "/manifests/", "action": "status", "code": 500, "times": 2}]'
scan retry-500 "$PX/cs/a:latest" --ca-file "$CA"
expect_ok retry-500 "$W/out/oci-a.json"
n=$(plog | jq '[.[] | select((.path | test("/manifests/latest$")) and .status == 500)] | length')
[ "$n" = 2 ] && ok "retry-500: two 500s seen, then success" || bad "retry-500: $n injected 500s seen"

ctl reset
ctl rules "[{\"match\": \"/blobs/$BASE_LAYER\", \"action\": \"status\", \"code\": 429, \"headers\": {\"Retry-After\": \"2\"}, \"times\": 1}]"
scan retry-429 "$PX/cs/a:latest" --ca-file "$CA"
expect_ok retry-429 "$W/out/oci-a.json"
python3 -c "import sys; sys.exit(0 if float('$SECS') >= 2.0 else 1)" \
  && ok "retry-429: waited for Retry-After (${SECS%???????} s)" || bad "retry-429: took only $SECS s"

ctl reset
ctl rules "[{\"match\": \"/blobs/$BASE_LAYER\", \"action\": \"cut\", \"after\": 100000, \"times\": 1}]"
scan resume "$PX/cs/a:latest" --ca-file "$CA"
expect_ok resume "$W/out/oci-a.json"
n=$(plog | jq "[.[] | select(.path | endswith(\"$BASE_LAYER\")) | .range] | join(\",\")")
[ "$n" = '",bytes=100000-"' ] && ok "resume: cut at 100000 bytes, resumed with Range" || bad "resume: ranges seen $n"

ctl reset
ctl rules "[{\"match\": \"/blobs/$A_TOP\", \"action\": \"corrupt\", \"times\": 1}]"
scan corrupt "$PX/cs/a:latest" --ca-file "$CA"
expect_err corrupt "blob $A_TOP does not match its digest"
ls "$W/cache-corrupt/blobs/sha256/${A_TOP#sha256:}" >/dev/null 2>&1 && bad "corrupt: bad blob stored" \
  || ok "corrupt: nothing stored under the digest"

ctl reset
ctl rules '[{"match": "/manifests/", "action": "bigmanifest", "size": 5242880, "times": 1}]'
scan big-manifest "$PX/cs/a:latest" --ca-file "$CA"
expect_err big-manifest "manifest latest is larger than the limit of 4194304 bytes"
ctl rules '[{"match": "/manifests/", "action": "bigmanifest", "size": 5242880, "chunked": true, "times": 1}]'
scan big-manifest-chunked "$PX/cs/a:latest" --ca-file "$CA"
expect_err big-manifest-chunked "larger than the limit of 4194304 bytes"

ctl reset
ctl rules "[{\"match\": \"/blobs/$BASE_LAYER\", \"action\": \"redirect\", \"times\": 1}]"
scan redirect "$PX/cs/a:latest" --ca-file "$CA"
expect_ok redirect "$W/out/oci-a.json"
other=$(plog | jq -c '[.[] | select(.listener == "other") | .auth]')
from=$(plog | jq -c "[.[] | select(.status == 307) | .auth]")
[ "$other" = "[false]" ] && [ "$from" = "[true]" ] \
  && ok "redirect: followed to another host without the Authorization header" \
  || bad "redirect: auth at the other host $other, at the registry $from"

ctl reset
ctl rules '[{"match": "/manifests/", "action": "status", "code": 503, "times": -1}]'
scan give-up "$PX/cs/a:latest" --ca-file "$CA" --registry-retries 2
expect_err give-up "answered HTTP 503 .*after retries"
ctl reset

scan unreachable "$CLOSED/cs/a:latest" --ca-file "$CA"
expect_err unreachable "cannot connect to $CLOSED"
scan silent "$SILENT/cs/a:latest" --ca-file "$CA" --connect-timeout 2
expect_err silent "$SILENT did not answer in time"
python3 -c "import sys; sys.exit(0 if float('$SECS') < 15 else 1)" \
  && ok "silent: failed after ${SECS%???????} s (connect timeout 2 s)" || bad "silent: took $SECS s"

# ---------- concurrency: shared layers downloaded once ----------
ctl reset
rm -rf "$W/cache-shared"
"$BIN" sbom --format layers "$PX/cs/a:latest" --ca-file "$CA" --cache-dir "$W/cache-shared" >"$W/out/conc-a.json" 2>"$W/out/conc-a.err" &
pa=$!
"$BIN" sbom --format layers "$PX/cs/b:latest" --ca-file "$CA" --cache-dir "$W/cache-shared" >"$W/out/conc-b.json" 2>"$W/out/conc-b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
RC=$ra; expect_ok conc-a "$W/out/oci-a.json"
"$BIN" sbom --format layers "oci:$L:b" >"$W/out/oci-b.json" 2>/dev/null
RC=$rb; expect_ok conc-b "$W/out/oci-b.json"
n=$(plog | jq "[.[] | select((.path | endswith(\"$BASE_LAYER\")) and .status == 200)] | length")
[ "$n" = 1 ] && ok "concurrency: the shared layer was downloaded once" || bad "concurrency: shared layer downloaded $n times"
cp -r "$W/cache-shared" "$W/cache-warm2"
ctl reset
scan warm2 "$PX/cs/a:latest" --ca-file "$CA"
expect_ok warm2 "$W/out/oci-a.json"
n=$(plog | jq '[.[] | select(.path | test("/blobs/"))] | length')
[ "$n" = 1 ] && ok "warm cache: only the config was fetched, no layer" || bad "warm cache: $n blob requests"

# ---------- cache status / prune / cap ----------
if "$BIN" cache status --cache-dir "$W/cache-shared" --json >"$W/out/status.json" 2>"$W/out/status.err"; then
  [ "$(jq .blobs "$W/out/status.json")" = 3 ] && ok "cache status: 3 blobs" || bad "cache status: $(cat "$W/out/status.json")"
  "$BIN" cache prune --cache-dir "$W/cache-shared" --cache-max-size 5k --json >"$W/out/prune.json"
  [ "$(jq '.bytes <= 5120 and .removed >= 1 and .blobs >= 1' "$W/out/prune.json")" = true ] &&
    [ ! -e "$W/cache-shared/blobs/sha256/${BASE_LAYER#sha256:}" ] \
    && ok "cache prune --cache-max-size 5k: least recently used evicted down to the cap, base layer gone" \
    || bad "cache prune: $(cat "$W/out/prune.json")"
  "$BIN" cache prune --cache-dir "$W/cache-shared" --all --json >"$W/out/prune-all.json"
  [ "$(jq .blobs "$W/out/prune-all.json")" = 0 ] && ok "cache prune --all" || bad "cache prune --all: $(cat "$W/out/prune-all.json")"
else
  bad "cache status: $(cat "$W/out/status.err")"
fi
scan capped "$REG/cs/a:latest" --ca-file "$CA" --cache-max-size 1k
expect_ok capped "$W/out/oci-a.json"
n=$(find "$W/cache-capped/blobs/sha256" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
[ "$n" -le 1024 ] && [ ! -e "$W/cache-capped/blobs/sha256/${BASE_LAYER#sha256:}" ] \
  && ok "capped: scanned from held descriptors, then evicted to fit 1k ($n bytes left)" \
  || bad "capped: $n bytes left"

# ---------- sanitizers ----------
if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$W"/out/*.err >/dev/null 2>&1; then
  bad "sanitizer reports in: $(grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$W"/out/*.err | tr '\n' ' ')"
else
  ok "no sanitizer report in any run"
fi

# ---------- no secret anywhere ----------
if grep -rlF -- "$REG_PASS" "$W/out" "$W/proxy.log" >/dev/null 2>&1; then
  bad "the registry password appears in: $(grep -rlF -- "$REG_PASS" "$W/out" "$W/proxy.log" | tr '\n' ' ')"
else
  ok "the password appears in no output, error or log"
fi

echo "registry tests: $PASS passed, $FAIL failed in $(($(date +%s) - t0)) s"
[ "$FAIL" = 0 ]
