/*
 * internal.h - what the store's files share: the store handle and a small
 * backend-neutral SQL layer.
 *
 * Every statement is a constant string (never built from input) written with
 * $1, $2, ... placeholders whose first appearances are in increasing order,
 * which both SQLite (where $N is a named parameter numbered by first
 * appearance) and PostgreSQL read the same way. Values are bound, never
 * spliced.
 */
#ifndef CS_SUPERVISOR_STORE_INTERNAL_H
#define CS_SUPERVISOR_STORE_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "supervisor/store/store.h"

enum dbv_type { DBV_NULL = 0, DBV_INT = 1, DBV_TEXT = 2 };

/* One parameter value; text is borrowed until the statement ends. */
struct dbv {
	enum dbv_type t;
	long long i;
	const char *s;
	size_t n;
};

#define DV_INT(x) ((struct dbv){DBV_INT, (long long)(x), NULL, 0})
#define DV_TEXT(x) ((struct dbv){(x) != NULL ? DBV_TEXT : DBV_NULL, 0, (x), (x) != NULL ? strlen(x) : 0})
#define DV_TEXTN(x, len) ((struct dbv){DBV_TEXT, 0, (x), (len)})
#define DV_NULL ((struct dbv){DBV_NULL, 0, NULL, 0})

struct cs_store;

/* A statement in progress (on the caller's stack). */
struct dbq {
	struct cs_store *s;
	void *st;        /* sqlite3_stmt * */
	int cached;      /* st belongs to the statement cache */
	void *res;       /* PGresult * */
	int row, nrows;
	long long changes;  /* PostgreSQL: rows the statement changed */
};

enum db_kind { DB_SQLITE = 1, DB_PG = 2 };

struct stmt_cache_entry {
	const char *sql;  /* the constant's address is the key */
	void *st;
	int busy;
};
#define STMT_CACHE_N 96

struct cs_store {
	enum db_kind kind;
	void *h;                      /* sqlite3 * or PGconn * */
	struct cs_store_options opt;
	int in_tx;
	struct stmt_cache_entry cache[STMT_CACHE_N];
};

/* Backends: db.c (SQLite) and db_pg.c (PostgreSQL; stubs that say
 * CS_EUNSUPPORTED without libpq). */
int cs_store_sqlite_open(struct cs_store *s, const char *path);
void cs_store_sqlite_close(struct cs_store *s);
int cs_store_pg_open(struct cs_store *s, const char *conninfo);
void cs_store_pg_close(struct cs_store *s);
int cs_store_pg_query(struct dbq *q, const char *sql, const struct dbv *p, int n);
int cs_store_pg_step(struct dbq *q);
int cs_store_pg_isnull(struct dbq *q, int col);
const char *cs_store_pg_text(struct dbq *q, int col);
size_t cs_store_pg_len(struct dbq *q, int col);
void cs_store_pg_end(struct dbq *q);
int cs_store_pg_script(struct cs_store *s, const char *sql);

/* Starts a query; then db_step() until it returns 0 (done) or < 0. */
int db_query(struct cs_store *s, struct dbq *q, const char *sql, const struct dbv *p, int n);
/* 1: a row is there; 0: no more rows; < 0: error (recorded). */
int db_step(struct dbq *q);
int db_isnull(struct dbq *q, int col);
long long db_int(struct dbq *q, int col);
/* NULL for SQL NULL; valid until the next step or db_end(). */
const char *db_text(struct dbq *q, int col);
size_t db_len(struct dbq *q, int col);
/* Ends the statement (always call it after db_query() returned 0). */
void db_end(struct dbq *q);

/* Runs a statement to completion; *changes (may be NULL) = rows changed. */
int db_exec(struct cs_store *s, const char *sql, const struct dbv *p, int n, long long *changes);
/* Runs a statement that returns at most one row of one integer column;
 * *found = 0 when there was no row (then *v is untouched). */
int db_one_int(struct cs_store *s, const char *sql, const struct dbv *p, int n,
	       long long *v, int *found);
/* Script of several statements without parameters (DDL). */
int db_script(struct cs_store *s, const char *sql);

/* Transactions: write = 1 takes the write lock at once (SQLite BEGIN
 * IMMEDIATE, so a read-then-write transaction cannot fail half-way with a
 * stale snapshot); PostgreSQL: BEGIN. */
int db_begin(struct cs_store *s, int write);
int db_commit(struct cs_store *s);
void db_rollback(struct cs_store *s);

/* schema.c */
int cs_store_schema_apply(struct cs_store *s);

/* util.c */
int cs_store_check_text(const char *what, const char *v, size_t max, int required);
int cs_store_check_digest(const char *what, const char *d);
/* Copies s (up to max bytes, cut at a UTF-8 boundary, invalid bytes as '?'). */
char *cs_store_clean_text(const char *s, size_t max);
/* The smallest string greater than every string starting with prefix, as
 * bytes (malloc'd); NULL with CS_EINVAL for an empty prefix. */
int cs_store_prefix_upper(char **out, const char *prefix);
long long cs_store_backoff(const struct cs_store_options *o, int attempts, long long now);
int cs_store_strdup(char **out, const char *v);

/* results.c (shared with jobs.c for job_complete) */
int cs_store_put_result_tx(struct cs_store *s, const json_t *image, const json_t *inventory,
			   const char *report_json, long long now, int *verdict_changed,
			   char **previous_verdict);
/* jobs.c */
int cs_store_job_finish_tx(struct cs_store *s, long long job_id, const char *worker_id,
			   enum cs_store_outcome outcome, const char *error_text, long long now);

#endif
