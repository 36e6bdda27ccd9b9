#!/usr/bin/env python3
"""Image sources read by the sandboxed worker (issue 3): oci-archive:,
docker-archive: (plain and gzip'd docker save), dir:.

Runs the real `cellscan sbom` and checks that the Debian test image gives the
same config and diff_ids through oci:, oci-archive:, docker-archive: and the
gzip'd docker archive (values from expected.json, computed by
scripts/make-test-images.sh with other tools), that dir: on the image's final
rootfs finds exactly the packages dpkg-query lists there and the same merged
package list as the image, and that hostile archives made here with python's
tarfile fail with their rule named: truncated, digest mismatch, "../" and
absolute members, a link out of the archive, duplicate names, a 2 GiB sparse
member over a small limit, a manifest naming a missing blob.

usage: test_sources.py CELLSCAN [FIXTURE_CACHE]  (default $CELLSCAN_FIXTURE_CACHE)
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def sbom(cellscan, ref, *extra, cache=None):
    args = [cellscan, "sbom", ref, *extra]
    if cache is not None:
        args += ["--cache-dir", cache]
    p = subprocess.run(args, capture_output=True, text=True, timeout=900)
    doc = json.loads(p.stdout) if p.returncode == 0 and p.stdout else None
    return p.returncode, doc, p.stderr.strip()


# ---- the real image through every source -----------------------------------

def layers_of(doc):
    return [l["diff_id"] for l in doc["layers"]]


def real_images(cellscan, fx, cache):
    oci_exp = json.load(open(os.path.join(fx, "oci", "debian", "expected.json")))
    img = oci_exp["images"][0]
    arc_exp = json.load(open(os.path.join(fx, "archives", "expected.json")))
    want_diffs = [l["diff_id"] for l in img["layers"]]

    rc, base, err = sbom(cellscan, f"oci:{fx}/oci/debian:latest", "--format", "layers", cache=cache)
    check(rc == 0, f"oci: exit {rc}: {err}")
    if base is None:
        return
    check(layers_of(base) == want_diffs, "oci: diff_ids")

    refs = [
        ("oci-archive", f"oci-archive:{fx}/archives/debian.oci.tar", "debian.oci.tar"),
        ("oci-archive:TAG", f"oci-archive:{fx}/archives/debian.oci.tar:latest", "debian.oci.tar"),
        ("docker-archive", f"docker-archive:{fx}/archives/debian.docker.tar", "debian.docker.tar"),
        ("docker-archive gzip", f"docker-archive:{fx}/archives/debian.docker.tar.gz",
         "debian.docker.tar.gz"),
    ]
    for rnd in (1, 2):   # the second time every blob is already cached
        for name, ref, key in refs:
            rc, doc, err = sbom(cellscan, ref, "--format", "layers", cache=cache)
            check(rc == 0, f"{name} (run {rnd}): exit {rc}: {err}")
            if doc is None:
                continue
            check(layers_of(doc) == want_diffs, f"{name}: diff_ids {layers_of(doc)}")
            check(doc["config_digest"] == img["config_digest"], f"{name}: config digest")
            check(doc["platform"] == base["platform"], f"{name}: platform")
            for i, (got, exp) in enumerate(zip(doc["layers"], img["layers"])):
                check(got["entries"] == exp["entries"], f"{name} layer {i}: entries")
                check(got["bytes"] == exp["uncompressed_size"], f"{name} layer {i}: bytes")
                check(len(got["packages"]) == len(base["layers"][i]["packages"]),
                      f"{name} layer {i}: package count")
            e = arc_exp[key]
            if key.startswith("debian.oci"):
                check(doc["manifest_digest"] == e["ref_descriptor"]["digest"],
                      f"{name}: manifest digest")
                check([l["digest"] for l in doc["layers"]] ==
                      [l["digest"] for l in img["layers"]], f"{name}: layer digests")
            else:
                check(doc["config_digest"] == e["config_digest"], f"{name}: docker config")
                check([l["digest"] for l in doc["layers"]] == [l["sha256"] for l in e["layers"]],
                      f"{name}: layer digests (sha256 of the layer tars)")
                check([l["size"] for l in doc["layers"]] == [l["size"] for l in e["layers"]],
                      f"{name}: layer sizes")
        print(f"ok   archives, run {rnd}: same config and diff_ids as oci:")

    # dir: the final rootfs, one pseudo-layer
    rootfs = os.path.join(fx, "rootfs", "debian-final")
    rc, d, err = sbom(cellscan, f"dir:{rootfs}", "--format", "layers", cache=cache)
    check(rc == 0, f"dir: exit {rc}: {err}")
    if d is not None:
        check(len(d["layers"]) == 1, "dir: one pseudo-layer")
        L = d["layers"][0]
        check(L["diff_id"] == "" and L["digest"] == "", "dir: the pseudo-layer has no digests")
        check(L["media_type"] == "application/vnd.cellscan.rootfs.directory", "dir: media type")
        got = sorted((p["name"], p["version"]) for p in L["packages"])
        want = []
        for line in open(os.path.join(fx, "rootfs", "debian-final.dpkg-query.txt")):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 2 and f[0]:
                want.append((f[0], f[1]))
        check(got == sorted(want), f"dir: packages differ from dpkg-query: "
              f"{sorted(set(got) ^ set(want))[:6]}")
        check(any(o["id"] == "debian" and o.get("version_id") == "12" for o in L["os"]),
              "dir: os-release found")
        print(f"ok   dir: {len(got)} packages = dpkg-query of the rootfs")
    # the merged inventories of dir: and of the image agree
    rc1, m1, e1 = sbom(cellscan, f"dir:{rootfs}", cache=cache)
    rc2, m2, e2 = sbom(cellscan, f"oci-archive:{fx}/archives/debian.oci.tar", cache=cache)
    check(rc1 == 0 and rc2 == 0, f"merged sboms: {e1} {e2}")
    if m1 and m2 and "packages" in m1 and "packages" in m2:
        p1 = sorted((p["name"], p["version"]) for p in m1["packages"])
        p2 = sorted((p["name"], p["version"]) for p in m2["packages"])
        check(p1 == p2, f"dir: and the merged image differ: {sorted(set(p1) ^ set(p2))[:6]}")
        print(f"ok   dir: merged = image merged ({len(p1)} packages)")


# ---- hostile archives made here ---------------------------------------------

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tiny_layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
                           ("var/lib/dpkg/status", b"Package: cellscan-probe\nStatus: install ok "
                            b"installed\nVersion: 1.0-1\nArchitecture: all\n\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    return gzip.compress(tar, mtime=0), sha(tar)


def oci_members():
    """The members of a small valid OCI archive, in order: [(name, bytes)]."""
    layer, diff = tiny_layer()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": sha(layer), "size": len(layer)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}).encode()
    return [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("blobs/sha256/" + sha(layer)[7:], layer),
            ("blobs/sha256/" + sha(config)[7:], config),
            ("blobs/sha256/" + sha(manifest)[7:], manifest),
            ("index.json", index)], sha(layer)


def write_tar(path, members, links=()):
    with tarfile.open(path, "w") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for name, target in links:
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            t.addfile(ti)


def sparse_member_tar(path, size):
    """A tar whose one member claims size bytes; the file is sparse on disk."""
    ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
    ti.size = size
    hdr = ti.tobuf(tarfile.GNU_FORMAT)
    with open(path, "wb") as f:
        f.write(hdr)
        f.seek(len(hdr) + size + 1024 - 1)
        f.write(b"\0")


def hostile(cellscan, tmp, cache):
    members, layer_digest = oci_members()
    cases = []

    p = os.path.join(tmp, "good.tar")
    write_tar(p, members)
    cases.append(("valid tiny archive", f"oci-archive:{p}", (), None))
    pg = os.path.join(tmp, "good.tar.gz")
    with open(p, "rb") as f, open(pg, "wb") as g:
        g.write(gzip.compress(f.read()))
    cases.append(("valid tiny archive, gzip'd", f"oci-archive:{pg}", (), None))

    with open(p, "rb") as f:
        whole = f.read()
    pt = os.path.join(tmp, "truncated.tar")
    with open(pt, "wb") as f:
        f.write(whole[:1536 + 100])  # inside the first blob's data
    cases.append(("truncated", f"oci-archive:{pt}", (), ["truncated.tar", "corrupt"]))

    bad = [(n, (d[:-1] + bytes([d[-1] ^ 1])) if n.startswith("blobs/") and d.startswith(b"\x1f\x8b")
            else d) for n, d in members]
    pm = os.path.join(tmp, "mismatch.tar")
    write_tar(pm, bad)
    cases.append(("digest mismatch", f"oci-archive:{pm}", (), ["mismatch.tar", layer_digest, "digest"]))

    pd = os.path.join(tmp, "dotdot.tar")
    write_tar(pd, [("../evil", b"x")] + members)
    cases.append(("../ member", f"oci-archive:{pd}", (), ["dotdot.tar", "path-escape"]))

    pa = os.path.join(tmp, "absolute.tar")
    write_tar(pa, [("/etc/evil.json", b"{}")] + members)
    cases.append(("absolute member", f"oci-archive:{pa}", (), ["absolute.tar", "path-absolute"]))

    pl = os.path.join(tmp, "link.tar")
    write_tar(pl, members, links=[("x/layer.tar", "../../../etc/passwd")])
    cases.append(("link out of the archive", f"docker-archive:{pl}", (), ["link.tar", "link-escape"]))

    pu = os.path.join(tmp, "duplicate.tar")
    write_tar(pu, members + [members[1]])
    cases.append(("duplicate names", f"oci-archive:{pu}", (), ["duplicate.tar", "duplicate"]))

    ps = os.path.join(tmp, "sparse.tar")
    sparse_member_tar(ps, 2 << 30)
    cases.append(("2 GiB sparse member, small limit", f"oci-archive:{ps}",
                  ("--limits", "layer_bytes=1m"), ["sparse.tar", "limit", "layer_bytes"]))

    pmb = os.path.join(tmp, "missing.tar")
    write_tar(pmb, [m for m in members if m[0] != "blobs/sha256/" + layer_digest[7:]])
    cases.append(("manifest names a missing blob", f"oci-archive:{pmb}", (),
                  ["missing.tar", layer_digest, "missing blob"]))

    pn = os.path.join(tmp, "notar.tar")
    with open(pn, "wb") as f:
        f.write(b"this is not an archive at all\n" * 40)
    cases.append(("not a tar", f"oci-archive:{pn}", (), ["notar.tar", "corrupt"]))

    for name, ref, extra, want in cases:
        rc, doc, err = sbom(cellscan, ref, "--format", "layers", *extra, cache=cache)
        if want is None:
            ok = rc == 0 and doc is not None and len(doc["layers"]) == 1 and \
                any(p["name"] == "cellscan-probe" for p in doc["layers"][0]["packages"])
            check(ok, f"{name}: exit {rc}: {err}")
        else:
            lines = [l for l in err.splitlines() if l.startswith("cellscan:")]
            ok = rc == 3 and len(lines) == 1 and all(w in lines[0] for w in want)
            check(ok, f"{name}: exit {rc}, wanted one error line with {want}: {err!r}")
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {err.splitlines()[-1] if err else 'scanned'}")
    left = os.listdir(os.path.join(cache, "tmp"))
    check(left == [], f"temporary files left in the cache: {left}")


def main():
    cellscan = os.path.abspath(sys.argv[1])
    fx = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CELLSCAN_FIXTURE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cellscan-fixtures"))
    with tempfile.TemporaryDirectory(prefix="cs-sources-") as tmp:
        cache = os.path.join(tmp, "cache")
        # the hostile cases need no fixtures
        hostile(cellscan, tmp, cache)
        if not os.path.exists(os.path.join(fx, "archives", "expected.json")) or \
           not os.path.isdir(os.path.join(fx, "rootfs", "debian-final")):
            print(f"skip real images: none at {fx} (scripts/make-test-images.sh builds them)")
        else:
            real_images(cellscan, fx, cache)
    print(f"{checks - failures}/{checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
