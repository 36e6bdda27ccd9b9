/*
 * test_pg.c - the same store API on a real PostgreSQL server (Debian's
 * postgresql package), started by pg_server.sh on 127.0.0.1 as an ordinary
 * user in a scratch directory and stopped at the end: schema creation, the
 * queue (dedupe, leases, takeover, retries), 8 processes claiming at once
 * (FOR UPDATE SKIP LOCKED: each job exactly once), results with verdict
 * changes, filters, findings by alias, the reverse index and hostile names.
 * Skipped (77) when PostgreSQL is not installed or cellscan was built
 * without libpq.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/store/store_test.h"

static int port;
static char script[1024];

static int run_script(const char *cmd)
{
	char portbuf[16];
	int status;
	pid_t pid;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/bash", "bash", script, cmd, st_dir, portbuf, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void url_for(char *out, size_t n, const char *db)
{
	snprintf(out, n, "postgresql://cellscan@127.0.0.1:%d/%s?connect_timeout=10", port, db);
}

static struct cs_store *open_db(const char *db)
{
	struct cs_store *s = NULL;
	char url[256];

	url_for(url, sizeof(url), db);
	if (cs_store_open(&s, url) != 0) {
		fprintf(stderr, "open %s: %s\n", url, cs_err_msg());
		return NULL;
	}
	return s;
}

static void test_queue(void)
{
	struct cs_store *s = open_db("jobs");
	struct cs_store_options o;
	struct cs_store_job a = {0}, b = {0};
	long long id, first = 0, counts[CS_STORE_JOB_NSTATES];
	int created, ncreated = 0, v = 0;
	char d[72];

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_STR(cs_store_backend(s), "postgresql");
	CHECK_OK(cs_store_schema_version(s, &v));
	CHECK(v == CS_STORE_SCHEMA_VERSION);
	for (int i = 0; i < 200; i++) {
		st_digest(d, 0x100 + (unsigned)((i * 7) % 50));
		CHECK_OK(cs_store_job_enqueue(s, "reg/app:1", d, "push", i, &id, &created));
		ncreated += created;
		if (i == 0)
			first = id;
	}
	CHECK(ncreated == 50);
	CHECK_OK(cs_store_job_counts(s, counts));
	CHECK(counts[CS_STORE_JOB_QUEUED] == 50);
	/* leases and takeover */
	CHECK_OK(cs_store_job_claim(s, "A", 30, 1000, &a));
	CHECK(a.id == first && a.attempts == 1);
	CHECK_OK(cs_store_job_claim(s, "B", 30, 1031, &b));
	CHECK(b.id == first && b.attempts == 2);
	CHECK(cs_store_job_finish(s, a.id, "A", CS_STORE_OK, NULL, 1032) == CS_ETIMEOUT);
	CHECK(cs_store_job_heartbeat(s, a.id, "A", 30, 1032) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_heartbeat(s, b.id, "B", 30, 1032));
	/* retry with backoff, then dead */
	cs_store_options_default(&o);
	o.max_attempts = 3;
	o.backoff_base = 10;
	CHECK_OK(cs_store_set_options(s, &o));
	CHECK_OK(cs_store_job_finish(s, b.id, "B", CS_STORE_FAILED, "boom \xc3", 1040));
	cs_store_job_clear(&b);
	CHECK_OK(cs_store_job_get(s, first, &b));
	CHECK(b.state == CS_STORE_JOB_FAILED && b.next_attempt == 1060);
	CHECK_STR(b.error, "boom ?");  /* a cut sequence is invalid UTF-8 */
	cs_store_job_clear(&b);
	CHECK_OK(cs_store_job_claim(s, "C", 30, 1059, &b));
	CHECK(b.id != first && b.id != 0);  /* the next queued one */
	cs_store_job_clear(&b);
	/* Due again: the oldest runnable by id is the failed one. */
	CHECK_OK(cs_store_job_claim(s, "C2", 30, 1060, &b));
	CHECK(b.id == first && b.attempts == 3);
	cs_store_job_clear(&b);
	/* requeue on start */
	long long n = 0;
	CHECK_OK(cs_store_jobs_requeue_expired(s, 5000, NULL, &n));
	CHECK(n == 2);
	cs_store_job_clear(&a);
	cs_store_close(s);
}

static int claimer(int k, int fd)
{
	struct cs_store *s = open_db("race");
	char worker[64];

	if (s == NULL)
		return 2;
	snprintf(worker, sizeof(worker), "pg-claimer-%d", k);
	for (;;) {
		struct cs_store_job j = {0};
		if (cs_store_job_claim(s, worker, 600, 100, &j) != 0) {
			fprintf(stderr, "%s: %s\n", worker, cs_err_msg());
			return 1;
		}
		if (j.id == 0)
			break;
		if (cs_store_job_finish(s, j.id, worker, CS_STORE_OK, NULL, 100) != 0) {
			fprintf(stderr, "%s: %s\n", worker, cs_err_msg());
			return 1;
		}
		if (write(fd, &j.id, sizeof(j.id)) != (ssize_t)sizeof(j.id))
			return 1;
		cs_store_job_clear(&j);
	}
	cs_store_close(s);
	return 0;
}

static void test_race(void)
{
	enum { NJOBS = 200, NKIDS = 8 };
	struct cs_store *s = open_db("race");
	static int seen[NJOBS + 1];
	long long id, first = 0, got;
	int fds[2], created, status;
	pid_t pids[NKIDS];
	size_t total = 0;
	char d[72];

	CHECK(s != NULL);
	if (s == NULL)
		return;
	for (int i = 0; i < NJOBS; i++) {
		st_digest(d, 0x9000 + (unsigned)i);
		CHECK_OK(cs_store_job_enqueue(s, "reg/race:1", d, NULL, 1, &id, &created));
		if (i == 0)
			first = id;
	}
	cs_store_close(s);
	CHECK(pipe(fds) == 0);
	for (int k = 0; k < NKIDS; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			close(fds[0]);
			_exit(claimer(k, fds[1]));
		}
	}
	close(fds[1]);
	while (read(fds[0], &got, sizeof(got)) == (ssize_t)sizeof(got)) {
		long long k = got - first + 1;
		total++;
		CHECK(k >= 1 && k <= NJOBS);
		if (k >= 1 && k <= NJOBS)
			seen[k]++;
	}
	close(fds[0]);
	for (int k = 0; k < NKIDS; k++) {
		CHECK(waitpid(pids[k], &status, 0) == pids[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK(total == NJOBS);
	for (int k = 1; k <= NJOBS; k++)
		CHECK(seen[k] == 1);
}

static void test_results(void)
{
	struct cs_store *s = open_db("results");
	const char *repo = "reg.test/'); DROP TABLE images; --/\xc3\xbc\xf0\x9f\x90\xb3";
	const char *pairs[] = {"Red Hat:enterprise_linux:9::baseos", "openssl"};
	char dA[72], dB[72], *prev = NULL, *rep, *back = NULL;
	json_t *img, *inv, *o = NULL;
	struct cs_store_image_filter flt = {0};
	struct cs_store_finding_filter ff = {0, -1};
	int changed = -1;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	st_digest(dA, 0xa);
	st_digest(dB, 0xb);
	inv = st_inventory();
	img = st_image(dA, repo, "1", "sha256:db1");
	json_object_set_new(img, "package_keys", json_pack("[{s:s, s:s}]", "ecosystem",
		"Red Hat:enterprise_linux:9", "name", "openssl"));
	rep = st_report("unhealthy", json_pack("[o, o]",
		st_finding("CVE-2024-1", "GHSA-pg", "openssl", "critical", 1),
		st_finding("CVE-2024-2", NULL, "zlib", "medium", 0)));
	CHECK_OK(cs_store_put_result(s, img, inv, rep, 100, &changed, &prev));
	CHECK(changed == 1 && prev == NULL);
	CHECK_OK(cs_store_put_result(s, img, inv, rep, 100, &changed, &prev));
	CHECK(changed == 0);
	CHECK_STR(prev, "unhealthy");
	free(prev);
	CHECK_OK(cs_store_get_report(s, dA, &back));
	CHECK_STR(back, rep);
	free(back);
	free(rep);
	json_decref(img);
	img = st_image(dB, "reg.test/other", "2", "sha256:db1");
	rep = st_report("healthy", NULL);
	CHECK_OK(cs_store_put_result(s, img, inv, rep, 200, &changed, &prev));
	CHECK(changed == 0 && prev == NULL);
	free(rep);
	json_decref(img);

	CHECK_OK(cs_store_find_images_by_vuln(s, "GHSA-pg", &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 1);
	json_decref(o);
	CHECK_OK(cs_store_severity_mask("critical,high", &ff.severities));
	CHECK_OK(cs_store_image_findings(s, dA, &ff, &o));
	CHECK(json_array_size(json_object_get(o, "findings")) == 1);
	json_decref(o);
	ff.severities = 0;
	ff.fixable = 0;
	CHECK_OK(cs_store_image_findings(s, dA, &ff, &o));
	CHECK(json_array_size(json_object_get(o, "findings")) == 1);
	json_decref(o);
	flt.verdict = "unhealthy";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 1);
	json_decref(o);
	flt.verdict = NULL;
	flt.repository = "reg.test/'); DROP*";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "images"), 0),
						    "repository")), repo);
	json_decref(o);
	flt.repository = NULL;
	flt.limit = 1;
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK_STR(json_string_value(json_object_get(o, "next")), dA);
	json_decref(o);

	CHECK(cs_store_images_for_packages(s, pairs, 1, NULL, NULL) == CS_EINVAL);
	long long pending = 0;
	CHECK_OK(cs_store_alert_pending(s, &pending));
	CHECK(pending == 1);
	struct cs_store_alert al = {0};
	CHECK_OK(cs_store_alert_claim(s, "sender", 10, 300, &al));
	CHECK(al.id != 0 && al.payload != NULL && strstr(al.payload, "\"unhealthy\"") != NULL);
	CHECK_OK(cs_store_alert_done(s, al.id, "sender", CS_STORE_OK, NULL, 301));
	cs_store_alert_clear(&al);
	json_decref(inv);
	cs_store_close(s);
}

struct found {
	int n;
	char first[80];
};

static int on_digest(void *ctx, const char *digest)
{
	struct found *f = ctx;

	if (f->n++ == 0)
		snprintf(f->first, sizeof(f->first), "%s", digest);
	return 0;
}

static void test_reverse(void)
{
	struct cs_store *s = open_db("results");
	const char *pairs[] = {"Red Hat:enterprise_linux:9::baseos", "openssl"};
	struct found f = {0};
	char dA[72];

	CHECK(s != NULL);
	if (s == NULL)
		return;
	st_digest(dA, 0xa);
	CHECK_OK(cs_store_images_for_packages(s, pairs, 1, on_digest, &f));
	CHECK(f.n == 1);
	CHECK_STR(f.first, dA);
	cs_store_close(s);
}

int main(void)
{
	struct cs_store *probe = NULL;
	int r = -1;

	/* Built without libpq: say so and skip. */
	if (cs_store_open(&probe, "postgresql://127.0.0.1:1/none?connect_timeout=1") ==
	    CS_EUNSUPPORTED) {
		printf("SKIP: %s\n", cs_err_msg());
		return 77;
	}
	cs_store_close(probe);
	snprintf(script, sizeof(script), "%s/tests/store/pg_server.sh", cs_test_source_dir());
	st_tmpdir();
	for (int attempt = 0; attempt < 5 && r != 0; attempt++) {
		port = 20000 + (int)((getpid() * 7919 + attempt * 104729) % 40000);
		r = run_script("start");
		if (r == 77) {
			st_cleanup();
			return 77;
		}
	}
	if (r != 0) {
		fprintf(stderr, "could not start PostgreSQL\n");
		run_script("stop");
		st_cleanup();
		return 1;
	}
	test_queue();
	test_race();
	test_results();
	test_reverse();
	run_script("stop");
	/* The server's files belong to nobody; remove them as the owner of
	 * the directory (root) can. */
	{
		pid_t pid = fork();
		int status;
		if (pid == 0) {
			execl("/bin/rm", "rm", "-rf", st_dir, (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
	}
	return cs_test_done();
}
