/*
 * vdb_test.h - helpers shared by the tests/vulndb/test_*.c programs (each
 * test is one .c file, so the helpers are static and header-only).
 */
#ifndef CS_TESTS_VULNDB_VDB_TEST_H
#define CS_TESTS_VULNDB_VDB_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"

#define VT_UNUSED __attribute__((unused))

/* A fresh directory under $TMPDIR (or /tmp); exits on failure. */
static VT_UNUSED void vt_tmpdir(char *out, size_t n, const char *tag)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, n, "%s/cs-vulndb-%s-XXXXXX", t != NULL && t[0] ? t : "/tmp", tag);
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static int vt_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static VT_UNUSED void vt_rm_rf(const char *dir)
{
	nftw(dir, vt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static VT_UNUSED int vt_write(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	ok &= fclose(f) == 0;
	return ok ? 0 : -1;
}

/* Runs argv (PATH searched), stdout/stderr to /dev/null unless verbose;
 * returns the exit status, or -1 when it could not run or was signalled. */
static VT_UNUSED int vt_run(char *const argv[], int verbose)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!verbose) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Files in dir whose name contains needle. */
static VT_UNUSED int vt_count_names(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, needle) != NULL;
	closedir(d);
	return n;
}

/* The digest a database was published with ("" when it cannot be opened). */
static VT_UNUSED void vt_digest(const char *db, char *out, size_t n)
{
	struct cs_vulndb *h = NULL;

	out[0] = '\0';
	if (cs_vulndb_open(&h, db, 1) != 0)
		return;
	snprintf(out, n, "%s", cs_vulndb_digest(h));
	cs_vulndb_close(h);
}

/* A zip writer: vt_zip_open, vt_zip_add..., vt_zip_close. */
static VT_UNUSED struct archive *vt_zip_open(const char *path)
{
	struct archive *a = archive_write_new();

	if (a == NULL || archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		fprintf(stderr, "zip %s: %s\n", path, a ? archive_error_string(a) : "?");
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static VT_UNUSED int vt_zip_add(struct archive *a, const char *name, const void *p, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	ok = archive_write_header(a, e) == ARCHIVE_OK &&
	     (n == 0 || archive_write_data(a, p, n) == (la_ssize_t)n);
	archive_entry_free(e);
	return ok ? 0 : -1;
}

static VT_UNUSED int vt_zip_close(struct archive *a)
{
	int r = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;

	archive_write_free(a);
	return r;
}

/* Adds every *.json file under dir (recursively) to the zip, flattened to
 * its base name as OSV's all.zip does. Returns the count or -1. */
static VT_UNUSED int vt_zip_dir(struct archive *a, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			int k = vt_zip_dir(a, p);

			if (k < 0) {
				closedir(d);
				return -1;
			}
			n += k;
		} else if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
			size_t len;
			uint8_t *data = cs_test_read_file(p, &len);

			if (data == NULL || vt_zip_add(a, de->d_name, data, len) != 0) {
				free(data);
				closedir(d);
				return -1;
			}
			free(data);
			n++;
		}
	}
	closedir(d);
	return n;
}

#endif
