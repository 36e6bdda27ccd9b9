/*
 * sandbox.h - starting, watching and ending one cellscan-worker in its own
 * namespaces (DESIGN.md "Sandbox requirements"). The worker completes the
 * lockdown itself (worker/lockdown.c); this side creates the namespaces,
 * writes the id maps, applies cgroup limits, prepares the worker's tiny
 * mount tree and descriptors, and execs it.
 */
#ifndef CS_SUPERVISOR_SANDBOX_H
#define CS_SUPERVISOR_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "common/limits.h"

struct cs_sandbox;   /* opaque: one running worker */

struct cs_sandbox_opts {
	const char *worker;          /* path of the worker executable */
	const char *const *argv;     /* worker argv, argv[0] first, NULL-terminated */
	const int *fds;              /* become descriptors 3, 4, ... in the worker */
	size_t nfds;
	const char *rootfs;          /* dir: mode: bound read-only at /rootfs, or NULL */
	const struct cs_limits *lim;
	uid_t uid;                   /* host uid/gid for the worker when we are root */
	gid_t gid;
	int weak;                    /* no namespaces (explicit, loudly logged option) */
};

enum cs_end_kind {
	CS_END_OK = 0,       /* exit 0 (the caller also requires "done") */
	CS_END_EXIT,         /* exited non-zero */
	CS_END_CRASH,        /* killed by a signal */
	CS_END_SECCOMP,      /* killed for a forbidden syscall */
	CS_END_TIMEOUT,      /* wall-clock limit: killed by us */
	CS_END_OOM,          /* memory limit */
	CS_END_CPU,          /* CPU-time limit */
	CS_END_PROTOCOL,     /* killed by us for a protocol violation */
	CS_END_SETUP,        /* the sandbox could not be set up */
};

struct cs_sandbox_end {
	enum cs_end_kind kind;
	int exit_code;
	int signal;
	double cpu_seconds;
	long max_rss_kb;
};

/*
 * Call once at start, before any thread exists. As root it clears the
 * supervisor's supplementary groups so no worker inherits them. Safe to
 * call again.
 */
int cs_sandbox_init(void);

/* The host uid/gid workers get when cellscan runs as root: the
 * "cellscan-sandbox" account when it exists, else nobody (65534). */
void cs_sandbox_default_ids(uid_t *uid, gid_t *gid);

/* Spawns a worker. On failure the message explains what the host blocks
 * and how to allow it. Free with cs_sandbox_free(). */
int cs_sandbox_spawn(struct cs_sandbox **out, const struct cs_sandbox_opts *o);

pid_t cs_sandbox_pid(const struct cs_sandbox *sb);
int cs_sandbox_out_fd(const struct cs_sandbox *sb);   /* records, non-blocking */
int cs_sandbox_err_fd(const struct cs_sandbox *sb);   /* diagnostics, non-blocking */

/* Kills the worker (and with it its pid namespace) and remembers why. */
void cs_sandbox_kill(struct cs_sandbox *sb, enum cs_end_kind why);

/* 1 when the worker has exited within timeout_ms (not reaped), else 0. */
int cs_sandbox_wait_exit(struct cs_sandbox *sb, int timeout_ms);

/* Waits for the worker to end and says how it ended. */
int cs_sandbox_reap(struct cs_sandbox *sb, struct cs_sandbox_end *end);

/* Kills if still running, reaps, removes its cgroup, closes descriptors. */
void cs_sandbox_free(struct cs_sandbox *sb);

const char *cs_end_kind_name(enum cs_end_kind k);

/* Which cgroup limits workers get here, in words ("cgroup v1: memory, pids"
 * or "none: ..."), decided on first use. Borrowed. */
const char *cs_sandbox_cgroup_status(void);

/* The name of syscall nr on this architecture ("socket"), or "syscall N". */
const char *cs_sandbox_syscall_name(int nr, char *buf, size_t n);

#endif
