/*
 * text_internal.h - byte-span helpers the text-format analyzers (apk, dpkg,
 * os-release) share. Private to worker/analyzers/.
 */
#ifndef CS_WORKER_ANALYZERS_TEXT_INTERNAL_H
#define CS_WORKER_ANALYZERS_TEXT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "worker/analyzers/analyzer.h"

/* A view of input bytes: not NUL-terminated, borrowed. */
struct span {
	const uint8_t *p;
	size_t n;
};

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static inline size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;      /* no surrogates */
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;      /* <= U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

/* An escaped, shortened copy of s for messages (printable ASCII kept,
 * everything else \xHH), in out (cap bytes). */
static inline const char *quote(char *out, size_t cap, struct span s)
{
	size_t i, n = s.n < cap - 4 ? s.n : cap - 4;

	for (i = 0; i < n; i++)
		out[i] = (s.p[i] >= 0x20 && s.p[i] < 0x7f) ? (char)s.p[i] : '?';
	if (n < s.n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/*
 * Warnings about one file: the first TEXT_MAX_WARNINGS in detail, the rest
 * only counted and summed up once by budget_close(). Both return 0 or the
 * emit callback's result (the analyzer maps it to its error).
 */
#define TEXT_MAX_WARNINGS 16

struct warn_budget {
	size_t warned, suppressed;
};

__attribute__((format(printf, 4, 0)))
static inline int budget_vwarn(struct warn_budget *b, const struct cs_emit *e, const char *path,
			       const char *fmt, va_list ap)
{
	char msg[400];

	if (b->warned >= TEXT_MAX_WARNINGS) {
		b->suppressed++;
		return 0;
	}
	b->warned++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return cs_emit_warnf(e, path, "%s", msg);
}

static inline int budget_close(const struct warn_budget *b, const struct cs_emit *e, const char *path)
{
	if (b->suppressed == 0)
		return 0;
	return cs_emit_warnf(e, path, "%zu further problem%s not reported", b->suppressed,
			     b->suppressed == 1 ? "" : "s");
}

#endif
