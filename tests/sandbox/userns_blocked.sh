#!/bin/sh
# Fail closed: where user namespaces are blocked, cellscan refuses to scan and
# says why and how to allow it; --unsafe-no-namespaces scans with a warning.
# The block is made real without touching the host: inside a user namespace
# of our own, user.max_user_namespaces is set to 0 for it alone.
set -eu
build=$1
cache=${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}
layout=$cache/oci/alpine
[ -f "$layout/index.json" ] || { echo "SKIP: no test image at $layout (scripts/make-test-images.sh)"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) missing"; exit 77; }
unshare --user --map-root-user true 2>/dev/null || { echo "SKIP: cannot create a user namespace here at all"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
# shellcheck disable=SC2016
unshare --user --map-root-user sh -c '
  echo 0 > /proc/sys/user/max_user_namespaces || exit 99
  "$1/bin/cellscan" sbom "oci:$2:latest" --no-cache >/dev/null 2>"$3"; echo "exit $?" >>"$3"
  "$1/bin/cellscan" sbom "oci:$2:latest" --no-cache --unsafe-no-namespaces >"$3.json" 2>>"$3"; echo "weak $?" >>"$3"
' sh "$build" "$layout" "$out"
cat "$out"
grep -q "^exit 3$" "$out" || { echo "FAIL: expected exit 3 when namespaces are blocked"; fail=1; }
grep -q "unprivileged user namespaces are blocked" "$out" || { echo "FAIL: no explanation"; fail=1; }
grep -q "unsafe-no-namespaces" "$out" || { echo "FAIL: the way out is not named"; fail=1; }
grep -q "^weak 0$" "$out" || { echo "FAIL: --unsafe-no-namespaces did not scan"; fail=1; }
grep -q "WARNING: --unsafe-no-namespaces" "$out" || { echo "FAIL: no loud warning"; fail=1; }
grep -q '"diff_id"' "$out.json" || { echo "FAIL: no inventory from the weak run"; fail=1; }
rm -f "$out.json"
[ "$fail" = 0 ] && echo "1 passed, 0 failed"
exit "$fail"
