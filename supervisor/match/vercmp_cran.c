/*
 * vercmp_cran.c - R's package_version (CRAN, Bioconductor).
 *
 * Strict: what package_version() accepts, ^([0-9]+[.-]){1,}[0-9]+$: at least
 * two non-negative integers separated by '.' or '-' (the two separators
 * weigh the same), each within R's integer range: as.integer() turns a
 * larger component into NA, and R cannot order a version holding NA.
 *
 * Lenient: numeric_version()'s grammar, ^([0-9]+[.-])*[0-9]+$: a single
 * component is enough, and components of any size compare exactly. Nothing
 * else: R itself has no order for other strings.
 *
 * Order (Ops.numeric_version): component by component as integers (leading
 * zeros ignored); when one version is a prefix of the other the shorter one
 * is less, so 1.0 < 1.0.0 and 1.0-1 == 1.0.1.
 */
#include "supervisor/match/vercmp.h"

#include "common/errors.h"

/* .Machine$integer.max */
#define R_INT_MAX "2147483647"

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int check(const char *v, size_t len, unsigned flags)
{
	size_t i = 0, n = 0;
	int strict = !(flags & CS_VERCMP_LENIENT);

	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_CRAN, v, len, "version is empty");
	for (;;) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)v[i]))
			i++;
		if (i == st)
			return cs_vercmp_bad(
				CS_VERSCHEME_CRAN, v, len,
				"expected non-negative integers separated by '.' or '-'");
		n++;
		if (strict &&
		    cs_vercmp_digits(v + st, i - st, R_INT_MAX, sizeof(R_INT_MAX) - 1) > 0)
			return cs_vercmp_bad(CS_VERSCHEME_CRAN, v, len,
					     "component above R's integer maximum 2147483647");
		if (i == len)
			break;
		if (v[i] != '.' && v[i] != '-')
			return cs_vercmp_bad(
				CS_VERSCHEME_CRAN, v, len,
				"expected non-negative integers separated by '.' or '-'");
		i++;
	}
	if (strict && n < 2)
		return cs_vercmp_bad(CS_VERSCHEME_CRAN, v, len,
				     "a package version has at least two components (major.minor)");
	return 0;
}


int cs_vercmp_cran(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	int r;

	if ((r = check(a, alen, flags)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = check(b, blen, flags)) != 0)
		return r;
	*out = cs_vercmp_numlist(a, alen, b, blen);
	return 0;
}
