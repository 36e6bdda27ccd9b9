#include "tests/harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cs_test_failures;
int cs_test_checks;

const char *cs_test_shared(void)
{
	const char *d = getenv("CS_SHARED_DIR");
	char p[4096];
	struct stat st;

	if (d == NULL || d[0] == '\0')
		d = "../shared";
	snprintf(p, sizeof(p), "%s/fixtures", d);
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("SKIP: shared fixtures not found at %s (set CS_SHARED_DIR)\n", p);
		exit(77);
	}
	return d;
}

const char *cs_test_source_dir(void)
{
	const char *d = getenv("CS_SOURCE_DIR");

	return d != NULL ? d : ".";
}

uint8_t *cs_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			uint8_t *nb;
			cap = cap ? cap * 2 : 131072;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, 65536, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int cs_test_done(void)
{
	if (cs_test_checks == 0) {
		fprintf(stderr, "FAIL: no check ran\n");
		return 1;
	}
	printf("%d checks, %d failed\n", cs_test_checks, cs_test_failures);
	return cs_test_failures ? 1 : 0;
}
