/*
 * vercmp_dpkg.c - Debian version ordering, as dpkg's parseversion() and
 * verrevcmp() define it (deb-version(7)): [epoch:]upstream[-revision],
 * compared by epoch, then upstream, then revision, where '~' sorts before
 * everything (even the end), letters before other non-digits, and digit runs
 * compare numerically.
 */
#include "supervisor/match/vercmp.h"

#include <limits.h>

#include "common/errors.h"

struct dver {
	long epoch;
	const char *up;
	size_t uplen;
	const char *rev;
	size_t revlen;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_blank(int c) { return c == ' ' || c == '\t'; }

/* dpkg's order(): '~' < end and digits < letters < everything else. dpkg
 * passes a plain (signed on Debian's main architectures) char, which places
 * bytes >= 0x80 between the letters and ASCII punctuation; kept on purpose. */
static int order(int c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c != 0) {
		if (c >= 0x80)
			c -= 256;
		return c + 256;
	}
	return 0;
}

static int at(const char *s, size_t len, size_t i)
{
	return i < len ? (unsigned char)s[i] : 0;
}

static int verrevcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen || j < blen) {
		int first_diff = 0;

		while ((i < alen && !is_digit(at(a, alen, i))) || (j < blen && !is_digit(at(b, blen, j)))) {
			int ac = order(at(a, alen, i)), bc = order(at(b, blen, j));

			if (ac != bc)
				return ac - bc;
			i++;
			j++;
		}
		while (at(a, alen, i) == '0')
			i++;
		while (at(b, blen, j) == '0')
			j++;
		while (is_digit(at(a, alen, i)) && is_digit(at(b, blen, j))) {
			if (!first_diff)
				first_diff = at(a, alen, i) - at(b, blen, j);
			i++;
			j++;
		}
		if (is_digit(at(a, alen, i)))
			return 1;
		if (is_digit(at(b, blen, j)))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

static int bad(const char *v, size_t len, const char *rule)
{
	return cs_vercmp_bad(CS_VERSCHEME_DPKG, v, len, rule);
}

/* parseversion(): errors fail in both modes; its warnings (first character
 * not a digit, characters outside the allowed sets) fail only when strict. */
static int parse(struct dver *d, const char *v, size_t len, unsigned flags)
{
	size_t s = 0, e, p, colon, i, hy;
	int strict = !(flags & CS_VERCMP_LENIENT);

	while (s < len && is_blank((unsigned char)v[s]))
		s++;
	if (s == len)
		return bad(v, len, "version string is empty");
	e = s;
	while (e < len && !is_blank((unsigned char)v[e]))
		e++;
	for (p = e; p < len; p++)
		if (!is_blank((unsigned char)v[p]))
			return bad(v, len, "version string has embedded spaces");

	d->epoch = 0;
	for (colon = s; colon < e && v[colon] != ':'; colon++)
		;
	if (colon < e) {
		/* strtol(): optional sign, then digits, ending exactly at the colon */
		size_t q = s;
		int neg = 0;
		long ep = 0;

		if (q < colon && (v[q] == '+' || v[q] == '-'))
			neg = v[q++] == '-';
		if (q == colon || !is_digit((unsigned char)v[q]))
			return bad(v, len, q == colon && q == s ? "epoch in version is empty"
						       : "epoch in version is not number");
		for (; q < colon; q++) {
			if (!is_digit((unsigned char)v[q]))
				return bad(v, len, "epoch in version is not number");
			if (ep > (INT_MAX - (v[q] - '0')) / 10)
				return bad(v, len, "epoch in version is too big");
			ep = ep * 10 + (v[q] - '0');
		}
		if (neg && ep != 0)
			return bad(v, len, "epoch in version is negative");
		if (colon + 1 == e)
			return bad(v, len, "nothing after colon in version number");
		d->epoch = ep;
		s = colon + 1;
	}
	/* the revision starts after the last hyphen */
	hy = e;
	for (i = e; i > s; i--) {
		if (v[i - 1] == '-') {
			hy = i - 1;
			break;
		}
	}
	d->up = v + s;
	d->uplen = hy - s;
	if (hy < e) {
		d->rev = v + hy + 1;
		d->revlen = e - hy - 1;
		if (d->revlen == 0)
			return bad(v, len, "revision number is empty");
	} else {
		d->rev = "";
		d->revlen = 0;
	}
	if (d->uplen == 0)
		return bad(v, len, "version number is empty");
	if (!strict)
		return 0;
	if (!is_digit((unsigned char)d->up[0]))
		return bad(v, len, "version number does not start with digit");
	for (i = 0; i < d->uplen; i++) {
		int c = (unsigned char)d->up[i];

		if (!is_digit(c) && !is_alpha(c) && c != '.' && c != '-' && c != '+' && c != '~' && c != ':')
			return bad(v, len, "invalid character in version number");
	}
	for (i = 0; i < d->revlen; i++) {
		int c = (unsigned char)d->rev[i];

		if (!is_digit(c) && !is_alpha(c) && c != '.' && c != '+' && c != '~')
			return bad(v, len, "invalid character in revision number");
	}
	return 0;
}

int cs_vercmp_dpkg(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	struct dver x, y;
	int r;

	if ((r = parse(&x, a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = parse(&y, b, blen, flags)) != 0)
		return r;
	if (x.epoch != y.epoch) {
		*out = x.epoch < y.epoch ? -1 : 1;
		return 0;
	}
	r = verrevcmp(x.up, x.uplen, y.up, y.uplen);
	if (r == 0)
		r = verrevcmp(x.rev, x.revlen, y.rev, y.revlen);
	*out = r < 0 ? -1 : r > 0;
	return 0;
}
