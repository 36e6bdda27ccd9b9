#!/usr/bin/env bash
# headers.sh - STYLE.md 8: every header under common/ worker/ supervisor/
# policy/ compiles on its own. For each one a translation unit holding only
# '#include "that/header.h"' (twice, so a broken guard shows up as a
# redefinition) is compiled with -fsyntax-only, the project's include path
# and warning flags, and the cflags of the libraries headers may use.
#
# Usage: headers.sh SOURCE_ROOT CC [EXTRA_CFLAG...]
# Prints each failing header with the compiler's complaint; exits 1 if any
# failed, 0 otherwise.
set -uo pipefail
src=${1:?usage: headers.sh SOURCE_ROOT CC [CFLAGS...]}
cc=${2:?usage: headers.sh SOURCE_ROOT CC [CFLAGS...]}
shift 2
flags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes
       -Wno-missing-field-initializers -Werror -I"$src" "$@")
# The third-party headers ours may include; missing .pc files are the
# configure step's problem, not this test's.
for pc in jansson libarchive sqlite3 libcurl libseccomp libcap libcrypto; do
  # shellcheck disable=SC2207
  flags+=($(pkg-config --cflags "$pc" 2>/dev/null))
done

cd "$src" || exit 2
n=0
failed=0
while IFS= read -r -d '' h; do
  n=$((n + 1))
  if ! out=$(printf '#include "%s"\n#include "%s"\n' "$h" "$h" |
             "$cc" "${flags[@]}" -x c -fsyntax-only - 2>&1); then
    echo "FAIL $h"
    sed 's/^/    /' <<<"$out"
    failed=$((failed + 1))
  fi
done < <(find common worker supervisor policy -type f -name '*.h' -print0 2>/dev/null | LC_ALL=C sort -z)

if [ "$n" -eq 0 ]; then
  echo "headers: no headers found under $src"
  exit 1
fi
echo "headers: $((n - failed)) of $n compile alone"
[ "$failed" -eq 0 ]
