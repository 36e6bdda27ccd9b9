/*
 * test_auth_env.h - what test_auth_helpers.c and test_auth_token.c share:
 * starting and stopping tests/source/auth_env.sh (the real docker-registry
 * instances, token services and fault proxies), reading its variables and
 * the expected digests, running commands without a shell, the proxies'
 * control API, and pulling the test image with cs_source_open() while
 * capturing what the library writes to stderr.
 *
 * Everything is static: each test includes this once.
 */
#ifndef CS_TESTS_SOURCE_TEST_AUTH_ENV_H
#define CS_TESTS_SOURCE_TEST_AUTH_ENV_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/source/source.h"
#include "tests/harness.h"

/* each test uses some of these */
#define AUTH_HELPER static __attribute__((unused))

struct authenv {
	char dir[256];            /* the work directory (removed by env_stop) */
	char vars[32][2][512];    /* NAME, VALUE from WORKDIR/vars */
	size_t nvars;
	json_t *expect;           /* WORKDIR/expect.json */
	int started;
};

AUTH_HELPER double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (no shell) with stdout to out_path (or inherited when NULL);
 * returns the exit status, -1 when it could not run, 124 on timeout. */
AUTH_HELPER int run_cmd(char *const argv[], const char *out_path, int timeout_s)
{
	pid_t pid = fork(), w;
	int st = 0;
	double end = now_s() + timeout_s;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path != NULL) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(126);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_s() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 124;
		}
		usleep(20000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

AUTH_HELPER const char *env_var(const struct authenv *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nvars; i++)
		if (strcmp(e->vars[i][0], name) == 0)
			return e->vars[i][1];
	fprintf(stderr, "auth_env.sh gave no %s\n", name);
	return "";
}

AUTH_HELPER void env_path(char *out, size_t n, const struct authenv *e, const char *rel)
{
	snprintf(out, n, "%s/%s", e->dir, rel);
}

AUTH_HELPER void env_stop(struct authenv *e)
{
	char script[1024];
	char *argv[] = {(char *)"bash", script, (char *)"stop", e->dir, NULL};
	char *rm[] = {(char *)"rm", (char *)"-rf", e->dir, NULL};

	if (!e->started)
		return;
	snprintf(script, sizeof(script), "%s/tests/source/auth_env.sh", cs_test_source_dir());
	run_cmd(argv, NULL, 60);
	if (getenv("KEEP") == NULL)
		run_cmd(rm, NULL, 60);
	else
		printf("kept %s\n", e->dir);
	json_decref(e->expect);
	e->expect = NULL;
	e->started = 0;
}

/* Starts the environment; exits 77 (with the reason printed by the script)
 * when a tool is missing. Returns 0, or -1 after printing why. */
AUTH_HELPER int env_start(struct authenv *e, const char *tag)
{
	char script[1024], path[600], line[1200];
	char *argv[] = {(char *)"bash", script, (char *)"start", e->dir, NULL};
	FILE *f;
	int rc;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/cellscan-%s.XXXXXX", tag);
	if (mkdtemp(e->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(script, sizeof(script), "%s/tests/source/auth_env.sh", cs_test_source_dir());
	rc = run_cmd(argv, NULL, 300);
	e->started = 1;
	if (rc == 77) {
		env_stop(e);
		exit(77);
	}
	if (rc != 0) {
		fprintf(stderr, "auth_env.sh start failed (%d)\n", rc);
		return -1;
	}
	env_path(path, sizeof(path), e, "vars");
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL && e->nvars < 32) {
		char *eq = strchr(line, '=');
		size_t l = strcspn(line, "\n");
		line[l] = '\0';
		if (eq == NULL)
			continue;
		*eq = '\0';
		snprintf(e->vars[e->nvars][0], sizeof(e->vars[0][0]), "%s", line);
		snprintf(e->vars[e->nvars][1], sizeof(e->vars[0][1]), "%s", eq + 1);
		e->nvars++;
	}
	fclose(f);
	env_path(path, sizeof(path), e, "expect.json");
	e->expect = json_load_file(path, 0, NULL);
	return json_is_object(e->expect) ? 0 : -1;
}

/* 1 when the file at path contains needle (a missing file contains nothing). */
AUTH_HELPER int file_has(const char *path, const char *needle)
{
	size_t n = 0;
	uint8_t *d = cs_test_read_file(path, &n);
	int r = d != NULL && n > 0 && memmem(d, n, needle, strlen(needle)) != NULL;

	free(d);
	return r;
}

AUTH_HELPER int write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = fputs(s, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The JSON lines of a log file, as an array (caller json_decref()s). */
AUTH_HELPER json_t *read_jsonl(const char *path)
{
	json_t *arr = json_array();
	char *d = (char *)cs_test_read_file(path, NULL), *p, *nl;

	for (p = d; p != NULL && *p != '\0'; p = nl + 1) {
		json_t *j;
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		j = json_loads(p, 0, NULL);
		if (j != NULL)
			json_array_append_new(arr, j);
	}
	free(d);
	return arr;
}

/* POST to a fault proxy's control API (action "reset" or "rules"). */
AUTH_HELPER int proxy_ctl(const struct authenv *e, const char *px, const char *action,
		     const char *body)
{
	char url[600], ca[600];
	char *argv[] = {(char *)"curl", (char *)"-sf", (char *)"--cacert", ca, (char *)"-X",
			(char *)"POST", url, (char *)"--data-binary", (char *)(body ? body : ""),
			(char *)"-o", (char *)"/dev/null", NULL};

	snprintf(ca, sizeof(ca), "%s", env_var(e, "CA"));
	snprintf(url, sizeof(url), "https://%s/__ctl/%s", px, action);
	return run_cmd(argv, NULL, 30) == 0 ? 0 : -1;
}

/* The proxy's request log (caller json_decref()s), or NULL. */
AUTH_HELPER json_t *proxy_log(const struct authenv *e, const char *px)
{
	char url[600], ca[600], out[600];
	char *argv[] = {(char *)"curl", (char *)"-sf", (char *)"--cacert", ca, url, NULL};

	snprintf(ca, sizeof(ca), "%s", env_var(e, "CA"));
	snprintf(url, sizeof(url), "https://%s/__ctl/log", px);
	env_path(out, sizeof(out), e, "proxy-log.json");
	if (run_cmd(argv, out, 30) != 0)
		return NULL;
	return json_load_file(out, 0, NULL);
}

/* Number of proxy log entries whose path ends with suffix (NULL: any), with
 * the status (0: any) and the auth flag (-1: any). */
AUTH_HELPER int log_count(const json_t *log, const char *listener, const char *suffix, long status,
		     int auth)
{
	size_t i;
	const json_t *x;
	int n = 0;

	json_array_foreach(log, i, x) {
		const char *p = json_string_value(json_object_get(x, "path"));
		const char *l = json_string_value(json_object_get(x, "listener"));
		size_t pl = p ? strlen(p) : 0, sl = suffix ? strlen(suffix) : 0;
		if (listener != NULL && (l == NULL || strcmp(l, listener) != 0))
			continue;
		if (suffix != NULL && (pl < sl || strcmp(p + pl - sl, suffix) != 0))
			continue;
		if (status != 0 && json_integer_value(json_object_get(x, "status")) != status)
			continue;
		if (auth >= 0 && json_is_true(json_object_get(x, "auth")) != auth)
			continue;
		n++;
	}
	return n;
}

/* The statuses of the requests for a path suffix, in order: "503,401,200". */
AUTH_HELPER void log_statuses(char *out, size_t n, const json_t *log, const char *suffix)
{
	size_t i, o = 0;
	const json_t *x;

	out[0] = '\0';
	json_array_foreach(log, i, x) {
		const char *p = json_string_value(json_object_get(x, "path"));
		size_t pl = p ? strlen(p) : 0, sl = strlen(suffix);
		int w;
		if (pl < sl || strcmp(p + pl - sl, suffix) != 0)
			continue;
		w = snprintf(out + o, n - o, "%s%lld", o ? "," : "",
			     (long long)json_integer_value(json_object_get(x, "status")));
		if (w < 0 || (size_t)w >= n - o)
			return;
		o += (size_t)w;
	}
}

AUTH_HELPER const char *expect_str(const struct authenv *e, const char *k)
{
	return json_string_value(json_object_get(e->expect, k));
}

AUTH_HELPER const char *expect_layer(const struct authenv *e, size_t i)
{
	return json_string_value(json_array_get(json_object_get(e->expect, "layers"), i));
}

/* The image is the one auth_image.py wrote (digests from expect.json). */
AUTH_HELPER int image_matches(const struct authenv *e, const struct cs_image *img)
{
	const json_t *ls = json_object_get(e->expect, "layers");
	const json_t *ds = json_object_get(e->expect, "diff_ids");
	size_t i;

	if (img == NULL || json_array_size(ls) != 3 || img->nlayers != json_array_size(ls) ||
	    strcmp(img->manifest_digest, expect_str(e, "manifest")) != 0 ||
	    strcmp(img->config_digest, expect_str(e, "config")) != 0)
		return 0;
	for (i = 0; i < img->nlayers; i++)
		if (strcmp(img->layers[i].digest, json_string_value(json_array_get(ls, i))) != 0 ||
		    strcmp(img->layers[i].diff_id, json_string_value(json_array_get(ds, i))) != 0 ||
		    img->layers[i].fd < 0)
			return 0;
	return 1;
}

/* One pull's outcome. */
struct pull {
	int rc;
	int matches;              /* the image is the expected one */
	double secs;
	char msg[2048];           /* cs_err_msg() on failure */
	char err_path[600];       /* what the library wrote to stderr meanwhile */
};

/*
 * Opens ref with a fresh blob cache (so every blob is fetched), stderr
 * captured into WORKDIR/stderr.NAME. o is copied and given the CA and the
 * cache directory.
 */
AUTH_HELPER void pull(struct pull *p, const struct authenv *e, const char *name, const char *ref,
		 const struct cs_source_opts *base)
{
	struct cs_source_opts o = *base;
	struct cs_image *img = NULL;
	char cache[600];
	int saved, fd;
	double t0;

	memset(p, 0, sizeof(*p));
	snprintf(cache, sizeof(cache), "%s/cache-%s", e->dir, name);
	snprintf(p->err_path, sizeof(p->err_path), "%s/stderr.%s", e->dir, name);
	o.ca_file = env_var(e, "CA");
	o.cache_dir = cache;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	cs_err_clear();
	t0 = now_s();
	p->rc = cs_source_open(&img, ref, &o);
	p->secs = now_s() - t0;
	snprintf(p->msg, sizeof(p->msg), "%s", p->rc != 0 ? cs_err_msg() : "");
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	p->matches = p->rc == 0 && image_matches(e, img);
	cs_image_free(img);
	printf("  %-28s rc %d in %.1f s%s%s\n", name, p->rc, p->secs, p->rc ? ": " : "", p->msg);
	fflush(stdout);
}

#endif
