#include "supervisor/collect/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/collect/collect.h"
#include "supervisor/sandbox/sandbox.h"

#define MAX_WARNINGS 1000   /* kept per image; the rest are counted */

struct gather {
	struct cs_inventory *inv;
	const struct cs_image *img;
	size_t warnings;
};

static json_t *copy_without(json_t *rec, const char *a, const char *b)
{
	json_t *c = json_deep_copy(rec);

	if (c != NULL) {
		json_object_del(c, "type");
		json_object_del(c, a);
		if (b != NULL)
			json_object_del(c, b);
	}
	return c;
}

static int on_record(void *vctx, enum cs_rec t, json_t *rec)
{
	struct gather *g = vctx;
	json_t *lay = json_object_get(rec, "layer");
	struct cs_layer_inv *L = NULL;
	json_t *arr = NULL;

	if (lay != NULL) {
		size_t i = (size_t)json_integer_value(lay);
		if (i >= g->inv->nlayers)
			return cs_err_set(CS_EPROTO, "record for layer %zu of %zu", i, g->inv->nlayers);
		L = &g->inv->layers[i];
	}
	switch (t) {
	case CS_REC_LAYER_BEGIN:
	case CS_REC_ERROR:
		return 0;
	case CS_REC_LAYER_END: {
		const struct cs_layer *src = &g->img->layers[json_integer_value(lay)];
		const char *di = json_string_value(json_object_get(rec, "diff_id"));
		if (strcmp(di, src->diff_id) != 0)
			return cs_err_set(CS_EDIGEST, "layer %lld (%s): its content hashes to %s, but the "
					  "image config says %s", (long long)json_integer_value(lay),
					  src->digest, di, src->diff_id);
		snprintf(L->diff_id, sizeof(L->diff_id), "%s", di);
		L->bytes = (uint64_t)json_integer_value(json_object_get(rec, "bytes"));
		L->entries = (uint64_t)json_integer_value(json_object_get(rec, "entries"));
		return 0;
	}
	case CS_REC_OS:
		arr = L->os;
		break;
	case CS_REC_PACKAGE:
		arr = L->packages;
		break;
	case CS_REC_WHITEOUT:
		arr = L->whiteouts;
		break;
	case CS_REC_FILE:
		arr = L->files;
		break;
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
	if (json_array_append_new(arr, copy_without(rec, "layer", NULL)) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
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
	}
	free(inv->layers);
	json_decref(inv->warnings);
	free(inv);
}

int cs_inventory_collect(struct cs_inventory **out, const struct cs_image *img,
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
	int *fds = NULL, r, a = 0;
	size_t i;

	*out = NULL;
	inv = calloc(1, sizeof(*inv));
	if (inv == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	inv->nlayers = img->nlayers;
	inv->layers = calloc(img->nlayers ? img->nlayers : 1, sizeof(*inv->layers));
	inv->warnings = json_array();
	fds = calloc(img->nlayers ? img->nlayers : 1, sizeof(int));
	if (inv->layers == NULL || inv->warnings == NULL || fds == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < img->nlayers; i++) {
		struct cs_layer_inv *L = &inv->layers[i];
		L->os = json_array();
		L->packages = json_array();
		L->whiteouts = json_array();
		L->warnings = json_array();
		L->files = json_array();
		if (!L->os || !L->packages || !L->whiteouts || !L->warnings || !L->files) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		fds[i] = img->layers[i].fd;
	}
	if ((r = cs_limits_format(o->lim, limits, sizeof(limits))) != 0)
		goto out;
	snprintf(nbuf, sizeof(nbuf), "%zu", img->nlayers);
	argv[a++] = "cellscan-worker";
	argv[a++] = "--layers";
	argv[a++] = nbuf;
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
	so.nfds = img->nlayers;
	so.lim = o->lim;
	so.uid = o->uid;
	so.gid = o->gid;
	so.weak = o->weak;
	if ((r = cs_sandbox_spawn(&sb, &so)) != 0)
		goto out;
	memset(&g, 0, sizeof(g));
	g.inv = inv;
	g.img = img;
	memset(&co, 0, sizeof(co));
	co.lim = o->lim;
	co.layers = img->nlayers;
	co.on_record = on_record;
	co.ctx = &g;
	r = cs_collect_run(sb, &co, &res);
out:
	cs_sandbox_free(sb);
	free(fds);
	if (r != 0) {
		cs_inventory_free(inv);
		return r;
	}
	*out = inv;
	return 0;
}
