/*
 * vercmp_maven.c - Maven's ComparableVersion: the lower-cased version is cut
 * at '.', '-' and digit/letter transitions into a tree of items ('-' and a
 * transition open a sub-list); trailing "null" items (0, "", ga, final,
 * release, empty lists) are dropped from each list; items compare as
 * numbers, as qualifiers alpha < beta < milestone < rc = cr < snapshot <
 * "" = ga = final = release < sp < other text (alphabetical), or as lists,
 * with the ComparableVersion rules for mixed kinds (number > list > text).
 * A list compared with a missing item is compared item by item (MNG-6964),
 * and an empty component ("1..0") is the number 0, so two versions that
 * compare equal have equal normalised trees and compare alike with any third.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

enum { T_INT, T_STR, T_LIST };
#define MAXNODE (2 * CS_VERCMP_MAX + 4)
#define Q_RELEASE 5
#define Q_UNKNOWN 7

struct mnode {
	unsigned char type, q;           /* q: qualifier index for T_STR */
	unsigned short off, len;         /* digits or text in lower[] */
	short first, last, next, prev;   /* -1 = none */
};

struct mver {
	char lower[CS_VERCMP_MAX + 1];
	struct mnode n[MAXNODE];
	short lists[MAXNODE];
	size_t nn, nlists;
};

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static short node(struct mver *v, int type)
{
	struct mnode *m = &v->n[v->nn];

	memset(m, 0, sizeof(*m));
	m->type = (unsigned char)type;
	m->first = m->last = m->next = m->prev = -1;
	return (short)v->nn++;
}

static void add(struct mver *v, short list, short item)
{
	struct mnode *l = &v->n[list];

	v->n[item].prev = l->last;
	if (l->last >= 0)
		v->n[l->last].next = item;
	else
		l->first = item;
	l->last = item;
}

static short new_list(struct mver *v, short cur)
{
	short l = node(v, T_LIST);

	add(v, cur, l);
	v->lists[v->nlists++] = l;
	return l;
}

static int is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

static short item(struct mver *v, int digit, size_t st, size_t en, int followed_by_digit)
{
	short i;
	const char *p = v->lower + st;
	size_t n = en - st;

	if (digit) {
		while (n > 1 && *p == '0') {
			p++;
			st++;
			n--;
		}
		i = node(v, T_INT);
		v->n[i].off = (unsigned short)st;
		v->n[i].len = (unsigned short)n;
		return i;
	}
	i = node(v, T_STR);
	v->n[i].off = (unsigned short)st;
	v->n[i].len = (unsigned short)n;
	if (followed_by_digit && n == 1 && (*p == 'a' || *p == 'b' || *p == 'm'))
		v->n[i].q = *p == 'a' ? 0 : *p == 'b' ? 1 : 2;
	else if (is(p, n, "alpha"))
		v->n[i].q = 0;
	else if (is(p, n, "beta"))
		v->n[i].q = 1;
	else if (is(p, n, "milestone"))
		v->n[i].q = 2;
	else if (is(p, n, "rc") || is(p, n, "cr"))
		v->n[i].q = 3;
	else if (is(p, n, "snapshot"))
		v->n[i].q = 4;
	else if (n == 0 || is(p, n, "ga") || is(p, n, "final") || is(p, n, "release"))
		v->n[i].q = Q_RELEASE;
	else if (is(p, n, "sp"))
		v->n[i].q = 6;
	else
		v->n[i].q = Q_UNKNOWN;
	return i;
}

static int int_is_zero(const struct mver *v, short i)
{
	return v->n[i].len == 0 || (v->n[i].len == 1 && v->lower[v->n[i].off] == '0');
}

/* ComparableVersion's Item.isNull(). The empty component of "1..0" or "1-.x"
 * is the IntItem ZERO (len 0 here), so it is null like any other 0: "1..0"
 * normalises to [1] exactly as "1.0.0" does. */
static int is_null(const struct mver *v, short i)
{
	const struct mnode *m = &v->n[i];

	if (m->type == T_INT)
		return int_is_zero(v, i);
	if (m->type == T_STR)
		return m->q == Q_RELEASE;
	return m->first < 0;
}

static void parse(struct mver *v, const char *s, size_t len)
{
	size_t i, start = 0;
	short root, cur;
	int digit = 0;

	for (i = 0; i < len; i++)
		v->lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	v->nn = v->nlists = 0;
	root = cur = node(v, T_LIST);
	v->lists[v->nlists++] = root;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)v->lower[i];

		if (c == '.' || c == '-') {
			short it;

			if (i == start) {
				it = node(v, T_INT);
				v->n[it].off = (unsigned short)i; /* any '0' works: use a literal */
				v->n[it].len = 0;
			} else {
				it = item(v, digit, start, i, 0);
			}
			add(v, cur, it);
			start = i + 1;
			if (c == '-')
				cur = new_list(v, cur);
		} else if (is_digit(c)) {
			if (!digit && i > start) {
				add(v, cur, item(v, 0, start, i, 1));
				start = i;
				cur = new_list(v, cur);
			}
			digit = 1;
		} else {
			if (digit && i > start) {
				add(v, cur, item(v, 1, start, i, 0));
				start = i;
				cur = new_list(v, cur);
			}
			digit = 0;
		}
	}
	if (len > start)
		add(v, cur, item(v, digit, start, len, 0));
	/* normalise innermost lists first, as ComparableVersion pops its stack */
	for (i = v->nlists; i-- > 0;) {
		short l = v->lists[i], k = v->n[l].last;

		while (k >= 0) {
			short p = v->n[k].prev;

			if (is_null(v, k)) {
				if (p >= 0)
					v->n[p].next = v->n[k].next;
				else
					v->n[l].first = v->n[k].next;
				if (v->n[k].next >= 0)
					v->n[v->n[k].next].prev = p;
				else
					v->n[l].last = p;
			} else if (v->n[k].type != T_LIST) {
				break;
			}
			k = p;
		}
	}
}

static int cmp_item(const struct mver *x, short a, const struct mver *y, short b);

/* a compared with null (a missing item) */
static int cmp_null(const struct mver *x, short a)
{
	const struct mnode *m = &x->n[a];

	if (m->type == T_INT)
		return int_is_zero(x, a) ? 0 : 1;
	if (m->type == T_STR)
		return m->q < Q_RELEASE ? -1 : m->q > Q_RELEASE;
	/* The whole list, not only its first item (MNG-6964): with
	 * the first item alone "1-0.de" == "1" == "1-0.ab" while "1-0.de" >
	 * "1-0.ab", and equal versions would not be interchangeable. */
	for (a = m->first; a >= 0; a = x->n[a].next) {
		int c = cmp_null(x, a);

		if (c != 0)
			return c;
	}
	return 0;
}

static int cmp_item(const struct mver *x, short a, const struct mver *y, short b)
{
	const struct mnode *m = &x->n[a], *o = &y->n[b];

	switch (m->type) {
	case T_INT:
		if (o->type != T_INT)
			return 1;
		return cs_vercmp_digits(int_is_zero(x, a) ? "0" : x->lower + m->off, int_is_zero(x, a) ? 1 : m->len,
					int_is_zero(y, b) ? "0" : y->lower + o->off, int_is_zero(y, b) ? 1 : o->len);
	case T_STR:
		if (o->type != T_STR)
			return -1;
		if (m->q != o->q)
			return m->q < o->q ? -1 : 1;
		if (m->q == Q_UNKNOWN) {
			size_t k = m->len < o->len ? m->len : o->len;
			int c = k ? memcmp(x->lower + m->off, y->lower + o->off, k) : 0;

			if (c != 0)
				return c < 0 ? -1 : 1;
			return m->len == o->len ? 0 : m->len < o->len ? -1 : 1;
		}
		return 0;
	default:
		if (o->type == T_INT)
			return -1;
		if (o->type == T_STR)
			return 1;
		{
			short l = m->first, r = o->first;

			while (l >= 0 || r >= 0) {
				int c = l < 0 ? -cmp_null(y, r) : r < 0 ? cmp_null(x, l) : cmp_item(x, l, y, r);

				if (c != 0)
					return c;
				if (l >= 0)
					l = x->n[l].next;
				if (r >= 0)
					r = y->n[r].next;
			}
			return 0;
		}
	}
}

int cs_vercmp_maven(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	static __thread struct mver x, y; /* large tables: kept off the stack */
	size_t i;

	if (alen == 0)
		return cs_vercmp_bad(CS_VERSCHEME_MAVEN, a, alen, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT))
		for (i = 0; i < alen; i++)
			if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] == 0x7f)
				return cs_vercmp_bad(CS_VERSCHEME_MAVEN, a, alen, "blank or control character");
	if (out == NULL)
		return 0;
	if (blen == 0)
		return cs_vercmp_bad(CS_VERSCHEME_MAVEN, b, blen, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT))
		for (i = 0; i < blen; i++)
			if ((unsigned char)b[i] <= 0x20 || (unsigned char)b[i] == 0x7f)
				return cs_vercmp_bad(CS_VERSCHEME_MAVEN, b, blen, "blank or control character");
	parse(&x, a, alen);
	parse(&y, b, blen);
	*out = cmp_item(&x, 0, &y, 0);
	return 0;
}
