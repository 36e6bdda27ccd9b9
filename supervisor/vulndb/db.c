/*
 * db.c - the schema, and reading a published database.
 */
#include "supervisor/vulndb/internal.h"

#define KEY_BOUND (CS_VULNDB_MAX_NAME * 2 + 8)

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/errors.h"

/*
 * Schema 1. records holds each OSV record once, as compact JSON text (the
 * bytes as published minus the whitespace between tokens). affected is the
 * lookup index, one row per distinct (ecosystem, package) of a record; its
 * primary key starts with (ecosystem_base, package_name) so one covering
 * b-tree serves both a base lookup ("Debian", every release) and an exact
 * one ("Debian:12": the same prefix plus ecosystem_full). aliases maps every
 * name of a vulnerability (the record's id and each of its aliases) to the
 * records that carry it. No index by record_id: an update recomputes the
 * old rows' keys from the old record, which keeps bulk imports to three
 * b-tree inserts per affected row fewer.
 */
const char cs_vulndb_schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE sources(url TEXT PRIMARY KEY, kind TEXT NOT NULL, etag TEXT,"
	" last_modified TEXT, imported_at TEXT NOT NULL, records INTEGER NOT NULL DEFAULT 0)"
	" WITHOUT ROWID;"
	"CREATE TABLE records(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" modified TEXT NOT NULL, published TEXT, withdrawn TEXT, summary TEXT,"
	" header BLOB NOT NULL, json TEXT NOT NULL);"
	"CREATE TABLE affected(ecosystem_base TEXT NOT NULL, package_name TEXT NOT NULL,"
	" ecosystem_full TEXT NOT NULL, record_id INTEGER NOT NULL, id TEXT NOT NULL,"
	" prog BLOB NOT NULL,"
	" PRIMARY KEY(ecosystem_base, package_name, ecosystem_full, record_id)) WITHOUT ROWID;"
	"CREATE TABLE aliases(name TEXT NOT NULL, record_id INTEGER NOT NULL,"
	" PRIMARY KEY(name, record_id)) WITHOUT ROWID;";

int cs_vulndb_sql_err(sqlite3 *h, int rc, const char *what)
{
	return cs_err_set(CS_EDB, "%s: %s (%d)", what, h != NULL ? sqlite3_errmsg(h) :
			  sqlite3_errstr(rc), rc);
}

int cs_vulndb_sql_schema(sqlite3 *h, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(h, rc, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cs_vulndb_sql_err(h, rc, "reading the schema version");
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int cs_vulndb_sql_open_rw(sqlite3 **out, const char *path, int create)
{
	sqlite3 *h = NULL;
	int rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;

	*out = NULL;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &h, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = cs_vulndb_sql_err(h, rc, "opening the database");
		sqlite3_close(h);
		return rc;
	}
	/* A build file is private until renamed into place and fsync'd before
	 * that, so no journal and no syncs while it is being filled. */
	rc = sqlite3_exec(h, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			  " PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY;"
			  " PRAGMA cache_size=-65536; PRAGMA trusted_schema=OFF;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = cs_vulndb_sql_err(h, rc, "setting up the database");
		sqlite3_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* "file:" URI for path with immutable=1; RFC 3986 escapes for the bytes
 * SQLite's URI parser treats specially. */
static int ro_uri(struct cs_buf *b, const char *path)
{
	int r;

	if ((r = cs_buf_addstr(b, "file:")) != 0)
		return r;
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p > 0x7e)
			r = cs_buf_printf(b, "%%%02X", *p);
		else
			r = cs_buf_add(b, p, 1);
		if (r != 0)
			return r;
	}
	if ((r = cs_buf_addstr(b, "?immutable=1")) != 0)
		return r;
	return cs_buf_cstr(b);
}

static char *meta_get(sqlite3 *h, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int prep(struct cs_vulndb *db, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(db->h, rc, "preparing a query");
	return 0;
}

int cs_vulndb_open(struct cs_vulndb **out, const char *path, int readonly)
{
	struct cs_vulndb *db = NULL;
	struct cs_buf uri;
	struct stat sb;
	int r, rc, version = 0;

	*out = NULL;
	cs_buf_init(&uri, 3 * PATH_MAX + 64);
	if (path == NULL)
		return cs_err_set(CS_EINVAL, "no database path");
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return cs_err_set(CS_ENOTFOUND, "%s: no such database (run `cellscan db "
					  "update` or `cellscan db import`)", path);
		return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return cs_err_set(CS_EDB, "%s: not a regular file", path);
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (readonly) {
		if ((r = ro_uri(&uri, path)) != 0)
			goto out;
		rc = sqlite3_open_v2((const char *)uri.data, &db->h, SQLITE_OPEN_READONLY |
				     SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	} else {
		rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_EXRESCODE, NULL);
	}
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(db->h, rc, "opening the database");
		goto out;
	}
	sqlite3_exec(db->h, "PRAGMA trusted_schema=OFF", NULL, NULL, NULL);
	/* A published file is never written again (vulndb.h), so a read-only
	 * handle may map it: record texts are then read in place instead of
	 * being copied through SQLite's page cache. SQLite caps the size at
	 * its compile-time maximum and ignores it where mmap is unavailable. */
	if (readonly)
		sqlite3_exec(db->h, "PRAGMA mmap_size=4294967296", NULL, NULL, NULL);
	if ((r = cs_vulndb_sql_schema(db->h, &version)) != 0) {
		r = cs_err_prefix(r, "%s", path);
		goto out;
	}
	if (version != CS_VULNDB_SCHEMA) {
		r = cs_err_set(version == 0 ? CS_EDB : CS_EUNSUPPORTED,
			       "%s: database schema %d, this cellscan reads schema %d%s", path,
			       version, CS_VULNDB_SCHEMA,
			       version == 0 ? " (not a cellscan vulnerability database?)" :
			       "; rebuild it with `cellscan db update` or `cellscan db import`");
		goto out;
	}
	/* Look-ups read the covering primary key of affected for the record
	 * ids, then each record by rowid; the id order is restored in C. (An
	 * ORDER BY id over the joined rows made SQLite copy every record's text
	 * through its sorter.) A full ecosystem key covers itself and every
	 * "key:..." below it (?4 = key ":", ?5 = key ";", the next byte). */
	if ((r = prep(db, &db->ids_full,
		      "SELECT DISTINCT record_id FROM affected WHERE ecosystem_base = ?3 AND"
		      " package_name = ?2 AND (ecosystem_full = ?1 OR (ecosystem_full >= ?4 AND"
		      " ecosystem_full < ?5)) ORDER BY record_id")) != 0 ||
	    (r = prep(db, &db->ids_base,
		      "SELECT DISTINCT record_id FROM affected WHERE ecosystem_base = ?1 AND"
		      " package_name = ?2 ORDER BY record_id")) != 0 ||
	    (r = prep(db, &db->rows_full,
		      "SELECT record_id, prog FROM affected WHERE ecosystem_base = ?3 AND"
		      " package_name = ?2 AND (ecosystem_full = ?1 OR (ecosystem_full >= ?4 AND"
		      " ecosystem_full < ?5))")) != 0 ||
	    (r = prep(db, &db->rows_base,
		      "SELECT record_id, prog FROM affected WHERE ecosystem_base = ?1 AND"
		      " package_name = ?2")) != 0 ||
	    (r = prep(db, &db->header, "SELECT header FROM records WHERE rowid = ?1")) != 0 ||
	    (r = prep(db, &db->by_rowid, "SELECT id, json FROM records WHERE rowid = ?1")) != 0 ||
	    (r = prep(db, &db->get, "SELECT json FROM records WHERE id = ?1")) != 0 ||
	    (r = prep(db, &db->same,
		      "SELECT id FROM records WHERE rowid IN (SELECT record_id FROM aliases"
		      " WHERE name IN (SELECT value FROM json_each(?1))) ORDER BY id")) != 0)
		goto out;
	db->digest = meta_get(db->h, "digest");
	db->build_time = meta_get(db->h, "build_time");
	*out = db;
	db = NULL;
	r = 0;
out:
	cs_buf_free(&uri);
	cs_vulndb_close(db);
	return r;
}

void cs_vulndb_close(struct cs_vulndb *db)
{
	if (db == NULL)
		return;
	sqlite3_finalize(db->ids_full);
	sqlite3_finalize(db->ids_base);
	sqlite3_finalize(db->by_rowid);
	sqlite3_finalize(db->get);
	sqlite3_finalize(db->same);
	sqlite3_finalize(db->rows_full);
	sqlite3_finalize(db->rows_base);
	sqlite3_finalize(db->header);
	sqlite3_close(db->h);
	free(db->digest);
	free(db->build_time);
	free(db);
}

const char *cs_vulndb_digest(const struct cs_vulndb *db)
{
	return db->digest != NULL ? db->digest : "";
}

const char *cs_vulndb_build_time(const struct cs_vulndb *db)
{
	return db->build_time != NULL ? db->build_time : "";
}

static int row_json(sqlite3 *h, sqlite3_stmt *st, json_t **out)
{
	const void *txt = sqlite3_column_blob(st, 0);
	int len = sqlite3_column_bytes(st, 0);
	json_error_t jerr;

	(void)h;
	*out = json_loadb(txt != NULL ? txt : "", (size_t)len, 0, &jerr);
	if (*out == NULL)
		return cs_err_set(CS_EDB, "a stored record does not parse: %s", jerr.text);
	return 0;
}

/* Binds (ecosystem, package) to the ids_* or rows_* statement pair: full
 * (?1 key, ?2 name, ?3 base, ?4 key ":", ?5 key ";") or base (?1, ?2).
 * Returns the statement, or NULL when nothing can match (a name longer than
 * any stored one). bufs: 4 scratch strings of CS_VULNDB_MAX_NAME + 2. */
struct keybufs {
	char key[CS_VULNDB_MAX_NAME + 2], base[CS_VULNDB_MAX_NAME + 2];
	char lo[KEY_BOUND], hi[KEY_BOUND];
};

static sqlite3_stmt *bind_key(struct keybufs *k, sqlite3_stmt *full, sqlite3_stmt *base,
			      const char *ecosystem, const char *package)
{
	sqlite3_stmt *st;
	size_t el = strlen(ecosystem);

	if (cs_vulndb_ecosystem_base(k->base, sizeof(k->base), ecosystem) != 0 ||
	    cs_vulndb_package_key(k->key, sizeof(k->key), ecosystem, package) != 0 ||
	    el + 2 > sizeof(k->lo)) {
		cs_err_clear();
		return NULL;
	}
	if (strchr(ecosystem, ':') != NULL) {
		st = full;
		memcpy(k->lo, ecosystem, el);
		memcpy(k->hi, ecosystem, el);
		k->lo[el] = ':';
		k->hi[el] = ';';
		k->lo[el + 1] = k->hi[el + 1] = '\0';
		sqlite3_bind_text(st, 1, ecosystem, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, k->base, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, k->lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, k->hi, -1, SQLITE_STATIC);
	} else {
		st = base;
		sqlite3_bind_text(st, 1, k->base, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 2, k->key, -1, SQLITE_STATIC);
	return st;
}

int cs_vulndb_lookup_ids(struct cs_vulndb *db, const char *ecosystem, const char *package,
			 sqlite3_int64 **ids, size_t *n, size_t *cap)
{
	struct keybufs k;
	sqlite3_stmt *st;
	int r = 0, rc;

	*n = 0;
	if ((st = bind_key(&k, db->ids_full, db->ids_base, ecosystem, package)) == NULL)
		return 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			sqlite3_int64 *p;

			/* No more ids than records, and those are capped per source. */
			if (*cap >= SIZE_MAX / 2 / sizeof(**ids) ||
			    (p = realloc(*ids, nc * sizeof(**ids))) == NULL) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			*ids = p;
			*cap = nc;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		r = cs_vulndb_sql_err(db->h, rc, "lookup");
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int cs_vulndb_rows(struct cs_vulndb *db, const char *ecosystem, const char *package,
		   int (*cb)(void *ctx, long long rec, const void *row, size_t len), void *ctx)
{
	struct keybufs k;
	sqlite3_stmt *st;
	int r = 0, rc;

	if (db == NULL || ecosystem == NULL || package == NULL || cb == NULL)
		return cs_err_set(CS_EINVAL, "rows: missing argument");
	if ((st = bind_key(&k, db->rows_full, db->rows_base, ecosystem, package)) == NULL)
		return 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);

		if ((r = cb(ctx, sqlite3_column_int64(st, 0), p != NULL ? p : "", (size_t)len)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = cs_vulndb_sql_err(db->h, rc, "lookup");
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int cs_vulndb_header(struct cs_vulndb *db, long long rec, const void **hdr, size_t *len)
{
	sqlite3_stmt *st = db->header;
	int rc;

	*hdr = NULL;
	*len = 0;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, rec);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return cs_err_set(CS_ENOTFOUND, "no record at rowid %lld", rec);
	if (rc != SQLITE_ROW)
		return cs_vulndb_sql_err(db->h, rc, "reading a record header");
	*hdr = sqlite3_column_blob(st, 0);
	*len = (size_t)sqlite3_column_bytes(st, 0);
	if (*hdr == NULL)
		*hdr = "";
	/* The statement stays on its row, so the blob stays valid until the
	 * next call resets it. */
	return 0;
}

int cs_vulndb_fetch(struct cs_vulndb *db, sqlite3_int64 rowid, json_t **out, size_t *text_len)
{
	sqlite3_stmt *st = db->by_rowid;
	json_error_t jerr;
	const char *col, *id;
	int r, rc;

	*out = NULL;
	sqlite3_bind_int64(st, 1, rowid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = cs_err_set(CS_ENOTFOUND, "no record at rowid %lld", (long long)rowid);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = cs_vulndb_sql_err(db->h, rc, "reading a record");
		goto out;
	}
	if (text_len != NULL)
		*text_len = (size_t)sqlite3_column_bytes(st, 1);
	*out = json_loadb(sqlite3_column_blob(st, 1) != NULL ? sqlite3_column_blob(st, 1) : "",
			  (size_t)sqlite3_column_bytes(st, 1), 0, &jerr);
	if (*out == NULL) {
		r = cs_err_set(CS_EDB, "a stored record does not parse: %s", jerr.text);
		goto out;
	}
	/* The id column and the record's id are written from the same value
	 * (and look-ups order by the one they read): a file where they
	 * disagree was not written by cellscan. */
	col = (const char *)sqlite3_column_text(st, 0);
	id = json_string_value(json_object_get(*out, "id"));
	if (id == NULL || col == NULL || strcmp(id, col) != 0) {
		json_decref(*out);
		*out = NULL;
		r = cs_err_set(CS_EDB, "record at rowid %lld: id column and record disagree",
			       (long long)rowid);
		goto out;
	}
	r = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct cs_vulndb_hit *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	/* ids are unique; the rowid only keeps the order total */
	return c != 0 ? c : (x->rowid > y->rowid) - (x->rowid < y->rowid);
}

void cs_vulndb_sort_hits(struct cs_vulndb_hit *hits, size_t n)
{
	if (n > 1)
		qsort(hits, n, sizeof(*hits), hit_cmp);
}

int cs_vulndb_lookup(struct cs_vulndb *db, const char *ecosystem, const char *package,
		     int (*cb)(void *ctx, json_t *record), void *ctx)
{
	sqlite3_int64 *ids = NULL;
	struct cs_vulndb_hit *hits = NULL;
	size_t n = 0, cap = 0, i, nh = 0;
	int r;

	if (db == NULL || ecosystem == NULL || package == NULL || cb == NULL)
		return cs_err_set(CS_EINVAL, "lookup: missing argument");
	if ((r = cs_vulndb_lookup_ids(db, ecosystem, package, &ids, &n, &cap)) != 0 || n == 0)
		goto out;
	hits = calloc(n, sizeof(*hits));
	if (hits == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (nh = 0; nh < n; nh++) {
		hits[nh].rowid = ids[nh];
		if ((r = cs_vulndb_fetch(db, ids[nh], &hits[nh].rec, NULL)) != 0)
			goto out;
		hits[nh].id = json_string_value(json_object_get(hits[nh].rec, "id"));
	}
	cs_vulndb_sort_hits(hits, nh);
	for (i = 0; i < nh; i++)
		if ((r = cb(ctx, hits[i].rec)) != 0)
			break;
out:
	for (i = 0; i < nh; i++)
		json_decref(hits[i].rec);
	free(hits);
	free(ids);
	return r;
}

int cs_vulndb_get(struct cs_vulndb *db, const char *id, json_t **out)
{
	int r, rc;

	*out = NULL;
	if (db == NULL || id == NULL)
		return cs_err_set(CS_EINVAL, "get: missing argument");
	sqlite3_bind_text(db->get, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(db->get);
	if (rc == SQLITE_ROW)
		r = row_json(db->h, db->get, out);
	else if (rc == SQLITE_DONE)
		r = cs_err_set(CS_ENOTFOUND, "no record %.256s", id);
	else
		r = cs_vulndb_sql_err(db->h, rc, "get");
	sqlite3_reset(db->get);
	sqlite3_clear_bindings(db->get);
	return r;
}

int cs_vulndb_same(struct cs_vulndb *db, const char *id,
		   int (*cb)(void *ctx, const char *id), void *ctx)
{
	json_t *rec = NULL, *names = NULL;
	char *text = NULL;
	int r, rc;

	if (db == NULL || id == NULL || cb == NULL)
		return cs_err_set(CS_EINVAL, "same: missing argument");
	if ((r = cs_vulndb_get(db, id, &rec)) != 0) {
		if (r == CS_ENOTFOUND) {
			cs_err_clear();
			return 0;
		}
		return r;
	}
	/* The record's names: its id and aliases, as a JSON array for json_each. */
	names = json_array();
	if (names == NULL || json_array_append(names, json_object_get(rec, "id")) != 0 ||
	    (json_is_array(json_object_get(rec, "aliases")) &&
	     json_array_extend(names, json_object_get(rec, "aliases")) != 0) ||
	    (text = json_dumps(names, JSON_COMPACT)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	sqlite3_bind_text(db->same, 1, text, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(db->same)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(db->same, 0);

		if (s != NULL && (r = cb(ctx, s)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = cs_vulndb_sql_err(db->h, rc, "aliases");
	sqlite3_reset(db->same);
	sqlite3_clear_bindings(db->same);
out:
	free(text);
	json_decref(names);
	json_decref(rec);
	return r;
}

static json_t *col_str(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? json_string(s) : json_null();
}

static int info_query(struct cs_vulndb *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(db->h, rc, "status");
	return 0;
}

int cs_vulndb_info(struct cs_vulndb *db, json_t **out)
{
	json_t *o = NULL, *ecos, *srcs;
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = NULL;
	o = json_pack("{s:i, s:s?, s:s?, s:{}, s:[]}", "schema", CS_VULNDB_SCHEMA,
		      "build_time", db->build_time, "digest", db->digest,
		      "ecosystems", "sources");
	if (o == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	ecos = json_object_get(o, "ecosystems");
	srcs = json_object_get(o, "sources");
	if ((r = info_query(db, "SELECT count(*), count(withdrawn) FROM records", &st)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = cs_vulndb_sql_err(db->h, rc, "status");
		goto out;
	}
	json_object_set_new(o, "records", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(o, "withdrawn", json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = info_query(db, "SELECT ecosystem_full, count(DISTINCT record_id) FROM affected"
			    " GROUP BY ecosystem_full ORDER BY ecosystem_full", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *e = (const char *)sqlite3_column_text(st, 0);

		if (e != NULL)
			json_object_set_new(ecos, e, json_integer(sqlite3_column_int64(st, 1)));
	}
	if (rc != SQLITE_DONE) {
		r = cs_vulndb_sql_err(db->h, rc, "status");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = info_query(db, "SELECT url, kind, etag, last_modified, imported_at, records"
			    " FROM sources ORDER BY url", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *s = json_object();

		if (s == NULL || json_array_append_new(srcs, s) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		json_object_set_new(s, "url", col_str(st, 0));
		json_object_set_new(s, "kind", col_str(st, 1));
		json_object_set_new(s, "etag", col_str(st, 2));
		json_object_set_new(s, "last_modified", col_str(st, 3));
		json_object_set_new(s, "imported_at", col_str(st, 4));
		json_object_set_new(s, "records", json_integer(sqlite3_column_int64(st, 5)));
	}
	if (rc != SQLITE_DONE) {
		r = cs_vulndb_sql_err(db->h, rc, "status");
		goto out;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	sqlite3_finalize(st);
	json_decref(o);
	return r;
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			int e = errno;

			*p = '/';
			return cs_err_set(CS_EIO, "mkdir %s: %s", path, strerror(e));
		}
		*p = '/';
	}
	return 0;
}

int cs_vulndb_default_path(char *out, size_t n, int mkdirs)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int len;

	/* XDG Base Directory: a relative $XDG_DATA_HOME is invalid and ignored. */
	if (x != NULL && x[0] == '/')
		len = snprintf(out, n, "%s/cellscan/vulndb.sqlite", x);
	else if (home != NULL && home[0] != '\0')
		len = snprintf(out, n, "%s/.local/share/cellscan/vulndb.sqlite", home);
	else
		return cs_err_set(CS_ENOTFOUND, "neither XDG_DATA_HOME nor HOME is set; use --db FILE");
	if (len < 0 || (size_t)len >= n)
		return cs_err_set(CS_ELIMIT, "database path too long");
	return mkdirs ? mkdir_p(out) : 0;
}
