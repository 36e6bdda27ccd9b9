/*
 * vercmp_rubygems.c - Gem::Version ordering: the version (blanks stripped,
 * each '-' read as ".pre.") is cut into runs of digits and runs of letters;
 * trailing zero segments are dropped from the numeric head and from the rest;
 * segments compare pairwise (missing ones are 0), numbers numerically, text
 * bytewise, and text sorts below any number (a prerelease).
 * Strict mode requires Gem::Version's pattern
 *   [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

#define MAXSEG (CS_VERCMP_MAX * 2 + 2)

struct seg {
	const char *p;
	unsigned short n;
	unsigned char num;
};

struct gemv {
	struct seg s[MAXSEG];
	size_t n;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == 0; }

static int check(const char *s, size_t b, size_t e)
{
	size_t i = b;

	if (b == e)
		return 1; /* "" is version 0 */
	if (!is_digit((unsigned char)s[i]))
		return 0;
	while (i < e && is_digit((unsigned char)s[i]))
		i++;
	while (i < e && s[i] == '.') {
		size_t st = ++i;

		while (i < e && (is_digit((unsigned char)s[i]) || is_alpha((unsigned char)s[i])))
			i++;
		if (i == st)
			return 0;
	}
	if (i < e && s[i] == '-') {
		for (;;) {
			size_t st = ++i;

			while (i < e && (is_digit((unsigned char)s[i]) || is_alpha((unsigned char)s[i]) || s[i] == '-'))
				i++;
			if (i == st)
				return 0;
			if (i < e && s[i] == '.')
				continue;
			break;
		}
	}
	return i == e;
}

static void segments(struct gemv *v, const char *s, size_t b, size_t e)
{
	size_t i = b;

	v->n = 0;
	while (i < e) {
		size_t st = i;

		if (s[i] == '-') {
			v->s[v->n].p = "pre";
			v->s[v->n].n = 3;
			v->s[v->n].num = 0;
			v->n++;
			i++;
		} else if (is_digit((unsigned char)s[i])) {
			while (i < e && is_digit((unsigned char)s[i]))
				i++;
			v->s[v->n].p = s + st;
			v->s[v->n].n = (unsigned short)(i - st);
			v->s[v->n].num = 1;
			v->n++;
		} else if (is_alpha((unsigned char)s[i])) {
			while (i < e && is_alpha((unsigned char)s[i]))
				i++;
			v->s[v->n].p = s + st;
			v->s[v->n].n = (unsigned short)(i - st);
			v->s[v->n].num = 0;
			v->n++;
		} else {
			i++;
		}
	}
}

static int is_zero(const struct seg *g)
{
	return g->num && cs_vercmp_digits(g->p, g->n, "0", 1) == 0;
}

/* canonical_segments: drop zeros at the end of the numeric head and at the end */
static void canonical(struct gemv *v)
{
	size_t fs, i, o;
	size_t headend;

	for (fs = 0; fs < v->n && v->s[fs].num; fs++)
		;
	headend = fs;
	while (headend > 0 && is_zero(&v->s[headend - 1]))
		headend--;
	while (v->n > fs && is_zero(&v->s[v->n - 1]))
		v->n--;
	o = headend;
	for (i = fs; i < v->n; i++)
		v->s[o++] = v->s[i];
	v->n = o;
}

static int strip(const char *s, size_t len, size_t *b, size_t *e)
{
	*b = 0;
	*e = len;
	while (*b < *e && is_space((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && is_space((unsigned char)s[*e - 1]))
		(*e)--;
	return 0;
}

int cs_vercmp_rubygems(int *out, const char *a, size_t alen, const char *b, size_t blen,
		       unsigned flags)
{
	static __thread struct gemv x, y; /* large tables: kept off the stack */
	size_t ab, ae, bb, be, i, n;
	int strict = !(flags & CS_VERCMP_LENIENT);

	strip(a, alen, &ab, &ae);
	if (strict && !check(a, ab, ae))
		return cs_vercmp_bad(CS_VERSCHEME_RUBYGEMS, a, alen, "malformed version number string");
	if (out == NULL)
		return 0;
	strip(b, blen, &bb, &be);
	if (strict && !check(b, bb, be))
		return cs_vercmp_bad(CS_VERSCHEME_RUBYGEMS, b, blen, "malformed version number string");
	segments(&x, a, ab, ae);
	segments(&y, b, bb, be);
	canonical(&x);
	canonical(&y);
	n = x.n > y.n ? x.n : y.n;
	for (i = 0; i < n; i++) {
		static const struct seg z = {"0", 1, 1};
		const struct seg *l = i < x.n ? &x.s[i] : &z, *r = i < y.n ? &y.s[i] : &z;
		int c;

		if (l->num != r->num) {
			*out = l->num ? 1 : -1;
			return 0;
		}
		if (l->num) {
			c = cs_vercmp_digits(l->p, l->n, r->p, r->n);
		} else {
			size_t m = l->n < r->n ? l->n : r->n;

			c = memcmp(l->p, r->p, m);
			c = c < 0 ? -1 : c > 0 ? 1 : l->n == r->n ? 0 : l->n < r->n ? -1 : 1;
		}
		if (c != 0) {
			*out = c;
			return 0;
		}
	}
	*out = 0;
	return 0;
}
