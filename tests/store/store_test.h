/*
 * store_test.h - helpers the store tests share: a scratch directory, digests,
 * and results built the way the service will hand them to the store.
 */
#ifndef CS_TESTS_STORE_TEST_H
#define CS_TESTS_STORE_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/store/store.h"
#include "tests/harness.h"

static __attribute__((unused)) char st_dir[256];

/* A fresh scratch directory; exits 1 when none can be made. */
static __attribute__((unused)) const char *st_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(st_dir, sizeof(st_dir), "%s/cs-store-XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(st_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return st_dir;
}

/* Removes the scratch directory's files (one level) and the directory. */
static __attribute__((unused)) void st_cleanup(void)
{
	DIR *d = opendir(st_dir);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", st_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(st_dir);
}

static __attribute__((unused)) void st_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", st_dir, name);
}

/* "sha256:" followed by 64 hex digits made from n. */
static __attribute__((unused)) void st_digest(char out[72], unsigned long long n)
{
	snprintf(out, 72, "sha256:%064llx", n);
}

/* A finding as the report writer emits it. */
static __attribute__((unused)) json_t *st_finding(const char *id, const char *alias, const char *pkg, const char *sev,
			  int fixed)
{
	json_t *f = json_pack("{s:s, s:[], s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:o}",
			      "id", id, "aliases", "package", "name", pkg, "version", "1.0-1",
			      "kind", "dpkg", "ecosystem", "Debian:12", "severity", sev,
			      "fix_state", fixed ? "fixed" : "not-fixed",
			      "fixed_version", fixed ? json_string("1.0-2") : json_null());

	if (alias != NULL)
		json_array_append_new(json_object_get(f, "aliases"), json_string(alias));
	return f;
}

/* Report text with a verdict and the given findings (reference stolen). */
static __attribute__((unused)) char *st_report(const char *verdict, json_t *findings)
{
	json_t *r = json_pack("{s:s, s:s, s:o}", "schema", "cellscan-report/1", "verdict", verdict,
			      "findings", findings != NULL ? findings : json_array());
	char *t = json_dumps(r, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(r);
	return t;
}

static __attribute__((unused)) json_t *st_image(const char *digest, const char *repository, const char *tag,
			const char *db_digest)
{
	char ref[4200];

	snprintf(ref, sizeof(ref), "%s:%s", repository, tag);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "digest", digest, "repository", repository,
			 "ref", ref, "platform", "linux/amd64", "db_digest", db_digest);
}

static __attribute__((unused)) json_t *st_inventory(void)
{
	return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "schema", "cellscan-inventory/1",
			 "packages", "kind", "dpkg", "name", "openssl", "version", "3.0.11-1");
}

#define CHECK_OK(expr) do { \
	int st_r_ = (expr); \
	if (st_r_ != 0) \
		fprintf(stderr, "%s:%d: %s -> %d %s\n", __FILE__, __LINE__, #expr, st_r_, \
			cs_err_msg()); \
	CHECK(st_r_ == 0); \
} while (0)

#endif
