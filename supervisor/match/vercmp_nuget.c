/*
 * vercmp_nuget.c - NuGetVersion ordering: SemVer 2.0 with up to four numeric
 * parts (missing ones are 0, leading zeros allowed), prerelease labels
 * compared numerically when both are numbers and otherwise ordinally without
 * regard to case, build metadata ignored.
 */
#include "supervisor/match/vercmp.h"

#include "common/errors.h"

struct nuv {
	const char *c[4];
	size_t clen[4];
	const char *pre;
	size_t prelen;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
static int is_ident(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static int labels_ok(const char *p, size_t n)
{
	size_t i = 0, st = 0;

	if (n == 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (i == st)
				return 0;
			st = i + 1;
		} else if (!is_ident((unsigned char)p[i])) {
			return 0;
		}
	}
	return 1;
}

static int parse(struct nuv *v, const char *s, size_t len)
{
	size_t i = 0, k, e;

	for (k = 0; k < 4; k++) {
		v->c[k] = "0";
		v->clen[k] = 1;
	}
	for (k = 0;; k++) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)s[i]))
			i++;
		if (i == st || k == 4)
			return cs_vercmp_bad(CS_VERSCHEME_NUGET, s, len, "expected 1 to 4 numeric parts");
		v->c[k] = s + st;
		v->clen[k] = i - st;
		if (i < len && s[i] == '.' && k < 3) {
			i++;
			continue;
		}
		break;
	}
	v->pre = "";
	v->prelen = 0;
	if (i < len && s[i] == '-') {
		for (e = ++i; e < len && s[e] != '+'; e++)
			;
		if (!labels_ok(s + i, e - i))
			return cs_vercmp_bad(CS_VERSCHEME_NUGET, s, len,
					     "release labels must be non-empty [0-9A-Za-z-]");
		v->pre = s + i;
		v->prelen = e - i;
		i = e;
	}
	if (i < len && s[i] == '+') {
		if (!labels_ok(s + i + 1, len - i - 1))
			return cs_vercmp_bad(CS_VERSCHEME_NUGET, s, len, "metadata must be non-empty [0-9A-Za-z-.]");
		i = len;
	}
	if (i != len)
		return cs_vercmp_bad(CS_VERSCHEME_NUGET, s, len, "unexpected character");
	return 0;
}

static int numeric(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)p[i]))
			return 0;
	return n > 0;
}

static int cmp_labels(const struct nuv *x, const struct nuv *y)
{
	size_t i = 0, j = 0;

	if (x->prelen == 0 || y->prelen == 0)
		return (x->prelen == 0) - (y->prelen == 0);
	for (;;) {
		size_t si = i, sj = j, k;
		int an, bn, r = 0;

		while (i < x->prelen && x->pre[i] != '.')
			i++;
		while (j < y->prelen && y->pre[j] != '.')
			j++;
		an = numeric(x->pre + si, i - si);
		bn = numeric(y->pre + sj, j - sj);
		if (an && bn) {
			r = cs_vercmp_digits(x->pre + si, i - si, y->pre + sj, j - sj);
		} else if (an != bn) {
			r = an ? -1 : 1;
		} else {
			for (k = 0; si + k < i && sj + k < j && r == 0; k++) {
				int a = upper((unsigned char)x->pre[si + k]), b = upper((unsigned char)y->pre[sj + k]);

				if (a != b)
					r = a < b ? -1 : 1;
			}
			if (r == 0 && i - si != j - sj)
				r = i - si < j - sj ? -1 : 1;
		}
		if (r != 0)
			return r;
		if (i == x->prelen || j == y->prelen)
			return i == x->prelen ? (j == y->prelen ? 0 : -1) : 1;
		i++;
		j++;
	}
}

int cs_vercmp_nuget(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	struct nuv x, y;
	int r, k;

	(void)flags; /* NuGet has no looser ordering to fall back to */
	if ((r = parse(&x, a, alen)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = parse(&y, b, blen)) != 0)
		return r;
	for (k = 0; k < 4; k++) {
		if ((r = cs_vercmp_digits(x.c[k], x.clen[k], y.c[k], y.clen[k])) != 0) {
			*out = r;
			return 0;
		}
	}
	*out = cmp_labels(&x, &y);
	return 0;
}
