#!/usr/bin/env python3
"""make-seeds.py SHARED_FIXTURES_DIR - (re)writes the seed-* files of
tests/fuzz/corpus/<name>/ from the shared fixtures and from hand-written
inputs, and each corpus's PROVENANCE file. Inputs that libFuzzer added
(files named by their SHA-1) are left alone.

Derived files (the small SQLite and NDB rpm databases, the header blobs)
are cut out of the fixtures' databases as described in PROVENANCE; nothing
is downloaded.
"""
import json
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
FX = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/fixtures"))
MAX_FILE = 256 * 1024

prov = {}


def put(corpus, name, data, where):
    d = os.path.join(CORPUS, corpus)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= MAX_FILE, (corpus, name, len(data))
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
    prov.setdefault(corpus, []).append("seed-%s: %s" % (name, where))


def fixture(corpus, name, rel, note=""):
    with open(os.path.join(FX, rel), "rb") as f:
        data = f.read()
    put(corpus, name, data, "shared/fixtures/%s%s" % (rel, note))


def clean_seeds():
    if not os.path.isdir(CORPUS):
        return
    for c in os.listdir(CORPUS):
        for f in os.listdir(os.path.join(CORPUS, c)):
            if f.startswith("seed-") or f == "PROVENANCE":
                os.unlink(os.path.join(CORPUS, c, f))


# ---------------------------------------------------------------- frame
def frame_seeds():
    dig = "sha256:" + "ab" * 32
    recs = [
        {"type": "hello", "proto": 1, "worker": "cellscan-worker 0.1.0"},
        {"type": "layer_begin", "layer": 0},
        {"type": "os", "layer": 0, "id": "debian", "version_id": "12", "codename": "bookworm",
         "pretty_name": "Debian GNU/Linux 12 (bookworm)", "source": "etc/os-release"},
        {"type": "package", "layer": 0, "kind": "dpkg", "name": "libssl3",
         "version": "3.0.11-1~deb12u2", "db": "var/lib/dpkg/status", "arch": "amd64",
         "source_name": "openssl", "source_version": "3.0.11-1~deb12u2"},
        {"type": "package", "layer": 0, "kind": "rpm", "name": "bash", "version": "5.1.8-6.el9",
         "db": "var/lib/rpm/rpmdb.sqlite", "epoch": 0, "rpm_version": "5.1.8",
         "rpm_release": "6.el9", "source_rpm": "bash-5.1.8-6.el9.src.rpm",
         "files": ["usr/bin/bash", "usr/bin/sh"]},
        {"type": "file", "layer": 0, "path": "usr/bin/sh", "ftype": "symlink", "mode": 511,
         "size": 0, "link": "bash", "uid": 0, "gid": 0},
        {"type": "whiteout", "layer": 0, "path": "etc/old", "opaque": False},
        {"type": "warning", "layer": 0, "path": "var/lib/dpkg/status", "code": "format",
         "message": "stanza without Version"},
        {"type": "layer_end", "layer": 0, "diff_id": dig, "bytes": 1024, "entries": 3},
        {"type": "done", "layers": 1},
    ]
    lines = [json.dumps(r, separators=(",", ":")) for r in recs]
    put("frame", "session-lines", bytes([1]) + "\n".join(lines).encode(),
        "hand-written: a whole one-layer session, one record per line (mode byte 0x01)")
    wire = b"".join(struct.pack(">I", len(l)) + l.encode() for l in lines)
    put("frame", "session-wire", bytes([0x81]) + wire,
        "hand-written: the same session as length-prefixed frames (mode byte 0x81)")
    err = [lines[0], lines[1], json.dumps({"type": "error", "layer": 0, "code": "limit",
                                           "message": "layer too large"})]
    put("frame", "error-lines", bytes([2]) + "\n".join(err).encode(),
        "hand-written: hello, layer_begin, error")
    put("frame", "fatal-wire", bytes([0x80]) + struct.pack(">I", 37) +
        b'{"type":"fatal","what":"seccomp","syscall":59}'[:37],
        "hand-written: one fatal record as a frame")
    put("frame", "oversize-wire", bytes([0x81]) + struct.pack(">I", 65537) + b"{}",
        "hand-written: a frame length past CS_FRAME_MAX")
    put("frame", "dupkey-lines", bytes([1]) + b'{"type":"hello","type":"hello","proto":1,"worker":"w"}',
        "hand-written: duplicate key (strict JSON must refuse)")


# ---------------------------------------------------------------- limits
def limits_seeds():
    put("limits", "all", "layers=256,layer_bytes=8g,image_bytes=32g,layer_entries=1000000,"
        "path_len=4096,analyzer_file=64m,worker_as=2g,worker_cpu=600,worker_wall=900,"
        "worker_mem=1g,records=2000000,wire_bytes=1g,tmpfs_bytes=64m",
        "hand-written: every field of common/limits.c once, with k/m/g suffixes")
    put("limits", "one", "layers=12", "hand-written")
    put("limits", "overflow", "layer_bytes=18446744073709551615k", "hand-written: suffix overflow")
    put("limits", "bad", "layers=,=5,records=0,nope=1", "hand-written: refused items")


# ---------------------------------------------------------------- path
def path_seeds():
    put("path", "dot-slash", "./usr/lib/os-release", "hand-written")
    put("path", "absolute", "//etc///passwd/", "hand-written")
    put("path", "dotdot", "a/b/../../../etc/shadow", "hand-written: a '..' component")
    put("path", "link-escape", b"usr/lib/libx.so\x00../../../../etc/shadow",
        "hand-written: name, NUL, symlink target climbing out of the root")
    put("path", "link-inside", b"usr/bin/sh\x00./../bin/./bash",
        "hand-written: name, NUL, target that stays inside")
    put("path", "link-absolute", b"etc/localtime\x00/usr/share/zoneinfo/UTC",
        "hand-written: absolute link target")


# ---------------------------------------------------------------- analyzers
def os_release_seeds():
    d = os.path.join(FX, "pkgdb/os-release/trivy")
    for f in sorted(os.listdir(d)):
        if f == "expected.json":
            continue
        fixture("os_release", "trivy-" + f, "pkgdb/os-release/trivy/" + f)
    put("os_release", "alpine-release", "3.20.3\n", "hand-written etc/alpine-release")
    put("os_release", "debian_version", "12.5\n", "hand-written etc/debian_version")
    put("os_release", "debian_version-sid", "trixie/sid\n", "hand-written etc/debian_version")
    put("os_release", "redhat-release", "Red Hat Enterprise Linux release 9.4 (Plow)\n",
        "hand-written etc/redhat-release")
    put("os_release", "quoting",
        "ID=\"deb\\\"ian\"'x'y\\ z\nVERSION_ID='1'\"2\"\n# c\nPRETTY_NAME=\"\xff\xfe broken\"\n"
        "VERSION_CODENAME=\nUBUNTU_CODENAME=jammy\n".encode("latin-1"),
        "hand-written: quoting, concatenation, invalid UTF-8, empty value")


def dpkg_seeds():
    base = "pkgdb/dpkg/osv-scalibr/dpkg/"
    for f in ["invalid", "nopackage", "noversion", "single", "statusfield", "trailingnewlines",
              "transitional", "transitional_dummy", "valid", "status.d/foo"]:
        fixture("dpkg", "scalibr-" + f.replace("/", "-"), base + f)
    fixture("dpkg", "scalibr-opkg-valid", "pkgdb/dpkg/osv-scalibr/opkg/valid")
    for f in ["corrupt", "deinstall", "installed-size-4KB", "multiple", "single"]:
        fixture("dpkg", "syft-status.d-" + f, "pkgdb/dpkg/syft/var/lib/dpkg/status.d/" + f)
    for c in ["corrupsed", "only-apt", "third-party", "md5sums"]:
        fixture("dpkg", "trivy-" + c, "pkgdb/dpkg/trivy/%s/var/lib/dpkg/status" % c)
    fixture("dpkg", "trivy-valid", "pkgdb/dpkg/trivy/valid/var/lib/dpkg/status")


def apk_seeds():
    base = "pkgdb/apk/osv-scalibr/"
    for f in ["different-arch", "installed", "invalid", "no-origin", "single"]:
        fixture("apk", "scalibr-" + f, base + f)
    fixture("apk", "trivy-installed", "pkgdb/apk/trivy/lib/apk/db/installed")
    with open(os.path.join(FX, "pkgdb/apk/apk-tools/lib/apk/db/installed"), "rb") as f:
        data = f.read()
    # The first records only: the whole file is 218 KB, slow to mutate.
    cut = data.find(b"\n\n", 24 * 1024)
    put("apk", "apk-tools-head", data[:cut + 2],
        "shared/fixtures/pkgdb/apk/apk-tools/lib/apk/db/installed, its first "
        "records (cut at the first blank line after 24 KiB)")


def sqlite_small(src, keep):
    """Copy of an rpmdb.sqlite with only the `keep` smallest Packages rows."""
    tmp = tempfile.mkdtemp()
    try:
        p = os.path.join(tmp, "rpmdb.sqlite")
        shutil.copyfile(src, p)
        db = sqlite3.connect(p)
        rows = db.execute("SELECT hnum FROM Packages ORDER BY length(blob), hnum LIMIT ?",
                          (keep,)).fetchall()
        ids = ",".join(str(r[0]) for r in rows)
        db.execute("DELETE FROM Packages WHERE hnum NOT IN (%s)" % ids)
        for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type='table' "
                                  "AND name <> 'Packages' AND name NOT LIKE 'sqlite_%'").fetchall():
            db.execute('DROP TABLE "%s"' % name)
        db.commit()
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("VACUUM")
        db.close()
        with open(p, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp)


def sqlite_blobs(src, n):
    db = sqlite3.connect("file:%s?mode=ro&immutable=1" % src, uri=True)
    rows = db.execute("SELECT hnum, blob FROM Packages ORDER BY length(blob), hnum LIMIT ?",
                      (n,)).fetchall()
    db.close()
    return rows


def ndb_small(src, keep):
    """A new NDB Packages.db holding the `keep` smallest blobs of src, block
    runs copied verbatim (their checksums cover only the run itself)."""
    with open(src, "rb") as f:
        data = f.read()
    assert data[:4] == b"RpmP"
    slotnpages = struct.unpack_from("<I", data, 12)[0]
    slots = []
    for off in range(32, slotnpages * 4096, 16):
        magic, idx, blkoff, blkcnt = struct.unpack_from("<4sIII", data, off)
        if magic == b"Slot" and blkoff != 0:
            slots.append((blkcnt, idx, blkoff))
    slots.sort()
    chosen = sorted(slots[:keep], key=lambda s: s[1])
    head = bytearray(data[:32])
    struct.pack_into("<I", head, 12, 1)  # one slot page
    page = bytearray(4096)
    page[:32] = head
    blobs = bytearray()
    nextblk = 4096 // 16
    for i, (blkcnt, idx, blkoff) in enumerate(chosen):
        struct.pack_into("<4sIII", page, 32 + 16 * i, b"Slot", idx, nextblk, blkcnt)
        blobs += data[blkoff * 16:(blkoff + blkcnt) * 16]
        nextblk += blkcnt
    # free slots keep the "Slot" magic with blkoff 0, as rpm writes them
    for j in range(32 + 16 * len(chosen), 4096, 16):
        struct.pack_into("<4sIII", page, j, b"Slot", 0, 0, 0)
    out = bytes(page) + bytes(blobs)
    pad = (-len(out)) % 4096
    return out + b"\0" * pad


def rpm_seeds():
    fixture("rpm", "scalibr-Packages_epoch", "pkgdb/rpm/osv-scalibr/Packages_epoch",
            " (BerkeleyDB hash, 1 package)")
    fixture("rpm", "libuuid-Packages", "pkgdb/rpm/go-rpmdb/libuuid/Packages",
            " (BerkeleyDB hash, 1 package)")
    sq = os.path.join(FX, "pkgdb/rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite")
    put("rpm", "mariner-sqlite-3", sqlite_small(sq, 3),
        "derived from shared/fixtures/pkgdb/rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite: "
        "a copy keeping the 3 smallest Packages rows, other tables dropped, VACUUMed "
        "(tests/fuzz/make-seeds.py)")
    nd = os.path.join(FX, "pkgdb/rpm/go-rpmdb/sle15-bci/Packages.db")
    put("rpm", "sle15-ndb-3", ndb_small(nd, 3),
        "derived from shared/fixtures/pkgdb/rpm/go-rpmdb/sle15-bci/Packages.db: a new "
        "NDB file with one slot page and the block runs of its 3 smallest packages "
        "copied verbatim (tests/fuzz/make-seeds.py)")


def rpm_header_seeds():
    fixture("rpm_header", "go-rpmdb-blob", "pkgdb/rpm/go-rpmdb/blob/blob.bin")
    sq = os.path.join(FX, "pkgdb/rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite")
    for hnum, blob in sqlite_blobs(sq, 3):
        put("rpm_header", "mariner-hnum-%d" % hnum, blob,
            "the Packages.blob of hnum %d in shared/fixtures/pkgdb/rpm/go-rpmdb/"
            "cbl-mariner-2.0/rpmdb.sqlite" % hnum)


# ---------------------------------------------------------------- vercmp
# enum cs_verscheme order in supervisor/match/vercmp.h
SCHEMES = ["dpkg", "rpm", "apk", "semver", "go", "pep440", "maven", "rubygems", "nuget",
           "packagist", "cran", "pub", "hackage"]
VFILES = {
    "dpkg": "debian-versions.txt", "rpm": "redhat-versions.txt", "apk": "alpine-versions.txt",
    "semver": "semver-versions.txt", "go": "semver-versions.txt", "pep440": "pypi-versions.txt",
    "maven": "maven-versions.txt", "rubygems": "rubygems-versions.txt",
    "nuget": "nuget-versions.txt", "packagist": "packagist-versions.txt",
    "cran": "cran-versions.txt", "pub": "pub-versions.txt", "hackage": "hackage-versions.txt",
}


def vercmp_seeds():
    for i, s in enumerate(SCHEMES):
        rel = "versions/osv-scalibr/" + VFILES[s]
        with open(os.path.join(FX, rel), encoding="utf-8") as f:
            vec = [l.rstrip("\n").split(" ") for l in f
                   if l.strip() and not l.startswith(("# ", "//"))]
        vec = [v for v in vec if len(v) == 3]
        step = max(1, len(vec) // 8)
        for k in range(0, len(vec), step)[:8]:
            a, _, b = vec[k]
            c = vec[(k + 1) % len(vec)][2]
            put("vercmp", "%s-%d" % (s, k), bytes([i]) + ("%s\n%s\n%s" % (a, b, c)).encode(),
                "scheme byte %d (%s), versions from line %d of shared/fixtures/%s "
                "(+ a third version from the next line)" % (i, s, k + 1, rel))
    put("vercmp", "dpkg-epoch-tilde", bytes([0]) + b"1:1.0~rc1-1\n1:1.0-1\n0:1.0",
        "hand-written")
    put("vercmp", "apk-long", bytes([2]) + b"1." * 600 + b"\n1",
        "hand-written: over CS_VERCMP_MAX")


# ---------------------------------------------------------------- cvss
def cvss_seeds():
    for rel in ["cvss/cvss31.tsv", "cvss/cvss40.tsv", "cvss/cvss40-extended.tsv"]:
        with open(os.path.join(FX, rel), encoding="utf-8") as f:
            lines = [l.split("\t")[0] for l in f if l.strip()]
        step = max(1, len(lines) // 6)
        for k in range(0, len(lines), step)[:6]:
            put("cvss", "%s-%d" % (os.path.basename(rel).split(".")[0], k), lines[k],
                "line %d of shared/fixtures/%s (vector only)" % (k + 1, rel))
    put("cvss", "v30", "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "hand-written")
    put("cvss", "v31-temporal", "CVSS:3.1/AV:L/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N/E:F/RL:O/RC:C/CR:H/MAV:N",
        "hand-written: temporal and environmental metrics")
    put("cvss", "v2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "hand-written: CVSS v2 (unsupported)")
    put("cvss", "trailing-slash", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
        "hand-written: as in Go/GHSA-f5pg-7wfw-84q9.json")


# ---------------------------------------------------------------- osv
def osv_seeds():
    d = os.path.join(FX, "osv/records")
    for eco in sorted(os.listdir(d)):
        files = sorted(f for f in os.listdir(os.path.join(d, eco)) if f.endswith(".json"))
        taken = 0
        for f in files:
            rel = "osv/records/%s/%s" % (eco, f)
            if os.path.getsize(os.path.join(FX, rel)) > 12 * 1024 or taken == 3:
                continue
            fixture("osv_match", "%s-%s" % (eco, f[:-5]), rel)
            taken += 1


def main():
    if not os.path.isdir(FX):
        sys.exit("make-seeds: no fixtures at %s" % FX)
    clean_seeds()
    for fn in [frame_seeds, limits_seeds, path_seeds, os_release_seeds, dpkg_seeds, apk_seeds,
               rpm_seeds, rpm_header_seeds, vercmp_seeds, cvss_seeds, osv_seeds]:
        fn()
    for c, items in prov.items():
        with open(os.path.join(CORPUS, c, "PROVENANCE"), "w") as f:
            f.write(PROVENANCE_HEAD % c)
            for it in items:
                f.write(it + "\n")


PROVENANCE_HEAD = """Corpus of the fuzz target %s (tests/fuzz/, docs/fuzzing.md).

seed-* files were written by tests/fuzz/make-seeds.py. Those that come from
/work/shared/fixtures keep the upstream provenance given in the README of
their fixtures folder (repository, commit, license); "hand-written" ones were
written for this corpus. Files named by a 40-hex SHA-1 were found by
libFuzzer and merged in with -merge=1 (minimised: each adds coverage).
This PROVENANCE file is itself replayed as an input, which is harmless.

"""

if __name__ == "__main__":
    main()
