/*
 * vercmp_fuzz.c - cs_vercmp() (strict) and cs_vercmp_flags() (lenient).
 *
 * Input: byte 0 picks the scheme (modulo CS_VERSCHEME_COUNT); the rest is
 * "A\nB" or "A\nB\nC". Properties, in each mode, whenever the calls
 * succeed:
 *   - results are -1, 0 or 1; cmp(a, a) == 0;
 *   - antisymmetry: cmp(a, b) == -cmp(b, a);
 *   - strict mode only, over a, b, c: equal versions compare alike with a
 *     third, and transitivity (not for Maven, see below; lenient orderings
 *     copy tools such as PHP's version_compare that are not transitive on
 *     junk);
 *   - a pair the strict mode orders is ordered the same way leniently
 *     (vercmp.h: lenient only adds strings the strict grammar refuses).
 * The remainder of the input is also tried as an OSV ecosystem name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/match/vercmp.h"
#include "tests/fuzz/fuzz_util.h"

/* Past CS_VERCMP_MAX, so that the length cap is exercised too. */
#define FUZZ_VER_MAX (CS_VERCMP_MAX + 16)

static int cmp(int *out, enum cs_verscheme s, const char *a, const char *b, unsigned flags)
{
	int r;

	*out = 99;
	r = cs_vercmp_flags(out, s, a, b, flags);
	FUZZ_ASSERT(r <= 0);
	if (r == 0)
		FUZZ_ASSERT(*out == -1 || *out == 0 || *out == 1);
	return r;
}

static void pair(enum cs_verscheme s, const char *a, const char *b, unsigned flags)
{
	int ab, ba, aa;

	if (cmp(&ab, s, a, b, flags) == 0 && cmp(&ba, s, b, a, flags) == 0)
		FUZZ_ASSERT(ab == -ba);
	if (cmp(&aa, s, a, a, flags) == 0)
		FUZZ_ASSERT(aa == 0);
}

/* Copies the next '\n'-terminated piece of [*p, end) into a new string. */
static char *piece(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s;

	if (n > FUZZ_VER_MAX)
		n = FUZZ_VER_MAX;
	s = malloc(n + 1);
	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *end = data + size;
	enum cs_verscheme s, s2;
	char *a, *b, *c = NULL;
	int ab, ba, bc, ac, lab;

	if (size < 1)
		return 0;
	s = (enum cs_verscheme)(data[0] % CS_VERSCHEME_COUNT);
	p = data + 1;
	a = piece(&p, end);
	b = piece(&p, end);
	if (p < end)
		c = piece(&p, end);

	(void)cs_verscheme_for_ecosystem(&s2, a);
	FUZZ_ASSERT(cs_verscheme_name(s) != NULL);
	(void)cs_version_valid(s, a);
	(void)cs_version_check(s, a, CS_VERCMP_LENIENT);

	pair(s, a, b, 0);
	pair(s, a, b, CS_VERCMP_LENIENT);
	if (cmp(&ab, s, a, b, 0) == 0) {
		FUZZ_ASSERT(cmp(&lab, s, a, b, CS_VERCMP_LENIENT) == 0);
		FUZZ_ASSERT(lab == ab);
		/* cs_vercmp is the strict mode */
		FUZZ_ASSERT(cs_vercmp(&ba, s, a, b) == 0 && ba == ab);
	}
	if (c != NULL) {
		pair(s, b, c, 0);
		pair(s, a, c, 0);
		if (cmp(&ab, s, a, b, 0) == 0 && cmp(&bc, s, b, c, 0) == 0 &&
		    cmp(&ac, s, a, c, 0) == 0) {
			/* Equal versions are interchangeable (Maven too: equal
			 * versions have equal normalised item lists). */
			if (ab == 0)
				FUZZ_ASSERT(ac == bc);
			/* Maven's ComparableVersion is not transitive when a
			 * string item meets a list item ("1.at" > "1.0" >
			 * "1.0-alpha-1" but "1.at" < "1.0-alpha-1", as Maven
			 * itself orders them), so only the other schemes. */
			if (s != CS_VERSCHEME_MAVEN) {
				if (ab <= 0 && bc <= 0)
					FUZZ_ASSERT(ac <= 0);
				if (ab >= 0 && bc >= 0)
					FUZZ_ASSERT(ac >= 0);
			}
		}
	}
	free(c);
	free(b);
	free(a);
	return 0;
}
