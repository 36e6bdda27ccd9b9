/*
 * test_rpm_libdb.c - BerkeleyDB hash databases written by the real
 * Berkeley DB library (db5.3_load / db_load from Debian's db5.3-util),
 * holding the 129 header blobs of the CBL-Mariner fixture: several page
 * sizes (so many buckets, bucket chains and overflow chains) and both byte
 * orders. The analyzer must list exactly the packages of the fixture's
 * rpm-qa.json, and, when rpm itself is installed, in the order that rpm's
 * own bdb_ro backend lists them.
 *
 * Skipped (77) when no db_load tool is installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "tests/harness.h"
#include "worker/analyzers/rpm.h"

struct got {
	char *list;      /* "name-version-release.arch\n" per package, in order */
	size_t len, cap;
	size_t n, warnings;
};

static void add(struct got *g, const char *s)
{
	size_t l = strlen(s);

	if (g->len + l + 1 > g->cap) {
		g->cap = (g->len + l + 1) * 2;
		g->list = realloc(g->list, g->cap);
		if (g->list == NULL)
			abort();
	}
	memcpy(g->list + g->len, s, l + 1);
	g->len += l;
}

static int on_package(void *ctx, const struct cs_pkg *p)
{
	struct got *g = ctx;
	char line[1024];

	snprintf(line, sizeof(line), "%s-%s.%s\n", p->name, p->version, p->arch ? p->arch : "(none)");
	add(g, line);
	g->n++;
	return 0;
}

static int on_warning(void *ctx, const char *path, const char *msg)
{
	struct got *g = ctx;

	g->warnings++;
	fprintf(stderr, "warning: %s: %s\n", path, msg);
	return 0;
}

/* The first of names found in PATH, into out; 0 when none. */
static int which(const char *const *names, char *out, size_t size)
{
	const char *path = getenv("PATH");
	size_t i;

	if (path == NULL)
		path = "/usr/bin:/bin";
	for (i = 0; names[i] != NULL; i++) {
		const char *p = path;
		while (*p != '\0') {
			const char *q = strchr(p, ':');
			size_t l = q ? (size_t)(q - p) : strlen(p);
			if (l > 0 && (size_t)snprintf(out, size, "%.*s/%s", (int)l, p, names[i]) < size &&
			    access(out, X_OK) == 0)
				return 1;
			p += l + (q != NULL);
		}
	}
	return 0;
}

/* Runs argv with stdin from in (or /dev/null) and stdout to out (or /dev/null); exit status. */
static int run(char *const argv[], const char *in, const char *out)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fi = open(in ? in : "/dev/null", O_RDONLY);
		int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open("/dev/null", O_WRONLY);
		if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* db_load -T input: key and value lines, bytes as \xx. Key 0 is rpm's counter record. */
static int write_dump(const char *sqlite_path, const char *dump)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f = fopen(dump, "w");
	int rows = 0, i, n;

	if (f == NULL)
		return -1;
	if (sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages", -1, &st, NULL) != SQLITE_OK) {
		fclose(f);
		sqlite3_close(db);
		return -1;
	}
	fprintf(f, "\\00\\00\\00\\00\n\\ff\\00\\00\\00\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned h = (unsigned)sqlite3_column_int(st, 0);
		const unsigned char *b = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		fprintf(f, "\\%02x\\%02x\\%02x\\%02x\n", h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, h >> 24);
		for (i = 0; i < n; i++)
			fprintf(f, "\\%02x", b[i]);
		fputc('\n', f);
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return fclose(f) == 0 ? rows : -1;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of s in place (for an order-free comparison). */
static void sort_lines(char *s)
{
	static char *lines[8192];
	char *copy = strdup(s), *p = copy, *o = s;
	size_t n = 0, i, l;

	if (copy == NULL)
		abort();
	while (*p != '\0' && n < sizeof(lines) / sizeof(lines[0])) {
		char *nl = strchr(p, '\n');
		lines[n++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	for (i = 0; i < n; i++) {
		l = strlen(lines[i]);
		memcpy(o, lines[i], l);
		o[l] = '\n';
		o += l + 1;
	}
	*o = '\0';
	free(copy);
}

static char *slurp(const char *path)
{
	size_t len;

	return (char *)cs_test_read_file(path, &len);
}

int main(void)
{
	static const char *const loaders[] = { "db5.3_load", "db_load", NULL };
	static const char *const rpms[] = { "rpm", NULL };
	static const struct { const char *pagesize; const char *lorder; } cfgs[] = {
		{ "db_pagesize=512", "db_lorder=1234" },
		{ "db_pagesize=4096", "db_lorder=1234" },
		{ "db_pagesize=16384", "db_lorder=1234" },
		{ "db_pagesize=1024", "db_lorder=4321" },
		{ "db_pagesize=65536", "db_lorder=4321" },
	};
	const char *shared = cs_test_shared();
	char loader[4096], rpm[4096], fixture[4096], dump[4096], dbdir[4096], dbfile[4096], listing[4096];
	char tmpl[] = "/tmp/cs-rpm-libdb-XXXXXX";
	char *want = NULL, *dir;
	json_t *qa;
	json_error_t jerr;
	size_t i, compared = 0, wlen = 0, wcap = 0;
	int rows, have_rpm;

	if (!which(loaders, loader, sizeof(loader))) {
		printf("SKIP: no db5.3_load/db_load (Debian package db5.3-util) to write BerkeleyDB files\n");
		return 77;
	}
	have_rpm = which(rpms, rpm, sizeof(rpm));
	snprintf(fixture, sizeof(fixture), "%s/fixtures/pkgdb/rpm/go-rpmdb/cbl-mariner-2.0/rpm-qa.json", shared);
	qa = json_load_file(fixture, 0, &jerr);
	CHECK(qa != NULL);
	if (qa == NULL)
		return cs_test_done();
	{
		json_t *o;
		json_array_foreach(json_object_get(qa, "packages"), i, o) {
			char line[1024];
			const char *arch = json_string_value(json_object_get(o, "ARCH"));
			size_t l;

			snprintf(line, sizeof(line), "%s-%s-%s.%s\n",
				 json_string_value(json_object_get(o, "NAME")),
				 json_string_value(json_object_get(o, "VERSION")),
				 json_string_value(json_object_get(o, "RELEASE")), arch ? arch : "(none)");
			l = strlen(line);
			if (wlen + l + 1 > wcap) {
				wcap = (wlen + l + 1) * 2;
				want = realloc(want, wcap);
				if (want == NULL)
					abort();
			}
			memcpy(want + wlen, line, l + 1);
			wlen += l;
		}
	}
	json_decref(qa);
	CHECK(want != NULL && wlen > 0);
	if (want == NULL)
		return cs_test_done();
	sort_lines(want);

	dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (dir == NULL)
		return cs_test_done();
	snprintf(fixture, sizeof(fixture), "%s/fixtures/pkgdb/rpm/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite", shared);
	snprintf(dump, sizeof(dump), "%s/dump.txt", dir);
	rows = write_dump(fixture, dump);
	CHECK(rows == 129);

	for (i = 0; rows > 0 && i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		char *argv[] = { loader, "-T", "-t", "hash", "-c", (char *)cfgs[i].pagesize, "-c",
				 (char *)cfgs[i].lorder, dbfile, NULL };
		struct got g = { 0 };
		struct cs_emit e = { NULL, on_package, on_warning, &g };
		uint8_t *data;
		size_t len;

		snprintf(dbdir, sizeof(dbdir), "%s/db%zu", dir, i);
		snprintf(dbfile, sizeof(dbfile), "%s/Packages", dbdir);
		CHECK(mkdir(dbdir, 0700) == 0);
		CHECK(run(argv, dump, NULL) == 0);
		data = cs_test_read_file(dbfile, &len);
		CHECK(data != NULL);
		if (data == NULL)
			continue;
		CHECK(cs_rpm_parse(&e, "var/lib/rpm/Packages", data, len) == 0);
		CHECK(g.warnings == 0);
		CHECK(g.n == 129);
		printf("%s %s: %zu packages, %zu bytes\n", cfgs[i].pagesize, cfgs[i].lorder, g.n, len);

		if (have_rpm && g.list != NULL) {
			/* rpm's own bdb_ro lists the same packages in the same order */
			char *rargv[] = { rpm, "--dbpath", dbdir, "--define", "_db_backend bdb_ro", "-qa", "--qf",
					  "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n", NULL };
			char *theirs;

			snprintf(listing, sizeof(listing), "%s/rpm-qa.txt", dir);
			CHECK(run(rargv, NULL, listing) == 0);
			theirs = slurp(listing);
			CHECK(theirs != NULL);
			if (theirs != NULL) {
				CHECK(strcmp(theirs, g.list) == 0);
				free(theirs);
			}
			unlink(listing);
		}
		if (g.list != NULL) {
			sort_lines(g.list);
			CHECK(strcmp(g.list, want) == 0);
			compared += g.n;
		}
		free(g.list);
		free(data);
		unlink(dbfile);
		rmdir(dbdir);
	}
	printf("%zu packages compared%s\n", compared, have_rpm ? " (order checked against rpm bdb_ro)" : "");
	CHECK(compared > 0);
	unlink(dump);
	rmdir(dir);
	free(want);
	return cs_test_done();
}
