#!/usr/bin/env bash
# Runs every cellscan test: installs what is missing (scripts/setup.sh),
# builds the normal configuration (build/release) and the ASan+UBSan one
# (build/asan), builds the generated fixtures (cached outside the repo),
# then runs all tests with CTest from the sanitizer build. CTest's summary is
# the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc)

# setup.sh is idempotent: it installs only missing packages (so a package
# added to its list reaches machines set up before) and builds build/release.
if ! bash scripts/setup.sh > build-setup.log 2>&1; then
  tail -40 build-setup.log
  echo "test: scripts/setup.sh failed (full log: build-setup.log)"
  exit 1
fi

# Real images from Debian's archive and hostile layers; first run a few
# minutes, then cached. debootstrap needs root: as a user these tests skip.
export CELLSCAN_FIXTURE_CACHE=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/make-test-images.sh
else
  echo "test: not root, so no debootstrap: tests needing the generated images will skip"
fi

cmake -S . -B build/asan -DCELLSCAN_SANITIZE=ON -DCELLSCAN_RELEASE_DIR="$top/build/release" >/dev/null
if ! cmake --build build/asan -j"$jobs" > build/asan-build.log 2>&1; then
  grep -E 'error|Error' -A3 build/asan-build.log | head -60
  echo "test: the sanitizer build failed (full log: build/asan-build.log)"
  exit 1
fi
cd build/asan
# ASan's leak checker and the sandbox: see docs/sandbox.md.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j"$jobs" --timeout 1200
