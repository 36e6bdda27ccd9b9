/*
 * db.c - the SQL layer under the store: SQLite here, PostgreSQL in db_pg.c.
 * The rest of the store speaks only db_query()/db_step()/db_exec().
 */
#include "supervisor/store/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/errors.h"

static int sql_err(struct cs_store *s, int rc, const char *what)
{
	sqlite3 *h = s->h;
	int code = CS_EDB;

	if ((rc & 0xff) == SQLITE_NOMEM)
		code = CS_ENOMEM;
	return cs_err_set(code, "store: %s: %s (%d)", what,
			  h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc), rc);
}

static int sqlite_exec_simple(struct cs_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		cs_err_set((rc & 0xff) == SQLITE_NOMEM ? CS_ENOMEM : CS_EDB, "store: %s: %s (%d)",
			   what, msg != NULL ? msg : sqlite3_errstr(rc), rc);
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_NOMEM ? CS_ENOMEM : CS_EDB;
	}
	return 0;
}

int cs_store_sqlite_open(struct cs_store *s, const char *path)
{
	sqlite3 *h = NULL;
	int rc, r;

	if (path == NULL || path[0] == '\0')
		return cs_err_set(CS_EINVAL, "store: empty SQLite path");
	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		r = cs_err_set(CS_EDB, "store: opening %s: %s", path,
			       h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return r;
	}
	s->h = h;
	s->kind = DB_SQLITE;
	sqlite3_extended_result_codes(h, 1);
	/* The file is ours, but a store copied from elsewhere must not run
	 * code from its schema (triggers, views calling functions) or let SQL
	 * corrupt the file on purpose. */
	sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_busy_timeout(h, s->opt.busy_timeout_ms);
	/* WAL: readers never block the writer; FULL: a committed job state
	 * survives a power cut, which the exactly-once argument needs. */
	/* Switching a fresh file to WAL needs a lock SQLite does not wait for
	 * (the busy handler is skipped to avoid a deadlock), so several
	 * processes opening one new store at once retry here, within the busy
	 * timeout. */
	for (int waited = 0;; waited += 10) {
		rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		if (waited >= (int)s->opt.busy_timeout_ms)
			break;
		sqlite3_sleep(10);
	}
	if ((r = sqlite_exec_simple(s, "PRAGMA journal_mode=WAL", "enabling WAL")) != 0 ||
	    (r = sqlite_exec_simple(s, "PRAGMA synchronous=FULL", "setting synchronous")) != 0 ||
	    (r = sqlite_exec_simple(s, "PRAGMA foreign_keys=ON", "enabling foreign keys")) != 0)
		return cs_err_prefix(r, "%s", path);
	return 0;
}

void cs_store_sqlite_close(struct cs_store *s)
{
	for (int i = 0; i < STMT_CACHE_N; i++) {
		if (s->cache[i].st != NULL)
			sqlite3_finalize(s->cache[i].st);
		s->cache[i].st = NULL;
		s->cache[i].sql = NULL;
	}
	sqlite3_close(s->h);
	s->h = NULL;
}

/* A prepared statement for sql: the cached one when free, else a new one
 * (also cached when there is room). */
static int sqlite_prepare(struct cs_store *s, struct dbq *q, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int free_slot = -1, rc;

	for (int i = 0; i < STMT_CACHE_N; i++) {
		if (s->cache[i].sql == sql && !s->cache[i].busy) {
			s->cache[i].busy = 1;
			q->st = s->cache[i].st;
			q->cached = i + 1;
			return 0;
		}
		if (s->cache[i].sql == NULL && free_slot < 0)
			free_slot = i;
	}
	rc = sqlite3_prepare_v3(s->h, sql, -1, free_slot >= 0 ? SQLITE_PREPARE_PERSISTENT : 0,
				&st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, "preparing a statement");
	if (st == NULL)
		return cs_err_set(CS_EINTERNAL, "store: empty statement");
	q->st = st;
	q->cached = 0;
	if (free_slot >= 0) {
		s->cache[free_slot].sql = sql;
		s->cache[free_slot].st = st;
		s->cache[free_slot].busy = 1;
		q->cached = free_slot + 1;
	}
	return 0;
}

int db_query(struct cs_store *s, struct dbq *q, const char *sql, const struct dbv *p, int n)
{
	int r, rc = SQLITE_OK;

	memset(q, 0, sizeof(*q));
	q->s = s;
	if (s->kind == DB_PG)
		return cs_store_pg_query(q, sql, p, n);
	if ((r = sqlite_prepare(s, q, sql)) != 0)
		return r;
	if (sqlite3_bind_parameter_count(q->st) != n) {
		db_end(q);
		return cs_err_set(CS_EINTERNAL, "store: statement wants %d parameters, got %d",
				  sqlite3_bind_parameter_count(q->st), n);
	}
	for (int i = 0; i < n && rc == SQLITE_OK; i++) {
		switch (p[i].t) {
		case DBV_INT:
			rc = sqlite3_bind_int64(q->st, i + 1, p[i].i);
			break;
		case DBV_TEXT:
			rc = sqlite3_bind_text64(q->st, i + 1, p[i].s, p[i].n, SQLITE_STATIC,
						 SQLITE_UTF8);
			break;
		default:
			rc = sqlite3_bind_null(q->st, i + 1);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		r = sql_err(s, rc, "binding a value");
		db_end(q);
		return r;
	}
	return 0;
}

int db_step(struct dbq *q)
{
	int rc;

	if (q->s->kind == DB_PG)
		return cs_store_pg_step(q);
	rc = sqlite3_step(q->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sql_err(q->s, rc, "running a statement");
}

int db_isnull(struct dbq *q, int col)
{
	if (q->s->kind == DB_PG)
		return cs_store_pg_isnull(q, col);
	return sqlite3_column_type(q->st, col) == SQLITE_NULL;
}

long long db_int(struct dbq *q, int col)
{
	const char *t;
	char *end;
	long long v;

	if (q->s->kind != DB_PG)
		return sqlite3_column_int64(q->st, col);
	t = cs_store_pg_text(q, col);
	if (t == NULL)
		return 0;
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0')
		return 0;
	return v;
}

const char *db_text(struct dbq *q, int col)
{
	if (q->s->kind == DB_PG)
		return cs_store_pg_text(q, col);
	return (const char *)sqlite3_column_text(q->st, col);
}

size_t db_len(struct dbq *q, int col)
{
	if (q->s->kind == DB_PG)
		return cs_store_pg_len(q, col);
	/* sqlite3_column_bytes after _text: the length of that text. */
	(void)sqlite3_column_text(q->st, col);
	return (size_t)sqlite3_column_bytes(q->st, col);
}

void db_end(struct dbq *q)
{
	struct cs_store *s = q->s;

	if (s == NULL)
		return;
	if (s->kind == DB_PG) {
		cs_store_pg_end(q);
	} else if (q->st != NULL) {
		if (q->cached > 0) {
			sqlite3_reset(q->st);
			sqlite3_clear_bindings(q->st);
			s->cache[q->cached - 1].busy = 0;
		} else {
			sqlite3_finalize(q->st);
		}
	}
	q->st = NULL;
	q->s = NULL;
}

int db_exec(struct cs_store *s, const char *sql, const struct dbv *p, int n, long long *changes)
{
	struct dbq q;
	int r;

	if (changes != NULL)
		*changes = 0;
	if ((r = db_query(s, &q, sql, p, n)) != 0)
		return r;
	while ((r = db_step(&q)) > 0)
		;
	if (r == 0 && changes != NULL) {
		if (s->kind == DB_PG)
			*changes = q.changes;
		else
			*changes = sqlite3_changes64(s->h);
	}
	db_end(&q);
	return r;
}

int db_one_int(struct cs_store *s, const char *sql, const struct dbv *p, int n,
	       long long *v, int *found)
{
	struct dbq q;
	int r;

	*found = 0;
	if ((r = db_query(s, &q, sql, p, n)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		*found = 1;
		*v = db_int(&q, 0);
		r = 0;
	}
	db_end(&q);
	return r;
}

int db_script(struct cs_store *s, const char *sql)
{
	if (s->kind == DB_PG)
		return cs_store_pg_script(s, sql);
	return sqlite_exec_simple(s, sql, "running the schema");
}

int db_begin(struct cs_store *s, int write)
{
	int r;

	if (s->in_tx)
		return cs_err_set(CS_EINTERNAL, "store: nested transaction");
	if (s->kind == DB_PG)
		r = cs_store_pg_script(s, "BEGIN");
	else
		r = sqlite_exec_simple(s, write ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
	if (r == 0)
		s->in_tx = 1;
	return r;
}

int db_commit(struct cs_store *s)
{
	int r;

	if (!s->in_tx)
		return cs_err_set(CS_EINTERNAL, "store: commit without a transaction");
	if (s->kind == DB_PG)
		r = cs_store_pg_script(s, "COMMIT");
	else
		r = sqlite_exec_simple(s, "COMMIT", "committing");
	if (r != 0) {
		db_rollback(s);
		return r;
	}
	s->in_tx = 0;
	return 0;
}

void db_rollback(struct cs_store *s)
{
	if (!s->in_tx)
		return;
	if (s->kind == DB_PG) {
		(void)cs_store_pg_script(s, "ROLLBACK");
	} else {
		/* After some errors SQLite has rolled back already; then ROLLBACK
		 * fails harmlessly. */
		if (!sqlite3_get_autocommit(s->h))
			(void)sqlite3_exec(s->h, "ROLLBACK", NULL, NULL, NULL);
	}
	s->in_tx = 0;
}
