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
 *
 * Layers are downloaded several at once (cs_source_opts.parallel, default
 * 4), one thread and one HTTP session each, the sessions sharing their
 * authentication. The first layer that fails cancels the others (their
 * partial files are removed) and fails the image with "layer N of M: ...".
 */
#include "supervisor/source/regint.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

#define PARALLEL_DEFAULT 4         /* layer downloads at once */
#define PARALLEL_MAX 16

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
	struct cs_http *h;
	const char *digest;
};

static int fill_layer(void *arg, struct cs_sink *sink)
{
	struct fill_arg *fa = arg;
	char path[128];

	snprintf(path, sizeof(path), "blobs/%s", fa->digest);
	return cs_http_get(fa->h, path, NULL, sink, NULL, 0, NULL, 0);
}

/* Checks layer descriptor d and fills l from it (nothing fetched yet). */
static int check_layer(struct reg *g, struct cs_layer *l, const json_t *d);

/* cs_image_layers_init's descriptor step for a registry. */
static int reg_layer(void *ctx, struct cs_layer *l, const json_t *d)
{
	return check_layer(ctx, l, d);
}

static int check_layer(struct reg *g, struct cs_layer *l, const json_t *d)
{
	const char *dg, *mt;
	uint64_t size;
	int r;

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
	return 0;
}

/* Layer i's verified blob from the cache, downloaded through h if needed.
 * Errors name the layer: "layer I of N[ (DIGEST)]: ...". */
static int fetch_layer(struct reg *g, struct cs_http *h, struct cs_image *img, size_t i,
		       int *fetched)
{
	struct cs_layer *l = &img->layers[i];
	struct fill_arg fa;
	int r;

	fa.h = h;
	fa.digest = l->digest;
	r = cs_cache_get(g->cache, &l->fd, l->digest, l->size, fill_layer, &fa, fetched);
	if (r != 0) {
		if (strstr(cs_err_msg(), l->digest) != NULL)
			cs_err_prefix(r, "layer %zu of %zu", i + 1, img->nlayers);
		else
			cs_err_prefix(r, "layer %zu of %zu (%s)", i + 1, img->nlayers, l->digest);
	}
	return r;
}

/* The layer downloads of one image, shared by its threads ("lanes"). */
struct pull {
	struct reg *g;
	struct cs_image *img;
	const size_t *todo;          /* layer indexes to fetch, each digest once */
	size_t ntodo;
	atomic_size_t next;          /* next todo entry to take */
	atomic_int cancel;           /* set by the first failure: the others stop */
	atomic_int any;              /* some blob was downloaded */
	int r;                       /* the first failure, and its message; written */
	char msg[1024];              /* only by the lane that set cancel */
};

struct lane {
	struct pull *p;
	struct cs_http *h;
	pthread_t t;
	int started;
};

static void *lane_run(void *arg)
{
	struct lane *ln = arg;
	struct pull *p = ln->p;

	for (;;) {
		size_t k = atomic_fetch_add(&p->next, 1);
		int fetched = 0, r;
		if (k >= p->ntodo || atomic_load(&p->cancel))
			break;
		r = fetch_layer(p->g, ln->h, p->img, p->todo[k], &fetched);
		if (fetched)
			atomic_store(&p->any, 1);
		if (r != 0) {
			if (atomic_exchange(&p->cancel, 1) == 0) {
				p->r = r;
				snprintf(p->msg, sizeof(p->msg), "%s", cs_err_msg());
			}
			break;
		}
	}
	return NULL;
}

/*
 * Fetches the layers of img (descriptors checked, fds -1) with up to
 * `parallel` lanes: the calling thread, on g->h, and threads with sessions
 * cloned from it. A clone or thread that cannot be had means fewer lanes,
 * not a failure. *any is set when some blob was downloaded.
 */
static int fetch_layers(struct reg *g, struct cs_image *img, unsigned parallel, int *any)
{
	struct lane lanes[PARALLEL_MAX];
	struct pull p;
	size_t *todo = NULL, i, j, n = 0, nl = 0;
	sigset_t all, old;
	int r = 0, fetched;

	*any = 0;
	todo = calloc(img->nlayers ? img->nlayers : 1, sizeof(*todo));
	if (todo == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* a digest twice in one image (empty layers) is fetched once, below; a
	 * blob the cache holds is only opened: its hash waits for its first use,
	 * which a layer whose inventory is cached never has */
	for (i = 0; i < img->nlayers; i++) {
		for (j = 0; j < i && strcmp(img->layers[j].digest, img->layers[i].digest) != 0; j++)
			;
		if (j != i)
			continue;
		if (cs_cache_peek(g->cache, &img->layers[i].fd, img->layers[i].digest,
				  img->layers[i].size) == 0) {
			img->layers[i].unverified = 1;
			continue;
		}
		cs_err_clear();
		todo[n++] = i;
	}
	memset(&p, 0, sizeof(p));
	p.g = g;
	p.img = img;
	p.todo = todo;
	p.ntodo = n;
	atomic_init(&p.next, 0);
	atomic_init(&p.cancel, 0);
	atomic_init(&p.any, 0);
	if (parallel > n)
		parallel = (unsigned)n;
	memset(lanes, 0, sizeof(lanes));
	lanes[0].p = &p;
	lanes[0].h = g->h;
	nl = 1;
	while (nl < parallel && cs_http_clone(&lanes[nl].h, g->h) == 0) {
		lanes[nl].p = &p;
		nl++;
	}
	if (nl > 1) {
		for (i = 0; i < nl; i++)
			cs_http_set_cancel(lanes[i].h, &p.cancel);
		/* signals stay with the calling thread (but for faults, which must
		 * reach the faulting thread's handlers, such as the sanitizers') */
		sigfillset(&all);
		sigdelset(&all, SIGSEGV);
		sigdelset(&all, SIGBUS);
		sigdelset(&all, SIGFPE);
		sigdelset(&all, SIGILL);
		sigdelset(&all, SIGABRT);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (i = 1; i < nl; i++)
			lanes[i].started = pthread_create(&lanes[i].t, NULL, lane_run, &lanes[i]) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	lane_run(&lanes[0]);
	for (i = 1; i < nl; i++) {
		if (lanes[i].started)
			pthread_join(lanes[i].t, NULL);
		cs_http_free(lanes[i].h);
	}
	cs_http_set_cancel(g->h, NULL);
	*any = atomic_load(&p.any);
	if (atomic_load(&p.cancel)) {
		r = cs_err_set(p.r, "%s", p.msg);
		goto out;
	}
	/* the repeated digests: verified in the cache again (a few bytes, as a rule) */
	for (i = 0; i < img->nlayers; i++) {
		if (img->layers[i].fd >= 0)
			continue;
		if ((r = fetch_layer(g, g->h, img, i, &fetched)) != 0)
			goto out;
		*any |= fetched;
	}
out:
	free(todo);
	return r;
}

int cs_registry_open(struct cs_image *img, const char *refstr, const struct cs_source_opts *o)
{
	struct reg g;
	json_t *top = NULL, *man = NULL;
	const json_t *sel;
	char mt[128], digest[72], what[600];
	const char *dg, *dmt;
	const char *want = o->platform ? o->platform : cs_source_host_platform();
	uint64_t size;
	unsigned par;
	int r, any = 0;

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
	if ((r = cs_image_layers_init(img, man, o->lim, reg_layer, &g)) != 0)
		goto out;
	par = o->parallel ? o->parallel : PARALLEL_DEFAULT;
	if (par > PARALLEL_MAX)
		par = PARALLEL_MAX;
	r = fetch_layers(&g, img, par, &any);
	if (r != 0)
		goto out;
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
