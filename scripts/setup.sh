#!/usr/bin/env bash
# Installs every Debian package cellscan's build and tests need, then builds
# the release configuration into build/release (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run-time libraries, then the real components the tests drive.
PKGS=(
  build-essential cmake pkg-config git
  libseccomp-dev libcap-dev libcurl4-openssl-dev libjansson-dev libarchive-dev
  zlib1g-dev liblzma-dev libzstd-dev libbz2-dev libsqlite3-dev sqlite3
  libmicrohttpd-dev libpq-dev libssl-dev
  docker-registry skopeo umoci debootstrap postgresql
  gzip zstd xz-utils bzip2 tar openssl apache2-utils ca-certificates curl
  python3 python3-jsonschema python3-yaml rpm db5.3-util jq hyperfine wrk procps iproute2 util-linux
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A dedicated unprivileged account for sandboxed workers when cellscan runs as
# root (docs/sandbox.md); without it workers run as nobody.
if [ "$(id -u)" -eq 0 ] && ! getent passwd cellscan-sandbox >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group cellscan-sandbox
fi

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCELLSCAN_TESTS=ON >/dev/null
cmake --build build/release -j"$(nproc)"
echo "setup: built build/release (build/release/bin/cellscan, build/release/libexec/cellscan/cellscan-worker)"
