/*
 * test_rescan.c - `cellscan rescan` and serve's re-match after a database
 * update, on results the real pipeline stored.
 *
 * Two OCI layouts are made here from the Alpine minirootfs tarballs of
 * ../shared/fixtures/rootfs (3.20.3 and 3.18.9, one uncompressed layer each,
 * digests computed here with OpenSSL). The real scanner of serve
 * (cs_service_scanner_run: source, sandboxed worker, judge, report) scans
 * both into a store, against a database with one record that affects
 * neither. Then databases are imported from OSV records written here, each
 * naming a package and version the fixture's packages.txt lists:
 *  - zlib of Alpine:v3.20 (critical, fixed after the installed 1.3.1-r1):
 *    `cellscan rescan --config` turns the 3.20 image unhealthy, prints that
 *    change, stores a report with the finding (the same bytes a fresh scan
 *    writes against that database), queues an alert; the 3.18 image stays
 *    healthy; cs_vulndb_diff names exactly (Alpine:v3.20, zlib);
 *  - musl of Alpine:v3.18, swapped in while the service runs: its watcher
 *    re-judges exactly the 3.18 images (their db_digest moves, the 3.20
 *    image's does not), alerts, counts it;
 *  - a database appearing where there was none: every image re-matched;
 *  - -j 4 gives the same stored verdicts and reports as -j 1 on two copies
 *    of one store; a corrupt stored inventory is one failed image with a
 *    line naming its digest, exit 3, its stored data untouched, the others
 *    judged.
 * Needs the built cellscan and cellscan-worker (CS_BUILD_DIR) and a host
 * where the sandbox can run; skipped (77) otherwise, with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/service/internal.h"
#include "supervisor/service/service.h"
#include "supervisor/store/store.h"
#include "supervisor/vulndb/diff.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define CRITICAL "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

static char tmp[] = "/tmp/cellscan-rescan.XXXXXX";
static char cellscan[1024], worker[1024];

/* ---- small helpers ------------------------------------------------------ */

static void sha256_hex(char out[72], const void *p, size_t n)
{
	unsigned char d[32];
	unsigned int dl = 0;
	int i;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void put_blob(const char *dir, const void *p, size_t n, char digest[72])
{
	char path[600];

	sha256_hex(digest, p, n);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
	CHECK(write_file(path, p, n) == 0);
}

/* The tarball gunzipped (libarchive's raw format), malloc'd. */
static unsigned char *gunzip_file(const char *path, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned char *out = NULL, *p;
	size_t cap = 0, n = 0;
	la_ssize_t got;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	for (;;) {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 22;
			p = realloc(out, cap);
			if (p == NULL)
				break;
			out = p;
		}
		got = archive_read_data(a, out + n, cap - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	archive_read_free(a);
	*len = n;
	return out;
}

/* An OCI layout at dir with the tarball as its one layer, tag "latest";
 * its manifest digest in mdigest. */
static int make_layout(const char *dir, const char *tarball, char mdigest[72])
{
	char p[600], layer[72], cfgd[72];
	unsigned char *tar;
	size_t tlen = 0;
	json_t *cfg, *man, *idx;
	char *s;

	snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
	if (mkdir(dir, 0700) != 0 || snprintf(p, sizeof(p), "%s/blobs", dir) < 0 ||
	    mkdir(p, 0700) != 0 || snprintf(p, sizeof(p), "%s/blobs/sha256", dir) < 0 ||
	    mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/oci-layout", dir);
	if (write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30) != 0)
		return -1;
	tar = gunzip_file(tarball, &tlen);
	if (tar == NULL || tlen < 1024)
		return -1;
	put_blob(dir, tar, tlen, layer);
	free(tar);
	/* the service scans for the host platform; the layer is only data */
	cfg = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "os", "linux", "architecture", "amd64",
			"rootfs", "type", "layers", "diff_ids", layer);
	s = json_dumps(cfg, JSON_COMPACT);
	put_blob(dir, s, strlen(s), cfgd);
	free(s);
	json_decref(cfg);
	man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
			"mediaType", MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest", cfgd,
			"size", (json_int_t)0, "layers", "mediaType", MT_LAYER, "digest", layer,
			"size", (json_int_t)tlen);
	/* the config's real size */
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, cfgd + 7);
	{
		struct stat sb;
		if (stat(p, &sb) != 0)
			return -1;
		json_object_set_new(json_object_get(man, "config"), "size",
				    json_integer((json_int_t)sb.st_size));
	}
	s = json_dumps(man, JSON_COMPACT);
	put_blob(dir, s, strlen(s), mdigest);
	idx = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
			"mediaType", MT_MANIFEST, "digest", mdigest, "size", (json_int_t)strlen(s),
			"annotations", "org.opencontainers.image.ref.name", "latest");
	free(s);
	json_decref(man);
	s = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	snprintf(p, sizeof(p), "%s/index.json", dir);
	if (write_file(p, s, strlen(s)) != 0) {
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

static json_t *record(const char *id, const char *eco, const char *pkg, const char *fixed)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:{s:s, s:s}, "
			 "s:[{s:s, s:[{s:s}, {s:s}]}]}]}",
			 "schema_version", "1.6.0", "id", id, "modified", "2026-01-01T00:00:00Z",
			 "summary", "cellscan rescan test record", "severity", "type", "CVSS_V3",
			 "score", CRITICAL, "affected", "package", "ecosystem", eco, "name", pkg,
			 "ranges", "type", "ECOSYSTEM", "events", "introduced", "0", "fixed", fixed);
}

/* Imports one record (written to a file here) into dbpath. */
static int import_record(const char *dbpath, json_t *rec)
{
	char path[600];
	const char *src[1];
	struct cs_vulndb_import_stats st;
	int r;

	snprintf(path, sizeof(path), "%s/%s.json", tmp,
		 json_string_value(json_object_get(rec, "id")));
	r = json_dump_file(rec, path, 0);
	json_decref(rec);
	if (r != 0)
		return -1;
	src[0] = path;
	memset(&st, 0, sizeof(st));
	r = cs_vulndb_import(dbpath, src, 1, &st);
	if (r != 0)
		fprintf(stderr, "import: %s\n", cs_err_msg());
	return r == 0 && st.skipped == 0 ? 0 : -1;
}

static void db_digest_of(const char *dbpath, char out[80])
{
	struct cs_vulndb *db = NULL;

	out[0] = '\0';
	if (cs_vulndb_open(&db, dbpath, 1) == 0) {
		snprintf(out, 80, "%s", cs_vulndb_digest(db));
		cs_vulndb_close(db);
	}
}

/* Runs the cellscan binary with args; stdout and stderr into files. */
static int run_cli(const char *const *args, const char *out, const char *err)
{
	char *argv[32];
	pid_t pid;
	int st = 0, i;

	argv[0] = cellscan;
	for (i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		execv(cellscan, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
	size_t n;

	return (char *)cs_test_read_file(path, &n);
}

static json_t *image_of(struct cs_store *st, const char *digest)
{
	json_t *img = NULL;

	if (cs_store_get_image(st, digest, &img) != 0)
		return NULL;
	return img;
}

static const char *field(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* verdict and db_digest of a stored image, copied. */
static void state_of(struct cs_store *st, const char *digest, char verdict[32], char dbd[80])
{
	json_t *img = image_of(st, digest);

	snprintf(verdict, 32, "%s", field(img, "verdict"));
	snprintf(dbd, 80, "%s", field(img, "db_digest"));
	json_decref(img);
}

/* 1 when the stored report of digest has a finding with this id. */
static int report_has(struct cs_store *st, const char *digest, const char *id, const char *pkg)
{
	char *text = NULL;
	json_t *rep, *f;
	size_t i;
	int found = 0;

	if (cs_store_get_report(st, digest, &text) != 0)
		return 0;
	rep = json_loads(text, 0, NULL);
	free(text);
	json_array_foreach(json_object_get(rep, "findings"), i, f) {
		if (strcmp(field(f, "id"), id) == 0 &&
		    strcmp(field(json_object_get(f, "package"), "name"), pkg) == 0)
			found = 1;
	}
	json_decref(rep);
	return found;
}

static long long pending_alerts(struct cs_store *st)
{
	long long n = -1;

	if (cs_store_alert_pending(st, &n) != 0)
		return -1;
	return n;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	size_t n;
	uint8_t *b = cs_test_read_file(from, &n);
	int r;

	if (b == NULL)
		return -1;
	r = write_file(to, b, n);
	free(b);
	return r;
}

static int fail_scan(void *ctx, struct cs_service_scan *scan)
{
	(void)ctx;
	(void)scan;
	return cs_err_set(CS_EINVAL, "no scans in this test");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the test ------------------------------------------------------------ */

static char dbpath[600], cfgpath[600], storepath[600];
static char dx[72], dy[72];           /* manifest digests: 3.20 (X), 3.18 (Y) */
static char refx[700], refy[700];
static char db1[80], db2[80], db3[80];
static json_t *copies_x, *copies_y;   /* synthetic digests holding X's / Y's inventory */

static void load_cfg(struct cs_service_config *cfg)
{
	cs_service_config_init(cfg);
	CHECK(cs_service_config_load(cfg, cfgpath) == 0);
	CHECK(cs_service_config_finish(cfg) == 0);
}

/* Scans both layouts with serve's real scanner and stores the results. */
static int scan_and_store(void)
{
	struct cs_service_config cfg;
	struct cs_service_scanner *sc = NULL;
	struct cs_store_options so;
	struct cs_store *st = NULL;
	const char *refs[2] = { refx, refy };
	int i, r = -1, changed;

	load_cfg(&cfg);
	if (cs_service_scanner_new(&sc, &cfg) != 0) {
		fprintf(stderr, "scanner: %s\n", cs_err_msg());
		goto out;
	}
	cs_service_store_options(&cfg, &so);
	if (cs_store_open(&st, cfg.store_url) != 0 || cs_store_set_options(st, &so) != 0)
		goto out;
	for (i = 0; i < 2; i++) {
		struct cs_service_scan scan;
		memset(&scan, 0, sizeof(scan));
		scan.ref = refs[i];
		if (cs_service_scanner_run(sc, &scan) != 0) {
			printf("SKIP: the real pipeline cannot scan here: %s\n", cs_err_msg());
			cs_service_scan_clear(&scan);
			r = 77;
			goto out;
		}
		CHECK_STR(scan.resolved_digest, i == 0 ? dx : dy);
		CHECK(cs_store_put_result(st, scan.image, scan.inventory, scan.report_json,
					  (long long)time(NULL), &changed, NULL) == 0);
		CHECK(changed == 0);   /* healthy the first time: no alert */
		cs_service_scan_clear(&scan);
	}
	r = 0;
out:
	cs_store_close(st);
	cs_service_scanner_free(sc);
	cs_service_config_clear(&cfg);
	return r;
}

/* A fresh scan of ref against the current database: its report text. */
static char *fresh_report(const char *ref)
{
	struct cs_service_config cfg;
	struct cs_service_scanner *sc = NULL;
	struct cs_service_scan scan;
	char *out = NULL;

	load_cfg(&cfg);
	memset(&scan, 0, sizeof(scan));
	scan.ref = ref;
	if (cs_service_scanner_new(&sc, &cfg) == 0 && cs_service_scanner_run(sc, &scan) == 0) {
		out = scan.report_json;
		scan.report_json = NULL;
	}
	cs_service_scan_clear(&scan);
	cs_service_scanner_free(sc);
	cs_service_config_clear(&cfg);
	return out;
}

static void test_diff(void)
{
	struct cs_vulndb *a = NULL, *b = NULL;
	json_t *pairs = NULL, *want;
	size_t nrec = 0;

	CHECK(cs_vulndb_open(&a, dbpath, 1) == 0);
	CHECK(import_record(dbpath, record("CELLSCAN-RESCAN-A", "Alpine:v3.20", "zlib",
					   "1.3.1-r2")) == 0);
	CHECK(cs_vulndb_open(&b, dbpath, 1) == 0);
	db_digest_of(dbpath, db2);
	CHECK(strcmp(db1, db2) != 0);
	CHECK(cs_vulndb_diff(&pairs, &nrec, a, b) == 0);
	want = json_pack("[[s, s]]", "Alpine:v3.20", "zlib");
	CHECK(json_equal(pairs, want));
	CHECK(nrec == 1);
	json_decref(pairs);
	json_decref(want);
	/* and nothing between a database and itself */
	pairs = NULL;
	CHECK(cs_vulndb_diff(&pairs, &nrec, b, b) == 0 && json_array_size(pairs) == 0 && nrec == 0);
	json_decref(pairs);
	cs_vulndb_close(a);
	cs_vulndb_close(b);
}

static void test_rescan_cli(void)
{
	struct cs_store *st = NULL;
	char out[700], err[700], v[32], d[80], line[400], *text, *fresh, *stored = NULL;
	const char *args[] = { "rescan", "--config", cfgpath, "--all", "-j", "1", NULL };
	const char *gate[] = { "rescan", "--config", cfgpath, "--from", out, "--exit-code", "1",
			       NULL };
	long long before;
	struct cs_store_alert al;
	int rc;

	CHECK(cs_store_open(&st, storepath) == 0);
	before = pending_alerts(st);
	CHECK(before == 0);
	snprintf(out, sizeof(out), "%s/rescan.out", tmp);
	snprintf(err, sizeof(err), "%s/rescan.err", tmp);
	rc = run_cli(args, out, err);
	CHECK(rc == 0);
	text = slurp(out);
	CHECK(text != NULL);
	/* "DIGEST REPOSITORY: healthy -> unhealthy", for X only */
	CHECK(text != NULL && strstr(text, dx) != NULL && strstr(text, "healthy -> unhealthy") != NULL);
	CHECK(text != NULL && strstr(text, dy) == NULL);
	CHECK(text != NULL && strstr(text, "rescan: 2 images, 1 changed, 0 failed, ") != NULL);
	if (rc != 0 || text == NULL || strstr(text, "1 changed") == NULL) {
		char *e = slurp(err);
		fprintf(stderr, "rescan stdout:\n%s\nstderr:\n%s\n", text ? text : "", e ? e : "");
		free(e);
	}
	free(text);
	state_of(st, dx, v, d);
	CHECK_STR(v, "unhealthy");
	CHECK_STR(d, db2);
	CHECK(report_has(st, dx, "CELLSCAN-RESCAN-A", "zlib"));
	state_of(st, dy, v, d);
	CHECK_STR(v, "healthy");
	CHECK_STR(d, db2);
	CHECK(!report_has(st, dy, "CELLSCAN-RESCAN-A", "zlib"));
	/* the alert a serve scan would have queued, for X */
	CHECK(pending_alerts(st) == 1);
	memset(&al, 0, sizeof(al));
	CHECK(cs_store_alert_claim(st, "test:1", 60, (long long)time(NULL), &al) == 0);
	CHECK_STR(al.digest, dx);
	CHECK(al.payload != NULL && strstr(al.payload, "\"unhealthy\"") != NULL);
	if (al.id != 0)
		CHECK(cs_store_alert_done(st, al.id, "test:1", CS_STORE_OK, NULL,
					  (long long)time(NULL)) == 0);
	cs_store_alert_clear(&al);
	/* the stored report is the one a scan writes against this database,
	 * but for how that scan got its inventory ("layers": cached or not,
	 * "sandbox": the worker's run), which the stored inventory keeps from
	 * the first scan */
	fresh = fresh_report(refx);
	CHECK(fresh != NULL && cs_store_get_report(st, dx, &stored) == 0);
	{
		json_t *jf = json_loads(fresh ? fresh : "", 0, NULL);
		json_t *js = json_loads(stored ? stored : "", 0, NULL);
		CHECK(jf != NULL && js != NULL);
		CHECK(json_object_del(jf, "layers") == 0 && json_object_del(js, "layers") == 0);
		CHECK(json_object_del(jf, "sandbox") == 0 && json_object_del(js, "sandbox") == 0);
		CHECK(json_object_size(jf) > 10 && json_equal(jf, js));
		json_decref(jf);
		json_decref(js);
	}
	free(fresh);
	free(stored);
	cs_store_close(st);

	/* --from, --exit-code: nothing changes, X is unhealthy -> 1 */
	snprintf(line, sizeof(line), "# the two images\n%s\n\n%s\n%s\n", dx, dy, dx);
	CHECK(write_file(out, line, strlen(line)) == 0);
	snprintf(line, sizeof(line), "%s/gate.out", tmp);
	rc = run_cli(gate, line, err);
	CHECK(rc == 1);
	text = slurp(line);
	CHECK(text != NULL && strstr(text, "rescan: 2 images, 0 changed, 0 failed") != NULL);
	free(text);
	/* usage errors are 2 */
	{
		const char *bad1[] = { "rescan", "--config", cfgpath, NULL };
		const char *bad2[] = { "rescan", "--all", "--repository", "x", "--config", cfgpath,
				       NULL };
		const char *bad3[] = { "rescan", "--all", NULL };
		CHECK(run_cli(bad1, err, err) == 2);
		CHECK(run_cli(bad2, err, err) == 2);
		CHECK(run_cli(bad3, err, err) == 2);
	}
}

/* Copies of X's and Y's stored inventories under other digests, so that
 * the re-match and -j have more than two images. */
static void add_copies(void)
{
	struct cs_store *st = NULL;
	const char *src[2] = { dx, dy };
	int i, k;

	copies_x = json_array();
	copies_y = json_array();
	CHECK(cs_store_open(&st, storepath) == 0);
	for (i = 0; i < 2; i++) {
		char *inv_text = NULL, *rep = NULL;
		json_t *inv, *img;
		CHECK(cs_store_get_inventory(st, src[i], &inv_text) == 0);
		CHECK(cs_store_get_report(st, src[i], &rep) == 0);
		inv = json_loads(inv_text ? inv_text : "", 0, NULL);
		img = image_of(st, src[i]);
		for (k = 0; k < 5; k++) {
			char d[72], seed[64];
			json_t *copy;
			snprintf(seed, sizeof(seed), "copy-%d-%d", i, k);
			sha256_hex(d, seed, strlen(seed));
			copy = json_pack("{s:s, s:s, s:s, s:s, s:s}", "digest", d, "repository",
					 i == 0 ? "copies/x" : "copies/y", "platform", "linux/amd64",
					 "db_digest", "sha256:0000", "verdict", "healthy");
			/* the reverse index keys as the scan stored them */
			CHECK(cs_store_put_result(st, copy, inv, rep, (long long)time(NULL) - 100,
						  NULL, NULL) == 0);
			json_decref(copy);
			json_array_append_new(i == 0 ? copies_x : copies_y, json_string(d));
		}
		json_decref(img);
		json_decref(inv);
		free(inv_text);
		free(rep);
	}
	cs_store_close(st);
}

/* The copies' reverse index: the same package keys as the original (the
 * service's re-match finds images through it). */
static void index_copies(void)
{
	sqlite3 *h = NULL;
	char sql[600];
	size_t i;
	json_t *v;

	CHECK(sqlite3_open(storepath, &h) == SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	json_array_foreach(copies_x, i, v) {
		snprintf(sql, sizeof(sql), "INSERT INTO inventory_packages(ecosystem, name, digest)"
			 " SELECT ecosystem, name, '%s' FROM inventory_packages WHERE digest = '%s'",
			 json_string_value(v), dx);
		CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	json_array_foreach(copies_y, i, v) {
		snprintf(sql, sizeof(sql), "INSERT INTO inventory_packages(ecosystem, name, digest)"
			 " SELECT ecosystem, name, '%s' FROM inventory_packages WHERE digest = '%s'",
			 json_string_value(v), dy);
		CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	sqlite3_close(h);
}

static int wait_counters(struct cs_service *s, struct cs_service_rematch_counters *c,
			 unsigned long long images, int full)
{
	int t;

	for (t = 0; t < 600; t++) {
		cs_service_rematch_counters(s, c);
		if ((full ? c->runs_full : c->runs_diff) >= 1 && c->images >= images)
			return 1;
		sleep_ms(50);
	}
	return 0;
}

static void test_serve_rematch(void)
{
	struct cs_service_config cfg;
	struct cs_service *s = NULL;
	struct cs_service_rematch_counters c;
	struct cs_store *st = NULL;
	char v[32], d[80], *rep_before = NULL, *rep_after = NULL;
	size_t i;
	json_t *e;

	load_cfg(&cfg);
	cfg.vulndb_check_ms = 100;
	CHECK(cs_service_config_listen(&cfg, "127.0.0.1:0") == 0);
	CHECK(cs_service_start(&s, &cfg, fail_scan, NULL) == 0);
	if (s == NULL) {
		fprintf(stderr, "start: %s\n", cs_err_msg());
		cs_service_config_clear(&cfg);
		return;
	}
	CHECK(cs_store_open(&st, storepath) == 0);
	CHECK(cs_store_get_report(st, dx, &rep_before) == 0);
	sleep_ms(300);
	cs_service_rematch_counters(s, &c);
	CHECK(c.images == 0 && c.swaps == 0);   /* nothing to do at start */
	CHECK_STR(c.db_digest, db2);
	/* db update: a record for musl of Alpine:v3.18, Y's release */
	CHECK(import_record(dbpath, record("CELLSCAN-RESCAN-B", "Alpine:v3.18", "musl",
					   "1.2.4-r3")) == 0);
	db_digest_of(dbpath, db3);
	CHECK(wait_counters(s, &c, 6, 0));
	CHECK(c.runs_diff == 1 && c.runs_full == 0 && c.swaps == 1);
	CHECK(c.images == 6);          /* Y and its 5 copies, nothing else */
	CHECK(c.changed == 6 && c.failed == 0);
	CHECK_STR(c.db_digest, db3);
	state_of(st, dy, v, d);
	CHECK_STR(v, "unhealthy");
	CHECK_STR(d, db3);
	CHECK(report_has(st, dy, "CELLSCAN-RESCAN-B", "musl"));
	json_array_foreach(copies_y, i, e) {
		state_of(st, json_string_value(e), v, d);
		CHECK_STR(v, "unhealthy");
		CHECK_STR(d, db3);
	}
	/* X (and its copies) cannot be affected by a musl-of-3.18 record:
	 * not judged again, their result still says the old database */
	state_of(st, dx, v, d);
	CHECK_STR(v, "unhealthy");
	CHECK_STR(d, db2);
	CHECK(cs_store_get_report(st, dx, &rep_after) == 0);
	CHECK(rep_before != NULL && rep_after != NULL && strcmp(rep_before, rep_after) == 0);
	json_array_foreach(copies_x, i, e) {
		state_of(st, json_string_value(e), v, d);
		CHECK(strcmp(d, db3) != 0);
	}
	/* alerts for the six verdict changes are queued */
	CHECK(pending_alerts(st) == 6);
	/* the metric lines */
	{
		struct cs_buf b;
		struct svc_metrics snap;
		memset(&snap, 0, sizeof(snap));
		snap.rm_images = c.images;
		snap.rm_changed = c.changed;
		snap.rm_runs_diff = c.runs_diff;
		cs_buf_init(&b, 1 << 16);
		CHECK(svc_metrics_rematch_text(&snap, &b) == 0 && cs_buf_cstr(&b) == 0);
		CHECK(strstr((const char *)b.data,
			     "cellscan_rematch_images_total{result=\"changed\"} 6\n") != NULL);
		CHECK(strstr((const char *)b.data,
			     "cellscan_rematch_runs_total{kind=\"diff\"} 1\n") != NULL);
		cs_buf_free(&b);
	}
	cs_store_close(st);
	free(rep_before);
	free(rep_after);
	CHECK(cs_service_stop(s) == 0);
	cs_service_config_clear(&cfg);
}

/* A database where there was none: no diff, every image re-matched. */
static void test_serve_full(void)
{
	struct cs_service_config cfg;
	struct cs_service *s = NULL;
	struct cs_service_rematch_counters c;
	char other[700], dig[80], v[32], d[80];
	struct cs_store *st = NULL;

	snprintf(other, sizeof(other), "%s/later.sqlite", tmp);
	load_cfg(&cfg);
	free(cfg.vulndb);
	cfg.vulndb = strdup(other);
	cfg.vulndb_check_ms = 100;
	CHECK(cs_service_config_listen(&cfg, "127.0.0.1:0") == 0);
	CHECK(cs_service_start(&s, &cfg, fail_scan, NULL) == 0);
	if (s == NULL) {
		cs_service_config_clear(&cfg);
		return;
	}
	CHECK(import_record(other, record("CELLSCAN-RESCAN-0", "Alpine:v3.20", "no-such-package",
					  "1.0-r0")) == 0);
	db_digest_of(other, dig);
	CHECK(wait_counters(s, &c, 12, 1));
	CHECK(c.runs_full == 1 && c.runs_diff == 0 && c.images == 12 && c.failed == 0);
	CHECK(cs_service_stop(s) == 0);
	cs_service_config_clear(&cfg);
	CHECK(cs_store_open(&st, storepath) == 0);
	state_of(st, dx, v, d);
	CHECK_STR(v, "healthy");      /* that database has nothing for it */
	CHECK_STR(d, dig);
	cs_store_close(st);
}

/* -j 1 and -j 4 on two copies of the store; then a corrupt inventory. */
static void test_threads_and_corrupt(void)
{
	char s1[700], s2[700], out[700], err[700], *t1, *t2;
	const char *j1[] = { "rescan", "--store", s1, "--db", dbpath, "--all", "-j", "1",
			     "--no-alerts", NULL };
	const char *j4[] = { "rescan", "--store", s2, "--db", dbpath, "--all", "-j", "4",
			     "--no-alerts", NULL };
	struct cs_store *a = NULL, *b = NULL;
	json_t *all = NULL, *e;
	size_t i;
	int rc;

	snprintf(s1, sizeof(s1), "%s/j1.sqlite", tmp);
	snprintf(s2, sizeof(s2), "%s/j4.sqlite", tmp);
	snprintf(out, sizeof(out), "%s/j.out", tmp);
	snprintf(err, sizeof(err), "%s/j.err", tmp);
	/* every connection is closed: the WAL is checkpointed into the file */
	CHECK(copy_file(storepath, s1) == 0 && copy_file(storepath, s2) == 0);
	rc = run_cli(j1, out, err);
	CHECK(rc == 0);
	t1 = slurp(out);
	rc = run_cli(j4, out, err);
	CHECK(rc == 0);
	t2 = slurp(out);
	/* X and its copies were healthy against later.sqlite; the current
	 * database flags zlib of 3.20 and musl of 3.18: all 12 change */
	CHECK(t1 != NULL && strstr(t1, "rescan: 12 images, 12 changed, 0 failed") != NULL);
	CHECK(t2 != NULL && strstr(t2, "rescan: 12 images, 12 changed, 0 failed") != NULL);
	free(t1);
	free(t2);
	CHECK(cs_store_open(&a, s1) == 0 && cs_store_open(&b, s2) == 0);
	CHECK(cs_service_stored_images(&all, a, NULL) == 0 && json_array_size(all) == 12);
	json_array_foreach(all, i, e) {
		char *ra = NULL, *rb = NULL, va[32], vb[32], da[80], dbb[80];
		state_of(a, json_string_value(e), va, da);
		state_of(b, json_string_value(e), vb, dbb);
		CHECK_STR(va, "unhealthy");
		CHECK_STR(va, vb);
		CHECK_STR(da, db3);
		CHECK_STR(da, dbb);
		CHECK(cs_store_get_report(a, json_string_value(e), &ra) == 0);
		CHECK(cs_store_get_report(b, json_string_value(e), &rb) == 0);
		CHECK(ra != NULL && rb != NULL && strcmp(ra, rb) == 0);
		free(ra);
		free(rb);
	}
	cs_store_close(a);
	cs_store_close(b);
	json_decref(all);

	/* a corrupt inventory: that image fails, named; the others are judged */
	{
		const char *bad = json_string_value(json_array_get(copies_x, 2));
		const char *bad2 = json_string_value(json_array_get(copies_y, 0));
		const char *args[] = { "rescan", "--store", s1, "--db", dbpath, "--all", "-j", "4",
				       "--policy", "", NULL };
		char sql[600], *before = NULL, *after = NULL, *inv_after = NULL, v[32], d[80];
		char later[700], *e1;
		sqlite3 *h = NULL;

		snprintf(later, sizeof(later), "%s/later.sqlite", tmp);
		args[4] = later;      /* back to the database that flags nothing */
		args[8] = "--no-alerts";
		args[9] = NULL;
		CHECK(sqlite3_open(s1, &h) == SQLITE_OK);
		snprintf(sql, sizeof(sql), "UPDATE inventories SET inventory = '{\"schema\": broken'"
			 " WHERE digest = '%s'", bad);
		CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
		/* valid JSON that is no inventory fails the judge step */
		snprintf(sql, sizeof(sql), "UPDATE inventories SET inventory = '{\"schema\": "
			 "\"cellscan-inventory/1\", \"image\": {}, \"packages\": 7}'"
			 " WHERE digest = '%s'", bad2);
		CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_close(h);
		CHECK(cs_store_open(&a, s1) == 0);
		CHECK(cs_store_get_report(a, bad, &before) == 0);
		cs_store_close(a);
		rc = run_cli(args, out, err);
		CHECK(rc == 3);
		t1 = slurp(out);
		e1 = slurp(err);
		CHECK(t1 != NULL && strstr(t1, "rescan: 12 images, 10 changed, 2 failed") != NULL);
		CHECK(e1 != NULL && strstr(e1, bad) != NULL && strstr(e1, bad2) != NULL);
		CHECK(e1 != NULL && strstr(e1, "not JSON") != NULL);
		free(t1);
		free(e1);
		CHECK(cs_store_open(&a, s1) == 0);
		CHECK(cs_store_get_report(a, bad, &after) == 0);
		CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
		CHECK(cs_store_get_inventory(a, bad, &inv_after) == 0);
		CHECK_STR(inv_after, "{\"schema\": broken");
		state_of(a, bad, v, d);
		CHECK_STR(v, "unhealthy");
		CHECK_STR(d, db3);
		state_of(a, dx, v, d);
		CHECK_STR(v, "healthy");
		CHECK(strcmp(d, db3) != 0);
		cs_store_close(a);
		free(before);
		free(after);
		free(inv_after);
	}
}

int main(void)
{
	const char *shared = cs_test_shared();
	const char *build = getenv("CS_BUILD_DIR");
	char tarx[600], tary[600], lx[600], ly[600], secret[600], text[3000];
	struct stat sb;
	int r;

	if (build == NULL) {
		printf("SKIP: CS_BUILD_DIR is not set (run under ctest)\n");
		return 77;
	}
	snprintf(cellscan, sizeof(cellscan), "%s/bin/cellscan", build);
	snprintf(worker, sizeof(worker), "%s/libexec/cellscan/cellscan-worker", build);
	if (stat(cellscan, &sb) != 0 || stat(worker, &sb) != 0) {
		printf("SKIP: %s or %s is not built\n", cellscan, worker);
		return 77;
	}
	unsetenv("SOURCE_DATE_EPOCH");
	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(tarx, sizeof(tarx), "%s/fixtures/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz",
		 shared);
	snprintf(tary, sizeof(tary), "%s/fixtures/rootfs/alpine-minirootfs-3.18.9-aarch64.tar.gz",
		 shared);
	snprintf(lx, sizeof(lx), "%s/alpine320", tmp);
	snprintf(ly, sizeof(ly), "%s/alpine318", tmp);
	CHECK(make_layout(lx, tarx, dx) == 0);
	CHECK(make_layout(ly, tary, dy) == 0);
	snprintf(refx, sizeof(refx), "oci:%s:latest", lx);
	snprintf(refy, sizeof(refy), "oci:%s:latest", ly);

	snprintf(dbpath, sizeof(dbpath), "%s/vulndb.sqlite", tmp);
	CHECK(import_record(dbpath, record("CELLSCAN-RESCAN-0", "Alpine:v3.20", "no-such-package",
					   "1.0-r0")) == 0);
	db_digest_of(dbpath, db1);
	CHECK(db1[0] != '\0');
	snprintf(secret, sizeof(secret), "%s/alert.secret", tmp);
	CHECK(write_file(secret, "s3cret\n", 7) == 0);
	snprintf(storepath, sizeof(storepath), "%s/state/cellscan.sqlite", tmp);
	snprintf(cfgpath, sizeof(cfgpath), "%s/serve.json", tmp);
	snprintf(text, sizeof(text),
		 "{\"state_dir\": \"%s/state\", \"vulndb\": \"%s\", \"worker\": \"%s\","
		 " \"instance\": \"rescan-test\", \"allow_local_sources\": true,"
		 " \"alerts\": [{\"url\": \"http://127.0.0.1:9/alerts\", \"secret_file\": \"%s\"}]}",
		 tmp, dbpath, worker, secret);
	CHECK(write_file(cfgpath, text, strlen(text)) == 0);

	r = scan_and_store();
	if (r == 77) {
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		return 77;
	}
	CHECK(r == 0);
	if (r == 0) {
		test_diff();
		test_rescan_cli();
		add_copies();
		index_copies();
		test_serve_rematch();
		test_serve_full();
		test_threads_and_corrupt();
	}
	json_decref(copies_x);
	json_decref(copies_y);
	if (cs_test_failures == 0)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "kept %s for a look\n", tmp);
	return cs_test_done();
}
