#!/usr/bin/env bash
# Pulling a real multi-layer image from the loopback registry (issue 3):
# bytes downloaded against the compressed layer sizes, and time against
# `skopeo copy` of the same image, measured in the same run. Cold cache each
# time. Uses Debian's docker-registry (TLS, htpasswd) started by
# scripts/registry-test-env.sh and the Debian test image.
#
#   bash bench/registry_bench.sh
#
# CELLSCAN_BUILD_DIR picks the build to measure (default build/release; it
# should be a normal, unsanitized build: RelWithDebInfo or Release).
#
# Three tables:
#   1. bytes: compressed layer sizes against what cellscan downloaded;
#   2. `cellscan sbom` (download + sandboxed inventory) against `skopeo copy`,
#      cold caches, plus the same sbom with the blobs already cached (the
#      inventory alone, with the blobs' hash-on-use), side by side;
#   3. the download alone: a small driver (compiled here against the build's
#      libraries) that only opens the image (cs_source_open: manifest,
#      config, every layer into a cold blob cache, verified), with 1 and 4
#      layers at once, against `skopeo copy` again.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${CELLSCAN_BUILD_DIR:-build/release}
cmake --build "$B" -j2 --target cellscan cellscan-worker cs_source >/dev/null
cache=$(bash scripts/make-test-images.sh --print-dir | tail -n 1)
w=$(mktemp -d)
trap 'bash scripts/registry-test-env.sh stop "$w" >/dev/null 2>&1 || true; rm -rf "$w"' EXIT
bash scripts/registry-test-env.sh start "$w" >/dev/null
# shellcheck disable=SC1091
. "$w/env"
skopeo copy -q --dest-cert-dir "$CERTDIR" --dest-creds "$REG_USER:$REG_PASS" \
  "oci:$cache/oci/debian:latest" "docker://$REG/bench/debian:latest"
auth=$(mktemp -d)
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" \
  > "$auth/config.json"
export DOCKER_CONFIG=$auth
cs=$B/bin/cellscan
want=$(python3 -c "
import json
e=json.load(open('$cache/oci/debian/expected.json'))
print(sum(l['size'] for l in e['images'][0]['layers']))")
$cs sbom "$REG/bench/debian:latest" --ca-file "$CA" --cache-dir "$w/c0" --no-cache -o "$w/inv.json"
got=$(python3 -c "import json;print(json.load(open('$w/inv.json'))['image']['fetched_bytes'])")
echo "| what | bytes |"
echo "|---|---|"
echo "| compressed layer sizes (manifest) | $want |"
echo "| downloaded by cellscan (response bodies) | $got |"
echo

skopeo_cmd="skopeo copy -q --src-cert-dir $CERTDIR --src-creds $REG_USER:$REG_PASS docker://$REG/bench/debian:latest oci:$w/sk:latest"
hyperfine -N -w 2 -r 10 --export-markdown "$w/t.md" \
  --prepare "rm -rf $w/c $w/sk" \
  -n "cellscan sbom REGISTRY/bench/debian (cold blob cache, no layer cache)" \
  "$cs sbom $REG/bench/debian:latest --ca-file $CA --cache-dir $w/c --no-cache -o /dev/null" \
  -n "baseline: skopeo copy docker://REGISTRY/bench/debian oci:DIR" \
  "$skopeo_cmd" \
  >/dev/null
$cs sbom "$REG/bench/debian:latest" --ca-file "$CA" --cache-dir "$w/warm" --no-cache -o /dev/null
hyperfine -N -w 2 -r 10 --export-markdown "$w/t2.md" \
  -n "cellscan sbom REGISTRY/bench/debian (blobs cached, no layer cache)" \
  "$cs sbom $REG/bench/debian:latest --ca-file $CA --cache-dir $w/warm --no-cache -o /dev/null" \
  >/dev/null
cat "$w/t.md"
tail -n 1 "$w/t2.md"
echo

# ---- a rescan of the same image: blobs and layer inventories cached ----
$cs sbom "$REG/bench/debian:latest" --ca-file "$CA" --cache-dir "$w/warm" -o /dev/null
$cs sbom "oci:$cache/oci/debian:latest" --cache-dir "$w/warm-oci" -o /dev/null
hyperfine -N -w 3 -r 20 --export-markdown "$w/t4.md" \
  -n "cellscan sbom REGISTRY/bench/debian (blobs and layer inventories cached)" \
  "$cs sbom $REG/bench/debian:latest --ca-file $CA --cache-dir $w/warm -o /dev/null" \
  -n "baseline: cellscan sbom oci:DEBIAN (layer inventories cached)" \
  "$cs sbom oci:$cache/oci/debian:latest --cache-dir $w/warm-oci -o /dev/null" \
  >/dev/null
cat "$w/t4.md"
echo

# ---- the download alone ----
cat >"$w/pull.c" <<'EOF'
/* Opens a registry image into a cold blob cache and nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/errors.h"
#include "supervisor/source/source.h"
int main(int argc, char **argv)
{
	struct cs_source_opts o;
	struct cs_image *img = NULL;
	int r;

	if (argc != 5)
		return 2;
	memset(&o, 0, sizeof(o));
	o.cache_dir = argv[2];
	o.ca_file = argv[3];
	o.parallel = (unsigned)strtoul(argv[4], NULL, 10);
	r = cs_source_open(&img, argv[1], &o);
	if (r != 0)
		fprintf(stderr, "%s\n", cs_err_msg());
	cs_image_free(img);
	return r != 0;
}
EOF
# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I. -o "$w/pull" "$w/pull.c" "$B/supervisor/source/libcs_source.a" \
  "$B/supervisor/sandbox/libcs_sandbox.a" "$B/common/libcs_common.a" \
  $(pkg-config --libs jansson libcrypto libcurl libseccomp libcap libarchive) -lpthread
pull="$w/pull $REG/bench/debian:latest $w/c $CA"
hyperfine -N -w 2 -r 20 --export-markdown "$w/t3.md" \
  --prepare "rm -rf $w/c $w/sk" \
  -n "download only: cs_source_open, 4 layers at once (default)" "$pull 4" \
  -n "download only: cs_source_open, 1 layer at a time" "$pull 1" \
  -n "baseline: skopeo copy docker://REGISTRY/bench/debian oci:DIR" "$skopeo_cmd" \
  >/dev/null
cat "$w/t3.md"
