#include "supervisor/collect/collect.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/frame.h"

#define EOF_GRACE_MS 5000   /* output closed: the worker must exit by then */

void cs_collect_escape(char *out, size_t outsz, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outsz == 0)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else if (c == '\n' && i + 1 < n) {
			if (o + 3 >= outsz)
				break;
			out[o++] = ' ';
			out[o++] = '|';
			out[o++] = ' ';
		} else if (c == '\n') {
			continue;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tail {
	char buf[2048];
	size_t len;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (n >= sizeof(t->buf)) {
		memcpy(t->buf, p + n - sizeof(t->buf), sizeof(t->buf));
		t->len = sizeof(t->buf);
		return;
	}
	if (t->len + n > sizeof(t->buf)) {
		size_t drop = t->len + n - sizeof(t->buf);
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Reads whatever frames are available; returns 1 at EOF, 0 if more may
 * come, or a negative error (protocol violation). */
static int pump(struct cs_frame_reader *fr, struct cs_proto_state *ps,
		const struct cs_collect_opts *o, struct cs_collect_result *res)
{
	const uint8_t *payload;
	size_t len;
	json_t *rec;
	enum cs_rec t;
	int r;

	for (;;) {
		r = cs_frame_next(fr, &payload, &len);
		if (r == CS_FRAME_AGAIN)
			return 0;
		if (r == CS_FRAME_EOF)
			return 1;
		if (r < 0)
			return r;
		res->wire_bytes = fr->total;
		if (fr->total > o->lim->wire_bytes)
			return cs_err_set(CS_ELIMIT, "worker sent more than %llu bytes (limit "
					  "\"wire_bytes\")", (unsigned long long)o->lim->wire_bytes);
		if ((r = cs_frame_parse_json(&rec, payload, len)) != 0)
			return r;
		r = cs_proto_accept(ps, &t, rec);
		if (r != 0) {
			json_decref(rec);
			return r;
		}
		if (t == CS_REC_FATAL) {
			json_t *sc = json_object_get(rec, "syscall");
			res->syscall = sc ? (int)json_integer_value(sc) : -1;
		} else if (t == CS_REC_ERROR) {
			const char *code = json_string_value(json_object_get(rec, "code"));
			const char *msg = json_string_value(json_object_get(rec, "message"));
			json_t *lay = json_object_get(rec, "layer");
			char esc[512];

			cs_collect_escape(esc, sizeof(esc), msg, strlen(msg));
			if (lay != NULL)
				snprintf(res->error, sizeof(res->error), "layer %lld: %s: %s",
					 (long long)json_integer_value(lay), code, esc);
			else
				snprintf(res->error, sizeof(res->error), "%s: %s", code, esc);
		} else if (t == CS_REC_DONE) {
			res->done = 1;
		}
		if (t != CS_REC_HELLO && t != CS_REC_DONE && t != CS_REC_FATAL &&
		    o->on_record != NULL && (r = o->on_record(o->ctx, t, rec)) != 0) {
			json_decref(rec);
			return r;
		}
		json_decref(rec);
	}
}

int cs_collect_run(struct cs_sandbox *sb, const struct cs_collect_opts *o,
		   struct cs_collect_result *res)
{
	struct cs_frame_reader fr;
	struct cs_proto_state ps;
	struct tail tail = { .len = 0 };
	struct pollfd pf[2];
	int64_t deadline, eof_deadline = -1;
	int out_open = 1, err_open = 1, r, violation = 0;
	char vmsg[600] = "";
	char sc[64];

	memset(res, 0, sizeof(*res));
	res->syscall = -1;
	if ((r = cs_frame_reader_init(&fr, cs_sandbox_out_fd(sb))) != 0) {
		cs_sandbox_kill(sb, CS_END_CRASH);
		cs_sandbox_reap(sb, &res->end);
		return r;
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
				violation = 1;
				snprintf(vmsg, sizeof(vmsg), "worker closed its output but did not exit");
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
				r = pump(&fr, &ps, o, res);
				if (r < 0) {
					violation = 1;
					snprintf(vmsg, sizeof(vmsg), "%s", cs_err_msg());
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
					tail_add(&tail, buf, (size_t)got);
				else if (got == 0 || (errno != EAGAIN && errno != EINTR))
					err_open = 0;
			}
		}
		if (!out_open && !err_open)
			break;
	}
	if (eof_deadline >= 0 && !violation) {
		int64_t left = eof_deadline - now_ms();
		if (cs_sandbox_wait_exit(sb, left > 0 ? (int)left : 0) != 1) {
			violation = 1;
			snprintf(vmsg, sizeof(vmsg), "worker closed its output but did not exit");
			cs_sandbox_kill(sb, CS_END_PROTOCOL);
		}
	}
	cs_sandbox_reap(sb, &res->end);
	cs_frame_reader_free(&fr);
	cs_collect_escape(res->stderr_tail, sizeof(res->stderr_tail), tail.buf, tail.len);

	/* What we saw on the wire decides, however the worker then ended: a
	 * worker that broke the protocol and exited 0 did not succeed. */
	if (violation) {
		res->end.kind = CS_END_PROTOCOL;
		return cs_err_set(CS_EPROTO, "worker protocol violation, worker killed: %s", vmsg);
	}
	switch (res->end.kind) {
	case CS_END_OK:
		if (res->done)
			return 0;
		return cs_err_set(CS_ESANDBOX, "worker exited without finishing (no \"done\" record)%s%s",
				  res->error[0] ? ": " : "", res->error);
	case CS_END_PROTOCOL:
		return cs_err_set(CS_EPROTO, "worker protocol violation, worker killed: %s", vmsg);
	case CS_END_TIMEOUT:
		return cs_err_set(CS_ETIMEOUT, "worker timed out after %llu s (limit \"worker_wall\"), "
				  "killed", (unsigned long long)o->lim->worker_wall);
	case CS_END_SECCOMP:
		if (res->syscall >= 0)
			return cs_err_set(CS_ESANDBOX, "worker killed by seccomp for the forbidden "
					  "syscall %s", cs_sandbox_syscall_name(res->syscall, sc,
										sizeof(sc)));
		return cs_err_set(CS_ESANDBOX, "worker killed by seccomp (SIGSYS)");
	case CS_END_OOM:
		return cs_err_set(CS_ELIMIT, "worker ran out of memory (limits \"worker_as\" %llu MiB, "
				  "\"worker_mem\" %llu MiB)",
				  (unsigned long long)(o->lim->worker_as >> 20),
				  (unsigned long long)(o->lim->worker_mem >> 20));
	case CS_END_CPU:
		return cs_err_set(CS_ELIMIT, "worker exceeded its CPU limit of %llu s (limit "
				  "\"worker_cpu\")", (unsigned long long)o->lim->worker_cpu);
	case CS_END_CRASH:
		return cs_err_set(CS_ESANDBOX, "worker crashed (signal %d, %s)%s%s", res->end.signal,
				  strsignal(res->end.signal), res->stderr_tail[0] ? ": " : "",
				  res->stderr_tail);
	case CS_END_SETUP:
		return cs_err_set(CS_ESANDBOX, "%s", res->stderr_tail[0] ? res->stderr_tail :
				  "sandbox setup failed");
	case CS_END_EXIT:
		if (res->error[0])
			return cs_err_set(res->error[0] && strstr(res->error, ": limit: ") ? CS_ELIMIT :
					  CS_EFORMAT, "%s", res->error);
		return cs_err_set(CS_ESANDBOX, "worker exited with status %d%s%s", res->end.exit_code,
				  res->stderr_tail[0] ? ": " : "", res->stderr_tail);
	}
	return cs_err_set(CS_EINTERNAL, "unknown worker ending");
}
