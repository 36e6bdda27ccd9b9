/*
 * os_release_fuzz.c - cs_os_release_parse() on every file name it knows, so
 * a seed is read as os-release, alpine-release, debian_version and the
 * redhat-release family alike. os_release.h promises identity fields in
 * valid UTF-8 and a repaired PRETTY_NAME, so every string is checked.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"
#include "worker/analyzers/os_release.h"

static const char *const paths[] = {
	"etc/os-release",
	"usr/lib/os-release",
	"etc/alpine-release",
	"etc/debian_version",
	"etc/redhat-release",
	"etc/centos-release",
	"etc/system-release",
	"some/unknown-file",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cs_fuzz_emit e;
		int r;

		cs_fuzz_emit_init(&e, paths[i], CS_FUZZ_UTF8_ALL);
		r = cs_os_release_parse(&e.emit, paths[i], data, size);
		/* Callbacks never fail here, so only ENOMEM could be returned. */
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(e.os <= 1);
		FUZZ_ASSERT(e.packages == 0);
	}
	return 0;
}
