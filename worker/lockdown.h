/*
 * lockdown.h - the worker's own half of the sandbox (DESIGN.md "Sandbox
 * requirements"). The supervisor's spawner (supervisor/sandbox/) has already
 * created the namespaces, written the id maps, mounted a size-limited tmpfs
 * on /tmp (with the rootfs, in dir: mode, bound read-only at /tmp/rootfs),
 * arranged the descriptors and exec'd us as the in-namespace uid
 * CS_SANDBOX_UID holding only CAP_SYS_ADMIN and CAP_SETPCAP as ambient
 * capabilities. Every step here is fatal when it fails.
 */
#ifndef CS_WORKER_LOCKDOWN_H
#define CS_WORKER_LOCKDOWN_H

#include <stdint.h>

#include "common/limits.h"

/* The worker's descriptors. */
#define CS_FD_OUT 1        /* records to the supervisor (a pipe) */
#define CS_FD_ERR 2        /* diagnostics to the supervisor (a pipe) */
#define CS_FD_FIRST_LAYER 3

/* The uid and gid the worker has inside its user namespace. */
#define CS_SANDBOX_UID 1000
#define CS_SANDBOX_GID 1000

struct cs_lockdown {
	const struct cs_limits *lim;
	int last_fd;        /* highest descriptor to keep */
	int rootfs;         /* dir: mode: read-only opens beneath /rootfs allowed */
	int raw_fd;         /* archive mode: a descriptor write(2) may also use; 0: none */
	int weak;           /* no namespaces: skip pivot and the id checks (loud) */
	int no_seccomp;     /* tests only: everything but the filter */
};

/* Installs the SIGSYS reporter; call first, before any other step. */
int cs_lockdown_early(void);

/* Runs every step in order: checks, pivot, caps, prctls, rlimits, fds, seccomp. */
int cs_lockdown(const struct cs_lockdown *l);

/* The seccomp allowlist alone (lockdown.c calls it last); raw_fd > 2 is a
 * further descriptor write(2) may use (archive mode), 0 none. */
int cs_seccomp_load(int rootfs, int raw_fd);

#endif
