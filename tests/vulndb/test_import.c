/*
 * test_import.c - every real OSV record of ../shared/fixtures/osv/ goes
 * through `db import` (directory and zip), and comes back from a lookup by
 * each of its affected (ecosystem, package), with its aliases grouped. The
 * expectations come from manifest.json and the records themselves, read here
 * independently of the code under test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"
#include "tests/vulndb/vdb_test.h"

struct fixture {
	char id[128];
	json_t *rec;       /* the newest version among the files with this id */
	int withdrawn;     /* per manifest */
};

static struct fixture fx[512];
static size_t nfx;
static int have_yaml;

static struct fixture *find(const char *id)
{
	for (size_t i = 0; i < nfx; i++)
		if (strcmp(fx[i].id, id) == 0)
			return &fx[i];
	return NULL;
}

/* The path of a manifest file as JSON (YAML ones converted under yamldir). */
static int record_path(char *out, size_t n, const char *shared, const char *yamldir,
		       const char *file)
{
	size_t l = strlen(file);
	const char *slash = strchr(file, '/');

	if (l > 5 && strcmp(file + l - 5, ".yaml") == 0) {
		if (!have_yaml || slash == NULL)
			return -1;
		snprintf(out, n, "%s/%.*s--%.*s.json", yamldir, (int)(slash - file), file,
			 (int)(l - 5 - (size_t)(slash - file) - 1), slash + 1);
		return 0;
	}
	snprintf(out, n, "%s/fixtures/osv/records/%s", shared, file);
	return 0;
}

struct hits {
	const char *want;
	int count;      /* times want was returned */
	int total;
};

static int on_hit(void *ctx, json_t *rec)
{
	struct hits *h = ctx;
	const char *id = json_string_value(json_object_get(rec, "id"));

	h->total++;
	if (id != NULL && strcmp(id, h->want) == 0)
		h->count++;
	return 0;
}

static int lookup_count(struct cs_vulndb *db, const char *eco, const char *name, const char *want)
{
	struct hits h = { want, 0, 0 };

	CHECK(cs_vulndb_lookup(db, eco, name, on_hit, &h) == 0);
	return h.count;
}

struct idset {
	char ids[64][128];
	int n;
};

static int on_same(void *ctx, const char *id)
{
	struct idset *s = ctx;

	if (s->n < 64)
		snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", id);
	return 0;
}

static int shares_name(json_t *a, json_t *b)
{
	json_t *na = json_array(), *nb = json_array(), *v, *w;
	size_t i, j;
	int hit = 0;

	json_array_append(na, json_object_get(a, "id"));
	json_array_extend(na, json_object_get(a, "aliases"));
	json_array_append(nb, json_object_get(b, "id"));
	json_array_extend(nb, json_object_get(b, "aliases"));
	json_array_foreach(na, i, v) {
		json_array_foreach(nb, j, w) {
			if (json_equal(v, w))
				hit = 1;
		}
	}
	json_decref(na);
	json_decref(nb);
	return hit;
}

static void mangle_pypi(char *out, size_t n, const char *name)
{
	size_t i;

	/* Upper case and '_' for '-' / '.': PEP 503 makes them equal again. */
	for (i = 0; name[i] != '\0' && i + 1 < n; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-' || c == '.')
			c = '_';
		out[i] = c;
	}
	out[i] = '\0';
}

static void check_record(struct cs_vulndb *db, struct fixture *f)
{
	json_t *got = NULL, *a;
	size_t i;

	CHECK(cs_vulndb_get(db, f->id, &got) == 0);
	if (got != NULL) {
		CHECK_STR(json_string_value(json_object_get(got, "modified")),
			  json_string_value(json_object_get(f->rec, "modified")));
		/* Stored compact, but the same JSON value. */
		CHECK(json_equal(got, f->rec));
		if (!json_equal(got, f->rec))
			fprintf(stderr, "  record %s differs after import\n", f->id);
		json_decref(got);
	}
	json_array_foreach(json_object_get(f->rec, "affected"), i, a) {
		json_t *pkg = json_object_get(a, "package");
		const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
		const char *name = json_string_value(json_object_get(pkg, "name"));
		char base[256], mangled[512];
		int c;

		if (eco == NULL || name == NULL)
			continue;
		c = lookup_count(db, eco, name, f->id);
		CHECK(c == 1);
		if (c != 1)
			fprintf(stderr, "  lookup (%s, %s) returned %s %d times\n", eco, name, f->id, c);
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(eco, ":"), eco);
		CHECK(lookup_count(db, base, name, f->id) == 1);
		if (strchr(eco, ':') != NULL)
			CHECK(lookup_count(db, "Debian:999", name, f->id) == 0);
		if (strcmp(base, "PyPI") == 0) {
			mangle_pypi(mangled, sizeof(mangled), name);
			CHECK(lookup_count(db, eco, mangled, f->id) == 1);
		} else if (strcmp(base, "Go") == 0 || strcmp(base, "npm") == 0) {
			/* Exact names elsewhere: case matters. */
			mangle_pypi(mangled, sizeof(mangled), name);
			if (strcmp(mangled, name) != 0)
				CHECK(lookup_count(db, eco, mangled, f->id) == 0);
		}
	}
}

static void check_aliases(struct cs_vulndb *db, struct fixture *f)
{
	struct idset s = { .n = 0 };
	int want = 0;

	CHECK(cs_vulndb_same(db, f->id, on_same, &s) == 0);
	for (size_t i = 0; i < nfx; i++) {
		int found = 0;

		if (!shares_name(f->rec, fx[i].rec))
			continue;
		want++;
		for (int k = 0; k < s.n; k++)
			found |= strcmp(s.ids[k], fx[i].id) == 0;
		CHECK(found);
		if (!found)
			fprintf(stderr, "  %s and %s share a name but are not grouped\n", f->id,
				fx[i].id);
	}
	CHECK(s.n == want);
}

static void check_info(struct cs_vulndb *db)
{
	json_t *info = NULL, *ecos, *v;
	const char *k;
	size_t withdrawn = 0;

	CHECK(cs_vulndb_info(db, &info) == 0);
	if (info == NULL)
		return;
	for (size_t i = 0; i < nfx; i++)
		withdrawn += fx[i].withdrawn;
	CHECK(json_integer_value(json_object_get(info, "records")) == (json_int_t)nfx);
	CHECK(json_integer_value(json_object_get(info, "withdrawn")) == (json_int_t)withdrawn);
	CHECK(json_integer_value(json_object_get(info, "schema")) == CS_VULNDB_SCHEMA);
	CHECK(strncmp(json_string_value(json_object_get(info, "digest")), "sha256:", 7) == 0);
	ecos = json_object_get(info, "ecosystems");
	/* Records per ecosystem, counted from the fixtures. */
	json_object_foreach(ecos, k, v) {
		json_int_t want = 0;

		for (size_t i = 0; i < nfx; i++) {
			json_t *a;
			size_t j;
			int has = 0;

			json_array_foreach(json_object_get(fx[i].rec, "affected"), j, a) {
				const char *e = json_string_value(json_object_get(
					json_object_get(a, "package"), "ecosystem"));

				has |= e != NULL && strcmp(e, k) == 0;
			}
			want += has;
		}
		CHECK(json_integer_value(v) == want);
	}
	CHECK(json_object_get(ecos, "Debian:9") != NULL);
	CHECK(json_object_get(ecos, "Alpine:v3.16") != NULL);
	CHECK(json_object_get(ecos, "PyPI") != NULL);
	json_decref(info);
}

static void load_fixtures(const char *shared, const char *yamldir)
{
	char path[4096];
	json_error_t err;
	json_t *man, *e;
	size_t i;

	snprintf(path, sizeof(path), "%s/fixtures/osv/manifest.json", shared);
	man = json_load_file(path, 0, &err);
	CHECK(json_is_array(man));
	json_array_foreach(man, i, e) {
		const char *file = json_string_value(json_object_get(e, "file"));
		const char *id = json_string_value(json_object_get(e, "id"));
		struct fixture *f;
		json_t *rec;

		if (file == NULL || id == NULL || record_path(path, sizeof(path), shared, yamldir,
							      file) != 0)
			continue;
		rec = json_load_file(path, 0, &err);
		CHECK(rec != NULL);
		if (rec == NULL)
			continue;
		CHECK_STR(json_string_value(json_object_get(rec, "id")), id);
		f = find(id);
		if (f == NULL && nfx < sizeof(fx) / sizeof(fx[0])) {
			f = &fx[nfx++];
			snprintf(f->id, sizeof(f->id), "%s", id);
		}
		if (f == NULL) {
			json_decref(rec);
			continue;
		}
		f->withdrawn = json_is_true(json_object_get(e, "withdrawn"));
		if (f->rec == NULL || strcmp(json_string_value(json_object_get(rec, "modified")),
					     json_string_value(json_object_get(f->rec, "modified"))) > 0) {
			json_decref(f->rec);
			f->rec = rec;
		} else {
			json_decref(rec);
		}
	}
	json_decref(man);
}

static void test_merge(const char *dir, const char *db)
{
	struct cs_vulndb_import_stats st = { 0 };
	struct fixture *f = find("GO-2020-0001");
	struct cs_vulndb *h = NULL;
	char path[4096];
	const char *src[1] = { path };
	json_t *rec, *got = NULL;
	char *text;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	snprintf(path, sizeof(path), "%s/newer.json", dir);
	rec = json_deep_copy(f->rec);
	/* ".5" after the second: a plain string comparison would call it older. */
	json_object_set_new(rec, "modified", json_string("2099-01-01T00:00:00.5Z"));
	json_object_set_new(rec, "summary", json_string("cellscan newer"));
	/* the new version names another package and drops the aliases: the
	 * old index rows must go */
	json_object_set_new(json_object_get(json_array_get(json_object_get(rec, "affected"), 0),
					    "package"), "name", json_string("example.com/renamed"));
	json_object_set_new(rec, "aliases", json_array());
	text = json_dumps(rec, 0);
	CHECK(vt_write(path, text, strlen(text)) == 0);
	free(text);
	json_decref(rec);
	CHECK(cs_vulndb_import(db, src, 1, &st) == 0);
	CHECK(st.updated == 1 && st.imported == 0 && st.unchanged == 0);
	/* older than what is there now (the same instant, written differently,
	 * is a tie and keeps the stored one) */
	snprintf(path, sizeof(path), "%s/older.json", dir);
	rec = json_deep_copy(f->rec);
	json_object_set_new(rec, "modified", json_string("2099-01-01T01:00:00.5+01:00"));
	json_object_set_new(rec, "summary", json_string("cellscan tie"));
	text = json_dumps(rec, 0);
	CHECK(vt_write(path, text, strlen(text)) == 0);
	free(text);
	json_decref(rec);
	memset(&st, 0, sizeof(st));
	CHECK(cs_vulndb_import(db, src, 1, &st) == 0);
	CHECK(st.unchanged == 1 && st.updated == 0);
	CHECK(cs_vulndb_open(&h, db, 1) == 0);
	if (h != NULL) {
		CHECK(cs_vulndb_get(h, "GO-2020-0001", &got) == 0);
		CHECK_STR(json_string_value(json_object_get(got, "summary")), "cellscan newer");
		json_decref(got);
		/* lookups follow the rewrite: the new name only, once */
		CHECK(lookup_count(h, "Go", json_string_value(json_object_get(json_object_get(
			json_array_get(json_object_get(f->rec, "affected"), 0), "package"), "name")),
			"GO-2020-0001") == 0);
		CHECK(lookup_count(h, "Go", "example.com/renamed", "GO-2020-0001") == 1);
		{
			struct idset s = { .n = 0 };

			CHECK(cs_vulndb_same(h, "GO-2020-0001", on_same, &s) == 0);
			CHECK(s.n == 1 && strcmp(s.ids[0], "GO-2020-0001") == 0);
		}
		cs_vulndb_close(h);
	}
}

static void test_keys(void)
{
	char k[64];

	CHECK(cs_vulndb_package_key(k, sizeof(k), "PyPI", "Foo.Bar__baz-_.Qux") == 0);
	CHECK_STR(k, "foo-bar-baz-qux");
	CHECK(cs_vulndb_package_key(k, sizeof(k), "npm", "Foo.Bar_") == 0);
	CHECK_STR(k, "Foo.Bar_");
	CHECK(cs_vulndb_package_key(k, sizeof(k), "PyPIx", "A_B") == 0);
	CHECK_STR(k, "A_B");
	CHECK(cs_vulndb_package_key(k, 4, "Go", "abcd") == CS_ELIMIT);
	CHECK(cs_vulndb_ecosystem_base(k, sizeof(k), "Ubuntu:22.04:LTS") == 0);
	CHECK_STR(k, "Ubuntu");
	CHECK(cs_vulndb_ecosystem_base(k, sizeof(k), "crates.io") == 0);
	CHECK_STR(k, "crates.io");
}

int main(void)
{
	const char *shared = cs_test_shared();
	struct cs_vulndb_import_stats st = { 0 };
	struct cs_vulndb *db = NULL;
	char dir[1024], yamldir[1100], records[4096], dbp[1200], db2[1200], db3[1200], zip[1200],
	     script[4096], d1[128], d2[128], d3[128];
	const char *srcs[2];
	struct archive *a;
	size_t json_ids = 0;
	int rc;

	test_keys();
	vt_tmpdir(dir, sizeof(dir), "import");
	snprintf(yamldir, sizeof(yamldir), "%s/yaml", dir);
	snprintf(records, sizeof(records), "%s/fixtures/osv/records", shared);
	snprintf(script, sizeof(script), "%s/tests/vulndb/osv_yaml2json.py", cs_test_source_dir());
	{
		char *argv[] = { "python3", script, records, yamldir, NULL };

		rc = vt_run(argv, 0);
		have_yaml = rc == 0;
		if (!have_yaml)
			printf("note: python3 with PyYAML unavailable (%d): the %s records in YAML "
			       "are not checked\n", rc, "PyPA");
	}
	load_fixtures(shared, yamldir);
	CHECK(nfx >= 100);
	if (have_yaml)
		CHECK(nfx == 132); /* README: 133 files, PYSEC-2023-74 twice */

	/* 1. directory import (+ converted YAML) */
	snprintf(dbp, sizeof(dbp), "%s/all.sqlite", dir);
	srcs[0] = records;
	srcs[1] = yamldir;
	rc = cs_vulndb_import(dbp, srcs, have_yaml ? 2 : 1, &st);
	CHECK(rc == 0);
	if (rc != 0)
		fprintf(stderr, "import: %s\n", cs_err_msg());
	CHECK(st.imported == nfx);
	CHECK(st.skipped == st.skipped_by[CS_VULNDB_SKIP_NOT_JSON]); /* the .yaml files only */
	CHECK(st.skipped_by[CS_VULNDB_SKIP_NOT_JSON] == 26);
	CHECK(st.records == nfx);
	CHECK(cs_vulndb_open(&db, dbp, 1) == 0);
	if (db != NULL) {
		for (size_t i = 0; i < nfx; i++) {
			check_record(db, &fx[i]);
			check_aliases(db, &fx[i]);
		}
		check_info(db);
		CHECK(lookup_count(db, "Debian:12", "no-such-package-here", "x") == 0);
		cs_vulndb_close(db);
		db = NULL;
	}
	/* 2. importing the same again changes nothing, digest included */
	vt_digest(dbp, d1, sizeof(d1));
	memset(&st, 0, sizeof(st));
	CHECK(cs_vulndb_import(dbp, srcs, have_yaml ? 2 : 1, &st) == 0);
	CHECK(st.unchanged == st.seen && st.imported == 0 && st.updated == 0);
	vt_digest(dbp, d2, sizeof(d2));
	CHECK(d1[0] != '\0' && strcmp(d1, d2) == 0);

	/* 3. the JSON records as an OSV-style all.zip give the same database
	 * as the same records read from the directory */
	snprintf(zip, sizeof(zip), "%s/all.zip", dir);
	a = vt_zip_open(zip);
	CHECK(a != NULL);
	if (a != NULL) {
		int n = vt_zip_dir(a, records);

		CHECK(n == 107);
		CHECK(vt_zip_close(a) == 0);
	}
	snprintf(db2, sizeof(db2), "%s/zip.sqlite", dir);
	snprintf(db3, sizeof(db3), "%s/dir.sqlite", dir);
	memset(&st, 0, sizeof(st));
	srcs[0] = zip;
	CHECK(cs_vulndb_import(db2, srcs, 1, &st) == 0);
	CHECK(st.seen == 107 && st.skipped == 0);
	json_ids = st.imported + st.unchanged;
	CHECK(json_ids == 107);
	srcs[0] = records;
	memset(&st, 0, sizeof(st));
	CHECK(cs_vulndb_import(db3, srcs, 1, &st) == 0);
	vt_digest(db2, d2, sizeof(d2));
	vt_digest(db3, d3, sizeof(d3));
	CHECK(d2[0] != '\0' && strcmp(d2, d3) == 0);
	CHECK(strcmp(d2, d1) != 0 || !have_yaml);

	/* 4. merging: a newer `modified` wins, a tie keeps the stored record */
	test_merge(dir, dbp);
	CHECK(vt_count_names(dir, ".tmp.") == 0);

	for (size_t i = 0; i < nfx; i++)
		json_decref(fx[i].rec);
	vt_rm_rf(dir);
	return cs_test_done();
}
