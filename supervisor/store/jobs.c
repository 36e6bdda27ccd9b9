/*
 * jobs.c - the durable scan queue: enqueue with dedupe, leased claims,
 * heartbeats, finish with retry/backoff, and recovery after a crash.
 * docs/store.md gives the rules and why a job completes exactly once.
 */
#include "supervisor/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

#define PENDING "('queued','running','failed')"

static const char *const state_names[CS_STORE_JOB_NSTATES] = {
	"queued", "running", "failed", "done", "dead",
};

const char *cs_store_job_state_name(enum cs_store_job_state st)
{
	if ((int)st < 0 || st >= CS_STORE_JOB_NSTATES)
		return NULL;
	return state_names[st];
}

static int state_parse(const char *t)
{
	for (int i = 0; t != NULL && i < CS_STORE_JOB_NSTATES; i++)
		if (strcmp(t, state_names[i]) == 0)
			return i;
	return -1;
}

void cs_store_job_clear(struct cs_store_job *j)
{
	if (j == NULL)
		return;
	free(j->ref);
	free(j->digest);
	free(j->reason);
	free(j->worker);
	free(j->error);
	memset(j, 0, sizeof(*j));
}

#define JOB_COLS "id, ref, digest, reason, state, attempts, worker, lease_until," \
	" next_attempt, error, created, updated, finished"

static int job_from_row(struct dbq *q, struct cs_store_job *j)
{
	int st, r;

	cs_store_job_clear(j);
	st = state_parse(db_text(q, 4));
	if (st < 0)
		return cs_err_set(CS_EFORMAT, "store: job with unknown state");
	j->id = db_int(q, 0);
	j->state = (enum cs_store_job_state)st;
	j->attempts = (int)db_int(q, 5);
	j->lease_until = db_int(q, 7);
	j->next_attempt = db_int(q, 8);
	j->created = db_int(q, 10);
	j->updated = db_int(q, 11);
	j->finished = db_int(q, 12);
	if ((r = cs_store_strdup(&j->ref, db_text(q, 1))) != 0 ||
	    (r = cs_store_strdup(&j->digest, db_text(q, 2))) != 0 ||
	    (r = cs_store_strdup(&j->reason, db_text(q, 3))) != 0 ||
	    (r = cs_store_strdup(&j->worker, db_text(q, 6))) != 0 ||
	    (r = cs_store_strdup(&j->error, db_text(q, 9))) != 0) {
		cs_store_job_clear(j);
		return r;
	}
	return 0;
}

static int job_read(struct cs_store *s, long long id, struct cs_store_job *j)
{
	static const char sql[] = "SELECT " JOB_COLS " FROM jobs WHERE id = $1";
	struct dbv p[] = {DV_INT(id)};
	struct dbq q;
	int r;

	if ((r = db_query(s, &q, sql, p, 1)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0)
		r = job_from_row(&q, j);
	else if (r == 0)
		r = cs_err_set(CS_ENOTFOUND, "store: no job %lld", id);
	db_end(&q);
	return r;
}

int cs_store_job_get(struct cs_store *s, long long job_id, struct cs_store_job *job)
{
	memset(job, 0, sizeof(*job));
	return job_read(s, job_id, job);
}

/* The pending job for digest (or, without one, for ref), if any. */
static int pending_job(struct cs_store *s, const char *ref, const char *digest, long long *id,
		       int *found)
{
	static const char by_digest[] =
		"SELECT id FROM jobs WHERE digest = $1 AND digest IS NOT NULL"
		" AND state IN " PENDING;
	static const char by_ref[] =
		"SELECT id FROM jobs WHERE ref = $1 AND digest IS NULL AND state IN " PENDING;
	struct dbv p[] = {DV_TEXT(digest != NULL ? digest : ref)};

	return db_one_int(s, digest != NULL ? by_digest : by_ref, p, 1, id, found);
}

int cs_store_job_enqueue(struct cs_store *s, const char *ref, const char *digest,
			 const char *reason, long long now, long long *job_id, int *created)
{
	/* ON CONFLICT DO NOTHING against the partial unique indexes: on
	 * PostgreSQL two hosts enqueueing the same digest at once end with one
	 * row (the loser's INSERT waits for the winner, then does nothing). */
	static const char sql_insert[] =
		"INSERT INTO jobs(ref, digest, reason, state, attempts, created, updated)"
		" VALUES($1, $2, $3, 'queued', 0, $4, $4) ON CONFLICT DO NOTHING RETURNING id";
	struct dbq q;
	long long id = 0;
	int r, found = 0;

	*job_id = 0;
	*created = 0;
	if ((r = cs_store_check_text("image reference", ref, CS_STORE_MAX_REF, 1)) != 0 ||
	    (r = cs_store_check_text("reason", reason, CS_STORE_MAX_ID, 0)) != 0)
		return r;
	if (digest != NULL && (r = cs_store_check_digest("digest", digest)) != 0)
		return r;
	if ((r = db_begin(s, 1)) != 0)
		return r;
	if ((r = pending_job(s, ref, digest, &id, &found)) != 0)
		goto out;
	if (found) {
		*job_id = id;
		goto out;
	}
	struct dbv p[] = {DV_TEXT(ref), DV_TEXT(digest), DV_TEXT(reason != NULL ? reason : ""),
			  DV_INT(now)};
	if ((r = db_query(s, &q, sql_insert, p, 4)) != 0)
		goto out;
	r = db_step(&q);
	if (r > 0) {
		id = db_int(&q, 0);
		found = 1;
		r = 0;
		while ((r = db_step(&q)) > 0)
			;
	}
	db_end(&q);
	if (r < 0)
		goto out;
	if (found) {
		*job_id = id;
		*created = 1;
		goto out;
	}
	/* Lost a race with another host: its job is the one. */
	if ((r = pending_job(s, ref, digest, &id, &found)) != 0)
		goto out;
	if (!found) {
		r = cs_err_set(CS_EDB, "store: enqueue conflicted but no pending job found");
		goto out;
	}
	*job_id = id;
out:
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r != 0) {
		*job_id = 0;
		*created = 0;
	}
	return r;
}

int cs_store_job_claim(struct cs_store *s, const char *worker_id, long long lease_seconds,
		       long long now, struct cs_store_job *job)
{
	/* Oldest runnable first. PostgreSQL: rows other claimers hold are
	 * skipped, not waited for, so hosts take different jobs at once. */
	static const char sql_pick_sqlite[] =
		"SELECT id, attempts FROM jobs WHERE state IN " PENDING
		" AND (state = 'queued' OR (state = 'running' AND lease_until <= $1)"
		" OR (state = 'failed' AND next_attempt <= $1)) ORDER BY id LIMIT 1";
	static const char sql_pick_pg[] =
		"SELECT id, attempts FROM jobs WHERE state IN " PENDING
		" AND (state = 'queued' OR (state = 'running' AND lease_until <= $1)"
		" OR (state = 'failed' AND next_attempt <= $1)) ORDER BY id LIMIT 1"
		" FOR UPDATE SKIP LOCKED";
	static const char sql_dead[] =
		"UPDATE jobs SET state = 'dead', worker = NULL, lease_until = NULL,"
		" next_attempt = NULL, updated = $1, finished = $1,"
		" error = CASE WHEN state = 'running' THEN $2 ELSE error END WHERE id = $3";
	static const char sql_take[] =
		"UPDATE jobs SET state = 'running', worker = $1, lease_until = $2,"
		" next_attempt = NULL, attempts = attempts + 1, updated = $3 WHERE id = $4"
		" RETURNING " JOB_COLS;
	long long id = 0, attempts = 0;
	struct dbq q;
	int r;

	memset(job, 0, sizeof(*job));
	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	if (lease_seconds < 1 || lease_seconds > 86400 * 7)
		return cs_err_set(CS_EINVAL, "store: lease of %lld seconds", lease_seconds);
	if ((r = db_begin(s, 1)) != 0)
		return r;
	/* Bounded: each turn either returns or kills one exhausted job. */
	for (int turn = 0; turn < 1000; turn++) {
		struct dbv p[] = {DV_INT(now)};
		int found = 0;

		if ((r = db_query(s, &q, s->kind == DB_PG ? sql_pick_pg : sql_pick_sqlite, p, 1)) != 0)
			goto out;
		r = db_step(&q);
		if (r > 0) {
			found = 1;
			id = db_int(&q, 0);
			attempts = db_int(&q, 1);
			r = 0;
		}
		db_end(&q);
		if (r < 0 || !found)
			goto out;
		if (attempts >= s->opt.max_attempts) {
			char msg[128];
			snprintf(msg, sizeof(msg), "gave up after %lld attempts (lease expired)",
				 attempts);
			struct dbv d[] = {DV_INT(now), DV_TEXT(msg), DV_INT(id)};
			if ((r = db_exec(s, sql_dead, d, 3, NULL)) != 0)
				goto out;
			continue;
		}
		struct dbv t[] = {DV_TEXT(worker_id), DV_INT(now + lease_seconds), DV_INT(now),
				  DV_INT(id)};
		if ((r = db_query(s, &q, sql_take, t, 4)) != 0)
			goto out;
		r = db_step(&q);
		if (r > 0)
			r = job_from_row(&q, job);
		else if (r == 0)
			r = cs_err_set(CS_EDB, "store: claimed job %lld vanished", id);
		if (r == 0)
			while ((r = db_step(&q)) > 0)
				;
		db_end(&q);
		goto out;
	}
out:
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r != 0)
		cs_store_job_clear(job);
	return r;
}

int cs_store_job_heartbeat(struct cs_store *s, long long job_id, const char *worker_id,
			   long long lease_seconds, long long now)
{
	static const char sql[] =
		"UPDATE jobs SET lease_until = $1, updated = $2 WHERE id = $3 AND state = 'running'"
		" AND worker = $4";
	long long n = 0;
	int r;

	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	if (lease_seconds < 1 || lease_seconds > 86400 * 7)
		return cs_err_set(CS_EINVAL, "store: lease of %lld seconds", lease_seconds);
	struct dbv p[] = {DV_INT(now + lease_seconds), DV_INT(now), DV_INT(job_id),
			  DV_TEXT(worker_id)};
	if ((r = db_begin(s, 1)) != 0)
		return r;
	if ((r = db_exec(s, sql, p, 4, &n)) != 0) {
		db_rollback(s);
		return r;
	}
	if ((r = db_commit(s)) != 0)
		return r;
	if (n != 1)
		return cs_err_set(CS_ETIMEOUT, "store: job %lld is not held by %s any more", job_id,
				  worker_id);
	return 0;
}

/* Inside a transaction. */
int cs_store_job_finish_tx(struct cs_store *s, long long job_id, const char *worker_id,
			   enum cs_store_outcome outcome, const char *error_text, long long now)
{
	static const char sql_get[] =
		"SELECT attempts FROM jobs WHERE id = $1 AND state = 'running' AND worker = $2";
	static const char sql_done[] =
		"UPDATE jobs SET state = 'done', lease_until = NULL, next_attempt = NULL,"
		" updated = $1, finished = $1, error = NULL WHERE id = $2";
	static const char sql_retry[] =
		"UPDATE jobs SET state = 'failed', lease_until = NULL, next_attempt = $1,"
		" updated = $2, error = $3 WHERE id = $4";
	static const char sql_dead[] =
		"UPDATE jobs SET state = 'dead', lease_until = NULL, next_attempt = NULL,"
		" updated = $1, finished = $1, error = $2 WHERE id = $3";
	long long attempts = 0;
	char *err = NULL;
	int r, found = 0;

	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	struct dbv g[] = {DV_INT(job_id), DV_TEXT(worker_id)};
	if ((r = db_one_int(s, sql_get, g, 2, &attempts, &found)) != 0)
		return r;
	if (!found)
		return cs_err_set(CS_ETIMEOUT, "store: job %lld is not held by %s (lease taken "
				  "over or already finished)", job_id, worker_id);
	if (outcome == CS_STORE_OK) {
		struct dbv p[] = {DV_INT(now), DV_INT(job_id)};
		return db_exec(s, sql_done, p, 2, NULL);
	}
	err = cs_store_clean_text(error_text != NULL ? error_text : "failed", CS_STORE_MAX_ERROR);
	if (err == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	if (attempts >= s->opt.max_attempts) {
		struct dbv p[] = {DV_INT(now), DV_TEXT(err), DV_INT(job_id)};
		r = db_exec(s, sql_dead, p, 3, NULL);
	} else {
		struct dbv p[] = {DV_INT(cs_store_backoff(&s->opt, (int)attempts, now)), DV_INT(now),
				  DV_TEXT(err), DV_INT(job_id)};
		r = db_exec(s, sql_retry, p, 4, NULL);
	}
	free(err);
	return r;
}

int cs_store_job_finish(struct cs_store *s, long long job_id, const char *worker_id,
			enum cs_store_outcome outcome, const char *error_text, long long now)
{
	int r;

	if (outcome != CS_STORE_OK && outcome != CS_STORE_FAILED)
		return cs_err_set(CS_EINVAL, "store: bad outcome");
	if ((r = db_begin(s, 1)) != 0)
		return r;
	if ((r = cs_store_job_finish_tx(s, job_id, worker_id, outcome, error_text, now)) != 0) {
		db_rollback(s);
		return r;
	}
	return db_commit(s);
}

int cs_store_job_set_digest(struct cs_store *s, long long job_id, const char *worker_id,
			    const char *digest, long long now, long long *duplicate_of)
{
	static const char sql_held[] =
		"SELECT id FROM jobs WHERE id = $1 AND state = 'running' AND worker = $2";
	static const char sql_other[] =
		"SELECT id FROM jobs WHERE digest = $1 AND digest IS NOT NULL AND state IN " PENDING
		" AND id <> $2";
	static const char sql_dup[] =
		"UPDATE jobs SET state = 'done', lease_until = NULL, updated = $1, finished = $1,"
		" error = $2 WHERE id = $3";
	static const char sql_set[] =
		"UPDATE jobs SET digest = $1, updated = $2 WHERE id = $3";
	long long v = 0;
	int r, found = 0;

	*duplicate_of = 0;
	if ((r = cs_store_check_text("worker id", worker_id, CS_STORE_MAX_ID, 1)) != 0 ||
	    (r = cs_store_check_digest("digest", digest)) != 0)
		return r;
	if ((r = db_begin(s, 1)) != 0)
		return r;
	struct dbv h[] = {DV_INT(job_id), DV_TEXT(worker_id)};
	if ((r = db_one_int(s, sql_held, h, 2, &v, &found)) != 0)
		goto out;
	if (!found) {
		r = cs_err_set(CS_ETIMEOUT, "store: job %lld is not held by %s", job_id, worker_id);
		goto out;
	}
	struct dbv o[] = {DV_TEXT(digest), DV_INT(job_id)};
	if ((r = db_one_int(s, sql_other, o, 2, &v, &found)) != 0)
		goto out;
	if (found) {
		char msg[64];
		snprintf(msg, sizeof(msg), "duplicate of job %lld", v);
		struct dbv d[] = {DV_INT(now), DV_TEXT(msg), DV_INT(job_id)};
		if ((r = db_exec(s, sql_dup, d, 3, NULL)) == 0)
			*duplicate_of = v;
		goto out;
	}
	struct dbv u[] = {DV_TEXT(digest), DV_INT(now), DV_INT(job_id)};
	r = db_exec(s, sql_set, u, 3, NULL);
out:
	if (r == 0)
		return db_commit(s);
	db_rollback(s);
	*duplicate_of = 0;
	return r;
}

int cs_store_job_counts(struct cs_store *s, long long counts[CS_STORE_JOB_NSTATES])
{
	static const char sql[] = "SELECT state, count(*) FROM jobs GROUP BY state";
	struct dbq q;
	int r;

	for (int i = 0; i < CS_STORE_JOB_NSTATES; i++)
		counts[i] = 0;
	if ((r = db_query(s, &q, sql, NULL, 0)) != 0)
		return r;
	while ((r = db_step(&q)) > 0) {
		int st = state_parse(db_text(&q, 0));
		if (st >= 0)
			counts[st] = db_int(&q, 1);
	}
	db_end(&q);
	return r;
}

int cs_store_jobs_requeue_expired(struct cs_store *s, long long now, const char *worker_prefix,
				  long long *n)
{
	static const char sql_expired[] =
		"UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL, updated = $1"
		" WHERE state = 'running' AND lease_until <= $1";
	static const char sql_mine[] =
		"UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL, updated = $1"
		" WHERE state = 'running' AND worker >= $2 AND worker < $3";
	long long a = 0, b = 0;
	char *upper = NULL;
	int r;

	if (n != NULL)
		*n = 0;
	if (worker_prefix != NULL) {
		if ((r = cs_store_check_text("worker prefix", worker_prefix, CS_STORE_MAX_ID, 1)) != 0 ||
		    (r = cs_store_prefix_upper(&upper, worker_prefix)) != 0)
			return r;
	}
	if ((r = db_begin(s, 1)) != 0)
		goto out;
	struct dbv p[] = {DV_INT(now)};
	if ((r = db_exec(s, sql_expired, p, 1, &a)) == 0 && upper != NULL) {
		struct dbv m[] = {DV_INT(now), DV_TEXT(worker_prefix), DV_TEXT(upper)};
		r = db_exec(s, sql_mine, m, 3, &b);
	}
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r == 0 && n != NULL)
		*n = a + b;
out:
	free(upper);
	return r;
}
