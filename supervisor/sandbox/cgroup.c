#include "supervisor/sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/errors.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int cg_version;
static char v2_base[256];
static char status[256];

static int write_file(const char *dir, const char *file, const char *val)
{
	char p[512];
	int fd, ok;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	ok = n == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

static int is_fs(const char *path, long magic)
{
	struct statfs s;

	return statfs(path, &s) == 0 && (long)s.f_type == magic;
}

/* Our own v2 cgroup, if we may create children with memory and pids. */
static int find_v2(void)
{
	char self[4096], ctl[512], mnt[64];
	char *line, *save = NULL;
	const char *mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	size_t i;

	if (read_file("/proc/self/cgroup", self, sizeof(self)) != 0)
		return 0;
	for (line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		for (i = 0; i < 2; i++) {
			snprintf(mnt, sizeof(mnt), "%s", mounts[i]);
			if (!is_fs(mnt, CGROUP2_SUPER_MAGIC))
				continue;
			snprintf(v2_base, sizeof(v2_base), "%s%s", mnt,
				 strcmp(line + 3, "/") == 0 ? "" : line + 3);
			snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", v2_base);
			if (read_file(ctl, self, sizeof(self)) != 0)
				return 0;
			if (strstr(self, "memory") == NULL || strstr(self, "pids") == NULL)
				return 0;
			if (access(v2_base, W_OK) != 0)
				return 0;
			return 1;
		}
	}
	return 0;
}

static void detect(void)
{
	if (find_v2()) {
		cg_version = 2;
		snprintf(status, sizeof(status), "cgroup v2 (memory, pids) under %s", v2_base);
		return;
	}
	if (geteuid() == 0 && access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) == 0 &&
	    access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0) {
		cg_version = 1;
		snprintf(status, sizeof(status), "cgroup v1 (memory, pids)");
		return;
	}
	cg_version = 0;
	snprintf(status, sizeof(status), "none: no delegated cgroup v2 with memory and pids "
		 "controllers%s; workers are bounded by rlimits only",
		 geteuid() == 0 ? " and no writable cgroup v1" : ", and cgroup v1 needs root");
}

const char *cs_cgroup_status(void)
{
	pthread_once(&once, detect);
	return status;
}

int cs_cgroup_create(struct cs_cgroup *cg, const char *name, uint64_t mem, uint64_t pids)
{
	char v[32];

	pthread_once(&once, detect);
	memset(cg, 0, sizeof(*cg));
	if (cg_version == 0)
		return 0;
	if (cg_version == 2) {
		snprintf(cg->mem, sizeof(cg->mem), "%s/%s", v2_base, name);
		if (mkdir(cg->mem, 0700) != 0)
			return cs_err_set(CS_ESANDBOX, "cgroup %s: %s", cg->mem, strerror(errno));
		cg->version = 2;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
		/* swap control may be absent; memory.max is what matters */
		(void)write_file(cg->mem, "memory.swap.max", "0");
		if (write_file(cg->mem, "memory.max", v) != 0)
			return cs_err_set(CS_ESANDBOX, "cgroup memory.max: %s", strerror(errno));
		snprintf(v, sizeof(v), "%llu", (unsigned long long)pids);
		if (write_file(cg->mem, "pids.max", v) != 0)
			return cs_err_set(CS_ESANDBOX, "cgroup pids.max: %s", strerror(errno));
		return 0;
	}
	mkdir("/sys/fs/cgroup/memory/cellscan", 0700);
	mkdir("/sys/fs/cgroup/pids/cellscan", 0700);
	snprintf(cg->mem, sizeof(cg->mem), "/sys/fs/cgroup/memory/cellscan/%s", name);
	snprintf(cg->pids, sizeof(cg->pids), "/sys/fs/cgroup/pids/cellscan/%s", name);
	if (mkdir(cg->mem, 0700) != 0 || mkdir(cg->pids, 0700) != 0)
		return cs_err_set(CS_ESANDBOX, "cgroup v1 %s: %s", name, strerror(errno));
	cg->version = 1;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
	if (write_file(cg->mem, "memory.limit_in_bytes", v) != 0)
		return cs_err_set(CS_ESANDBOX, "cgroup memory.limit_in_bytes: %s", strerror(errno));
	/* Without swap accounting this file is absent; nothing to do then. */
	write_file(cg->mem, "memory.memsw.limit_in_bytes", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)pids);
	if (write_file(cg->pids, "pids.max", v) != 0)
		return cs_err_set(CS_ESANDBOX, "cgroup pids.max: %s", strerror(errno));
	return 0;
}

int cs_cgroup_attach(struct cs_cgroup *cg, pid_t pid)
{
	char v[32];

	if (cg->version == 0)
		return 0;
	snprintf(v, sizeof(v), "%d", (int)pid);
	if (write_file(cg->mem, "cgroup.procs", v) != 0)
		return cs_err_set(CS_ESANDBOX, "attach worker to cgroup %s: %s", cg->mem,
				  strerror(errno));
	if (cg->version == 1 && write_file(cg->pids, "cgroup.procs", v) != 0)
		return cs_err_set(CS_ESANDBOX, "attach worker to cgroup %s: %s", cg->pids,
				  strerror(errno));
	return 0;
}

int cs_cgroup_oom_killed(const struct cs_cgroup *cg)
{
	char p[512], buf[1024];
	const char *s;

	if (cg->version == 0)
		return 0;
	if (cg->version == 2) {
		snprintf(p, sizeof(p), "%s/memory.events", cg->mem);
		if (read_file(p, buf, sizeof(buf)) != 0)
			return 0;
		s = strstr(buf, "oom_kill ");
		return s != NULL && strtol(s + 9, NULL, 10) > 0;
	}
	snprintf(p, sizeof(p), "%s/memory.oom_control", cg->mem);
	if (read_file(p, buf, sizeof(buf)) == 0 && (s = strstr(buf, "oom_kill ")) != NULL &&
	    strtol(s + 9, NULL, 10) > 0)
		return 1;
	snprintf(p, sizeof(p), "%s/memory.failcnt", cg->mem);
	return read_file(p, buf, sizeof(buf)) == 0 && strtol(buf, NULL, 10) > 0;
}

void cs_cgroup_destroy(struct cs_cgroup *cg)
{
	if (cg->version != 0) {
		rmdir(cg->mem);
		if (cg->version == 1)
			rmdir(cg->pids);
	}
	cg->version = 0;
}
