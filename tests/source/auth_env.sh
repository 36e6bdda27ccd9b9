#!/usr/bin/env bash
# The registries behind test_auth_helpers.c and test_auth_token.c.
#
#   tests/source/auth_env.sh start WORKDIR   exit 0 ready, 77 a tool is missing
#   tests/source/auth_env.sh stop WORKDIR
#
# start runs scripts/registry-test-env.sh (the shared one, unchanged: the
# htpasswd registry REG, the token registry TREG with the shared token
# service on TOKEN_HOST) in WORKDIR/env, then adds, all on loopback:
#   - an image written here (tests/source/auth_image.py: config and three
#     small gzip layers), pushed with skopeo as cs/auth:latest and
#     private/auth:latest; WORKDIR/expect.json has its digests, computed
#     from the bytes written, not from anything cellscan says;
#   - tests/integration/registry/token_server.py (short-lived and rejected
#     tokens, its mode read from WORKDIR/token-mode.json on every request,
#     log WORKDIR/atoken.log)
#     on localhost, and a third docker-registry (ATREG) trusting it, on the
#     same storage;
#   - tests/integration/registry/fault_proxy.py twice: PX in front of REG,
#     APX in front of ATREG.
# WORKDIR/vars has NAME=VALUE lines: REG TREG TOKEN_HOST TOKEN_LOG CA
# REG_USER REG_PASS ATREG ATOKEN_HOST ATOKEN_LOG ATOKEN_MODE PX PX_OTHER APX.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CMD=${1:-}
W=${2:-}
[ -n "$CMD" ] && [ -n "$W" ] || { echo "usage: $0 start|stop WORKDIR" >&2; exit 2; }

stop() {
  if [ -f "$W/auth-pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null; done <"$W/auth-pids"
    rm -f "$W/auth-pids"
  fi
  [ -d "$W/env" ] && "$REPO/scripts/registry-test-env.sh" stop "$W/env" >/dev/null 2>&1
  return 0
}
if [ "$CMD" = stop ]; then stop; exit 0; fi
[ "$CMD" = start ] || { echo "usage: $0 start|stop WORKDIR" >&2; exit 2; }

for t in docker-registry skopeo openssl htpasswd python3 curl jq; do
  command -v "$t" >/dev/null ||
    { echo "SKIP: $t is not installed (scripts/setup.sh installs it)"; exit 77; }
done
mkdir -p "$W"
W=$(cd "$W" && pwd)
: >"$W/auth-pids"
fail() { echo "auth_env: $*" >&2; stop; exit 1; }
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

"$REPO/scripts/registry-test-env.sh" start "$W/env" >"$W/env.log" 2>&1 || {
  rc=$?; cat "$W/env.log" >&2; [ $rc = 77 ] && exit 77; fail "registry-test-env.sh failed"; }
# shellcheck disable=SC1091
. "$W/env/env"

python3 "$HERE/auth_image.py" "$W/oci" "$W/expect.json" || fail "writing the test image failed"
for dst in cs/auth private/auth; do
  skopeo copy -q --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$CERTDIR" \
    "oci:$W/oci:latest" "docker://$REG/$dst:latest" >"$W/push.log" 2>&1 ||
    { cat "$W/push.log" >&2; fail "push $dst failed"; }
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
P_AT=$(free_port)
P_ATREG=$(free_port)
: >"$W/atoken.log"
python3 "$HERE/../integration/registry/token_server.py" --port "$P_AT" --cert "$W/env/ca/server.crt" \
  --key "$W/env/ca/server.key" --token-cert "$W/env/token/token.crt" \
  --token-key "$W/env/token/token.key" --log "$W/atoken.log" --control "$W/token-mode.json" \
  --user "$REG_USER:$REG_PASS" >"$W/atoken-server.log" 2>&1 &
echo $! >>"$W/auth-pids"
cat >"$W/atreg.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/env/storage
http:
  addr: 127.0.0.1:$P_ATREG
  tls:
    certificate: $W/env/ca/server.crt
    key: $W/env/ca/server.key
auth:
  token:
    realm: https://localhost:$P_AT/token
    service: cellscan-auth-test
    issuer: cellscan-test-issuer
    rootcertbundle: $W/env/token/token.crt
EOF
docker-registry serve "$W/atreg.yml" >"$W/atreg.log" 2>&1 &
echo $! >>"$W/auth-pids"

start_proxy() { # NAME UPSTREAM
  python3 "$REPO/tests/integration/registry/fault_proxy.py" "$2" "$CA" "$W/env/ca/server.crt" \
    "$W/env/ca/server.key" "$W/$1.ports" >"$W/$1.log" 2>&1 &
  echo $! >>"$W/auth-pids"
}
start_proxy px "$REG"
start_proxy apx "127.0.0.1:$P_ATREG"

for f in px apx; do
  for _ in $(seq 1 100); do [ -f "$W/$f.ports" ] && break; sleep 0.1; done
  [ -f "$W/$f.ports" ] || fail "fault_proxy $f did not start: $(cat "$W/$f.log")"
done
for url in "https://127.0.0.1:$P_ATREG/v2/" "https://localhost:$P_AT/token?service=x"; do
  ok=0
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$url" || true)
    if [ "$code" = 401 ] || [ "$code" = 200 ]; then ok=1; break; fi
    sleep 0.1
  done
  [ $ok = 1 ] || fail "$url did not come up"
done
: >"$W/atoken.log"

cat >"$W/vars" <<EOF
REG=$REG
TREG=$TREG
TOKEN_HOST=$TOKEN_HOST
TOKEN_LOG=$TOKEN_LOG
CA=$CA
REG_USER=$REG_USER
REG_PASS=$REG_PASS
ATREG=127.0.0.1:$P_ATREG
ATOKEN_HOST=localhost:$P_AT
ATOKEN_LOG=$W/atoken.log
ATOKEN_MODE=$W/token-mode.json
PX=127.0.0.1:$(jq -r .tls "$W/px.ports")
PX_OTHER=localhost:$(jq -r .other "$W/px.ports")
APX=127.0.0.1:$(jq -r .tls "$W/apx.ports")
EOF
exit 0
