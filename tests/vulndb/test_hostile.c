/*
 * test_hostile.c - bad input to `db import`: records that break OSV rules
 * or the caps, invalid JSON, huge records, 100,000 ranges, corrupt and
 * truncated zips. Each bad record is skipped with a warning that names it
 * and its reason; a source that cannot be read fails the import and leaves
 * the previous database exactly as it was; memory stays bounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"
#include "tests/vulndb/vdb_test.h"

#define REC_HEAD "{\"id\":\"%s\",\"modified\":\"2024-01-01T00:00:00Z\","

/* name, body, expected reason (-1: valid) */
struct bad {
	const char *name;
	const char *body;
	int why;
};

static const struct bad bads[] = {
	{ "valid.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"left-pad\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.0.0\"}]}]}]}", -1 },
	{ "truncated.json", "{\"id\":\"X-1\",\"modified\":", CS_VULNDB_SKIP_JSON },
	{ "empty.json", "", CS_VULNDB_SKIP_JSON },
	{ "dupkey.json", "{\"id\":\"X-2\",\"id\":\"X-3\",\"modified\":\"2024-01-01T00:00:00Z\"}",
	  CS_VULNDB_SKIP_JSON },
	{ "badutf8.json", "{\"id\":\"X-4\xff\",\"modified\":\"2024-01-01T00:00:00Z\"}",
	  CS_VULNDB_SKIP_JSON },
	{ "array.json", "[1,2,3]", CS_VULNDB_SKIP_SCHEMA },
	{ "noid.json", "{\"modified\":\"2024-01-01T00:00:00Z\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "numid.json", "{\"id\":5,\"modified\":\"2024-01-01T00:00:00Z\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "nomod.json", "{\"id\":\"X-5\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "badmod.json", "{\"id\":\"X-6\",\"modified\":\"yesterday\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "badpub.json", REC_HEAD "\"published\":\"2024-13-01T00:00:00Z\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "aliases.json", REC_HEAD "\"aliases\":\"CVE-1\"}", CS_VULNDB_SKIP_SCHEMA },
	{ "aliasnum.json", REC_HEAD "\"aliases\":[\"CVE-1\",2]}", CS_VULNDB_SKIP_SCHEMA },
	{ "affobj.json", REC_HEAD "\"affected\":{}}", CS_VULNDB_SKIP_SCHEMA },
	{ "noname.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"PyPI\"}}]}",
	  CS_VULNDB_SKIP_SCHEMA },
	{ "noeco.json", REC_HEAD "\"affected\":[{\"package\":{\"name\":\"x\"}}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "rangetype.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVAR\",\"events\":[{\"introduced\":\"0\"}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "twokeys.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]}]}]}",
	  CS_VULNDB_SKIP_SCHEMA },
	{ "nokey.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "nointro.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"fixed\":\"1\"}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "fixlast.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1\"},"
	  "{\"last_affected\":\"0.9\"}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "noevents.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "gitnorepo.json", REC_HEAD "\"affected\":[{\"ranges\":[{\"type\":\"GIT\","
	  "\"events\":[{\"introduced\":\"0\"}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "evnum.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":0}]}]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "versions.json", REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
	  "\"versions\":[\"1.0\",1.1]}]}", CS_VULNDB_SKIP_SCHEMA },
	{ "notes.txt", "not a record", CS_VULNDB_SKIP_NOT_JSON },
};

#define NBAD (sizeof(bads) / sizeof(bads[0]))

struct seen {
	char where[64][512];
	int why[64];
	int n, extra;
};

static void on_warn(void *ctx, enum cs_vulndb_skip why, const char *where, const char *rule)
{
	struct seen *s = ctx;

	CHECK(rule != NULL && rule[0] != '\0');
	if (s->n < 64) {
		snprintf(s->where[s->n], sizeof(s->where[0]), "%s", where);
		s->why[s->n++] = (int)why;
	} else {
		s->extra++;
	}
}

/* The reason the warnings gave for the file ending in name; -1 if none,
 * -2 if named twice. */
static int reason_for(const struct seen *s, const char *name)
{
	int r = -1;

	for (int i = 0; i < s->n; i++) {
		size_t l = strlen(s->where[i]), nl = strlen(name);

		if (l >= nl + 1 && strcmp(s->where[i] + l - nl, name) == 0 &&
		    (s->where[i][l - nl - 1] == '/' || s->where[i][l - nl - 1] == '!'))
			r = r == -1 ? s->why[i] : -2;
	}
	return r;
}

/* A record with n ranges of ~50 bytes each. */
static char *ranges_record(const char *id, size_t n, size_t *len)
{
	struct cs_buf b;
	uint8_t *p;

	cs_buf_init(&b, 64u << 20);
	cs_buf_printf(&b, REC_HEAD "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
		      "\"ranges\":[", id);
	for (size_t i = 0; i < n; i++)
		cs_buf_printf(&b, "%s{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"%zu\"}]}",
			      i ? "," : "", i);
	cs_buf_addstr(&b, "]}]}");
	p = cs_buf_steal(&b, len);
	return (char *)p;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int integrity_ok(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok;
}

static long long record_count(const char *db)
{
	struct cs_vulndb *h = NULL;
	json_t *info = NULL;
	long long n = -1;

	if (cs_vulndb_open(&h, db, 1) == 0 && cs_vulndb_info(h, &info) == 0)
		n = json_integer_value(json_object_get(info, "records"));
	json_decref(info);
	cs_vulndb_close(h);
	return n;
}

/* Imports src into db expecting failure; checks nothing changed. */
static void expect_failed_import(const char *dir, const char *db, const char *src,
				 const char *what)
{
	struct cs_vulndb_import_stats st = { 0 };
	const char *srcs[1] = { src };
	char before[128], after[128];
	int r;

	vt_digest(db, before, sizeof(before));
	r = cs_vulndb_import(db, srcs, 1, &st);
	CHECK(r != 0);
	if (r == 0)
		fprintf(stderr, "  %s: import succeeded\n", what);
	else
		printf("%s: failed as expected: %s\n", what, cs_err_msg());
	vt_digest(db, after, sizeof(after));
	CHECK(before[0] != '\0' && strcmp(before, after) == 0);
	CHECK(integrity_ok(db));
	CHECK(vt_count_names(dir, ".tmp.") == 0);
}

int main(void)
{
	const char *shared = cs_test_shared();
	struct cs_vulndb_import_stats st = { 0 };
	struct seen seen = { .n = 0 };
	char dir[1024], bad[1100], db[1100], path[1400], good[4096], d0[128], d1[128];
	const char *srcs[3];
	struct cs_vulndb *h = NULL;
	json_t *rec = NULL;
	struct archive *a;
	size_t len, i, want_by[CS_VULNDB_SKIP_COUNT] = { 0 };
	char *big;
	long rss0;
	uint8_t *zipdata;
	int r;

	vt_tmpdir(dir, sizeof(dir), "hostile");
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(db, sizeof(db), "%s/db.sqlite", dir);
	CHECK(mkdir(bad, 0700) == 0);

	/* A good database first: the Debian fixtures. */
	snprintf(good, sizeof(good), "%s/fixtures/osv/records/Debian", shared);
	srcs[0] = good;
	CHECK(cs_vulndb_import(db, srcs, 1, &st) == 0);
	CHECK(st.imported == 5);
	vt_digest(db, d0, sizeof(d0));

	for (i = 0; i < NBAD; i++) {
		char name[64];
		const char *pct;

		snprintf(path, sizeof(path), "%s/%s", bad, bads[i].name);
		snprintf(name, sizeof(name), "X-%zu", i);
		/* REC_HEAD bodies take the id through %s */
		if ((pct = strstr(bads[i].body, "%s")) != NULL) {
			char body[2048];

			snprintf(body, sizeof(body), "%.*s%s%s", (int)(pct - bads[i].body),
				 bads[i].body, name, pct + 2);
			CHECK(vt_write(path, body, strlen(body)) == 0);
		} else {
			CHECK(vt_write(path, bads[i].body, strlen(bads[i].body)) == 0);
		}
		if (bads[i].why >= 0)
			want_by[bads[i].why]++;
	}
	/* 5 MiB of JSON: over the record cap */
	big = malloc(5u << 20);
	CHECK(big != NULL);
	len = (size_t)snprintf(big, 128, REC_HEAD "\"details\":\"", "X-HUGE");
	memset(big + len, 'a', (5u << 20) - len - 2);
	memcpy(big + (5u << 20) - 2, "\"}", 2);
	snprintf(path, sizeof(path), "%s/huge.json", bad);
	CHECK(vt_write(path, big, 5u << 20) == 0);
	want_by[CS_VULNDB_SKIP_TOO_LARGE]++;
	free(big);
	/* 10,001 ranges: under the byte cap, over the range cap */
	big = ranges_record("X-R10K", CS_VULNDB_MAX_RANGES + 1, &len);
	CHECK(big != NULL && len < CS_VULNDB_MAX_RECORD);
	snprintf(path, sizeof(path), "%s/ranges10k.json", bad);
	CHECK(vt_write(path, big, len) == 0);
	want_by[CS_VULNDB_SKIP_LIMIT]++;
	free(big);
	/* 100,000 ranges: stopped by the byte cap before it is parsed */
	big = ranges_record("X-R100K", 100000, &len);
	CHECK(big != NULL && len > CS_VULNDB_MAX_RECORD);
	snprintf(path, sizeof(path), "%s/ranges100k.json", bad);
	CHECK(vt_write(path, big, len) == 0);
	want_by[CS_VULNDB_SKIP_TOO_LARGE]++;

	/* The same records in a zip, plus a 64 MiB entry that compresses to
	 * almost nothing. */
	snprintf(path, sizeof(path), "%s/bad.zip", dir);
	a = vt_zip_open(path);
	CHECK(a != NULL);
	if (a != NULL) {
		char *zeros = calloc(1, 64u << 20);

		CHECK(vt_zip_add(a, "ranges100k.json", big, len) == 0);
		CHECK(vt_zip_add(a, "zeros.json", zeros, 64u << 20) == 0);
		CHECK(vt_zip_add(a, "sub/README", "hi", 2) == 0);
		CHECK(vt_zip_add(a, "truncated.json", "{\"id\":", 6) == 0);
		CHECK(vt_zip_close(a) == 0);
		free(zeros);
	}
	free(big);

	/* 1. the bad directory and the bad zip: every bad record skipped and
	 * named once with its reason; the valid one imported */
	rss0 = maxrss_kib();
	memset(&st, 0, sizeof(st));
	st.warn = on_warn;
	st.warn_ctx = &seen;
	srcs[0] = bad;
	srcs[1] = path;
	r = cs_vulndb_import(db, srcs, 2, &st);
	CHECK(r == 0);
	if (r != 0)
		fprintf(stderr, "import: %s\n", cs_err_msg());
	CHECK(st.imported == 1);
	for (i = 0; i < NBAD; i++) {
		int got = reason_for(&seen, bads[i].name);

		/* truncated.json also sits in the zip: its directory copy is
		 * matched with the '/' separator, the zip one with '!' */
		if (strcmp(bads[i].name, "truncated.json") == 0)
			continue;
		CHECK(got == bads[i].why);
		if (got != bads[i].why)
			fprintf(stderr, "  %s: reason %d, want %d\n", bads[i].name, got, bads[i].why);
	}
	CHECK(reason_for(&seen, "huge.json") == CS_VULNDB_SKIP_TOO_LARGE);
	CHECK(reason_for(&seen, "ranges10k.json") == CS_VULNDB_SKIP_LIMIT);
	CHECK(reason_for(&seen, "ranges100k.json") == -2); /* dir and zip */
	CHECK(reason_for(&seen, "zeros.json") == CS_VULNDB_SKIP_TOO_LARGE);
	CHECK(reason_for(&seen, "README") == CS_VULNDB_SKIP_NOT_JSON);
	CHECK(seen.extra == 0);
	/* zip: ranges100k, zeros (too large), README (not json), truncated */
	want_by[CS_VULNDB_SKIP_TOO_LARGE] += 2;
	want_by[CS_VULNDB_SKIP_NOT_JSON] += 1;
	want_by[CS_VULNDB_SKIP_JSON] += 1;
	for (i = 0; i < CS_VULNDB_SKIP_COUNT; i++) {
		CHECK(st.skipped_by[i] == want_by[i]);
		if (st.skipped_by[i] != want_by[i])
			fprintf(stderr, "  %s: %llu skipped, want %zu\n",
				cs_vulndb_skip_name((enum cs_vulndb_skip)i),
				(unsigned long long)st.skipped_by[i], want_by[i]);
	}
	CHECK((int)st.skipped == seen.n);
	/* Bounded memory: nothing near the 64 MiB entry or the 5 MiB records
	 * was ever held whole (ASan's own overhead included). */
	printf("max RSS grew by %ld KiB during the hostile import\n", maxrss_kib() - rss0);
	CHECK(maxrss_kib() - rss0 < 48 * 1024);
	CHECK(integrity_ok(db));
	CHECK(record_count(db) == 6);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h != NULL) {
		CHECK(cs_vulndb_get(h, "X-0", &rec) == 0);
		json_decref(rec);
		CHECK(cs_vulndb_get(h, "DSA-3029-1", &rec) == 0);
		json_decref(rec);
		CHECK(cs_vulndb_get(h, "X-R10K", &rec) == CS_ENOTFOUND);
		cs_vulndb_close(h);
	}
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) != 0);

	/* 2. sources that cannot be read fail the whole import; the database
	 * keeps its old content, even when an earlier source was fine */
	snprintf(path, sizeof(path), "%s/garbage.zip", dir);
	{
		static const char junk[] = "PK\003\004 this is not really a zip archive at all";

		CHECK(vt_write(path, junk, sizeof(junk) - 1) == 0);
	}
	expect_failed_import(dir, db, path, "garbage zip");
	/* a real zip cut in half */
	{
		char zp[1400], tp[1400];
		size_t zl;

		snprintf(zp, sizeof(zp), "%s/fixtures.zip", dir);
		snprintf(tp, sizeof(tp), "%s/cut.zip", dir);
		a = vt_zip_open(zp);
		snprintf(good, sizeof(good), "%s/fixtures/osv/records", shared);
		CHECK(a != NULL && vt_zip_dir(a, good) > 0 && vt_zip_close(a) == 0);
		zipdata = cs_test_read_file(zp, &zl);
		CHECK(zipdata != NULL);
		if (zipdata != NULL) {
			CHECK(vt_write(tp, zipdata, zl / 2) == 0);
			expect_failed_import(dir, db, tp, "truncated zip");
			/* flip bytes in the middle of the compressed data */
			for (size_t k = zl / 3; k < zl / 3 + 64; k++)
				zipdata[k] ^= 0x5a;
			CHECK(vt_write(tp, zipdata, zl) == 0);
			free(zipdata);
			{
				const char *one[1] = { tp };
				char before[128], after[128];

				vt_digest(db, before, sizeof(before));
				memset(&st, 0, sizeof(st));
				r = cs_vulndb_import(db, one, 1, &st);
				vt_digest(db, after, sizeof(after));
				/* either the damage is caught per entry (counted) or
				 * the archive is refused (nothing changes) */
				if (r == 0)
					CHECK(st.skipped_by[CS_VULNDB_SKIP_CORRUPT] +
					      st.skipped_by[CS_VULNDB_SKIP_JSON] > 0);
				else
					CHECK(strcmp(before, after) == 0);
				printf("damaged zip: %s (%llu corrupt entries)\n",
				       r == 0 ? "imported" : cs_err_msg(),
				       (unsigned long long)st.skipped_by[CS_VULNDB_SKIP_CORRUPT]);
				CHECK(integrity_ok(db));
			}
		}
	}
	/* a good source followed by a missing one: neither lands */
	vt_digest(db, d0, sizeof(d0));
	snprintf(good, sizeof(good), "%s/fixtures/osv/records/Go", shared);
	snprintf(path, sizeof(path), "%s/no-such-file.zip", dir);
	srcs[0] = good;
	srcs[1] = path;
	memset(&st, 0, sizeof(st));
	CHECK(cs_vulndb_import(db, srcs, 2, &st) == CS_ENOTFOUND);
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) == 0);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h != NULL) {
		CHECK(cs_vulndb_get(h, "GO-2020-0001", &rec) == CS_ENOTFOUND);
		cs_vulndb_close(h);
	}
	/* not a database: refused on open, and import does not overwrite it */
	snprintf(path, sizeof(path), "%s/notadb.sqlite", dir);
	CHECK(vt_write(path, "hello", 5) == 0);
	CHECK(cs_vulndb_open(&h, path, 1) != 0 && h == NULL);
	srcs[0] = good;
	CHECK(cs_vulndb_import(path, srcs, 1, NULL) != 0);
	{
		size_t l;
		uint8_t *p = cs_test_read_file(path, &l);

		CHECK(p != NULL && l == 5 && memcmp(p, "hello", 5) == 0);
		free(p);
	}
	CHECK(vt_count_names(dir, ".tmp.") == 0);
	vt_rm_rf(dir);
	return cs_test_done();
}
