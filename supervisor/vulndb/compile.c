/*
 * compile.c - the compiled form of a record as the database stores it: the
 * matcher's header, and one row per (ecosystem, package key) its affected[]
 * entries name (supervisor/match/match.h, "Compiled records"). Runs on the
 * import's reader thread, so the merging thread only writes.
 */
#include "supervisor/vulndb/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/match/match.h"

struct tuple {
	char base[CS_VULNDB_MAX_NAME + 1];
	char key[CS_VULNDB_MAX_NAME + 1];
	const char *full;
	size_t index;
};

static int cmp_tuple(const void *a, const void *b)
{
	const struct tuple *x = *(const struct tuple *const *)a, *y = *(const struct tuple *const *)b;
	int c;

	if ((c = strcmp(x->base, y->base)) != 0 || (c = strcmp(x->key, y->key)) != 0 ||
	    (c = strcmp(x->full, y->full)) != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

void cs_vulndb_compiled_free(struct cs_vulndb_compiled *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nrows; i++) {
		free(c->rows[i].base);
		free(c->rows[i].key);
		free(c->rows[i].full);
		free(c->rows[i].prog);
	}
	free(c->rows);
	free(c->hdr);
	memset(c, 0, sizeof(*c));
}

static int add_row(struct cs_vulndb_compiled *c, const json_t *rec, struct tuple **t, size_t n,
		   size_t *idx)
{
	struct cs_vulndb_crow *w = &c->rows[c->nrows];
	struct cs_buf b;
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		idx[i] = t[i]->index;
	cs_buf_init(&b, CS_VULNDB_MAX_RECORD * 4u);
	if ((r = cs_match_compile_row(&b, rec, idx, n)) != 0) {
		cs_buf_free(&b);
		return r;
	}
	memset(w, 0, sizeof(*w));
	w->base = strdup(t[0]->base);
	w->key = strdup(t[0]->key);
	w->full = strdup(t[0]->full);
	w->len = b.len;
	w->prog = b.data;   /* handed over */
	c->nrows++;
	if (w->base == NULL || w->key == NULL || w->full == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

int cs_vulndb_compile(struct cs_vulndb_compiled *c, const json_t *rec)
{
	const json_t *affected = json_object_get(rec, "affected"), *v;
	struct tuple *t = NULL, **order = NULL;
	size_t n = json_array_size(affected), m = 0, i, g0, g1, *idx = NULL;
	struct cs_buf hb;
	int r;

	memset(c, 0, sizeof(*c));
	cs_buf_init(&hb, CS_VULNDB_MAX_RECORD * 4u);
	if ((r = cs_match_compile_header(&hb, rec)) != 0) {
		cs_buf_free(&hb);
		return r;
	}
	c->hdr = hb.data;
	c->hlen = hb.len;
	if (n == 0)
		return 0;
	t = malloc(n * sizeof(*t));
	order = malloc(n * sizeof(*order));
	idx = malloc(n * sizeof(*idx));
	c->rows = calloc(n, sizeof(*c->rows));
	if (t == NULL || order == NULL || idx == NULL || c->rows == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(affected, i, v) {
		const json_t *pkg = json_object_get(v, "package");
		const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
		const char *name = json_string_value(json_object_get(pkg, "name"));

		if (eco == NULL || name == NULL)
			continue;   /* GIT-only entry: nothing to look up by */
		if ((r = cs_vulndb_ecosystem_base(t[m].base, sizeof(t[m].base), eco)) != 0 ||
		    (r = cs_vulndb_package_key(t[m].key, sizeof(t[m].key), eco, name)) != 0)
			goto out;
		t[m].full = eco;
		t[m].index = i;
		order[m] = &t[m];
		m++;
	}
	qsort(order, m, sizeof(*order), cmp_tuple);
	for (g0 = 0; g0 < m; g0 = g1) {
		for (g1 = g0 + 1; g1 < m && strcmp(order[g1]->base, order[g0]->base) == 0 &&
		     strcmp(order[g1]->key, order[g0]->key) == 0 && strcmp(order[g1]->full, order[g0]->full) == 0;
		     g1++)
			;
		if ((r = add_row(c, rec, order + g0, g1 - g0, idx)) != 0)
			goto out;
	}
	r = 0;
out:
	free(t);
	free(order);
	free(idx);
	if (r != 0)
		cs_vulndb_compiled_free(c);
	return r;
}
