#!/usr/bin/env bash
# pg_server.sh - a throw-away PostgreSQL server for test_pg.c, on loopback,
# run as an ordinary user (as root: as nobody), with Debian's binaries.
#
# Usage: pg_server.sh start DIR PORT   (prints nothing; exit 0 = up)
#        pg_server.sh stop DIR
# Exit 77 when PostgreSQL's binaries are not installed.
set -euo pipefail
cmd=${1:?usage}
dir=${2:?usage}
bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && bindir=$d
done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null 2>&1 && bindir=$(dirname "$(command -v initdb)")
fi
[ -n "$bindir" ] || { echo "SKIP: PostgreSQL (initdb, pg_ctl) not installed"; exit 77; }

# initdb and pg_ctl run shell commands that write to /dev/null.
if [ "$cmd" = start ] && [ ! -c /dev/null ]; then
  echo "SKIP: /dev/null is not a character device on this machine (initdb needs it)"
  exit 77
fi

as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  port=${3:?usage}
  if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$dir"; fi
  cd "$dir"
  if [ ! -d "$dir/data" ]; then
    as_user "$bindir/initdb" -D "$dir/data" -U cellscan --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
  fi
  as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { cat "$dir/server.log"; exit 1; }
  for db in jobs race results; do
    as_user "$bindir/createdb" -h "$dir" -p "$port" -U cellscan "$db"
  done
  ;;
stop)
  cd "$dir"
  as_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  ;;
esac
