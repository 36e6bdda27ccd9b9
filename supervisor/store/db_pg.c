/*
 * db_pg.c - the PostgreSQL backend of the SQL layer (libpq). Statements are
 * the same text as for SQLite ($N placeholders); values travel as text
 * parameters and results are read whole (PQexecParams), so a query's rows
 * stay valid until db_end().
 *
 * Built only when CMake found libpq (CS_STORE_HAVE_PQ); otherwise opening a
 * postgresql:// URL says so.
 */
#include "supervisor/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

#ifdef CS_STORE_HAVE_PQ

#include <libpq-fe.h>

/* Messages from libpq can span lines; keep the first. */
static int pg_err(PGconn *c, const PGresult *res, const char *what)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : NULL;
	size_t n;

	if (m == NULL || m[0] == '\0')
		m = c != NULL ? PQerrorMessage(c) : "no connection";
	n = strcspn(m, "\n");
	return cs_err_set(CS_EDB, "store: %s: %.*s", what, (int)(n > 512 ? 512 : n), m);
}

static void pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;  /* NOTICEs ("relation exists, skipping") are not errors */
}

int cs_store_pg_open(struct cs_store *s, const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	int r;

	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory connecting to PostgreSQL");
	s->h = c;
	s->kind = DB_PG;
	if (PQstatus(c) != CONNECTION_OK)
		return pg_err(c, NULL, "connecting to PostgreSQL");
	PQsetNoticeProcessor(c, pg_notice, NULL);
	/* Times and ids are compared as integers, text as bytes (COLLATE "C" in
	 * the schema); the session's own settings must not change results. */
	if ((r = cs_store_pg_script(s, "SET client_encoding = 'UTF8';"
				    " SET lock_timeout = '10s'")) != 0)
		return r;
	return 0;
}

void cs_store_pg_close(struct cs_store *s)
{
	PQfinish(s->h);
	s->h = NULL;
}

int cs_store_pg_query(struct dbq *q, const char *sql, const struct dbv *p, int n)
{
	const char *vals[32];
	int lens[32], fmts[32];
	char nums[32][24];
	PGresult *res;
	ExecStatusType st;

	if (n < 0 || n > 32)
		return cs_err_set(CS_EINTERNAL, "store: too many parameters");
	for (int i = 0; i < n; i++) {
		fmts[i] = 0;
		switch (p[i].t) {
		case DBV_INT:
			snprintf(nums[i], sizeof(nums[i]), "%lld", p[i].i);
			vals[i] = nums[i];
			lens[i] = 0;
			break;
		case DBV_TEXT:
			if (p[i].n > (size_t)1 << 30)
				return cs_err_set(CS_ELIMIT, "store: value too large");
			/* Text parameters go as C strings: the store never binds a
			 * string with an embedded NUL. */
			vals[i] = p[i].s;
			lens[i] = (int)p[i].n;
			break;
		default:
			vals[i] = NULL;
			lens[i] = 0;
			break;
		}
	}
	res = PQexecParams(q->s->h, sql, n, NULL, vals, lens, fmts, 0);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int r = pg_err(q->s->h, res, "running a statement");
		PQclear(res);
		return r;
	}
	q->res = res;
	q->row = -1;
	q->nrows = st == PGRES_TUPLES_OK ? PQntuples(res) : 0;
	{
		const char *t = PQcmdTuples(res);
		q->changes = t != NULL && t[0] != '\0' ? strtoll(t, NULL, 10) : 0;
	}
	return 0;
}

int cs_store_pg_step(struct dbq *q)
{
	if (q->row + 1 < PQntuples(q->res)) {
		q->row++;
		return 1;
	}
	return 0;
}

int cs_store_pg_isnull(struct dbq *q, int col)
{
	return PQgetisnull(q->res, q->row, col);
}

const char *cs_store_pg_text(struct dbq *q, int col)
{
	if (PQgetisnull(q->res, q->row, col))
		return NULL;
	return PQgetvalue(q->res, q->row, col);
}

size_t cs_store_pg_len(struct dbq *q, int col)
{
	return (size_t)PQgetlength(q->res, q->row, col);
}

void cs_store_pg_end(struct dbq *q)
{
	PQclear(q->res);
	q->res = NULL;
}

int cs_store_pg_script(struct cs_store *s, const char *sql)
{
	PGresult *res = PQexec(s->h, sql);
	ExecStatusType st = PQresultStatus(res);
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		r = pg_err(s->h, res, "running SQL");
	PQclear(res);
	return r;
}

#else /* !CS_STORE_HAVE_PQ */

int cs_store_pg_open(struct cs_store *s, const char *conninfo)
{
	(void)s;
	(void)conninfo;
	return cs_err_set(CS_EUNSUPPORTED,
			  "store: this cellscan was built without PostgreSQL support (libpq)");
}

void cs_store_pg_close(struct cs_store *s)
{
	(void)s;
}

int cs_store_pg_query(struct dbq *q, const char *sql, const struct dbv *p, int n)
{
	(void)q;
	(void)sql;
	(void)p;
	(void)n;
	return cs_err_set(CS_EUNSUPPORTED, "store: no PostgreSQL support");
}

int cs_store_pg_step(struct dbq *q)
{
	(void)q;
	return CS_EUNSUPPORTED;
}

int cs_store_pg_isnull(struct dbq *q, int col)
{
	(void)q;
	(void)col;
	return 1;
}

const char *cs_store_pg_text(struct dbq *q, int col)
{
	(void)q;
	(void)col;
	return NULL;
}

size_t cs_store_pg_len(struct dbq *q, int col)
{
	(void)q;
	(void)col;
	return 0;
}

void cs_store_pg_end(struct dbq *q)
{
	(void)q;
}

int cs_store_pg_script(struct cs_store *s, const char *sql)
{
	(void)s;
	(void)sql;
	return cs_err_set(CS_EUNSUPPORTED, "store: no PostgreSQL support");
}

#endif
