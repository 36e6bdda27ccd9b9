/*
 * Layer merge: the image's inventory from its layers' records.
 *
 * Every analysed file (a package database, an os-release) is tracked by its
 * path through the layers in order. In each layer, its whiteouts apply first
 * (they speak about lower layers only, as the OCI image spec says): a plain
 * whiteout removes that path and everything below it, an opaque one
 * everything below its directory. Then each file the layer's analyzers read
 * replaces the lower copy whole, packages and all, even when it yields no
 * package (an emptied database). A package keeps the layer it was introduced
 * in as long as every replacement of its database still lists it with the
 * same version; otherwise the replacing layer introduced it.
 */
#include "supervisor/collect/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

/* Precedence of OS identity sources: os-release, then distribution files. */
static const char *const os_sources[] = {
	"etc/os-release", "usr/lib/os-release", "etc/alpine-release", "etc/redhat-release",
	"etc/centos-release", "etc/system-release", "etc/debian_version", NULL,
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* kind|name|arch|epoch|version: "the same package at the same version" */
static void pkg_key(char *out, size_t n, const json_t *p)
{
	snprintf(out, n, "%s|%s|%s|%lld|%s", str(p, "kind"), str(p, "name"), str(p, "arch"),
		 (long long)json_integer_value(json_object_get(p, "epoch")), str(p, "version"));
}

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return path[0] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Applies one layer's whiteouts to the tracked files. */
static void apply_whiteouts(json_t *state, const json_t *whiteouts)
{
	size_t i;
	json_t *w;

	json_array_foreach(whiteouts, i, w) {
		const char *wp = str(w, "path");
		int opaque = json_is_true(json_object_get(w, "opaque"));
		const char *k;
		json_t *v;
		void *tmp;

		json_object_foreach_safe(state, tmp, k, v) {
			if (under(k, wp) || (!opaque && strcmp(k, wp) == 0))
				json_object_del(state, k);
		}
	}
}

static json_t *entry_for(json_t *fresh, const char *path, size_t layer)
{
	json_t *e = json_object_get(fresh, path);

	if (e == NULL) {
		e = json_pack("{s:I, s:[], s:[]}", "layer", (json_int_t)layer, "packages", "os");
		if (e == NULL || json_object_set_new(fresh, path, e) != 0)
			return NULL;
	}
	return e;
}

static int cmp_pkg(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *ks[] = { "kind", "name", "arch", "version", "db" };
	size_t i;
	int c;

	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		if ((c = strcmp(str(x, ks[i]), str(y, ks[i]))) != 0)
			return c;
	return 0;
}

int cs_inventory_merge(json_t **out, const struct cs_inventory *inv, const struct cs_image *img)
{
	json_t *state = json_object(), *doc = NULL, *pkgs = NULL, *layers = NULL, *warnings = NULL;
	json_t **sorted = NULL;
	const json_t *os = NULL;
	size_t i, j, n = 0, cap = 0;
	const char *k;
	json_t *v;
	int r = 0;

	*out = NULL;
	if (state == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (i = 0; i < inv->nlayers; i++) {
		const struct cs_layer_inv *L = &inv->layers[i];
		json_t *fresh = json_object(), *rec;

		if (fresh == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		apply_whiteouts(state, L->whiteouts);
		json_array_foreach(L->analyzed, j, rec)
			entry_for(fresh, str(rec, "path"), i);
		json_array_foreach(L->packages, j, rec) {
			json_t *e = entry_for(fresh, str(rec, "db"), i);
			json_t *p = json_deep_copy(rec);
			if (e == NULL || p == NULL) {
				json_decref(p);
				json_decref(fresh);
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			json_array_append_new(json_object_get(e, "packages"), p);
		}
		json_array_foreach(L->os, j, rec) {
			json_t *e = entry_for(fresh, str(rec, "source"), i);
			if (e != NULL)
				json_array_append(json_object_get(e, "os"), rec);
		}
		/* carry each package's introducing layer across replacements */
		json_object_foreach(fresh, k, v) {
			json_t *prev = json_object_get(state, k), *p, *q;
			size_t a, b;
			char key[2048], pk[2048];

			json_array_foreach(json_object_get(v, "packages"), a, p) {
				json_int_t intro = (json_int_t)i;
				pkg_key(key, sizeof(key), p);
				if (prev != NULL) {
					json_array_foreach(json_object_get(prev, "packages"), b, q) {
						pkg_key(pk, sizeof(pk), q);
						if (strcmp(key, pk) == 0) {
							intro = json_integer_value(json_object_get(q, "layer"));
							break;
						}
					}
				}
				json_object_set_new(p, "layer", json_integer(intro));
			}
			json_object_set(state, k, v);
		}
		json_decref(fresh);
	}

	/* The image's packages, in a stable order. */
	json_object_foreach(state, k, v) {
		json_t *p;
		json_array_foreach(json_object_get(v, "packages"), j, p) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				json_t **ns = realloc(sorted, nc * sizeof(*ns));
				if (ns == NULL) {
					r = cs_err_set(CS_ENOMEM, "out of memory");
					goto out;
				}
				sorted = ns;
				cap = nc;
			}
			sorted[n++] = p;
		}
	}
	if (n > 0)
		qsort(sorted, n, sizeof(*sorted), cmp_pkg);
	pkgs = json_array();
	for (i = 0; pkgs != NULL && i < n; i++) {
		json_t *p = json_deep_copy(sorted[i]);
		size_t li = (size_t)json_integer_value(json_object_get(p, "layer"));
		if (li < inv->nlayers)
			json_object_set_new(p, "layer_diff_id", json_string(inv->layers[li].diff_id));
		json_array_append_new(pkgs, p);
	}
	for (i = 0; os_sources[i] != NULL && os == NULL; i++) {
		json_t *e = json_object_get(state, os_sources[i]);
		if (e != NULL && json_array_size(json_object_get(e, "os")) > 0) {
			json_t *o = json_deep_copy(json_array_get(json_object_get(e, "os"), 0));
			json_object_set_new(o, "layer", json_integer(json_integer_value(
								json_object_get(e, "layer"))));
			os = o;
		}
	}
	layers = json_array();
	warnings = json_deep_copy(inv->warnings);
	for (i = 0; layers != NULL && warnings != NULL && i < inv->nlayers; i++) {
		const struct cs_layer_inv *L = &inv->layers[i];
		const struct cs_layer *src = &img->layers[i];
		json_t *w;

		json_array_append_new(layers, json_pack(
			"{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:I}", "index", (json_int_t)i,
			"digest", src->digest, "diff_id", L->diff_id, "media_type", src->media_type,
			"size", (json_int_t)src->size, "bytes", (json_int_t)L->bytes,
			"entries", (json_int_t)L->entries, "cached", L->cached,
			"packages", (json_int_t)json_array_size(L->packages)));
		json_array_foreach(L->warnings, j, w) {
			json_t *c = json_deep_copy(w);
			json_object_set_new(c, "layer", json_integer((json_int_t)i));
			json_array_append_new(warnings, c);
		}
	}
	if (pkgs == NULL || layers == NULL || warnings == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (inv->warnings_dropped > 0)
		json_array_append_new(warnings, json_pack("{s:s, s:s}", "code", "warnings-dropped",
				      "message", "more warnings than the 1000 kept per image"));
	doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o}",
			"schema", "cellscan-inventory/1",
			"image", "ref", img->ref, "name", img->name ? img->name : img->ref,
			"manifest_digest", img->manifest_digest, "config_digest", img->config_digest,
			"platform", img->platform,
			"os", os ? (json_t *)os : json_null(), "packages", pkgs, "layers", layers,
			"warnings", warnings);
	os = NULL;
	pkgs = layers = warnings = NULL;
	if (doc == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	json_decref(state);
	json_decref((json_t *)os);
	json_decref(pkgs);
	json_decref(layers);
	json_decref(warnings);
	free(sorted);
	if (r == 0)
		*out = doc;
	return r;
}
