/*
 * Sandbox overhead: spawn a worker on one empty layer, collect its records,
 * reap it, tear down its cgroup; repeated N times. Side by side in the same
 * run: the same worker without namespaces (--unsafe-no-namespaces path) and
 * a plain fork+exec+wait of /bin/true.
 *
 *   sandbox_overhead BUILD_DIR [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/limits.h"
#include "supervisor/collect/collect.h"
#include "supervisor/sandbox/sandbox.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int one(const char *worker, int weak, const struct cs_limits *lim, const char *lims)
{
	struct cs_sandbox *sb = NULL;
	struct cs_sandbox_opts so;
	struct cs_collect_opts co;
	struct cs_collect_result res;
	const char *argv[7] = { "cellscan-worker", "--layers", "1", "--limits", lims,
				weak ? "--weak" : NULL, NULL };
	int fd = memfd_create("empty", 0), r;
	static const char zeros[1024];

	/* an empty tar: two zero blocks */
	if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
		return -1;
	lseek(fd, 0, SEEK_SET);

	memset(&so, 0, sizeof(so));
	so.worker = worker;
	so.argv = argv;
	so.fds = &fd;
	so.nfds = 1;
	so.lim = lim;
	so.weak = weak;
	cs_sandbox_default_ids(&so.uid, &so.gid);
	r = cs_sandbox_spawn(&sb, &so);
	if (r == 0) {
		memset(&co, 0, sizeof(co));
		co.lim = lim;
		co.layers = 1;
		r = cs_collect_run(sb, &co, &res);
	}
	cs_sandbox_free(sb);
	close(fd);
	return r;
}

static void report(const char *what, double *t, int n)
{
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("| %s | %.2f ms | %.2f ms | %.2f ms |\n", what, t[n / 2] * 1e3, t[n * 9 / 10] * 1e3,
	       t[0] * 1e3);
}

int main(int argc, char **argv)
{
	char worker[4096], lims[1024];
	struct cs_limits lim;
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200, i;
	double *t = calloc((size_t)n, sizeof(double));

	if (argc < 2 || t == NULL || n < 10) {
		fprintf(stderr, "usage: sandbox_overhead BUILD_DIR [N>=10]\n");
		return 2;
	}
	cs_sandbox_init();
	snprintf(worker, sizeof(worker), "%s/libexec/cellscan/cellscan-worker", argv[1]);
	cs_limits_default(&lim);
	cs_limits_format(&lim, lims, sizeof(lims));
	printf("cgroup: %s; %d runs each\n\n", cs_sandbox_cgroup_status(), n);
	printf("| what | median | p90 | min |\n|---|---|---|---|\n");
	for (i = 0; i < n; i++) {
		double s = now();
		if (one(worker, 0, &lim, lims) != 0) {
			fprintf(stderr, "sandboxed run failed: %s\n", cs_err_msg());
			return 1;
		}
		t[i] = now() - s;
	}
	report("sandboxed worker, empty layer (spawn to reaped)", t, n);
	for (i = 0; i < n; i++) {
		double s = now();
		if (one(worker, 1, &lim, lims) != 0) {
			fprintf(stderr, "weak run failed: %s\n", cs_err_msg());
			return 1;
		}
		t[i] = now() - s;
	}
	report("baseline: same worker without namespaces", t, n);
	for (i = 0; i < n; i++) {
		double s = now();
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
		t[i] = now() - s;
	}
	report("baseline: fork+exec+wait of /bin/true", t, n);
	free(t);
	return 0;
}
