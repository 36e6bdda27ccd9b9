/*
 * cvss_fuzz.c - cs_cvss_score() on the input as a vector string. A vector
 * that scores has a version of 30, 31 or 40, a score in 0.0..10.0 with one
 * decimal and a known rating; a refused one leaves 0.0 and 0.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "policy/cvss.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double score = -1;
	int version = -1, r;
	char *v;

	if (size > 4 * CS_CVSS_MAX_VECTOR)
		return 0;
	v = malloc(size + 1);
	if (v == NULL)
		abort();
	memcpy(v, data, size);
	v[size] = '\0';
	r = cs_cvss_score(&score, &version, v);
	FUZZ_ASSERT(r <= 0);
	if (r == 0) {
		FUZZ_ASSERT(version == 30 || version == 31 || version == 40);
		FUZZ_ASSERT(score >= 0.0 && score <= 10.0);
		FUZZ_ASSERT(fabs(score * 10 - round(score * 10)) < 1e-6);
		FUZZ_ASSERT(strcmp(cs_cvss_rating(score), "unknown") != 0);
		FUZZ_ASSERT(strlen(v) <= CS_CVSS_MAX_VECTOR);
	} else {
		FUZZ_ASSERT(r == CS_EFORMAT || r == CS_EUNSUPPORTED);
		FUZZ_ASSERT(score == 0.0 && version == 0);
	}
	free(v);
	return 0;
}
