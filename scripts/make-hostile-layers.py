#!/usr/bin/env python3
"""Hostile single-layer OCI image layouts for cellscan's worker tests.

usage: make-hostile-layers.py OUTDIR        build every layout into OUTDIR/<name>/
       make-hostile-layers.py --version     print the recipe version (cache key)
       make-hostile-layers.py --compute-bomb-diff-id
                                            hash the bomb's 17 GiB tar stream
                                            (about 20 s) and print its diff_id

Each OUTDIR/<name>/ is a complete OCI image layout tagged "latest" (oci-layout,
index.json, manifest, config, one layer blob; digests, sizes and diff_ids are
correct wherever the layer is well formed), plus two files that are not part of
the layout:
  expect         one line: what cellscan must do with it (docs/test-images.md)
  expected.json  name, expect, note, and the layer's media type, digest, size,
                 diff_id, uncompressed size and entry count (null where the
                 layer cannot be read to the end)
OUTDIR/expectations.tsv lists every name and its expect line.

Everything is deterministic (fixed mtimes, gzip header mtime 0), so the blobs
and digests are the same on every machine. Nothing is held in memory whole:
the gzip bomb is streamed from precompressed deflate segments.
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import shutil
import subprocess
import sys
import tarfile
import zlib

VERSION = "3"
MTIME = 1700000000  # 2023-11-14, fixed so the output is reproducible

# The gzip bomb: three tar entries of zeros, 17 GiB of content in all, more
# than the default 16 GiB per-layer limit of DESIGN.md, in about 17 MiB.
BOMB_SIZES = (6 << 30, 6 << 30, 5 << 30)
BOMB_CHUNK = 16 << 20
# sha256 of the bomb's uncompressed tar stream; recompute with
# --compute-bomb-diff-id after changing anything about the bomb.
BOMB_DIFF_ID = "sha256:4e2681776ea69a99ad25273cc47da02386b100ac4e9dc1dcf42ec7fdf6fbc673"

MT_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_GZIP = MT_TAR + "+gzip"
MT_ZSTD = MT_TAR + "+zstd"

OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
DPKG_STATUS = (b"Package: cellscan-probe\nStatus: install ok installed\nPriority: optional\n"
               b"Section: misc\nInstalled-Size: 1\nMaintainer: cellscan <cellscan@example.invalid>\n"
               b"Architecture: all\nVersion: 1.0-1\nDescription: marker package of the cellscan fixtures\n\n")


# ------------------------------------------------------------ tar building --

def ti_file(name, data=b"", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime, ti.uid, ti.gid = len(data), mode, MTIME, 0, 0
    ti.uname = ti.gname = "root"
    return ti, data


def ti_dir(name, mode=0o755):
    ti, _ = ti_file(name)
    ti.type, ti.mode = tarfile.DIRTYPE, mode
    return ti, None


def ti_link(name, target, kind):
    ti, _ = ti_file(name, mode=0o777 if kind == tarfile.SYMTYPE else 0o644)
    ti.type, ti.linkname = kind, target
    return ti, None


def ti_dev(name, kind, major=0, minor=0, mode=0o666):
    ti, _ = ti_file(name, mode=mode)
    ti.type, ti.devmajor, ti.devminor = kind, major, minor
    return ti, None


def payload():
    """A small Debian-looking root: os-release and a one-package dpkg db."""
    return [ti_dir("etc"), ti_file("etc/os-release", OS_RELEASE),
            ti_dir("var"), ti_dir("var/lib"), ti_dir("var/lib/dpkg"),
            ti_file("var/lib/dpkg/status", DPKG_STATUS)]


def make_tar(entries, fmt=tarfile.GNU_FORMAT):
    """Uncompressed tar bytes of [(TarInfo, data or None)]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def zstd(data):
    return subprocess.run(["zstd", "-q", "-19", "-c", "--no-check"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


# ----------------------------------------------------------- OCI layouts ---

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put(layout, data):
    d = sha256(data)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def write_layout(outdir, name, expect, note, media_type, layer_path, diff_id,
                 uncompressed_size=None, entries=None):
    """OUTDIR/name as an OCI layout around the layer blob already written at
    layer_path (moved into blobs/). diff_id goes into the config as given."""
    layout = os.path.join(outdir, name)
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    h, size = hashlib.sha256(), 0
    with open(layer_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    ldigest = "sha256:" + h.hexdigest()
    os.replace(layer_path, os.path.join(blobs, ldigest[7:]))
    cfg = {"architecture": "amd64", "os": "linux",
           "config": {"Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers", "diff_ids": [diff_id]},
           "history": [{"created_by": "cellscan hostile fixture: " + name}]}
    cbytes = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": put(layout, cbytes), "size": len(cbytes)},
           "layers": [{"mediaType": media_type, "digest": ldigest, "size": size}]}
    mbytes = json.dumps(man, separators=(",", ":")).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": man["mediaType"], "digest": put(layout, mbytes),
                            "size": len(mbytes),
                            "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, separators=(",", ":"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(layout, "expect"), "w") as f:
        f.write(expect + "\n")
    exp = {"name": name, "expect": expect, "note": note, "manifest_digest": index["manifests"][0]["digest"],
           "layer": {"media_type": media_type, "digest": ldigest, "size": size,
                     "diff_id": diff_id, "uncompressed_size": uncompressed_size,
                     "entries": entries}}
    with open(os.path.join(layout, "expected.json"), "w") as f:
        json.dump(exp, f, indent=2)
        f.write("\n")
    return name, expect


def simple(outdir, name, expect, note, entries, media_type=MT_GZIP, compress=gz,
           fmt=tarfile.GNU_FORMAT, diff_id=None):
    tar = make_tar(entries, fmt)
    tmp = os.path.join(outdir, name + ".layer")
    with open(tmp, "wb") as f:
        f.write(compress(tar))
    return write_layout(outdir, name, expect, note, media_type, tmp,
                        diff_id or sha256(tar), len(tar), len(entries))


# -------------------------------------------------------------- the bomb ---

def _gf2_times(mat, vec):
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1, crc2, len2):
    """CRC-32 of A||B from crc(A), crc(B), len(B) (zlib's method: apply the
    "append len2 zero bits" operator by repeated squaring in GF(2))."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_zeros(n):
    """CRC-32 of n zero bytes, n a multiple of BOMB_CHUNK."""
    base, blen, res = zlib.crc32(bytes(BOMB_CHUNK)), BOMB_CHUNK, None
    k = n // BOMB_CHUNK
    while k:
        if k & 1:
            res = base if res is None else crc32_combine(res, base, blen)
        k >>= 1
        if k:
            base = crc32_combine(base, base, blen)
            blen *= 2
    return res


def bomb_pieces():
    """The bomb's tar stream as pieces: bytes, or an int = that many zeros."""
    for i, n in enumerate(BOMB_SIZES):
        ti, _ = ti_file("zeros-%d" % i)
        ti.size = n
        yield ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
        yield n  # a multiple of 512 and of BOMB_CHUNK: no padding
    yield bytes(10240)  # end-of-archive blocks, padded to a full tar record


def write_bomb(path):
    """Single-member gzip of bomb_pieces(). Each run of zeros is written as
    copies of one deflate segment (16 MiB of zeros ending in a full flush, so
    every copy is byte-identical and independent of what came before); the
    CRC-32 of the zeros comes from crc32_combine, never from the data."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    seg_co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    seg = seg_co.compress(bytes(BOMB_CHUNK)) + seg_co.flush(zlib.Z_FULL_FLUSH)
    crc, total = 0, 0
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03")  # gzip, mtime 0, unix
        for p in bomb_pieces():
            if isinstance(p, int):
                f.write(co.flush(zlib.Z_FULL_FLUSH))
                for _ in range(p // BOMB_CHUNK):
                    f.write(seg)
                crc = crc32_combine(crc, crc32_zeros(p), p)
                total += p
            else:
                f.write(co.compress(p))
                crc = zlib.crc32(p, crc)
                total += len(p)
        f.write(co.flush(zlib.Z_FINISH))
        f.write((crc & 0xFFFFFFFF).to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little"))
    return total


def compute_bomb_diff_id():
    h, zeros = hashlib.sha256(), bytes(BOMB_CHUNK)
    for p in bomb_pieces():
        if isinstance(p, int):
            for _ in range(p // BOMB_CHUNK):
                h.update(zeros)
        else:
            h.update(p)
    return "sha256:" + h.hexdigest()


# -------------------------------------------------------------- layouts ----

def build(outdir):
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    out = []
    REG, SYM, LNK = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

    out.append(simple(outdir, "path-dotdot", "warning path-escape",
        "entries whose names climb out of the root with ../; the payload next to them must still be found",
        payload() + [ti_file("../cellscan-escape-dotdot", b"x\n"),
                     ti_file("etc/../../cellscan-escape-nested", b"x\n"),
                     ti_file("./../../../../tmp/cellscan-escape-deep", b"x\n")]))

    out.append(simple(outdir, "path-absolute", "warning path-absolute",
        "entries with absolute names (/tmp/..., /etc/...); Docker strips the leading slash",
        payload() + [ti_file("/tmp/cellscan-absolute", b"x\n"),
                     ti_file("/etc/cellscan-absolute", b"x\n")]))

    out.append(simple(outdir, "symlink-escape", "warning link-escape",
        "symlinks that climb out of the root: os-release and the dpkg status point at the host's "
        "copies (a scan that follows them reports the host's OS and packages), and a file is "
        "written through a symlinked directory; the right result has no OS and no packages",
        [ti_dir("etc"), ti_link("etc/os-release", "../../../../../../../usr/lib/os-release", SYM),
         ti_dir("var"), ti_dir("var/lib"), ti_dir("var/lib/dpkg"),
         ti_link("var/lib/dpkg/status", "../../../../../../../../var/lib/dpkg/status", SYM),
         ti_link("escape-dir", "../../../../../../../tmp", SYM),
         ti_file("escape-dir/cellscan-through-symlink", b"x\n"),
         ti_link("abs-passwd", "/etc/passwd", SYM)]))

    out.append(simple(outdir, "hardlink-escape", "warning link-escape",
        "hard links whose targets are outside the layer (../ and absolute) or not in it; "
        "the dpkg status is such a link, so the right result has no packages",
        [ti_dir("etc"), ti_file("etc/os-release", OS_RELEASE),
         ti_link("leak-passwd", "../../../../../etc/passwd", LNK),
         ti_link("leak-shadow", "/etc/shadow", LNK),
         ti_dir("var"), ti_dir("var/lib"), ti_dir("var/lib/dpkg"),
         ti_link("var/lib/dpkg/status", "../../../../../../var/lib/dpkg/status", LNK)]))

    out.append(simple(outdir, "special-files", "warning special-file",
        "character and block device nodes and a fifo (nothing may be created or opened)",
        payload() + [ti_dir("dev"), ti_dev("dev/null", tarfile.CHRTYPE, 1, 3),
                     ti_dev("dev/mem", tarfile.CHRTYPE, 1, 1, 0o640),
                     ti_dev("dev/sda", tarfile.BLKTYPE, 8, 0, 0o660),
                     ti_dir("run"), ti_dev("run/cellscan.fifo", tarfile.FIFOTYPE, mode=0o644)]))

    out.append(simple(outdir, "setuid", "ok",
        "setuid/setgid/sticky and world-writable setuid files; inert for a scanner that never "
        "writes files, the payload package must be reported",
        payload() + [ti_dir("usr"), ti_dir("usr/bin"),
                     ti_file("usr/bin/suid-root", b"#!/bin/sh\n", 0o4755),
                     ti_file("usr/bin/sgid", b"#!/bin/sh\n", 0o2755),
                     ti_file("usr/bin/suid-sgid-world-writable", b"#!/bin/sh\n", 0o6777),
                     ti_dir("tmp", 0o1777)]))

    # The gzip bomb, streamed.
    tmp = os.path.join(outdir, "gzip-bomb.layer")
    total = write_bomb(tmp)
    out.append(write_layout(outdir, "gzip-bomb", "error limit",
        "a well-formed gzip layer of about 17 MiB that inflates to 17 GiB of zeros in three tar "
        "entries (6, 6 and 5 GiB), over the default 16 GiB per-layer limit; tests may lower the "
        "limit to fail faster. diff_id is precomputed (--compute-bomb-diff-id)",
        MT_GZIP, tmp, BOMB_DIFF_ID, total, len(BOMB_SIZES)))

    # Truncated gzip: a layer with some incompressible data, cut in the middle.
    rnd = random.Random(20240101)
    data = bytes(rnd.getrandbits(8) for _ in range(1 << 16)) * 4
    tar = make_tar(payload() + [ti_file("usr-data.bin", data)])
    blob = gz(tar)
    tmp = os.path.join(outdir, "gzip-truncated.layer")
    with open(tmp, "wb") as f:
        f.write(blob[: len(blob) // 2])
    out.append(write_layout(outdir, "gzip-truncated", "error corrupt",
        "a gzip layer cut at half its length (the digest is of the cut blob, so the download "
        "checks pass); the config's diff_id is that of the whole tar",
        MT_GZIP, tmp, sha256(tar), None, None))

    # Corrupt tar header: the second header's checksum is wrong.
    tar = bytearray(make_tar(payload()))
    hdr2 = 512  # etc/ is a directory: header only, so etc/os-release's header is next
    assert tar[hdr2:hdr2 + 14] == b"etc/os-release"
    tar[hdr2 + 148:hdr2 + 156] = b"0000000\x00"
    tar = bytes(tar)
    tmp = os.path.join(outdir, "tar-bad-checksum.layer")
    with open(tmp, "wb") as f:
        f.write(gz(tar))
    out.append(write_layout(outdir, "tar-bad-checksum", "error corrupt",
        "valid gzip around a tar whose second header (etc/os-release) has a wrong checksum",
        MT_GZIP, tmp, sha256(tar), len(tar), None))

    # A path longer than the 4096-byte limit, carried in a pax header.
    longp = "/".join(["d%03d-%s" % (i, "x" * 40) for i in range(110)]) + "/file"
    assert len(longp) > 4096
    out.append(simple(outdir, "long-path", "warning path-too-long",
        "a regular file whose path is %d bytes (pax 'path' record), over the 4096-byte limit; "
        "the payload must still be found" % len(longp),
        payload() + [ti_file(longp, b"x\n")], fmt=tarfile.PAX_FORMAT))

    # Invalid UTF-8 and terminal escapes in names (GNU format keeps the raw bytes).
    def raw(b):
        return b.decode("utf-8", "surrogateescape")
    pl = payload()
    pl[1] = ti_file("etc/os-release", OS_RELEASE.replace(
        b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
        b'PRETTY_NAME="Debian \x1b]0;pwned\x07\x1b[2J\x1b[31mred"'))
    out.append(simple(outdir, "bad-name", "warning bad-name",
        "file names with invalid UTF-8 (0xff 0xfe, a lone continuation byte), terminal escape "
        "sequences (OSC title, clear screen, colour), a newline and a carriage return, and an "
        "os-release PRETTY_NAME with escapes; output must escape them, never pass them through",
        pl + [ti_file(raw(b"bad-\xff\xfe-utf8"), b"x\n"),
              ti_file(raw(b"lone-\x80-continuation"), b"x\n"),
              ti_file(raw(b"\x1b]0;pwned\x07\x1b[2J-title"), b"x\n"),
              ti_file(raw(b"\x1b[31mred\x1b[0m"), b"x\n"),
              ti_file("new\nline", b"x\n"),
              ti_file("carriage\rreturn", b"x\n")],
        fmt=tarfile.GNU_FORMAT))

    # 100,000 tiny entries (plus 100 directories and the payload).
    entries = payload() + [ti_dir("many")]
    for d in range(100):
        entries.append(ti_dir("many/%02d" % d))
        for i in range(1000):
            entries.append(ti_file("many/%02d/%05d" % (d, d * 1000 + i), b"x"))
    out.append(simple(outdir, "many-entries", "ok",
        "100,000 one-byte files in 100 directories (plus the payload): well under the "
        "2,000,000-entry limit, a speed test", entries))

    # The same payload in every compression a layer may come in.
    out.append(simple(outdir, "zstd-layer", "ok",
        "the payload as a zstd layer (OCI tar+zstd)", payload(), MT_ZSTD, zstd))
    out.append(simple(outdir, "xz-layer", "ok",
        "the payload compressed with xz; OCI has no xz media type, so it is declared as plain "
        "tar and the compression must be found by its magic bytes (as Docker does)",
        payload(), MT_TAR, lambda b: lzma.compress(b, preset=6)))
    out.append(simple(outdir, "bzip2-layer", "ok",
        "the payload compressed with bzip2, declared as plain tar like xz-layer",
        payload(), MT_TAR, lambda b: bz2.compress(b, 9)))
    out.append(simple(outdir, "empty-layer", "ok",
        "a gzip layer holding only the end-of-archive blocks: no entries, no OS, no packages",
        []))

    with open(os.path.join(outdir, "expectations.tsv"), "w") as f:
        for name, expect in out:
            f.write("%s\t%s\n" % (name, expect))
    return out


def main(argv):
    if len(argv) == 2 and argv[1] == "--version":
        print(VERSION)
        return 0
    if len(argv) == 2 and argv[1] == "--compute-bomb-diff-id":
        print(compute_bomb_diff_id())
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    for name, expect in build(argv[1]):
        print("hostile: %-18s %s" % (name, expect), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
