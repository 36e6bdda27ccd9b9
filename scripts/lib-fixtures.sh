# shellcheck shell=bash
# Shared shell helpers for the fixture scripts (sourced, not run).
# Used by scripts/make-test-images.sh; see docs/test-images.md.

# Where every generated fixture lives: outside the repository, so a clean
# checkout stays small and several work trees share one cache.
cs_fx_cache_dir() {
  printf '%s\n' "${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}"
}

cs_fx_log() { printf 'fixtures: [%4ss] %s\n' "$SECONDS" "$*" >&2; }
cs_fx_die() { printf 'fixtures: error: %s\n' "$*" >&2; exit 1; }

# cs_fx_need CMD... : fail early, naming the Debian package, when a tool is missing.
cs_fx_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || cs_fx_die "missing '$c' (run scripts/setup.sh)"
  done
}

# The Debian mirror apt uses on this machine for the given suite (default
# bookworm): CELLSCAN_DEBIAN_MIRROR wins, then the first matching deb822
# stanza in /etc/apt/sources.list.d/*.sources, then a one-line "deb" entry in
# /etc/apt/sources.list or sources.list.d/*.list, then deb.debian.org.
cs_fx_debian_mirror() {
  local suite="${1:-bookworm}" f uri=""
  if [ -n "${CELLSCAN_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$CELLSCAN_DEBIAN_MIRROR"; return 0
  fi
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # Stanzas are separated by blank lines; take the first one whose Types has
    # "deb" and whose Suites has the suite itself (not -security/-updates).
    uri=$(awk -v suite="$suite" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "" && found == "") {
          split(uris, u, " "); found = u[1]
        }
        types = ""; suites = ""; uris = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"  { $1 = ""; types = $0; gsub(/^ +| +$/, "", types) }
      tolower($1) == "suites:" { $1 = ""; suites = $0; gsub(/^ +| +$/, "", suites) }
      tolower($1) == "uris:"   { $1 = ""; uris = $0; gsub(/^ +| +$/, "", uris) }
      END { flush(); if (found != "") print found }
    ' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      # deb [options] URI SUITE COMPONENTS...
      uri=$(awk -v suite="$suite" '
        $1 == "deb" {
          i = 2
          if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == suite) { print $i; exit }
        }' "$f")
      [ -n "$uri" ] && break
    done
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# cs_fx_sha256 FILE : hex digest only.
cs_fx_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# cs_fx_decompressor MEDIA_TYPE : the command that turns a layer blob of that
# media type into its tar stream (stdin to stdout).
cs_fx_decompressor() {
  case "$1" in
    *+gzip|*.tar.gzip) echo "gzip -dc" ;;  # OCI and Docker media types
    *+zstd) echo "zstd -dc -q" ;;
    *+xz) echo "xz -dc" ;;
    *+bzip2) echo "bzip2 -dc" ;;
    *.tar) echo "cat" ;;
    *) return 1 ;;
  esac
}
