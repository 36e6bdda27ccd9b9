/*
 * ending.h - how a sandboxed worker ended, said once for every reader of a
 * worker (DESIGN.md "Sandbox requirements": finished, timed out, killed by
 * seccomp with the syscall, over memory or CPU, crashed, protocol
 * violation). supervisor/collect (layers) and supervisor/source (archives)
 * both read their worker's records with cs_sandbox_read_records(), which
 * notes what matters for its ending in a struct cs_sandbox_seen and hands
 * them the other records; once the worker is reaped, cs_sandbox_ending()
 * turns the two into the result and the one-line message.
 *
 * The kind of ending it decided is also kept for the current thread (like
 * the message itself, common/errors.h), so that a caller several parts up
 * (supervisor/scan) can say how the worker ended without reading the message.
 */
#ifndef CS_SUPERVISOR_SANDBOX_ENDING_H
#define CS_SUPERVISOR_SANDBOX_ENDING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/frame.h"
#include "common/limits.h"
#include "common/proto.h"
#include "supervisor/sandbox/sandbox.h"

#define CS_SANDBOX_TAIL_MAX 2048   /* bytes of the worker's diagnostics kept */

/* What the supervisor saw of one worker besides its exit: zero it with
 * cs_sandbox_seen_init(). Holds no pointers; nothing to free. */
struct cs_sandbox_seen {
	int done;                       /* a valid "done" record arrived */
	int syscall;                    /* from a "fatal" record, or -1 */
	char error_code[32];            /* the worker's "error" record: its code... */
	char error[640];                /* ...and "[layer N: ]CODE: MESSAGE", escaped */
	int rejected;                   /* CS_E* when we stopped it for what it sent */
	char why[800];                  /* ...and why (escaped by whoever wrote it) */
	char tail[CS_SANDBOX_TAIL_MAX]; /* the last bytes of its diagnostics, raw */
	size_t tail_len;
};

void cs_sandbox_seen_init(struct cs_sandbox_seen *s);

/* Keeps the last CS_SANDBOX_TAIL_MAX bytes of the worker's stderr. */
void cs_sandbox_seen_stderr(struct cs_sandbox_seen *s, const char *p, size_t n);

/* Notes the worker's own "error" record (code and message untrusted; layer
 * < 0 when the record named none). */
void cs_sandbox_seen_error(struct cs_sandbox_seen *s, const char *code, const char *msg,
			   long long layer);

/*
 * Notes that we stop the worker (the caller kills it) because of what it
 * sent: code CS_EPROTO for a protocol violation, otherwise the code of a
 * check of ours that its output failed (a digest, a limit, the cache), with
 * why in words (copied, truncated to fit). The first reason noted is kept.
 */
void cs_sandbox_seen_reject(struct cs_sandbox_seen *s, int code, const char *why);

/*
 * Reads the records available on the worker's output (fr, non-blocking),
 * each checked under the protocol's rules (ps): "fatal", "error" and "done"
 * are noted in s, and every accepted record but hello, done and fatal is
 * passed to fn (when not NULL; rec borrowed), whose non-zero return stops
 * here with that code. Returns 1 at the end of the output, 0 when more may
 * come, or a negative CS_E*: CS_EPROTO for anything wrong on the wire
 * (frames, JSON, records, their order, the "records" limit, more than
 * wire_max bytes), CS_EIO when the pipe failed.
 */
int cs_sandbox_read_records(struct cs_frame_reader *fr, struct cs_proto_state *ps,
			    uint64_t wire_max, struct cs_sandbox_seen *s,
			    int (*fn)(void *ctx, enum cs_rec type, json_t *rec), void *ctx);

/* The diagnostics tail escaped for one line (cs_sandbox_escape): its last
 * bytes, as many as fit in outsz, after "..." when that is not all. */
void cs_sandbox_seen_tail(const struct cs_sandbox_seen *s, char *out, size_t outsz);

/*
 * How the worker ended, from its reaped end (cs_sandbox_reap) and what was
 * seen: 0 only when it finished properly (done, exit 0, no signal);
 * otherwise a CS_E* code with a one-line message saying what happened
 * (timeout, seccomp with the syscall name, memory, CPU, crash with the
 * signal, protocol violation, the worker's own error, the exit status),
 * naming the limit concerned from lim. A protocol violation decides however
 * the worker then ended. The caller prefixes the image or input's name.
 *
 * It also records the kind of ending for cs_sandbox_last_ending(): e->kind,
 * except CS_END_PROTOCOL after a violation and CS_END_EXIT for an exit 0
 * without "done"; nothing (as after cs_sandbox_ending_forget()) when the run
 * failed on a check of ours that is not about the worker (rejected, not
 * CS_EPROTO, and not timed out).
 */
int cs_sandbox_ending(const struct cs_sandbox_end *e, const struct cs_sandbox_seen *s,
		      const struct cs_limits *lim);

/* The kind cs_sandbox_ending() last recorded on this thread: 1 with *kind
 * set, or 0 when none since cs_sandbox_ending_forget(). */
int cs_sandbox_last_ending(enum cs_end_kind *kind);
void cs_sandbox_ending_forget(void);

/* Escapes untrusted bytes for a terminal or log line: printable ASCII
 * stays, an inner newline becomes " | ", everything else \xHH; always
 * NUL-terminates (outsz > 0), truncating at outsz. */
void cs_sandbox_escape(char *out, size_t outsz, const char *in, size_t n);

#endif
