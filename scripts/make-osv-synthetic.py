#!/usr/bin/env python3
"""Writes synthetic, schema-valid OSV records as one zip for the import benchmark.

usage: make-osv-synthetic.py OUTDIR [N]     (N defaults to 200000)

OUTDIR/all.zip holds N records (one <id>.json entry each, as OSV's per-ecosystem
all.zip does) spread over Debian:12, Alpine:v3.20, Ubuntu:22.04:LTS, PyPI, npm,
Go, Maven, crates.io and RubyGems. Each has 1-3 affected packages drawn from a
pool per ecosystem (so lookups return several records), ECOSYSTEM or SEMVER
ranges with introduced/fixed/last_affected events, sometimes a versions list,
a CVE alias shared by a few records, and a CVSS vector. Output is
deterministic for a given N (fixed seed). Ids start with "SYN-" so they are
never mistaken for real advisories.
"""
import json
import os
import random
import sys
import zipfile

ECOSYSTEMS = [
    ("Debian:12", "ECOSYSTEM", lambda r: f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}-{r.randint(1, 5)}+deb12u{r.randint(1, 4)}"),
    ("Alpine:v3.20", "ECOSYSTEM", lambda r: f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}-r{r.randint(0, 5)}"),
    ("Ubuntu:22.04:LTS", "ECOSYSTEM", lambda r: f"{r.randint(1, 9)}.{r.randint(0, 20)}-{r.randint(1, 5)}ubuntu{r.randint(1, 3)}"),
    ("PyPI", "ECOSYSTEM", lambda r: f"{r.randint(0, 5)}.{r.randint(0, 30)}.{r.randint(0, 9)}"),
    ("npm", "SEMVER", lambda r: f"{r.randint(0, 12)}.{r.randint(0, 30)}.{r.randint(0, 20)}"),
    ("Go", "SEMVER", lambda r: f"{r.randint(0, 3)}.{r.randint(0, 30)}.{r.randint(0, 20)}"),
    ("Maven", "ECOSYSTEM", lambda r: f"{r.randint(1, 6)}.{r.randint(0, 20)}.{r.randint(0, 9)}"),
    ("crates.io", "SEMVER", lambda r: f"{r.randint(0, 3)}.{r.randint(0, 30)}.{r.randint(0, 20)}"),
    ("RubyGems", "ECOSYSTEM", lambda r: f"{r.randint(0, 7)}.{r.randint(0, 20)}.{r.randint(0, 9)}"),
]
PACKAGES_PER_ECOSYSTEM = 5000


def package(r, eco, i):
    if eco == "Go":
        return f"example.com/synthetic/mod{i}"
    if eco == "Maven":
        return f"org.synthetic:artifact-{i}"
    if eco == "npm" and i % 7 == 0:
        return f"@synthetic/pkg-{i}"
    return f"synthetic-pkg-{i}"


def record(r, n):
    eco, rtype, ver = ECOSYSTEMS[n % len(ECOSYSTEMS)]
    affected = []
    for _ in range(r.randint(1, 3)):
        name = package(r, eco.split(":")[0], r.randrange(PACKAGES_PER_ECOSYSTEM))
        intro = "0" if r.random() < 0.4 else ver(r)
        end = ("last_affected" if r.random() < 0.1 else "fixed")
        events = [{"introduced": intro}, {end: ver(r)}]
        a = {"package": {"ecosystem": eco, "name": name},
             "ranges": [{"type": rtype, "events": events}]}
        if r.random() < 0.2:
            a["versions"] = sorted({ver(r) for _ in range(r.randint(1, 8))})
        if r.random() < 0.3:
            a["ecosystem_specific"] = {"urgency": r.choice(["low", "medium", "high"])}
        affected.append(a)
    day = 1 + n % 28
    rec = {
        "schema_version": "1.6.0",
        "id": f"SYN-{n:08d}",
        "modified": f"2025-{1 + n % 12:02d}-{day:02d}T{n % 24:02d}:00:00Z",
        "published": f"2024-{1 + n % 12:02d}-{day:02d}T00:00:00Z",
        "aliases": [f"CVE-2099-{n // 3:06d}"],
        "summary": f"synthetic vulnerability {n} in {affected[0]['package']['name']}",
        "details": "Synthetic record for the cellscan import benchmark. " * r.randint(1, 6),
        "severity": [{"type": "CVSS_V3",
                      "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": affected,
        "references": [{"type": "WEB", "url": f"https://example.invalid/advisory/{n}"}],
    }
    if n % 97 == 0:
        rec["withdrawn"] = rec["modified"]
    return rec


def main():
    if len(sys.argv) < 2 or len(sys.argv) > 3:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 200000
    if n < 1 or n > 10_000_000:
        sys.exit("N must be between 1 and 10000000")
    os.makedirs(outdir, exist_ok=True)
    r = random.Random(20240601)
    path = os.path.join(outdir, "all.zip")
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i in range(n):
            rec = record(r, i)
            z.writestr(rec["id"] + ".json", json.dumps(rec, indent=2))
    os.replace(tmp, path)
    print(f"{path}: {n} records")


if __name__ == "__main__":
    main()
