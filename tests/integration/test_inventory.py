#!/usr/bin/env python3
"""Image inventory (issue 4): the merged inventory of real images equals what
the package managers themselves say about the final filesystem, layer merge
rules on purpose-built images, the layer cache, and the SBOM formats.

usage: test_inventory.py CELLSCAN [FIXTURE_CACHE]
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

failures = 0
checks = 0
HERE = os.path.dirname(os.path.abspath(__file__))


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def run(cellscan, *args, env=None):
    p = subprocess.run([cellscan, *args], capture_output=True, text=True, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr


def sbom(cellscan, ref, *extra, env=None):
    rc, out, err = run(cellscan, "sbom", ref, *extra, env=env)
    check(rc == 0, f"sbom {ref} {' '.join(extra)}: exit {rc}: {err.strip()}")
    return json.loads(out) if rc == 0 else None


# --- a tiny OCI layout writer for purpose-built images -------------------------

def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def layer_tar(entries):
    """entries: list of (path, bytes or None for a directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 0
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_image(layout, layers):
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs, diffs = [], []
    for entries in layers:
        raw = layer_tar(entries)
        gz = gzip.compress(raw, mtime=0)
        diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": blob(layout, gz), "size": len(gz)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(layout, config), "size": len(config)},
                           "layers": descs}).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": blob(layout, manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    return f"oci:{layout}:latest"


def status(*pkgs):
    out = []
    for name, version in pkgs:
        out.append(f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n"
                   f"Version: {version}\nDescription: test\n")
    return "\n".join(out).encode()


OSREL = ("etc/os-release", b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')


def merge_rules(cellscan, tmp):
    def names(doc):
        return sorted((p["name"], p["version"], p["layer"]) for p in doc["packages"])

    # upgrade in a later layer: new version, upper layer; untouched keeps layer 0
    ref = make_image(os.path.join(tmp, "upgrade"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0"), ("b", "1.0")))],
        [("var/lib/dpkg/status", status(("a", "2.0"), ("b", "1.0")))],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(names(doc) == [("a", "2.0", 1), ("b", "1.0", 0)], f"upgrade: {names(doc)}")
        print("ok   merge: an upgraded package shows the new version and the upper layer")

    # removal: a later status without the package
    ref = make_image(os.path.join(tmp, "remove"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0"), ("b", "1.0")))],
        [("var/lib/dpkg/status", status(("b", "1.0")))],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(names(doc) == [("b", "1.0", 0)], f"remove: {names(doc)}")
        print("ok   merge: a package removed in a later layer is gone")

    # a package removed and re-installed later is introduced by the later layer
    ref = make_image(os.path.join(tmp, "reinstall"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0")))],
        [("var/lib/dpkg/status", status())],
        [("var/lib/dpkg/status", status(("a", "1.0")))],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(names(doc) == [("a", "1.0", 2)], f"reinstall / emptied database: {names(doc)}")
        print("ok   merge: an emptied database empties; a re-install is introduced by its layer")

    # opaque directory hides the lower database; whiteout of the file removes it
    ref = make_image(os.path.join(tmp, "opaque"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0")))],
        [("var/lib/dpkg/.wh..wh..opq", b""), ("var/lib/dpkg/status.d/c", status(("c", "3.0")))],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(names(doc) == [("c", "3.0", 1)], f"opaque: {names(doc)}")
        print("ok   merge: an opaque directory hides the lower database")
    ref = make_image(os.path.join(tmp, "whiteout"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0"))),
         ("var/lib/dpkg/status.d/d", status(("d", "4.0")))],
        [("var/lib/dpkg/.wh.status", b"")],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(names(doc) == [("d", "4.0", 0)], f"whiteout: {names(doc)}")
        check(doc["os"] and doc["os"]["id"] == "debian" and doc["os"]["layer"] == 0, "os kept")
        print("ok   merge: a whiteout removes the database it names, nothing else")
    # whiteout of the os-release directory parent removes the identity
    ref = make_image(os.path.join(tmp, "noos"), [
        [OSREL, ("var/lib/dpkg/status", status(("a", "1.0")))],
        [("etc/.wh.os-release", b"")],
    ])
    doc = sbom(cellscan, ref, "--no-cache")
    if doc:
        check(doc["os"] is None, f"os after whiteout: {doc['os']}")


def debian(cellscan, cache, tmp):
    for name in ("debian", "debian-gzip", "debian-zstd", "debian-plain"):
        layout = os.path.join(cache, "oci", name)
        if not os.path.exists(os.path.join(layout, "expected.json")):
            check(False, f"{name} missing")
            continue
        exp = json.load(open(os.path.join(layout, "expected.json")))
        img = exp["images"][0]
        want = sorted((p["package"], p["version"], p["source"], p["source_version"])
                      for p in img["packages"])
        doc = sbom(cellscan, f"oci:{layout}:latest", "--cache-dir", os.path.join(tmp, "c1"))
        if not doc:
            continue
        got = sorted((p["name"], p["version"], p.get("source_name", p["name"]),
                      p.get("source_version", p["version"])) for p in doc["packages"])
        check(got == want, f"{name}: inventory != dpkg-query of the final filesystem: "
                           f"missing {sorted(set(want) - set(got))[:5]} extra {sorted(set(got) - set(want))[:5]}")
        check(doc["os"]["id"] == img["os_release"]["ID"] and
              doc["os"]["version_id"] == img["os_release"]["VERSION_ID"], f"{name}: os")
        print(f"ok   {name}: {len(got)} packages equal dpkg-query, name/version/source/source version")

    # attribution, checked independently from the per-layer records
    layout = os.path.join(cache, "oci", "debian")
    per = sbom(cellscan, f"oci:{layout}:latest", "--format", "layers", "--no-cache")
    doc = sbom(cellscan, f"oci:{layout}:latest", "--no-cache")
    if per and doc:
        dbs = [{(p["name"], p["version"]) for p in l["packages"] if p["db"] == "var/lib/dpkg/status"}
               for l in per["layers"]]
        present = [i for i, s in enumerate(dbs) if s or any(a.get("path") == "var/lib/dpkg/status"
                                                             for a in [])]
        ok = True
        for p in doc["packages"]:
            key = (p["name"], p["version"])
            # lowest layer from which every later copy of the database lists it
            layers_with_db = [i for i, l in enumerate(per["layers"])
                              if any(q["db"] == "var/lib/dpkg/status" for q in l["packages"])]
            intro = None
            for i in reversed(layers_with_db):
                if key in dbs[i]:
                    intro = i
                else:
                    break
            if intro != p["layer"]:
                ok = False
                print(f"     {key}: layer {p['layer']}, expected {intro}")
        check(ok, "debian: introducing layers")
        by = {p["name"]: p["layer"] for p in doc["packages"]}
        check(by.get("adduser") == 0 and by.get("libssl3") == 1, f"adduser/libssl3 layers {by.get('adduser')}/{by.get('libssl3')}")
        check("curl" not in by, "curl was purged in layer 2")
        print("ok   debian: each package names the layer that introduced it")

    # the cache: second run starts no worker for any layer, same inventory
    env = dict(os.environ)
    c2 = os.path.join(tmp, "c2")
    first = sbom(cellscan, f"oci:{layout}:latest", "--cache-dir", c2)
    second = sbom(cellscan, f"oci:{layout}:latest", "--cache-dir", c2)
    if first and second:
        check(not any(l["cached"] for l in first["layers"]), "first run used no cache")
        check(all(l["cached"] for l in second["layers"]), "second run fully cached")
        check(first["packages"] == second["packages"] and first["os"] == second["os"],
              "cached inventory identical")
        # another image sharing the base layer: its first layer comes from the cache
        zstd = sbom(cellscan, f"oci:{cache}/oci/debian-zstd:latest", "--cache-dir", c2)
        if zstd:
            check(all(l["cached"] for l in zstd["layers"]),
                  "the zstd copy (same diff_ids) is answered from the cache")
        # a tampered cache entry is not trusted: the layer is streamed again
        layer_files = sorted(os.listdir(os.path.join(c2, "layers")))
        victim = os.path.join(c2, "layers", layer_files[0])
        d = json.load(open(victim))
        d["records"].append({"type": "package", "layer": 0, "kind": "dpkg", "name": "x\u0000y",
                             "version": "1", "db": "var/lib/dpkg/status"})
        json.dump(d, open(victim, "w"))
        third = sbom(cellscan, f"oci:{layout}:latest", "--cache-dir", c2)
        if third:
            check(sum(1 for l in third["layers"] if not l["cached"]) == 1,
                  "exactly the tampered layer streamed again")
            check(third["packages"] == first["packages"], "tampered cache changed nothing")
        nocache = sbom(cellscan, f"oci:{layout}:latest", "--cache-dir", c2, "--no-cache")
        if nocache:
            check(not any(l["cached"] for l in nocache["layers"]), "--no-cache streams all")
        print("ok   cache: warm scan starts no worker, shared base layers reused, tampering ignored")


def alpine(cellscan, cache, shared):
    layout = os.path.join(cache, "oci", "alpine")
    listing = os.path.join(shared, "fixtures", "rootfs", "alpine-minirootfs-3.20.3-x86_64.packages.txt")
    if not os.path.exists(layout) or not os.path.exists(listing):
        print("skip alpine: image or listing missing")
        return
    doc = sbom(cellscan, f"oci:{layout}:latest", "--no-cache")
    if doc:
        want = set()
        for line in open(listing):
            f = line.split()
            if f and not f[0].startswith("#"):
                want.add(tuple(f[:4]))   # name version arch origin
        got = {(p["name"], p["version"], p.get("arch", ""), p.get("origin", ""))
               for p in doc["packages"]}
        check(got == want, f"alpine: missing {sorted(want - got)[:3]} extra {sorted(got - want)[:3]}")
        check(doc["os"]["id"] == "alpine" and doc["os"]["version_id"] == "3.20.3", "alpine os")
        print(f"ok   alpine: {len(doc['packages'])} packages equal the minirootfs listing")


def rpm(cellscan, tmp):
    src = os.path.join(HERE, "..", "..", "scripts", "make-rpmdb.sh")
    out = os.path.join(tmp, "rpmdb")
    p = subprocess.run(["sh", src, out], capture_output=True, text=True)
    if p.returncode == 77:
        print("skip rpm: rpm/rpmbuild not installed")
        return
    if not check(p.returncode == 0, f"make-rpmdb.sh: {p.stderr.strip()[-300:]}"):
        return
    root = os.path.join(out, "root")
    entries = [("etc/os-release", b'ID="rhel"\nVERSION_ID="9.4"\n')]
    for dp, dn, fn in os.walk(root):
        for f in fn:
            full = os.path.join(dp, f)
            rel = os.path.relpath(full, root)
            if rel.startswith("var/lib/rpm/") and not os.path.islink(full):
                entries.append((rel, open(full, "rb").read()))
    ref = make_image(os.path.join(tmp, "rpmimg"), [entries])
    doc = sbom(cellscan, ref, "--no-cache")
    if not doc:
        return
    want = sorted(l.rstrip("\n").split("\t")[:5] for l in open(os.path.join(out, "rpm-qa.txt")) if l.strip())
    got = sorted([p["name"], str(p["epoch"]) if "epoch" in p else "(none)", p["rpm_version"],
                  p["rpm_release"], p.get("arch", "(none)")] for p in doc["packages"])
    check(got == want, f"rpm: {got} != rpm -qa {want}")
    print(f"ok   rpm: {len(got)} packages equal rpm -qa on a database rpm itself wrote")


def formats(cellscan, cache, shared, tmp):
    layout = os.path.join(cache, "oci", "debian")
    schemas = os.path.join(shared, "fixtures", "schemas")
    validate = os.path.join(HERE, "..", "report", "validate.py")
    for fmt in ("cyclonedx", "spdx"):
        path = os.path.join(tmp, f"sbom.{fmt}.json")
        rc, out, err = run(cellscan, "sbom", f"oci:{layout}:latest", "--format", fmt, "-o", path)
        if not check(rc == 0, f"sbom --format {fmt}: {err.strip()}"):
            continue
        p = subprocess.run(["/usr/bin/python3", validate, "--schemas", schemas, fmt, path],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"{fmt} output invalid: {p.stdout[-500:]} {p.stderr[-500:]}")
        d = json.load(open(path))
        n = len(d["components"]) if fmt == "cyclonedx" else len(d["packages"]) - 1
        check(n >= 105, f"{fmt}: {n} packages")
        print(f"ok   sbom --format {fmt}: valid against the official schema, {n} packages")


def output_targets(cellscan, tmp):
    """-o FILE replaces a regular file atomically, but writes a FIFO or a
    device in place (renaming over /dev/null once replaced the device)."""
    import stat
    import threading
    ref = make_image(os.path.join(tmp, "out-img"), [[OSREL, ("var/lib/dpkg/status", status(("a", "1")))]])
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    got = []
    t = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    t.start()
    rc, out, err = run(cellscan, "sbom", ref, "--no-cache", "-o", fifo)
    t.join(timeout=60)
    check(rc == 0 and got and b'"packages"' in got[0], f"-o FIFO: {rc} {err}")
    check(stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO is still a FIFO")
    reg = os.path.join(tmp, "out.json")
    open(reg, "w").write("old")
    rc, out, err = run(cellscan, "sbom", ref, "--no-cache", "-o", reg)
    check(rc == 0 and json.load(open(reg))["schema"] == "cellscan-inventory/1", "-o regular file")
    check(not [f for f in os.listdir(tmp) if ".tmp." in f], "no temp files left")
    print("ok   -o: regular files replaced atomically, FIFOs and devices written in place")


def main():
    cellscan = os.path.abspath(sys.argv[1])
    cache = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CELLSCAN_FIXTURE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cellscan-fixtures"))
    shared = os.environ.get("CS_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
    with tempfile.TemporaryDirectory() as tmp:
        merge_rules(cellscan, tmp)
        output_targets(cellscan, tmp)
        if os.path.isdir(os.path.join(cache, "oci")):
            debian(cellscan, cache, tmp)
            alpine(cellscan, cache, shared)
            if os.path.isdir(os.path.join(shared, "fixtures", "schemas")):
                formats(cellscan, cache, shared, tmp)
            else:
                print("skip formats: ../shared/fixtures/schemas missing")
        else:
            print(f"skip real images: none at {cache} (scripts/make-test-images.sh needs root)")
        rpm(cellscan, tmp)
    print(f"{checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
