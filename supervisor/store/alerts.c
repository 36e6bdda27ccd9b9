/*
 * alerts.c - the alerts outbox: an alert is a row before anyone tries to
 * send it, so a crash between "the verdict changed" and "the webhook got
 * it" loses nothing; delivery is leased and retried like a job.
 */
#include "supervisor/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"

void cs_store_alert_clear(struct cs_store_alert *a)
{
	if (a == NULL)
		return;
	free(a->digest);
	free(a->kind);
	free(a->payload);
	memset(a, 0, sizeof(*a));
}

int cs_store_alert_enqueue(struct cs_store *s, const char *digest, const char *kind,
			   const char *payload, long long now, long long *id)
{
	static const char sql[] =
		"INSERT INTO alerts(digest, kind, payload, state, attempts, next_attempt, created,"
		" updated) VALUES($1, $2, $3, 'pending', 0, $4, $4, $4) RETURNING id";
	json_error_t jerr;
	json_t *check;
	struct dbq q;
	long long v = 0;
	int r;

	if (id != NULL)
		*id = 0;
	if ((r = cs_store_check_text("kind", kind, CS_STORE_MAX_ID, 1)) != 0 ||
	    (r = cs_store_check_text("digest", digest, CS_STORE_MAX_DIGEST, 0)) != 0 ||
	    (r = cs_store_check_text("payload", payload, s->opt.max_doc, 1)) != 0)
		return r;
	check = json_loads(payload, JSON_DECODE_ANY, &jerr);
	if (check == NULL)
		return cs_err_set(CS_EFORMAT, "store: alert payload is not JSON: %s", jerr.text);
	json_decref(check);
	if ((r = db_begin(s, 1)) != 0)
		return r;
	struct dbv p[] = {DV_TEXT(digest), DV_TEXT(kind), DV_TEXT(payload), DV_INT(now)};
	if ((r = db_query(s, &q, sql, p, 4)) == 0) {
		r = db_step(&q);
		if (r > 0) {
			v = db_int(&q, 0);
			while ((r = db_step(&q)) > 0)
				;
		} else if (r == 0) {
			r = cs_err_set(CS_EDB, "store: alert insert returned no id");
		}
		db_end(&q);
	}
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r == 0 && id != NULL)
		*id = v;
	return r;
}

int cs_store_alert_claim(struct cs_store *s, const char *worker_id, long long lease_seconds,
			 long long now, struct cs_store_alert *a)
{
	static const char sql_pick_sqlite[] =
		"SELECT id FROM alerts WHERE state IN ('pending','sending')"
		" AND ((state = 'pending' AND next_attempt <= $1)"
		" OR (state = 'sending' AND lease_until <= $1)) ORDER BY id LIMIT 1";
	static const char sql_pick_pg[] =
		"SELECT id FROM alerts WHERE state IN ('pending','sending')"
		" AND ((state = 'pending' AND next_attempt <= $1)"
		" OR (state = 'sending' AND lease_until <= $1)) ORDER BY id LIMIT 1"
		" FOR UPDATE SKIP LOCKED";
	static const char sql_take[] =
		"UPDATE alerts SET state = 'sending', worker = $1, lease_until = $2,"
		" attempts = attempts + 1, updated = $3 WHERE id = $4"
		" RETURNING id, digest, kind, payload, attempts, created";
	long long id = 0;
	struct dbq q;
	int r, found = 0;

	memset(a, 0, sizeof(*a));
	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	if (lease_seconds < 1 || lease_seconds > 86400)
		return cs_err_set(CS_EINVAL, "store: lease of %lld seconds", lease_seconds);
	if ((r = db_begin(s, 1)) != 0)
		return r;
	struct dbv p[] = {DV_INT(now)};
	if ((r = db_one_int(s, s->kind == DB_PG ? sql_pick_pg : sql_pick_sqlite, p, 1, &id,
			    &found)) != 0 || !found)
		goto out;
	struct dbv t[] = {DV_TEXT(worker_id), DV_INT(now + lease_seconds), DV_INT(now), DV_INT(id)};
	if ((r = db_query(s, &q, sql_take, t, 4)) != 0)
		goto out;
	r = db_step(&q);
	if (r > 0) {
		a->id = db_int(&q, 0);
		a->attempts = (int)db_int(&q, 4);
		a->created = db_int(&q, 5);
		if ((r = cs_store_strdup(&a->digest, db_text(&q, 1))) == 0 &&
		    (r = cs_store_strdup(&a->kind, db_text(&q, 2))) == 0 &&
		    (r = cs_store_strdup(&a->payload, db_text(&q, 3))) == 0)
			while ((r = db_step(&q)) > 0)
				;
	} else if (r == 0) {
		r = cs_err_set(CS_EDB, "store: claimed alert vanished");
	}
	db_end(&q);
out:
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r != 0)
		cs_store_alert_clear(a);
	return r;
}

int cs_store_alert_done(struct cs_store *s, long long id, const char *worker_id,
			enum cs_store_outcome outcome, const char *error_text, long long now)
{
	static const char sql_get[] =
		"SELECT attempts FROM alerts WHERE id = $1 AND state = 'sending' AND worker = $2";
	static const char sql_done[] =
		"UPDATE alerts SET state = 'done', lease_until = NULL, updated = $1, error = NULL"
		" WHERE id = $2";
	static const char sql_retry[] =
		"UPDATE alerts SET state = $1, lease_until = NULL, next_attempt = $2, updated = $3,"
		" error = $4 WHERE id = $5";
	long long attempts = 0;
	char *err = NULL;
	int r, found = 0;

	if (outcome != CS_STORE_OK && outcome != CS_STORE_FAILED)
		return cs_err_set(CS_EINVAL, "store: bad outcome");
	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	if ((r = db_begin(s, 1)) != 0)
		return r;
	struct dbv g[] = {DV_INT(id), DV_TEXT(worker_id)};
	if ((r = db_one_int(s, sql_get, g, 2, &attempts, &found)) != 0)
		goto out;
	if (!found) {
		r = cs_err_set(CS_ETIMEOUT, "store: alert %lld is not held by %s", id, worker_id);
		goto out;
	}
	if (outcome == CS_STORE_OK) {
		struct dbv p[] = {DV_INT(now), DV_INT(id)};
		r = db_exec(s, sql_done, p, 2, NULL);
		goto out;
	}
	err = cs_store_clean_text(error_text != NULL ? error_text : "failed", CS_STORE_MAX_ERROR);
	if (err == NULL) {
		r = cs_err_set(CS_ENOMEM, "store: out of memory");
		goto out;
	}
	struct dbv p[] = {DV_TEXT(attempts >= s->opt.alert_max_attempts ? "dead" : "pending"),
			  DV_INT(cs_store_backoff(&s->opt, (int)attempts, now)), DV_INT(now),
			  DV_TEXT(err), DV_INT(id)};
	r = db_exec(s, sql_retry, p, 5, NULL);
out:
	free(err);
	if (r == 0)
		return db_commit(s);
	db_rollback(s);
	return r;
}

int cs_store_alert_pending(struct cs_store *s, long long *n)
{
	int found;

	*n = 0;
	return db_one_int(s, "SELECT count(*) FROM alerts WHERE state IN ('pending','sending')",
			  NULL, 0, n, &found);
}
