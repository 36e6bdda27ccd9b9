/*
 * session.c - look-ups with a cache of parsed records, for one scan.
 *
 * Parsing a record's JSON is most of what a look-up costs (the SQLite part
 * is an index range and one rowid seek per record). Within one scan the same
 * record comes back for many packages: every binary package of a Debian
 * source package looks up the same source name, a record names several
 * packages, a library sits in several places of an image. The session keeps
 * each parsed record, keyed by rowid, so it is parsed once per scan.
 *
 * The cache is an open-addressing table (linear probing, power-of-two size,
 * at most half full) of {rowid, record}. Its size is bounded by the stored
 * text of the records it holds (max_bytes): when one more record would pass
 * the bound, the whole cache is emptied first. That keeps memory bounded
 * without per-entry bookkeeping; records a look-up is using are held by
 * reference, so emptying never frees a record under a caller.
 */
#include "supervisor/vulndb/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

/* Entries at most, whatever max_bytes says (a table of 2^21 slots). */
#define SESSION_MAX_ENTRIES (1u << 20)

struct slot {
	sqlite3_int64 rowid;
	json_t *rec;          /* NULL: empty slot */
};

struct cs_vulndb_session {
	struct cs_vulndb *db;
	struct slot *tab;
	size_t mask;          /* table size - 1 */
	size_t used;
	size_t bytes, max_bytes;
	/* one look-up's scratch, reused */
	sqlite3_int64 *ids;
	size_t ids_cap;
	struct cs_vulndb_hit *hits;
	size_t hits_cap;
	struct cs_vulndb_session_stats st;
};

int cs_vulndb_session_open(struct cs_vulndb_session **out, struct cs_vulndb *db, size_t max_bytes)
{
	struct cs_vulndb_session *s;

	*out = NULL;
	if (db == NULL)
		return cs_err_set(CS_EINVAL, "session: no database");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	s->db = db;
	s->max_bytes = max_bytes != 0 ? max_bytes : CS_VULNDB_SESSION_CACHE;
	*out = s;
	return 0;
}

static void cache_clear(struct cs_vulndb_session *s)
{
	if (s->tab != NULL)
		for (size_t i = 0; i <= s->mask; i++)
			json_decref(s->tab[i].rec);
	free(s->tab);
	s->tab = NULL;
	s->mask = 0;
	s->used = 0;
	s->bytes = 0;
}

void cs_vulndb_session_close(struct cs_vulndb_session *s)
{
	if (s == NULL)
		return;
	cache_clear(s);
	free(s->ids);
	free(s->hits);
	free(s);
}

void cs_vulndb_session_stats(const struct cs_vulndb_session *s,
			     struct cs_vulndb_session_stats *out)
{
	*out = s->st;
	out->cached = s->used;
	out->cached_bytes = s->bytes;
}

static size_t slot_of(sqlite3_int64 rowid, size_t mask)
{
	/* Fibonacci hashing: rowids are dense, the high bits mix them. */
	return (size_t)(((uint64_t)rowid * 0x9E3779B97F4A7C15ull) >> 20) & mask;
}

static json_t *cache_get(struct cs_vulndb_session *s, sqlite3_int64 rowid)
{
	size_t i;

	if (s->tab == NULL)
		return NULL;
	for (i = slot_of(rowid, s->mask); s->tab[i].rec != NULL; i = (i + 1) & s->mask)
		if (s->tab[i].rowid == rowid)
			return s->tab[i].rec;
	return NULL;
}

/* Doubles the table (or makes the first one). */
static int cache_grow(struct cs_vulndb_session *s)
{
	size_t n = s->tab != NULL ? (s->mask + 1) * 2 : 1024, i, j;
	struct slot *t = calloc(n, sizeof(*t));

	if (t == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (s->tab != NULL) {
		for (i = 0; i <= s->mask; i++) {
			if (s->tab[i].rec == NULL)
				continue;
			for (j = slot_of(s->tab[i].rowid, n - 1); t[j].rec != NULL; j = (j + 1) & (n - 1))
				;
			t[j] = s->tab[i];
		}
		free(s->tab);
	}
	s->tab = t;
	s->mask = n - 1;
	return 0;
}

/* Stores rec (the cache takes a reference of its own) at a rowid not in
 * the cache; cost is its text size. Failing to cache is not an error. */
static void cache_put(struct cs_vulndb_session *s, sqlite3_int64 rowid, json_t *rec, size_t cost)
{
	size_t i;

	if (cost > s->max_bytes)
		return;
	if (s->bytes + cost > s->max_bytes || s->used >= SESSION_MAX_ENTRIES) {
		cache_clear(s);
		s->st.evictions++;
	}
	if ((s->tab == NULL || (s->used + 1) * 2 > s->mask + 1) && cache_grow(s) != 0) {
		cs_err_clear();
		return;
	}
	for (i = slot_of(rowid, s->mask); s->tab[i].rec != NULL; i = (i + 1) & s->mask)
		;
	s->tab[i].rowid = rowid;
	s->tab[i].rec = json_incref(rec);
	s->used++;
	s->bytes += cost;
}

int cs_vulndb_session_lookup(struct cs_vulndb_session *s, const char *ecosystem,
			     const char *package, int (*cb)(void *ctx, json_t *record), void *ctx)
{
	size_t n = 0, nh = 0, i;
	int r;

	if (s == NULL || ecosystem == NULL || package == NULL || cb == NULL)
		return cs_err_set(CS_EINVAL, "lookup: missing argument");
	s->st.lookups++;
	if ((r = cs_vulndb_lookup_ids(s->db, ecosystem, package, &s->ids, &n, &s->ids_cap)) != 0 ||
	    n == 0)
		return r;
	if (n > s->hits_cap) {
		struct cs_vulndb_hit *h = realloc(s->hits, n * sizeof(*h));

		if (h == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		s->hits = h;
		s->hits_cap = n;
	}
	for (nh = 0; nh < n; nh++) {
		struct cs_vulndb_hit *h = &s->hits[nh];
		json_t *rec = cache_get(s, s->ids[nh]);
		size_t cost = 0;

		if (rec != NULL) {
			s->st.cache_hits++;
			json_incref(rec);
		} else {
			if ((r = cs_vulndb_fetch(s->db, s->ids[nh], &rec, &cost)) != 0)
				goto out;
			s->st.parsed++;
			cache_put(s, s->ids[nh], rec, cost);
		}
		h->rowid = s->ids[nh];
		h->rec = rec;
		h->id = json_string_value(json_object_get(rec, "id"));
	}
	s->st.records += nh;
	cs_vulndb_sort_hits(s->hits, nh);
	for (i = 0; i < nh; i++)
		if ((r = cb(ctx, s->hits[i].rec)) != 0)
			break;
out:
	for (i = 0; i < nh; i++)
		json_decref(s->hits[i].rec);
	return r;
}
