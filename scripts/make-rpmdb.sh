#!/bin/sh
# make-rpmdb.sh OUT_DIR - builds a few tiny rpm packages with rpmbuild and
# installs them with rpm into OUT_DIR/root, so that
# OUT_DIR/root/var/lib/rpm/rpmdb.sqlite is a real rpm database made by rpm
# itself (Debian's rpm 4.18 writes the SQLite backend only; it cannot write
# BerkeleyDB or NDB). Prints the installed packages, as rpm lists them, in a
# stable form on stdout (one line per package, sorted, tab-separated):
#   NAME EPOCH VERSION RELEASE ARCH SOURCERPM LICENSE VENDOR MODULARITYLABEL
# with "(none)" for an absent tag. The same text is kept in
# OUT_DIR/rpm-qa.txt, and "NAME<TAB>/path" per owned file in
# OUT_DIR/rpm-files.txt.
#
# OUT_DIR is a cache: when it already holds a database made by this same
# script and rpm version, nothing is rebuilt.
#
# Needs the Debian package "rpm" (rpm, rpmbuild). Exit 77 when it is missing
# (a test may treat that as skipped), 1 on any other failure.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 OUT_DIR" >&2
	exit 2
fi
out=$1

for tool in rpm rpmbuild sha256sum; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "make-rpmdb: $tool not found (apt-get install rpm)" >&2
		exit 77
	fi
done

qf='%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\t%{VENDOR}\t%{MODULARITYLABEL}\n'
stamp="$(sha256sum "$0" | cut -d' ' -f1) $(rpm --version)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
root="$out/root"
dbpath=/var/lib/rpm

if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
	[ -f "$root$dbpath/rpmdb.sqlite" ] && [ -f "$out/rpm-qa.txt" ]; then
	cat "$out/rpm-qa.txt"
	exit 0
fi

rm -rf "$root" "$out/build" "$out/stamp" "$out/rpm-qa.txt" "$out/rpm-files.txt"
work="$out/build"
mkdir -p "$work/top" "$work/home" "$root"
# No ~/.rpmmacros of whoever runs this: only the defines below and the system's.
HOME="$work/home"
export HOME LC_ALL=C

# spec NAME: writes $work/NAME.spec from stdin.
spec() {
	cat > "$work/$1.spec"
}

# Epoch, noarch, files in several directories.
spec cs-hello <<'EOF'
Name: cs-hello
Version: 1.0
Release: 1
Epoch: 2
Summary: cellscan test package with an epoch
License: MIT
Vendor: cellscan tests
BuildArch: noarch
%description
A tiny package for the rpm analyzer's integration test.
%install
mkdir -p %{buildroot}/usr/share/cs-hello %{buildroot}/etc/cs-hello
echo hello > %{buildroot}/usr/share/cs-hello/hello.txt
echo conf > %{buildroot}/etc/cs-hello/hello.conf
%files
%dir /usr/share/cs-hello
/usr/share/cs-hello/hello.txt
%config /etc/cs-hello/hello.conf
EOF

# Host arch, a tilde version, a subpackage sharing the source rpm, many files.
spec cs-tool <<'EOF'
Name: cs-tool
Version: 1.2~rc1
Release: 3.el9
Summary: cellscan test package with a subpackage
License: GPL-2.0-or-later AND BSD-3-Clause
Vendor: cellscan tests
%description
A tiny package for the rpm analyzer's integration test.
%package libs
Summary: the libs subpackage
%description libs
Subpackage.
%install
mkdir -p %{buildroot}/usr/lib/cs-tool/a/b %{buildroot}/usr/bin
for i in $(seq 1 40); do echo "$i" > %{buildroot}/usr/lib/cs-tool/a/b/f$i; done
echo tool > %{buildroot}/usr/bin/cs-tool
%files
/usr/bin/cs-tool
%files libs
/usr/lib/cs-tool
EOF

# A modularity label, and no vendor.
spec cs-modular <<'EOF'
Name: cs-modular
Version: 5.30.1
Release: 452.module+el8.2.0+6199+1e2a3b7c
Summary: cellscan test package with a modularity label
License: Artistic-1.0 OR GPL-1.0-or-later
BuildArch: noarch
%description
A tiny package for the rpm analyzer's integration test.
%install
mkdir -p %{buildroot}/usr/share/cs-modular
echo m > %{buildroot}/usr/share/cs-modular/m.txt
%files
/usr/share/cs-modular/m.txt
EOF

# Installed and then erased: must not be listed.
spec cs-gone <<'EOF'
Name: cs-gone
Version: 0.1
Release: 1
Summary: cellscan test package that is erased again
License: MIT
BuildArch: noarch
%description
A tiny package for the rpm analyzer's integration test.
%install
mkdir -p %{buildroot}/usr/share/cs-gone
echo g > %{buildroot}/usr/share/cs-gone/g.txt
%files
/usr/share/cs-gone/g.txt
EOF

for s in cs-hello cs-tool cs-modular cs-gone; do
	# rpmbuild copies the %modularitylabel macro into the MODULARITYLABEL tag.
	set -- --define "_topdir $work/top" --define 'debug_package %{nil}' --define '_build_id_links none'
	if [ "$s" = cs-modular ]; then
		set -- "$@" --define 'modularitylabel perl:5.30:8020020200505205634:a5fd4ab5'
	fi
	if ! rpmbuild --quiet "$@" -bb "$work/$s.spec" > "$work/$s.log" 2>&1; then
		cat "$work/$s.log" >&2
		echo "make-rpmdb: rpmbuild of $s failed" >&2
		exit 1
	fi
done

rpmq() {
	rpm --root "$root" --dbpath "$dbpath" --define '_db_backend sqlite' "$@"
}

# Debian's rpm warns that it should not install packages; that is what we want.
rpmq --initdb
find "$work/top/RPMS" -name '*.rpm' | sort > "$work/rpms.txt"
# shellcheck disable=SC2046
rpmq -i --nodeps --noscripts --notriggers $(cat "$work/rpms.txt") 2> "$work/install.log" || {
	cat "$work/install.log" >&2
	echo "make-rpmdb: rpm -i failed" >&2
	exit 1
}
rpmq -e --nodeps --noscripts cs-gone 2>> "$work/install.log" || {
	cat "$work/install.log" >&2
	echo "make-rpmdb: rpm -e failed" >&2
	exit 1
}

rpmq -qa --qf "$qf" 2>/dev/null | sort > "$out/rpm-qa.txt"
rpmq -qa --qf '[%{=NAME}\t%{FILENAMES}\n]' 2>/dev/null | sort > "$out/rpm-files.txt"
if [ ! -s "$out/rpm-qa.txt" ] || [ ! -f "$root$dbpath/rpmdb.sqlite" ]; then
	echo "make-rpmdb: rpm made no database in $root$dbpath" >&2
	exit 1
fi
echo "$stamp" > "$out/stamp"
cat "$out/rpm-qa.txt"
