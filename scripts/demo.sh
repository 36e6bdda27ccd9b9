#!/usr/bin/env bash
# The README's "run it": sets up what is missing, builds a real Debian image
# from Debian's archive (cached), and runs cellscan on it in its sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/release/bin/cellscan ] || bash scripts/setup.sh >&2
cmake --build build/release -j"$(nproc)" >/dev/null
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: building the Debian test image needs root (debootstrap); run as root" >&2
  exit 2
fi
cache=$(bash scripts/make-test-images.sh --print-dir | tail -n 1)
image="oci:$cache/oci/debian:latest"
echo "demo: cellscan sbom $image" >&2
build/release/bin/cellscan sbom "$image" -o /tmp/cellscan-demo-sbom.json
python3 - /tmp/cellscan-demo-sbom.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"image    {d['image']}\nplatform {d['platform']}\nmanifest {d['manifest_digest']}")
print(f"sandbox  {d['sandbox']['cgroup']}")
for l in d["layers"]:
    osid = ", ".join(f"{o['id']} {o.get('version_id', '')}" for o in l["os"])
    print(f"layer {l['index']}: {l['diff_id'][:19]}  {l['entries']:6d} entries  "
          f"{len(l['packages']):4d} packages  {len(l['whiteouts']):3d} whiteouts  {osid}")
PY
echo "demo: full JSON in /tmp/cellscan-demo-sbom.json" >&2
