/*
 * Matching throughput: 10,000 packages of a Debian 12 image against a
 * vulnerability database (the synthetic 200,000-record set), through the
 * same cs_scan_match the scanner uses. Baseline in the same run: only the
 * database look-ups those packages need, with a callback that does nothing.
 *
 *   match_bench DB [N_PACKAGES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/scan/scan.h"
#include "supervisor/vulndb/vulndb.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int noop(void *ctx, json_t *rec)
{
	(*(size_t *)ctx)++;
	(void)rec;
	return 0;
}

int main(int argc, char **argv)
{
	struct cs_vulndb *db;
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10000, i, k;
	json_t *inv, *pkgs, *out = NULL;
	double t[5], b[5];
	size_t findings = 0, hits = 0;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: match_bench DB [N]\n");
		return 2;
	}
	if (cs_vulndb_open(&db, argv[1], 1) != 0) {
		fprintf(stderr, "%s\n", cs_err_msg());
		return 1;
	}
	/* half the names exist in the synthetic data, half do not */
	srand(42);
	pkgs = json_array();
	for (i = 0; i < n; i++) {
		char name[64], ver[64];
		if (i % 2 == 0)
			snprintf(name, sizeof(name), "synthetic-pkg-%d", (i / 2) % 5000);
		else
			snprintf(name, sizeof(name), "lib-none-%d", i);
		snprintf(ver, sizeof(ver), "%d.%d.%d-%d+deb12u%d", rand() % 9 + 1, rand() % 20,
			 rand() % 9, rand() % 5 + 1, rand() % 4 + 1);
		json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
						      "dpkg", "name", name, "version", ver, "arch", "amd64",
						      "source_name", name, "source_version", ver,
						      "db", "var/lib/dpkg/status"));
	}
	inv = json_pack("{s:{s:s, s:s}, s:o}", "os", "id", "debian", "version_id", "12",
			"packages", pkgs);
	for (k = 0; k < 5; k++) {
		double s = now();
		if (cs_scan_match(&out, inv, db) != 0) {
			fprintf(stderr, "match: %s\n", cs_err_msg());
			return 1;
		}
		t[k] = now() - s;
		findings = json_array_size(json_object_get(out, "findings"));
		json_decref(out);
	}
	for (k = 0; k < 5; k++) {
		double s = now();
		hits = 0;
		for (i = 0; i < n; i++)
			cs_vulndb_lookup(db, "Debian:12",
					 json_string_value(json_object_get(json_array_get(pkgs, (size_t)i),
									   "source_name")), noop, &hits);
		b[k] = now() - s;
	}
	qsort(t, 5, sizeof(double), cmp);
	qsort(b, 5, sizeof(double), cmp);
	printf("| what | median of 5 | min |\n|---|---|---|\n");
	printf("| cs_scan_match, %d packages -> %zu findings | %.1f ms | %.1f ms |\n", n, findings,
	       t[2] * 1e3, t[0] * 1e3);
	printf("| baseline: the %d database look-ups alone (%zu records) | %.1f ms | %.1f ms |\n", n,
	       hits, b[2] * 1e3, b[0] * 1e3);
	json_decref(inv);
	cs_vulndb_close(db);
	return 0;
}
