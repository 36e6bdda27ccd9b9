/*
 * vercmp_pub.c - Dart pub versions (package:pub_semver, Version.compareTo).
 *
 * Strict: what Version.parse() accepts: MAJOR.MINOR.PATCH, each \d+ that
 * Dart's int.parse() can hold (a 64-bit int; leading zeros are fine), then
 * optional "-PRERELEASE" and "+BUILD", each non-empty [0-9A-Za-z-]+
 * identifiers separated by '.'. Unlike SemVer 2.0, numeric identifiers may
 * have leading zeros.
 *
 * Lenient: also a leading 'v', MAJOR or MAJOR.MINOR alone (the missing parts
 * are 0), numbers of any size (compared exactly), and components past the
 * third, which with everything after them become the build ("1.2.3.4.5" has
 * build "4.5", as OSV's tooling reads it).
 *
 * Order (Version.compareTo): major, minor, patch; a version without a
 * prerelease is above one with; prereleases compared as lists; then, unlike
 * SemVer, the build orders too: none is below any, and builds compare as
 * lists. Lists compare part by part: a missing part is below a present one,
 * numbers below strings, numbers by value, strings by bytes. A part is a
 * number when Dart's int.tryParse() reads it: an optional '-', then decimal
 * digits or 0x and hex digits, in the 64-bit range (hex up to 2^64-1,
 * wrapping to negative as the Dart VM does); "01" == "1" and "0x10" == "16".
 */
#include "supervisor/match/vercmp.h"

#include <stdint.h>
#include <string.h>

#include "common/errors.h"

/* Dart's int on the VM: a signed 64-bit integer */
#define DART_INT_MAX "9223372036854775807"

struct pubv {
	const char *rel[3];
	size_t rellen[3];
	const char *pre, *build; /* without the '-' / '+'; NULL when absent */
	size_t prelen, buildlen;
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}
static int is_ident(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* [0-9A-Za-z-]+ (\. [0-9A-Za-z-]+)* over exactly [p, p + n) */
static int idents_ok(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t st = i;

		while (i < n && is_ident((unsigned char)p[i]))
			i++;
		if (i == st)
			return 0;
		if (i == n)
			return 1;
		if (p[i] != '.')
			return 0;
		i++;
	}
}

static int parse(struct pubv *x, const char *v, size_t len, unsigned flags)
{
	static const char *const rule_rel = "expected MAJOR.MINOR.PATCH with numeric parts";
	int strict = !(flags & CS_VERCMP_LENIENT);
	size_t i = 0, k, e;

	memset(x, 0, sizeof(*x));
	for (k = 0; k < 3; k++) {
		x->rel[k] = "0";
		x->rellen[k] = 1;
	}
	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len, "version is empty");
	if (!strict && v[0] == 'v')
		i++;
	for (k = 0; k < 3; k++) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)v[i]))
			i++;
		if (i == st)
			return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len, rule_rel);
		if (strict &&
		    cs_vercmp_digits(v + st, i - st, DART_INT_MAX, sizeof(DART_INT_MAX) - 1) > 0)
			return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len,
					     "number does not fit Dart's 64-bit int");
		x->rel[k] = v + st;
		x->rellen[k] = i - st;
		if (k == 2 || i == len || v[i] != '.') {
			if (strict && k < 2)
				return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len, rule_rel);
			break;
		}
		i++;
	}
	if (!strict && k == 2 && i < len && v[i] == '.') {
		/* components past the third: the rest is the build */
		x->build = v + i + 1;
		x->buildlen = len - i - 1;
		if (!idents_ok(x->build, x->buildlen))
			return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len,
					     "build identifiers must be non-empty [0-9A-Za-z-]");
		return 0;
	}
	if (i < len && v[i] == '-') {
		i++;
		for (e = i; e < len && v[e] != '+'; e++)
			;
		x->pre = v + i;
		x->prelen = e - i;
		if (!idents_ok(x->pre, x->prelen))
			return cs_vercmp_bad(
				CS_VERSCHEME_PUB, v, len,
				"prerelease identifiers must be non-empty [0-9A-Za-z-]");
		i = e;
	}
	if (i < len && v[i] == '+') {
		i++;
		x->build = v + i;
		x->buildlen = len - i;
		if (!idents_ok(x->build, x->buildlen))
			return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len,
					     "build identifiers must be non-empty [0-9A-Za-z-]");
		i = len;
	}
	if (i != len)
		return cs_vercmp_bad(CS_VERSCHEME_PUB, v, len,
				     "unexpected character after MAJOR.MINOR.PATCH");
	return 0;
}

static int decval(int c)
{
	return is_digit(c) ? c - '0' : -1;
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Dart VM int.tryParse(part) with no radix: 1 and *out when it is a number. */
static int dart_int(const char *p, size_t n, int64_t *out)
{
	const uint64_t top = (uint64_t)1 << 63;
	size_t i = 0;
	unsigned base = 10;
	int neg = 0;
	uint64_t m = 0, lim;

	if (i < n && (p[i] == '-' || p[i] == '+'))
		neg = p[i++] == '-';
	if (n - i >= 2 && p[i] == '0' && (p[i + 1] | 0x20) == 'x') {
		base = 16;
		i += 2;
	}
	if (i == n)
		return 0;
	for (; i < n; i++) {
		int d = base == 16 ? hexval((unsigned char)p[i]) : decval((unsigned char)p[i]);

		if (d < 0)
			return 0;
		if (m > (UINT64_MAX - (unsigned)d) / base)
			return 0;
		m = m * base + (unsigned)d;
	}
	/* hex literals may use all 64 bits and then read as negative */
	lim = neg ? top : base == 16 ? UINT64_MAX : top - 1;
	if (m > lim)
		return 0;
	if (neg)
		*out = m == top ? INT64_MIN : -(int64_t)m;
	else
		*out = m > top - 1 ? -(int64_t)(UINT64_MAX - m) - 1 : (int64_t)m;
	return 1;
}

/* Next '.'-separated part of a checked list; 0 when exhausted. */
static int next_part(const char *s, size_t len, size_t *pos, const char **p, size_t *n)
{
	size_t i = *pos;

	if (i > len)
		return 0;
	*p = s + i;
	while (i < len && s[i] != '.')
		i++;
	*n = i - (size_t)(*p - s);
	*pos = i + 1;
	return 1;
}

/* Version._compareLists on two non-empty lists. */
static int cmp_lists(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t pa = 0, pb = 0;

	for (;;) {
		const char *x = NULL, *y = NULL;
		size_t xn = 0, yn = 0, k;
		int hx = next_part(a, alen, &pa, &x, &xn), hy = next_part(b, blen, &pb, &y, &yn);
		int64_t xi = 0, yi = 0;
		int nx, ny, c;

		if (!hx || !hy)
			return hx - hy;
		nx = dart_int(x, xn, &xi);
		ny = dart_int(y, yn, &yi);
		if (nx && ny)
			c = xi < yi ? -1 : xi > yi;
		else if (nx || ny)
			c = nx ? -1 : 1;
		else {
			k = xn < yn ? xn : yn;
			c = k ? memcmp(x, y, k) : 0;
			c = c < 0 ? -1 : c > 0;
			if (c == 0 && xn != yn)
				c = xn < yn ? -1 : 1;
		}
		if (c != 0)
			return c;
	}
}

static int compare(const struct pubv *x, const struct pubv *y)
{
	int k, c;

	for (k = 0; k < 3; k++)
		if ((c = cs_vercmp_digits(x->rel[k], x->rellen[k], y->rel[k], y->rellen[k])) != 0)
			return c;
	if ((x->pre == NULL) != (y->pre == NULL))
		return x->pre == NULL ? 1 : -1;
	if (x->pre != NULL && (c = cmp_lists(x->pre, x->prelen, y->pre, y->prelen)) != 0)
		return c;
	if ((x->build == NULL) != (y->build == NULL))
		return x->build == NULL ? -1 : 1;
	return x->build != NULL ? cmp_lists(x->build, x->buildlen, y->build, y->buildlen) : 0;
}

int cs_vercmp_pub(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	struct pubv x, y;
	int r;

	if ((r = parse(&x, a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = parse(&y, b, blen, flags)) != 0)
		return r;
	*out = compare(&x, &y);
	return 0;
}
