/*
 * cgroup.h - memory and pids limits for one worker, where the host gives a
 * usable cgroup: v2 with the controllers delegated to us, or v1 as root.
 * Internal to supervisor/sandbox/.
 */
#ifndef CS_SUPERVISOR_SANDBOX_CGROUP_H
#define CS_SUPERVISOR_SANDBOX_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

struct cs_cgroup {
	int version;            /* 0 none, 1 or 2 */
	char mem[256];          /* v1 memory dir / v2 dir */
	char pids[256];         /* v1 pids dir */
};

/* Creates a cgroup for a worker with the limits; version 0 when none. */
int cs_cgroup_create(struct cs_cgroup *cg, const char *name, uint64_t mem, uint64_t pids);
/* Moves pid into it. */
int cs_cgroup_attach(struct cs_cgroup *cg, pid_t pid);
/* 1 when the memory limit killed something in it. */
int cs_cgroup_oom_killed(const struct cs_cgroup *cg);
void cs_cgroup_destroy(struct cs_cgroup *cg);
const char *cs_cgroup_status(void);

#endif
