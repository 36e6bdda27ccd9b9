/*
 * platform.c - platforms of an image index: naming them, listing the
 * images of an index (--platform all) and choosing one, for every source
 * that reads OCI or Docker indexes (oci.c, archive.c, registry.c).
 *
 * An index may hold things that are not images of a platform: BuildKit's
 * attestation manifests (platform "unknown/unknown", annotation
 * vnd.docker.reference.type = attestation-manifest), nested indexes and
 * artifacts of other media types. They are never listed and never chosen.
 */
#include "supervisor/source/source.h"

#include <stdio.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANN_REFTYPE "vnd.docker.reference.type"
#define PLATFORM_PART_MAX 20

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* os, architecture and variant are short names of [A-Za-z0-9._-]: anything
 * else (a '/', control bytes, 1 KiB of text) is not a platform we name. */
static int part_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (i >= PLATFORM_PART_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int cs_platform_string(char *out, size_t n, const json_t *p)
{
	const char *os = jstr(p, "os"), *arch = jstr(p, "architecture"), *var = jstr(p, "variant");
	int k;

	if (n > 0)
		out[0] = '\0';
	if (!part_ok(os) || !part_ok(arch))
		return -1;
	if (var != NULL && var[0] != '\0') {
		if (!part_ok(var))
			return -1;
		k = snprintf(out, n, "%s/%s/%s", os, arch, var);
	} else {
		k = snprintf(out, n, "%s/%s", os, arch);
	}
	if (k < 0 || (size_t)k >= n) {
		if (n > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * What an index entry is: CS_ENTRY_IMAGE (an image manifest with a usable
 * platform, named into plat), CS_ENTRY_NOPLATFORM (an image manifest
 * without one), CS_ENTRY_OTHER (attestation, nested index, artifact).
 */
enum { CS_ENTRY_OTHER = 0, CS_ENTRY_NOPLATFORM = 1, CS_ENTRY_IMAGE = 2 };

static int entry_kind(const json_t *m, char *plat, size_t n)
{
	const char *mt = jstr(m, "mediaType"), *rt;
	const json_t *p = json_object_get(m, "platform");

	plat[0] = '\0';
	if (!json_is_object(m) || !cs_digest_valid(jstr(m, "digest")))
		return CS_ENTRY_OTHER;
	/* the descriptor's mediaType is required by the spec, but some old
	 * writers leave it out of manifest lists: then it is taken as an image */
	if (mt != NULL && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return CS_ENTRY_OTHER;
	rt = jstr(json_object_get(m, "annotations"), ANN_REFTYPE);
	if (rt != NULL && strcmp(rt, "attestation-manifest") == 0)
		return CS_ENTRY_OTHER;
	if (p == NULL || cs_platform_string(plat, n, p) != 0)
		return CS_ENTRY_NOPLATFORM;
	if (strcmp(plat, "unknown/unknown") == 0)
		return CS_ENTRY_OTHER;
	return CS_ENTRY_IMAGE;
}

/* The variant an architecture means when none is given (as containerd's
 * platform normaliser has it): "linux/arm64/v8" asks for what an entry
 * "linux/arm64" without a variant is. */
static const char *default_variant(const char *arch, size_t len)
{
	if (len == 5 && strncmp(arch, "arm64", 5) == 0)
		return "v8";
	if (len == 3 && strncmp(arch, "arm", 3) == 0)
		return "v7";
	if (len == 5 && strncmp(arch, "amd64", 5) == 0)
		return "v1";
	return NULL;
}

/* How well have matches want: 2 equal; 1 want has no variant and have is
 * want plus one; 1 want's variant is the default of an entry without one;
 * 0 no match. */
static int match_rank(const char *want, const char *have)
{
	const char *ws = strchr(want, '/'), *wv, *dv;
	size_t hl = strlen(have), wl = strlen(want);

	if (strcmp(want, have) == 0)
		return 2;
	if (ws == NULL)
		return 0;
	wv = strchr(ws + 1, '/');
	if (wv == NULL) /* "linux/arm64" also matches "linux/arm64/v8" */
		return strncmp(want, have, wl) == 0 && have[wl] == '/' ? 1 : 0;
	/* "linux/arm64/v8" also matches an entry "linux/arm64" */
	if ((size_t)(wv - want) != hl || strncmp(want, have, hl) != 0)
		return 0;
	dv = default_variant(ws + 1, (size_t)(wv - ws - 1));
	return dv != NULL && strcmp(wv + 1, dv) == 0 ? 1 : 0;
}

int cs_index_has_platforms(const json_t *manifests)
{
	char have[64];
	const json_t *m;
	size_t i;

	json_array_foreach(manifests, i, m)
		if (entry_kind(m, have, sizeof(have)) == CS_ENTRY_IMAGE)
			return 1;
	return 0;
}

int cs_index_pick(const json_t **out, const json_t *manifests, const char *want, const char *digest,
		  const char *what)
{
	char have[64], list[512] = "";
	const json_t *m, *best = NULL;
	size_t i, used = 0;
	int best_rank = 0;

	*out = NULL;
	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return cs_err_set(CS_EFORMAT, "%s: image index lists no manifests", what);
	if (digest != NULL) {
		json_array_foreach(manifests, i, m) {
			const char *dg = jstr(m, "digest");
			if (dg != NULL && strcmp(dg, digest) == 0 &&
			    entry_kind(m, have, sizeof(have)) != CS_ENTRY_OTHER) {
				*out = m;
				return 0;
			}
		}
		return cs_err_set(CS_ENOTFOUND, "%s has no image manifest %.80s", what, digest);
	}
	if (want == NULL || strcmp(want, "all") == 0)
		return cs_err_set(CS_EINVAL,
				  "%s: no single platform named to choose from the index "
				  "(--platform all takes each in turn)",
				  what);
	/* The first entry of the best rank: an exact name wins over a looser
	 * one wherever it stands, so every listed platform opens its own entry. */
	json_array_foreach(manifests, i, m) {
		int rank;

		if (entry_kind(m, have, sizeof(have)) != CS_ENTRY_IMAGE)
			continue;
		rank = match_rank(want, have);
		if (rank > best_rank) {
			best = m;
			best_rank = rank;
		}
		if (used < sizeof(list) - 1) {
			int k = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
					 have);
			if (k > 0)
				used += (size_t)k;
		}
	}
	if (best != NULL) {
		*out = best;
		return 0;
	}
	return cs_err_set(CS_ENOTFOUND,
			  "%s has no image for platform %.64s (it has: %s); choose one "
			  "with --platform",
			  what, want, used ? list : "none");
}

int cs_platforms_add(json_t *arr, const char *platform, const char *digest)
{
	json_t *e = json_pack("{s:s, s:s}", "platform", platform, "digest", digest ? digest : "");

	if (e == NULL || json_array_append_new(arr, e) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

int cs_index_platforms(json_t *arr, const json_t *manifests, const char *what)
{
	char have[64];
	const json_t *m;
	size_t i, n = 0;
	int r;

	json_array_foreach(manifests, i, m) {
		if (entry_kind(m, have, sizeof(have)) != CS_ENTRY_IMAGE)
			continue;
		if ((r = cs_platforms_add(arr, have, jstr(m, "digest"))) != 0)
			return r;
		n++;
	}
	if (n == 0)
		return cs_err_set(CS_ENOTFOUND,
				  "%s: the image index names no image with a platform", what);
	return 0;
}

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANN_REF "org.opencontainers.image.ref.name"

static int is_index_type(const char *mt)
{
	return mt != NULL && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

/* Every entry an image with a platform, or an attestation: no nested
 * index, no image without a platform. */
static int is_platform_index(const json_t *ms)
{
	char have[64];
	const json_t *m;
	size_t i;
	int images = 0;

	json_array_foreach(ms, i, m) {
		if (is_index_type(jstr(m, "mediaType")))
			return 0;
		switch (entry_kind(m, have, sizeof(have))) {
		case CS_ENTRY_IMAGE: images++; break;
		case CS_ENTRY_NOPLATFORM: return 0;
		default: break;
		}
	}
	return images > 0;
}

int cs_layout_candidates(json_t **cands, int *is_index, const json_t *index, const char *tag,
			 const char *what, const char *hint, cs_doc_load_fn load, void *arg)
{
	const json_t *ms = json_object_get(index, "manifests"), *m, *one = NULL, *sz;
	json_t *matches = NULL, *sub = NULL, *sms;
	const char *dg;
	size_t i;
	int r;

	*cands = NULL;
	*is_index = 0;
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return cs_err_set(CS_EFORMAT, "index.json lists no manifests");
	if (tag != NULL) {
		matches = json_array();
		if (matches == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		json_array_foreach(ms, i, m) {
			const char *rn = jstr(json_object_get(m, "annotations"), ANN_REF);
			if (rn != NULL && strcmp(rn, tag) == 0 &&
			    json_array_append(matches, (json_t *)m) != 0) {
				json_decref(matches);
				return cs_err_set(CS_ENOMEM, "out of memory");
			}
		}
		if (json_array_size(matches) == 0) {
			json_decref(matches);
			return cs_err_set(CS_ENOTFOUND, "no image tagged \"%.100s\" in %s", tag,
					  what);
		}
		if (json_array_size(matches) > 1) {
			/* one name on several entries: the images of its platforms */
			*cands = matches;
			*is_index = 1;
			return 0;
		}
		one = json_array_get(matches, 0);
	} else if (json_array_size(ms) == 1) {
		one = json_array_get(ms, 0);
	} else {
		/* index.json itself is the platform index only when it holds
		 * nothing else: several tagged images, or nested indexes, need a
		 * name */
		if (!is_platform_index(ms))
			return cs_err_set(CS_EINVAL, "%s holds %zu images: name one as %s", what,
					  json_array_size(ms), hint);
		*cands = json_incref((json_t *)ms);
		*is_index = 1;
		return 0;
	}
	dg = jstr(one, "digest");
	sz = json_object_get(one, "size");
	if (!cs_digest_valid(dg) || !json_is_integer(sz) || json_integer_value(sz) < 0) {
		r = cs_err_set(CS_EFORMAT,
			       "index.json: a descriptor without a valid digest or size");
		goto out;
	}
	if (is_index_type(jstr(one, "mediaType"))) {
		if ((r = load(arg, &sub, dg, (uint64_t)json_integer_value(sz), "index")) != 0)
			goto out;
		sms = json_object_get(sub, "manifests");
		if (!json_is_array(sms) || json_array_size(sms) == 0) {
			r = cs_err_set(CS_EFORMAT, "%s: image index %s lists no manifests", what,
				       dg);
			goto out;
		}
		*cands = json_incref(sms);
		*is_index = 1;
	} else {
		*cands = json_array();
		if (*cands == NULL || json_array_append(*cands, (json_t *)one) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0) {
		json_decref(*cands);
		*cands = NULL;
		*is_index = 0;
	}
	json_decref(sub);
	json_decref(matches);
	return r;
}

int cs_layout_choose(const json_t **sel, const json_t *cands, int is_index, const char *want,
		     const char *digest, const char *what)
{
	const char *dg;

	*sel = NULL;
	if (is_index)
		return cs_index_pick(sel, cands, want, digest, what);
	*sel = json_array_get(cands, 0);
	dg = jstr(*sel, "digest");
	if (digest != NULL && (dg == NULL || strcmp(dg, digest) != 0)) {
		*sel = NULL;
		return cs_err_set(CS_ENOTFOUND, "%s: the image is manifest %.80s, not %.80s", what,
				  dg ? dg : "?", digest);
	}
	return 0;
}
