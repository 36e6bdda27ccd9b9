#!/usr/bin/env bash
# format.sh FILE... - formats the given C files in place with clang-format
# and the repository's .clang-format (STYLE.md 13). Only the files named are
# touched: format what you wrote, not other people's files.
# --check: print the files that would change and exit 1 instead.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
if [ "$#" -eq 0 ]; then
  echo "usage: scripts/format.sh [--check] FILE..." >&2
  exit 2
fi
cf=""
for c in clang-format clang-format-14 clang-format-15 clang-format-16; do
  if command -v "$c" >/dev/null 2>&1; then
    cf=$c
    break
  fi
done
if [ -z "$cf" ]; then
  echo "format: clang-format not found (Debian: apt-get install clang-format)" >&2
  exit 2
fi
status=0
for f in "$@"; do
  case "$f" in
  *.c | *.h) ;;
  *) echo "format: skipping $f (not C)" >&2; continue ;;
  esac
  if [ "$check" -eq 1 ]; then
    if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
      echo "$f"
      status=1
    fi
  else
    "$cf" --style=file -i "$f"
  fi
done
exit "$status"
