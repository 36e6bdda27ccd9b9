/*
 * test_jobs.c - the queue in one process: dedupe, claim order, leases and
 * takeover, retries with backoff, dead jobs, recovery on start, digests
 * resolved late, and the alerts outbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/store/store_test.h"

static struct cs_store *open_store(const char *name)
{
	char p[512];
	struct cs_store *s = NULL;

	st_path(p, sizeof(p), name);
	CHECK_OK(cs_store_open(&s, p));
	if (s == NULL) {
		fprintf(stderr, "cannot open the store: %s\n", cs_err_msg());
		exit(1);
	}
	return s;
}

static void test_dedupe(void)
{
	struct cs_store *s = open_store("dedupe.db");
	long long ids[50] = {0}, id, counts[CS_STORE_JOB_NSTATES];
	int created, ncreated = 0, v = 0;
	char d[72];

	CHECK_OK(cs_store_schema_version(s, &v));
	CHECK(v == CS_STORE_SCHEMA_VERSION);
	CHECK_STR(cs_store_backend(s), "sqlite");
	/* 200 pushes of 50 images, in an interleaved order. */
	for (int i = 0; i < 200; i++) {
		int k = (i * 7) % 50;
		st_digest(d, 1000 + (unsigned)k);
		CHECK_OK(cs_store_job_enqueue(s, "registry.test/app:1", d, "push", 100 + i, &id,
					      &created));
		ncreated += created;
		if (ids[k] == 0)
			ids[k] = id;
		CHECK(ids[k] == id);
		CHECK(created == (i < 50 ? 1 : 0) || ids[k] == id);
	}
	CHECK(ncreated == 50);
	CHECK_OK(cs_store_job_counts(s, counts));
	CHECK(counts[CS_STORE_JOB_QUEUED] == 50);
	CHECK(counts[CS_STORE_JOB_RUNNING] == 0);

	/* Without a digest the ref deduplicates, separately from digests. */
	long long a, b;
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/app:latest", NULL, NULL, 500, &a, &created));
	CHECK(created == 1);
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/app:latest", NULL, "api", 501, &b, &created));
	CHECK(created == 0 && a == b);

	/* A finished job does not absorb a new push of its digest. */
	struct cs_store_job j = {0};
	CHECK_OK(cs_store_job_claim(s, "w1", 60, 1000, &j));
	CHECK(j.id == ids[0]);  /* the oldest: digest 1000 went first */
	CHECK(j.state == CS_STORE_JOB_RUNNING && j.attempts == 1);
	CHECK_STR(j.worker, "w1");
	CHECK(j.lease_until == 1060);
	CHECK_STR(j.reason, "push");
	st_digest(d, 1000);
	CHECK_STR(j.digest, d);
	/* Still running: a push joins it. */
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/app:2", d, "push", 1001, &id, &created));
	CHECK(created == 0 && id == j.id);
	CHECK_OK(cs_store_job_finish(s, j.id, "w1", CS_STORE_OK, NULL, 1002));
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/app:2", d, "push", 1003, &id, &created));
	CHECK(created == 1 && id != j.id);
	cs_store_job_clear(&j);

	/* Bad input is refused before SQL. */
	CHECK(cs_store_job_enqueue(s, "x", "sha256:abc", NULL, 1, &id, &created) == CS_EINVAL);
	CHECK(cs_store_job_enqueue(s, "", NULL, NULL, 1, &id, &created) == CS_EINVAL);
	CHECK(cs_store_job_enqueue(s, "bad\xff", NULL, NULL, 1, &id, &created) == CS_EINVAL);
	CHECK(id == 0 && created == 0);
	cs_store_close(s);
}

static void test_leases(void)
{
	struct cs_store *s = open_store("leases.db");
	struct cs_store_job a = {0}, b = {0}, g = {0};
	long long j1, j2;
	int created;
	char d1[72], d2[72];

	st_digest(d1, 1);
	st_digest(d2, 2);
	CHECK_OK(cs_store_job_enqueue(s, "r/a:1", d1, "push", 10, &j1, &created));
	CHECK_OK(cs_store_job_enqueue(s, "r/b:1", d2, "push", 11, &j2, &created));
	CHECK_OK(cs_store_job_claim(s, "A", 30, 100, &a));
	CHECK(a.id == j1);
	CHECK_OK(cs_store_job_claim(s, "B", 30, 100, &b));
	CHECK(b.id == j2);
	cs_store_job_clear(&b);
	/* Nothing left, and nothing expired yet. */
	CHECK_OK(cs_store_job_claim(s, "C", 30, 129, &b));
	CHECK(b.id == 0);
	/* A heartbeat keeps A's job. */
	CHECK_OK(cs_store_job_heartbeat(s, j1, "A", 30, 120));
	CHECK_OK(cs_store_job_claim(s, "C", 30, 140, &b));
	CHECK(b.id == j2);  /* B's lease ended at 130, A's runs to 150 */
	CHECK(b.attempts == 2);
	/* B lost its job: heartbeat and finish are refused, nothing changes. */
	CHECK(cs_store_job_heartbeat(s, j2, "B", 30, 141) == CS_ETIMEOUT);
	CHECK(cs_store_job_finish(s, j2, "B", CS_STORE_OK, NULL, 142) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_get(s, j2, &g));
	CHECK(g.state == CS_STORE_JOB_RUNNING);
	CHECK_STR(g.worker, "C");
	cs_store_job_clear(&g);
	CHECK_OK(cs_store_job_finish(s, j2, "C", CS_STORE_OK, NULL, 150));
	CHECK(cs_store_job_finish(s, j2, "C", CS_STORE_OK, NULL, 151) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_get(s, j2, &g));
	CHECK(g.state == CS_STORE_JOB_DONE && g.finished == 150 && g.attempts == 2);
	cs_store_job_clear(&g);
	/* An expired lease nobody took over: the holder may still finish. */
	CHECK_OK(cs_store_job_finish(s, j1, "A", CS_STORE_OK, NULL, 400));
	CHECK_OK(cs_store_job_get(s, j1, &g));
	CHECK(g.state == CS_STORE_JOB_DONE);
	cs_store_job_clear(&g);
	CHECK(cs_store_job_get(s, 9999, &g) == CS_ENOTFOUND);
	cs_store_job_clear(&a);
	cs_store_job_clear(&b);
	cs_store_close(s);
}

static void test_retries(void)
{
	struct cs_store *s = open_store("retries.db");
	struct cs_store_options o;
	struct cs_store_job j = {0};
	long long id, id2, counts[CS_STORE_JOB_NSTATES];
	int created;
	char d[72], d2[72];

	cs_store_options_default(&o);
	o.max_attempts = 3;
	o.backoff_base = 10;
	o.backoff_max = 15;
	CHECK_OK(cs_store_set_options(s, &o));
	o.max_attempts = 0;
	CHECK(cs_store_set_options(s, &o) == CS_EINVAL);
	st_digest(d, 7);
	CHECK_OK(cs_store_job_enqueue(s, "r/x:1", d, NULL, 0, &id, &created));
	CHECK_OK(cs_store_job_claim(s, "w", 60, 100, &j));
	CHECK(j.id == id);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_finish(s, id, "w", CS_STORE_FAILED, "registry said 500", 101));
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_FAILED && j.next_attempt == 111);
	CHECK_STR(j.error, "registry said 500");
	cs_store_job_clear(&j);
	/* While waiting for its retry the digest stays deduplicated. */
	CHECK_OK(cs_store_job_enqueue(s, "r/x:1", d, NULL, 102, &id2, &created));
	CHECK(created == 0 && id2 == id);
	CHECK_OK(cs_store_job_claim(s, "w", 60, 110, &j));
	CHECK(j.id == 0);
	CHECK_OK(cs_store_job_claim(s, "w", 60, 111, &j));
	CHECK(j.id == id && j.attempts == 2);
	cs_store_job_clear(&j);
	/* Second failure: 10 * 2 = 20, capped at 15. Error text is cleaned. */
	CHECK_OK(cs_store_job_finish(s, id, "w", CS_STORE_FAILED, "bad \xff byte", 120));
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_FAILED && j.next_attempt == 135);
	CHECK_STR(j.error, "bad ? byte");
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_claim(s, "w", 60, 135, &j));
	CHECK(j.id == id && j.attempts == 3);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_finish(s, id, "w", CS_STORE_FAILED, "still failing", 140));
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_DEAD && j.finished == 140);
	cs_store_job_clear(&j);

	/* A job whose worker keeps dying (leases expire) ends dead too. */
	st_digest(d2, 8);
	CHECK_OK(cs_store_job_enqueue(s, "r/y:1", d2, NULL, 0, &id, &created));
	for (int k = 0; k < 3; k++) {
		CHECK_OK(cs_store_job_claim(s, "crashy", 10, 1000 + 100 * k, &j));
		CHECK(j.id == id && j.attempts == k + 1);
		cs_store_job_clear(&j);
	}
	CHECK_OK(cs_store_job_claim(s, "next", 10, 2000, &j));
	CHECK(j.id == 0);
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_DEAD);
	CHECK(j.error != NULL && strstr(j.error, "3 attempts") != NULL);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_counts(s, counts));
	CHECK(counts[CS_STORE_JOB_DEAD] == 2 && counts[CS_STORE_JOB_QUEUED] == 0);
	cs_store_close(s);
}

static void test_requeue_and_digest(void)
{
	struct cs_store *s = open_store("requeue.db");
	struct cs_store_job j = {0}, k = {0};
	long long a, b, c, n = -1, dup = -1;
	int created;
	char d[72];

	st_digest(d, 42);
	CHECK_OK(cs_store_job_enqueue(s, "r/a:1", NULL, NULL, 1, &a, &created));
	CHECK_OK(cs_store_job_enqueue(s, "r/b:1", NULL, NULL, 2, &b, &created));
	CHECK_OK(cs_store_job_enqueue(s, "r/c:1", NULL, NULL, 3, &c, &created));
	CHECK_OK(cs_store_job_claim(s, "hostA:100:1", 600, 10, &j));
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_claim(s, "hostA:100:2", 5, 10, &j));
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_claim(s, "hostB:7:1", 600, 10, &j));
	cs_store_job_clear(&j);
	/* hostA restarts at 20: its two jobs come back (one by expiry, one by
	 * prefix); hostB's lease is still good. */
	CHECK_OK(cs_store_jobs_requeue_expired(s, 20, "hostA:", &n));
	CHECK(n == 2);
	CHECK_OK(cs_store_job_get(s, c, &j));
	CHECK(j.state == CS_STORE_JOB_RUNNING);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_get(s, a, &j));
	CHECK(j.state == CS_STORE_JOB_QUEUED && j.worker == NULL);
	cs_store_job_clear(&j);

	/* Late digests: a resolves first; then b resolves to the same digest
	 * and becomes a duplicate of a. */
	CHECK_OK(cs_store_job_claim(s, "w1", 60, 30, &j));
	CHECK(j.id == a);
	CHECK_OK(cs_store_job_claim(s, "w2", 60, 30, &k));
	CHECK(k.id == b);
	CHECK(cs_store_job_set_digest(s, a, "w2", d, 31, &dup) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_set_digest(s, a, "w1", d, 31, &dup));
	CHECK(dup == 0);
	CHECK_OK(cs_store_job_set_digest(s, b, "w2", d, 32, &dup));
	CHECK(dup == a);
	cs_store_job_clear(&k);
	CHECK_OK(cs_store_job_get(s, b, &k));
	CHECK(k.state == CS_STORE_JOB_DONE);
	CHECK(k.error != NULL && strstr(k.error, "duplicate") != NULL);
	cs_store_job_clear(&k);
	/* A push for that digest now finds a's job. */
	CHECK_OK(cs_store_job_enqueue(s, "r/a:1", d, NULL, 33, &n, &created));
	CHECK(n == a && created == 0);
	cs_store_job_clear(&j);
	cs_store_close(s);
}

static void test_alerts(void)
{
	struct cs_store *s = open_store("alerts.db");
	struct cs_store_options o;
	struct cs_store_alert a = {0};
	long long id, n;

	cs_store_options_default(&o);
	o.alert_max_attempts = 2;
	o.backoff_base = 5;
	CHECK_OK(cs_store_set_options(s, &o));
	CHECK(cs_store_alert_enqueue(s, NULL, "verdict", "{not json", 1, &id) == CS_EFORMAT);
	CHECK_OK(cs_store_alert_enqueue(s, NULL, "verdict", "{\"a\":1}", 1, &id));
	CHECK(id > 0);
	CHECK_OK(cs_store_alert_pending(s, &n));
	CHECK(n == 1);
	CHECK_OK(cs_store_alert_claim(s, "s1", 10, 2, &a));
	CHECK(a.id == id && a.attempts == 1);
	CHECK_STR(a.payload, "{\"a\":1}");
	CHECK_STR(a.kind, "verdict");
	cs_store_alert_clear(&a);
	/* Sender s1 hangs; after its lease s2 takes over, s1 cannot report. */
	CHECK_OK(cs_store_alert_claim(s, "s2", 10, 5, &a));
	CHECK(a.id == 0);
	CHECK_OK(cs_store_alert_claim(s, "s2", 10, 12, &a));
	CHECK(a.id == id && a.attempts == 2);
	cs_store_alert_clear(&a);
	CHECK(cs_store_alert_done(s, id, "s1", CS_STORE_OK, NULL, 13) == CS_ETIMEOUT);
	CHECK_OK(cs_store_alert_done(s, id, "s2", CS_STORE_FAILED, "connection refused", 13));
	/* attempts (2) reached alert_max_attempts: dead, not pending. */
	CHECK_OK(cs_store_alert_pending(s, &n));
	CHECK(n == 0);

	CHECK_OK(cs_store_alert_enqueue(s, NULL, "verdict", "[1]", 20, &id));
	CHECK_OK(cs_store_alert_claim(s, "s1", 10, 20, &a));
	cs_store_alert_clear(&a);
	CHECK_OK(cs_store_alert_done(s, id, "s1", CS_STORE_FAILED, "HTTP 503", 21));
	CHECK_OK(cs_store_alert_claim(s, "s1", 10, 25, &a));
	CHECK(a.id == 0);  /* backoff: due at 26 */
	CHECK_OK(cs_store_alert_claim(s, "s1", 10, 26, &a));
	CHECK(a.id == id);
	cs_store_alert_clear(&a);
	CHECK_OK(cs_store_alert_done(s, id, "s1", CS_STORE_OK, NULL, 27));
	CHECK_OK(cs_store_alert_pending(s, &n));
	CHECK(n == 0);
	CHECK_OK(cs_store_check(s));
	cs_store_close(s);
}

int main(void)
{
	st_tmpdir();
	test_dedupe();
	test_leases();
	test_retries();
	test_requeue_and_digest();
	test_alerts();
	st_cleanup();
	return cs_test_done();
}
