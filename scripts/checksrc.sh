#!/usr/bin/env bash
# checksrc.sh - the source rules of STYLE.md that a script can check:
#
#   9. banned functions: gets strcpy strcat sprintf vsprintf atoi atol strtok
#      system popen alloca, as calls (name followed by '('), outside comments,
#      strings and character literals, not as part of a longer identifier
#      (snprintf, strtok_r are fine) and not as a member (ops->system()).
#      A line may opt out with a comment "checksrc: allow <reason>"; use it
#      only with a reason a reviewer can check.
#   8. every header has an include guard: its first preprocessor directive is
#      "#ifndef X" (or "#if !defined(X)"), the next "#define X", the last
#      "#endif"; and no two headers share a guard (one would vanish).
#
# Usage: scripts/checksrc.sh [SOURCE_ROOT [DIR...]]
#   SOURCE_ROOT defaults to the repository this script is in; DIRs default
#   to common worker supervisor policy. Prints file:line: problem for each
#   violation and exits 1 if there was any, 0 otherwise, 2 on usage errors.
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
shift || true
if [ "$#" -gt 0 ]; then
  dirs=("$@")
else
  dirs=(common worker supervisor policy)
fi
cd "$root" || { echo "checksrc: cannot enter $root" >&2; exit 2; }

files=()
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find "$d" -type f \( -name '*.c' -o -name '*.h' \) -print0 | LC_ALL=C sort -z)
done
if [ "${#files[@]}" -eq 0 ]; then
  echo "checksrc: no C sources under ${dirs[*]} in $root" >&2
  exit 2
fi

LC_ALL=C awk '
BEGIN {
	nbanned = split("gets strcpy strcat sprintf vsprintf atoi atol strtok system popen alloca", banned, " ")
	bad = 0
}

function report(f, l, msg) {
	printf "%s:%d: %s\n", f, l, msg
	bad++
}

# Checks the header that has just been read completely.
function finish_header(   g) {
	if (cur == "" || cur !~ /\.h$/)
		return
	if (ndir < 3 || dir[1] !~ /^#[ \t]*(ifndef[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*$|if[ \t]+!defined[ \t]*\(?[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\)?[ \t]*$)/) {
		report(cur, 1, "header without an include guard (#ifndef X / #define X ... #endif)")
		return
	}
	g = dir[1]
	sub(/^#[ \t]*(ifndef|if[ \t]+!defined)[ \t(]*/, "", g)
	sub(/[ \t)]*$/, "", g)
	if (dir[2] !~ ("^#[ \t]*define[ \t]+" g "([ \t].*)?$")) {
		report(cur, dirline[2], "include guard: \"#define " g "\" must follow \"#ifndef " g "\"")
		return
	}
	if (dir[ndir] !~ /^#[ \t]*endif/) {
		report(cur, dirline[ndir], "include guard: the last directive must be the #endif of " g)
		return
	}
	if (g in guard_of)
		report(cur, dirline[1], "include guard " g " is also used by " guard_of[g])
	else
		guard_of[g] = cur
}

FNR == 1 {
	finish_header()
	cur = FILENAME
	ndir = 0
	incomment = 0
}

{
	raw = $0
	# The line without comments, string and character literal contents.
	code = ""
	i = 1
	n = length(raw)
	while (i <= n) {
		c = substr(raw, i, 1)
		two = substr(raw, i, 2)
		if (incomment) {
			if (two == "*/") {
				incomment = 0
				i += 2
				code = code "  "
			} else {
				i++
			}
			continue
		}
		if (two == "/*") {
			incomment = 1
			i += 2
			code = code "  "
			continue
		}
		if (two == "//")
			break
		if (c == "\"" || c == "\047") {
			q = c
			code = code q
			i++
			while (i <= n) {
				c = substr(raw, i, 1)
				if (c == "\\") {
					i += 2
					code = code "  "
					continue
				}
				i++
				if (c == q)
					break
				code = code " "
			}
			code = code q
			continue
		}
		code = code c
		i++
	}

	if (code ~ /^[ \t]*#/) {
		d = code
		sub(/^[ \t]+/, "", d)
		sub(/[ \t]+$/, "", d)
		ndir++
		dir[ndir] = d
		dirline[ndir] = FNR
	}

	if (raw ~ /checksrc: allow/)
		next
	for (k = 1; k <= nbanned; k++) {
		name = banned[k]
		off = 0
		while ((p = index(substr(code, off + 1), name)) > 0) {
			abs = off + p
			before = abs > 1 ? substr(code, abs - 1, 1) : ""
			before2 = abs > 2 ? substr(code, abs - 2, 2) : ""
			after = substr(code, abs + length(name))
			if (before !~ /[A-Za-z0-9_.]/ && before2 != "->" && after ~ /^[ \t]*\(/)
				report(FILENAME, FNR, "banned function " name "() (STYLE.md 9)")
			off = abs
		}
	}
}

END {
	finish_header()
	exit bad > 0 ? 1 : 0
}
' "${files[@]}"
