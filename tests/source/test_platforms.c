/*
 * cs_source_platforms() and choosing one image of an index (--platform all).
 *
 * Builds OCI layouts here, in a temporary directory, with an index whose
 * order is chosen to catch a loose match taking the wrong entry:
 * linux/arm64/v8 first, then an attestation manifest, then linux/arm64
 * without a variant, then linux/amd64, then an attestation marked only by
 * its annotation, then a nested index. The expected lists are written from
 * what the test put in the layout (digests computed here with OpenSSL),
 * never from what the code returns. Then the same on an oci-archive: of the
 * layout (when the worker can run here), on dir:, and on the alpine-multi
 * layout of scripts/make-test-images.sh against its expected.json (when
 * ${CELLSCAN_FIXTURE_CACHE:-$HOME/.cache/cellscan-fixtures} has it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/errors.h"
#include "supervisor/sandbox/sandbox.h"
#include "supervisor/source/source.h"
#include "tests/harness.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"

static char root[256];

struct blob {
	char digest[72];
	size_t size;
};

static void sha256_hex(char out[72], const void *p, size_t n)
{
	unsigned char d[32];
	unsigned int dl = 0;
	int i;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Stores bytes as a blob of the layout at dir. */
static struct blob put_bytes(const char *dir, const void *p, size_t n)
{
	struct blob b;
	char path[512];

	sha256_hex(b.digest, p, n);
	b.size = n;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, b.digest + 7);
	CHECK(write_file(path, p, n) == 0);
	return b;
}

/* Stores a JSON document (stolen) as a blob. */
static struct blob put_json(const char *dir, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	struct blob b;

	b = put_bytes(dir, s, strlen(s));
	free(s);
	json_decref(doc);
	return b;
}

static json_t *descriptor(const char *mt, struct blob b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", b.digest, "size",
			 (json_int_t)b.size);
}

static json_t *with_platform(json_t *d, const char *os, const char *arch, const char *var)
{
	json_t *p = json_pack("{s:s, s:s}", "os", os, "architecture", arch);

	if (var != NULL)
		json_object_set_new(p, "variant", json_string(var));
	json_object_set_new(d, "platform", p);
	return d;
}

static json_t *annotated(json_t *d, const char *key, const char *value)
{
	json_object_set_new(d, "annotations", json_pack("{s:s}", key, value));
	return d;
}

/* An image of one layer (shared by every image of the test). */
static struct blob put_image(const char *dir, const char *os, const char *arch, const char *var,
			     struct blob layer, const char *diff_id)
{
	json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "os", os, "architecture", arch,
				"rootfs", "type", "layers", "diff_ids", diff_id);
	struct blob c;

	if (var != NULL)
		json_object_set_new(cfg, "variant", json_string(var));
	c = put_json(dir, cfg);
	return put_json(dir, json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
				       MT_MANIFEST, "config", descriptor(MT_CONFIG, c), "layers",
				       descriptor(MT_LAYER, layer)));
}

static int make_layout_dirs(const char *dir)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/blobs", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
	if (mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/oci-layout", dir);
	return write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

static void put_index_json(const char *dir, json_t *manifests)
{
	json_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_INDEX,
				"manifests", manifests);
	char *s = json_dumps(idx, JSON_COMPACT), p[512];

	snprintf(p, sizeof(p), "%s/index.json", dir);
	CHECK(s != NULL && write_file(p, s, strlen(s)) == 0);
	free(s);
	json_decref(idx);
}

/* What cs_source_platforms must say, in order. */
struct want {
	const char *platform;
	const char *digest;
};

static void check_list(const char *ref, const struct cs_source_opts *o, const struct want *w,
		       size_t n)
{
	json_t *list = NULL, *e;
	size_t i;
	int r = cs_source_platforms(&list, ref, o);

	if (r != 0)
		fprintf(stderr, "%s: %s\n", ref, cs_err_msg());
	CHECK(r == 0);
	CHECK(json_is_array(list) && json_array_size(list) == n);
	json_array_foreach(list, i, e) {
		if (i >= n)
			break;
		CHECK(json_object_size(e) == 2);
		CHECK_STR(json_string_value(json_object_get(e, "platform")), w[i].platform);
		CHECK_STR(json_string_value(json_object_get(e, "digest")), w[i].digest);
	}
	json_decref(list);
}

/* Opening ref for platform (and, when digest is set, that manifest) gives
 * the manifest want; config_platform is what the image's config says. */
static void check_open(const char *ref, struct cs_source_opts o, const char *platform,
		       const char *digest, const char *want, const char *config_platform)
{
	struct cs_image *img = NULL;
	int r;

	o.platform = platform;
	o.manifest_digest = digest;
	r = cs_source_open(&img, ref, &o);
	if (r != 0)
		fprintf(stderr, "%s --platform %s: %s\n", ref, platform ? platform : "(host)",
			cs_err_msg());
	CHECK(r == 0);
	if (img != NULL) {
		CHECK_STR(img->manifest_digest, want);
		CHECK_STR(img->platform, config_platform);
	}
	cs_image_free(img);
}

static void check_open_fails(const char *ref, struct cs_source_opts o, const char *platform,
			     const char *digest, int code, const char *needle)
{
	struct cs_image *img = NULL;
	int r;

	o.platform = platform;
	o.manifest_digest = digest;
	r = cs_source_open(&img, ref, &o);
	CHECK(r == code);
	CHECK(img == NULL);
	if (r != 0 && strstr(cs_err_msg(), needle) == NULL) {
		fprintf(stderr, "message lacks \"%s\": %s\n", needle, cs_err_msg());
		CHECK(0);
	}
}

/* ---- a ustar writer, enough for an oci-archive of the layout ---- */

static int tar_add(FILE *t, const char *name, const uint8_t *p, size_t n, char type)
{
	uint8_t h[512], pad[512];
	unsigned sum = 0;
	size_t i;

	if (strlen(name) >= 100)
		return -1;
	memset(h, 0, sizeof(h));
	memset(pad, 0, sizeof(pad));
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", n);
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	if (fwrite(h, 1, 512, t) != 512 || (n > 0 && fwrite(p, 1, n, t) != n))
		return -1;
	if (n % 512 != 0 && fwrite(pad, 1, 512 - n % 512, t) != 512 - n % 512)
		return -1;
	return 0;
}

static int tar_file(FILE *t, const char *dir, const char *name)
{
	char p[512];
	size_t n;
	uint8_t *b;
	int r;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	b = cs_test_read_file(p, &n);
	if (b == NULL)
		return -1;
	r = tar_add(t, name, b, n, '0');
	free(b);
	return r;
}

/* A tar of the layout at dir: oci-layout, index.json, every blob. */
static int make_archive(const char *tarpath, const char *dir)
{
	FILE *t = fopen(tarpath, "wb");
	uint8_t end[1024];
	char name[128], bdir[600];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (t == NULL)
		return -1;
	memset(end, 0, sizeof(end));
	r |= tar_file(t, dir, "oci-layout");
	r |= tar_file(t, dir, "index.json");
	r |= tar_add(t, "blobs/", NULL, 0, '5');
	r |= tar_add(t, "blobs/sha256/", NULL, 0, '5');
	snprintf(bdir, sizeof(bdir), "%s/blobs/sha256", dir);
	d = opendir(bdir);
	if (d == NULL)
		r = -1;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "blobs/sha256/%.64s", de->d_name);
		r |= tar_file(t, dir, name);
	}
	if (d != NULL)
		closedir(d);
	if (fwrite(end, 1, sizeof(end), t) != sizeof(end))
		r = -1;
	if (fclose(t) != 0)
		r = -1;
	return r;
}

/* ---- alpine-multi from scripts/make-test-images.sh ---- */

static void alpine_multi(void)
{
	const char *fc = getenv("CELLSCAN_FIXTURE_CACHE"), *home = getenv("HOME");
	char dir[1024], path[1100], ref[1200], plat[64];
	struct cs_source_opts o;
	json_t *exp, *img, *list = NULL;
	json_error_t je;
	size_t i;
	int r;

	if (fc != NULL && fc[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/oci/alpine-multi", fc);
	else
		snprintf(dir, sizeof(dir), "%s/.cache/cellscan-fixtures/oci/alpine-multi",
			 home ? home : "/nonexistent");
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	exp = json_load_file(path, 0, &je);
	if (exp == NULL) {
		printf("skip alpine-multi: %s is absent (scripts/make-test-images.sh builds it)\n",
		       path);
		return;
	}
	snprintf(ref, sizeof(ref), "oci:%s:%s", dir,
		 json_string_value(json_object_get(exp, "ref")));
	memset(&o, 0, sizeof(o));
	r = cs_source_platforms(&list, ref, &o);
	if (r != 0)
		fprintf(stderr, "%s: %s\n", ref, cs_err_msg());
	CHECK(r == 0);
	CHECK(json_array_size(list) == json_array_size(json_object_get(exp, "images")));
	json_array_foreach(json_object_get(exp, "images"), i, img) {
		const json_t *p = json_object_get(img, "platform"), *e = json_array_get(list, i);
		const char *var = json_string_value(json_object_get(p, "variant"));
		const char *md = json_string_value(json_object_get(img, "manifest_digest"));
		struct cs_image *im = NULL;

		snprintf(plat, sizeof(plat), "%s/%s%s%s",
			 json_string_value(json_object_get(p, "os")),
			 json_string_value(json_object_get(p, "architecture")), var ? "/" : "",
			 var ? var : "");
		CHECK_STR(json_string_value(json_object_get(e, "platform")), plat);
		CHECK_STR(json_string_value(json_object_get(e, "digest")), md);
		/* each entry opens its image, by platform alone and with its digest */
		for (int by_digest = 0; by_digest < 2; by_digest++) {
			o.platform = json_string_value(json_object_get(e, "platform"));
			o.manifest_digest =
				by_digest ? json_string_value(json_object_get(e, "digest")) : NULL;
			r = cs_source_open(&im, ref, &o);
			CHECK(r == 0);
			if (im == NULL)
				continue;
			CHECK_STR(im->manifest_digest, md);
			CHECK_STR(im->config_digest,
				  json_string_value(json_object_get(img, "config_digest")));
			CHECK(im->nlayers == json_array_size(json_object_get(img, "layers")));
			for (size_t k = 0; k < im->nlayers; k++) {
				const json_t *l = json_array_get(json_object_get(img, "layers"), k);
				CHECK_STR(im->layers[k].diff_id,
					  json_string_value(json_object_get(l, "diff_id")));
				CHECK_STR(im->layers[k].digest,
					  json_string_value(json_object_get(l, "digest")));
			}
			cs_image_free(im);
			im = NULL;
		}
	}
	printf("ok   alpine-multi: %zu platforms listed and opened as expected.json says\n",
	       json_array_size(list));
	json_decref(list);
	json_decref(exp);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes the test's own temporary directory. */
static void rm_rf(const char *p)
{
	if (strncmp(p, "/tmp/cs-platforms-", 18) == 0)
		nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	char dir[512], dir1[512], dir2[512], ref[640], tarpath[512], cache[512];
	static const char layer_bytes[] = "not really a tar: the supervisor never reads it";
	struct blob layer, amd, armv8, arm, armv7, att, att2, nested;
	struct cs_source_opts o;
	char diff_id[72];
	json_t *inner, *list = NULL;
	int r;

	snprintf(root, sizeof(root), "/tmp/cs-platforms-XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	memset(&o, 0, sizeof(o));
	snprintf(cache, sizeof(cache), "%s/cache", root);
	o.cache_dir = cache;

	/* ---- the layout "multi" ---- */
	snprintf(dir, sizeof(dir), "%s/multi", root);
	CHECK(make_layout_dirs(dir) == 0);
	layer = put_bytes(dir, layer_bytes, sizeof(layer_bytes) - 1);
	sha256_hex(diff_id, layer_bytes, sizeof(layer_bytes) - 1);
	armv8 = put_image(dir, "linux", "arm64", "v8", layer, diff_id);
	arm = put_image(dir, "linux", "arm64", NULL, layer, diff_id);
	amd = put_image(dir, "linux", "amd64", NULL, layer, diff_id);
	armv7 = put_image(dir, "linux", "arm", "v7", layer, diff_id);
	att = put_json(dir, json_pack("{s:i, s:s, s:o, s:[]}", "schemaVersion", 2, "mediaType",
				      MT_MANIFEST, "config",
				      descriptor("application/vnd.in-toto+json", layer), "layers"));
	att2 = put_image(dir, "linux", "amd64", "v2", layer, diff_id);
	/* a nested index inside the index: not an image of a platform */
	nested = put_json(dir, json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType",
					 MT_INDEX, "manifests",
					 with_platform(descriptor(MT_MANIFEST, armv7), "linux",
						       "arm", "v7")));
	inner = json_pack(
		"[o, o, o, o, o, o]",
		with_platform(descriptor(MT_MANIFEST, armv8), "linux", "arm64", "v8"),
		annotated(with_platform(descriptor(MT_MANIFEST, att), "unknown", "unknown", NULL),
			  "vnd.docker.reference.type", "attestation-manifest"),
		with_platform(descriptor(MT_MANIFEST, arm), "linux", "arm64", NULL),
		with_platform(descriptor(MT_MANIFEST, amd), "linux", "amd64", NULL),
		annotated(with_platform(descriptor(MT_MANIFEST, att2), "linux", "amd64", NULL),
			  "vnd.docker.reference.type", "attestation-manifest"),
		with_platform(descriptor(MT_INDEX, nested), "linux", "s390x", NULL));
	{
		struct blob idx =
			put_json(dir, json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
						MT_INDEX, "manifests", inner));
		/* an index with no variant-less arm64: "linux/arm64/v8" must still
		 * find the image of plain "linux/arm64" (the default variant) */
		struct blob novar =
			put_json(dir, json_pack("{s:i, s:s, s:[o, o]}", "schemaVersion", 2,
						"mediaType", MT_INDEX, "manifests",
						with_platform(descriptor(MT_MANIFEST, amd), "linux",
							      "amd64", NULL),
						with_platform(descriptor(MT_MANIFEST, arm), "linux",
							      "arm64", NULL)));

		put_index_json(dir,
			       json_pack("[o, o, o, o, o]",
					 annotated(descriptor(MT_INDEX, idx),
						   "org.opencontainers.image.ref.name", "multi"),
					 annotated(descriptor(MT_INDEX, novar),
						   "org.opencontainers.image.ref.name", "novar"),
					 annotated(descriptor(MT_MANIFEST, amd),
						   "org.opencontainers.image.ref.name", "plain"),
					 /* one name on two platform entries, as some writers do */
					 annotated(with_platform(descriptor(MT_MANIFEST, armv7),
								 "linux", "arm", "v7"),
						   "org.opencontainers.image.ref.name", "both"),
					 annotated(with_platform(descriptor(MT_MANIFEST, amd),
								 "linux", "amd64", NULL),
						   "org.opencontainers.image.ref.name", "both")));
	}

	/* the listing, in index order, attestations and the nested index left out */
	snprintf(ref, sizeof(ref), "oci:%s:multi", dir);
	{
		const struct want w[] = { { "linux/arm64/v8", armv8.digest },
					  { "linux/arm64", arm.digest },
					  { "linux/amd64", amd.digest } };
		check_list(ref, &o, w, 3);
		/* each entry opens exactly its manifest: "linux/arm64" is the
		 * variant-less entry although "linux/arm64/v8" stands first */
		for (size_t i = 0; i < 3; i++) {
			check_open(ref, o, w[i].platform, NULL, w[i].digest, w[i].platform);
			check_open(ref, o, w[i].platform, w[i].digest, w[i].digest, w[i].platform);
		}
	}
	/* the loose matches still work for a user's --platform */
	check_open(ref, o, "linux/arm64/v8", NULL, armv8.digest, "linux/arm64/v8");
	/* an attestation or a nested index is never chosen */
	check_open_fails(ref, o, "unknown/unknown", NULL, CS_ENOTFOUND,
			 "linux/arm64/v8, linux/arm64, linux/amd64)");
	check_open_fails(ref, o, "linux/s390x", NULL, CS_ENOTFOUND, "no image for platform");
	check_open_fails(ref, o, NULL, att.digest, CS_ENOTFOUND, "no image manifest");
	check_open_fails(ref, o, NULL, nested.digest, CS_ENOTFOUND, "no image manifest");
	check_open_fails(ref, o, "all", NULL, CS_EINVAL, "--platform all is not supported");
	check_open_fails(ref, o, NULL, "sha256:xyz", CS_EINVAL, "not sha256");

	snprintf(ref, sizeof(ref), "oci:%s:novar", dir);
	{
		const struct want w[] = { { "linux/amd64", amd.digest },
					  { "linux/arm64", arm.digest } };
		check_list(ref, &o, w, 2);
		check_open(ref, o, "linux/arm64/v8", NULL, arm.digest, "linux/arm64");
		check_open(ref, o, "linux/arm64", NULL, arm.digest, "linux/arm64");
		check_open_fails(ref, o, "linux/arm64/v7", NULL, CS_ENOTFOUND, "linux/arm64/v7");
	}

	snprintf(ref, sizeof(ref), "oci:%s:plain", dir);
	{
		/* a plain manifest: one entry, the platform from its config */
		const struct want w[] = { { "linux/amd64", amd.digest } };
		check_list(ref, &o, w, 1);
		/* the one image whatever the platform, but not another digest */
		check_open(ref, o, "linux/s390x", amd.digest, amd.digest, "linux/amd64");
		check_open_fails(ref, o, NULL, arm.digest, CS_ENOTFOUND, "not sha256:");
	}

	snprintf(ref, sizeof(ref), "oci:%s:both", dir);
	{
		const struct want w[] = { { "linux/arm/v7", armv7.digest },
					  { "linux/amd64", amd.digest } };
		check_list(ref, &o, w, 2);
		check_open(ref, o, "linux/amd64", NULL, amd.digest, "linux/amd64");
		check_open(ref, o, "linux/arm/v7", NULL, armv7.digest, "linux/arm/v7");
	}

	/* untagged, several images of no platform: name one */
	snprintf(ref, sizeof(ref), "oci:%s", dir);
	r = cs_source_platforms(&list, ref, &o);
	CHECK(r == CS_EINVAL && list == NULL && strstr(cs_err_msg(), "oci:DIR:TAG") != NULL);
	json_decref(list);
	list = NULL;
	check_open_fails(ref, o, "linux/amd64", NULL, CS_EINVAL, "holds 5 images");
	snprintf(ref, sizeof(ref), "oci:%s:nosuchtag", dir);
	r = cs_source_platforms(&list, ref, &o);
	CHECK(r == CS_ENOTFOUND && list == NULL);
	json_decref(list);
	list = NULL;

	/* ---- an untagged layout of one plain image ---- */
	snprintf(dir1, sizeof(dir1), "%s/single", root);
	CHECK(make_layout_dirs(dir1) == 0);
	{
		struct blob l1 = put_bytes(dir1, layer_bytes, sizeof(layer_bytes) - 1);
		struct blob m1 = put_image(dir1, "linux", "ppc64le", NULL, l1, diff_id);
		const struct want w[] = { { "linux/ppc64le", m1.digest } };

		put_index_json(dir1, json_pack("[o]", descriptor(MT_MANIFEST, m1)));
		snprintf(ref, sizeof(ref), "oci:%s", dir1);
		check_list(ref, &o, w, 1);
		check_open(ref, o, w[0].platform, w[0].digest, m1.digest, "linux/ppc64le");
	}

	/* ---- an untagged index.json that is itself the platform index ---- */
	snprintf(dir2, sizeof(dir2), "%s/flat", root);
	CHECK(make_layout_dirs(dir2) == 0);
	{
		struct blob l2 = put_bytes(dir2, layer_bytes, sizeof(layer_bytes) - 1);
		struct blob a2 = put_image(dir2, "linux", "amd64", NULL, l2, diff_id);
		struct blob b2 = put_image(dir2, "linux", "riscv64", NULL, l2, diff_id);
		const struct want w[] = { { "linux/riscv64", b2.digest },
					  { "linux/amd64", a2.digest } };

		put_index_json(dir2, json_pack("[o, o]",
					       with_platform(descriptor(MT_MANIFEST, b2), "linux",
							     "riscv64", NULL),
					       with_platform(descriptor(MT_MANIFEST, a2), "linux",
							     "amd64", NULL)));
		snprintf(ref, sizeof(ref), "oci:%s", dir2);
		check_list(ref, &o, w, 2);
		check_open(ref, o, "linux/riscv64", NULL, b2.digest, "linux/riscv64");
		check_open(ref, o, "linux/amd64", a2.digest, a2.digest, "linux/amd64");
	}

	/* ---- dir: one pseudo-platform ---- */
	snprintf(ref, sizeof(ref), "dir:%s", root);
	{
		const struct want w[] = { { "unknown", "" } };
		check_list(ref, &o, w, 1);
	}
	snprintf(ref, sizeof(ref), "dir:%s/nonexistent", root);
	r = cs_source_platforms(&list, ref, &o);
	CHECK(r == CS_ENOTFOUND && list == NULL);

	/* ---- registry references fail cleanly without a registry ---- */
	o.connect_timeout = 2;
	o.retries = 1;
	r = cs_source_platforms(&list, "127.0.0.1:1/cs/nothing:latest", &o);
	CHECK(r != 0 && list == NULL);

	/* ---- the same index in an oci-archive: (read by the worker) ---- */
	{
		const char *bd = getenv("CS_BUILD_DIR");
		char worker[600];
		struct stat st;

		snprintf(worker, sizeof(worker), "%s/libexec/cellscan/cellscan-worker",
			 bd ? bd : ".");
		snprintf(tarpath, sizeof(tarpath), "%s/multi.tar", root);
		CHECK(make_archive(tarpath, dir) == 0);
		if (stat(worker, &st) != 0) {
			printf("skip oci-archive: no worker at %s (build cellscan-worker)\n",
			       worker);
		} else {
			const struct want w[] = { { "linux/arm64/v8", armv8.digest },
						  { "linux/arm64", arm.digest },
						  { "linux/amd64", amd.digest } };
			json_t *al = NULL;

			o.worker = worker;
			cs_sandbox_default_ids(&o.worker_uid, &o.worker_gid);
			snprintf(ref, sizeof(ref), "oci-archive:%s:multi", tarpath);
			r = cs_source_platforms(&al, ref, &o);
			if (r == CS_ESANDBOX) {
				printf("skip oci-archive: the worker cannot run here: %s\n",
				       cs_err_msg());
			} else {
				json_decref(al);
				check_list(ref, &o, w, 3);
				for (size_t i = 0; i < 3; i++)
					check_open(ref, o, w[i].platform, w[i].digest, w[i].digest,
						   w[i].platform);
				check_open(ref, o, "linux/arm64", NULL, arm.digest, "linux/arm64");
				printf("ok   oci-archive: listed and opened each platform\n");
			}
			o.worker = NULL;
		}
	}

	alpine_multi();
	rm_rf(root);
	return cs_test_done();
}
