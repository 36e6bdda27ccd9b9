/*
 * registry.c - images from a registry (OCI distribution spec, Docker
 * Registry HTTP API v2).
 *
 * The manifest is negotiated (OCI manifest and index, Docker schema 2
 * manifest and list; schema 1 is refused by name), size-bounded and
 * checked: against the digest of the reference or of the index entry that
 * led to it, and against Docker-Content-Digest when the registry sends
 * one. An index is resolved to one platform. The config is fetched the
 * same way; layers are streamed into the blob cache, hashed while they
 * arrive, and handed on as read-only descriptors of verified files.
 */
#include "supervisor/source/regint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1S "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* Schema 1 is accepted at low priority only so that it can be named in a
 * clear error instead of a bare 404. */
static const char accept_manifests[] =
	MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", "
	MT_DOCKER_V1S ";q=0.1, " MT_DOCKER_V1 ";q=0.1";

struct reg {
	struct cs_regref ref;
	struct cs_http *h;
	struct cs_cache *cache;
	const struct cs_source_opts *o;
};

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int desc(const json_t *d, const char **digest, const char **mt, uint64_t *size)
{
	json_t *s = json_object_get(d, "size");

	*digest = jstr(d, "digest");
	*mt = jstr(d, "mediaType");
	if (*digest == NULL || !json_is_integer(s) || json_integer_value(s) < 0)
		return cs_err_set(CS_EFORMAT, "descriptor without a digest or size");
	if (!cs_digest_valid(*digest))
		return cs_err_set(CS_EFORMAT, "invalid digest \"%.80s\" (only sha256 is supported)",
				  *digest);
	*size = (uint64_t)json_integer_value(s);
	if (*mt == NULL)
		*mt = "";
	return 0;
}

/* Media type without parameters ("application/json; charset=utf-8"). */
static void bare_type(char *out, size_t n, const char *ct)
{
	size_t i = 0;

	while (ct[i] != '\0' && ct[i] != ';' && ct[i] != ' ' && i + 1 < n) {
		out[i] = ct[i];
		i++;
	}
	out[i] = '\0';
}

/*
 * GETs a manifest or index by tag or digest. want_digest/want_size, when
 * known (a digest reference, an index entry), must match.
 */
static int get_manifest(struct reg *g, const char *ref, const char *want_digest,
			uint64_t want_size, json_t **doc, char mt[128], char digest[72])
{
	struct cs_memsink ms;
	char path[256], ctype[256], dcd[128], what[160], ctbare[128];
	const char *bmt;
	json_t *sv;
	json_error_t je;
	int r;

	*doc = NULL;
	mt[0] = '\0';
	if (want_size > CS_DOC_MAX)
		return cs_err_set(CS_ELIMIT, "manifest %s has %llu bytes, more than the document limit "
				  "of %u", want_digest, (unsigned long long)want_size, CS_DOC_MAX);
	snprintf(path, sizeof(path), "manifests/%s", ref);
	snprintf(what, sizeof(what), "manifest %s", ref);
	cs_memsink_init(&ms, want_size ? want_size : CS_DOC_MAX, what);
	if ((r = cs_http_get(g->h, path, accept_manifests, &ms.s, ctype, sizeof(ctype), dcd,
			     sizeof(dcd))) != 0)
		goto out;
	if ((r = cs_digest_mem(digest, ms.buf.data ? (void *)ms.buf.data : (void *)"", ms.buf.len)) != 0)
		goto out;
	if (want_digest != NULL && strcmp(digest, want_digest) != 0) {
		r = cs_err_set(CS_EDIGEST, "manifest %s does not match its digest: the bytes received "
			       "hash to %s", want_digest, digest);
		goto out;
	}
	if (want_size != 0 && ms.buf.len != want_size) {
		r = cs_err_set(CS_EDIGEST, "manifest %s has %zu bytes, its descriptor says %llu",
			       digest, ms.buf.len, (unsigned long long)want_size);
		goto out;
	}
	if (strncmp(dcd, "sha256:", 7) == 0 && strcmp(dcd, digest) != 0) {
		r = cs_err_set(CS_EDIGEST, "manifest %s: the registry's Docker-Content-Digest %.80s does "
			       "not match the bytes received (%s)", ref, dcd, digest);
		goto out;
	}
	*doc = json_loadb((const char *)ms.buf.data, ms.buf.len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(*doc)) {
		r = cs_err_set(CS_EFORMAT, "manifest %s is not a JSON object", digest);
		goto out;
	}
	bare_type(ctbare, sizeof(ctbare), ctype);
	bmt = jstr(*doc, "mediaType");
	sv = json_object_get(*doc, "schemaVersion");
	if ((json_is_integer(sv) && json_integer_value(sv) == 1) || strcmp(ctbare, MT_DOCKER_V1) == 0 ||
	    strcmp(ctbare, MT_DOCKER_V1S) == 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "%s/%s:%s uses Docker image manifest schema 1, which is "
			       "deprecated and unsupported (push it again with a current client)",
			       g->ref.host, g->ref.repo, ref);
		goto out;
	}
	if (bmt != NULL && ctbare[0] != '\0' && strcmp(ctbare, "application/json") != 0 &&
	    strcmp(bmt, ctbare) != 0) {
		r = cs_err_set(CS_EFORMAT, "manifest %s: its mediaType %.100s differs from the "
			       "Content-Type %.100s", digest, bmt, ctbare);
		goto out;
	}
	if (bmt != NULL)
		snprintf(mt, 128, "%s", bmt);
	else if (ctbare[0] != '\0' && strcmp(ctbare, "application/json") != 0)
		snprintf(mt, 128, "%s", ctbare);
	else if (json_is_array(json_object_get(*doc, "manifests")))
		snprintf(mt, 128, MT_OCI_INDEX);
	else
		snprintf(mt, 128, MT_OCI_MANIFEST);
	r = 0;
out:
	if (r != 0) {
		json_decref(*doc);
		*doc = NULL;
	}
	cs_memsink_free(&ms);
	return r;
}

/* GETs a small blob (the config) into memory, verified. */
static int get_doc_blob(struct reg *g, const char *digest, uint64_t size, json_t **doc)
{
	struct cs_memsink ms;
	char path[128], what[96], got[72];
	int r;

	*doc = NULL;
	if (size > CS_DOC_MAX)
		return cs_err_set(CS_ELIMIT, "config %s has %llu bytes, more than the document limit "
				  "of %u", digest, (unsigned long long)size, CS_DOC_MAX);
	snprintf(path, sizeof(path), "blobs/%s", digest);
	snprintf(what, sizeof(what), "config %s", digest);
	cs_memsink_init(&ms, size, what);
	if ((r = cs_http_get(g->h, path, NULL, &ms.s, NULL, 0, NULL, 0)) != 0)
		goto out;
	if (ms.buf.len != size) {
		r = cs_err_set(CS_EDIGEST, "config %s has %zu bytes, its descriptor says %llu", digest,
			       ms.buf.len, (unsigned long long)size);
		goto out;
	}
	if ((r = cs_digest_mem(got, ms.buf.data ? (void *)ms.buf.data : (void *)"", ms.buf.len)) != 0)
		goto out;
	if (strcmp(got, digest) != 0) {
		r = cs_err_set(CS_EDIGEST, "config %s does not match its digest: the bytes received "
			       "hash to %s", digest, got);
		goto out;
	}
	*doc = json_loadb((const char *)ms.buf.data, ms.buf.len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		r = cs_err_set(CS_EFORMAT, "config %s is not a JSON object", digest);
	}
out:
	cs_memsink_free(&ms);
	return r;
}

struct fill_arg {
	struct reg *g;
	const char *digest;
};

static int fill_layer(void *arg, struct cs_sink *sink)
{
	struct fill_arg *fa = arg;
	char path[128];

	snprintf(path, sizeof(path), "blobs/%s", fa->digest);
	return cs_http_get(fa->g->h, path, NULL, sink, NULL, 0, NULL, 0);
}

static int open_layer(struct reg *g, struct cs_layer *l, const json_t *d, int *fetched)
{
	const char *dg, *mt;
	uint64_t size;
	struct fill_arg fa;
	int r;

	l->fd = -1;
	*fetched = 0;
	if ((r = desc(d, &dg, &mt, &size)) != 0)
		return r;
	if (mt[0] != '\0' && strstr(mt, "tar") == NULL)
		return cs_err_set(CS_EUNSUPPORTED, "layer %s has media type %.100s, not a tar layer",
				  dg, mt);
	if (g->o->lim != NULL && size > g->o->lim->layer_bytes)
		return cs_err_set(CS_ELIMIT, "layer %s has %llu bytes, more than the limit of %llu "
				  "(limit \"layer_bytes\")", dg, (unsigned long long)size,
				  (unsigned long long)g->o->lim->layer_bytes);
	snprintf(l->digest, sizeof(l->digest), "%s", dg);
	snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
	l->size = size;
	fa.g = g;
	fa.digest = dg;
	return cs_cache_get(g->cache, &l->fd, dg, size, fill_layer, &fa, fetched);
}

int cs_registry_open(struct cs_image *img, const char *refstr, const struct cs_source_opts *o)
{
	struct reg g;
	json_t *top = NULL, *man = NULL;
	const json_t *sel, *ls, *diffs, *m;
	char mt[128], digest[72], what[600];
	const char *dg, *dmt;
	const char *want = o->platform ? o->platform : cs_source_host_platform();
	uint64_t size;
	size_t i;
	int r, fetched, any = 0;

	memset(&g, 0, sizeof(g));
	g.o = o;
	if ((r = cs_regref_parse(&g.ref, refstr)) != 0)
		return r;
	img->name = strdup(g.ref.name);
	if (img->name == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_cache_open(&g.cache, o->cache_dir, o->cache_max)) != 0)
		goto out;
	if ((r = cs_http_new(&g.h, &g.ref, o)) != 0)
		goto out;
	if (o->manifest_digest != NULL) {
		/* one image of the reference's index, named by cs_source_platforms():
		 * fetched by its digest, without the index again */
		if ((r = get_manifest(&g, o->manifest_digest, o->manifest_digest, 0, &man, mt,
				      digest)) != 0)
			goto out;
	} else if ((r = get_manifest(&g, g.ref.digest[0] ? g.ref.digest : g.ref.tag,
				     g.ref.digest[0] ? g.ref.digest : NULL, 0, &top, mt, digest)) != 0) {
		goto out;
	} else if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0) {
		snprintf(what, sizeof(what), "%s:%s", g.ref.name,
			 g.ref.digest[0] ? g.ref.digest : g.ref.tag);
		if ((r = cs_index_pick(&sel, json_object_get(top, "manifests"), want, NULL,
				       what)) != 0)
			goto out;
		if ((r = desc(sel, &dg, &dmt, &size)) != 0)
			goto out;
		if ((r = get_manifest(&g, dg, dg, size, &man, mt, digest)) != 0)
			goto out;
		if (dmt[0] != '\0' && strcmp(dmt, mt) != 0) {
			r = cs_err_set(CS_EFORMAT, "manifest %s: the index says media type %.100s, the "
				       "manifest %.100s", dg, dmt, mt);
			goto out;
		}
	} else {
		man = top;
		top = NULL;
	}
	if (strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "manifest %s has media type %.100s, not an image "
			       "manifest", digest, mt);
		goto out;
	}
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", digest);
	if ((r = desc(json_object_get(man, "config"), &dg, &dmt, &size)) != 0)
		goto out;
	if (dmt[0] != '\0' && strcmp(dmt, MT_OCI_CONFIG) != 0 && strcmp(dmt, MT_DOCKER_CONFIG) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "not a container image: config media type %.100s", dmt);
		goto out;
	}
	if ((r = get_doc_blob(&g, dg, size, &img->config)) != 0)
		goto out;
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", dg);
	if (cs_platform_string(img->platform, sizeof(img->platform), img->config) != 0)
		snprintf(img->platform, sizeof(img->platform), "unknown");
	ls = json_object_get(man, "layers");
	diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
	if (!json_is_array(ls) || !json_is_array(diffs)) {
		r = cs_err_set(CS_EFORMAT, "manifest or config lacks its layer list");
		goto out;
	}
	if (json_array_size(ls) != json_array_size(diffs)) {
		r = cs_err_set(CS_EFORMAT, "manifest lists %zu layers, config %zu diff_ids",
			       json_array_size(ls), json_array_size(diffs));
		goto out;
	}
	if (o->lim != NULL && json_array_size(ls) > o->lim->layers) {
		r = cs_err_set(CS_ELIMIT, "image has %zu layers, more than the limit of %llu (limit "
			       "\"layers\")", json_array_size(ls), (unsigned long long)o->lim->layers);
		goto out;
	}
	img->layers = calloc(json_array_size(ls) ? json_array_size(ls) : 1, sizeof(*img->layers));
	if (img->layers == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(ls, i, m) {
		const char *di = json_string_value(json_array_get(diffs, i));
		img->nlayers = i + 1;
		if (!cs_digest_valid(di)) {
			img->layers[i].fd = -1;
			r = cs_err_set(CS_EFORMAT, "config diff_id %zu is not a sha256 digest", i);
			goto out;
		}
		snprintf(img->layers[i].diff_id, sizeof(img->layers[i].diff_id), "%s", di);
		if ((r = open_layer(&g, &img->layers[i], m, &fetched)) != 0)
			goto out;
		any |= fetched;
	}
	if (any)
		cs_cache_trim(g.cache); /* best effort: the scan has its descriptors */
	r = 0;
out:
	if (g.h != NULL)
		img->fetched_bytes = cs_http_bytes(g.h);
	json_decref(top);
	json_decref(man);
	cs_http_free(g.h);
	cs_cache_close(g.cache);
	return r;
}

int cs_registry_platforms(json_t *arr, const char *refstr, const struct cs_source_opts *o)
{
	struct reg g;
	json_t *top = NULL, *config = NULL;
	char mt[128], digest[72], what[600], plat[64];
	const char *dg, *dmt;
	uint64_t size;
	int r;

	memset(&g, 0, sizeof(g));
	g.o = o;
	if ((r = cs_regref_parse(&g.ref, refstr)) != 0)
		return r;
	if ((r = cs_http_new(&g.h, &g.ref, o)) != 0)
		goto out;
	if ((r = get_manifest(&g, g.ref.digest[0] ? g.ref.digest : g.ref.tag,
			      g.ref.digest[0] ? g.ref.digest : NULL, 0, &top, mt, digest)) != 0)
		goto out;
	if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0) {
		snprintf(what, sizeof(what), "%s:%s", g.ref.name,
			 g.ref.digest[0] ? g.ref.digest : g.ref.tag);
		r = cs_index_platforms(arr, json_object_get(top, "manifests"), what);
		goto out;
	}
	if (strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "manifest %s has media type %.100s, not an image "
			       "manifest", digest, mt);
		goto out;
	}
	/* one manifest: its config says the platform */
	if ((r = desc(json_object_get(top, "config"), &dg, &dmt, &size)) != 0)
		goto out;
	if (dmt[0] != '\0' && strcmp(dmt, MT_OCI_CONFIG) != 0 && strcmp(dmt, MT_DOCKER_CONFIG) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "not a container image: config media type %.100s", dmt);
		goto out;
	}
	if ((r = get_doc_blob(&g, dg, size, &config)) != 0)
		goto out;
	if (cs_platform_string(plat, sizeof(plat), config) != 0)
		snprintf(plat, sizeof(plat), "unknown");
	r = cs_platforms_add(arr, plat, digest);
out:
	json_decref(top);
	json_decref(config);
	cs_http_free(g.h);
	return r;
}
