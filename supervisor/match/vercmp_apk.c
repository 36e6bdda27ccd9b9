/*
 * vercmp_apk.c - Alpine apk version ordering (apk-package(5)):
 *   number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}
 * Numbers compare numerically, except that a later component with a leading
 * zero compares as a string (8.2.0 < 8.2.001); suffixes order
 * _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p.
 *
 * Lenient mode orders strings apk rejects the way `apk version -t` and OSV
 * tooling do: the recognisable prefix is compared, a version with unparsed
 * text left over sorts below one without, and two versions that both fail
 * inside the -r part compare as plain strings.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

#define MAXPART (CS_VERCMP_MAX / 2 + 1)

struct apkpart {
	unsigned short off, len; /* digits in the input */
	unsigned char weight;    /* suffixes only */
};

struct apkver {
	const char *s;
	size_t len;
	size_t ncomp, nsuf;
	struct apkpart comp[MAXPART];
	struct apkpart suf[MAXPART];
	int letter;           /* 0 if none */
	size_t hoff, hlen;    /* ~hash without '~' */
	size_t roff, rlen;    /* -r digits */
	int has_rev;
	size_t rest;          /* offset of unparsed text (== len if none) */
	int invalid;          /* text after the hash that is not -r# */
};

enum { W_NONE = 4 };

static const char *const suffixes[] = {"alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

static void parse(struct apkver *v, const char *s, size_t len)
{
	size_t i = 0;

	v->ncomp = v->nsuf = 0;
	v->hoff = v->roff = 0;
	v->s = s;
	v->len = len;
	v->letter = 0;
	v->hlen = v->rlen = 0;
	v->has_rev = 0;
	v->invalid = 0;
	/* number{.number}... ; a trailing '.' is consumed like apk's regex does */
	while (i < len && is_digit((unsigned char)s[i])) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)s[i]))
			i++;
		v->comp[v->ncomp].off = (unsigned short)st;
		v->comp[v->ncomp].len = (unsigned short)(i - st);
		v->ncomp++;
		if (i < len && s[i] == '.')
			i++;
		else
			break;
	}
	if (i < len && s[i] >= 'a' && s[i] <= 'z')
		v->letter = (unsigned char)s[i++];
	while (i < len && s[i] == '_') {
		size_t k, n = 0, st;

		for (k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
			n = strlen(suffixes[k]);
			if (n > 0 && i + 1 + n <= len && memcmp(s + i + 1, suffixes[k], n) == 0)
				break;
		}
		if (k == sizeof(suffixes) / sizeof(suffixes[0]))
			break;
		i += 1 + n;
		st = i;
		while (i < len && is_digit((unsigned char)s[i]))
			i++;
		v->suf[v->nsuf].off = (unsigned short)st;
		v->suf[v->nsuf].len = (unsigned short)(i - st);
		v->suf[v->nsuf].weight = (unsigned char)k;
		v->nsuf++;
	}
	if (i + 1 < len && s[i] == '~' && is_hex((unsigned char)s[i + 1])) {
		v->hoff = ++i;
		while (i < len && is_hex((unsigned char)s[i]))
			i++;
		v->hlen = i - v->hoff;
	}
	if (i < len) {
		if (i + 1 < len && s[i] == '-' && s[i + 1] == 'r') {
			i += 2;
			v->has_rev = 1;
			v->roff = i;
			while (i < len && is_digit((unsigned char)s[i]))
				i++;
			v->rlen = i - v->roff;
		} else {
			v->invalid = 1;
		}
	}
	v->rest = i;
}

/* apk's grammar, for strict mode and cs_version_valid(). */
static int check(const struct apkver *v)
{
	const char *s = v->s;
	size_t len = v->len;

	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_APK, s, len, "version is empty");
	if (v->ncomp == 0)
		return cs_vercmp_bad(CS_VERSCHEME_APK, s, len, "version must start with a digit");
	if ((size_t)v->comp[v->ncomp - 1].off + v->comp[v->ncomp - 1].len < len &&
	    s[v->comp[v->ncomp - 1].off + v->comp[v->ncomp - 1].len] == '.')
		return cs_vercmp_bad(CS_VERSCHEME_APK, s, len, "'.' must be followed by a number");
	if (v->invalid || v->rest != len)
		return cs_vercmp_bad(CS_VERSCHEME_APK, s, len,
				     "expected number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}");
	if (v->has_rev && v->rlen == 0)
		return cs_vercmp_bad(CS_VERSCHEME_APK, s, len, "-r must be followed by a number");
	return 0;
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r = n ? memcmp(a, b, n) : 0;

	if (r != 0)
		return r < 0 ? -1 : 1;
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

static int cmp_comp(const struct apkver *x, const struct apkver *y, size_t i)
{
	const char *as = "0", *bs = "0";
	size_t al = 1, bl = 1;

	if (i < x->ncomp) {
		as = x->s + x->comp[i].off;
		al = x->comp[i].len;
	}
	if (i < y->ncomp) {
		bs = y->s + y->comp[i].off;
		bl = y->comp[i].len;
	}
	/* a leading zero after the first component means "compare as text" */
	if (i > 0 && (as[0] == '0' || bs[0] == '0'))
		return cmp_bytes(as, al, bs, bl);
	return cs_vercmp_digits(as, al, bs, bl);
}

static int compare(const struct apkver *x, const struct apkver *y)
{
	size_t i, n;
	int r;

	if (x->invalid && y->invalid)
		return cmp_bytes(x->s, x->len, y->s, y->len);
	n = x->ncomp > y->ncomp ? x->ncomp : y->ncomp;
	for (i = 0; i < n; i++)
		if ((r = cmp_comp(x, y, i)) != 0)
			return r;
	if (x->letter != y->letter)
		return x->letter < y->letter ? -1 : 1;
	n = x->nsuf > y->nsuf ? x->nsuf : y->nsuf;
	for (i = 0; i < n; i++) {
		int xw = i < x->nsuf ? x->suf[i].weight : W_NONE;
		int yw = i < y->nsuf ? y->suf[i].weight : W_NONE;

		if (xw != yw)
			return xw < yw ? -1 : 1;
		r = cs_vercmp_digits(i < x->nsuf ? x->s + x->suf[i].off : "", i < x->nsuf ? x->suf[i].len : 0,
				     i < y->nsuf ? y->s + y->suf[i].off : "", i < y->nsuf ? y->suf[i].len : 0);
		if (r != 0)
			return r;
	}
	if ((r = cmp_bytes(x->s + x->hoff, x->hlen, y->s + y->hoff, y->hlen)) != 0)
		return r;
	if ((r = cs_vercmp_digits(x->s + x->roff, x->rlen, y->s + y->roff, y->rlen)) != 0)
		return r;
	/* leftover text that apk could not parse sorts below none */
	if ((x->rest == x->len) != (y->rest == y->len))
		return x->rest == x->len ? 1 : -1;
	return 0;
}

int cs_vercmp_apk(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	struct apkver x, y;
	int r;

	parse(&x, a, alen);
	if (alen == 0)
		return check(&x);
	if (!(flags & CS_VERCMP_LENIENT) && (r = check(&x)) != 0)
		return r;
	if (out == NULL)
		return 0;
	parse(&y, b, blen);
	if (blen == 0)
		return check(&y);
	if (!(flags & CS_VERCMP_LENIENT) && (r = check(&y)) != 0)
		return r;
	*out = compare(&x, &y);
	return 0;
}

int cs_vercmp_apk_fuzzy(int *out, const char *a, const char *b)
{
	struct apkver x, y;
	size_t i;
	int r, c;

	if (out == NULL || a == NULL || b == NULL)
		return cs_err_set(CS_EINVAL, "cs_vercmp_apk_fuzzy: NULL argument");
	/* length caps and emptiness, in lenient mode like `apk version -c` */
	if ((r = cs_vercmp_flags(&c, CS_VERSCHEME_APK, a, b, CS_VERCMP_LENIENT)) != 0)
		return r;
	parse(&x, a, strlen(a));
	parse(&y, b, strlen(b));
	/* apk's '~': a matches when b's tokens are a prefix of a's */
	if (y.letter == 0 && y.nsuf == 0 && y.hlen == 0 && !y.has_rev && y.rest == y.len &&
	    y.ncomp <= x.ncomp) {
		for (i = 0; i < y.ncomp; i++)
			if (cmp_comp(&x, &y, i) != 0)
				break;
		if (i == y.ncomp) {
			*out = 0;
			return 0;
		}
	}
	*out = compare(&x, &y);
	return 0;
}
