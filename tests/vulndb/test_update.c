/*
 * test_update.c - `db update` against a loopback HTTPS server that this
 * test starts (tests/vulndb/https_server.py, a test CA made here with the
 * openssl tool): ETag honoured (an unchanged source costs one request, a
 * 304, and the database file is not touched), an interrupted download or a
 * refused certificate or an oversized archive leaves the old database, and
 * a changed archive is swapped in. Talks to 127.0.0.1 only.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"
#include "tests/vulndb/vdb_test.h"

static char dir[1024], logpath[1200];
static pid_t server = -1;

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

static int count_log(const char *status)
{
	size_t len;
	uint8_t *p = cs_test_read_file(logpath, &len);
	int n = 0;

	if (p == NULL)
		return 0;
	for (char *l = (char *)p; l != NULL && *l != '\0';) {
		char *nl = strchr(l, '\n');
		char *sp;

		if (nl != NULL)
			*nl = '\0';
		sp = strrchr(l, ' ');
		if (status == NULL || (sp != NULL && strcmp(sp + 1, status) == 0))
			n++;
		l = nl != NULL ? nl + 1 : NULL;
	}
	free(p);
	return n;
}

static int make_zip(const char *path, const char *records, const char *extra_id)
{
	struct archive *a = vt_zip_open(path);
	int n;

	if (a == NULL)
		return -1;
	n = vt_zip_dir(a, records);
	if (n > 0 && extra_id != NULL) {
		char rec[512];

		snprintf(rec, sizeof(rec),
			 "{\"id\":\"%s\",\"modified\":\"2030-01-01T00:00:00Z\",\"affected\":[{"
			 "\"package\":{\"ecosystem\":\"Go\",\"name\":\"example.com/cellscan/test\"},"
			 "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"}]}]}]}",
			 extra_id);
		if (vt_zip_add(a, "extra.json", rec, strlen(rec)) != 0)
			n = -1;
	}
	if (vt_zip_close(a) != 0)
		return -1;
	return n;
}

static int has_record(const char *db, const char *id)
{
	struct cs_vulndb *h = NULL;
	json_t *rec = NULL;
	int r;

	if (cs_vulndb_open(&h, db, 1) != 0)
		return -1;
	r = cs_vulndb_get(h, id, &rec) == 0;
	json_decref(rec);
	cs_vulndb_close(h);
	return r;
}

static int make_certs(void)
{
	char cakey[1200], ca[1200], key[1200], csr[1200], crt[1200], ext[1200];
	static const char extc[] = "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
				   "extendedKeyUsage=serverAuth\n";

	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(csr, sizeof(csr), "%s/srv.csr", dir);
	snprintf(crt, sizeof(crt), "%s/srv.pem", dir);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", dir);
	if (vt_write(ext, extc, sizeof(extc) - 1) != 0)
		return -1;
	{
		char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
				 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cakey, "-out",
				 ca, "-days", "2", "-subj", "/CN=cellscan test CA", "-addext",
				 "basicConstraints=critical,CA:TRUE", "-addext",
				 "keyUsage=critical,keyCertSign,cRLSign", NULL };

		if (vt_run(argv, 0) != 0)
			return -1;
	}
	{
		char *argv[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
				 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
				 csr, "-subj", "/CN=127.0.0.1", NULL };

		if (vt_run(argv, 0) != 0)
			return -1;
	}
	{
		char *argv[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
				 "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext, NULL };

		if (vt_run(argv, 0) != 0)
			return -1;
	}
	return 0;
}

static int start_server(char *base, size_t n)
{
	char script[4096], www[1200], crt[1200], key[1200], portfile[1200];
	uint8_t *port = NULL;
	size_t len;

	snprintf(script, sizeof(script), "%s/tests/vulndb/https_server.py", cs_test_source_dir());
	snprintf(www, sizeof(www), "%s/www", dir);
	snprintf(crt, sizeof(crt), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	server = fork();
	if (server < 0)
		return -1;
	if (server == 0) {
		char *argv[] = { "python3", script, www, crt, key, portfile, logpath, NULL };

		execvp(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && port == NULL; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		port = cs_test_read_file(portfile, &len);
		if (waitpid(server, NULL, WNOHANG) == server) {
			server = -1;
			break;
		}
	}
	if (port == NULL)
		return -1;
	snprintf(base, n, "https://127.0.0.1:%s", (char *)port);
	free(port);
	return 0;
}

int main(void)
{
	const char *shared = cs_test_shared();
	const char *ecos[] = { "PyPI", "Go", "Red Hat" };
	struct cs_vulndb_update_opts o = { 0 };
	struct cs_vulndb_update_stats st = { 0 };
	struct cs_vulndb *h = NULL;
	json_t *info = NULL, *s;
	char base[128], db[1200], p[1400], src[4096], ca[1200], d0[128], d1[128];
	struct stat sb0, sb1;
	size_t i;
	int r, n, zipped = 0;

	{
		char *py[] = { "python3", "-c", "import ssl, http.server", NULL };
		char *ossl[] = { "openssl", "version", NULL };

		if (vt_run(py, 0) != 0 || vt_run(ossl, 0) != 0) {
			printf("SKIP: python3 (with ssl) and the openssl tool are needed for the "
			       "loopback HTTPS server\n");
			return 77;
		}
	}
	vt_tmpdir(dir, sizeof(dir), "update");
	snprintf(logpath, sizeof(logpath), "%s/requests.log", dir);
	snprintf(db, sizeof(db), "%s/vulndb.sqlite", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	CHECK(make_certs() == 0);
	snprintf(p, sizeof(p), "%s/www", dir);
	mkdir(p, 0700);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/www/%s", dir, ecos[i]);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/www/%s/all.zip", dir, ecos[i]);
		snprintf(src, sizeof(src), "%s/fixtures/osv/records/%s", shared,
			 i == 2 ? "RedHat" : ecos[i]);
		n = make_zip(p, src, NULL);
		CHECK(n > 0);
		zipped += n > 0 ? n : 0;
	}
	if (start_server(base, sizeof(base)) != 0) {
		printf("SKIP: the loopback HTTPS server did not start\n");
		vt_rm_rf(dir);
		return 77;
	}
	o.source = base;
	o.ca_file = ca;
	o.ecosystems = ecos;
	o.n_ecosystems = 3;
	o.timeout_s = 60;

	/* 1. first update: three downloads, one new database */
	r = cs_vulndb_update(db, &o, &st);
	CHECK(r == 0);
	if (r != 0)
		fprintf(stderr, "update: %s\n", cs_err_msg());
	CHECK(st.requests == 3 && st.downloaded == 3 && st.not_modified == 0 && st.rebuilt);
	/* every record of the three archives (no id is in two of them) */
	CHECK(st.import.skipped == 0 && st.import.imported == (uint64_t)zipped);
	CHECK(count_log("200") == 3);
	CHECK(has_record(db, "GO-2020-0001") == 1);
	CHECK(has_record(db, "RHSA-2024:4546") == 1);
	CHECK(cs_vulndb_open(&h, db, 1) == 0 && cs_vulndb_info(h, &info) == 0);
	n = 0;
	json_array_foreach(json_object_get(info, "sources"), i, s) {
		const char *url = json_string_value(json_object_get(s, "url"));

		n++;
		CHECK(url != NULL && strncmp(url, base, strlen(base)) == 0);
		CHECK(json_is_string(json_object_get(s, "etag")));
		CHECK(json_is_string(json_object_get(s, "last_modified")));
		CHECK(json_integer_value(json_object_get(s, "records")) > 0);
		if (url != NULL && strstr(url, "Red") != NULL)
			CHECK(strstr(url, "/Red%20Hat/all.zip") != NULL);
	}
	CHECK(n == 3);
	json_decref(info);
	info = NULL;
	cs_vulndb_close(h);
	h = NULL;

	/* 2. nothing changed: one request per source, each a 304, and the
	 * database file is left alone (no rebuild). No ecosystem list given:
	 * the ones this source was updated with before are used. */
	vt_digest(db, d0, sizeof(d0));
	CHECK(stat(db, &sb0) == 0);
	memset(&st, 0, sizeof(st));
	o.ecosystems = NULL;
	o.n_ecosystems = 0;
	CHECK(cs_vulndb_update(db, &o, &st) == 0);
	CHECK(st.requests == 3 && st.not_modified == 3 && st.downloaded == 0 && !st.rebuilt);
	CHECK(count_log(NULL) == 6 && count_log("304") == 3);
	CHECK(stat(db, &sb1) == 0);
	CHECK(sb0.st_ino == sb1.st_ino && sb0.st_mtim.tv_sec == sb1.st_mtim.tv_sec &&
	      sb0.st_mtim.tv_nsec == sb1.st_mtim.tv_nsec);

	/* 3. Go changed, but the download is cut half-way: update fails, the
	 * old database stays, no temporary file is left */
	snprintf(p, sizeof(p), "%s/www/Go/all.zip", dir);
	snprintf(src, sizeof(src), "%s/fixtures/osv/records/Go", shared);
	CHECK(make_zip(p, src, "GO-CELLSCAN-TEST-1") > 0);
	snprintf(p, sizeof(p), "%s/www/Go/all.zip.cut", dir);
	CHECK(vt_write(p, "", 0) == 0);
	memset(&st, 0, sizeof(st));
	r = cs_vulndb_update(db, &o, &st);
	CHECK(r == CS_ENET);
	printf("interrupted download: %s\n", cs_err_msg());
	CHECK(count_log("200-cut") == 1);
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) == 0);
	CHECK(has_record(db, "GO-CELLSCAN-TEST-1") == 0);
	CHECK(vt_count_names(dir, ".dl.") == 0 && vt_count_names(dir, ".tmp.") == 0);
	unlink(p);

	/* 4. a certificate we were not told to trust: refused, nothing changes */
	memset(&st, 0, sizeof(st));
	o.ca_file = NULL;
	r = cs_vulndb_update(db, &o, &st);
	CHECK(r == CS_ENET);
	printf("untrusted certificate: %s\n", cs_err_msg());
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) == 0);
	o.ca_file = ca;

	/* 5. over the size cap: refused, nothing changes */
	memset(&st, 0, sizeof(st));
	o.max_download = 100;
	r = cs_vulndb_update(db, &o, &st);
	CHECK(r == CS_ELIMIT);
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) == 0);
	o.max_download = 0;

	/* 6. plain http is refused before any request */
	{
		struct cs_vulndb_update_opts h1 = o;

		h1.source = "http://127.0.0.1:1";
		memset(&st, 0, sizeof(st));
		CHECK(cs_vulndb_update(db, &h1, &st) == CS_EINVAL && st.requests == 0);
	}

	/* 7. the whole Go archive now: only Go is fetched again; the new
	 * record arrives, the others are kept */
	memset(&st, 0, sizeof(st));
	r = cs_vulndb_update(db, &o, &st);
	CHECK(r == 0);
	if (r != 0)
		fprintf(stderr, "update: %s\n", cs_err_msg());
	CHECK(st.requests == 3 && st.downloaded == 1 && st.not_modified == 2 && st.rebuilt);
	CHECK(st.import.imported == 1);
	CHECK(has_record(db, "GO-CELLSCAN-TEST-1") == 1);
	CHECK(has_record(db, "RHSA-2024:4546") == 1);
	vt_digest(db, d1, sizeof(d1));
	CHECK(strcmp(d0, d1) != 0);
	CHECK(vt_count_names(dir, ".dl.") == 0 && vt_count_names(dir, ".tmp.") == 0);

	stop_server();
	vt_rm_rf(dir);
	return cs_test_done();
}
