/*
 * vercmp_pep440.c - PyPI ordering, PEP 440 as the `packaging` library
 * implements it: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local], with its
 * accepted spellings (case, 'v', alpha/beta/c/pre/preview/rev/r, '-', '_',
 * '.', implicit post "-N", missing numbers meaning 0, surrounding blanks)
 * and its sort key (trailing zero release parts ignored; X.devN < XaN;
 * local versions after the public one, numeric local parts above text ones).
 *
 * Lenient mode: a string that is not PEP 440 orders as packaging < 22's
 * LegacyVersion did (what PyPI tooling and OSV used for old releases such as
 * "0.1-bulbasaur"): below every PEP 440 version, and among themselves by
 * setuptools' legacy part list.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

#define MAXP (CS_VERCMP_MAX / 2 + 2)

struct span {
	const char *p;
	size_t n;
};

struct pepver {
	struct span epoch;
	struct span rel[MAXP];
	size_t nrel;
	int prerank;        /* -1 = -inf (dev only), 0 a, 1 b, 2 rc, 3 = +inf (none) */
	struct span pre;
	int has_post, has_dev;
	struct span post, dev;
	struct span local[MAXP];
	size_t nlocal;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int is_alnum(int c) { return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z'); }
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_sep(int c) { return c == '-' || c == '_' || c == '.'; }

/* case-insensitive literal at s[i] */
static int lit(const char *s, size_t e, size_t i, const char *w)
{
	size_t n = strlen(w), k;

	if (i + n > e)
		return 0;
	for (k = 0; k < n; k++)
		if (lower((unsigned char)s[i + k]) != w[k])
			return 0;
	return (int)n;
}

static size_t digits(const char *s, size_t e, size_t i)
{
	while (i < e && is_digit((unsigned char)s[i]))
		i++;
	return i;
}

static const char *const zero = "0";

/* label [sep] [number]; returns new position or 0 when no label */
static size_t labelled(const char *s, size_t e, size_t i, const char *const *labels, int *which,
		       struct span *num)
{
	size_t j, k;
	int n = 0;

	if (i < e && is_sep((unsigned char)s[i]))
		i++;
	for (k = 0; labels[k] != NULL; k++)
		if ((n = lit(s, e, i, labels[k])) > 0)
			break;
	if (labels[k] == NULL)
		return 0;
	*which = (int)k;
	i += (size_t)n;
	j = i;
	if (j < e && is_sep((unsigned char)s[j]))
		j++;
	k = digits(s, e, j);
	if (k > j) {
		num->p = s + j;
		num->n = k - j;
		return k;
	}
	num->p = zero;
	num->n = 1;
	return j; /* the separator is taken even without a number, as the regex does */
}

static int parse(struct pepver *v, const char *s, size_t len)
{
	static const char *const prel[] = {"alpha", "beta", "preview", "pre", "rc", "a", "b", "c", NULL};
	static const int prerank[] = {0, 1, 2, 2, 2, 0, 1, 2};
	static const char *const postl[] = {"post", "rev", "r", NULL};
	static const char *const devl[] = {"dev", NULL};
	size_t b = 0, e = len, i, j;
	int w;

	while (b < e && is_space((unsigned char)s[b]))
		b++;
	while (e > b && is_space((unsigned char)s[e - 1]))
		e--;
	i = b;
	if (i < e && lower((unsigned char)s[i]) == 'v')
		i++;
	v->epoch.p = zero;
	v->epoch.n = 1;
	j = digits(s, e, i);
	if (j > i && j < e && s[j] == '!') {
		v->epoch.p = s + i;
		v->epoch.n = j - i;
		i = j + 1;
	}
	v->nrel = 0;
	for (;;) {
		j = digits(s, e, i);
		if (j == i)
			return v->nrel ? -2 : -1;
		v->rel[v->nrel].p = s + i;
		v->rel[v->nrel].n = j - i;
		v->nrel++;
		i = j;
		if (i + 1 < e && s[i] == '.' && is_digit((unsigned char)s[i + 1]))
			i++;
		else
			break;
	}
	v->prerank = 3;
	v->has_post = v->has_dev = 0;
	v->nlocal = 0;
	if ((j = labelled(s, e, i, prel, &w, &v->pre)) != 0) {
		v->prerank = prerank[w];
		i = j;
	}
	if (i + 1 < e && s[i] == '-' && is_digit((unsigned char)s[i + 1])) {
		j = digits(s, e, i + 1);
		v->post.p = s + i + 1;
		v->post.n = j - i - 1;
		v->has_post = 1;
		i = j;
	} else if ((j = labelled(s, e, i, postl, &w, &v->post)) != 0) {
		v->has_post = 1;
		i = j;
	}
	if ((j = labelled(s, e, i, devl, &w, &v->dev)) != 0) {
		v->has_dev = 1;
		i = j;
	}
	if (v->prerank == 3 && !v->has_post && v->has_dev)
		v->prerank = -1;
	if (i < e && s[i] == '+') {
		i++;
		for (;;) {
			j = i;
			while (j < e && is_alnum((unsigned char)s[j]))
				j++;
			if (j == i)
				return -3;
			v->local[v->nlocal].p = s + i;
			v->local[v->nlocal].n = j - i;
			v->nlocal++;
			i = j;
			if (i < e && is_sep((unsigned char)s[i]) && i + 1 < e)
				i++;
			else
				break;
		}
	}
	return i == e ? 0 : -4;
}

static int all_digits(struct span x)
{
	size_t i;

	for (i = 0; i < x.n; i++)
		if (!is_digit((unsigned char)x.p[i]))
			return 0;
	return x.n > 0;
}

static int cmp_ci(struct span a, struct span b)
{
	size_t i;

	for (i = 0; i < a.n && i < b.n; i++) {
		int x = lower((unsigned char)a.p[i]), y = lower((unsigned char)b.p[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return a.n == b.n ? 0 : a.n < b.n ? -1 : 1;
}

static int compare(const struct pepver *x, const struct pepver *y)
{
	size_t nx = x->nrel, ny = y->nrel, i;
	int r;

	if ((r = cs_vercmp_digits(x->epoch.p, x->epoch.n, y->epoch.p, y->epoch.n)) != 0)
		return r;
	while (nx > 1 && cs_vercmp_digits(x->rel[nx - 1].p, x->rel[nx - 1].n, "0", 1) == 0)
		nx--;
	while (ny > 1 && cs_vercmp_digits(y->rel[ny - 1].p, y->rel[ny - 1].n, "0", 1) == 0)
		ny--;
	for (i = 0; i < nx && i < ny; i++)
		if ((r = cs_vercmp_digits(x->rel[i].p, x->rel[i].n, y->rel[i].p, y->rel[i].n)) != 0)
			return r;
	if (nx != ny) {
		/* a longer release whose extra parts are all zero was trimmed above */
		return nx < ny ? -1 : 1;
	}
	if (x->prerank != y->prerank)
		return x->prerank < y->prerank ? -1 : 1;
	if (x->prerank >= 0 && x->prerank <= 2 &&
	    (r = cs_vercmp_digits(x->pre.p, x->pre.n, y->pre.p, y->pre.n)) != 0)
		return r;
	if (x->has_post != y->has_post)
		return x->has_post ? 1 : -1;
	if (x->has_post && (r = cs_vercmp_digits(x->post.p, x->post.n, y->post.p, y->post.n)) != 0)
		return r;
	if (x->has_dev != y->has_dev)
		return x->has_dev ? -1 : 1;
	if (x->has_dev && (r = cs_vercmp_digits(x->dev.p, x->dev.n, y->dev.p, y->dev.n)) != 0)
		return r;
	if ((x->nlocal == 0) != (y->nlocal == 0))
		return x->nlocal == 0 ? -1 : 1;
	for (i = 0; i < x->nlocal && i < y->nlocal; i++) {
		int dx = all_digits(x->local[i]), dy = all_digits(y->local[i]);

		if (dx != dy)
			return dx ? 1 : -1;
		r = dx ? cs_vercmp_digits(x->local[i].p, x->local[i].n, y->local[i].p, y->local[i].n)
		       : cmp_ci(x->local[i], y->local[i]);
		if (r != 0)
			return r;
	}
	return x->nlocal == y->nlocal ? 0 : x->nlocal < y->nlocal ? -1 : 1;
}

/* ---- LegacyVersion (packaging < 22) ---- */

#define LEGBUF (9 * CS_VERCMP_MAX + 64)

struct legacy {
	char buf[LEGBUF];
	unsigned short off[CS_VERCMP_MAX + 2], len[CS_VERCMP_MAX + 2];
	size_t n, used;
};

static void leg_push(struct legacy *l, const char *p, size_t n, int numeric, const char *orig,
		     size_t on)
{
	size_t o = l->used, k;
	int star = !numeric;

	if (numeric) {
		for (k = n; k < 8; k++)
			l->buf[l->used++] = '0';
	} else {
		l->buf[l->used++] = '*';
	}
	for (k = 0; k < n; k++)
		l->buf[l->used++] = (char)lower((unsigned char)p[k]);
	(void)orig;
	(void)on;
	if (star) {
		/* "*x" < "*final": drop pending "*final-" markers; any text part
		 * drops trailing zero numbers */
		const char *s = l->buf + o;
		size_t sl = l->used - o;
		int less = 0;
		size_t m = sl < 6 ? sl : 6;
		int c = memcmp(s, "*final", m);

		less = c < 0 || (c == 0 && sl < 6);
		if (less)
			while (l->n > 0 && l->len[l->n - 1] == 7 &&
			       memcmp(l->buf + l->off[l->n - 1], "*final-", 7) == 0)
				l->n--;
		while (l->n > 0 && l->len[l->n - 1] == 8 &&
		       memcmp(l->buf + l->off[l->n - 1], "00000000", 8) == 0)
			l->n--;
	}
	l->off[l->n] = (unsigned short)o;
	l->len[l->n] = (unsigned short)(l->used - o);
	l->n++;
}

static void legacy_parse(struct legacy *l, const char *s, size_t len)
{
	size_t i = 0;

	l->n = l->used = 0;
	while (i < len) {
		int c = lower((unsigned char)s[i]);
		size_t j = i;

		if (is_digit(c)) {
			while (j < len && is_digit((unsigned char)s[j]))
				j++;
			leg_push(l, s + i, j - i, 1, s, len);
		} else if (c >= 'a' && c <= 'z') {
			struct span w;

			while (j < len && lower((unsigned char)s[j]) >= 'a' && lower((unsigned char)s[j]) <= 'z')
				j++;
			w.p = s + i;
			w.n = j - i;
			if (w.n == 3 && lit(s, j, i, "pre"))
				leg_push(l, "c", 1, 0, s, len);
			else if (w.n == 7 && lit(s, j, i, "preview"))
				leg_push(l, "c", 1, 0, s, len);
			else if (w.n == 2 && lit(s, j, i, "rc"))
				leg_push(l, "c", 1, 0, s, len);
			else if (w.n == 3 && lit(s, j, i, "dev"))
				leg_push(l, "@", 1, 0, s, len);
			else
				leg_push(l, w.p, w.n, 0, s, len);
		} else if (c == '.') {
			j++;
		} else if (c == '-') {
			j++;
			leg_push(l, "final-", 6, 0, s, len);
		} else {
			while (j < len && !is_digit(lower((unsigned char)s[j])) &&
			       !(lower((unsigned char)s[j]) >= 'a' && lower((unsigned char)s[j]) <= 'z') &&
			       s[j] != '.' && s[j] != '-')
				j++;
			leg_push(l, s + i, j - i, 0, s, len);
		}
		i = j;
	}
	leg_push(l, "final", 5, 0, s, len);
}

static int legacy_cmp(const struct legacy *x, const struct legacy *y)
{
	size_t i;

	for (i = 0; i < x->n && i < y->n; i++) {
		size_t a = x->len[i], b = y->len[i], m = a < b ? a : b;
		int c = memcmp(x->buf + x->off[i], y->buf + y->off[i], m);

		if (c != 0)
			return c < 0 ? -1 : 1;
		if (a != b)
			return a < b ? -1 : 1;
	}
	return x->n == y->n ? 0 : x->n < y->n ? -1 : 1;
}

static int legacy_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	static __thread struct legacy x, y; /* ~20 KiB each: kept off the stack */

	legacy_parse(&x, a, alen);
	legacy_parse(&y, b, blen);
	return legacy_cmp(&x, &y);
}

static int bad(const char *v, size_t len, int why)
{
	static const char *const rule[] = {
		"", "expected a release number N(.N)*", "unexpected text after the release",
		"local version label must be [a-z0-9]+ separated by '.', '-' or '_'",
		"not a PEP 440 version ([N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local])"};

	return cs_vercmp_bad(CS_VERSCHEME_PEP440, v, len, rule[-why]);
}

int cs_vercmp_pep440(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	static __thread struct pepver x, y; /* large tables: kept off the stack */
	int ra, rb;

	ra = parse(&x, a, alen);
	if (ra != 0 && (!(flags & CS_VERCMP_LENIENT) || alen == 0))
		return bad(a, alen, ra == -2 ? -4 : ra);
	if (out == NULL)
		return 0;
	rb = parse(&y, b, blen);
	if (rb != 0 && (!(flags & CS_VERCMP_LENIENT) || blen == 0))
		return bad(b, blen, rb == -2 ? -4 : rb);
	if (ra == 0 && rb == 0)
		*out = compare(&x, &y);
	else if (ra != 0 && rb != 0)
		*out = legacy_compare(a, alen, b, blen);
	else
		*out = ra != 0 ? -1 : 1; /* legacy (epoch -1) sorts below PEP 440 */
	return 0;
}
