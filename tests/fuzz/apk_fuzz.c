/*
 * apk_fuzz.c - cs_apk_parse() on lib/apk/db/installed. apk.h promises
 * clean name/version/arch, repaired origin/license/maintainer and file
 * paths that are clean UTF-8, so every string is checked.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"
#include "worker/analyzers/apk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "lib/apk/db/installed";
	struct cs_fuzz_emit e;
	int r;

	cs_fuzz_emit_init(&e, path, CS_FUZZ_UTF8_ALL);
	r = cs_apk_parse(&e.emit, path, data, size);
	FUZZ_ASSERT(r == 0);
	FUZZ_ASSERT(e.os == 0);
	/* A package needs "P:x\nV:y" (7 bytes); an R: line names one file. */
	FUZZ_ASSERT(e.packages <= size / 7 + 1);
	FUZZ_ASSERT(e.files <= size / 2 + 1);
	return 0;
}
