/*
 * rpm_sqlite.c - the SQLite rpm database (rpm >= 4.16, lib/backend/sqlite.c):
 * table Packages(hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL), one header
 * blob per row, listed by rpm in hnum order.
 *
 * The worker has no file access, so the database is opened from memory only:
 * a ":memory:" connection into which a private copy of the bytes is
 * deserialized read-only (memdb VFS; no file, no mmap, temp_store=memory).
 * The copy exists because rpm keeps its database in WAL mode, and the memdb
 * VFS cannot open a WAL-mode image: the two header bytes that say "WAL" are
 * set back to "legacy" in the copy. Rows still sitting in an un-checkpointed
 * rpmdb.sqlite-wal file are therefore not seen (that file is a separate
 * layer entry).
 *
 * The database is hostile: defensive mode, untrusted schema, views and
 * triggers off, a check that Packages is a plain table with stored columns
 * (not a view, virtual table or generated column that could compute
 * forever), and a progress handler that bounds the work.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/errors.h"
#include "worker/analyzers/rpm_internal.h"

/* Progress callbacks every 1000 VM steps; 100000 of them is ~1e8 steps. */
#define SQL_PROGRESS_OPS 1000
#define SQL_PROGRESS_MAX 100000u

static const char sqlite_magic[16] = "SQLite format 3";  /* with its NUL */

int cs_rpm_sqlite_probe(const uint8_t *data, size_t len)
{
	return len >= 16 && memcmp(data, sqlite_magic, 16) == 0;
}

static int progress(void *arg)
{
	unsigned *n = arg;

	return ++*n > SQL_PROGRESS_MAX;
}

int cs_rpm_sqlite_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy = NULL;
	unsigned steps = 0;
	int r = 0, rc, is_table = 0;

	if (len < 100)
		return cs_emit_warnf(e, path, "sqlite: file of %zu bytes is shorter than the database header", len);
	if ((uint64_t)len > (uint64_t)INT64_MAX)
		return cs_emit_warnf(e, path, "sqlite: file too large");

	rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_MEMORY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = rc == SQLITE_NOMEM ? cs_err_set(CS_ENOMEM, "sqlite: out of memory")
				       : cs_emit_warnf(e, path, "sqlite: cannot open an in-memory connection: %s",
						       sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_progress_handler(db, SQL_PROGRESS_OPS, progress, &steps);
	if (sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL) != SQLITE_OK) {
		r = cs_emit_warnf(e, path, "sqlite: %s", sqlite3_errmsg(db));
		goto out;
	}

	copy = sqlite3_malloc64(len);
	if (copy == NULL) {
		r = cs_err_set(CS_ENOMEM, "sqlite: out of memory copying %zu bytes", len);
		goto out;
	}
	memcpy(copy, data, len);
	/* File format write/read versions: 2 = WAL, which memdb cannot open. */
	if (copy[18] == 2)
		copy[18] = 1;
	if (copy[19] == 2)
		copy[19] = 1;
	/* On failure too, FREEONCLOSE hands the buffer to SQLite. */
	rc = sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
				 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
	copy = NULL;
	if (rc != SQLITE_OK) {
		r = rc == SQLITE_NOMEM ? cs_err_set(CS_ENOMEM, "sqlite: out of memory")
				       : cs_emit_warnf(e, path, "sqlite: cannot load the database: %s", sqlite3_errmsg(db));
		goto out;
	}

	/*
	 * Packages must be an ordinary table whose hnum and blob are stored,
	 * not computed: a view, a virtual table or a virtual generated column
	 * would run the database's own code on every read.
	 */
	rc = sqlite3_prepare_v2(db, "SELECT type, sql FROM sqlite_schema WHERE name = 'Packages' COLLATE NOCASE",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			const char *q = (const char *)sqlite3_column_text(st, 1);
			if (t != NULL && strcmp(t, "table") == 0 && q != NULL && sqlite3_strnicmp(q, "CREATE TABLE", 12) == 0)
				is_table = 1;
		}
	}
	if (rc != SQLITE_DONE) {
		r = cs_emit_warnf(e, path, "sqlite: cannot read the schema: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!is_table) {
		r = cs_emit_warnf(e, path, "sqlite: no Packages table");
		goto out;
	}
	rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_xinfo('Packages') "
				"WHERE name IN ('hnum', 'blob') AND hidden NOT IN (0, 3)", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0)
		rc = SQLITE_MISUSE;
	if (rc != SQLITE_ROW) {
		r = cs_emit_warnf(e, path, "sqlite: Packages columns are computed or unreadable: %s",
				  rc == SQLITE_MISUSE ? "generated columns" : sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	rc = sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		r = cs_emit_warnf(e, path, "sqlite: cannot query Packages: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 hnum = sqlite3_column_int64(st, 0);
		const uint8_t *blob;
		int n;
		char where[64];

		snprintf(where, sizeof(where), "sqlite hnum %lld", (long long)hnum);
		if (sqlite3_column_type(st, 1) != SQLITE_BLOB) {
			if ((r = cs_emit_warnf(e, path, "sqlite: Packages row %lld has no blob", (long long)hnum)) != 0)
				goto out;
			continue;
		}
		blob = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		if (blob == NULL || n <= 0) {
			if (sqlite3_errcode(db) == SQLITE_NOMEM) {
				r = cs_err_set(CS_ENOMEM, "sqlite: out of memory");
				goto out;
			}
			continue;
		}
		if ((r = cs_rpm_header_emit(e, path, where, blob, (size_t)n)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			r = cs_err_set(CS_ENOMEM, "sqlite: out of memory");
		else
			r = cs_emit_warnf(e, path, "sqlite: reading Packages stopped: %s%s", sqlite3_errmsg(db),
					  steps > SQL_PROGRESS_MAX ? " (work limit reached)" : "");
	}
out:
	sqlite3_finalize(st);
	sqlite3_free(copy);
	sqlite3_close(db);
	return r;
}
