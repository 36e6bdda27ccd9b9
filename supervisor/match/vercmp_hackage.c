/*
 * vercmp_hackage.c - Haskell package versions (Hackage, GHC).
 *
 * Strict: the package-version grammar of Cabal (Distribution.Types.Version,
 * what Hackage accepts): numbers separated by '.', each "0" or without a
 * leading zero and at most 9 digits long. Tags ("1.0-rc1") are refused:
 * Cabal only warns about them and drops them, Hackage does not take them.
 *
 * Lenient: Data.Version's parseVersion grammar: numbers of any length, with
 * leading zeros, separated by '.', then any number of "-tag" (ASCII letters
 * and digits), which are ignored as both Data.Version's Ord and Cabal do.
 *
 * Order (Data.Version): the numeric branches compared as lists of integers,
 * lexicographically, so a proper prefix is less: 1.0 < 1.0.0 < 1.1.
 */
#include "supervisor/match/vercmp.h"

#include "common/errors.h"

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}
static int is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Validates v and sets *branch to the length of its numeric branch. */
static int check(const char *v, size_t len, unsigned flags, size_t *branch)
{
	size_t i = 0;
	int strict = !(flags & CS_VERCMP_LENIENT);

	if (len == 0)
		return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len, "version is empty");
	for (;;) {
		size_t st = i;

		while (i < len && is_digit((unsigned char)v[i]))
			i++;
		if (i == st)
			return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
					     "expected non-negative integers separated by '.'");
		if (strict && i - st > 1 && v[st] == '0')
			return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
					     "version number part with a leading zero");
		if (strict && i - st > 9)
			return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
					     "more than 9 digits in a version number part");
		if (i < len && v[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	*branch = i;
	if (i < len && v[i] == '-' && strict)
		return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
				     "version tags (\"-tag\") are not allowed in package versions");
	while (i < len && v[i] == '-') {
		size_t st = ++i;

		while (i < len && is_alnum((unsigned char)v[i]))
			i++;
		if (i == st)
			return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
					     "a version tag needs letters or digits after '-'");
	}
	if (i != len)
		return cs_vercmp_bad(CS_VERSCHEME_HACKAGE, v, len,
				     "expected non-negative integers separated by '.'");
	return 0;
}


int cs_vercmp_hackage(int *out, const char *a, size_t alen, const char *b, size_t blen,
		      unsigned flags)
{
	size_t ab = 0, bb = 0;
	int r;

	if ((r = check(a, alen, flags, &ab)) != 0)
		return r;
	if (out == NULL)
		return 0;
	if ((r = check(b, blen, flags, &bb)) != 0)
		return r;
	*out = cs_vercmp_numlist(a, ab, b, bb);
	return 0;
}
