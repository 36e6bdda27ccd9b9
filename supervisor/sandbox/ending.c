#include "supervisor/sandbox/ending.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/errors.h"

/* Per thread: scans run on several threads at once (serve, rescan -j), and
 * the caller reads the kind on the thread whose step just returned. */
static _Thread_local int last_have;
static _Thread_local enum cs_end_kind last_kind;

static void record(int have, enum cs_end_kind kind)
{
	last_have = have;
	last_kind = kind;
}

int cs_sandbox_last_ending(enum cs_end_kind *kind)
{
	if (last_have)
		*kind = last_kind;
	return last_have;
}

void cs_sandbox_ending_forget(void)
{
	record(0, CS_END_OK);
}

void cs_sandbox_escape(char *out, size_t outsz, const char *in, size_t n)
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

void cs_sandbox_seen_init(struct cs_sandbox_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->syscall = -1;
}

void cs_sandbox_seen_stderr(struct cs_sandbox_seen *s, const char *p, size_t n)
{
	if (n >= sizeof(s->tail)) {
		memcpy(s->tail, p + n - sizeof(s->tail), sizeof(s->tail));
		s->tail_len = sizeof(s->tail);
		return;
	}
	if (s->tail_len + n > sizeof(s->tail)) {
		size_t drop = s->tail_len + n - sizeof(s->tail);
		memmove(s->tail, s->tail + drop, s->tail_len - drop);
		s->tail_len -= drop;
	}
	memcpy(s->tail + s->tail_len, p, n);
	s->tail_len += n;
}

void cs_sandbox_seen_tail(const struct cs_sandbox_seen *s, char *out, size_t outsz)
{
	size_t start = s->tail_len, width = 0, room;

	if (outsz < 4) {
		cs_sandbox_escape(out, outsz, "", 0);
		return;
	}
	/* from the end back, as much as fits escaped (the widths of
	 * cs_sandbox_escape: a final newline is dropped, others are " | "),
	 * with room left for "..." */
	room = outsz - 4;
	while (start > 0) {
		unsigned char c = (unsigned char)s->tail[start - 1];
		size_t w = 4;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			w = 1;
		else if (c == '\n')
			w = start == s->tail_len ? 0 : 3;

		if (width + w > room)
			break;
		width += w;
		start--;
	}
	if (start == 0) {
		cs_sandbox_escape(out, outsz, s->tail, s->tail_len);
		return;
	}
	memcpy(out, "...", 3);
	cs_sandbox_escape(out + 3, outsz - 3, s->tail + start, s->tail_len - start);
}

void cs_sandbox_seen_error(struct cs_sandbox_seen *s, const char *code, const char *msg,
			   long long layer)
{
	char esc[512];

	if (code == NULL)
		code = "";
	if (msg == NULL)
		msg = "";
	cs_sandbox_escape(s->error_code, sizeof(s->error_code), code, strlen(code));
	cs_sandbox_escape(esc, sizeof(esc), msg, strlen(msg));
	if (layer >= 0)
		snprintf(s->error, sizeof(s->error), "layer %lld: %s: %s", layer, s->error_code, esc);
	else
		snprintf(s->error, sizeof(s->error), "%s: %s", s->error_code, esc);
}

void cs_sandbox_seen_reject(struct cs_sandbox_seen *s, int code, const char *why)
{
	if (s->rejected != 0)
		return;
	s->rejected = code;
	snprintf(s->why, sizeof(s->why), "%s", why != NULL ? why : "");
}

int cs_sandbox_read_records(struct cs_frame_reader *fr, struct cs_proto_state *ps,
			    uint64_t wire_max, struct cs_sandbox_seen *s,
			    int (*fn)(void *ctx, enum cs_rec type, json_t *rec), void *ctx)
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
		if (fr->total > wire_max)
			return cs_err_set(CS_EPROTO, "worker sent more than %llu bytes (limit "
					  "\"wire_bytes\")", (unsigned long long)wire_max);
		if ((r = cs_frame_parse_json(&rec, payload, len)) != 0)
			return r;
		if ((r = cs_proto_accept(ps, &t, rec)) != 0) {
			json_decref(rec);
			/* the "records" limit is the protocol's too */
			return r == CS_ELIMIT ? CS_EPROTO : r;
		}
		if (t == CS_REC_FATAL) {
			json_t *sc = json_object_get(rec, "syscall");
			s->syscall = sc != NULL ? (int)json_integer_value(sc) : -1;
		} else if (t == CS_REC_ERROR) {
			json_t *lay = json_object_get(rec, "layer");
			cs_sandbox_seen_error(s, json_string_value(json_object_get(rec, "code")),
					      json_string_value(json_object_get(rec, "message")),
					      lay != NULL ? (long long)json_integer_value(lay) : -1);
		} else if (t == CS_REC_DONE) {
			s->done = 1;
		}
		r = 0;
		if (t != CS_REC_HELLO && t != CS_REC_DONE && t != CS_REC_FATAL && fn != NULL)
			r = fn(ctx, t, rec);
		json_decref(rec);
		if (r != 0)
			return r;
	}
}

int cs_sandbox_ending(const struct cs_sandbox_end *e, const struct cs_sandbox_seen *s,
		      const struct cs_limits *lim)
{
	/* room for the prefix (the input's name) and the words in the 1 KiB
	 * message (common/errors.c) */
	char sc[64], tail[512];
	const char *sig;

	/* What we saw on the wire decides, however the worker then ended: a
	 * worker that broke the protocol and exited 0 did not succeed. */
	if (s->rejected == CS_EPROTO) {
		record(1, CS_END_PROTOCOL);
		return cs_err_set(CS_EPROTO, "worker protocol violation%s: %s",
				  e->kind == CS_END_PROTOCOL ? ", worker killed" : "", s->why);
	}
	/* Its output failed a check of ours (a digest, a limit, the cache):
	 * that is the story, not how the killed worker ended - unless it had
	 * already been stopped for time while we waited for it. */
	if (s->rejected != 0 && e->kind != CS_END_TIMEOUT) {
		record(0, CS_END_OK);
		return cs_err_set(s->rejected, "%s", s->why);
	}
	record(1, e->kind == CS_END_OK && !s->done ? CS_END_EXIT : e->kind);
	cs_sandbox_seen_tail(s, tail, sizeof(tail));
	switch (e->kind) {
	case CS_END_OK:
		if (s->done)
			return 0;
		return cs_err_set(CS_ESANDBOX, "worker exited without finishing (no \"done\" record)%s%s",
				  s->error[0] ? ": " : "", s->error);
	case CS_END_PROTOCOL:
		return cs_err_set(CS_EPROTO, "worker protocol violation, worker killed%s%s",
				  s->why[0] ? ": " : "", s->why);
	case CS_END_TIMEOUT:
		return cs_err_set(CS_ETIMEOUT, "worker timed out after %llu s (limit \"worker_wall\"), "
				  "killed", (unsigned long long)lim->worker_wall);
	case CS_END_SECCOMP:
		if (s->syscall >= 0)
			return cs_err_set(CS_ESANDBOX, "worker killed by seccomp for the forbidden "
					  "syscall %s", cs_sandbox_syscall_name(s->syscall, sc,
										sizeof(sc)));
		return cs_err_set(CS_ESANDBOX, "worker killed by seccomp (SIGSYS)");
	case CS_END_OOM:
		return cs_err_set(CS_ELIMIT, "worker ran out of memory (limits \"worker_as\" %llu MiB, "
				  "\"worker_mem\" %llu MiB)",
				  (unsigned long long)(lim->worker_as >> 20),
				  (unsigned long long)(lim->worker_mem >> 20));
	case CS_END_CPU:
		return cs_err_set(CS_ELIMIT, "worker exceeded its CPU limit of %llu s (limit "
				  "\"worker_cpu\")", (unsigned long long)lim->worker_cpu);
	case CS_END_CRASH:
		/* sigdescr_np, not strsignal: several scans end at once */
		sig = sigdescr_np(e->signal);
		return cs_err_set(CS_ESANDBOX, "worker crashed (signal %d, %s)%s%s", e->signal,
				  sig != NULL ? sig : "unknown signal", tail[0] ? ": " : "", tail);
	case CS_END_SETUP:
		return cs_err_set(CS_ESANDBOX, "%s", tail[0] ? tail : "sandbox setup failed");
	case CS_END_EXIT:
		/* the worker's own error record says why, and its code whether a
		 * limit of ours was hit */
		if (s->error[0])
			return cs_err_set(strcmp(s->error_code, "limit") == 0 ? CS_ELIMIT : CS_EFORMAT,
					  "%s", s->error);
		return cs_err_set(CS_ESANDBOX, "worker exited with status %d%s%s", e->exit_code,
				  tail[0] ? ": " : "", tail);
	}
	return cs_err_set(CS_EINTERNAL, "unknown worker ending %d", (int)e->kind);
}
