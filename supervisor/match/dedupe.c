/*
 * dedupe.c - one finding per vulnerability per package.
 *
 * A finding's identity is its record id, the record's aliases (OSV: the same
 * vulnerability under another id) and its upstream list when that list names
 * a single vulnerability ("CVE-2022-1292" and "DEBIAN-CVE-2022-1292" are one;
 * a DSA fixing three CVEs is three and is not used, or it would chain
 * unrelated vulnerabilities together). Findings of the same package whose
 * identities overlap, directly or through others, become one.
 */
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/match/match_internal.h"

struct item {
	char *pkey;       /* the package, serialised with sorted keys */
	size_t idx;       /* position in the input */
	size_t parent;    /* union-find, as an index into items */
	json_t *ids;      /* identity strings (array) */
};

static int cmp_items(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = x->pkey != NULL && y->pkey != NULL ? strcmp(x->pkey, y->pkey) : 0;

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t find(struct item *it, size_t i)
{
	while (it[i].parent != i) {
		it[i].parent = it[it[i].parent].parent;
		i = it[i].parent;
	}
	return i;
}

static void unite(struct item *it, size_t a, size_t b)
{
	a = find(it, a);
	b = find(it, b);
	/* The earliest finding stays the root: order of first appearance. */
	if (a == b)
		return;
	if (it[a].idx < it[b].idx)
		it[b].parent = a;
	else
		it[a].parent = b;
}

static int has_str(const json_t *a, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), s) == 0)
			return 1;
	return 0;
}

static int add_str(json_t *a, const char *s)
{
	if (s == NULL || *s == '\0' || has_str(a, s))
		return 0;
	return json_array_append_new(a, json_string(s));
}

const char *cs_match_vuln_of(const char *s)
{
	const char *c = strstr(s, "CVE-");

	return c != NULL ? c : s;
}

static json_t *identity(const json_t *f)
{
	json_t *ids = json_array(), *a;
	const char *one = NULL;
	size_t i;
	int single = 1;

	if (ids == NULL)
		return NULL;
	add_str(ids, cs_match_jstr(f, "id"));
	a = json_object_get(f, "aliases");
	for (i = 0; i < json_array_size(a); i++)
		add_str(ids, json_string_value(json_array_get(a, i)));
	a = json_object_get(f, "upstream");
	for (i = 0; i < json_array_size(a); i++) {
		const char *u = json_string_value(json_array_get(a, i));

		if (u == NULL)
			continue;
		if (one == NULL)
			one = cs_match_vuln_of(u);
		else if (strcmp(one, cs_match_vuln_of(u)) != 0)
			single = 0;
	}
	for (i = 0; single && one != NULL && i < json_array_size(a); i++) {
		const char *u = json_string_value(json_array_get(a, i));

		if (u != NULL) {
			add_str(ids, u);
			add_str(ids, cs_match_vuln_of(u));
		}
	}
	return ids;
}

/* Unites the items of [g0, g1) whose identities share a string: every
 * string remembers the first item that had it (a hash map, so a package
 * with thousands of findings costs no quadratic pass). */
static int unite_overlapping(struct item *it, size_t g0, size_t g1)
{
	json_t *first = json_object();
	size_t i, k;

	if (first == NULL)
		return -1;
	for (i = g0; i < g1; i++)
		for (k = 0; k < json_array_size(it[i].ids); k++) {
			const char *s = json_string_value(json_array_get(it[i].ids, k));
			json_t *at = json_object_get(first, s);

			if (at != NULL) {
				unite(it, (size_t)json_integer_value(at), i);
			} else if (json_object_set_new(first, s, json_integer((json_int_t)i)) != 0) {
				json_decref(first);
				return -1;
			}
		}
	json_decref(first);
	return 0;
}

/* CVE first, then GHSA (smallest of each for a stable choice), else the
 * earliest finding's own id. */
static const char *primary_of(const json_t *ids, const char *fallback)
{
	static const char *const pref[] = {"CVE-", "GHSA-"};
	const char *best;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		best = NULL;
		for (i = 0; i < json_array_size(ids); i++) {
			const char *s = json_string_value(json_array_get(ids, i));

			if (strncmp(s, pref[k], strlen(pref[k])) == 0 && (best == NULL || strcmp(s, best) < 0))
				best = s;
		}
		if (best != NULL)
			return best;
	}
	return fallback;
}

static int union_equal(json_t *into, const json_t *from)
{
	size_t i, j;

	for (i = 0; i < json_array_size(from); i++) {
		json_t *x = json_array_get(from, i);

		for (j = 0; j < json_array_size(into); j++)
			if (json_equal(json_array_get(into, j), x))
				break;
		if (j == json_array_size(into) && json_array_append_new(into, json_deep_copy(x)) != 0)
			return -1;
	}
	return 0;
}

/* Folds member m into base b (both findings of one package and vulnerability). */
static int fold(json_t *b, const json_t *m, json_t *ids, json_t *advisories, json_t *merged)
{
	const char *bf = cs_match_jstr(b, "fixed_version"), *mf = cs_match_jstr(m, "fixed_version");
	const char *bs = cs_match_jstr(b, "fix_state"), *ms = cs_match_jstr(m, "fix_state");
	enum cs_verscheme s;
	json_t *e;
	int c;

	if (add_str(advisories, cs_match_jstr(json_object_get(m, "advisory"), "id")) != 0)
		return -1;
	(void)ids;
	e = json_pack("{s:O?, s:O?, s:O?, s:O?}", "advisory", json_object_get(m, "advisory"), "match",
		      json_object_get(m, "match"), "fixed_version", json_object_get(m, "fixed_version"), "fix_state",
		      json_object_get(m, "fix_state"));
	if (e == NULL || json_array_append_new(merged, e) != 0)
		return -1;
	/* The package is free of the vulnerability only past every fix. */
	if (mf != NULL && (bf == NULL ||
			   (cs_verscheme_for_ecosystem(&s, cs_match_jstr(b, "ecosystem")) == 0 &&
			    cs_vercmp_flags(&c, s, mf, bf, CS_VERCMP_LENIENT) == 0 && c > 0))) {
		if (json_object_set_new(b, "fixed_version", json_string(mf)) != 0)
			return -1;
	}
	if (cs_match_jstr(b, "fixed_version") != NULL)
		bs = "fixed";
	else if ((bs != NULL && strcmp(bs, "will-not-fix") == 0) || (ms != NULL && strcmp(ms, "will-not-fix") == 0))
		bs = "will-not-fix";
	else
		bs = "not-fixed";
	if (json_object_set_new(b, "fix_state", json_string(bs)) != 0)
		return -1;
	if (strcmp(bs, "will-not-fix") != 0)
		json_object_del(b, "fix_state_reason");
	else if (json_object_get(b, "fix_state_reason") == NULL && json_object_get(m, "fix_state_reason") != NULL)
		json_object_set(b, "fix_state_reason", json_object_get(m, "fix_state_reason"));
	if (union_equal(json_object_get(b, "severity"), json_object_get(m, "severity")) != 0 ||
	    union_equal(json_object_get(b, "distro_severity"), json_object_get(m, "distro_severity")) != 0)
		return -1;
	return 0;
}

static int dedupe(json_t *findings, int one_package)
{
	struct item *it = NULL;
	json_t *out = NULL;
	size_t n, i, g0, g1;
	int r = CS_ENOMEM;

	if (findings == NULL || !json_is_array(findings))
		return cs_err_set(CS_EINVAL, "findings is not an array");
	n = json_array_size(findings);
	if (n < 2)
		return 0;
	it = calloc(n, sizeof(*it));
	if (it == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		json_t *f = json_array_get(findings, i);

		if (!json_is_object(f) || cs_match_jstr(f, "id") == NULL) {
			r = cs_err_set(CS_EINVAL, "finding %zu is not a finding object", i);
			goto out;
		}
		it[i].idx = i;
		if (!one_package &&
		    (it[i].pkey = json_dumps(json_object_get(f, "package"),
					     JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			goto out;
		it[i].ids = identity(f);
		if (it[i].ids == NULL)
			goto out;
	}
	qsort(it, n, sizeof(*it), cmp_items);
	for (i = 0; i < n; i++)
		it[i].parent = i;
	for (g0 = 0; g0 < n; g0 = g1) {
		for (g1 = g0 + 1; g1 < n && (it[g0].pkey == NULL || strcmp(it[g1].pkey, it[g0].pkey) == 0); g1++)
			;
		if (unite_overlapping(it, g0, g1) != 0)
			goto out;
	}

	/* Build each group on its root, then keep the roots in input order. */
	out = json_array();
	if (out == NULL)
		goto out;
	{
		size_t *root_at = malloc(n * sizeof(*root_at));
		json_t **merged = calloc(n, sizeof(*merged));

		if (root_at == NULL || merged == NULL) {
			free(root_at);
			free(merged);
			goto out;
		}
		for (i = 0; i < n; i++)
			root_at[it[i].idx] = i;
		for (i = 0; i < n; i++) {
			size_t rt = find(it, i);
			json_t *base, *ids, *advs, *mg;

			if (rt == i)
				continue;
			if (merged[rt] == NULL) {
				merged[rt] = json_deep_copy(json_array_get(findings, it[rt].idx));
				if (merged[rt] == NULL)
					break;
				json_object_set_new(merged[rt], "advisories", json_array());
				json_object_set_new(merged[rt], "merged", json_array());
				add_str(json_object_get(merged[rt], "advisories"),
					cs_match_jstr(json_object_get(merged[rt], "advisory"), "id"));
			}
			base = merged[rt];
			ids = it[rt].ids;
			advs = json_object_get(base, "advisories");
			mg = json_object_get(base, "merged");
			if (union_equal(ids, it[i].ids) != 0 ||
			    fold(base, json_array_get(findings, it[i].idx), ids, advs, mg) != 0) {
				merged[rt] = NULL;
				json_decref(base);
				break;
			}
		}
		r = i < n ? CS_ENOMEM : 0;
		for (i = 0; r == 0 && i < n; i++) {
			size_t k = root_at[i];
			json_t *f;

			if (find(it, k) != k)
				continue;
			if (merged[k] != NULL) {
				const char *old = cs_match_jstr(merged[k], "id");
				const char *prim = primary_of(it[k].ids, old);
				json_t *al = json_array();
				size_t a;

				for (a = 0; al != NULL && a < json_array_size(it[k].ids); a++) {
					const char *s = json_string_value(json_array_get(it[k].ids, a));

					if (strcmp(s, prim) != 0)
						add_str(al, s);
				}
				if (al == NULL || json_object_set_new(merged[k], "aliases", al) != 0 ||
				    json_object_set_new(merged[k], "id", json_string(prim)) != 0)
					r = CS_ENOMEM;
				f = merged[k];
				merged[k] = NULL;
			} else {
				f = json_incref(json_array_get(findings, it[k].idx));
			}
			if (r == 0 && json_array_append_new(out, f) != 0)
				r = CS_ENOMEM;
			else if (r != 0)
				json_decref(f);
		}
		for (i = 0; i < n; i++)
			json_decref(merged[i]);
		free(root_at);
		free(merged);
	}
	if (r != 0)
		goto out;
	if (json_array_clear(findings) != 0 || json_array_extend(findings, out) != 0)
		r = CS_ENOMEM;
out:
	if (it != NULL)
		for (i = 0; i < n; i++) {
			free(it[i].pkey);
			json_decref(it[i].ids);
		}
	free(it);
	json_decref(out);
	return r == 0 ? 0 : r == CS_ENOMEM ? cs_err_set(r, "out of memory merging findings") : r;
}

int cs_match_dedupe(json_t *findings)
{
	return dedupe(findings, 0);
}

int cs_match_dedupe_one(json_t *findings)
{
	return dedupe(findings, 1);
}
