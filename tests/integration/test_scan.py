#!/usr/bin/env python3
"""The complete `cellscan scan` (issues 5 and 6) on the real Debian test image.

A database is imported from the real OSV records in ../shared/fixtures/osv/
plus records this test writes for packages the image really has (read from
`cellscan sbom`): one fixed in a later version (affected), one fixed in the
installed version (not affected), one with no fix and Debian's
"unimportant" urgency (will-not-fix), one for a binary package name that only
matches through the source package, and a withdrawn one. The scan's findings
must be exactly the affected ones, with the records' versions; the exit code
must follow the policy; every format must validate against its schema.

usage: test_scan.py CELLSCAN [FIXTURE_CACHE]
"""
import json
import os
import shutil
import subprocess
import sys
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


def run(*args, stdin=None):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=600, input=stdin)
    return p.returncode, p.stdout, p.stderr


def record(rid, source, events, severity=None, urgency=None, withdrawn=None, aliases=()):
    r = {"schema_version": "1.6.0", "id": rid, "modified": "2026-01-01T00:00:00Z",
         "published": "2025-12-01T00:00:00Z", "aliases": list(aliases),
         "summary": f"test vulnerability in {source}",
         "affected": [{"package": {"ecosystem": "Debian:12", "name": source},
                       "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}
    if severity:
        r["severity"] = [{"type": "CVSS_V3", "score": severity}]
    if urgency:
        r["affected"][0]["ecosystem_specific"] = {"urgency": urgency}
    if withdrawn:
        r["withdrawn"] = withdrawn
    return r


def main():
    cellscan = os.path.abspath(sys.argv[1])
    cache = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CELLSCAN_FIXTURE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cellscan-fixtures"))
    shared = os.environ.get("CS_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
    layout = os.path.join(cache, "oci", "debian")
    if not os.path.exists(os.path.join(layout, "index.json")):
        print(f"SKIP: no Debian test image at {layout} (scripts/make-test-images.sh, as root)")
        return 77
    ref = f"oci:{layout}:latest"
    tmp = tempfile.mkdtemp()
    try:
        rc, out, err = run(cellscan, "sbom", ref)
        if not check(rc == 0, f"sbom: {err}"):
            return 1
        inv = json.loads(out)
        by = {p["name"]: p for p in inv["packages"]}
        ssl = by["libssl3"]            # binary libssl3, source openssl
        base = by["base-files"]
        zlib = by["zlib1g"]            # binary zlib1g, source zlib
        recs = [
            record("CELLSCAN-TEST-1", "openssl", [{"introduced": "0"},
                   {"fixed": ssl["source_version"] + "+test1"}],
                   severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", aliases=["CVE-2099-0001"]),
            record("CELLSCAN-TEST-2", "base-files", [{"introduced": "0"},
                   {"fixed": base["source_version"]}],
                   severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            record("CELLSCAN-TEST-3", "zlib", [{"introduced": "0"}], urgency="unimportant",
                   severity="CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
            record("CELLSCAN-TEST-4", "openssl", [{"introduced": "0"}],
                   withdrawn="2026-02-01T00:00:00Z"),
            record("CELLSCAN-TEST-5", "libssl3", [{"introduced": "0"},
                   {"fixed": ssl["version"] + "+test9"}]),   # binary name: Debian data names sources
        ]
        recdir = os.path.join(tmp, "records")
        os.makedirs(recdir)
        for r in recs:
            json.dump(r, open(os.path.join(recdir, r["id"] + ".json"), "w"))
        db = os.path.join(tmp, "vuln.db")
        srcs = [recdir]
        osv = os.path.join(shared, "fixtures", "osv", "records")
        if os.path.isdir(osv):
            srcs.append(osv)
        rc, out, err = run(cellscan, "db", "import", *srcs, "--db", db)
        check(rc == 0, f"db import: {err}")

        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", "json")
        check(rc == 1, f"scan exit {rc} (unhealthy wanted: a critical fixable finding): {err}")
        rep = json.loads(out) if out else {}
        f = rep.get("findings", [])
        ids = sorted((x["id"], x["package"]["name"]) for x in f)
        # every binary package built from the advisory's source package
        want = sorted([("CELLSCAN-TEST-1", p["name"]) for p in inv["packages"]
                       if p.get("source_name", p["name"]) == "openssl"] +
                      [("CELLSCAN-TEST-3", p["name"]) for p in inv["packages"]
                       if p.get("source_name", p["name"]) == "zlib"])
        check(ids == want, f"findings {ids} != {want}")
        for x in f:
            if x["package"]["name"] == "libssl3":
                check(x["installed_version"] == ssl["source_version"], "installed version")
                check(x["fixed_version"] == ssl["source_version"] + "+test1", "fixed version")
                check(x["fix"]["state"] == "fixed", "fix state fixed")
                check(x["severity"]["level"] == "critical", f"severity {x['severity']}")
                check("CVE-2099-0001" in x.get("aliases", []) and
                      x.get("advisory", {}).get("id") == "CELLSCAN-TEST-1",
                      f"the advisory record and its alias are named: {x.get('aliases')} {x.get('advisory')}")
                check(x["match"]["via"] == "source" and x["match"]["looked_up"] == "openssl",
                      f"matched through the source package: {x['match']}")
                check(x["package"]["layer"] == ssl["layer"], "layer that introduced it")
            if x["package"]["name"] == "zlib1g":
                check(x["fix"]["state"] == "will-not-fix", f"zlib fix {x['fix']}")
        check(rep.get("verdict") == "unhealthy", f"verdict {rep.get('verdict')}")
        check(rep.get("db", {}).get("digest", "").startswith("sha256:"), "report names the database")
        recs_ = rep.get("recommendations", [])
        check(any("upgrade openssl" in r.get("text", "") or "libssl3" in r.get("text", "") for r in recs_),
              f"recommendation: {recs_}")
        print(f"ok   scan: {len(f)} findings as the records say, verdict {rep.get('verdict')}, exit {rc}")

        # policy: ignore the critical one by rule -> healthy, exit 0
        pol = os.path.join(tmp, "policy.json")
        json.dump({"version": 1, "severity_threshold": "high",
                   "ignore": [{"id": "CVE-2099-0001", "reason": "test: accepted risk"}]}, open(pol, "w"))
        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", "json", "--policy", pol)
        rep2 = json.loads(out) if out else {}
        check(rc == 0 and rep2.get("verdict") == "healthy", f"ignored -> healthy exit 0, got {rc} {rep2.get('verdict')} {err}")
        check(rep2.get("counts", rep2.get("summary", {}).get("counts", {})).get("ignored", 0) >= 1, "ignored counted")
        # --exit-code and --severity
        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", "json", "--exit-code", "7")
        check(rc == 7, f"--exit-code 7 on unhealthy, got {rc}")
        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", "json", "--severity", "low")
        check(rc == 0, f"--severity low only: healthy, got {rc}")
        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--severity", "bogus")
        check(rc == 2, f"bad --severity is a usage error, got {rc}")
        rc, out, err = run(cellscan, "scan", ref, "--db", os.path.join(tmp, "missing.db"))
        check(rc == 3 and "db update" in err, f"missing db: exit 3 naming the fix, got {rc} {err}")
        print("ok   scan: policy ignore, --exit-code, --severity, missing database")

        schemas = os.path.join(shared, "fixtures", "schemas")
        validate = os.path.join(HERE, "..", "report", "validate.py")
        for fmt in ("sarif", "cyclonedx"):
            path = os.path.join(tmp, "r." + fmt)
            rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", fmt, "-o", path)
            check(rc == 1 and os.path.exists(path), f"--format {fmt}: exit {rc} {err}")
            if os.path.isdir(schemas) and os.path.exists(path):
                p = subprocess.run(["/usr/bin/python3", validate, "--schemas", schemas, fmt, path],
                                   capture_output=True, text=True)
                check(p.returncode == 0, f"{fmt} invalid: {p.stdout[-400:]} {p.stderr[-400:]}")
        rc, out, err = run(cellscan, "scan", ref, "--db", db, "--format", "table")
        check(rc == 1 and "CELLSCAN-TEST-1" in out and "\x1b[" not in out, f"table: {rc} {out[:300]}")
        rc, out, err = run(cellscan, "explain", ref, "CVE-2099-0001", "--db", db)
        check(rc == 0 and "CELLSCAN-TEST-1" in out and "libssl3" in out, f"explain: {rc} {err} {out[:300]}")
        print("ok   scan: sarif/cyclonedx valid, table, explain")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
