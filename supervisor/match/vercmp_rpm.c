/*
 * vercmp_rpm.c - RPM EVR ordering: rpm's rpmvercmp() on epoch, version and
 * release, with the EVR split as rpm's parseEVR() does it (epoch only when the
 * string starts with digits followed by ':', release after the last '-').
 *
 * rpmvercmp: separators are all bytes other than ASCII letters, digits, '~'
 * and '^'; '~' sorts before anything (even the end), '^' after the end but
 * before anything else; digit runs beat letter runs and compare numerically.
 *
 * A missing release sorts before any present one ("1" < "1-" < "1-1"), as OSV
 * tooling for Red Hat data orders them (rpm itself would ignore a missing
 * release in a dependency match).
 */
#include "supervisor/match/vercmp.h"

#include "common/errors.h"

struct rver {
	const char *e;
	size_t elen;
	const char *v;
	size_t vlen;
	const char *r;
	size_t rlen;
	int has_r;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int rpmvercmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	if (alen == blen) {
		size_t k;

		for (k = 0; k < alen && a[k] == b[k]; k++)
			;
		if (k == alen)
			return 0;
	}
	while (i < alen || j < blen) {
		size_t si, sj;
		int isnum, r;

		while (i < alen && !is_alpha((unsigned char)a[i]) && !is_digit((unsigned char)a[i]) &&
		       a[i] != '~' && a[i] != '^')
			i++;
		while (j < blen && !is_alpha((unsigned char)b[j]) && !is_digit((unsigned char)b[j]) &&
		       b[j] != '~' && b[j] != '^')
			j++;
		if ((i < alen && a[i] == '~') || (j < blen && b[j] == '~')) {
			if (!(i < alen && a[i] == '~'))
				return 1;
			if (!(j < blen && b[j] == '~'))
				return -1;
			i++;
			j++;
			continue;
		}
		if ((i < alen && a[i] == '^') || (j < blen && b[j] == '^')) {
			if (i == alen)
				return -1;
			if (j == blen)
				return 1;
			if (a[i] != '^')
				return 1;
			if (b[j] != '^')
				return -1;
			i++;
			j++;
			continue;
		}
		if (i == alen || j == blen)
			break;
		si = i;
		sj = j;
		isnum = is_digit((unsigned char)a[i]);
		if (isnum) {
			while (i < alen && is_digit((unsigned char)a[i]))
				i++;
			while (j < blen && is_digit((unsigned char)b[j]))
				j++;
		} else {
			while (i < alen && is_alpha((unsigned char)a[i]))
				i++;
			while (j < blen && is_alpha((unsigned char)b[j]))
				j++;
		}
		if (sj == j)
			return isnum ? 1 : -1;
		if (isnum) {
			r = cs_vercmp_digits(a + si, i - si, b + sj, j - sj);
		} else {
			size_t n1 = i - si, n2 = j - sj, k;

			r = 0;
			for (k = 0; k < n1 && k < n2 && r == 0; k++)
				if (a[si + k] != b[sj + k])
					r = (unsigned char)a[si + k] < (unsigned char)b[sj + k] ? -1 : 1;
			if (r == 0 && n1 != n2)
				r = n1 < n2 ? -1 : 1;
		}
		if (r != 0)
			return r;
	}
	if (i == alen && j == blen)
		return 0;
	return i == alen ? -1 : 1;
}

static int parse(struct rver *p, const char *v, size_t len, unsigned flags)
{
	size_t i, s = 0, hy;

	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_RPM, v, len, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT)) {
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)v[i];

			if (c <= 0x20 || c >= 0x7f)
				return cs_vercmp_bad(CS_VERSCHEME_RPM, v, len,
						     "only printable ASCII without spaces is allowed");
		}
	}
	for (i = 0; i < len && is_digit((unsigned char)v[i]); i++)
		;
	p->e = "0";
	p->elen = 1;
	if (i < len && v[i] == ':') {
		if (i > 0) {
			p->e = v;
			p->elen = i;
		}
		s = i + 1;
	}
	hy = len;
	for (i = len; i > s; i--) {
		if (v[i - 1] == '-') {
			hy = i - 1;
			break;
		}
	}
	p->v = v + s;
	p->vlen = hy - s;
	p->has_r = hy < len;
	p->r = p->has_r ? v + hy + 1 : "";
	p->rlen = p->has_r ? len - hy - 1 : 0;
	if (p->vlen == 0 && !(flags & CS_VERCMP_LENIENT))
		return cs_vercmp_bad(CS_VERSCHEME_RPM, v, len, "version part is empty");
	return 0;
}

int cs_vercmp_rpm(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	struct rver x, y;
	int r;

	if ((r = parse(&x, a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = parse(&y, b, blen, flags)) != 0)
		return r;
	r = rpmvercmp(x.e, x.elen, y.e, y.elen);
	if (r == 0)
		r = rpmvercmp(x.v, x.vlen, y.v, y.vlen);
	if (r == 0) {
		if (x.has_r && y.has_r)
			r = rpmvercmp(x.r, x.rlen, y.r, y.rlen);
		else
			r = x.has_r - y.has_r;
	}
	*out = r;
	return 0;
}
