/*
 * vercmp_semver.c - SemVer 2.0.0 precedence (npm, crates.io, Hex, ...) and Go.
 *
 * Strict: [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] per semver.org (numeric
 * identifiers without leading zeros, identifiers [0-9A-Za-z-]+); Go also
 * accepts its vMAJOR and vMAJOR.MINOR shorthands. Build metadata never
 * orders, so "+incompatible" and Go pseudo-versions order as plain SemVer.
 *
 * Lenient: the relaxed form OSV tooling accepts: any number of dot-separated
 * numeric components (missing ones are 0; those past the third join the
 * prerelease), then everything from the first other character on is the
 * prerelease (one leading '-' dropped) up to '+'.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

struct semv {
	const char *c[3];
	size_t clen[3];
	const char *pre;
	size_t prelen;
	char buf[2 * CS_VERCMP_MAX + 8];
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ident(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* identifiers in [p, p+n) separated by '.', each non-empty [0-9A-Za-z-] */
static int check_idents(const char *p, size_t n, int numeric_no_zero)
{
	size_t i = 0;

	for (;;) {
		size_t st = i, k;
		int alldig = 1;

		while (i < n && p[i] != '.') {
			if (!is_ident((unsigned char)p[i]))
				return -1;
			if (!is_digit((unsigned char)p[i]))
				alldig = 0;
			i++;
		}
		if (i == st)
			return -1;
		if (numeric_no_zero && alldig && i - st > 1 && p[st] == '0')
			return -2;
		(void)k;
		if (i == n)
			return 0;
		i++;
	}
}

static int check_strict(enum cs_verscheme s, const char *v, size_t len)
{
	size_t i = 0, part, e;
	int r;

	if (i < len && v[i] == 'v')
		i++;
	for (part = 0; part < 3; part++) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)v[i]))
			i++;
		if (i == st)
			return cs_vercmp_bad(s, v, len, "expected MAJOR.MINOR.PATCH with numeric parts");
		if (i - st > 1 && v[st] == '0')
			return cs_vercmp_bad(s, v, len, "numeric part with a leading zero");
		if (part < 2) {
			if (i < len && v[i] == '.') {
				i++;
				continue;
			}
			/* Go's vMAJOR and vMAJOR.MINOR shorthands (no prerelease) */
			if (s == CS_VERSCHEME_GO && i == len)
				return 0;
			return cs_vercmp_bad(s, v, len, "expected MAJOR.MINOR.PATCH with numeric parts");
		}
	}
	if (i < len && v[i] == '-') {
		i++;
		for (e = i; e < len && v[e] != '+'; e++)
			;
		r = check_idents(v + i, e - i, 1);
		if (r == -2)
			return cs_vercmp_bad(s, v, len, "numeric prerelease identifier with a leading zero");
		if (r != 0)
			return cs_vercmp_bad(s, v, len,
					     "prerelease identifiers must be non-empty [0-9A-Za-z-]");
		i = e;
	}
	if (i < len && v[i] == '+') {
		i++;
		if (check_idents(v + i, len - i, 0) != 0)
			return cs_vercmp_bad(s, v, len, "build identifiers must be non-empty [0-9A-Za-z-]");
		i = len;
	}
	if (i != len)
		return cs_vercmp_bad(s, v, len, "unexpected character after MAJOR.MINOR.PATCH");
	return 0;
}

static void parse(struct semv *x, const char *v, size_t len)
{
	size_t i = 0, nc = 0, o = 0, k;
	const char *build = "";
	size_t blen = 0, plus;

	for (k = 0; k < 3; k++) {
		x->c[k] = "0";
		x->clen[k] = 1;
	}
	if (i < len && v[i] == 'v')
		i++;
	while (i < len) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)v[i]))
			i++;
		if (i > st) {
			if (nc < 3) {
				x->c[nc] = v + st;
				x->clen[nc] = i - st;
			} else {
				/* components past the third move to the prerelease as ".N" */
				while (st < i - 1 && v[st] == '0')
					st++;
				x->buf[CS_VERCMP_MAX + 4 + o++] = '.';
				memcpy(x->buf + CS_VERCMP_MAX + 4 + o, v + st, i - st);
				o += i - st;
			}
			nc++;
		}
		if (i < len && v[i] == '.') {
			i++;
			continue;
		}
		if (i < len) {
			build = v + i;
			blen = len - i;
		}
		break;
	}
	/* x->buf = build + extra components, then cut at '+' and drop one '-' */
	memcpy(x->buf, build, blen);
	memmove(x->buf + blen, x->buf + CS_VERCMP_MAX + 4, o);
	blen += o;
	for (plus = 0; plus < blen && x->buf[plus] != '+'; plus++)
		;
	x->pre = x->buf;
	x->prelen = plus;
	if (x->prelen > 0 && x->pre[0] == '-') {
		x->pre++;
		x->prelen--;
	}
}

static int all_digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* SemVer 2.0.0 section 11.4, on two non-empty prerelease strings. */
static int cmp_pre(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	for (;;) {
		size_t si = i, sj = j;
		int an, bn, r;

		while (i < alen && a[i] != '.')
			i++;
		while (j < blen && b[j] != '.')
			j++;
		an = all_digits(a + si, i - si);
		bn = all_digits(b + sj, j - sj);
		if (an && bn) {
			r = cs_vercmp_digits(a + si, i - si, b + sj, j - sj);
		} else if (an != bn) {
			r = an ? -1 : 1;
		} else {
			size_t n = i - si < j - sj ? i - si : j - sj;

			r = n ? memcmp(a + si, b + sj, n) : 0;
			r = r < 0 ? -1 : r > 0;
			if (r == 0 && i - si != j - sj)
				r = i - si < j - sj ? -1 : 1;
		}
		if (r != 0)
			return r;
		if (i == alen || j == blen)
			return i == alen ? (j == blen ? 0 : -1) : 1;
		i++;
		j++;
	}
}

static int compare(const struct semv *x, const struct semv *y)
{
	int k, r;

	for (k = 0; k < 3; k++)
		if ((r = cs_vercmp_digits(x->c[k], x->clen[k], y->c[k], y->clen[k])) != 0)
			return r;
	if (x->prelen == 0 || y->prelen == 0)
		return (x->prelen == 0) - (y->prelen == 0);
	return cmp_pre(x->pre, x->prelen, y->pre, y->prelen);
}

static int run(enum cs_verscheme s, int *out, const char *a, size_t alen, const char *b, size_t blen,
	       unsigned flags)
{
	struct semv x, y;
	int r;

	if (alen == 0)
		return cs_vercmp_bad(s, a, alen, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT) && (r = check_strict(s, a, alen)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if (blen == 0)
		return cs_vercmp_bad(s, b, blen, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT) && (r = check_strict(s, b, blen)) != 0)
		return r;
	parse(&x, a, alen);
	parse(&y, b, blen);
	*out = compare(&x, &y);
	return 0;
}

int cs_vercmp_semver(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	return run(CS_VERSCHEME_SEMVER, out, a, alen, b, blen, flags);
}

int cs_vercmp_go(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	return run(CS_VERSCHEME_GO, out, a, alen, b, blen, flags);
}
