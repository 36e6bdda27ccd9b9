#!/usr/bin/env python3
"""Writes a Debian 12 root filesystem whose dpkg database lists N packages.

usage: big_rootfs.py DIR [N]      (N defaults to 10000)

The packages are the ones bench/match_bench.c uses: every second one is
built from a source package named synthetic-pkg-K (K < 5000, names that
scripts/make-osv-synthetic.py's records use), the others from sources no
record names. Versions are Debian-style with a +deb12uN suffix. Deterministic
for a given N. For `cellscan scan dir:DIR` end to end on a huge image.
"""
import os
import random
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    rnd = random.Random(42)
    os.makedirs(os.path.join(root, "var/lib/dpkg"), exist_ok=True)
    os.makedirs(os.path.join(root, "usr/lib"), exist_ok=True)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    release = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
               'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n')
    for p in ("usr/lib/os-release", "etc/os-release"):
        with open(os.path.join(root, p), "w") as f:
            f.write(release)
    stanzas = []
    for i in range(n):
        src = f"synthetic-pkg-{(i // 2) % 5000}" if i % 2 == 0 else f"lib-none-{i}"
        ver = (f"{rnd.randint(1, 9)}.{rnd.randint(0, 19)}.{rnd.randint(0, 8)}-"
               f"{rnd.randint(1, 5)}+deb12u{rnd.randint(1, 4)}")
        stanzas.append(f"Package: {src}-bin{i}\nStatus: install ok installed\nSource: {src}\n"
                       f"Version: {ver}\nArchitecture: amd64\n"
                       f"Maintainer: Bench <bench@example.org>\nDescription: synthetic\n")
    with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
        f.write("\n".join(stanzas))


if __name__ == "__main__":
    main()
