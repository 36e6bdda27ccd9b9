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
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

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

static int special(const char *form)
{
	static const struct {
		const char *name;
		int order;
	} forms[] = {{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2}, {"RC", 3},
		     {"rc", 3},  {"#", 4},     {"pl", 5}, {"p", 5}};
	size_t k;

	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++)
		if (strncmp(form, forms[k].name, strlen(forms[k].name)) == 0)
			return forms[k].order;
	return -1;
}

static int cmp_special(const char *a, const char *b)
{
	int x = special(a), y = special(b);

	return x < y ? -1 : x > y;
}

/* php_version_compare(rest, "#N#") where rest is already canonical: the tail
 * recursion of PHP's function, unrolled. */
static int rest_vs_number(char *p)
{
	for (;;) {
		char *n;
		int c;

		if (*p == '\0')
			return -1;
		n = strchr(p, '.');
		if (n != NULL)
			*n = '\0';
		c = is_digit((unsigned char)*p) ? 0 : cmp_special(p, "#N#");
		if (c != 0 || n == NULL)
			return c;
		p = n + 1;
		if (is_digit((unsigned char)*p))
			return 1;
	}
}

static int php_version_compare(char *v1, char *v2)
{
	char *p1 = v1, *p2 = v2, *n1 = v1, *n2 = v2;
	int compare = 0;

	if (!*v1 || !*v2)
		return !*v1 && !*v2 ? 0 : *v1 ? 1 : -1;
	while (*p1 && *p2 && n1 && n2) {
		if ((n1 = strchr(p1, '.')) != NULL)
			*n1 = '\0';
		if ((n2 = strchr(p2, '.')) != NULL)
			*n2 = '\0';
		if (is_digit((unsigned char)*p1) && is_digit((unsigned char)*p2)) {
			compare = cs_vercmp_digits(p1, strspn(p1, "0123456789"), p2,
						   strspn(p2, "0123456789"));
		} else if (!is_digit((unsigned char)*p1) && !is_digit((unsigned char)*p2)) {
			compare = cmp_special(p1, p2);
		} else if (is_digit((unsigned char)*p1)) {
			compare = cmp_special("#N#", p2);
		} else {
			compare = cmp_special(p1, "#N#");
		}
		if (compare != 0)
			break;
		if (n1 != NULL)
			p1 = n1 + 1;
		if (n2 != NULL)
			p2 = n2 + 1;
	}
	if (compare == 0) {
		if (n1 != NULL)
			compare = is_digit((unsigned char)*p1) ? 1 : rest_vs_number(p1);
		else if (n2 != NULL)
			compare = is_digit((unsigned char)*p2) ? -1 : -rest_vs_number(p2);
	}
	return compare;
}

static int prepare(char *dst, const char *v, size_t len, unsigned flags)
{
	size_t i = 0, k;

	while (i < len && (v[i] == 'v' || v[i] == 'V'))
		i++;
	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len, "version is empty");
	if (!(flags & CS_VERCMP_LENIENT)) {
		for (k = 0; k < len; k++)
			if ((unsigned char)v[k] <= 0x20 || (unsigned char)v[k] >= 0x7f)
				return cs_vercmp_bad(CS_VERSCHEME_PACKAGIST, v, len,
						     "only printable ASCII without spaces is allowed");
	}
	if (i < len && v[i] == '#') {
		memcpy(dst, v + i, len - i);
		dst[len - i] = '\0';
	} else {
		canonicalize(dst, v + i, len - i);
	}
	return 0;
}

int cs_vercmp_packagist(int *out, const char *a, size_t alen, const char *b, size_t blen,
			unsigned flags)
{
	char x[2 * CS_VERCMP_MAX + 2], y[2 * CS_VERCMP_MAX + 2];
	int r;

	if ((r = prepare(x, a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = prepare(y, b, blen, flags)) != 0)
		return r;
	*out = php_version_compare(x, y);
	return 0;
}
