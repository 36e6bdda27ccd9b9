#!/usr/bin/env bash
# checksrc_selftest.sh - scripts/checksrc.sh must find what it is meant to
# find and nothing else: runs it on a scratch tree of known violations and
# near misses and compares its report line by line.
# Usage: checksrc_selftest.sh SOURCE_ROOT
set -euo pipefail
src=${1:?usage: checksrc_selftest.sh SOURCE_ROOT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/common" "$tmp/policy"

cat > "$tmp/common/calls.c" <<'C'
#include <string.h>
/* strcpy(a, b) in a comment is not a call */
static const char *s = "sprintf(x) in a string";
int f(char *a, const char *b)
{
	char c = '(';
	strcpy(a, b);
	x = atoi (b) + snprintf(a, 1, "%d", 1) + my_atoi(b) + atoi_checked(b);
	ops->system(a); o.system(a); vsnprintf(a, 1, b, ap);
	strtok_r(a, ",", &b); strtok(a, ",");
	// gets(a)
	/* a comment over
	   two lines: popen(a) */ alloca(4);
	sprintf(a, "x"); /* checksrc: allow a reviewed exception */
	strcat
		(a, b);
	return system("ls") + gets(a) != NULL + atol(b) + vsprintf(a, b, ap) + popen(a, "r");
}
C
cat > "$tmp/common/noguard.h" <<'C'
/* no guard at all */
int f(void);
C
cat > "$tmp/common/mismatch.h" <<'C'
#ifndef A_H
#define B_H
#endif
C
cat > "$tmp/common/good.h" <<'C'
/*
 * good.h - a comment first is fine
 */
#ifndef CS_GOOD_H
#define CS_GOOD_H

#include <stddef.h>

#endif /* CS_GOOD_H */
C
cat > "$tmp/policy/dup.h" <<'C'
#if !defined(CS_GOOD_H)
#define CS_GOOD_H 1
int x;
#endif
C
cat > "$tmp/policy/after.h" <<'C'
#ifndef CS_AFTER_H
#define CS_AFTER_H
#endif
#include <stdio.h>
C

expected='common/calls.c:7: banned function strcpy() (STYLE.md 9)
common/calls.c:8: banned function atoi() (STYLE.md 9)
common/calls.c:10: banned function strtok() (STYLE.md 9)
common/calls.c:13: banned function alloca() (STYLE.md 9)
common/calls.c:17: banned function gets() (STYLE.md 9)
common/calls.c:17: banned function vsprintf() (STYLE.md 9)
common/calls.c:17: banned function atol() (STYLE.md 9)
common/calls.c:17: banned function system() (STYLE.md 9)
common/calls.c:17: banned function popen() (STYLE.md 9)
common/mismatch.h:2: include guard: "#define A_H" must follow "#ifndef A_H"
common/noguard.h:1: header without an include guard (#ifndef X / #define X ... #endif)
policy/after.h:4: include guard: the last directive must be the #endif of CS_AFTER_H
policy/dup.h:1: include guard CS_GOOD_H is also used by common/good.h'

status=0
got=$("$src/scripts/checksrc.sh" "$tmp") || status=$?
fail=0
if [ "$status" -ne 1 ]; then
  echo "checksrc exited $status on a tree with violations, expected 1"
  fail=1
fi
# Order of lines within one file follows the banned list; compare as sets.
if [ "$(sort <<<"$got")" != "$(sort <<<"$expected")" ]; then
  echo "checksrc report differs from the expected one:"
  diff <(sort <<<"$expected") <(sort <<<"$got") || true
  fail=1
fi
# A clean tree passes.
rm -f "$tmp/common/calls.c" "$tmp/common/noguard.h" "$tmp/common/mismatch.h" \
  "$tmp/policy/dup.h" "$tmp/policy/after.h"
if ! out=$("$src/scripts/checksrc.sh" "$tmp"); then
  echo "checksrc failed on a clean tree: $out"
  fail=1
fi
[ "$fail" -eq 0 ] && echo "checksrc self-test: ok"
exit "$fail"
