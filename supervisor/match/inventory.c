/*
 * inventory.c - cs_match_run() / cs_match_inventory(): every package of an
 * image against a database of compiled records (match.h, "Compiled
 * records"), in phases: every look-up key interned, then loaded in key
 * order; every package evaluated; the matched records' headers read in
 * file order and the merge decisions taken; only then the JSON findings.
 *
 * Work per scan, not per (package, record) pair: each (ecosystem, name) key
 * is looked up once and its rows kept (every binary of a Debian source
 * package shares them); each record header is read once and its JSON parts
 * (aliases, severity, upstream) made once and shared by the findings that
 * cite it. The rows and headers live in one arena freed at the end. The
 * evaluation itself (cs_match_eval_rows) allocates nothing; JSON is built
 * only for a match.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/match/match_internal.h"

/* ---- an arena ------------------------------------------------------------ */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *head;
};

#define ARENA_CHUNK (1u << 20)

static void *arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t al = (n + 15) & ~(size_t)15;

	if (n > SIZE_MAX / 2)
		return NULL;
	if (c == NULL || c->cap - c->used < al) {
		size_t cap = al > ARENA_CHUNK ? al : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	c->used += al;
	return c->data + c->used - al;
}

static void *arena_dup(struct arena *a, const void *p, size_t n)
{
	void *d = arena_alloc(a, n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

static void arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
}

/* ---- the rows of one key, and the header of one record ------------------- */

struct rowref {
	long long rec;
	const char *id;       /* the record id in the row (for ordering) */
	const uint8_t *blob;
	size_t len;
};

static int cmp_rowref(const void *a, const void *b)
{
	const struct rowref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

struct keyent {
	const char *key;      /* ecosystem NUL name NUL */
	size_t klen;
	uint64_t hash;
	struct rowref *rows;  /* after loading */
	size_t n;
	size_t idx;           /* in the order first asked for */
};

struct hdrent {
	long long rec;
	int err;              /* 0, or the error reading it gave */
	struct cs_match_header h;
	struct cs_match_recjson rj;
};

/* Open addressing over pointers; the hash is kept by the caller's entry. */
struct table {
	void **slot;
	size_t cap, n;        /* cap: a power of two */
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	while (n-- > 0)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static uint64_t hash_rec(long long rec)
{
	uint64_t x = (uint64_t)rec;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static int table_grow(struct table *t, uint64_t (*hash)(const void *))
{
	size_t cap = t->cap ? t->cap * 2 : 1024, i;
	void **s = calloc(cap, sizeof(*s));

	if (s == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		size_t j;

		if (t->slot[i] == NULL)
			continue;
		for (j = hash(t->slot[i]) & (cap - 1); s[j] != NULL; j = (j + 1) & (cap - 1))
			;
		s[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	return 0;
}

static uint64_t key_hash(const void *e) { return ((const struct keyent *)e)->hash; }
static uint64_t hdr_hash(const void *e) { return hash_rec(((const struct hdrent *)e)->rec); }

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t nc;
	void *q;

	if (need <= *cap)
		return 0;
	nc = need < 64 ? 64 : need * 2;
	if (nc > SIZE_MAX / size || (q = realloc(*p, nc * size)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	*p = q;
	*cap = nc;
	return 0;
}

static int bad_record(json_t *notes, const char *id, const char *why)
{
	json_t *o = json_pack("{s:s, s:s}", "id", id != NULL ? id : "?", "reason", why);

	if (o == NULL || json_array_append_new(notes, o) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

/* Appends the package's findings to findings; *merge is set when two of
 * them describe the same vulnerability (merged later, see
 * merge_findings()). */
/* ---- one package ---------------------------------------------------------- */

struct prow {
	long long rec;
	size_t seq;           /* order of arrival */
	size_t first;         /* seq of the record's first row (set after sorting) */
	const struct rowref *row;
};

static int cmp_rec_seq(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;

	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_first_seq(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct ident {
	const char *s;
	size_t owner;
};

static int cmp_ident(const void *a, const void *b)
{
	return strcmp(((const struct ident *)a)->s, ((const struct ident *)b)->s);
}

/* 1 when two of the package's findings share an identity string (then the
 * JSON merge runs), 0 when none do, -1 out of memory. */
static int identities_overlap(struct hdrent *const *hs, size_t n)
{
	struct ident *v = NULL;
	size_t cap = 0, m = 0, i;
	int res = 0;

	for (i = 0; i < n; i++) {
		const struct cs_match_header *h = &hs[i]->h;
		struct cs_match_rd r = h->aliases;
		const char *one = NULL, *x;
		uint32_t k, need = 1 + h->naliases + 2 * h->nupstream;
		int single = 1;

		if (m + need > cap) {
			size_t nc = (m + need) * 2;
			struct ident *p = realloc(v, nc * sizeof(*v));

			if (p == NULL) {
				free(v);
				return -1;
			}
			v = p;
			cap = nc;
		}
		v[m++] = (struct ident){h->id, i};
		for (k = 0; k < h->naliases; k++)
			if ((x = cs_match_rd_str(&r)) != NULL)
				v[m++] = (struct ident){x, i};
		r = h->upstream;
		for (k = 0; k < h->nupstream; k++) {
			x = cs_match_rd_str(&r);
			if (x == NULL)
				continue;
			if (one == NULL)
				one = cs_match_vuln_of(x);
			else if (strcmp(one, cs_match_vuln_of(x)) != 0)
				single = 0;
		}
		r = h->upstream;
		for (k = 0; single && one != NULL && k < h->nupstream; k++) {
			x = cs_match_rd_str(&r);
			if (x == NULL)
				continue;
			v[m++] = (struct ident){x, i};
			v[m++] = (struct ident){cs_match_vuln_of(x), i};
		}
	}
	qsort(v, m, sizeof(*v), cmp_ident);
	for (i = 1; i < m && !res; i++)
		res = v[i].owner != v[i - 1].owner && strcmp(v[i].s, v[i - 1].s) == 0;
	free(v);
	return res;
}

/* ---- the same package listed twice ---------------------------------------- */

static const char *const same_fields[] = {
	"kind", "name", "version", "arch", "source_name", "source_version", "origin", "epoch",
	"rpm_version", "rpm_release", "source_rpm", "modularity_label", "group", "path", "purl",
	"db", "layer",
};

static uint64_t pkg_hash(const json_t *pkg)
{
	uint64_t h = 0;
	size_t k;

	for (k = 0; k < sizeof(same_fields) / sizeof(same_fields[0]); k++) {
		const json_t *v = json_object_get(pkg, same_fields[k]);

		if (json_is_string(v))
			h = h * 31 + hash_bytes(json_string_value(v), json_string_length(v));
		else if (json_is_integer(v))
			h = h * 31 + (uint64_t)json_integer_value(v);
		else
			h = h * 31 + (v != NULL);
	}
	return h;
}

static int pkg_same(const json_t *a, const json_t *b)
{
	size_t k;

	for (k = 0; k < sizeof(same_fields) / sizeof(same_fields[0]); k++) {
		const json_t *x = json_object_get(a, same_fields[k]), *y = json_object_get(b, same_fields[k]);

		if ((x == NULL) != (y == NULL) || (x != NULL && !json_equal(x, y)))
			return 0;
	}
	return 1;
}

struct hidx {
	uint64_t h;
	size_t i;
};

static int cmp_hidx(const void *a, const void *b)
{
	const struct hidx *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * A package listed twice (the same fields: two status files that say the
 * same, a duplicated entry) is one package: its findings are merged as
 * cs_match_dedupe() merges one package's findings, at the place of its
 * first listing. Rare; costs one hash per package with findings otherwise.
 */
static int merge_findings(json_t *findings, const json_t *packages, const size_t *counts,
			  const unsigned char *merge, size_t n)
{
	struct hidx *v = NULL;
	size_t *first = NULL, *start = NULL, m = 0, i, j, dups = 0;
	json_t *out = NULL, *group = NULL;
	int r = CS_ENOMEM;

	v = malloc((n > 0 ? n : 1) * sizeof(*v));
	first = malloc((n > 0 ? n : 1) * sizeof(*first));
	start = malloc((n + 1) * sizeof(*start));
	if (v == NULL || first == NULL || start == NULL)
		goto out;
	start[0] = 0;
	for (i = 0; i < n; i++) {
		start[i + 1] = start[i] + counts[i];
		first[i] = i;
		if (counts[i] > 0)
			v[m++] = (struct hidx){pkg_hash(json_array_get(packages, i)), i};
	}
	qsort(v, m, sizeof(*v), cmp_hidx);
	for (i = 0; i < m; i++)
		for (j = i + 1; j < m && v[j].h == v[i].h; j++)
			if (first[v[j].i] == v[j].i &&
			    pkg_same(json_array_get(packages, v[i].i), json_array_get(packages, v[j].i))) {
				first[v[j].i] = first[v[i].i];
				dups++;
			}
	for (i = 0; i < n && dups == 0; i++)
		dups += merge[i];
	if (dups == 0) {
		r = 0;
		goto out;
	}
	if ((out = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (counts[i] == 0 || first[i] != i)
			continue;
		if ((group = json_array()) == NULL)
			goto out;
		for (j = i; j < n; j++) {
			size_t k;

			if (first[j] != i)
				continue;
			for (k = start[j]; k < start[j + 1]; k++)
				if (json_array_append(group, json_array_get(findings, k)) != 0)
					goto out;
		}
		if (json_array_size(group) > 1 && (r = cs_match_dedupe_one(group)) != 0)
			goto out;
		r = CS_ENOMEM;
		if (json_array_extend(out, group) != 0)
			goto out;
		json_decref(group);
		group = NULL;
	}
	if (json_array_clear(findings) != 0 || json_array_extend(findings, out) != 0)
		goto out;
	r = 0;
out:
	json_decref(group);
	json_decref(out);
	free(v);
	free(first);
	free(start);
	return r == 0 || r != CS_ENOMEM ? r : cs_err_set(CS_ENOMEM, "out of memory");
}

struct pkgres {
	size_t key[4];        /* indices into keyv */
	unsigned char nkeys, prepared, merge;
	size_t first, nhits;  /* its hits: hits[first .. first + nhits) */
};

struct hitrec {
	size_t pkg;
	long long rec;
	const char *id;       /* the record id (in its row) */
	struct hdrent *h;     /* phase 3; NULL: dropped (damaged header) */
	struct cs_match_hit hit;
};

struct cs_match_result {
	const json_t *packages;
	const struct cs_match_source *src;   /* during cs_match_run only */
	json_t *notes;
	char *os_ecosystem;
	struct arena ar;
	struct table keys, hdrs;
	struct keyent **keyv;
	size_t nkeyv, capkeyv;
	struct pkgres *pk;
	size_t npk, matched;
	struct hitrec *hits;
	size_t nhits, caphits;
	/* scratch */
	struct rowref *tmp;
	size_t ntmp, captmp;
	struct prow *rows;
	size_t caprows;
	struct cs_match_row *decoded;
	size_t capdec;
	struct cs_match_pkg p;
	struct cs_match_vstate vs;
};

static int on_row(void *ctx, long long rec, const void *row, size_t len)
{
	struct cs_match_result *u = ctx;
	struct cs_match_row w;
	void *copy;
	int r;

	if ((r = grow((void **)&u->tmp, &u->captmp, u->ntmp + 1, sizeof(*u->tmp))) != 0)
		return r;
	if ((copy = arena_dup(&u->ar, row, len)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* A damaged row sorts first under an empty id; evaluating it says so. */
	u->tmp[u->ntmp].id = cs_match_row_read(&w, copy, len) == 0 ? w.id : "";
	cs_err_clear();
	u->tmp[u->ntmp].rec = rec;
	u->tmp[u->ntmp].blob = copy;
	u->tmp[u->ntmp].len = len;
	u->ntmp++;
	return 0;
}

/* The index in keyv of (eco, name), added (not yet loaded) when new. */
static int key_intern(size_t *out, struct cs_match_result *u, const char *eco, const char *name)
{
	size_t el = strlen(eco), nl = strlen(name), kl = el + 1 + nl, j;
	char stackkey[CS_MATCH_ECOSYSTEM_MAX + CS_MATCH_NAME_MAX + 2];
	struct keyent *e;
	uint64_t h;
	int r;

	if (kl >= sizeof(stackkey))
		return cs_err_set(CS_ELIMIT, "look-up key too long");
	memcpy(stackkey, eco, el + 1);
	memcpy(stackkey + el + 1, name, nl + 1);
	h = hash_bytes(stackkey, kl);
	if (u->keys.cap > 0)
		for (j = h & (u->keys.cap - 1); u->keys.slot[j] != NULL; j = (j + 1) & (u->keys.cap - 1)) {
			e = u->keys.slot[j];
			if (e->hash == h && e->klen == kl && memcmp(e->key, stackkey, kl) == 0) {
				*out = e->idx;
				return 0;
			}
		}
	e = arena_alloc(&u->ar, sizeof(*e));
	/* ecosystem NUL name NUL: both halves are C strings */
	if (e == NULL || (e->key = arena_dup(&u->ar, stackkey, kl + 1)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	e->klen = kl;
	e->hash = h;
	e->rows = NULL;
	e->n = 0;
	e->idx = u->nkeyv;
	if ((r = grow((void **)&u->keyv, &u->capkeyv, u->nkeyv + 1, sizeof(*u->keyv))) != 0)
		return r;
	if ((u->keys.n + 1) * 2 > u->keys.cap && table_grow(&u->keys, key_hash) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (j = h & (u->keys.cap - 1); u->keys.slot[j] != NULL; j = (j + 1) & (u->keys.cap - 1))
		;
	u->keys.slot[j] = e;
	u->keys.n++;
	u->keyv[u->nkeyv] = e;
	*out = u->nkeyv++;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct keyent *x = *(const struct keyent *const *)a, *y = *(const struct keyent *const *)b;
	size_t l = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, l);

	return c != 0 ? c : x->klen < y->klen ? -1 : x->klen > y->klen;
}

/*
 * Loads every key's rows, in key order: neighbouring keys sit in
 * neighbouring index pages, so the look-ups walk the index instead of
 * jumping around it. keyv is sorted in place; the packages keep pointers.
 */
static int load_keys(struct cs_match_result *u, struct keyent **byidx)
{
	size_t i;
	int r;

	for (i = 0; i < u->nkeyv; i++)
		byidx[i] = u->keyv[i];
	if (u->nkeyv > 1)
		qsort(u->keyv, u->nkeyv, sizeof(*u->keyv), cmp_key);
	for (i = 0; i < u->nkeyv; i++) {
		struct keyent *e = u->keyv[i];

		u->ntmp = 0;
		if ((r = u->src->rows(u->src->ctx, e->key, e->key + strlen(e->key) + 1, on_row, u)) != 0)
			return r;
		/* Records in id order, as a look-up returns them. */
		if (u->ntmp > 1)
			qsort(u->tmp, u->ntmp, sizeof(*u->tmp), cmp_rowref);
		if ((e->rows = arena_dup(&u->ar, u->tmp, u->ntmp * sizeof(*u->tmp))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		e->n = u->ntmp;
	}
	return 0;
}

/* The header of rec, read once per scan. A damaged one is remembered as
 * such (e->err). */
static int header_of(struct hdrent **out, struct cs_match_result *u, long long rec)
{
	uint64_t h = hash_rec(rec);
	struct hdrent *e;
	const void *p;
	size_t len, j;
	int r;

	*out = NULL;
	if (u->hdrs.cap > 0)
		for (j = h & (u->hdrs.cap - 1); u->hdrs.slot[j] != NULL; j = (j + 1) & (u->hdrs.cap - 1)) {
			e = u->hdrs.slot[j];
			if (e->rec == rec) {
				*out = e;
				return 0;
			}
		}
	e = arena_alloc(&u->ar, sizeof(*e));
	if (e == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	e->rec = rec;
	r = u->src->header(u->src->ctx, rec, &p, &len);
	if (r == CS_ENOMEM)
		return r;
	if (r == 0) {
		void *copy = arena_dup(&u->ar, p, len);

		if (copy == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		r = cs_match_header_read(&e->h, copy, len);
	}
	e->err = r;
	cs_err_clear();
	if ((u->hdrs.n + 1) * 2 > u->hdrs.cap && table_grow(&u->hdrs, hdr_hash) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (j = h & (u->hdrs.cap - 1); u->hdrs.slot[j] != NULL; j = (j + 1) & (u->hdrs.cap - 1))
		;
	u->hdrs.slot[j] = e;
	u->hdrs.n++;
	*out = e;
	return 0;
}


/* Phase 2 for one package: its records (rows grouped by record, in order of
 * first appearance) evaluated; matches appended to u->hits. */
static int evaluate_package(struct cs_match_result *u, size_t pi, struct keyent **byidx)
{
	struct pkgres *pk = &u->pk[pi];
	size_t nrows = 0, i, k, g0, g1;
	int r;

	pk->first = u->nhits;
	for (k = 0; k < pk->nkeys; k++) {
		const struct keyent *e = byidx[pk->key[k]];

		if ((r = grow((void **)&u->rows, &u->caprows, nrows + e->n, sizeof(*u->rows))) != 0)
			return r;
		for (size_t j = 0; j < e->n; j++) {
			u->rows[nrows].rec = e->rows[j].rec;
			u->rows[nrows].seq = nrows;
			u->rows[nrows].row = &e->rows[j];
			nrows++;
		}
	}
	if (nrows == 0)
		return 0;
	if (nrows > 1) {
		qsort(u->rows, nrows, sizeof(*u->rows), cmp_rec_seq);
		for (g0 = 0; g0 < nrows; g0 = g1)
			for (g1 = g0; g1 < nrows && u->rows[g1].rec == u->rows[g0].rec; g1++)
				u->rows[g1].first = u->rows[g0].seq;
		qsort(u->rows, nrows, sizeof(*u->rows), cmp_first_seq);
	}
	memset(u->vs.ok, -1, sizeof(u->vs.ok));
	memset(u->vs.semver_ok, -1, sizeof(u->vs.semver_ok));
	for (g0 = 0; g0 < nrows; g0 = g1) {
		size_t nd = 0;

		for (g1 = g0; g1 < nrows && u->rows[g1].rec == u->rows[g0].rec; g1++)
			;
		if ((r = grow((void **)&u->decoded, &u->capdec, g1 - g0, sizeof(*u->decoded))) != 0 ||
		    (r = grow((void **)&u->hits, &u->caphits, u->nhits + 1, sizeof(*u->hits))) != 0)
			return r;
		for (i = g0; i < g1; i++) {
			/* A record reached through two keys may bring the same row twice. */
			if (i > g0 && u->rows[i].row->blob == u->rows[i - 1].row->blob)
				continue;
			if ((r = cs_match_row_read(&u->decoded[nd], u->rows[i].row->blob, u->rows[i].row->len)) != 0)
				break;
			nd++;
		}
		if (r == 0 && (u->decoded[0].flags & 1))
			continue;   /* withdrawn */
		if (r == 0)
			r = cs_match_eval_rows(&u->hits[u->nhits].hit, &u->p, &u->vs, u->decoded, nd, u->notes);
		if (r == CS_ENOMEM)
			return r;
		if (r != 0) {
			/* One damaged record never hides the others; it is named by
			 * its header when its row cannot say. */
			char why[256];
			const char *id = nd > 0 ? u->decoded[0].id : NULL;
			struct hdrent *h;

			snprintf(why, sizeof(why), "%s", cs_err_msg());
			if (id == NULL && (r = header_of(&h, u, u->rows[g0].rec)) != 0)
				return r;
			if (id == NULL && h->err == 0)
				id = h->h.id;
			if ((r = bad_record(u->notes, id, why)) != 0)
				return r;
			continue;
		}
		if (!u->hits[u->nhits].hit.found)
			continue;
		u->hits[u->nhits].pkg = pi;
		u->hits[u->nhits].rec = u->rows[g0].rec;
		u->hits[u->nhits].id = u->decoded[0].id;
		u->hits[u->nhits].h = NULL;
		u->nhits++;
	}
	pk->nhits = u->nhits - pk->first;
	return 0;
}

static int cmp_hit_rec(const void *a, const void *b)
{
	const struct hitrec *x = *(const struct hitrec *const *)a, *y = *(const struct hitrec *const *)b;

	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* Phase 3: the headers of the matched records, read in rowid order (file
 * order), then each package's merge decision. */
static int read_headers(struct cs_match_result *u)
{
	struct hitrec **order = NULL;
	struct hdrent **hs = NULL;
	size_t i, caphs = 0;
	int r = 0;

	if (u->nhits == 0)
		return 0;
	order = malloc(u->nhits * sizeof(*order));
	if (order == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (i = 0; i < u->nhits; i++)
		order[i] = &u->hits[i];
	qsort(order, u->nhits, sizeof(*order), cmp_hit_rec);
	for (i = 0; i < u->nhits && r == 0; i++) {
		struct hdrent *h;

		if ((r = header_of(&h, u, order[i]->rec)) != 0)
			break;
		if (h->err != 0) {
			if (i == 0 || order[i - 1]->rec != order[i]->rec)
				r = bad_record(u->notes, order[i]->id, "compiled record header is damaged");
			continue;
		}
		order[i]->h = h;
	}
	for (i = 0; i < u->npk && r == 0; i++) {
		struct pkgres *pk = &u->pk[i];
		size_t n = 0;

		if (pk->nhits < 2)
			continue;
		if ((r = grow((void **)&hs, &caphs, pk->nhits, sizeof(*hs))) != 0)
			break;
		for (size_t k = pk->first; k < pk->first + pk->nhits; k++)
			if (u->hits[k].h != NULL)
				hs[n++] = u->hits[k].h;
		if (n > 1) {
			int o = identities_overlap(hs, n);

			if (o < 0)
				r = cs_err_set(CS_ENOMEM, "out of memory");
			pk->merge = o > 0;
		}
	}
	free(hs);
	free(order);
	return r;
}

int cs_match_run(struct cs_match_result **out, const json_t *packages, const char *os_ecosystem,
		 const struct cs_match_source *src, json_t *notes)
{
	struct cs_match_result *u;
	struct keyent **byidx = NULL;
	char eco[2][CS_MATCH_ECOSYSTEM_MAX];
	size_t i, n = json_array_size(packages);
	int r = 0;

	*out = NULL;
	if (!json_is_array(packages) || !json_is_array(notes) || src == NULL || src->rows == NULL ||
	    src->header == NULL)
		return cs_err_set(CS_EINVAL, "cs_match_run: bad arguments");
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	u->packages = json_incref((json_t *)packages);
	u->notes = notes;
	u->src = src;
	u->npk = n;
	u->pk = calloc(n > 0 ? n : 1, sizeof(*u->pk));
	if (u->pk == NULL || (os_ecosystem != NULL && (u->os_ecosystem = strdup(os_ecosystem)) == NULL)) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	/* 1: every package's keys, interned; then all keys loaded in order. */
	for (i = 0; i < n; i++) {
		size_t ne, e, k;

		if (cs_match_pkg_prepare(&u->p, json_array_get(packages, i), u->os_ecosystem) != 0) {
			cs_err_clear();
			continue;   /* an OS package of an unsupported OS, a kind without data */
		}
		u->pk[i].prepared = 1;
		u->matched++;
		ne = cs_match_lookup_ecosystems(eco, &u->p);
		for (e = 0; e < ne; e++)
			for (k = 0; k < u->p.nlookups; k++)
				if ((r = key_intern(&u->pk[i].key[u->pk[i].nkeys++], u, eco[e],
						    u->p.lookups[k].name)) != 0)
					goto out;
	}
	byidx = malloc((u->nkeyv > 0 ? u->nkeyv : 1) * sizeof(*byidx));
	if (byidx == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = load_keys(u, byidx)) != 0)
		goto out;
	/* 2: evaluation, package by package (notes come out in that order). */
	for (i = 0; i < n; i++) {
		if (!u->pk[i].prepared)
			continue;
		if (cs_match_pkg_prepare(&u->p, json_array_get(packages, i), u->os_ecosystem) != 0) {
			r = cs_err_set(CS_EINTERNAL, "package %zu prepared once but not twice", i);
			goto out;
		}
		if ((r = evaluate_package(u, i, byidx)) != 0)
			goto out;
	}
	/* 3: headers and merge decisions. */
	r = read_headers(u);
out:
	free(byidx);
	u->src = NULL;
	if (r != 0) {
		cs_match_result_free(u);
		return r;
	}
	*out = u;
	return 0;
}

size_t cs_match_result_hits(const struct cs_match_result *u)
{
	return u != NULL ? u->nhits : 0;
}

size_t cs_match_result_matched(const struct cs_match_result *u)
{
	return u != NULL ? u->matched : 0;
}

int cs_match_result_findings(struct cs_match_result *u, json_t *findings)
{
	size_t *counts = NULL, i, base = json_array_size(findings);
	unsigned char *merge = NULL;
	json_t *mine = NULL;
	int r = 0;

	if (u == NULL || !json_is_array(findings))
		return cs_err_set(CS_EINVAL, "cs_match_result_findings: bad arguments");
	counts = calloc(u->npk > 0 ? u->npk : 1, sizeof(*counts));
	merge = calloc(u->npk > 0 ? u->npk : 1, 1);
	mine = base == 0 ? json_incref(findings) : json_array();
	if (counts == NULL || merge == NULL || mine == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < u->npk && r == 0; i++) {
		const json_t *pkg = json_array_get(u->packages, i);
		struct pkgres *pk = &u->pk[i];
		struct cs_match_pkgjson pj;

		if (pk->nhits == 0)
			continue;
		if (cs_match_pkg_prepare(&u->p, pkg, u->os_ecosystem) != 0) {
			r = cs_err_set(CS_EINTERNAL, "package %zu prepared once but not twice", i);
			break;
		}
		memset(&pj, 0, sizeof(pj));
		merge[i] = pk->merge;
		for (size_t k = pk->first; k < pk->first + pk->nhits && r == 0; k++) {
			struct hitrec *h = &u->hits[k];
			json_t *f = NULL;

			if (h->h == NULL)
				continue;   /* its header is damaged: a note says so */
			if ((r = cs_match_build_finding(&f, &h->h->h, &h->h->rj, &pj, pkg, &u->p, &h->hit)) != 0)
				break;
			if (json_array_append_new(mine, f) != 0)
				r = cs_err_set(CS_ENOMEM, "out of memory");
			counts[i]++;
		}
		cs_match_pkgjson_clear(&pj);
	}
	if (r == 0)
		r = merge_findings(mine, u->packages, counts, merge, u->npk);
	if (r == 0 && base > 0 && json_array_extend(findings, mine) != 0)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	json_decref(mine);
	free(counts);
	free(merge);
	return r;
}

void cs_match_result_free(struct cs_match_result *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->hdrs.cap; i++)
		if (u->hdrs.slot[i] != NULL)
			cs_match_recjson_clear(&((struct hdrent *)u->hdrs.slot[i])->rj);
	free(u->hdrs.slot);
	free(u->keys.slot);
	free(u->keyv);
	free(u->pk);
	free(u->hits);
	free(u->tmp);
	free(u->rows);
	free(u->decoded);
	free(u->os_ecosystem);
	json_decref((json_t *)u->packages);
	arena_free(&u->ar);
	free(u);
}

int cs_match_inventory(json_t *findings, json_t *notes, size_t *matched, const json_t *packages,
		       const char *os_ecosystem, const struct cs_match_source *src)
{
	struct cs_match_result *u = NULL;
	int r;

	if (matched != NULL)
		*matched = 0;
	if (!json_is_array(findings))
		return cs_err_set(CS_EINVAL, "cs_match_inventory: bad arguments");
	if ((r = cs_match_run(&u, packages, os_ecosystem, src, notes)) != 0)
		return r;
	if (matched != NULL)
		*matched = u->matched;
	r = cs_match_result_findings(u, findings);
	cs_match_result_free(u);
	return r;
}
