/*
 * inventory.c - cs_match_inventory(): every package of an image against a
 * database of compiled records (match.h, "Compiled records").
 *
 * Work per scan, not per (package, record) pair: each (ecosystem, name) key
 * is looked up once and its rows kept (every binary of a Debian source
 * package shares them); each record header is read once and its JSON parts
 * (aliases, severity, upstream) made once and shared by the findings that
 * cite it. The rows and headers live in one arena freed at the end. The
 * evaluation itself (cs_match_eval_rows) allocates nothing; JSON is built
 * only for a match.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	const char *key;      /* ecosystem NUL name */
	size_t klen;
	uint64_t hash;
	struct rowref *rows;
	size_t n;
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

struct run {
	const struct cs_match_source *src;
	json_t *notes;
	struct arena ar;
	struct table keys, hdrs;
	/* rows being collected by on_row */
	struct rowref *tmp;
	size_t ntmp, captmp;
};

static int on_row(void *ctx, long long rec, const void *row, size_t len)
{
	struct run *u = ctx;
	struct cs_match_row w;
	void *copy;

	if (u->ntmp == u->captmp) {
		size_t nc = u->captmp ? u->captmp * 2 : 64;
		struct rowref *p;

		if (nc > SIZE_MAX / sizeof(*p) || (p = realloc(u->tmp, nc * sizeof(*p))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		u->tmp = p;
		u->captmp = nc;
	}
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

/* The rows of (eco, name), looked up once per scan. */
static int rows_of(struct keyent **out, struct run *u, const char *eco, const char *name)
{
	size_t el = strlen(eco), nl = strlen(name), kl = el + 1 + nl, j;
	char stackkey[CS_MATCH_ECOSYSTEM_MAX + CS_MATCH_NAME_MAX + 2];
	struct keyent *e;
	uint64_t h;
	int r;

	*out = NULL;
	if (kl >= sizeof(stackkey))
		return cs_err_set(CS_ELIMIT, "look-up key too long");
	memcpy(stackkey, eco, el + 1);
	memcpy(stackkey + el + 1, name, nl);
	h = hash_bytes(stackkey, kl);
	if (u->keys.cap > 0)
		for (j = h & (u->keys.cap - 1); u->keys.slot[j] != NULL; j = (j + 1) & (u->keys.cap - 1)) {
			e = u->keys.slot[j];
			if (e->hash == h && e->klen == kl && memcmp(e->key, stackkey, kl) == 0) {
				*out = e;
				return 0;
			}
		}
	u->ntmp = 0;
	if ((r = u->src->rows(u->src->ctx, eco, name, on_row, u)) != 0)
		return r;
	/* Records in id order, as a look-up returns them. */
	if (u->ntmp > 1)
		qsort(u->tmp, u->ntmp, sizeof(*u->tmp), cmp_rowref);
	e = arena_alloc(&u->ar, sizeof(*e));
	if (e == NULL || (e->key = arena_dup(&u->ar, stackkey, kl)) == NULL ||
	    (e->rows = arena_dup(&u->ar, u->tmp, u->ntmp * sizeof(*u->tmp))) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	e->klen = kl;
	e->hash = h;
	e->n = u->ntmp;
	if ((u->keys.n + 1) * 2 > u->keys.cap && table_grow(&u->keys, key_hash) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (j = h & (u->keys.cap - 1); u->keys.slot[j] != NULL; j = (j + 1) & (u->keys.cap - 1))
		;
	u->keys.slot[j] = e;
	u->keys.n++;
	*out = e;
	return 0;
}

/* The header of rec, read once per scan. A damaged one is remembered as
 * such (e->err). */
static int header_of(struct hdrent **out, struct run *u, long long rec)
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
	if ((u->hdrs.n + 1) * 2 > u->hdrs.cap && table_grow(&u->hdrs, hdr_hash) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (j = h & (u->hdrs.cap - 1); u->hdrs.slot[j] != NULL; j = (j + 1) & (u->hdrs.cap - 1))
		;
	u->hdrs.slot[j] = e;
	u->hdrs.n++;
	*out = e;
	return 0;
}

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

struct pkgwork {
	struct cs_match_pkg p;
	struct cs_match_hit hit;
	struct cs_match_vstate vs;
	struct prow *rows;
	size_t nrows, caprows;
	struct cs_match_row *decoded;
	size_t capdec;
	struct hdrent **hits;
	size_t caphits;
};

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
static int match_package(struct run *u, struct pkgwork *w, const json_t *pkg, json_t *findings,
			 unsigned char *merge)
{
	char eco[2][CS_MATCH_ECOSYSTEM_MAX];
	struct cs_match_pkgjson pj;
	json_t *pf = NULL;
	size_t ne, i, k, g0, g1, nh = 0;
	int r;

	memset(&pj, 0, sizeof(pj));
	ne = cs_match_lookup_ecosystems(eco, &w->p);
	w->nrows = 0;
	for (i = 0; i < ne; i++)
		for (k = 0; k < w->p.nlookups; k++) {
			struct keyent *e;

			if ((r = rows_of(&e, u, eco[i], w->p.lookups[k].name)) != 0)
				return r;
			if ((r = grow((void **)&w->rows, &w->caprows, w->nrows + e->n, sizeof(*w->rows))) != 0)
				return r;
			for (size_t j = 0; j < e->n; j++) {
				struct prow *x = &w->rows[w->nrows];

				x->rec = e->rows[j].rec;
				x->seq = w->nrows;
				x->row = &e->rows[j];
				w->nrows++;
			}
		}
	if (w->nrows == 0)
		return 0;
	/* Records in order of first appearance, each with all its rows. */
	if (w->nrows > 1) {
		qsort(w->rows, w->nrows, sizeof(*w->rows), cmp_rec_seq);
		for (g0 = 0; g0 < w->nrows; g0 = g1) {
			for (g1 = g0; g1 < w->nrows && w->rows[g1].rec == w->rows[g0].rec; g1++)
				w->rows[g1].first = w->rows[g0].seq;
		}
		qsort(w->rows, w->nrows, sizeof(*w->rows), cmp_first_seq);
	}
	memset(w->vs.ok, -1, sizeof(w->vs.ok));
	memset(w->vs.semver_ok, -1, sizeof(w->vs.semver_ok));
	pf = json_array();
	if (pf == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (g0 = 0; g0 < w->nrows; g0 = g1) {
		struct hdrent *h;
		size_t nd = 0;
		json_t *f = NULL;

		for (g1 = g0; g1 < w->nrows && w->rows[g1].rec == w->rows[g0].rec; g1++)
			;
		if ((r = grow((void **)&w->decoded, &w->capdec, g1 - g0, sizeof(*w->decoded))) != 0)
			goto out;
		for (i = g0; i < g1; i++) {
			/* A record reached through two keys may bring the same row twice. */
			if (i > g0 && w->rows[i].row->blob == w->rows[i - 1].row->blob)
				continue;
			if ((r = cs_match_row_read(&w->decoded[nd], w->rows[i].row->blob, w->rows[i].row->len)) != 0)
				break;
			nd++;
		}
		if (r == 0 && (w->decoded[0].flags & 1))
			continue;   /* withdrawn */
		if (r == 0)
			r = cs_match_eval_rows(&w->hit, &w->p, &w->vs, w->decoded, nd, u->notes);
		if (r == CS_ENOMEM)
			goto out;
		if (r != 0) {
			/* One damaged record never hides the others; it is named by
			 * its header when its row cannot say. */
			char why[256];
			const char *id = nd > 0 ? w->decoded[0].id : NULL;

			snprintf(why, sizeof(why), "%s", cs_err_msg());
			if (id == NULL && (r = header_of(&h, u, w->rows[g0].rec)) != 0)
				goto out;
			if (id == NULL && h->err == 0)
				id = h->h.id;
			if ((r = bad_record(u->notes, id, why)) != 0)
				goto out;
			continue;
		}
		if (!w->hit.found)
			continue;
		if ((r = header_of(&h, u, w->rows[g0].rec)) != 0)
			goto out;
		if (h->err != 0) {
			if ((r = bad_record(u->notes, w->decoded[0].id, "compiled record header is damaged")) != 0)
				goto out;
			continue;
		}
		if ((r = cs_match_build_finding(&f, &h->h, &h->rj, &pj, pkg, &w->p, &w->hit)) != 0)
			goto out;
		if (json_array_append_new(pf, f) != 0 ||
		    (r = grow((void **)&w->hits, &w->caphits, nh + 1, sizeof(*w->hits))) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		w->hits[nh++] = h;
	}
	r = 0;
	if (nh > 1) {
		int o = identities_overlap(w->hits, nh);

		if (o < 0)
			r = cs_err_set(CS_ENOMEM, "out of memory");
		*merge = o > 0;
	}
	if (r == 0 && json_array_extend(findings, pf) != 0)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	json_decref(pf);
	cs_match_pkgjson_clear(&pj);
	return r;
}

/* One contiguous share of the packages, matched by one thread into its own
 * arrays (joined in order afterwards). */
struct job {
	struct cs_match_source src;
	const json_t *packages;
	size_t from, to;
	const char *os_ecosystem;
	json_t *findings, *notes;
	size_t *counts;       /* findings per package (shared, own indices only) */
	unsigned char *merge; /* per package: its findings need merging */
	size_t matched;
	int r;
	char err[1024];
	pthread_t th;
	int started;
};

static int run_job(struct job *j)
{
	struct run u;
	struct pkgwork *w;
	size_t i, before;
	int r = 0;

	memset(&u, 0, sizeof(u));
	u.src = &j->src;
	u.notes = j->notes;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (i = j->from; i < j->to; i++) {
		const json_t *pkg = json_array_get(j->packages, i);

		if (cs_match_pkg_prepare(&w->p, pkg, j->os_ecosystem) != 0) {
			cs_err_clear();
			continue;   /* an OS package of an unsupported OS, a kind without data */
		}
		j->matched++;
		before = json_array_size(j->findings);
		if ((r = match_package(&u, w, pkg, j->findings, &j->merge[i])) != 0)
			break;
		j->counts[i] = json_array_size(j->findings) - before;
	}
	for (i = 0; i < u.hdrs.cap; i++)
		if (u.hdrs.slot[i] != NULL)
			cs_match_recjson_clear(&((struct hdrent *)u.hdrs.slot[i])->rj);
	free(u.hdrs.slot);
	free(u.keys.slot);
	free(u.tmp);
	free(w->rows);
	free(w->decoded);
	free(w->hits);
	free(w);
	arena_free(&u.ar);
	return r;
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

static void *job_thread(void *arg)
{
	struct job *j = arg;

	j->r = run_job(j);
	if (j->r != 0)
		snprintf(j->err, sizeof(j->err), "%s", cs_err_msg());
	return NULL;
}

/*
 * One thread unless CELLSCAN_MATCH_THREADS=N (1-9) asks for more: on the
 * 2-vCPU machine the benchmarks run on, two threads cost 1.5x the CPU for
 * no steady gain in wall time (docs/BENCHMARKS.md), and serve already runs
 * scans side by side. Never more than the CPUs, CS_MATCH_THREADS, or one
 * thread per CS_MATCH_THREAD_MIN packages.
 */
static size_t threads_for(size_t n, const struct cs_match_source *src)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("CELLSCAN_MATCH_THREADS");
	size_t t = n / CS_MATCH_THREAD_MIN, want;

	if (env == NULL || env[0] < '1' || env[0] > '9' || env[1] != '\0')
		return 1;
	want = (size_t)(env[0] - '0');
	if (src->again == NULL || src->release == NULL || cpus < 2 || t < 2)
		return 1;
	if (t > want)
		t = want;
	if (t > (size_t)cpus)
		t = (size_t)cpus;
	return t > CS_MATCH_THREADS ? CS_MATCH_THREADS : t;
}

int cs_match_inventory(json_t *findings, json_t *notes, size_t *matched, const json_t *packages,
		       const char *os_ecosystem, const struct cs_match_source *src)
{
	struct job jobs[CS_MATCH_THREADS];
	size_t n = json_array_size(packages), nt, t, *counts;
	unsigned char *merge;
	size_t base = json_array_size(findings);
	int r = 0;

	if (matched != NULL)
		*matched = 0;
	if (!json_is_array(findings) || !json_is_array(notes) || src == NULL || src->rows == NULL ||
	    src->header == NULL)
		return cs_err_set(CS_EINVAL, "cs_match_inventory: bad arguments");
	counts = calloc(n > 0 ? n : 1, sizeof(*counts));
	merge = calloc(n > 0 ? n : 1, 1);
	if (counts == NULL || merge == NULL) {
		free(counts);
		free(merge);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	nt = threads_for(n, src);
	memset(jobs, 0, sizeof(jobs));
	for (t = 0; t < nt; t++) {
		struct job *j = &jobs[t];

		j->src = *src;
		j->packages = packages;
		j->from = n * t / nt;
		j->to = n * (t + 1) / nt;
		j->os_ecosystem = os_ecosystem;
		j->counts = counts;
		j->merge = merge;
		j->findings = t == 0 ? json_incref(findings) : json_array();
		j->notes = t == 0 ? json_incref(notes) : json_array();
		if (j->findings == NULL || j->notes == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			break;
		}
		if (t == 0)
			continue;
		/* A thread that cannot get its own handle leaves its share to
		 * the calling thread: same result, less parallel. */
		if (src->again(src->ctx, &j->src.ctx) != 0) {
			cs_err_clear();
			j->src = *src;
			continue;
		}
		if (pthread_create(&j->th, NULL, job_thread, j) != 0) {
			src->release(j->src.ctx);
			j->src = *src;
			continue;
		}
		j->started = 1;
	}
	if (r == 0)
		r = run_job(&jobs[0]);
	/* Shares whose thread did not start run here, in order. */
	for (t = 1; t < nt; t++) {
		struct job *j = &jobs[t];

		if (j->started) {
			pthread_join(j->th, NULL);
			src->release(j->src.ctx);
		} else if (r == 0 && j->findings != NULL && j->notes != NULL) {
			j->r = run_job(j);
			if (j->r != 0)
				snprintf(j->err, sizeof(j->err), "%s", cs_err_msg());
		}
		if (r == 0 && j->r != 0)
			r = cs_err_set(j->r, "%s", j->err);
		if (r == 0 && (json_array_extend(findings, j->findings) != 0 ||
			       json_array_extend(notes, j->notes) != 0))
			r = cs_err_set(CS_ENOMEM, "out of memory");
	}
	for (t = 0; t < nt; t++) {
		if (matched != NULL)
			*matched += jobs[t].matched;
		json_decref(jobs[t].findings);
		json_decref(jobs[t].notes);
	}
	/* Only findings this call added take part (the caller's array may
	 * have more before them). */
	if (r == 0 && base == 0)
		r = merge_findings(findings, packages, counts, merge, n);
	else if (r == 0 && base > 0) {
		json_t *mine = json_array();
		size_t k;

		for (k = base; mine != NULL && k < json_array_size(findings); k++)
			if (json_array_append(mine, json_array_get(findings, k)) != 0)
				break;
		if (mine == NULL || k < json_array_size(findings))
			r = cs_err_set(CS_ENOMEM, "out of memory");
		if (r == 0 && (r = merge_findings(mine, packages, counts, merge, n)) == 0) {
			while (r == 0 && json_array_size(findings) > base)
				r = json_array_remove(findings, json_array_size(findings) - 1) != 0 ? CS_ENOMEM : 0;
			if (r == 0 && json_array_extend(findings, mine) != 0)
				r = cs_err_set(CS_ENOMEM, "out of memory");
		}
		json_decref(mine);
	}
	free(counts);
	free(merge);
	return r;
}
