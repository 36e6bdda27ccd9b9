/*
 * limits_fuzz.c - cs_limits_parse() on the input as a string, and the
 * round trip: a spec that parses formats back into one that parses to the
 * same limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_SPEC_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_limits a, b;
	char *spec, out[1024];
	int r;

	if (size > FUZZ_SPEC_MAX)
		return 0;
	spec = malloc(size + 1);
	if (spec == NULL)
		abort();
	memcpy(spec, data, size);
	spec[size] = '\0';
	cs_limits_default(&a);
	r = cs_limits_parse(&a, spec);
	FUZZ_ASSERT(r <= 0);
	if (r == 0) {
		FUZZ_ASSERT(cs_limits_format(&a, out, sizeof(out)) == 0);
		FUZZ_ASSERT(memchr(out, '\0', sizeof(out)) != NULL);
		cs_limits_default(&b);
		/* zero b first so that a field the spec misses shows up */
		memset(&b, 0, sizeof(b));
		FUZZ_ASSERT(cs_limits_parse(&b, out) == 0);
		FUZZ_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	}
	free(spec);
	return 0;
}
