#!/usr/bin/env python3
"""Layer streaming on real images and hostile layers (issue 2).

Runs the real `cellscan sbom` on the OCI layouts that scripts/make-test-images.sh
builds (a Debian image from Debian's archive in four layers, re-compressed as
gzip, zstd and plain; Alpine; a two-platform index) and checks every layer's
diff_id, entry count, uncompressed size and whiteouts against expected.json,
whose values the script computed with zcat/zstdcat, sha256sum and tar -t.
Then every hostile layout must end as its `expect` file says, with nothing
written anywhere.

usage: test_layers.py CELLSCAN [FIXTURE_CACHE]  (default $CELLSCAN_FIXTURE_CACHE)
"""
import json
import os
import subprocess
import sys
import tempfile

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def sbom(cellscan, ref, *extra, env=None):
    p = subprocess.run([cellscan, "sbom", ref, "--format", "layers", "--no-cache", *extra], capture_output=True, text=True,
                       env=env, timeout=600)
    doc = json.loads(p.stdout) if p.returncode == 0 and p.stdout else None
    return p.returncode, doc, p.stderr


def compare_image(cellscan, layout, ref_tag, expected_image, extra=()):
    rc, doc, err = sbom(cellscan, f"oci:{layout}:{ref_tag}", *extra)
    check(rc == 0, f"{layout}: sbom exit {rc}: {err.strip()}")
    if doc is None:
        return None
    check(doc["manifest_digest"] == expected_image["manifest_digest"],
          f"{layout}: manifest {doc['manifest_digest']}")
    check(doc["config_digest"] == expected_image["config_digest"], f"{layout}: config digest")
    exp_layers = expected_image["layers"]
    check(len(doc["layers"]) == len(exp_layers), f"{layout}: layer count")
    for i, (got, exp) in enumerate(zip(doc["layers"], exp_layers)):
        where = f"{layout} layer {i}"
        check(got["digest"] == exp["digest"], f"{where}: digest")
        check(got["diff_id"] == exp["diff_id"], f"{where}: diff_id {got['diff_id']} != {exp['diff_id']}")
        check(got["entries"] == exp["entries"], f"{where}: entries {got['entries']} != {exp['entries']}")
        check(got["bytes"] == exp["uncompressed_size"], f"{where}: bytes")
        wh = sorted(w["path"] for w in got["whiteouts"] if not w["opaque"])
        op = sorted(w["path"] for w in got["whiteouts"] if w["opaque"])
        check(wh == sorted(exp["whiteouts"]), f"{where}: whiteouts {wh} != {exp['whiteouts']}")
        check(op == sorted(exp["opaque_dirs"]), f"{where}: opaque {op} != {exp['opaque_dirs']}")
    print(f"ok   {layout}: {len(doc['layers'])} layers, diff_ids/entries/whiteouts equal")
    return doc


def main():
    cellscan = os.path.abspath(sys.argv[1])
    cache = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CELLSCAN_FIXTURE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cellscan-fixtures"))
    oci = os.path.join(cache, "oci")
    if not os.path.isdir(oci):
        print(f"SKIP: no test images at {cache} (scripts/make-test-images.sh builds them; "
              "it needs root for debootstrap)")
        return 77
    seen = 0
    for name in ("debian", "debian-gzip", "debian-zstd", "debian-plain", "alpine"):
        layout = os.path.join(oci, name)
        exp_path = os.path.join(layout, "expected.json")
        if not os.path.exists(exp_path):
            print(f"skip {name}: not built")
            continue
        exp = json.load(open(exp_path))
        compare_image(cellscan, layout, exp["ref"], exp["images"][0])
        seen += 1
    check(seen >= 4, f"only {seen} test images present")

    multi = os.path.join(oci, "alpine-multi")
    if os.path.exists(os.path.join(multi, "expected.json")):
        exp = json.load(open(os.path.join(multi, "expected.json")))
        for img in exp["images"]:
            p = img["platform"]
            plat = f"{p['os']}/{p['architecture']}" + (f"/{p['variant']}" if p.get("variant") else "")
            doc = compare_image(cellscan, multi, exp["ref"], img, ("--platform", plat))
            if doc is not None:
                check(doc["platform"].startswith(f"{p['os']}/{p['architecture']}"),
                      f"alpine-multi: platform {doc['platform']} for {plat}")
        rc, doc, err = sbom(cellscan, f"oci:{multi}:{exp['ref']}", "--platform", "linux/s390x")
        check(rc == 3 and "linux/amd64" in err and "linux/arm64" in err,
              f"alpine-multi: missing platform error lists the platforms: {err.strip()}")
        print(f"ok   alpine-multi: platform choice and the error listing platforms")

    hostile = os.path.join(cache, "hostile")
    if not os.path.isdir(hostile):
        check(False, "hostile layouts missing")
    else:
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, HOME=home, XDG_CACHE_HOME=home, TMPDIR=home)
            for name in sorted(os.listdir(hostile)):
                d = os.path.join(hostile, name)
                if not os.path.isdir(d):
                    continue
                want = open(os.path.join(d, "expect")).read().split()
                # the bomb inflates to 17 GiB: a 1 GiB layer limit ends it fast
                p = subprocess.run([cellscan, "sbom", f"oci:{d}", "--format", "layers", "--no-cache", "--limits",
                                    "layer_bytes=1g,worker_wall=120"], capture_output=True,
                                   text=True, env=env, cwd=home, timeout=300)
                codes = set()
                if p.returncode == 0:
                    doc = json.loads(p.stdout)
                    for layer in doc["layers"]:
                        codes.update(w["code"] for w in layer["warnings"])
                ok = False
                if want[0] == "ok":
                    ok = p.returncode == 0
                elif want[0] == "warning":
                    ok = p.returncode == 0 and want[1] in codes
                elif want[0] == "error":
                    ok = p.returncode == 3 and f": {want[1]}: " in p.stderr
                check(ok, f"hostile {name}: want {' '.join(want)}, exit {p.returncode}, "
                          f"warnings {sorted(codes)}, stderr {p.stderr.strip()}")
                check(len(p.stderr.splitlines()) <= 1, f"hostile {name}: one-line error")
                check(not any(c in p.stderr for c in "\x1b\r"), f"hostile {name}: raw control bytes on stderr")
                left = os.listdir(home)
                check(left == [], f"hostile {name}: files written: {left}")
                print(f"{'ok  ' if ok else 'FAIL'} hostile {name}: {' '.join(want)} -> exit "
                      f"{p.returncode} {sorted(codes)} {p.stderr.strip()[:160]}")
    print(f"{checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
