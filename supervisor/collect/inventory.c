#include "supervisor/collect/inventory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/proto.h"
#include "common/version.h"
#include "supervisor/collect/collect.h"
#include "supervisor/sandbox/sandbox.h"

#define MAX_WARNINGS 1000   /* kept per image; the rest are counted */
#define CACHE_SCHEMA "cellscan-layer/1"
#define CACHE_MAX (256u << 20)

struct gather {
	const struct cs_inventory_opts *o;
	size_t done, cached;
	struct cs_inventory *inv;
	const struct cs_image *img;
	const size_t *map;       /* worker layer index -> image layer index */
	size_t nmap;
	size_t warnings;
};

static json_t *copy_without(json_t *rec, const char *a)
{
	json_t *c = json_deep_copy(rec);

	if (c != NULL) {
		json_object_del(c, "type");
		json_object_del(c, a);
	}
	return c;
}

/* Files one accepted record of image layer li into the inventory. */
static int file_record(struct gather *g, enum cs_rec t, json_t *rec, size_t li)
{
	struct cs_layer_inv *L = li < g->inv->nlayers ? &g->inv->layers[li] : NULL;
	json_t *arr = NULL;

	switch (t) {
	case CS_REC_OS: arr = L->os; break;
	case CS_REC_PACKAGE: arr = L->packages; break;
	case CS_REC_WHITEOUT: arr = L->whiteouts; break;
	case CS_REC_FILE: arr = L->files; break;
	case CS_REC_ANALYZED: arr = L->analyzed; break;
	case CS_REC_WARNING:
		if (g->warnings >= MAX_WARNINGS) {
			g->inv->warnings_dropped++;
			return 0;
		}
		g->warnings++;
		arr = L ? L->warnings : g->inv->warnings;
		break;
	default:
		return 0;
	}
	if (json_array_append_new(arr, copy_without(rec, "layer")) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

static int on_record(void *vctx, enum cs_rec t, json_t *rec)
{
	struct gather *g = vctx;
	json_t *lay = json_object_get(rec, "layer");
	size_t li = (size_t)-1;
	struct cs_layer_inv *L = NULL;

	if (lay != NULL) {
		size_t j = (size_t)json_integer_value(lay);
		if (j >= g->nmap)
			return cs_err_set(CS_EPROTO, "record for layer %zu of %zu", j, g->nmap);
		li = g->map[j];
		L = &g->inv->layers[li];
	}
	if (t == CS_REC_LAYER_BEGIN || t == CS_REC_ERROR)
		return 0;
	if (t == CS_REC_LAYER_END) {
		const struct cs_layer *src = &g->img->layers[li];
		const char *di = json_string_value(json_object_get(rec, "diff_id"));
		/* dir: has one pseudo-layer and no tar stream to hash */
		if ((di == NULL) != (g->img->rootfs != NULL))
			return cs_err_set(CS_EPROTO, "layer_end %s a diff_id", di ? "with" : "without");
		if (di != NULL && strcmp(di, src->diff_id) != 0)
			return cs_err_set(CS_EDIGEST, "layer %zu (%s): its content hashes to %s, but the "
					  "image config says %s", li, src->digest, di, src->diff_id);
		snprintf(L->diff_id, sizeof(L->diff_id), "%s", di ? di : "");
		L->bytes = (uint64_t)json_integer_value(json_object_get(rec, "bytes"));
		L->entries = (uint64_t)json_integer_value(json_object_get(rec, "entries"));
		if (g->o != NULL && g->o->progress != NULL)
			g->o->progress(g->o->progress_ctx, ++g->done, g->inv->nlayers, g->cached);
		return 0;
	}
	if (L != NULL && json_array_append(L->records, rec) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return file_record(g, t, rec, li);
}

void cs_inventory_free(struct cs_inventory *inv)
{
	size_t i;

	if (inv == NULL)
		return;
	for (i = 0; i < inv->nlayers; i++) {
		json_decref(inv->layers[i].os);
		json_decref(inv->layers[i].packages);
		json_decref(inv->layers[i].whiteouts);
		json_decref(inv->layers[i].warnings);
		json_decref(inv->layers[i].files);
		json_decref(inv->layers[i].analyzed);
		json_decref(inv->layers[i].records);
	}
	free(inv->layers);
	json_decref(inv->warnings);
	free(inv);
}

/* --- the layer cache ------------------------------------------------------ */

static int cache_path(char *out, size_t n, const struct cs_inventory_opts *o, const char *diff_id)
{
	char base[4096];
	int r;

	if (o->cache_dir != NULL)
		snprintf(base, sizeof(base), "%s", o->cache_dir);
	else if ((r = cs_cache_default_dir(base, sizeof(base))) != 0)
		return r;
	if ((size_t)snprintf(out, n, "%s/layers/%s%s.json", base, diff_id + 7,
			     o->files ? "-files" : "") >= n)
		return cs_err_set(CS_EINVAL, "cache path too long");
	return 0;
}

static int mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Loads a cached layer; 1 on a hit, 0 on a miss (absent, stale, invalid). */
static int cache_load(struct gather *g, size_t li, const struct cs_inventory_opts *o)
{
	char path[4200];
	json_t *doc, *recs, *rec;
	json_error_t je;
	struct cs_layer_inv *L = &g->inv->layers[li];
	const char *diff_id = g->img->layers[li].diff_id;
	size_t i;
	struct stat st;

	if (cache_path(path, sizeof(path), o, diff_id) != 0)
		return 0;
	if (stat(path, &st) != 0 || st.st_size > CACHE_MAX)
		return 0;
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return 0;
	recs = json_object_get(doc, "records");
	/* everything in it is checked as if a worker had just sent it */
	if (!json_is_string(json_object_get(doc, "schema")) ||
	    strcmp(json_string_value(json_object_get(doc, "schema")), CACHE_SCHEMA) != 0 ||
	    !json_is_string(json_object_get(doc, "analyzers")) ||
	    strcmp(json_string_value(json_object_get(doc, "analyzers")), CS_ANALYZERS_VERSION) != 0 ||
	    !json_is_string(json_object_get(doc, "diff_id")) ||
	    strcmp(json_string_value(json_object_get(doc, "diff_id")), diff_id) != 0 ||
	    !json_is_integer(json_object_get(doc, "bytes")) ||
	    !json_is_integer(json_object_get(doc, "entries")) || !json_is_array(recs)) {
		json_decref(doc);
		return 0;
	}
	json_array_foreach(recs, i, rec) {
		enum cs_rec t;
		json_t *lay = json_object_get(rec, "layer");
		if (cs_proto_check(&t, rec) != 0 || lay == NULL || json_integer_value(lay) != 0 ||
		    (t != CS_REC_OS && t != CS_REC_PACKAGE && t != CS_REC_WHITEOUT &&
		     t != CS_REC_WARNING && t != CS_REC_FILE && t != CS_REC_ANALYZED)) {
			json_decref(doc);
			return -1;   /* tampered or corrupt: never half-used */
		}
	}
	json_array_foreach(recs, i, rec) {
		enum cs_rec t;
		cs_proto_check(&t, rec);
		if (file_record(g, t, rec, li) != 0) {
			json_decref(doc);
			return -1;
		}
		json_array_append(L->records, rec);
	}
	snprintf(L->diff_id, sizeof(L->diff_id), "%s", diff_id);
	L->bytes = (uint64_t)json_integer_value(json_object_get(doc, "bytes"));
	L->entries = (uint64_t)json_integer_value(json_object_get(doc, "entries"));
	L->cached = 1;
	json_decref(doc);
	return 1;
}

static void cache_store(const struct cs_layer_inv *L, const struct cs_inventory_opts *o)
{
	char path[4200], tmp[4300];
	json_t *doc, *recs, *rec;
	size_t i;
	int fd;

	if (cache_path(path, sizeof(path), o, L->diff_id) != 0)
		return;
	recs = json_array();
	json_array_foreach(L->records, i, rec) {
		json_t *c = json_deep_copy(rec);
		json_object_set_new(c, "layer", json_integer(0));
		json_array_append_new(recs, c);
	}
	doc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "schema", CACHE_SCHEMA, "analyzers",
			CS_ANALYZERS_VERSION, "diff_id", L->diff_id, "bytes", (json_int_t)L->bytes,
			"entries", (json_int_t)L->entries, "records", recs);
	if (doc == NULL || mkdirs(path) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* written whole, synced, then renamed: readers see all or nothing */
	if (json_dumpfd(doc, fd, JSON_COMPACT) != 0 || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0)
		unlink(tmp);
out:
	json_decref(doc);
}

int cs_inventory_collect(struct cs_inventory **out, struct cs_image *img,
			 const struct cs_inventory_opts *o)
{
	struct cs_inventory *inv;
	struct cs_sandbox *sb = NULL;
	struct cs_sandbox_opts so;
	struct cs_collect_opts co;
	struct cs_collect_result res;
	struct gather g;
	char nbuf[24], limits[1024];
	const char *argv[10];
	int *fds = NULL, r = 0, a = 0;
	size_t i, *map = NULL, nmap = 0;

	*out = NULL;
	inv = calloc(1, sizeof(*inv));
	if (inv == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	inv->nlayers = img->nlayers;
	inv->layers = calloc(img->nlayers ? img->nlayers : 1, sizeof(*inv->layers));
	inv->warnings = json_array();
	fds = calloc(img->nlayers ? img->nlayers : 1, sizeof(int));
	map = calloc(img->nlayers ? img->nlayers : 1, sizeof(size_t));
	if (inv->layers == NULL || inv->warnings == NULL || fds == NULL || map == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	memset(&g, 0, sizeof(g));
	g.inv = inv;
	g.img = img;
	g.map = map;
	for (i = 0; i < img->nlayers; i++) {
		struct cs_layer_inv *L = &inv->layers[i];
		L->os = json_array();
		L->packages = json_array();
		L->whiteouts = json_array();
		L->warnings = json_array();
		L->files = json_array();
		L->analyzed = json_array();
		L->records = json_array();
		if (!L->os || !L->packages || !L->whiteouts || !L->warnings || !L->files ||
		    !L->analyzed || !L->records) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		if (!o->no_cache && img->rootfs == NULL && cache_load(&g, i, o) == 1)
			continue;
		/* a half-loaded layer is emptied and streamed again */
		json_array_clear(L->os);
		json_array_clear(L->packages);
		json_array_clear(L->whiteouts);
		json_array_clear(L->warnings);
		json_array_clear(L->files);
		json_array_clear(L->analyzed);
		json_array_clear(L->records);
		if ((r = cs_image_layer_fd(img, i, &fds[nmap])) != 0)
			goto out;
		map[nmap++] = i;
	}
	g.nmap = nmap;
	g.o = o;
	g.done = g.cached = img->nlayers - nmap;
	if (o->progress != NULL && g.cached > 0)
		o->progress(o->progress_ctx, g.done, img->nlayers, g.cached);
	if (nmap == 0)
		goto out;   /* every layer cached: no worker at all */
	if ((r = cs_limits_format(o->lim, limits, sizeof(limits))) != 0)
		goto out;
	snprintf(nbuf, sizeof(nbuf), "%zu", nmap);
	argv[a++] = "cellscan-worker";
	if (img->rootfs != NULL) {
		argv[a++] = "--rootfs";
	} else {
		argv[a++] = "--layers";
		argv[a++] = nbuf;
	}
	argv[a++] = "--limits";
	argv[a++] = limits;
	if (o->files)
		argv[a++] = "--files";
	if (o->weak)
		argv[a++] = "--weak";
	argv[a] = NULL;

	memset(&so, 0, sizeof(so));
	so.worker = o->worker;
	so.argv = argv;
	so.fds = fds;
	so.nfds = img->rootfs != NULL ? 0 : nmap;
	so.rootfs = img->rootfs;
	so.lim = o->lim;
	so.uid = o->uid;
	so.gid = o->gid;
	so.weak = o->weak;
	if ((r = cs_sandbox_spawn(&sb, &so)) != 0)
		goto out;
	memset(&co, 0, sizeof(co));
	co.lim = o->lim;
	co.layers = nmap;
	co.on_record = on_record;
	co.ctx = &g;
	r = cs_collect_run(sb, &co, &res);
	inv->worker_ran = 1;
	inv->worker_max_rss_kb = res.end.max_rss_kb;
	inv->worker_cpu_seconds = res.end.cpu_seconds;
	if (r == 0 && !o->no_cache && img->rootfs == NULL)
		for (i = 0; i < nmap; i++)
			cache_store(&inv->layers[map[i]], o);
out:
	cs_sandbox_free(sb);
	free(fds);
	free(map);
	if (r != 0) {
		cs_inventory_free(inv);
		return r;
	}
	*out = inv;
	return 0;
}
