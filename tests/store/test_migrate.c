/*
 * test_migrate.c - a store written by schema version 1 (the fixture below is
 * version 1's DDL as it shipped, written here independently of the code) is
 * brought to the current version on open, keeping its data and filling what
 * version 2 added; a newer store and a foreign database are refused
 * untouched; a concurrent second open of a fresh file does not race.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/store/store_test.h"

static const char v1_schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, ref TEXT NOT NULL,"
	" digest TEXT, reason TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK(state IN ('queued','running','failed','done','dead')),"
	" attempts INTEGER NOT NULL DEFAULT 0, worker TEXT, lease_until INTEGER,"
	" next_attempt INTEGER, error TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX jobs_pending_digest ON jobs(digest)"
	" WHERE digest IS NOT NULL AND state IN ('queued','running','failed');"
	"CREATE UNIQUE INDEX jobs_pending_ref ON jobs(ref)"
	" WHERE digest IS NULL AND state IN ('queued','running','failed');"
	"CREATE INDEX jobs_pending ON jobs(id) WHERE state IN ('queued','running','failed');"
	"CREATE INDEX jobs_state ON jobs(state);"
	"CREATE TABLE images(digest TEXT PRIMARY KEY, repository TEXT NOT NULL, platform TEXT,"
	" first_seen INTEGER NOT NULL, last_scanned INTEGER NOT NULL);"
	"CREATE TABLE image_refs(digest TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE,"
	" ref TEXT NOT NULL, repository TEXT NOT NULL, first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL, PRIMARY KEY(digest, ref));"
	"CREATE INDEX image_refs_repository ON image_refs(repository, digest);"
	"CREATE TABLE inventories(digest TEXT PRIMARY KEY REFERENCES images(digest)"
	" ON DELETE CASCADE, inventory TEXT NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE inventory_packages(ecosystem TEXT NOT NULL, name TEXT NOT NULL,"
	" digest TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE,"
	" PRIMARY KEY(ecosystem, name, digest));"
	"CREATE INDEX inventory_packages_digest ON inventory_packages(digest);"
	"CREATE TABLE reports(digest TEXT PRIMARY KEY REFERENCES images(digest) ON DELETE CASCADE,"
	" report TEXT NOT NULL, db_digest TEXT NOT NULL, verdict TEXT NOT NULL,"
	" n_critical INTEGER NOT NULL, n_high INTEGER NOT NULL, n_medium INTEGER NOT NULL,"
	" n_low INTEGER NOT NULL, n_unknown INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX reports_verdict ON reports(verdict, digest);"
	"CREATE TABLE findings(id INTEGER PRIMARY KEY, digest TEXT NOT NULL REFERENCES"
	" images(digest) ON DELETE CASCADE, vuln_id TEXT NOT NULL, aliases TEXT NOT NULL,"
	" package TEXT NOT NULL, version TEXT, kind TEXT, ecosystem TEXT,"
	" severity INTEGER NOT NULL, fixable INTEGER NOT NULL, fixed_version TEXT);"
	"CREATE INDEX findings_digest ON findings(digest, severity);"
	"CREATE TABLE verdict_history(id INTEGER PRIMARY KEY, digest TEXT NOT NULL REFERENCES"
	" images(digest) ON DELETE CASCADE, verdict TEXT NOT NULL, previous TEXT,"
	" db_digest TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX verdict_history_digest ON verdict_history(digest, id);";

#define DG "sha256:abababababababababababababababababababababababababababababababab"

static const char v1_data[] =
	"INSERT INTO meta VALUES('schema_version', '1');"
	"INSERT INTO jobs(ref, digest, state, attempts, created, updated)"
	" VALUES('reg/a:1', '" DG "', 'done', 1, 10, 20);"
	"INSERT INTO jobs(ref, digest, state, attempts, created, updated)"
	" VALUES('reg/b:1', NULL, 'queued', 0, 30, 30);"
	"INSERT INTO images VALUES('" DG "', 'reg/a', 'linux/arm64', 5, 20);"
	"INSERT INTO image_refs VALUES('" DG "', 'reg/a:1', 'reg/a', 5, 20);"
	"INSERT INTO inventories VALUES('" DG "', '{\"packages\":[]}', 20);"
	"INSERT INTO reports VALUES('" DG "', '{\"verdict\":\"unhealthy\"}', 'sha256:db', 'unhealthy',"
	" 1, 0, 0, 1, 0, 20);"
	"INSERT INTO findings VALUES(1, '" DG "', 'CVE-2022-1292', '[\"DSA-5139-1\",\"GHSA-old\"]',"
	" 'openssl', '1.1.1n-0', 'dpkg', 'Debian:11', 4, 1, '1.1.1o-1');"
	"INSERT INTO findings VALUES(2, '" DG "', 'CVE-2022-0001', 'not json', 'zlib', NULL, NULL,"
	" NULL, 1, 0, NULL);"
	"INSERT INTO verdict_history VALUES(1, '" DG "', 'unhealthy', NULL, 'sha256:db', 20);";

static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;
	int rc = sqlite3_open(path, &h);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "raw sql on %s: %s\n", path, msg != NULL ? msg : sqlite3_errmsg(h));
	sqlite3_free(msg);
	sqlite3_close(h);
	return rc;
}

static void test_v1_to_current(void)
{
	struct cs_store *s = NULL;
	struct cs_store_job j = {0};
	json_t *o = NULL;
	char p[512], *rep = NULL;
	int v = 0;
	long long id;
	int created;

	st_path(p, sizeof(p), "v1.db");
	CHECK(raw_exec(p, v1_schema) == SQLITE_OK);
	CHECK(raw_exec(p, v1_data) == SQLITE_OK);
	CHECK_OK(cs_store_open(&s, p));
	if (s == NULL)
		return;
	CHECK_OK(cs_store_schema_version(s, &v));
	CHECK(v == CS_STORE_SCHEMA_VERSION);
	CHECK_OK(cs_store_check(s));
	/* Old data reads through the current API. */
	CHECK_OK(cs_store_get_report(s, DG, &rep));
	CHECK_STR(rep, "{\"verdict\":\"unhealthy\"}");
	free(rep);
	CHECK_OK(cs_store_get_image(s, DG, &o));
	CHECK_STR(json_string_value(json_object_get(o, "platform")), "linux/arm64");
	json_decref(o);
	/* finished was backfilled for the finished job, not the queued one. */
	CHECK_OK(cs_store_job_get(s, 1, &j));
	CHECK(j.state == CS_STORE_JOB_DONE && j.finished == 20);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_get(s, 2, &j));
	CHECK(j.state == CS_STORE_JOB_QUEUED && j.finished == 0);
	cs_store_job_clear(&j);
	/* finding_keys was filled from ids and aliases (a malformed aliases
	 * text keeps its id). */
	const char *ids[] = {"CVE-2022-1292", "DSA-5139-1", "GHSA-old", "CVE-2022-0001"};
	for (int i = 0; i < 4; i++) {
		CHECK_OK(cs_store_find_images_by_vuln(s, ids[i], &o));
		CHECK(json_array_size(json_object_get(o, "images")) == 1);
		json_decref(o);
	}
	CHECK_OK(cs_store_find_images_by_vuln(s, "not json", &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 0);
	json_decref(o);
	/* The queue goes on: the ref-only job still deduplicates; the
	 * outbox exists. */
	CHECK_OK(cs_store_job_enqueue(s, "reg/b:1", NULL, NULL, 40, &id, &created));
	CHECK(id == 2 && created == 0);
	CHECK_OK(cs_store_alert_enqueue(s, DG, "verdict", "{}", 50, &id));
	cs_store_close(s);
	/* Opening again is a no-op. */
	CHECK_OK(cs_store_open(&s, p));
	CHECK_OK(cs_store_schema_version(s, &v));
	CHECK(v == CS_STORE_SCHEMA_VERSION);
	cs_store_close(s);
}

static void test_refusals(void)
{
	struct cs_store *s = NULL;
	char p[512], q[512];

	/* A newer store: refused, and left as it was. */
	st_path(p, sizeof(p), "future.db");
	CHECK_OK(cs_store_open(&s, p));
	cs_store_close(s);
	s = NULL;
	CHECK(raw_exec(p, "UPDATE meta SET value = '99' WHERE key = 'schema_version'") == SQLITE_OK);
	CHECK(cs_store_open(&s, p) == CS_EUNSUPPORTED);
	CHECK(s == NULL);
	CHECK(strstr(cs_err_msg(), "99") != NULL);
	/* Someone else's database: refused. */
	st_path(q, sizeof(q), "foreign.db");
	CHECK(raw_exec(q, "CREATE TABLE users(name TEXT)") == SQLITE_OK);
	CHECK(cs_store_open(&s, q) == CS_EFORMAT);
	CHECK(s == NULL);
	/* Not a database at all. */
	st_path(q, sizeof(q), "garbage.db");
	FILE *f = fopen(q, "wb");
	if (f != NULL) {
		for (int i = 0; i < 4096; i++)
			fputc("junk"[i % 4], f);
		fclose(f);
	}
	CHECK(cs_store_open(&s, q) == CS_EDB);
	CHECK(s == NULL);
	/* URLs. */
	st_path(q, sizeof(q), "url.db");
	char url[600];
	snprintf(url, sizeof(url), "sqlite:%s", q);
	CHECK_OK(cs_store_open(&s, url));
	cs_store_close(s);
	s = NULL;
	CHECK(cs_store_open(&s, "") == CS_EINVAL);
	CHECK(cs_store_open(&s, "sqlite:") == CS_EINVAL);
}

/* Several processes opening one fresh file at once: one creates the
 * schema, the others see it; nobody fails. */
static void test_concurrent_create(void)
{
	char p[512];
	pid_t pids[6];
	int status;

	st_path(p, sizeof(p), "fresh.db");
	for (int i = 0; i < 6; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cs_store *s = NULL;
			int r = cs_store_open(&s, p);
			if (r != 0)
				fprintf(stderr, "child open: %s\n", cs_err_msg());
			cs_store_close(s);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 6; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

int main(void)
{
	st_tmpdir();
	test_v1_to_current();
	test_refusals();
	test_concurrent_create();
	st_cleanup();
	return cs_test_done();
}
