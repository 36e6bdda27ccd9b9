#!/usr/bin/env bash
# Pulling a real multi-layer image from the loopback registry (issue 3):
# bytes downloaded against the compressed layer sizes, and time against
# `skopeo copy` of the same image, measured in the same run. Cold cache each
# time. Uses Debian's docker-registry (TLS, htpasswd) started by
# scripts/registry-test-env.sh and the Debian test image.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build/release -j"$(nproc)" --target cellscan cellscan-worker >/dev/null
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
cs=build/release/bin/cellscan
want=$(python3 -c "
import json
e=json.load(open('$cache/oci/debian/expected.json'))
print(sum(l['size'] for l in e['images'][0]['layers']))")
$cs sbom "$REG/bench/debian:latest" --ca-file "$CA" --cache-dir "$w/c0" --no-cache -o "$w/inv.json"
got=$(python3 -c "import json;print(json.load(open('$w/inv.json'))['image']['fetched_bytes'])")
echo "| what | bytes |"
echo "|---|---|"
echo "| compressed layer sizes (manifest) | $want |"
echo "| downloaded by cellscan (blob bodies) | $got |"
echo
n=0
hyperfine -w 1 -r 5 --export-markdown "$w/t.md" \
  --prepare "rm -rf $w/c $w/sk" \
  -n "cellscan sbom REGISTRY/bench/debian (cold blob cache, no layer cache)" \
  "$cs sbom $REG/bench/debian:latest --ca-file $CA --cache-dir $w/c --no-cache -o /dev/null" \
  -n "baseline: skopeo copy docker://REGISTRY/bench/debian oci:DIR" \
  "skopeo copy -q --src-cert-dir $CERTDIR --src-creds $REG_USER:$REG_PASS docker://$REG/bench/debian:latest oci:$w/sk:latest" \
  >/dev/null
cat "$w/t.md"
: "$n"
