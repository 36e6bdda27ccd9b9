/*
 * diff.c - the (ecosystem, package) pairs two databases disagree on.
 *
 * Two passes per database, neither parsing a record: a merge walk over both
 * record lists in id order (the UNIQUE index on id) finds the changed
 * records' rowids; then one scan of each database's affected table (a
 * covering b-tree, no JSON) emits the pairs of those rowids. The affected
 * table has no index by record id (db.c says why), so a scan is the way.
 */
#include "supervisor/vulndb/diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/vulndb/internal.h"

struct rowids {
	sqlite3_int64 *v;
	size_t n, cap;
};

static int rowids_add(struct rowids *r, sqlite3_int64 id, size_t *total)
{
	if (*total >= CS_VULNDB_DIFF_MAX_RECORDS)
		return cs_err_set(CS_ELIMIT, "database diff: more than %u changed records",
				  CS_VULNDB_DIFF_MAX_RECORDS);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024, bytes;
		sqlite3_int64 *v;
		if (__builtin_mul_overflow(cap, sizeof(*v), &bytes))
			return cs_err_set(CS_ENOMEM, "out of memory");
		v = realloc(r->v, bytes);
		if (v == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = id;
	(*total)++;
	return 0;
}

static int cmp_rowid(const void *a, const void *b)
{
	sqlite3_int64 x = *(const sqlite3_int64 *)a, y = *(const sqlite3_int64 *)b;

	return (x > y) - (x < y);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static const char list_sql[] =
	"SELECT rowid, id, modified, coalesce(published, ''), coalesce(withdrawn, '')"
	" FROM records ORDER BY id";

/* One step of a record list: 1 row, 0 end, <0 error. */
static int step(struct cs_vulndb *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return cs_vulndb_sql_err(db->h, rc, "database diff: reading the records");
}

static int same_times(sqlite3_stmt *a, sqlite3_stmt *b)
{
	int i;

	for (i = 2; i <= 4; i++)
		if (strcmp(col(a, i), col(b, i)) != 0)
			return 0;
	return 1;
}

/* The merge walk: rowids of changed records, per side. */
static int changed_records(struct cs_vulndb *o, struct cs_vulndb *n, struct rowids *ro,
			   struct rowids *rn, size_t *total, size_t *nchanged)
{
	sqlite3_stmt *so = NULL, *sn = NULL;
	int r, ho, hn, rc;

	rc = sqlite3_prepare_v2(o->h, list_sql, -1, &so, NULL);
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(o->h, rc, "database diff: preparing");
		goto out;
	}
	rc = sqlite3_prepare_v2(n->h, list_sql, -1, &sn, NULL);
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(n->h, rc, "database diff: preparing");
		goto out;
	}
	if ((ho = step(o, so)) < 0) {
		r = ho;
		goto out;
	}
	if ((hn = step(n, sn)) < 0) {
		r = hn;
		goto out;
	}
	r = 0;
	while (ho > 0 || hn > 0) {
		/* ids compare in byte order, as SQLite's BINARY collation sorts them */
		int c = ho == 0 ? 1 : hn == 0 ? -1 : strcmp(col(so, 1), col(sn, 1));
		size_t before = ro->n + rn->n;
		if (c < 0) {          /* only in the old database: removed */
			r = rowids_add(ro, sqlite3_column_int64(so, 0), total);
		} else if (c > 0) {   /* only in the new one: added */
			r = rowids_add(rn, sqlite3_column_int64(sn, 0), total);
		} else if (!same_times(so, sn)) {
			r = rowids_add(ro, sqlite3_column_int64(so, 0), total);
			if (r == 0)
				r = rowids_add(rn, sqlite3_column_int64(sn, 0), total);
		}
		if (r != 0)
			goto out;
		if (ro->n + rn->n > before)
			(*nchanged)++;
		if (c <= 0 && (ho = step(o, so)) < 0) {
			r = ho;
			goto out;
		}
		if (c >= 0 && (hn = step(n, sn)) < 0) {
			r = hn;
			goto out;
		}
	}
out:
	sqlite3_finalize(so);
	sqlite3_finalize(sn);
	return r;
}

/* set[ecosystem][package] = true for every affected row of a listed rowid. */
static int collect_pairs(struct cs_vulndb *db, const struct rowids *ids, json_t *set,
			 size_t *npairs)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (ids->n == 0)
		return 0;
	rc = sqlite3_prepare_v2(db->h, "SELECT ecosystem_full, package_name, record_id FROM affected",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(db->h, rc, "database diff: preparing");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 2);
		const char *eco = col(st, 0), *pkg = col(st, 1);
		json_t *pkgs;

		if (bsearch(&id, ids->v, ids->n, sizeof(*ids->v), cmp_rowid) == NULL)
			continue;
		pkgs = json_object_get(set, eco);
		if (pkgs == NULL) {
			pkgs = json_object();
			if (pkgs == NULL || json_object_set_new(set, eco, pkgs) != 0) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
		}
		if (json_object_get(pkgs, pkg) != NULL)
			continue;
		if (*npairs >= CS_VULNDB_DIFF_MAX_PAIRS) {
			r = cs_err_set(CS_ELIMIT, "database diff: more than %u changed packages",
				       CS_VULNDB_DIFF_MAX_PAIRS);
			goto out;
		}
		if (json_object_set_new(pkgs, pkg, json_true()) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		(*npairs)++;
	}
	if (rc != SQLITE_DONE)
		r = cs_vulndb_sql_err(db->h, rc, "database diff: reading the affected packages");
out:
	sqlite3_finalize(st);
	return r;
}

/* The keys of o, sorted, into *keys (malloc'd array of borrowed strings). */
static int sorted_keys(const char ***keys, size_t *n, json_t *o)
{
	const char *k;
	json_t *v;
	size_t i = 0, cnt = json_object_size(o);

	*keys = calloc(cnt > 0 ? cnt : 1, sizeof(**keys));
	if (*keys == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_object_foreach(o, k, v) {
		(void)v;
		(*keys)[i++] = k;
	}
	qsort(*keys, cnt, sizeof(**keys), cmp_cstr);
	*n = cnt;
	return 0;
}

static int flatten(json_t *out, json_t *set)
{
	const char **ecos = NULL, **pkgs = NULL;
	size_t ne = 0, np = 0, i, j;
	int r;

	if ((r = sorted_keys(&ecos, &ne, set)) != 0)
		return r;
	for (i = 0; i < ne && r == 0; i++) {
		if ((r = sorted_keys(&pkgs, &np, json_object_get(set, ecos[i]))) != 0)
			break;
		for (j = 0; j < np; j++) {
			if (json_array_append_new(out, json_pack("[s, s]", ecos[i], pkgs[j])) != 0) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				break;
			}
		}
		free(pkgs);
		pkgs = NULL;
	}
	free(ecos);
	return r;
}

int cs_vulndb_diff(json_t **pairs, size_t *records, struct cs_vulndb *old_db,
		   struct cs_vulndb *new_db)
{
	struct rowids ro = {0}, rn = {0};
	json_t *set = NULL, *out = NULL;
	size_t total = 0, npairs = 0, nchanged = 0;
	int r;

	*pairs = NULL;
	if (records != NULL)
		*records = 0;
	if (old_db == NULL || new_db == NULL)
		return cs_err_set(CS_EINVAL, "database diff: two databases are needed");
	set = json_object();
	out = json_array();
	if (set == NULL || out == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = changed_records(old_db, new_db, &ro, &rn, &total, &nchanged)) != 0)
		goto out;
	if (ro.n > 0)
		qsort(ro.v, ro.n, sizeof(*ro.v), cmp_rowid);
	if (rn.n > 0)
		qsort(rn.v, rn.n, sizeof(*rn.v), cmp_rowid);
	if ((r = collect_pairs(old_db, &ro, set, &npairs)) != 0 ||
	    (r = collect_pairs(new_db, &rn, set, &npairs)) != 0 ||
	    (r = flatten(out, set)) != 0)
		goto out;
	if (records != NULL)
		*records = nchanged;
	*pairs = out;
	out = NULL;
out:
	free(ro.v);
	free(rn.v);
	json_decref(set);
	json_decref(out);
	return r;
}
