#!/usr/bin/env python3
"""Writes the small OCI image of the auth tests (tests/source/auth_env.sh):

  auth_image.py LAYOUT_DIR EXPECT_JSON

LAYOUT_DIR gets an OCI layout with one image tagged "latest": a
linux/amd64 config and three gzip layers of one small file each.
EXPECT_JSON gets {"manifest", "config", "layers": [...], "diff_ids": [...]},
the sha256 digests of the bytes written here.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

out, expect = sys.argv[1:3]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


layers, diff_ids = [], []
for i in range(3):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        body = ("layer %d of the cellscan auth test\n" % i).encode() * (200 * (i + 1))
        ti = tarfile.TarInfo("auth-test/file%d.txt" % i)
        ti.size = len(body)
        ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(body))
    tar = raw.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    gz = gzip.compress(tar, mtime=0)
    d, n = put(gz)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": d, "size": n})

config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Env": ["PATH=/usr/bin"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "history": [{"created_by": "auth_image.py"}] * 3}).encode()
cd, cn = put(config)
manifest = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": cd, "size": cn},
                       "layers": layers}).encode()
md, mn = put(manifest)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(expect, "w") as f:
    json.dump({"manifest": md, "config": cd, "layers": [l["digest"] for l in layers],
               "diff_ids": diff_ids}, f)
