/*
 * test_ending.c - cs_sandbox_ending() (supervisor/sandbox/ending.c), the one
 * place that turns a reaped worker and what was read from it into the scan's
 * result, its one-line message and the kind of ending kept for the caller:
 * the endings a real worker cannot be made to show on demand here (memory,
 * CPU, setup), and the rules between what we saw and how it ended. The
 * real-worker paths are tests/sandbox/driver.c and
 * tests/service/test_worker_ending.c.
 */
#include <signal.h>
#include <string.h>

#include "common/errors.h"
#include "common/limits.h"
#include "supervisor/collect/collect.h"
#include "supervisor/sandbox/ending.h"
#include "tests/harness.h"

static struct cs_limits lim;

/* Runs cs_sandbox_ending and checks code, a phrase, one line, and the kind
 * kept (want_kind < 0: none kept). */
static void expect(const struct cs_sandbox_end *e, const struct cs_sandbox_seen *s, int code,
		   const char *says, int want_kind)
{
	enum cs_end_kind k = CS_END_OK;
	int r, have;

	cs_sandbox_ending_forget();
	r = cs_sandbox_ending(e, s, &lim);
	have = cs_sandbox_last_ending(&k);
	printf("%-14s -> %d [%s] %s\n", cs_end_kind_name(e->kind), r,
	       have ? cs_end_kind_name(k) : "none", r ? cs_err_msg() : "");
	CHECK(r == code);
	if (says != NULL)
		CHECK(strstr(cs_err_msg(), says) != NULL);
	CHECK(strchr(cs_err_msg(), '\n') == NULL);
	CHECK(have == (want_kind >= 0));
	if (have && want_kind >= 0)
		CHECK((int)k == want_kind);
}

int main(void)
{
	struct cs_sandbox_end e;
	struct cs_sandbox_seen s;
	char buf[64];

	cs_limits_default(&lim);
	lim.worker_as = 512ull << 20;
	lim.worker_mem = 256ull << 20;
	lim.worker_cpu = 7;
	lim.worker_wall = 9;

	/* finished: done, exit 0 */
	memset(&e, 0, sizeof(e));
	cs_sandbox_seen_init(&s);
	s.done = 1;
	expect(&e, &s, 0, NULL, CS_END_OK);

	/* memory and CPU: the limits are named with their values */
	e.kind = CS_END_OOM;
	expect(&e, &s, CS_ELIMIT, "\"worker_as\" 512 MiB, \"worker_mem\" 256 MiB", CS_END_OOM);
	e.kind = CS_END_CPU;
	expect(&e, &s, CS_ELIMIT, "CPU limit of 7 s (limit \"worker_cpu\")", CS_END_CPU);
	e.kind = CS_END_TIMEOUT;
	expect(&e, &s, CS_ETIMEOUT, "after 9 s (limit \"worker_wall\")", CS_END_TIMEOUT);

	/* setup: the worker's own diagnostics say what failed, escaped */
	cs_sandbox_seen_init(&s);
	{
		static const char diag[] = "cellscan-worker: pivot_root: Operation not permitted\n";
		cs_sandbox_seen_stderr(&s, diag, strlen(diag));
	}
	e.kind = CS_END_SETUP;
	e.exit_code = 121;
	expect(&e, &s, CS_ESANDBOX, "pivot_root: Operation not permitted", CS_END_SETUP);
	cs_sandbox_seen_init(&s);
	expect(&e, &s, CS_ESANDBOX, "sandbox setup failed", CS_END_SETUP);

	/* a crash names the signal; control bytes of its stderr are escaped,
	 * and only the last CS_SANDBOX_TAIL_MAX bytes are kept */
	cs_sandbox_seen_init(&s);
	memset(buf, 'a', sizeof(buf));
	for (int i = 0; i < 100; i++)
		cs_sandbox_seen_stderr(&s, buf, sizeof(buf));
	cs_sandbox_seen_stderr(&s, "boom\x1b[2J\n", 9);
	CHECK(s.tail_len == CS_SANDBOX_TAIL_MAX);
	memset(&e, 0, sizeof(e));
	e.kind = CS_END_CRASH;
	e.signal = SIGSEGV;
	expect(&e, &s, CS_ESANDBOX, "signal 11", CS_END_CRASH);
	/* the end of it, where the reason is, after "..." */
	CHECK(strstr(cs_err_msg(), "): ...aaa") != NULL);
	{
		static const char end[] = "aboom\\x1b[2J";
		size_t ml = strlen(cs_err_msg());
		CHECK(ml > strlen(end) && strcmp(cs_err_msg() + ml - strlen(end), end) == 0);
	}
	{
		char t[16];
		cs_sandbox_seen_tail(&s, t, sizeof(t));
		CHECK_STR(t, "...aboom\\x1b[2J");
	}

	/* seccomp without a "fatal" record: SIGSYS is all we know */
	cs_sandbox_seen_init(&s);
	e.kind = CS_END_SECCOMP;
	e.signal = SIGSYS;
	expect(&e, &s, CS_ESANDBOX, "seccomp (SIGSYS)", CS_END_SECCOMP);

	/* exit 0 without "done" is not success, and not counted as ok */
	memset(&e, 0, sizeof(e));
	cs_sandbox_seen_init(&s);
	cs_sandbox_seen_error(&s, "corrupt", "gzip: bad header", 2);
	expect(&e, &s, CS_ESANDBOX, "without finishing (no \"done\" record): layer 2: corrupt: gzip",
	       CS_END_EXIT);
	/* its own error record: the record's code, not its text, says "limit" */
	e.kind = CS_END_EXIT;
	e.exit_code = 1;
	expect(&e, &s, CS_EFORMAT, "layer 2: corrupt: gzip: bad header", CS_END_EXIT);
	cs_sandbox_seen_error(&s, "limit", "more than 10 entries (limit: \"entries\")", -1);
	expect(&e, &s, CS_ELIMIT, "limit: more than 10 entries", CS_END_EXIT);
	cs_sandbox_seen_error(&s, "format", "limit: looks like a limit", -1);
	expect(&e, &s, CS_EFORMAT, "format: limit: looks", CS_END_EXIT);

	/* a protocol violation decides however the worker ended: killed for it,
	 * or exiting on its own first */
	cs_sandbox_seen_init(&s);
	s.done = 1;
	cs_sandbox_seen_reject(&s, CS_EPROTO, "record after done");
	cs_sandbox_seen_reject(&s, CS_EIO, "a later reason is not kept");
	memset(&e, 0, sizeof(e));
	expect(&e, &s, CS_EPROTO, "worker protocol violation: record after done", CS_END_PROTOCOL);
	e.kind = CS_END_PROTOCOL;
	e.signal = SIGKILL;
	expect(&e, &s, CS_EPROTO, "protocol violation, worker killed: record after done",
	       CS_END_PROTOCOL);

	/* what it sent failed a check of ours: that message, and no ending kept
	 * (the worker's ending is not the story) - unless it ran out of time */
	cs_sandbox_seen_init(&s);
	cs_sandbox_seen_reject(&s, CS_EDIGEST, "blob sha256:00 does not match its digest");
	e.kind = CS_END_CRASH;
	expect(&e, &s, CS_EDIGEST, "does not match its digest", -1);
	cs_sandbox_seen_init(&s);
	cs_sandbox_seen_reject(&s, CS_ETIMEOUT, "worker timed out");
	e.kind = CS_END_TIMEOUT;
	expect(&e, &s, CS_ETIMEOUT, "after 9 s (limit \"worker_wall\"), killed", CS_END_TIMEOUT);

	/* forget clears what was kept */
	cs_sandbox_ending_forget();
	{
		enum cs_end_kind k;
		CHECK(cs_sandbox_last_ending(&k) == 0);
	}

	/* the escape collect's callers use is the sandbox's */
	{
		char a[32], b[32];
		cs_collect_escape(a, sizeof(a), "x\x01y\\z\nw\n", 8);
		cs_sandbox_escape(b, sizeof(b), "x\x01y\\z\nw\n", 8);
		CHECK_STR(a, "x\\x01y\\x5cz | w");
		CHECK_STR(b, a);
	}
	return cs_test_done();
}
