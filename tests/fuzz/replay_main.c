/*
 * replay_main.c - runs a fuzz harness without libFuzzer: every file of the
 * corpus directories (or single files) given on the command line, in name
 * order, then a few generated edge inputs (empty, each single byte 0x00,
 * 0x0a, 0x7f, 0xff, all-0xff and all-0x00 blocks). Each input sits in a
 * malloc'd buffer of exactly its size, as libFuzzer gives it, so ASan sees
 * any read past the end. A crash or failed property aborts; otherwise the
 * exit status is 0, or 1 when a directory is missing, unreadable or empty
 * (a replay of nothing must not pass).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_util.h"

/* libFuzzer's default -max_len is 4 KiB; committed inputs stay far below
 * this, which only guards against a stray huge file. */
#define REPLAY_FILE_MAX (16u << 20)

static int run_bytes(const uint8_t *src, size_t n)
{
	/* malloc(0) may return NULL; libFuzzer passes a valid pointer. */
	uint8_t *copy = malloc(n ? n : 1);

	if (copy == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	if (n)
		memcpy(copy, src, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;
	int r = -1;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *nb;

			if (cap >= REPLAY_FILE_MAX) {
				fprintf(stderr, "replay: %s: larger than %u bytes\n", path,
					REPLAY_FILE_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto out;
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	r = run_bytes(buf, len);
out:
	free(buf);
	fclose(f);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (not recursing); returns how many, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	long done = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL) {
				done = -1;
				goto out;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			done = -1;
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		struct stat st;
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (w < 0 || (size_t)w >= sizeof(path)) {
			fprintf(stderr, "replay: path too long under %s\n", dir);
			done = -1;
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) != 0) {
			done = -1;
			goto out;
		}
		done++;
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return done;
}

static int run_edges(void)
{
	static const uint8_t singles[] = { 0x00, 0x0a, 0x7f, 0xff };
	static const size_t sizes[] = { 2, 4, 16, 64, 4096 };
	uint8_t *block;
	size_t i;

	if (run_bytes(NULL, 0) != 0)
		return -1;
	for (i = 0; i < sizeof(singles); i++)
		if (run_bytes(&singles[i], 1) != 0)
			return -1;
	block = malloc(sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	if (block == NULL)
		return -1;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(block, 0xff, sizes[i]);
		if (run_bytes(block, sizes[i]) != 0)
			goto fail;
		memset(block, 0x00, sizes[i]);
		if (run_bytes(block, sizes[i]) != 0)
			goto fail;
	}
	free(block);
	return 0;
fail:
	free(block);
	return -1;
}

int main(int argc, char **argv)
{
	long total = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			n = run_dir(argv[i]);
			if (n == 0)
				fprintf(stderr, "replay: %s holds no inputs\n", argv[i]);
			if (n <= 0)
				return 1;
		} else {
			if (run_file(argv[i]) != 0)
				return 1;
			n = 1;
		}
		printf("replay: %s: %ld inputs\n", argv[i], n);
		total += n;
	}
	if (run_edges() != 0)
		return 1;
	printf("replay: %ld corpus inputs and the edge inputs ran cleanly\n", total);
	if (cs_fuzz_total_os + cs_fuzz_total_packages + cs_fuzz_total_warnings > 0)
		printf("replay: analyzer records: %lu os, %lu packages, %lu warnings\n",
		       cs_fuzz_total_os, cs_fuzz_total_packages, cs_fuzz_total_warnings);
	return 0;
}
