/*
 * path_fuzz.c - cs_path_normalize() and cs_path_link_escapes().
 *
 * Input: an archive entry name, then optionally a NUL byte and a link
 * target. Properties checked:
 *   - a normalised name is "a/b/c": no leading or trailing '/', no empty,
 *     "." or ".." components, and normalising it again changes nothing;
 *   - a link whose target has no ".." component never escapes, and an
 *     absolute target never escapes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/path.h"
#include "tests/fuzz/fuzz_util.h"

static void check_normal(const char *s)
{
	const char *p = s;
	size_t n = strlen(s);

	if (n == 0)
		return;
	FUZZ_ASSERT(s[0] != '/' && s[n - 1] != '/');
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		FUZZ_ASSERT(len > 0);
		FUZZ_ASSERT(!(len == 1 && p[0] == '.'));
		FUZZ_ASSERT(!(len == 2 && p[0] == '.' && p[1] == '.'));
		p += len;
		if (*p == '/')
			p++;
	}
}

static int has_dotdot(const char *s)
{
	const char *p = s;

	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char norm[CS_PATH_MAX + 1], again[CS_PATH_MAX + 1];
	const uint8_t *nul = memchr(data, '\0', size);
	size_t nlen = nul ? (size_t)(nul - data) : size;
	char *name, *target = NULL;
	int flags = 0, flags2 = 0, r;

	/* The name as the tar reader hands it over: bytes with a length. */
	name = malloc(nlen + 1);
	if (name == NULL)
		abort();
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	r = cs_path_normalize(norm, sizeof(norm), name, nlen, &flags);
	FUZZ_ASSERT(r <= 0);
	if (r == 0) {
		check_normal(norm);
		FUZZ_ASSERT(cs_path_base(norm) <= strlen(norm));
		FUZZ_ASSERT(cs_path_normalize(again, sizeof(again), norm, strlen(norm), &flags2) == 0);
		FUZZ_ASSERT(strcmp(norm, again) == 0);
		FUZZ_ASSERT(flags2 == 0);
		FUZZ_ASSERT(((flags & CS_PATH_ABSOLUTE) != 0) == (nlen > 0 && name[0] == '/'));
	}
	if (nul != NULL) {
		size_t tlen = size - nlen - 1;
		int esc;

		target = malloc(tlen + 1);
		if (target == NULL)
			abort();
		memcpy(target, nul + 1, tlen);
		target[tlen] = '\0';
		esc = cs_path_link_escapes(r == 0 ? norm : "", target);
		FUZZ_ASSERT(esc == 0 || esc == 1);
		if (target[0] == '/' || !has_dotdot(target))
			FUZZ_ASSERT(esc == 0);
		/* From the image root, any ".." that is not cancelled escapes. */
		if (strcmp(target, "..") == 0)
			FUZZ_ASSERT(cs_path_link_escapes("a", target) == 1);
	}
	free(target);
	free(name);
	return 0;
}
