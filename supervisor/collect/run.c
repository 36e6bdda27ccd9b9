#include "supervisor/collect/collect.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/frame.h"
#include "supervisor/sandbox/ending.h"

#define EOF_GRACE_MS 5000   /* output closed: the worker must exit by then */

void cs_collect_escape(char *out, size_t outsz, const char *in, size_t n)
{
	cs_sandbox_escape(out, outsz, in, n);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cs_collect_run(struct cs_sandbox *sb, const struct cs_collect_opts *o,
		   struct cs_collect_result *res)
{
	struct cs_frame_reader fr;
	struct cs_proto_state ps;
	struct cs_sandbox_seen seen;
	struct pollfd pf[2];
	int64_t deadline, eof_deadline = -1;
	int out_open = 1, err_open = 1, r;

	memset(res, 0, sizeof(*res));
	cs_sandbox_seen_init(&seen);
	if ((r = cs_frame_reader_init(&fr, cs_sandbox_out_fd(sb))) != 0) {
		cs_sandbox_seen_reject(&seen, r, cs_err_msg());
		cs_sandbox_kill(sb, CS_END_CRASH);
		out_open = err_open = 0;
	}
	cs_proto_init(&ps, o->layers, o->lim->records);
	deadline = now_ms() + (int64_t)o->lim->worker_wall * 1000;

	while (out_open || err_open) {
		int64_t now = now_ms(), until = deadline;
		int n, timeout;

		if (eof_deadline >= 0 && eof_deadline < until)
			until = eof_deadline;
		if (now >= until) {
			if (now >= deadline) {
				cs_sandbox_kill(sb, CS_END_TIMEOUT);
			} else {
				cs_sandbox_seen_reject(&seen, CS_EPROTO,
						       "worker closed its output but did not exit");
				cs_sandbox_kill(sb, CS_END_PROTOCOL);
			}
			break;
		}
		timeout = (int)(until - now);
		n = 0;
		if (out_open) {
			pf[n].fd = cs_sandbox_out_fd(sb);
			pf[n++].events = POLLIN;
		}
		if (err_open) {
			pf[n].fd = cs_sandbox_err_fd(sb);
			pf[n++].events = POLLIN;
		}
		r = poll(pf, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR) {
			cs_sandbox_kill(sb, CS_END_CRASH);
			break;
		}
		if (r <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == cs_sandbox_out_fd(sb)) {
				r = cs_sandbox_read_records(&fr, &ps, o->lim->wire_bytes, &seen,
							    o->on_record, o->ctx);
				res->wire_bytes = fr.total;
				if (r < 0) {
					/* anything wrong with what it sent, or with a
					 * record on_record refused, ends it here */
					cs_sandbox_seen_reject(&seen, CS_EPROTO, cs_err_msg());
					cs_sandbox_kill(sb, CS_END_PROTOCOL);
					out_open = 0;
					err_open = 0;
					break;
				}
				if (r == 1) {
					out_open = 0;
					eof_deadline = now_ms() + EOF_GRACE_MS;
				}
			} else {
				char buf[4096];
				ssize_t got = read(pf[i].fd, buf, sizeof(buf));
				if (got > 0)
					cs_sandbox_seen_stderr(&seen, buf, (size_t)got);
				else if (got == 0 || (errno != EAGAIN && errno != EINTR))
					err_open = 0;
			}
		}
		if (!out_open && !err_open)
			break;
	}
	if (eof_deadline >= 0 && !seen.rejected) {
		int64_t left = eof_deadline - now_ms();
		if (cs_sandbox_wait_exit(sb, left > 0 ? (int)left : 0) != 1) {
			cs_sandbox_seen_reject(&seen, CS_EPROTO,
					       "worker closed its output but did not exit");
			cs_sandbox_kill(sb, CS_END_PROTOCOL);
		}
	}
	cs_sandbox_reap(sb, &res->end);
	cs_frame_reader_free(&fr);
	res->done = seen.done;
	res->syscall = seen.syscall;
	snprintf(res->error, sizeof(res->error), "%s", seen.error);
	cs_sandbox_seen_tail(&seen, res->stderr_tail, sizeof(res->stderr_tail));
	r = cs_sandbox_ending(&res->end, &seen, o->lim);
	/* however it then ended, a worker that broke the protocol ended so */
	if (seen.rejected == CS_EPROTO)
		res->end.kind = CS_END_PROTOCOL;
	return r;
}
