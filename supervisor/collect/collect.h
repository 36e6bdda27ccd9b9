/*
 * collect.h - the supervisor's side of the wire: reading a worker's records
 * under the protocol's rules and limits, ending the worker on any
 * violation, and gathering the records of each layer.
 */
#ifndef CS_SUPERVISOR_COLLECT_H
#define CS_SUPERVISOR_COLLECT_H

#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"
#include "common/proto.h"
#include "supervisor/sandbox/sandbox.h"

struct cs_collect_opts {
	const struct cs_limits *lim;
	uint64_t layers;           /* how many layer descriptors the worker got */
	/* Called for every accepted record except hello/done; rec is borrowed.
	 * A non-zero return kills the worker and fails the run. */
	int (*on_record)(void *ctx, enum cs_rec type, json_t *rec);
	void *ctx;
};

struct cs_collect_result {
	struct cs_sandbox_end end;
	int done;                  /* a valid "done" arrived */
	int syscall;               /* from a "fatal" record, or -1 */
	char error[640];           /* the worker's own "error" record, if any */
	char stderr_tail[2048];    /* last diagnostics, escaped for printing */
	uint64_t wire_bytes;
};

/*
 * Runs the worker to its end. Returns 0 only when it finished properly
 * (done, exit 0, no signal); otherwise a CS_E* code with a one-line message
 * saying how the worker ended (timeout, seccomp with the syscall, memory,
 * CPU, crash, protocol violation, its own error), decided by
 * cs_sandbox_ending() (supervisor/sandbox/ending.h), which also keeps the
 * kind for cs_sandbox_last_ending(). The worker is reaped either way; res is
 * filled in both cases.
 */
int cs_collect_run(struct cs_sandbox *sb, const struct cs_collect_opts *o,
		   struct cs_collect_result *res);

/* Escapes untrusted bytes for a terminal or log: printable ASCII stays,
 * everything else becomes \xHH; always NUL-terminates. The same as
 * cs_sandbox_escape(), kept for the callers outside the sandbox's users. */
void cs_collect_escape(char *out, size_t outsz, const char *in, size_t n);

#endif
