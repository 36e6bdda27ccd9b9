#!/usr/bin/env bash
# Builds the real container images that cellscan's integration tests and
# benchmarks scan, into a cache outside the repository:
#   ${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures}
# Each part (debian, alpine, hostile) is rebuilt only when its recipe version
# below changes or its output is missing, so a second run takes seconds.
# What is built and why: docs/test-images.md.
#
# usage: scripts/make-test-images.sh [--print-dir] [--force] [--only PART]...
#   --print-dir  print the cache directory on stdout when done (logs go to stderr)
#   --force      rebuild every selected part even when its stamp is current
#   --only PART  build only debian, alpine or hostile (repeatable)
# Runs as root (debootstrap, chroot, umoci keeping file owners).
set -euo pipefail

# Bump a part's version whenever its recipe changes: the stamp no longer
# matches and that part is rebuilt on the next run.
DEBIAN_RECIPE=3
ALPINE_RECIPE=2
SUITE=bookworm
# Layer 2: small real packages with a long CVE history in Debian's security
# tracker (openssl/libssl3, curl/libcurl4 and its libraries, ca-certificates).
EXTRA_PACKAGES="openssl curl ca-certificates"
# Layer 3: removed with dpkg --purge (libcurl4, same source "curl", stays).
PURGE_PACKAGES="curl"

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=scripts/lib-fixtures.sh
. "$HERE/lib-fixtures.sh"

PRINT_DIR=0
FORCE=0
PARTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --print-dir) PRINT_DIR=1 ;;
    --force) FORCE=1 ;;
    --only) shift; PARTS+=("${1:?--only needs a part}") ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) cs_fx_die "unknown argument: $1" ;;
  esac
  shift
done
[ "${#PARTS[@]}" -gt 0 ] || PARTS=(debian alpine hostile)

CACHE=$(cs_fx_cache_dir)
SHARED=${CELLSCAN_SHARED:-}
if [ -z "$SHARED" ]; then
  for d in "$REPO/../shared" /work/shared; do
    [ -d "$d/fixtures" ] && { SHARED=$(cd "$d" && pwd); break; }
  done
fi
ALPINE_DIR="${SHARED:+$SHARED/fixtures/rootfs}"
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

cs_fx_need jq tar gzip zstd sha256sum python3 flock
mkdir -p "$CACHE/stamps"
# One builder at a time per cache (parallel test runs call this script too).
exec 9>"$CACHE/.lock"
flock 9

# Python helpers (tar crafting, OCI layouts, independent verification).
read -r -d '' PYHELP <<'PY' || true
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

class HashReader:
    """File-like reader that hashes and counts everything read through it."""
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0
    def read(self, n=-1):
        b = self.f.read(n)
        self.h.update(b)
        self.n += len(b)
        return b

def norm(name):
    while name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/")
    return name.rstrip("/")

def layer_stats(path, media_type):
    """diff_id, uncompressed size, entry count, whiteouts, opaque dirs of one
    layer blob, read with python's own gzip/tarfile (zstd via the zstd tool,
    python 3.11 has no zstd module)."""
    proc = None
    if media_type.endswith("+gzip"):
        raw = gzip.open(path, "rb")
    elif media_type.endswith("+zstd"):
        proc = subprocess.Popen(["zstd", "-dc", "-q", path], stdout=subprocess.PIPE)
        raw = proc.stdout
    elif media_type.endswith(".tar") or media_type.endswith("rootfs.diff.tar"):
        raw = open(path, "rb")
    else:
        raise SystemExit("unknown media type " + media_type)
    r = HashReader(raw)
    entries, wh, opq = 0, [], []
    with tarfile.open(fileobj=r, mode="r|") as tf:
        for m in tf:
            entries += 1
            name = norm(m.name)
            d, _, base = name.rpartition("/")
            if base == ".wh..wh..opq":
                opq.append(d)
            elif base.startswith(".wh."):
                wh.append((d + "/" if d else "") + base[4:])
    while r.read(1 << 20):
        pass
    raw.close()
    if proc is not None and proc.wait() != 0:
        raise SystemExit("zstd failed on " + path)
    return "sha256:" + r.h.hexdigest(), r.n, entries, wh, opq

def blob(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])

def fail(msg):
    print("fixtures: verify: " + msg, file=sys.stderr)
    sys.exit(1)

def dpkg_status(path):
    """Packages of a dpkg status file as dpkg-query -W lists them."""
    out = []
    with open(path, encoding="utf-8") as f:
        for para in f.read().split("\n\n"):
            fields, key = {}, None
            for line in para.split("\n"):
                if not line:
                    continue
                if line[0] in " \t":
                    continue
                key, _, val = line.partition(":")
                fields[key] = val.strip()
            if "Package" not in fields or fields.get("Status", "").endswith("not-installed"):
                continue
            src, srcver = fields["Package"], fields.get("Version", "")
            if "Source" in fields:
                s = fields["Source"].split()
                src = s[0]
                if len(s) > 1:
                    srcver = s[1].strip("()")
            out.append({"package": fields["Package"], "version": fields.get("Version", ""),
                        "source": src, "source_version": srcver})
    return sorted(out, key=lambda p: p["package"])

def cmd_verify(layout):
    """Recompute expected.json by a second method and compare."""
    exp = json.load(open(os.path.join(layout, "expected.json")))
    index = json.load(open(os.path.join(layout, "index.json")))
    refs = [m for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == exp["ref"]]
    if len(refs) != 1 or refs[0]["digest"] != exp["ref_descriptor"]["digest"]:
        fail(layout + ": ref descriptor mismatch")
    for img in exp["images"]:
        mpath = blob(layout, img["manifest_digest"])
        if "sha256:" + sha256_file(mpath) != img["manifest_digest"]:
            fail(mpath + ": manifest digest")
        man = json.load(open(mpath))
        cpath = blob(layout, man["config"]["digest"])
        if "sha256:" + sha256_file(cpath) != img["config_digest"]:
            fail(cpath + ": config digest")
        cfg = json.load(open(cpath))
        diff_ids = cfg["rootfs"]["diff_ids"]
        if not (len(diff_ids) == len(man["layers"]) == len(img["layers"])):
            fail(layout + ": layer count")
        for i, (d, e) in enumerate(zip(man["layers"], img["layers"])):
            p = blob(layout, d["digest"])
            if "sha256:" + sha256_file(p) != d["digest"] or os.path.getsize(p) != d["size"]:
                fail(p + ": blob digest/size does not match the manifest")
            if d["digest"] != e["digest"] or d["size"] != e["size"] or d["mediaType"] != e["media_type"]:
                fail("%s layer %d: descriptor differs from expected.json" % (layout, i))
            diff_id, usize, entries, wh, opq = layer_stats(p, d["mediaType"])
            got = {"diff_id": diff_id, "uncompressed_size": usize, "entries": entries,
                   "whiteouts": wh, "opaque_dirs": opq}
            for k, v in got.items():
                if e[k] != v:
                    fail("%s layer %d: %s: shell says %r, python says %r" % (layout, i, k, e[k], v))
            if diff_id != diff_ids[i]:
                fail("%s layer %d: diff_id %s but the config says %s" % (layout, i, diff_id, diff_ids[i]))
    print("fixtures: verified " + layout, file=sys.stderr)

def cmd_verify_dpkg(expected, status):
    exp = json.load(open(expected))
    want = dpkg_status(status)
    for img in exp["images"]:
        if img.get("packages") != want:
            fail(expected + ": dpkg-query output differs from the status file parsed in python")

def cmd_opaque_layer(rootfs, out, spec):
    """A layer that replaces directories wholesale (opaque whiteout + new
    files), which umoci never writes itself. spec: JSON {dir: {file: text}}."""
    spec = json.loads(spec)
    def dirinfo(rel):
        st = os.lstat(os.path.join(rootfs, rel))
        ti = tarfile.TarInfo(rel + "/")
        ti.type, ti.mode = tarfile.DIRTYPE, st.st_mode & 0o7777
        ti.uid, ti.gid, ti.mtime = st.st_uid, st.st_gid, int(st.st_mtime)
        return ti
    done = set()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for d in sorted(spec):
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                rel = "/".join(parts[:i])
                if rel not in done:
                    done.add(rel)
                    tf.addfile(dirinfo(rel))
            mt = int(os.lstat(os.path.join(rootfs, d)).st_mtime)
            ti = tarfile.TarInfo(d + "/.wh..wh..opq")
            ti.mode, ti.mtime = 0o644, mt
            tf.addfile(ti, io.BytesIO(b""))
            for name, text in sorted(spec[d].items()):
                data = text.encode()
                ti = tarfile.TarInfo(d + "/" + name)
                ti.mode, ti.size, ti.mtime = 0o644, len(data), mt
                tf.addfile(ti, io.BytesIO(data))

def put_blob(layout, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(layout, digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}

def cmd_alpine(layout, multi, *pairs):
    """OCI layout from Alpine minirootfs tarballs, each used verbatim as the
    single gzip layer (as the docker-alpine images do). pairs: TARBALL PLATFORM
    where PLATFORM is os/arch[/variant]. multi=1 puts the manifests in an image
    index tagged latest."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs = []
    for tarball, plat in zip(pairs[0::2], pairs[1::2]):
        pos, arch, *variant = plat.split("/")
        data = open(tarball, "rb").read()
        diff_id = "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()
        layer = put_blob(layout, data, "application/vnd.oci.image.layer.v1.tar+gzip")
        cfg = {"architecture": arch, "os": pos,
               "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                          "Cmd": ["/bin/sh"]},
               "rootfs": {"type": "layers", "diff_ids": [diff_id]},
               "history": [{"created_by": "ADD " + os.path.basename(tarball) + " /"}]}
        platform = {"architecture": arch, "os": pos}
        if variant:
            cfg["variant"] = platform["variant"] = variant[0]
        cdesc = put_blob(layout, json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode(),
                         "application/vnd.oci.image.config.v1+json")
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": cdesc, "layers": [layer]}
        mdesc = put_blob(layout, json.dumps(man, separators=(",", ":")).encode(),
                         "application/vnd.oci.image.manifest.v1+json")
        if multi == "1":
            mdesc["platform"] = platform
        descs.append(mdesc)
    ann = {"org.opencontainers.image.ref.name": "latest"}
    if multi == "1":
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": descs}
        top = put_blob(layout, json.dumps(idx, separators=(",", ":")).encode(),
                       "application/vnd.oci.image.index.v1+json")
        top["annotations"] = ann
        top_list = [top]
    else:
        descs[0]["annotations"] = ann
        top_list = descs
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": top_list}, f, separators=(",", ":"))

def cmd_archives(outdir, oci_layout):
    """expected.json for the archives, read back independently with tarfile."""
    res = {"schema": "cellscan-fixture-expected/1"}
    ocitar = os.path.join(outdir, "debian.oci.tar")
    with tarfile.open(ocitar) as tf:
        idx = json.load(tf.extractfile("index.json"))
    src = json.load(open(os.path.join(oci_layout, "index.json")))["manifests"][0]
    res["debian.oci.tar"] = {"ref_descriptor": idx["manifests"][0],
                             "same_manifest_as_oci_debian": idx["manifests"][0]["digest"] == src["digest"]}
    for name in ("debian.docker.tar", "debian.docker.tar.gz"):
        p = os.path.join(outdir, name)
        with tarfile.open(p, "r:*") as tf:
            man = json.load(tf.extractfile("manifest.json"))[0]
            cfg_bytes = tf.extractfile(man["Config"]).read()
            cfg = json.loads(cfg_bytes)
            layers = []
            for lp in man["Layers"]:
                h = hashlib.sha256()
                f = tf.extractfile(lp)
                n = 0
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                    n += len(chunk)
                layers.append({"path": lp, "sha256": "sha256:" + h.hexdigest(), "size": n})
        if [l["sha256"] for l in layers] != cfg["rootfs"]["diff_ids"]:
            fail(p + ": layer hashes differ from the config's diff_ids")
        res[name] = {"repo_tags": man.get("RepoTags"), "config": man["Config"],
                     "config_digest": "sha256:" + hashlib.sha256(cfg_bytes).hexdigest(),
                     "layers": layers}
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")

if __name__ == "__main__":
    cmd = sys.argv[1]
    {"verify": cmd_verify, "verify-dpkg": cmd_verify_dpkg, "opaque-layer": cmd_opaque_layer,
     "alpine": cmd_alpine, "archives": cmd_archives}[cmd](*sys.argv[2:])
PY
fx_py() { python3 -c "$PYHELP" "$@"; }

# expect_image LAYOUT MANIFEST_DIGEST EXTRAS_JSON: one image object of
# expected.json, computed with the real tools (gzip/zstd/cat, sha256sum, tar).
# EXTRAS_JSON is an object keyed by "os/arch[/variant]" (or "*") whose value
# is merged into the image object (os_release, packages).
expect_image() {
  local dir=$1 mdig=$2 extras=$3
  local man="$dir/blobs/sha256/${mdig#sha256:}" cfg plat n i layers='[]' tmp
  tmp=$(mktemp -d)
  cfg="$dir/blobs/sha256/$(jq -r '.config.digest' "$man" | cut -d: -f2)"
  plat=$(jq -c '{os, architecture} + (if .variant then {variant} else {} end)' "$cfg")
  n=$(jq '.layers | length' "$man")
  for ((i = 0; i < n; i++)); do
    local mt dg sz b dec diff usz entries wh opq layer
    mt=$(jq -r ".layers[$i].mediaType" "$man")
    dg=$(jq -r ".layers[$i].digest" "$man")
    sz=$(jq -r ".layers[$i].size" "$man")
    b="$dir/blobs/sha256/${dg#sha256:}"
    dec=$(cs_fx_decompressor "$mt") || cs_fx_die "$dir: unknown layer media type $mt"
    diff=$($dec < "$b" | sha256sum | cut -d' ' -f1)
    usz=$($dec < "$b" | wc -c)
    # GNU tar lists one line per tar header, hard links included; pax and
    # GNU long-name extension headers are folded into the entry they describe.
    $dec < "$b" | tar -tf - > "$tmp/list"
    entries=$(wc -l < "$tmp/list")
    sed -e 's#^\(\./\)*##' -e 's#^/*##' -e 's#/$##' "$tmp/list" > "$tmp/norm"
    wh=$(awk -F/ '$NF != ".wh..wh..opq" && substr($NF, 1, 4) == ".wh." {
           p = ""; for (i = 1; i < NF; i++) p = p $i "/"; print p substr($NF, 5) }' "$tmp/norm" |
         jq -R -s 'split("\n") | map(select(length > 0))')
    opq=$(awk -F/ '$NF == ".wh..wh..opq" {
           p = ""; for (i = 1; i < NF; i++) p = (i > 1 ? p "/" : "") $i; print p }' "$tmp/norm" |
          jq -R -s 'split("\n") | map(select(length > 0))')
    layer=$(jq -n --arg d "$dg" --arg mt "$mt" --argjson sz "$sz" --arg diff "sha256:$diff" \
      --argjson usz "$usz" --argjson e "$entries" --argjson wh "$wh" --argjson opq "$opq" \
      '{digest: $d, media_type: $mt, size: $sz, diff_id: $diff, uncompressed_size: $usz,
        entries: $e, whiteouts: $wh, opaque_dirs: $opq}')
    layers=$(jq -c --argjson l "$layer" '. + [$l]' <<<"$layers")
  done
  rm -rf "$tmp"
  jq -n --argjson plat "$plat" --arg md "$mdig" --arg mmt "$(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' "$man")" \
    --argjson msz "$(wc -c < "$man")" --arg cd "$(jq -r '.config.digest' "$man")" \
    --argjson layers "$layers" --argjson extras "$extras" '
    ($plat.os + "/" + $plat.architecture + (if $plat.variant then "/" + $plat.variant else "" end)) as $key
    | {platform: $plat, manifest_digest: $md, manifest_media_type: $mmt, manifest_size: $msz,
       config_digest: $cd, layers: $layers} + ($extras[$key] // $extras["*"] // {})'
}

# write_expected LAYOUT NAME EXTRAS_JSON: LAYOUT/expected.json for tag latest.
write_expected() {
  local dir=$1 name=$2 extras=$3 ref imgs='[]' mt dg m img
  ref=$(jq -c '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest")] | first' "$dir/index.json")
  [ "$ref" != null ] || cs_fx_die "$dir: no manifest tagged latest"
  mt=$(jq -r .mediaType <<<"$ref")
  dg=$(jq -r .digest <<<"$ref")
  if [ "$mt" = application/vnd.oci.image.index.v1+json ]; then
    for m in $(jq -r '.manifests[].digest' "$dir/blobs/sha256/${dg#sha256:}"); do
      img=$(expect_image "$dir" "$m" "$extras")
      imgs=$(jq -c --argjson i "$img" '. + [$i]' <<<"$imgs")
    done
  else
    img=$(expect_image "$dir" "$dg" "$extras")
    imgs=$(jq -c --argjson i "$img" '. + [$i]' <<<"$imgs")
  fi
  jq -n --arg layout "$name" --argjson ref "$ref" --argjson imgs "$imgs" \
    '{schema: "cellscan-fixture-expected/1", layout: $layout, ref: "latest",
      ref_descriptor: $ref, images: $imgs}' > "$dir/expected.json"
  fx_py verify "$dir"
}

# os_release_json FILE: {"ID": ..., "VERSION_ID": ...} of an os-release file.
os_release_json() {
  sed -n -E 's/^(ID|VERSION_ID)=("?)([^"]*)("?)$/\1\t\3/p' "$1" |
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add // {}'
}

# swap_in SRC DEST: replace DEST by SRC (same file system, so a rename).
swap_in() {
  rm -rf "$2.old"
  [ -e "$2" ] && mv "$2" "$2.old"
  mkdir -p "$(dirname "$2")"
  mv "$1" "$2"
  rm -rf "$2.old"
}

stamp_ok() { [ "$FORCE" = 0 ] && [ -f "$CACHE/stamps/$1" ] && [ "$(cat "$CACHE/stamps/$1")" = "$2" ]; }

# ---------------------------------------------------------------- debian ---
build_debian() {
  local key="recipe=$DEBIAN_RECIPE suite=$SUITE arch=$ARCH packages=$EXTRA_PACKAGES purge=$PURGE_PACKAGES"
  local outs=(rootfs/base rootfs/debian-final oci/debian oci/debian-gzip oci/debian-zstd oci/debian-plain archives)
  local o ok=1
  for o in "${outs[@]}"; do [ -e "$CACHE/$o" ] || ok=0; done
  if [ "$ok" = 1 ] && stamp_ok debian "$key"; then
    cs_fx_log "debian: up to date ($key)"; return 0
  fi
  [ "$(id -u)" -eq 0 ] || cs_fx_die "the debian images need root (debootstrap, chroot)"
  cs_fx_need debootstrap umoci skopeo chroot dpkg-query
  local W="$CACHE/.work-debian" mirror tgz L R S="skopeo --insecure-policy"
  rm -rf "$W"; mkdir -p "$W/oci" "$W/rootfs" "$W/archives"
  mirror=$(cs_fx_debian_mirror "$SUITE")
  tgz="$CACHE/debootstrap/$SUITE-minbase-$ARCH.tgz"
  mkdir -p "$CACHE/debootstrap" "$CACHE/debs"
  # The debs (and the Packages list apt needs later) are kept in a tarball
  # across recipe versions: only the first run downloads them.
  if [ ! -s "$tgz" ]; then
    cs_fx_log "debian: debootstrap --make-tarball from $mirror"
    debootstrap --variant=minbase --arch="$ARCH" --make-tarball="$tgz.tmp" \
      "$SUITE" "$W/dbs" "$mirror" >"$W/debootstrap.log" 2>&1 ||
      { tail -20 "$W/debootstrap.log" >&2; cs_fx_die "debootstrap --make-tarball failed"; }
    mv "$tgz.tmp" "$tgz"
    printf '%s\n' "$mirror" > "$tgz.mirror"
  fi
  cs_fx_log "debian: debootstrap --unpack-tarball"
  debootstrap --variant=minbase --arch="$ARCH" --unpack-tarball="$tgz" \
    "$SUITE" "$W/rootfs/base" "$mirror" >"$W/debootstrap.log" 2>&1 ||
    { tail -20 "$W/debootstrap.log" >&2; cs_fx_die "debootstrap failed"; }
  local B="$W/rootfs/base"
  # Make it look like a container image's root: no device nodes, no host
  # files, no apt lists (kept aside for layer 2's install).
  mkdir -p "$W/apt-lists"
  find "$B/var/lib/apt/lists" -maxdepth 1 -type f -exec mv -t "$W/apt-lists" {} +
  rm -rf "${B:?}/dev/"* "$B/etc/resolv.conf" "$B/etc/hostname" "$B/var/log/bootstrap.log" \
    "$B/var/cache/apt/"*.bin
  find "$B/var/cache/apt/archives" -name '*.deb' -delete

  L="$W/oci/debian"
  umoci init --layout "$L"
  umoci new --image "$L:latest"
  umoci config --image "$L:latest" --os linux --architecture "$ARCH" --author cellscan-fixtures \
    --config.cmd /bin/bash \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umoci unpack --image "$L:latest" "$W/bundle" >/dev/null
  R="$W/bundle/rootfs"
  cp -a "$B/." "$R/"
  cs_fx_log "debian: layer 1 (minbase rootfs)"
  umoci repack --refresh-bundle --image "$L:latest" \
    --history.created_by "debootstrap --variant=minbase $SUITE" "$W/bundle"

  cs_fx_log "debian: layer 2 (apt-get install $EXTRA_PACKAGES)"
  cp -a "$W/apt-lists/." "$R/var/lib/apt/lists/"
  cp -L /etc/resolv.conf "$R/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
  chmod 755 "$R/usr/sbin/policy-rc.d"
  find "$CACHE/debs" -maxdepth 1 -name '*.deb' -exec cp -t "$R/var/cache/apt/archives/" {} +
  # shellcheck disable=SC2086
  chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $EXTRA_PACKAGES >"$W/apt.log" 2>&1 ||
    { tail -20 "$W/apt.log" >&2
      cs_fx_die "apt-get install failed (the mirror may have moved on: delete $tgz to refresh)"; }
  find "$R/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec mv -f -t "$CACHE/debs/" {} +
  rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin "$R/etc/resolv.conf" "$R/usr/sbin/policy-rc.d"
  umoci repack --refresh-bundle --image "$L:latest" \
    --history.created_by "apt-get install --no-install-recommends $EXTRA_PACKAGES" "$W/bundle"

  cs_fx_log "debian: layer 3 (dpkg --purge $PURGE_PACKAGES, rm files)"
  # shellcheck disable=SC2086
  chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg --purge $PURGE_PACKAGES >"$W/dpkg.log" 2>&1 ||
    { cat "$W/dpkg.log" >&2; cs_fx_die "dpkg --purge failed"; }
  # A file of layer 1, a directory of layer 2, a directory of layer 1.
  rm -rf "$R/etc/motd" "$R/usr/share/doc/libssl3" "$R/usr/share/info"
  umoci repack --refresh-bundle --image "$L:latest" \
    --history.created_by "dpkg --purge $PURGE_PACKAGES; rm -rf /etc/motd /usr/share/doc/libssl3 /usr/share/info" "$W/bundle"

  cs_fx_log "debian: layer 4 (opaque whiteouts, crafted: umoci never writes them)"
  fx_py opaque-layer "$R" "$W/layer4.tar" \
    '{"etc/apt/apt.conf.d": {"99cellscan-fixture": "// replaced wholesale by an opaque whiteout\nAPT::Install-Recommends \"false\";\n"},
      "usr/share/doc/openssl": {"README.cellscan": "The original openssl docs are hidden by an opaque whiteout.\n"}}'
  # (grep must read to the end: with pipefail, grep -q's early exit would fail tar with SIGPIPE)
  [ "$(tar -tf "$W/layer4.tar" | grep -c '\.wh\.\.wh\.\.opq$')" = 2 ] || cs_fx_die "layer 4 lacks its opaque whiteouts"
  umoci raw add-layer --image "$L:latest" \
    --history.created_by "replace /etc/apt/apt.conf.d and /usr/share/doc/openssl (opaque whiteouts)" "$W/layer4.tar"
  umoci gc --layout "$L"
  # Check the whiteouts really are in the image, in the layers we meant.
  local m
  m=$(jq -r '.manifests[0].digest' "$L/index.json")
  [ "$(jq '.layers | length' "$L/blobs/sha256/${m#sha256:}")" = 4 ] || cs_fx_die "expected 4 layers"

  cs_fx_log "debian: final rootfs (umoci unpack)"
  umoci unpack --image "$L:latest" "$W/final" >/dev/null
  mv "$W/final/rootfs" "$W/rootfs/debian-final"
  rm -rf "$W/final"
  local F="$W/rootfs/debian-final" extras pk
  # Expectations of the final filesystem, as dpkg itself reports them.
  dpkg-query --admindir="$F/var/lib/dpkg" -W \
    -f '${Package}\t${Version}\t${source:Package}\t${source:Version}\n' > "$W/rootfs/debian-final.dpkg-query.txt"
  pk=$(jq -R -s 'split("\n") | map(select(length > 0) | split("\t")
        | {package: .[0], version: .[1], source: .[2], source_version: .[3]})' \
        < "$W/rootfs/debian-final.dpkg-query.txt")
  extras=$(jq -n --argjson os "$(os_release_json "$F/etc/os-release")" --argjson pk "$pk" \
    '{"*": {os_release: $os, package_format: "dpkg", packages: $pk}}')
  [ -e "$F/usr/bin/curl" ] && cs_fx_die "curl still in the final rootfs"
  [ -e "$F/etc/apt/apt.conf.d/70debconf" ] && cs_fx_die "opaque whiteout not applied by umoci unpack"

  cs_fx_log "debian: re-compressed copies (skopeo)"
  $S copy -q --dest-compress-format zstd "oci:$L:latest" "oci:$W/oci/debian-zstd:latest"
  # From the zstd copy, so skopeo really recompresses instead of reusing umoci's gzip blobs.
  $S copy -q --dest-compress-format gzip "oci:$W/oci/debian-zstd:latest" "oci:$W/oci/debian-gzip:latest"
  # skopeo ignores --dest-decompress for oci: destinations; go through dir:.
  $S copy -q --dest-decompress "oci:$L:latest" "dir:$W/plain-dir"
  $S copy -q --dest-oci-accept-uncompressed-layers "dir:$W/plain-dir" "oci:$W/oci/debian-plain:latest"
  rm -rf "$W/plain-dir"

  cs_fx_log "debian: archives"
  $S copy -q "oci:$L:latest" "oci-archive:$W/archives/debian.oci.tar:latest"
  $S copy -q "oci:$L:latest" "docker-archive:$W/archives/debian.docker.tar:cellscan/debian:latest"
  gzip -n -c "$W/archives/debian.docker.tar" > "$W/archives/debian.docker.tar.gz"
  fx_py archives "$W/archives" "$L"

  cs_fx_log "debian: expected.json"
  local v
  for v in debian debian-gzip debian-zstd debian-plain; do
    write_expected "$W/oci/$v" "oci/$v" "$extras"
    fx_py verify-dpkg "$W/oci/$v/expected.json" "$F/var/lib/dpkg/status"
  done
  # Sanity: the whiteouts and opaque dirs are where the recipe put them.
  jq -e '.images[0].layers[2].whiteouts | index("etc/motd") and index("usr/bin/curl")' \
    "$W/oci/debian/expected.json" >/dev/null || cs_fx_die "layer 3 lacks the expected whiteouts"
  jq -e '.images[0].layers[3].opaque_dirs == ["etc/apt/apt.conf.d", "usr/share/doc/openssl"]' \
    "$W/oci/debian/expected.json" >/dev/null || cs_fx_die "layer 4 lacks the opaque dirs"

  for o in rootfs/base rootfs/debian-final oci/debian oci/debian-gzip oci/debian-zstd oci/debian-plain; do
    swap_in "$W/$o" "$CACHE/$o"
  done
  mv -f "$W/rootfs/debian-final.dpkg-query.txt" "$CACHE/rootfs/"
  swap_in "$W/archives" "$CACHE/archives"
  rm -rf "$W"
  printf '%s\n' "$key" > "$CACHE/stamps/debian"
}

# ---------------------------------------------------------------- alpine ---
build_alpine() {
  local x86="$ALPINE_DIR/alpine-minirootfs-3.20.3-x86_64.tar.gz"
  local arm="$ALPINE_DIR/alpine-minirootfs-3.18.9-aarch64.tar.gz"
  if [ -z "$ALPINE_DIR" ] || [ ! -f "$x86" ]; then
    cs_fx_log "alpine: skipped (no shared/fixtures/rootfs; set CELLSCAN_SHARED)"; return 0
  fi
  local key armsum=none
  [ -f "$arm" ] && armsum=$(cs_fx_sha256 "$arm")
  key="recipe=$ALPINE_RECIPE x86=$(cs_fx_sha256 "$x86") arm=$armsum"
  if [ -e "$CACHE/oci/alpine" ] && { [ ! -f "$arm" ] || [ -e "$CACHE/oci/alpine-multi" ]; } && stamp_ok alpine "$key"; then
    cs_fx_log "alpine: up to date"; return 0
  fi
  local W="$CACHE/.work-alpine" t pairs=() extras='{}' plat ex
  rm -rf "$W"; mkdir -p "$W/x"
  for t in "$x86" "$arm"; do
    [ -f "$t" ] || continue
    case "$t" in *x86_64*) plat=linux/amd64 ;; *aarch64*) plat=linux/arm64/v8 ;; esac
    pairs+=("$t" "$plat")
    # os-release and the apk database, read from the tarball itself.
    rm -rf "$W/x"/*
    tar -xzf "$t" -C "$W/x" ./etc/os-release ./lib/apk/db/installed
    ex=$(awk -F: '/^P:/{p=substr($0,3)} /^V:/{v=substr($0,3)} /^o:/{o=substr($0,3)}
                  /^$/{ if (p != "") print p "\t" v "\t" o; p=""; v=""; o="" }
                  END { if (p != "") print p "\t" v "\t" o }' "$W/x/lib/apk/db/installed" |
         jq -R -s --argjson os "$(os_release_json "$W/x/etc/os-release")" '
           {os_release: $os, package_format: "apk",
            packages: (split("\n") | map(select(length > 0) | split("\t")
                       | {package: .[0], version: .[1], origin: .[2]}) | sort_by(.package))}')
    extras=$(jq -c --arg k "$plat" --argjson v "$ex" '. + {($k): $v}' <<<"$extras")
  done
  mkdir -p "$W/oci"
  fx_py alpine "$W/oci/alpine" 0 "$x86" linux/amd64
  write_expected "$W/oci/alpine" oci/alpine "$extras"
  if [ -f "$arm" ]; then
    fx_py alpine "$W/oci/alpine-multi" 1 "${pairs[@]}"
    write_expected "$W/oci/alpine-multi" oci/alpine-multi "$extras"
    swap_in "$W/oci/alpine-multi" "$CACHE/oci/alpine-multi"
  fi
  swap_in "$W/oci/alpine" "$CACHE/oci/alpine"
  rm -rf "$W"
  printf '%s\n' "$key" > "$CACHE/stamps/alpine"
}

# --------------------------------------------------------------- hostile ---
build_hostile() {
  local key
  key="hostile $(python3 "$HERE/make-hostile-layers.py" --version)"
  if [ -e "$CACHE/hostile" ] && stamp_ok hostile "$key"; then
    cs_fx_log "hostile: up to date"; return 0
  fi
  rm -rf "$CACHE/.work-hostile"
  python3 "$HERE/make-hostile-layers.py" "$CACHE/.work-hostile"
  swap_in "$CACHE/.work-hostile" "$CACHE/hostile"
  printf '%s\n' "$key" > "$CACHE/stamps/hostile"
}

start=$(date +%s)
for p in "${PARTS[@]}"; do
  case "$p" in
    debian) build_debian ;;
    alpine) build_alpine ;;
    hostile) build_hostile ;;
    *) cs_fx_die "unknown part: $p" ;;
  esac
done
cs_fx_log "done in $(( $(date +%s) - start ))s: $CACHE"
[ "$PRINT_DIR" = 0 ] || printf '%s\n' "$CACHE"
