/*
 * test_concurrency.c - several processes on one SQLite store:
 *   - 8 claimers race over 300 jobs: each job is claimed exactly once;
 *   - a claimer killed with SIGKILL mid-job: after its lease another takes
 *     the job, the dead one's finish is refused, it completes once;
 *   - claimers killed at random moments (inside transactions too): the
 *     file stays sound, no job completes twice, every job ends done;
 *   - a writer killed in the middle of put_result loops: after reopening,
 *     integrity_check passes and every stored image is whole (report,
 *     inventory, and exactly its report's findings), none half-written.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/store/store_test.h"

static char dbpath[512];

static struct cs_store *must_open(void)
{
	struct cs_store *s = NULL;

	if (cs_store_open(&s, dbpath) != 0) {
		fprintf(stderr, "open %s: %s\n", dbpath, cs_err_msg());
		return NULL;
	}
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads long longs from fd until EOF into out (at most max). */
static size_t read_ids(int fd, long long *out, size_t max)
{
	size_t n = 0, have = 0;
	char buf[sizeof(long long)];

	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have == sizeof(buf)) {
			if (n < max)
				memcpy(&out[n], buf, sizeof(buf));
			n++;
			have = 0;
		}
	}
	return n;
}

/* Child: claim and finish until nothing is left; report each id. */
static int claimer(int id, int fd, long long now, long long lease)
{
	struct cs_store *s = must_open();
	char worker[64];
	int r = 0;

	if (s == NULL)
		return 2;
	snprintf(worker, sizeof(worker), "claimer-%d:%d", id, (int)getpid());
	for (;;) {
		struct cs_store_job j = {0};
		if ((r = cs_store_job_claim(s, worker, lease, now, &j)) != 0) {
			fprintf(stderr, "%s: claim: %s\n", worker, cs_err_msg());
			break;
		}
		if (j.id == 0)
			break;
		if ((r = cs_store_job_finish(s, j.id, worker, CS_STORE_OK, NULL, now)) != 0) {
			fprintf(stderr, "%s: finish: %s\n", worker, cs_err_msg());
			cs_store_job_clear(&j);
			break;
		}
		if (write_all(fd, &j.id, sizeof(j.id)) != 0)
			r = -1;
		cs_store_job_clear(&j);
		if (r != 0)
			break;
	}
	cs_store_close(s);
	return r == 0 ? 0 : 1;
}

static void test_claim_race(void)
{
	enum { NJOBS = 300, NKIDS = 8 };
	static long long got[NJOBS * 2];
	int seen[NJOBS + 1] = {0};
	struct cs_store *s = must_open();
	long long first = 0, id, counts[CS_STORE_JOB_NSTATES];
	int fds[NKIDS][2], created, status;
	pid_t pids[NKIDS];
	size_t total = 0;
	char d[72];

	CHECK(s != NULL);
	if (s == NULL)
		return;
	for (int i = 0; i < NJOBS; i++) {
		st_digest(d, 0x5000 + (unsigned)i);
		CHECK_OK(cs_store_job_enqueue(s, "registry.test/race:1", d, "push", 1, &id, &created));
		if (i == 0)
			first = id;
	}
	cs_store_close(s);
	for (int k = 0; k < NKIDS; k++) {
		if (pipe(fds[k]) != 0) {
			perror("pipe");
			exit(1);
		}
		pids[k] = fork();
		if (pids[k] == 0) {
			close(fds[k][0]);
			_exit(claimer(k, fds[k][1], 1000, 600));
		}
		close(fds[k][1]);
	}
	for (int k = 0; k < NKIDS; k++) {
		total += read_ids(fds[k][0], got + total, NJOBS * 2 - total);
		close(fds[k][0]);
	}
	for (int k = 0; k < NKIDS; k++) {
		CHECK(waitpid(pids[k], &status, 0) == pids[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK(total == NJOBS);
	for (size_t i = 0; i < total && i < NJOBS * 2; i++) {
		long long k = got[i] - first + 1;
		CHECK(k >= 1 && k <= NJOBS);
		if (k >= 1 && k <= NJOBS)
			seen[k]++;
	}
	for (int k = 1; k <= NJOBS; k++)
		CHECK(seen[k] == 1);
	s = must_open();
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_OK(cs_store_job_counts(s, counts));
	CHECK(counts[CS_STORE_JOB_DONE] == NJOBS);
	for (int i = 0; i < NJOBS; i += 37) {
		struct cs_store_job j = {0};
		CHECK_OK(cs_store_job_get(s, first + i, &j));
		CHECK(j.attempts == 1);
		cs_store_job_clear(&j);
	}
	cs_store_close(s);
}

static void test_killed_claimer(void)
{
	struct cs_store *s = must_open();
	struct cs_store_job j = {0};
	long long id, got = 0;
	int fds[2], created, status;
	char d[72], dead_worker[64];
	pid_t pid;

	if (s == NULL) {
		CHECK(s != NULL);
		return;
	}
	st_digest(d, 0x6666);
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/killed:1", d, "push", 2000, &id, &created));
	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		struct cs_store *c;
		close(fds[0]);
		cs_store_close(s);  /* never use the parent's connection */
		c = must_open();
		if (c == NULL || cs_store_job_claim(c, "victim", 30, 2000, &j) != 0 || j.id == 0)
			_exit(1);
		if (write_all(fds[1], &j.id, sizeof(j.id)) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	/* Exactly one id: the child keeps its end open until it dies. */
	{
		size_t have = 0;
		while (have < sizeof(got)) {
			ssize_t r = read(fds[0], (char *)&got + have, sizeof(got) - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			have += (size_t)r;
		}
		CHECK(have == sizeof(got));
	}
	close(fds[0]);
	CHECK(got == id);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The lease holds until 2030. */
	CHECK_OK(cs_store_job_claim(s, "rescuer", 30, 2029, &j));
	CHECK(j.id == 0);
	CHECK_OK(cs_store_job_claim(s, "rescuer", 30, 2030, &j));
	CHECK(j.id == id && j.attempts == 2);
	cs_store_job_clear(&j);
	snprintf(dead_worker, sizeof(dead_worker), "victim");
	CHECK(cs_store_job_finish(s, id, dead_worker, CS_STORE_OK, NULL, 2031) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_finish(s, id, "rescuer", CS_STORE_OK, NULL, 2032));
	CHECK(cs_store_job_finish(s, id, "rescuer", CS_STORE_OK, NULL, 2033) == CS_ETIMEOUT);
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_DONE && j.finished == 2032);
	cs_store_job_clear(&j);
	cs_store_close(s);
}

static void test_random_kills(void)
{
	enum { NJOBS = 120, NKIDS = 4 };
	static long long got[NJOBS * 4];
	int seen[NJOBS + 1] = {0};
	struct cs_store *s = must_open();
	long long first = 0, id, n_requeued = 0;
	int created, status, fds[2];
	size_t total = 0;
	char d[72];

	if (s == NULL) {
		CHECK(s != NULL);
		return;
	}
	for (int i = 0; i < NJOBS; i++) {
		st_digest(d, 0x7000 + (unsigned)i);
		CHECK_OK(cs_store_job_enqueue(s, "registry.test/kills:1", d, "push", 3000, &id, &created));
		if (i == 0)
			first = id;
	}
	cs_store_close(s);
	CHECK(pipe(fds) == 0);
	/* Rounds of claimers, each killed after a few milliseconds. */
	for (int round = 0; round < 6; round++) {
		pid_t pids[NKIDS];
		for (int k = 0; k < NKIDS; k++) {
			pids[k] = fork();
			if (pids[k] == 0) {
				close(fds[0]);
				_exit(claimer(round * 10 + k, fds[1], 3000 + round * 100, 50));
			}
		}
		sleep_ms(5 + round * 7);
		for (int k = 0; k < NKIDS; k++)
			kill(pids[k], SIGKILL);
		for (int k = 0; k < NKIDS; k++)
			waitpid(pids[k], &status, 0);
	}
	/* Recovery: start after all leases ended, finish the rest. */
	s = must_open();
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK_OK(cs_store_check(s));
		CHECK_OK(cs_store_jobs_requeue_expired(s, 10000, NULL, &n_requeued));
		cs_store_close(s);
	}
	pid_t last = fork();
	if (last == 0) {
		close(fds[0]);
		_exit(claimer(99, fds[1], 10000, 600));
	}
	close(fds[1]);
	CHECK(waitpid(last, &status, 0) == last);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	total = read_ids(fds[0], got, NJOBS * 4);
	close(fds[0]);
	/* A kill between a finish's commit and the report of it loses the
	 * report, never the completion; so: no id twice, all jobs done. */
	CHECK(total <= NJOBS);
	for (size_t i = 0; i < total && i < NJOBS * 4; i++) {
		long long k = got[i] - first + 1;
		CHECK(k >= 1 && k <= NJOBS);
		if (k >= 1 && k <= NJOBS) {
			seen[k]++;
			CHECK(seen[k] == 1);
		}
	}
	s = must_open();
	if (s != NULL) {
		long long counts[CS_STORE_JOB_NSTATES];
		CHECK_OK(cs_store_job_counts(s, counts));
		CHECK(counts[CS_STORE_JOB_DONE] == NJOBS + 300 + 1);
		CHECK(counts[CS_STORE_JOB_QUEUED] + counts[CS_STORE_JOB_RUNNING] +
		      counts[CS_STORE_JOB_FAILED] + counts[CS_STORE_JOB_DEAD] == 0);
		cs_store_close(s);
	}
	printf("random kills: %zu completions reported, %lld requeued at recovery\n", total,
	       n_requeued);
}

/* Child: put results for images start, start+1, ... forever. */
static int writer(unsigned start, int fd)
{
	struct cs_store *s = must_open();
	json_t *inv = st_inventory();

	if (s == NULL)
		return 2;
	for (unsigned i = start;; i++) {
		json_t *f = json_array(), *img;
		char d[72], *rep, id[32];
		int changed;

		for (unsigned k = 0; k < 1500 + (i % 7) * 100; k++) {
			snprintf(id, sizeof(id), "CVE-2021-%u", k);
			json_array_append_new(f, st_finding(id, "GHSA-x", "pkg", k % 2 ? "high" : "low",
							    k % 3 == 0));
		}
		rep = st_report(i % 2 ? "unhealthy" : "healthy", f);
		st_digest(d, 0x100000 + i);
		img = st_image(d, "registry.test/atomic", "t", "sha256:"
			       "3333333333333333333333333333333333333333333333333333333333333333");
		if (cs_store_put_result(s, img, inv, rep, 5000 + i, &changed, NULL) != 0) {
			fprintf(stderr, "writer: %s\n", cs_err_msg());
			return 1;
		}
		json_decref(img);
		free(rep);
		if (write_all(fd, &(long long){(long long)i}, sizeof(long long)) != 0)
			return 1;
	}
}

static void test_put_atomic(void)
{
	unsigned next = 0;
	long long reported[4096];
	size_t total_reported = 0;

	for (int round = 0; round < 4; round++) {
		int fds[2], status;
		pid_t pid;
		size_t n;

		CHECK(pipe(fds) == 0);
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			_exit(writer(next, fds[1]));
		}
		close(fds[1]);
		sleep_ms(400 + round * 230);
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status));
		n = read_ids(fds[0], reported, sizeof(reported) / sizeof(reported[0]));
		close(fds[0]);
		total_reported += n;
		next += (unsigned)n + 1;  /* the one in flight may or may not be there */
	}
	CHECK(total_reported > 0);

	struct cs_store *s = must_open();
	if (s == NULL) {
		CHECK(s != NULL);
		return;
	}
	CHECK_OK(cs_store_check(s));
	/* Every stored image is whole: a report, an inventory, and exactly the
	 * findings its report lists. */
	struct cs_store_image_filter flt = {0};
	char cursor[80] = "";
	size_t images = 0;
	flt.repository = "registry.test/atomic";
	flt.limit = 50;
	for (;;) {
		json_t *page = NULL, *img;
		size_t i;

		flt.cursor = cursor[0] != '\0' ? cursor : NULL;
		CHECK_OK(cs_store_list_images(s, &flt, &page));
		if (page == NULL)
			break;
		json_array_foreach(json_object_get(page, "images"), i, img) {
			const char *dg = json_string_value(json_object_get(img, "digest"));
			char *rep = NULL, *inv = NULL;
			json_t *r = NULL, *fi = NULL;

			images++;
			CHECK(json_is_string(json_object_get(img, "verdict")));
			CHECK_OK(cs_store_get_report(s, dg, &rep));
			CHECK_OK(cs_store_get_inventory(s, dg, &inv));
			r = rep != NULL ? json_loads(rep, 0, NULL) : NULL;
			CHECK(r != NULL);
			CHECK_OK(cs_store_image_findings(s, dg, NULL, &fi));
			CHECK(json_array_size(json_object_get(fi, "findings")) ==
			      json_array_size(json_object_get(r, "findings")));
			CHECK(json_array_size(json_object_get(r, "findings")) >= 1500);
			json_decref(r);
			json_decref(fi);
			free(rep);
			free(inv);
		}
		const char *nx = json_string_value(json_object_get(page, "next"));
		if (nx == NULL) {
			json_decref(page);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", nx);
		json_decref(page);
	}
	/* Reported ones are all there; at most one unreported per kill. */
	CHECK(images >= total_reported && images <= total_reported + 4);
	printf("atomic puts: %zu reported, %zu stored\n", total_reported, images);
	cs_store_close(s);
}

int main(void)
{
	st_tmpdir();
	st_path(dbpath, sizeof(dbpath), "shared.db");
	test_claim_race();
	test_killed_claimer();
	test_random_kills();
	test_put_atomic();
	st_cleanup();
	return cs_test_done();
}
