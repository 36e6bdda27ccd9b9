/*
 * vercmp_packagist.c - Packagist ordering: PHP's version_compare() after
 * composer drops leading 'v'/'V'. The version is canonicalised ('-', '_',
 * '+' and other non-alphanumerics become '.', a '.' is put between digit and
 * non-digit runs), then compared element by element: numbers numerically
 * names by their special form dev < alpha = a < beta = b < RC = rc < # (a
 * number) < pl = p, anything else below dev.
 *
 * Two deliberate differences from PHP, both following the OSV reference
 * vectors: numbers compare exactly at any size (PHP's strtol() saturates at
 * 2^63-1), and a literal '#' element is kept wherever it appears (PHP's
 * canonicaliser drops a '#' that does not follow a digit).
 *
 * Two more, so that the order is reflexive and, in strict mode, a total
 * preorder (docs/versions.md): a trailing empty element (canonical form
 * ending in '.') equals another one instead of being below it, and strict
 * mode refuses '#', which PHP ranks equal to every number.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

/* rank of a number (and of '#') among the special forms */
#define RANK_NUMBER 4

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* php_canonicalize_version(); dst holds 2 * n + 1 bytes */
static size_t canonicalize(char *dst, const char *p, size_t n)
{
	size_t q = 0, i;
	int lp;

	if (n == 0) {
		dst[0] = '\0';
		return 0;
	}
	dst[q++] = p[0];
	lp = (unsigned char)p[0];
	for (i = 1; i < n; i++) {
		int c = (unsigned char)p[i];
		int lq = (unsigned char)dst[q - 1];

		if (c == '-' || c == '_' || c == '+') {
			if (lq != '.')
				dst[q++] = '.';
		} else if ((!is_digit(lp) && lp != '.' && is_digit(c)) ||
			   (is_digit(lp) && !is_digit(c) && c != '.')) {
			if (lq != '.')
				dst[q++] = '.';
			dst[q++] = (char)c;
		} else if (!is_alnum(c) && c != '#') {
			if (lq != '.')
				dst[q++] = '.';
		} else {
			dst[q++] = (char)c;
		}
		lp = c;
	}
	dst[q] = '\0';
	return q;
}

/* PHP's compare_special_version_forms() rank of a non-numeric element: the
 * first form the element starts with; anything else is below "dev". */
static int special(const char *p, size_t n)
{
	static const struct {
		const char *name;
		int order;
	} forms[] = {{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2}, {"RC", 3},
		     {"rc", 3},  {"#", RANK_NUMBER}, {"pl", 5}, {"p", 5}};
	size_t k;

	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		size_t m = strlen(forms[k].name);

		if (m <= n && memcmp(p, forms[k].name, m) == 0)
			return forms[k].order;
	}
	return -1;
}

enum { EL_NUM, EL_STR, EL_END };

struct elem {
	const char *p;
	size_t n;
	int kind;
};

/* Cursor over the '.'-separated elements of a canonical version. A final
 * '.' yields one EL_END element; pos > len means exhausted. */
struct elems {
	const char *s;
	size_t len, pos;
};

static int next_elem(struct elems *c, struct elem *e)
{
	size_t i;

	if (c->pos > c->len)
		return 0;
	for (i = c->pos; i < c->len && c->s[i] != '.'; i++)
		;
	e->p = c->s + c->pos;
	e->n = i - c->pos;
	if (c->pos == c->len)
		e->kind = EL_END; /* only reached after a '.' at the very end */
	else if (is_digit((unsigned char)*e->p))
		e->kind = EL_NUM;
	else
		e->kind = EL_STR;
	c->pos = i + 1;
	return 1;
}

static int sign(int d) { return d < 0 ? -1 : d > 0; }

/* PHP reads a numeric element with strtol(): its leading digits (the rest
 * of the element is only non-digit after a verbatim '#' version). Numbers
 * compare exactly at any size, see the top of the file. */
static size_t digit_run(const struct elem *e)
{
	size_t i = 0;

	while (i < e->n && is_digit((unsigned char)e->p[i]))
		i++;
	return i;
}

/* Two present elements. A number ranks as PHP's "#N#" against a name. */
static int cmp_elem(const struct elem *x, const struct elem *y)
{
	if (x->kind == EL_END || y->kind == EL_END)
		return (y->kind == EL_END) - (x->kind == EL_END);
	if (x->kind == EL_NUM && y->kind == EL_NUM)
		return cs_vercmp_digits(x->p, digit_run(x), y->p, digit_run(y));
	return sign((x->kind == EL_NUM ? RANK_NUMBER : special(x->p, x->n)) -
		    (y->kind == EL_NUM ? RANK_NUMBER : special(y->p, y->n)));
}

/* An element of the longer version against the end of the shorter one:
 * PHP's tail "compare(rest, '#N#')": a number is above the end, a name by
 * its rank against "#"; an EL_END is below everything. */
static int cmp_missing(const struct elem *x)
{
	if (x->kind == EL_END)
		return -1;
	if (x->kind == EL_NUM)
		return 1;
	return sign(special(x->p, x->n) - RANK_NUMBER);
}

/*
 * php_version_compare() on two canonical versions, as a lexicographic order
 * on their elements, with one change (docs/versions.md): PHP ranks a
 * trailing empty element (canonical form ending in '.', from "1.", "1.0-",
 * "1+" or a trailing non-ASCII byte) below whatever stands opposite it,
 * including another empty element, so "1." < "1." and both "1." < "1.dev"
 * and "1.dev" < "1.". Here it is below everything except another trailing
 * empty element, which it equals. The empty canonical form is below all.
 */
static int compare(const char *a, size_t alen, const char *b, size_t blen)
{
	struct elems ca = {a, alen, 0}, cb = {b, blen, 0};
	struct elem x = {0}, y = {0};  /* set by next_elem; zeroed for -O3 flow analysis */

	if (alen == 0 || blen == 0)
		return (alen != 0) - (blen != 0);
	for (;;) {
		int hx = next_elem(&ca, &x), hy = next_elem(&cb, &y), c;

		if (!hx && !hy)
			return 0;
		if (hx && hy)
			c = cmp_elem(&x, &y);
		else
			c = hx ? cmp_missing(&x) : -cmp_missing(&y);
		if (c != 0)
			return c;
	}
}

static int prepare(char *dst, size_t *dlen, const char *v, size_t len, unsigned flags)
{
	size_t i = 0, k;

	while (i < len && (v[i] == 'v' || v[i] == 'V'))
		i++;
	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT)) {
		if (i == len)
			return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len, "nothing after the 'v' prefix");
		for (k = 0; k < len; k++) {
			if ((unsigned char)v[k] <= 0x20 || (unsigned char)v[k] >= 0x7f)
				return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len,
						     "only printable ASCII without spaces is allowed");
			/* PHP's '#' element equals every number ("1.#" == "1.1" ==
			 * "1.2"), which no consistent order can follow; composer
			 * never produces it. */
			if (v[k] == '#')
				return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len,
						     "'#' is not allowed (PHP ranks it equal to every number)");
		}
	}
	if (i < len && v[i] == '#') {
		memcpy(dst, v + i, len - i);
		dst[len - i] = '\0';
		*dlen = len - i;
	} else {
		*dlen = canonicalize(dst, v + i, len - i);
	}
	return 0;
}

int cs_vercmp_packagist(int *out, const char *a, size_t alen, const char *b, size_t blen,
			unsigned flags)
{
	char x[2 * CS_VERCMP_MAX + 2], y[2 * CS_VERCMP_MAX + 2];
	size_t xl, yl;
	int r;

	if ((r = prepare(x, &xl, a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = prepare(y, &yl, b, blen, flags)) != 0)
		return r;
	*out = compare(x, xl, y, yl);
	return 0;
}
