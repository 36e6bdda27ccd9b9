/*
 * test_durability.c - the service in a child process (fork), with the fake
 * scanner: kill -9 while scans are queued and running, restart, and every
 * job completes exactly once with its result stored once; SIGTERM with a
 * scan running: finished within the grace period, or put back in the queue
 * after it and finished by the next run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/service/service.h"
#include "supervisor/store/store.h"
#include "tests/harness.h"
#include "tests/service/fake_scanner.h"
#include "tests/service/http_client.h"

#define NJOBS 12

static char dir[] = "/tmp/cellscan-svc-dur.XXXXXX";
static char logpath[600];

static void digest_of(char o[72], int n)
{
	int i;

	memcpy(o, "sha256:", 7);
	for (i = 0; i < 64; i++)
		o[7 + i] = "0123456789abcdef"[(n * 7 + i) & 15];
	o[7] = 'd';
	o[71] = '\0';
}

/* Starts the service in a child; returns its pid, *port set. */
static pid_t start_child(unsigned grace, unsigned *port)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct cs_service_config cfg;
		struct cs_service *s = NULL;
		sigset_t set;
		int sig = 0;
		unsigned pt;

		close(p[0]);
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		cs_service_config_init(&cfg);
		cfg.state_dir = strdup(dir);
		cfg.instance = strdup("durability");
		cfg.concurrency = 2;
		cfg.lease_seconds = 600;   /* a restart must not wait for leases to end */
		cfg.grace_seconds = grace;
		cfg.backoff_base = 1;
		cs_service_config_listen(&cfg, "127.0.0.1:0");
		if (cs_service_config_finish(&cfg) != 0 ||
		    cs_service_start(&s, &cfg, fake_scan, NULL) != 0) {
			fprintf(stderr, "child: %s\n", cs_err_msg());
			_exit(3);
		}
		pt = cs_service_port(s);
		if (write(p[1], &pt, sizeof(pt)) != (ssize_t)sizeof(pt))
			_exit(4);
		close(p[1]);
		sigdelset(&set, SIGPIPE);
		while (sig != SIGTERM)
			sigwait(&set, &sig);
		if (cs_service_stop(s) != 0)
			_exit(0);   /* scans still running were re-queued */
		cs_service_config_clear(&cfg);
		_exit(0);
	}
	close(p[1]);
	*port = 0;
	if (pid > 0 && read(p[0], port, sizeof(*port)) != (ssize_t)sizeof(*port))
		*port = 0;
	close(p[0]);
	return pid;
}

static int job_state(struct cs_store *st, long long id, struct cs_store_job *j)
{
	memset(j, 0, sizeof(*j));
	return cs_store_job_get(st, id, j);
}

static long long post_scan(unsigned port, const char *image)
{
	char body[400];
	long code;
	json_t *o;
	long long id;

	snprintf(body, sizeof(body), "{\"image\": \"%s\"}", image);
	o = http_json(port, "POST", "/v1/scans", body, NULL, &code);
	id = code == 202 ? json_integer_value(json_object_get(o, "id")) : 0;
	json_decref(o);
	return id;
}

static int wait_done(unsigned port, const long long *ids, size_t n, int seconds)
{
	int t;
	size_t i;

	for (t = 0; t < seconds * 10; t++) {
		size_t done = 0;
		for (i = 0; i < n; i++) {
			char path[64];
			long code;
			json_t *o;
			snprintf(path, sizeof(path), "/v1/scans/%lld", ids[i]);
			o = http_json(port, "GET", path, NULL, NULL, &code);
			const char *state = json_string_value(json_object_get(o, "state"));
			if (state != NULL && strcmp(state, "done") == 0)
				done++;
			json_decref(o);
		}
		if (done == n)
			return 1;
		fake_sleep_ms(100);
	}
	return 0;
}

static int stop_child(pid_t pid, int sig, int seconds)
{
	int status = -1, t;

	kill(pid, sig);
	for (t = 0; t < seconds * 20; t++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		fake_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -2;
}

static void test_kill9(void)
{
	long long ids[NJOBS];
	char digests[NJOBS][72], image[200], url[100];
	unsigned port;
	pid_t pid;
	int i, twice = 0, status;
	struct cs_store *st = NULL;
	long long counts[CS_STORE_JOB_NSTATES];
	json_t *list = NULL;
	struct cs_store_image_filter f;

	fake_base_ms = 700;
	pid = start_child(5, &port);
	CHECK(pid > 0 && port != 0);
	if (pid <= 0 || port == 0)
		return;
	/* a second service on the same state directory is refused (it would
	 * take the first one's running jobs for its own previous life's) */
	{
		struct cs_service_config cfg;
		struct cs_service *s2 = NULL;
		cs_service_config_init(&cfg);
		cfg.state_dir = strdup(dir);
		cfg.instance = strdup("durability");
		cs_service_config_listen(&cfg, "127.0.0.1:0");
		CHECK(cs_service_config_finish(&cfg) == 0);
		CHECK(cs_service_start(&s2, &cfg, fake_scan, NULL) == CS_EINVAL && s2 == NULL);
		CHECK(strstr(cs_err_msg(), "another cellscan serve") != NULL);
		cs_service_config_clear(&cfg);
	}
	for (i = 0; i < NJOBS; i++) {
		digest_of(digests[i], i);
		snprintf(image, sizeof(image), "fake.test/durable/img%d@%s", i, digests[i]);
		ids[i] = post_scan(port, image);
		CHECK(ids[i] > 0);
	}
	/* two workers, 0.7 s a scan: after 1.8 s a few are done, two are
	 * running, the rest queued */
	fake_sleep_ms(1800);
	status = stop_child(pid, SIGKILL, 10);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	snprintf(url, sizeof(url), "%s/cellscan.sqlite", dir);
	CHECK(cs_store_open(&st, url) == 0);
	CHECK(cs_store_job_counts(st, counts) == 0);
	fprintf(stderr, "at kill: queued %lld running %lld done %lld\n", counts[0], counts[1], counts[3]);
	CHECK(counts[CS_STORE_JOB_RUNNING] >= 1);
	CHECK(counts[CS_STORE_JOB_QUEUED] >= 1);
	CHECK(counts[CS_STORE_JOB_DONE] >= 1);
	cs_store_close(st);
	st = NULL;

	/* restart: the running jobs of this instance are put back at once */
	pid = start_child(5, &port);
	CHECK(pid > 0 && port != 0);
	CHECK(wait_done(port, ids, NJOBS, 60));
	status = stop_child(pid, SIGTERM, 20);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	CHECK(cs_store_open(&st, url) == 0);
	CHECK(cs_store_job_counts(st, counts) == 0);
	CHECK(counts[CS_STORE_JOB_DONE] == NJOBS);
	CHECK(counts[CS_STORE_JOB_QUEUED] == 0 && counts[CS_STORE_JOB_RUNNING] == 0 &&
	      counts[CS_STORE_JOB_FAILED] == 0 && counts[CS_STORE_JOB_DEAD] == 0);
	for (i = 0; i < NJOBS; i++) {
		struct cs_store_job j;
		char *rep = NULL, *want = fake_report(digests[i], "healthy"), line[80];
		unsigned runs;
		CHECK(job_state(st, ids[i], &j) == 0);
		CHECK(j.state == CS_STORE_JOB_DONE);
		twice += j.attempts == 2;
		CHECK(j.attempts == 1 || j.attempts == 2);
		/* the scanner ran once, or twice when killed in the middle */
		snprintf(line, sizeof(line), "%s\n", digests[i]);
		runs = 0;
		{
			size_t len;
			char *t = (char *)cs_test_read_file(logpath, &len), *p;
			for (p = t; p != NULL && (p = strstr(p, line)) != NULL; p += strlen(line))
				runs++;
			free(t);
		}
		CHECK(runs == (unsigned)j.attempts);
		CHECK(cs_store_get_report(st, digests[i], &rep) == 0);
		CHECK_STR(rep, want);
		free(rep);
		free(want);
		cs_store_job_clear(&j);
	}
	CHECK(twice >= 1 && twice <= 2);
	memset(&f, 0, sizeof(f));
	f.repository = "fake.test/durable/*";
	f.limit = 1000;
	CHECK(cs_store_list_images(st, &f, &list) == 0);
	CHECK(json_array_size(json_object_get(list, "images")) == NJOBS);
	json_decref(list);
	CHECK(cs_store_check(st) == 0);
	cs_store_close(st);
	fake_base_ms = 0;
}

static void test_sigterm(void)
{
	char image[200], d[72], url[600];
	unsigned port;
	pid_t pid;
	long long id;
	int status;
	struct cs_store *st = NULL;
	struct cs_store_job j;
	struct timespec t0, t1;

	snprintf(url, sizeof(url), "%s/cellscan.sqlite", dir);
	/* a 3 s scan, 1 s of grace: stopped in time, the job goes back */
	fake_slow_ms = 3000;
	pid = start_child(1, &port);
	CHECK(pid > 0 && port != 0);
	digest_of(d, 100);
	snprintf(image, sizeof(image), "fake.test/slow/one@%s", d);
	id = post_scan(port, image);
	CHECK(id > 0);
	fake_sleep_ms(500);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = stop_child(pid, SIGTERM, 10);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(t1.tv_sec - t0.tv_sec <= 3);
	CHECK(cs_store_open(&st, url) == 0);
	CHECK(job_state(st, id, &j) == 0);
	CHECK(j.state == CS_STORE_JOB_QUEUED);
	cs_store_job_clear(&j);
	cs_store_close(st);
	st = NULL;

	/* 10 s of grace: the next run takes it again, and a SIGTERM in the
	 * middle waits for it to finish */
	pid = start_child(10, &port);
	CHECK(pid > 0 && port != 0);
	fake_sleep_ms(800);
	status = stop_child(pid, SIGTERM, 15);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(cs_store_open(&st, url) == 0);
	CHECK(job_state(st, id, &j) == 0);
	CHECK(j.state == CS_STORE_JOB_DONE);
	CHECK(j.attempts == 2);
	cs_store_job_clear(&j);
	cs_store_close(st);
	fake_slow_ms = 300;
}

int main(void)
{
	char p[700];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(logpath, sizeof(logpath), "%s/fake.log", dir);
	fake_log = logpath;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_kill9();
	test_sigterm();
	curl_global_cleanup();
	if (getenv("KEEP") == NULL) {
		static const char *const names[] = { "cellscan.sqlite", "cellscan.sqlite-wal",
			"cellscan.sqlite-shm", "fake.log", "serve.lock" };
		for (size_t i = 0; i < 5; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			unlink(p);
		}
		CHECK(rmdir(dir) == 0);
	}
	return cs_test_done();
}
