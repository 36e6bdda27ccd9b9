#!/usr/bin/env bash
# Starts real registries on loopback for cellscan's registry tests, and stops them.
#
#   scripts/registry-test-env.sh start WORKDIR   prints the basic-auth registry's
#                                                address (127.0.0.1:PORT) on stdout
#   scripts/registry-test-env.sh stop WORKDIR
#
# start makes, under WORKDIR:
#   ca/ca.crt, ca/server.{crt,key}   a test CA and a server certificate for
#                                    127.0.0.1 and localhost (openssl)
#   certs/ca.crt                     the CA as skopeo's --dest-cert-dir wants it
#   token/token.{crt,key}            the token service's signing certificate
#   htpasswd                         one bcrypt user (htpasswd -B)
#   storage/                         the registries' shared filesystem storage
#   env                              shell variables for the tests:
#     REG        basic-auth registry (Debian's docker-registry, TLS, htpasswd)
#     TREG       token-auth registry (same storage, auth: token)
#     TOKEN_HOST token service (tests/integration/registry/token_server.py),
#                on "localhost", a different host name than the registries'
#     CA CERTDIR REG_USER REG_PASS TOKEN_LOG
#   pids, logs/
# Optional: with CS_NOTIFY_URL (and CS_NOTIFY_SECRET_FILE) set, the basic-auth
# registry also sends its event notifications to CS_NOTIFY_URL (a
# `notifications.endpoints` entry with `headers: Authorization: [Bearer
# <the file's first line>]`, timeout 5s, threshold 3, backoff 1s); the token
# registry sends none.
# Every listener binds 127.0.0.1 only. Needs docker-registry, openssl,
# htpasswd (apache2-utils), python3 and curl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CMD=${1:-}
W=${2:-}
[ -n "$CMD" ] && [ -n "$W" ] || { echo "usage: $0 start|stop WORKDIR" >&2; exit 2; }

stop() {
  [ -f "$W/pids" ] || return 0
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done <"$W/pids"
  rm -f "$W/pids"
}

if [ "$CMD" = stop ]; then
  stop
  exit 0
fi
[ "$CMD" = start ] || { echo "usage: $0 start|stop WORKDIR" >&2; exit 2; }

for t in docker-registry openssl htpasswd python3 curl; do
  command -v "$t" >/dev/null || { echo "registry-test-env: $t is not installed" >&2; exit 77; }
done

mkdir -p "$W"/{ca,certs,token,storage,logs}
W=$(cd "$W" && pwd)
: >"$W/pids"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- a CA and a server certificate (SANs: 127.0.0.1, localhost) ---
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cellscan test CA" \
  -keyout "$W/ca/ca.key" -out "$W/ca/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$W/ca/server.key" -out "$W/ca/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$W/ca/ext"
openssl x509 -req -in "$W/ca/server.csr" -CA "$W/ca/ca.crt" -CAkey "$W/ca/ca.key" \
  -CAcreateserial -days 2 -extfile "$W/ca/ext" -out "$W/ca/server.crt" 2>/dev/null
cp "$W/ca/ca.crt" "$W/certs/ca.crt"
# --- the token service's signing certificate (self-signed, the registry's rootcertbundle) ---
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cellscan test token signer" \
  -keyout "$W/token/token.key" -out "$W/token/token.crt" 2>/dev/null

REG_USER=cellscan
REG_PASS=$(openssl rand -hex 12)
htpasswd -Bbc "$W/htpasswd" "$REG_USER" "$REG_PASS" 2>/dev/null

P_BASIC=$(free_port)
P_TOKEN_REG=$(free_port)
P_TOKEN=$(free_port)

common_cfg() { # ADDR
  cat <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/storage
  delete:
    enabled: true
http:
  addr: $1
  tls:
    certificate: $W/ca/server.crt
    key: $W/ca/server.key
EOF
}
notify_cfg() {
  [ -n "${CS_NOTIFY_URL:-}" ] || return 0
  local secret=""
  if [ -n "${CS_NOTIFY_SECRET_FILE:-}" ]; then
    secret=$(head -n 1 "$CS_NOTIFY_SECRET_FILE")
  fi
  cat <<EOF
notifications:
  endpoints:
    - name: cellscan
      url: $CS_NOTIFY_URL
      headers:
        Authorization: [Bearer $secret]
      timeout: 5s
      threshold: 3
      backoff: 1s
EOF
}
{ common_cfg "127.0.0.1:$P_BASIC"; cat <<EOF
auth:
  htpasswd:
    realm: cellscan-test
    path: $W/htpasswd
EOF
  notify_cfg
} >"$W/basic.yml"
{ common_cfg "127.0.0.1:$P_TOKEN_REG"; cat <<EOF
auth:
  token:
    realm: https://localhost:$P_TOKEN/token
    service: cellscan-test
    issuer: cellscan-test-issuer
    rootcertbundle: $W/token/token.crt
EOF
} >"$W/token.yml"

# OTEL/proxy settings of the caller must not reach the loopback services
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
docker-registry serve "$W/basic.yml" >"$W/logs/basic.log" 2>&1 &
echo $! >>"$W/pids"
docker-registry serve "$W/token.yml" >"$W/logs/token-registry.log" 2>&1 &
echo $! >>"$W/pids"
: >"$W/token.log"
python3 "$REPO/tests/integration/registry/token_server.py" --port "$P_TOKEN" \
  --cert "$W/ca/server.crt" --key "$W/ca/server.key" --token-cert "$W/token/token.crt" \
  --token-key "$W/token/token.key" --user "$REG_USER:$REG_PASS" \
  --log "$W/token.log" >"$W/logs/token-server.log" 2>&1 &
echo $! >>"$W/pids"

# ready when each answers (401 from the registries, 200 from the token service)
for url in "https://127.0.0.1:$P_BASIC/v2/" "https://127.0.0.1:$P_TOKEN_REG/v2/" \
           "https://localhost:$P_TOKEN/token?service=x"; do
  ok=0
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/ca/ca.crt" "$url" || true)
    if [ "$code" = 401 ] || [ "$code" = 200 ]; then ok=1; break; fi
    sleep 0.1
  done
  if [ $ok != 1 ]; then
    echo "registry-test-env: $url did not come up (see $W/logs)" >&2
    stop
    exit 1
  fi
done

cat >"$W/env" <<EOF
REG=127.0.0.1:$P_BASIC
TREG=127.0.0.1:$P_TOKEN_REG
TOKEN_HOST=localhost:$P_TOKEN
CA=$W/ca/ca.crt
CERTDIR=$W/certs
REG_USER=$REG_USER
REG_PASS=$REG_PASS
TOKEN_LOG=$W/token.log
EOF
echo "127.0.0.1:$P_BASIC"
