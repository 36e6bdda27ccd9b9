/*
 * rpm_header_fuzz.c - cs_rpm_header_parse() on one header blob as the
 * databases store it (entry count, data length, index, data store).
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"
#include "worker/analyzers/rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "var/lib/rpm/rpmdb.sqlite";
	struct cs_fuzz_emit e;
	int r;

	cs_fuzz_emit_init(&e, path, 0);
	r = cs_rpm_header_parse(&e.emit, path, data, size);
	FUZZ_ASSERT(r == 0);
	FUZZ_ASSERT(e.os == 0);
	FUZZ_ASSERT(e.packages <= 1);
	/* Exactly one outcome: the package, or a warning saying why not. */
	FUZZ_ASSERT(e.packages == 1 || e.warnings >= 1);
	return 0;
}
