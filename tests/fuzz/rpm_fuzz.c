/*
 * rpm_fuzz.c - cs_rpm_parse(): BerkeleyDB hash, SQLite and NDB databases,
 * detected from the bytes. rpm.h makes no UTF-8 promise (the worker repairs
 * strings when it builds records), so strings are only walked to their NUL.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"
#include "worker/analyzers/rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "var/lib/rpm/Packages";
	struct cs_fuzz_emit e;
	int r;

	cs_fuzz_emit_init(&e, path, 0);
	r = cs_rpm_parse(&e.emit, path, data, size);
	FUZZ_ASSERT(r == 0);
	FUZZ_ASSERT(e.os == 0);
	return 0;
}
