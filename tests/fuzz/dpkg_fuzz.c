/*
 * dpkg_fuzz.c - cs_dpkg_parse() with the status rules and with the
 * status.d (distroless) rules. dpkg.h promises clean identity fields and a
 * repaired Maintainer; Status and Multi-Arch are passed "as written".
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"
#include "worker/analyzers/dpkg.h"

static const char *const paths[] = {
	"var/lib/dpkg/status",
	"var/lib/dpkg/status.d/base",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cs_fuzz_emit e;
		int r;

		cs_fuzz_emit_init(&e, paths[i], CS_FUZZ_UTF8_IDENTITY);
		r = cs_dpkg_parse(&e.emit, paths[i], data, size);
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(e.os == 0);
		/* A package needs at least "Package:x\nVersion:y" (18 bytes). */
		FUZZ_ASSERT(e.packages <= size / 18 + 1);
	}
	return 0;
}
