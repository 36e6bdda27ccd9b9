#!/bin/sh
# Runs the sandbox escape driver as an ordinary user (nobody), the way a
# user without root runs cellscan: unprivileged user namespaces, no cgroup.
# The binaries are copied to a world-readable temporary folder first, since
# the build tree may sit under a private home directory.
set -eu
build=$1
if [ "$(id -u)" -ne 0 ]; then
  # already unprivileged: the plain sandbox/escape test covers this user
  echo "SKIP: not root; sandbox/escape already runs as uid $(id -u)"
  exit 77
fi
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) not installed"; exit 77; }
tmp=$(mktemp -d /tmp/cellscan-unpriv.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/libexec/cellscan"
cp "$build/tests/sandbox_escape" "$tmp/"
cp "$build/libexec/cellscan/cellscan-worker" "$build/libexec/cellscan/cellscan-worker-probe" \
   "$tmp/libexec/cellscan/"
chmod -R a+rX "$tmp"
cd "$tmp"
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  env CS_BUILD_DIR="$tmp" CS_SANDBOX_UNPRIVILEGED=1 "$tmp/sandbox_escape"
