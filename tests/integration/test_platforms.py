#!/usr/bin/env python3
"""`--platform all`: every platform of an index, shared layers analysed once
(issue 3).

Runs the real `cellscan sbom IMAGE --platform all` and `cellscan scan IMAGE
--platform all`, which print

  {"schema": "cellscan-platforms/1",
   "platforms": [{"platform": "linux/amd64", "inventory": <cellscan-inventory/1>}, ...]}
  {"schema": "cellscan-platforms/1",
   "platforms": [{"platform": "linux/amd64", "report": <cellscan-report/1>}, ...]}

on:
* alpine-multi from scripts/make-test-images.sh: two platforms with
  different Alpine releases; each platform's inventory must be its own image's
  (os release, packages, manifest and config digests, diff_ids as
  expected.json says);
* a layout built here from alpine-multi's blobs: linux/amd64 and
  linux/arm64/v8 sharing the one layer, an attestation manifest
  (unknown/unknown) between them, which must not appear. The shared layer must
  be analysed once: the second platform's copy comes from the layer cache
  (`cached: true`), in a cache directory that starts empty;
* with docker-registry, skopeo and root: the same layout pushed to a loopback
  registry (scripts/registry-test-env.sh) behind tests/integration/registry/
  fault_proxy.py, whose log must show the shared layer blob downloaded once.

`scan` gets a database made of two OSV records written here: one for
Alpine:v3.20 (the amd64 image) and one for Alpine:v3.18 (the arm64 image), so
each platform's report must hold its own finding only.

Until the CLI takes `--platform all` (it says "--platform all is not
supported"), the CLI parts are skipped (exit 77, with the reason).

usage: test_platforms.py CELLSCAN [FIXTURE_CACHE]  (default $CELLSCAN_FIXTURE_CACHE)
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
failures = 0
checks = 0

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def run(args, env=None, timeout=900):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr.strip()


def unsupported(err):
    return bool(re.search(r"--platform all.*(not supported|unsupported)", err)) or \
        "no image for platform all" in err


def plat_name(p):
    return f"{p['os']}/{p['architecture']}" + (f"/{p['variant']}" if p.get("variant") else "")


# ---- a layout whose two platforms share a layer ------------------------------

def put(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return {"digest": d, "size": len(data)}


def put_json(layout, doc):
    return put(layout, json.dumps(doc, separators=(",", ":")).encode())


def shared_layout(src, dst):
    """alpine-multi's amd64 image twice: as linux/amd64 and linux/arm64/v8
    (same layer, configs differing in architecture), with an attestation
    manifest between them. Returns the expected platform list."""
    exp = json.load(open(os.path.join(src, "expected.json")))
    amd = exp["images"][0]
    os.makedirs(os.path.join(dst, "blobs", "sha256"))
    shutil.copy(os.path.join(src, "oci-layout"), dst)
    layer_hex = amd["layers"][0]["digest"][7:]
    shutil.copy(os.path.join(src, "blobs", "sha256", layer_hex), os.path.join(dst, "blobs", "sha256"))
    cfg_bytes = open(os.path.join(src, "blobs", "sha256", amd["config_digest"][7:]), "rb").read()
    layer_desc = {"mediaType": amd["layers"][0]["media_type"], "digest": amd["layers"][0]["digest"],
                  "size": amd["layers"][0]["size"]}
    want = []
    entries = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        cfg = json.loads(cfg_bytes)
        cfg["architecture"] = arch
        cfg.pop("variant", None)
        if variant:
            cfg["variant"] = variant
        c = put_json(dst, cfg)
        m = put_json(dst, {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                           "config": dict(mediaType=MT_CONFIG, **c), "layers": [layer_desc]})
        plat = {"os": "linux", "architecture": arch}
        if variant:
            plat["variant"] = variant
        entries.append(dict(mediaType=MT_MANIFEST, platform=plat, **m))
        want.append({"platform": plat_name(plat), "manifest_digest": m["digest"],
                     "config_digest": c["digest"]})
        if arch == "amd64":
            # BuildKit's provenance: an in-toto "image" of unknown/unknown
            att_cfg = put_json(dst, {"_type": "https://in-toto.io/Statement/v0.1"})
            att = put_json(dst, {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                                 "config": dict(mediaType="application/vnd.in-toto+json", **att_cfg),
                                 "layers": []})
            entries.append(dict(mediaType=MT_MANIFEST,
                                platform={"os": "unknown", "architecture": "unknown"},
                                annotations={"vnd.docker.reference.type": "attestation-manifest",
                                             "vnd.docker.reference.digest": m["digest"]}, **att))
    idx = put_json(dst, {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries})
    with open(os.path.join(dst, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
            dict(mediaType=MT_INDEX, annotations={"org.opencontainers.image.ref.name": "latest"}, **idx)]}, f)
    return want, amd


def packages(inv):
    return sorted((p["name"], p["version"]) for p in inv.get("packages", []))


def exp_packages(img):
    return sorted((p["package"], p["version"]) for p in img["packages"])


def sbom_all(cellscan, ref, cache, *extra, env=None):
    rc, out, err = run([cellscan, "sbom", ref, "--platform", "all", "--cache-dir", cache, *extra], env=env)
    doc = None
    if rc == 0:
        try:
            doc = json.loads(out)
        except ValueError:
            pass
    return rc, doc, err


def check_doc(doc, key, schema, what):
    ok = check(isinstance(doc, dict) and doc.get("schema") == "cellscan-platforms/1" and
               isinstance(doc.get("platforms"), list), f"{what}: not a cellscan-platforms/1 document")
    if ok:
        for e in doc["platforms"]:
            ok &= check(isinstance(e, dict) and set(e) == {"platform", key} and
                        e[key].get("schema") == schema, f"{what}: entry {str(e)[:200]}")
    return ok


def check_shared(doc, want, amd, what):
    """The two platforms of the shared layout, the layer analysed once."""
    if not check_doc(doc, "inventory", "cellscan-inventory/1", what):
        return
    got = [e["platform"] for e in doc["platforms"]]
    check(got == [w["platform"] for w in want], f"{what}: platforms {got}")
    for i, (e, w) in enumerate(zip(doc["platforms"], want)):
        inv = e["inventory"]
        check(inv["image"]["manifest_digest"] == w["manifest_digest"],
              f"{what} {w['platform']}: manifest {inv['image']['manifest_digest']}")
        check(inv["image"]["config_digest"] == w["config_digest"], f"{what} {w['platform']}: config")
        check(inv["image"]["platform"] == w["platform"], f"{what}: image platform {inv['image']['platform']}")
        check([l["diff_id"] for l in inv["layers"]] == [l["diff_id"] for l in amd["layers"]],
              f"{what} {w['platform']}: diff_ids")
        check(packages(inv) == exp_packages(amd), f"{what} {w['platform']}: packages")
        # the same layer: analysed for the first platform, cached for the second
        check([l["cached"] for l in inv["layers"]] == [i > 0],
              f"{what} {w['platform']}: layer cached flags {[l['cached'] for l in inv['layers']]}")
    print(f"ok   {what}: {got}, attestation left out, the shared layer analysed once")


# ---- the registry (optional) -------------------------------------------------

def registry_part(cellscan, layout, want, amd, work):
    for t in ("docker-registry", "skopeo", "openssl", "htpasswd", "curl"):
        if shutil.which(t) is None:
            print(f"skip registry: {t} is not installed")
            return
    if os.getuid() != 0:
        print("skip registry: the loopback registry tests run as root here")
        return
    envdir = os.path.join(work, "env")
    rc, out, err = run([os.path.join(REPO, "scripts", "registry-test-env.sh"), "start", envdir], timeout=300)
    if not check(rc == 0, f"registry env: {err[-400:]}"):
        return
    proxy = None
    try:
        env = {}
        for line in open(os.path.join(envdir, "env")):
            m = re.match(r"(?:export )?([A-Z_]+)=['\"]?([^'\"\n]*)", line)
            if m:
                env[m.group(1)] = m.group(2)
        reg, ca = env["REG"], env["CA"]
        rc, out, err = run(["skopeo", "copy", "-q", "--all", "--dest-creds", f"{env['REG_USER']}:{env['REG_PASS']}",
                            "--dest-cert-dir", env["CERTDIR"], f"oci:{layout}:latest", f"docker://{reg}/cs/shared:latest"])
        if not check(rc == 0, f"skopeo push: {err[-400:]}"):
            return
        ports = os.path.join(work, "ports.json")
        proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "registry", "fault_proxy.py"), reg, ca,
                                  os.path.join(envdir, "ca", "server.crt"), os.path.join(envdir, "ca", "server.key"),
                                  ports], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(ports):
                break
            time.sleep(0.1)
        px = "127.0.0.1:%d" % json.load(open(ports))["tls"]
        cenv = dict(os.environ, CELLSCAN_REGISTRY_USERNAME=env["REG_USER"],
                    CELLSCAN_REGISTRY_PASSWORD=env["REG_PASS"], DOCKER_CONFIG=os.path.join(work, "nodc"),
                    no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            cenv.pop(k, None)
        rc, doc, err = sbom_all(cellscan, f"{px}/cs/shared:latest", os.path.join(work, "cache-reg"),
                                "--ca-file", ca, env=cenv)
        if rc != 0 and unsupported(err):
            print(f"skip registry: {err}")
            return
        check(rc == 0, f"registry --platform all: exit {rc}: {err}")
        if doc is not None:
            check_shared(doc, want, amd, "registry")
        log = json.loads(subprocess.run(["curl", "-s", "--cacert", ca, f"https://{px}/__ctl/log"],
                                        capture_output=True, text=True, timeout=60).stdout or "[]")
        layer = amd["layers"][0]["digest"]
        n = sum(1 for e in log if e.get("path", "").endswith(layer) and e.get("status") == 200)
        check(n == 1, f"registry: the shared layer was downloaded {n} times")
        if n == 1:
            print("ok   registry: the shared layer blob was downloaded once")
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=30)
        run([os.path.join(REPO, "scripts", "registry-test-env.sh"), "stop", envdir], timeout=120)


# ---- scan ------------------------------------------------------------------

def osv(rid, eco, name, fixed):
    return {"schema_version": "1.6.0", "id": rid, "modified": "2026-01-01T00:00:00Z",
            "published": "2025-12-01T00:00:00Z", "summary": f"test vulnerability in {name}",
            "affected": [{"package": {"ecosystem": eco, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


def scan_part(cellscan, ref, exp, work, cache):
    recs = os.path.join(work, "osv")
    os.makedirs(recs)
    # busybox one revision above what each image has
    want = {}
    for img, rid in zip(exp["images"], ("CS-PLAT-0001", "CS-PLAT-0002")):
        ver = img["os_release"]["VERSION_ID"]
        eco = "Alpine:v" + ".".join(ver.split(".")[:2])
        bb = next(p["version"] for p in img["packages"] if p["package"] == "busybox")
        base, rev = bb.rsplit("-r", 1)
        with open(os.path.join(recs, rid + ".json"), "w") as f:
            json.dump(osv(rid, eco, "busybox", f"{base}-r{int(rev) + 1}"), f)
        want[plat_name(img["platform"])] = (rid, img)
    db = os.path.join(work, "vuln.db")
    rc, out, err = run([cellscan, "db", "import", recs, "--db", db])
    if rc != 0 and 'unknown command "db"' in err:
        print(f"skip scan --platform all: {err}")
        return
    if not check(rc == 0, f"db import: {err}"):
        return
    rc, out, err = run([cellscan, "scan", ref, "--platform", "all", "--db", db, "--format", "json",
                        "--cache-dir", cache])
    if rc not in (0, 1) and (unsupported(err) or 'unknown command "scan"' in err):
        print(f"skip scan --platform all: {err}")
        return
    check(rc in (0, 1), f"scan --platform all: exit {rc}: {err}")
    try:
        doc = json.loads(out)
    except ValueError:
        check(False, f"scan --platform all: no JSON: {out[:200]}")
        return
    if not check_doc(doc, "report", "cellscan-report/1", "scan"):
        return
    got = [e["platform"] for e in doc["platforms"]]
    check(got == list(want), f"scan: platforms {got}")
    for e in doc["platforms"]:
        rid, img = want.get(e["platform"], (None, None))
        rep = e["report"]
        if img is None:
            continue
        check(rep["image"]["manifest_digest"] == img["manifest_digest"], f"scan {e['platform']}: manifest")
        ids = sorted({f["id"] for f in rep["findings"]})
        check(ids == [rid], f"scan {e['platform']}: findings {ids}, want [{rid}]")
        check(rep["verdict"] in ("healthy", "unhealthy"), f"scan {e['platform']}: verdict {rep['verdict']}")
    print(f"ok   scan --platform all: one report per platform, each with its own finding")


def main():
    cellscan = os.path.abspath(sys.argv[1])
    cache = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CELLSCAN_FIXTURE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cellscan-fixtures"))
    multi = os.path.join(cache, "oci", "alpine-multi")
    if not os.path.exists(os.path.join(multi, "expected.json")):
        print(f"SKIP: no alpine-multi test image at {multi} (scripts/make-test-images.sh builds it)")
        return 77
    exp = json.load(open(os.path.join(multi, "expected.json")))
    with tempfile.TemporaryDirectory(prefix="cs-plat-") as work:
        # does this cellscan take --platform all?
        ref = f"oci:{multi}:{exp['ref']}"
        rc, doc, err = sbom_all(cellscan, ref, os.path.join(work, "cache-multi"))
        if rc != 0 and unsupported(err):
            print(f"SKIP: this cellscan does not take --platform all yet: {err}")
            return 77
        check(rc == 0, f"alpine-multi: sbom --platform all exit {rc}: {err}")
        if doc is not None and check_doc(doc, "inventory", "cellscan-inventory/1", "alpine-multi"):
            got = [e["platform"] for e in doc["platforms"]]
            check(got == [plat_name(i["platform"]) for i in exp["images"]], f"alpine-multi: platforms {got}")
            for e, img in zip(doc["platforms"], exp["images"]):
                inv = e["inventory"]
                check(inv["image"]["manifest_digest"] == img["manifest_digest"], f"alpine-multi {e['platform']}: manifest")
                check(inv["image"]["config_digest"] == img["config_digest"], f"alpine-multi {e['platform']}: config")
                check([l["diff_id"] for l in inv["layers"]] == [l["diff_id"] for l in img["layers"]],
                      f"alpine-multi {e['platform']}: diff_ids")
                check((inv.get("os") or {}).get("version_id") == img["os_release"]["VERSION_ID"],
                      f"alpine-multi {e['platform']}: os {inv.get('os')}")
                check(packages(inv) == exp_packages(img), f"alpine-multi {e['platform']}: packages")
            print(f"ok   alpine-multi: {got}, each platform its own image")
        # one platform still works as before, and a single image lists itself
        rc, out, err = run([cellscan, "sbom", ref, "--platform", "linux/arm64", "--cache-dir",
                            os.path.join(work, "cache-multi")])
        check(rc == 0 and json.loads(out)["image"]["manifest_digest"] == exp["images"][1]["manifest_digest"],
              f"alpine-multi --platform linux/arm64: exit {rc} {err}")

        layout = os.path.join(work, "shared")
        want, amd = shared_layout(multi, layout)
        rc, doc, err = sbom_all(cellscan, f"oci:{layout}:latest", os.path.join(work, "cache-shared"))
        check(rc == 0, f"shared: sbom --platform all exit {rc}: {err}")
        if doc is not None:
            check_shared(doc, want, amd, "shared")

        # a plain image: one platform
        single = os.path.join(cache, "oci", "alpine")
        if os.path.exists(os.path.join(single, "expected.json")):
            sexp = json.load(open(os.path.join(single, "expected.json")))
            rc, doc, err = sbom_all(cellscan, f"oci:{single}:{sexp['ref']}", os.path.join(work, "cache-single"))
            check(rc == 0 and doc is not None and len(doc.get("platforms", [])) == 1 and
                  doc["platforms"][0]["inventory"]["image"]["manifest_digest"] == sexp["images"][0]["manifest_digest"],
                  f"alpine: --platform all of a plain image: exit {rc} {err}")

        scan_part(cellscan, ref, exp, work, os.path.join(work, "cache-scan"))
        registry_part(cellscan, layout, want, amd, work)
    print(f"{checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
