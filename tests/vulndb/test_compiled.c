/*
 * test_compiled.c - the database's compiled form (schema 2) seen from
 * outside: a schema-1 file is rebuilt by the next import and keeps its
 * records and sources; full-ecosystem keys cover the ecosystems below them
 * (Red Hat's "::appstream"); NuGet names are found in any case; a damaged
 * compiled row becomes a note naming the record, never a crash or a silent
 * miss of the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"
#include "tests/vulndb/vdb_test.h"

static const char rec_rh[] =
	"{\"id\":\"RHSA-2099:0001\",\"modified\":\"2099-01-01T00:00:00Z\","
	"\"summary\":\"Important: foo security update\",\"affected\":[{\"package\":"
	"{\"ecosystem\":\"Red Hat:enterprise_linux:9::appstream\",\"name\":\"foo\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"0:1.2-3.el9\"}]}]}]}";
static const char rec_rh90[] =
	"{\"id\":\"RHSA-2099:0002\",\"modified\":\"2099-01-01T00:00:00Z\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"Red Hat:enterprise_linux:90\",\"name\":\"foo\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"}]}]}]}";
static const char rec_nuget[] =
	"{\"id\":\"GHSA-aaaa-bbbb-cccc\",\"modified\":\"2099-01-01T00:00:00Z\","
	"\"aliases\":[\"CVE-2099-0003\"],\"affected\":[{\"package\":{\"ecosystem\":\"NuGet\","
	"\"name\":\"Newtonsoft.Json\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
	"[{\"introduced\":\"0\"},{\"fixed\":\"13.0.1\"}]}]}]}";
static const char rec_deb_a[] =
	"{\"id\":\"DEBIAN-CVE-2099-0001\",\"modified\":\"2099-01-01T00:00:00Z\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"zlib\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"1:1.3-1\"}]}]}]}";
static const char rec_deb_b[] =
	"{\"id\":\"DEBIAN-CVE-2099-0002\",\"modified\":\"2099-01-01T00:00:00Z\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"zlib\"},"
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"1:1.3-2\"}]}]}]}";

static int count_rec(void *ctx, json_t *rec)
{
	json_t *ids = ctx;

	json_array_append_new(ids, json_string(json_string_value(json_object_get(rec, "id"))));
	return 0;
}

/* The ids cs_vulndb_lookup returns for a key, as one comma-joined string. */
static void ids_of(char *out, size_t n, struct cs_vulndb *db, const char *eco, const char *name)
{
	json_t *ids = json_array(), *v;
	size_t i, o = 0;

	out[0] = '\0';
	if (cs_vulndb_lookup(db, eco, name, count_rec, ids) != 0)
		snprintf(out, n, "error: %s", cs_err_msg());
	json_array_foreach(ids, i, v)
		o += (size_t)snprintf(out + o, o < n ? n - o : 0, "%s%s", i ? "," : "", json_string_value(v));
	json_decref(ids);
}

static int src_rows(void *ctx, const char *eco, const char *name,
		    int (*cb)(void *, long long, const void *, size_t), void *cbctx)
{
	return cs_vulndb_rows(ctx, eco, name, cb, cbctx);
}

static int src_header(void *ctx, long long rec, const void **hdr, size_t *len)
{
	return cs_vulndb_header(ctx, rec, hdr, len);
}

static int import_dir(const char *db, const char *dir)
{
	const char *src[1] = { dir };
	struct cs_vulndb_import_stats st;

	memset(&st, 0, sizeof(st));
	return cs_vulndb_import(db, src, 1, &st);
}

/* A schema-1 file as cellscan 0.1 wrote it: the records, no compiled form. */
static int make_schema1(const char *path)
{
	static const char ddl[] =
		"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
		"CREATE TABLE sources(url TEXT PRIMARY KEY, kind TEXT NOT NULL, etag TEXT,"
		" last_modified TEXT, imported_at TEXT NOT NULL, records INTEGER NOT NULL DEFAULT 0)"
		" WITHOUT ROWID;"
		"CREATE TABLE records(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
		" modified TEXT NOT NULL, published TEXT, withdrawn TEXT, summary TEXT,"
		" json TEXT NOT NULL);"
		"CREATE TABLE affected(ecosystem_base TEXT NOT NULL, package_name TEXT NOT NULL,"
		" ecosystem_full TEXT NOT NULL, record_id INTEGER NOT NULL,"
		" PRIMARY KEY(ecosystem_base, package_name, ecosystem_full, record_id)) WITHOUT ROWID;"
		"CREATE TABLE aliases(name TEXT NOT NULL, record_id INTEGER NOT NULL,"
		" PRIMARY KEY(name, record_id)) WITHOUT ROWID;"
		"PRAGMA user_version = 1;"
		"INSERT INTO meta VALUES('schema_version', '1');"
		"INSERT INTO sources VALUES('https://mirror.example/Debian/all.zip', 'osv-zip-url',"
		" '\"etag-1\"', NULL, '2099-01-01T00:00:00Z', 1);"
		"INSERT INTO affected VALUES('Debian', 'zlib', 'Debian:12', 1);";
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int ok;

	if (sqlite3_open(path, &h) != SQLITE_OK)
		return -1;
	ok = sqlite3_exec(h, ddl, NULL, NULL, NULL) == SQLITE_OK &&
	     sqlite3_prepare_v2(h, "INSERT INTO records(rowid, id, modified, json) VALUES(1,"
				" 'DEBIAN-CVE-2099-0001', '2099-01-01T00:00:00Z', ?1)", -1, &st,
				NULL) == SQLITE_OK &&
	     sqlite3_bind_text(st, 1, rec_deb_a, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok ? 0 : -1;
}

static void test_migration(const char *dir)
{
	char db[512], empty[512], got[256];
	struct cs_vulndb *h = NULL;
	json_t *info = NULL;

	snprintf(db, sizeof(db), "%s/old.sqlite", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	CHECK(mkdir(empty, 0700) == 0);
	CHECK(make_schema1(db) == 0);
	/* Before: scans refuse it with a message saying what to do. */
	CHECK(cs_vulndb_open(&h, db, 1) == CS_EUNSUPPORTED);
	CHECK(strstr(cs_err_msg(), "db import") != NULL);
	/* An import with nothing new rebuilds it in the current schema. */
	CHECK(import_dir(db, empty) == 0);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h == NULL)
		return;
	ids_of(got, sizeof(got), h, "Debian:12", "zlib");
	CHECK_STR(got, "DEBIAN-CVE-2099-0001");
	CHECK(cs_vulndb_info(h, &info) == 0);
	CHECK(json_integer_value(json_object_get(info, "schema")) == CS_VULNDB_SCHEMA);
	CHECK(json_integer_value(json_object_get(info, "records")) == 1);
	{
		json_t *src;
		size_t i;
		int kept = 0;

		/* the old source with its validators, beside the empty directory */
		json_array_foreach(json_object_get(info, "sources"), i, src)
			kept |= strcmp(json_string_value(json_object_get(src, "url")),
				       "https://mirror.example/Debian/all.zip") == 0 &&
				strcmp(json_string_value(json_object_get(src, "etag")), "\"etag-1\"") == 0;
		CHECK(kept);
	}
	json_decref(info);
	cs_vulndb_close(h);
}

static void test_keys(const char *dir)
{
	char db[512], src[512], p[600], got[256];
	struct cs_vulndb *h = NULL;

	snprintf(db, sizeof(db), "%s/keys.sqlite", dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	CHECK(mkdir(src, 0700) == 0);
	snprintf(p, sizeof(p), "%s/rh.json", src);
	CHECK(vt_write(p, rec_rh, strlen(rec_rh)) == 0);
	snprintf(p, sizeof(p), "%s/rh90.json", src);
	CHECK(vt_write(p, rec_rh90, strlen(rec_rh90)) == 0);
	snprintf(p, sizeof(p), "%s/nuget.json", src);
	CHECK(vt_write(p, rec_nuget, strlen(rec_nuget)) == 0);
	CHECK(import_dir(db, src) == 0);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h == NULL)
		return;
	/* The release key covers its streams, not another release. */
	ids_of(got, sizeof(got), h, "Red Hat:enterprise_linux:9", "foo");
	CHECK_STR(got, "RHSA-2099:0001");
	ids_of(got, sizeof(got), h, "Red Hat:enterprise_linux:90", "foo");
	CHECK_STR(got, "RHSA-2099:0002");
	ids_of(got, sizeof(got), h, "Red Hat:enterprise_linux:9::appstream", "foo");
	CHECK_STR(got, "RHSA-2099:0001");
	/* NuGet names in any case. */
	ids_of(got, sizeof(got), h, "NuGet", "newtonsoft.json");
	CHECK_STR(got, "GHSA-aaaa-bbbb-cccc");
	ids_of(got, sizeof(got), h, "NuGet", "NEWTONSOFT.JSON");
	CHECK_STR(got, "GHSA-aaaa-bbbb-cccc");
	cs_vulndb_close(h);
}

static void test_damaged(const char *dir)
{
	char db[512], src[512], p[600];
	struct cs_vulndb *h = NULL;
	struct cs_match_source ms;
	json_t *pkgs, *findings = json_array(), *notes = json_array();
	sqlite3 *w = NULL;
	size_t matched = 0;

	snprintf(db, sizeof(db), "%s/damaged.sqlite", dir);
	snprintf(src, sizeof(src), "%s/deb", dir);
	CHECK(mkdir(src, 0700) == 0);
	snprintf(p, sizeof(p), "%s/a.json", src);
	CHECK(vt_write(p, rec_deb_a, strlen(rec_deb_a)) == 0);
	snprintf(p, sizeof(p), "%s/b.json", src);
	CHECK(vt_write(p, rec_deb_b, strlen(rec_deb_b)) == 0);
	CHECK(import_dir(db, src) == 0);
	/* Cut the compiled row of one record short. */
	CHECK(sqlite3_open(db, &w) == SQLITE_OK);
	CHECK(sqlite3_exec(w, "UPDATE affected SET prog = substr(prog, 1, 9) WHERE id ="
			   " 'DEBIAN-CVE-2099-0001'", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_changes(w) == 1);
	sqlite3_close(w);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h == NULL)
		return;
	memset(&ms, 0, sizeof(ms));
	ms.ctx = h;
	ms.rows = src_rows;
	ms.header = src_header;
	pkgs = json_pack("[{s:s, s:s, s:s}]", "kind", "dpkg", "name", "zlib", "version", "1:1.2-1");
	CHECK(cs_match_inventory(findings, notes, &matched, pkgs, "Debian:12", &ms) == 0);
	CHECK(matched == 1);
	/* The intact record still matches; the damaged one is named. */
	CHECK(json_array_size(findings) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(findings, 0), "id")),
		  "DEBIAN-CVE-2099-0002");
	CHECK(json_array_size(notes) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(notes, 0), "id")),
		  "DEBIAN-CVE-2099-0001");
	CHECK(strstr(json_string_value(json_object_get(json_array_get(notes, 0), "reason")),
		     "damaged") != NULL);
	json_decref(pkgs);
	json_decref(findings);
	json_decref(notes);
	cs_vulndb_close(h);
}

int main(void)
{
	char dir[256];

	vt_tmpdir(dir, sizeof(dir), "compiled");
	test_migration(dir);
	test_keys(dir);
	test_damaged(dir);
	vt_rm_rf(dir);
	return cs_test_done();
}
