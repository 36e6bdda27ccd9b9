/*
 * test_results.c - storing and querying results: idempotent put, verdict
 * change detection and its alerts, report bytes kept exactly, image and
 * finding filters, findings by id or alias, the reverse index, stale
 * results, job_complete under a lost lease, and hostile inputs (huge JSON,
 * SQL metacharacters and unicode in names, bad digests, bad UTF-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/store/store_test.h"

#define DB1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DB2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static struct cs_store *s;
static char dA[72], dB[72], dC[72];

static int put(const char *digest, const char *repo, const char *tag, const char *verdict,
	       json_t *findings, json_t *keys, long long now, int *changed, char **prev)
{
	json_t *img = st_image(digest, repo, tag, DB1), *inv = st_inventory();
	char *rep = st_report(verdict, findings);
	int r;

	if (keys != NULL)
		json_object_set_new(img, "package_keys", keys);
	r = cs_store_put_result(s, img, inv, rep, now, changed, prev);
	json_decref(img);
	json_decref(inv);
	free(rep);
	return r;
}

static long long count_alerts(void)
{
	long long n = -1;

	CHECK_OK(cs_store_alert_pending(s, &n));
	return n;
}

static size_t nfindings(const char *digest, const char *sev, int fixable)
{
	struct cs_store_finding_filter f = {0, fixable};
	json_t *o = NULL;
	size_t n;

	CHECK_OK(cs_store_severity_mask(sev, &f.severities));
	CHECK_OK(cs_store_image_findings(s, digest, &f, &o));
	n = json_array_size(json_object_get(o, "findings"));
	json_decref(o);
	return n;
}

static void test_put_and_verdicts(void)
{
	int changed = -1;
	char *prev = (char *)"x";
	char *rep = NULL, *expect;
	json_t *f;

	/* A: unhealthy, first judgement -> alert-worthy. */
	f = json_pack("[o, o, o]", st_finding("CVE-2024-0001", "DEBIAN-CVE-2024-0001", "openssl",
					      "critical", 1),
		      st_finding("CVE-2024-0002", "GHSA-aaaa-bbbb-cccc", "zlib", "low", 0),
		      st_finding("CVE-2024-0003", NULL, "bash", "high", 1));
	json_object_set_new(json_array_get(f, 2), "ignored", json_true());
	CHECK_OK(put(dA, "registry.test/team/app", "1.0", "unhealthy", f,
		     json_pack("[{s:s, s:s}, {s:s, s:s}]", "ecosystem", "Debian:12", "name", "openssl",
			       "ecosystem", "Debian:12", "name", "zlib"), 100, &changed, &prev));
	CHECK(changed == 1);
	CHECK(prev == NULL);
	CHECK(count_alerts() == 1);
	/* The same result again: nothing changes, nothing duplicates. */
	f = json_pack("[o, o]", st_finding("CVE-2024-0001", "DEBIAN-CVE-2024-0001", "openssl",
					   "critical", 1),
		      st_finding("CVE-2024-0002", "GHSA-aaaa-bbbb-cccc", "zlib", "low", 0));
	CHECK_OK(put(dA, "registry.test/team/app", "1.0", "unhealthy", f,
		     json_pack("[{s:s, s:s}]", "ecosystem", "Debian:12", "name", "openssl"), 100,
		     &changed, &prev));
	CHECK(changed == 0);
	CHECK_STR(prev, "unhealthy");
	free(prev);
	CHECK(count_alerts() == 1);
	CHECK(nfindings(dA, "", -1) == 2);

	/* B: healthy on first sight -> no alert. */
	CHECK_OK(put(dB, "registry.test/team/web", "2.0", "healthy",
		     json_pack("[o]", st_finding("CVE-2024-0001", NULL, "openssl", "medium", 0)),
		     json_pack("[{s:s, s:s}]", "ecosystem", "Red Hat:enterprise_linux:9",
			       "name", "openssl"), 200, &changed, &prev));
	CHECK(changed == 0 && prev == NULL);
	CHECK(count_alerts() == 1);

	/* A becomes healthy later: a change, alerted. */
	CHECK_OK(put(dA, "registry.test/team/app", "1.1", "healthy", NULL,
		     json_pack("[{s:s, s:s}]", "ecosystem", "Debian:12", "name", "openssl"), 300,
		     &changed, &prev));
	CHECK(changed == 1);
	CHECK_STR(prev, "unhealthy");
	free(prev);
	CHECK(count_alerts() == 2);
	CHECK(nfindings(dA, "", -1) == 0);
	/* ... and unhealthy again, with the earlier findings. */
	f = json_pack("[o, o]", st_finding("CVE-2024-0001", "DEBIAN-CVE-2024-0001", "openssl",
					   "critical", 1),
		      st_finding("CVE-2024-0002", "GHSA-aaaa-bbbb-cccc", "zlib", "low", 0));
	CHECK_OK(put(dA, "registry.test/team/app", "1.0", "unhealthy", f,
		     json_pack("[{s:s, s:s}, {s:s, s:s}]", "ecosystem", "Debian:12", "name", "openssl",
			       "ecosystem", "Debian:12", "name", "zlib"), 400, &changed, &prev));
	CHECK(changed == 1);
	CHECK_STR(prev, "healthy");
	free(prev);

	/* An older result arriving late is ignored. */
	CHECK_OK(put(dA, "registry.test/team/app", "0.9", "healthy", NULL, NULL, 350, &changed,
		     &prev));
	CHECK(changed == 0);
	CHECK_STR(prev, "unhealthy");
	free(prev);
	CHECK(nfindings(dA, "", -1) == 2);

	/* The alert payload says what changed. */
	struct cs_store_alert a = {0};
	json_t *pl;
	CHECK_OK(cs_store_alert_claim(s, "sender", 30, 1000, &a));
	pl = a.payload != NULL ? json_loads(a.payload, 0, NULL) : NULL;
	CHECK_STR(json_string_value(json_object_get(pl, "verdict")), "unhealthy");
	CHECK(json_is_null(json_object_get(pl, "previous_verdict")));
	CHECK_STR(json_string_value(json_object_get(pl, "digest")), dA);
	CHECK(json_integer_value(json_object_get(json_object_get(pl, "counts"), "critical")) == 1);
	CHECK(json_integer_value(json_object_get(json_object_get(pl, "counts"), "high")) == 0);
	json_decref(pl);
	CHECK_OK(cs_store_alert_done(s, a.id, "sender", CS_STORE_OK, NULL, 1001));
	cs_store_alert_clear(&a);

	/* The report is returned byte for byte. */
	f = json_pack("[o, o]", st_finding("CVE-2024-0001", "DEBIAN-CVE-2024-0001", "openssl",
					   "critical", 1),
		      st_finding("CVE-2024-0002", "GHSA-aaaa-bbbb-cccc", "zlib", "low", 0));
	expect = st_report("unhealthy", f);
	CHECK_OK(cs_store_get_report(s, dA, &rep));
	CHECK_STR(rep, expect);
	free(rep);
	free(expect);
	CHECK(cs_store_get_report(s, dC, &rep) == CS_ENOTFOUND);
	CHECK(rep == NULL);
	CHECK_OK(cs_store_get_inventory(s, dA, &rep));
	CHECK(rep != NULL && strstr(rep, "\"openssl\"") != NULL);
	free(rep);
}

static void test_queries(void)
{
	json_t *o = NULL, *imgs, *f0;
	struct cs_store_image_filter flt = {0};
	int changed;

	/* Findings of A, filtered. */
	CHECK(nfindings(dA, "high,critical", -1) == 1);
	CHECK(nfindings(dA, "low", -1) == 1);
	CHECK(nfindings(dA, "medium", -1) == 0);
	CHECK(nfindings(dA, "", 1) == 1);
	CHECK(nfindings(dA, "", 0) == 1);
	CHECK(nfindings(dA, "critical", 0) == 0);
	CHECK_OK(cs_store_image_findings(s, dA, NULL, &o));
	f0 = json_array_get(json_object_get(o, "findings"), 0);
	CHECK_STR(json_string_value(json_object_get(f0, "id")), "CVE-2024-0001");
	CHECK_STR(json_string_value(json_object_get(f0, "severity")), "critical");
	CHECK(json_is_true(json_object_get(f0, "fixable")));
	CHECK_STR(json_string_value(json_object_get(f0, "fixed_version")), "1.0-2");
	CHECK_STR(json_string_value(json_object_get(json_object_get(f0, "package"), "name")), "openssl");
	CHECK_STR(json_string_value(json_array_get(json_object_get(f0, "aliases"), 0)),
		  "DEBIAN-CVE-2024-0001");
	json_decref(o);
	o = NULL;
	CHECK(cs_store_image_findings(s, dC, NULL, &o) == CS_ENOTFOUND);
	unsigned m;
	CHECK(cs_store_severity_mask("high,bogus", &m) == CS_EINVAL);
	CHECK_OK(cs_store_severity_mask(" High , critical", &m));
	CHECK(m == ((1u << CS_STORE_SEV_HIGH) | (1u << CS_STORE_SEV_CRITICAL)));

	/* Which images have a vulnerability: by id, by alias; ignored ones never. */
	CHECK_OK(cs_store_find_images_by_vuln(s, "CVE-2024-0001", &o));
	imgs = json_object_get(o, "images");
	CHECK(json_array_size(imgs) == 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(imgs, 0), "digest")), dA);
	CHECK_STR(json_string_value(json_object_get(json_array_get(imgs, 1), "verdict")), "healthy");
	json_decref(o);
	CHECK_OK(cs_store_find_images_by_vuln(s, "GHSA-aaaa-bbbb-cccc", &o));
	imgs = json_object_get(o, "images");
	CHECK(json_array_size(imgs) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(
		json_array_get(imgs, 0), "findings"), 0), "id")), "CVE-2024-0002");
	json_decref(o);
	CHECK_OK(cs_store_find_images_by_vuln(s, "CVE-2024-0003", &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 0);
	json_decref(o);

	/* C: another repository under the same team, unhealthy. */
	CHECK_OK(put(dC, "registry.test/other/db", "5", "unhealthy",
		     json_pack("[o]", st_finding("CVE-2023-9999", NULL, "libpq5", "high", 0)), NULL,
		     500, &changed, NULL));

	/* Images: all, by verdict, by repository (exact and prefix), paged. */
	CHECK_OK(cs_store_list_images(s, NULL, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 3);
	CHECK(json_is_null(json_object_get(o, "next")));
	json_decref(o);
	flt.verdict = "unhealthy";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	imgs = json_object_get(o, "images");
	CHECK(json_array_size(imgs) == 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(imgs, 0), "digest")), dA);
	CHECK_STR(json_string_value(json_object_get(json_array_get(imgs, 1), "digest")), dC);
	CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(imgs, 1), "counts"),
						 "high")) == 1);
	json_decref(o);
	flt.verdict = NULL;
	flt.repository = "registry.test/team/*";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 2);
	json_decref(o);
	flt.repository = "registry.test/team";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 0);
	json_decref(o);
	flt.repository = "registry.test/other/db";
	flt.verdict = "unhealthy";
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	imgs = json_object_get(o, "images");
	CHECK(json_array_size(imgs) == 1);
	/* the ref pushed, and repository@digest; sorted bytewise (':' < '@') */
	CHECK(json_array_size(json_object_get(json_array_get(imgs, 0), "refs")) == 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(json_array_get(imgs, 0), "refs"),
						   0)), "registry.test/other/db:5");
	json_decref(o);
	flt.repository = "registry.test/*/db";
	CHECK(cs_store_list_images(s, &flt, &o) == CS_EINVAL);
	/* Pages of one. */
	struct cs_store_image_filter pg = {0};
	char cursor[80] = "";
	const char *want[3] = {dA, dB, dC};
	pg.limit = 1;
	for (int i = 0; i < 3; i++) {
		pg.cursor = i == 0 ? NULL : cursor;
		CHECK_OK(cs_store_list_images(s, &pg, &o));
		imgs = json_object_get(o, "images");
		CHECK(json_array_size(imgs) == 1);
		CHECK_STR(json_string_value(json_object_get(json_array_get(imgs, 0), "digest")), want[i]);
		if (i < 2) {
			CHECK(json_is_string(json_object_get(o, "next")));
			snprintf(cursor, sizeof(cursor), "%s",
				 json_string_value(json_object_get(o, "next")) ?
				 json_string_value(json_object_get(o, "next")) : "");
		} else {
			CHECK(json_is_null(json_object_get(o, "next")));
		}
		json_decref(o);
	}
	/* One image. */
	CHECK_OK(cs_store_get_image(s, dB, &o));
	CHECK_STR(json_string_value(json_object_get(o, "verdict")), "healthy");
	CHECK_STR(json_string_value(json_object_get(o, "platform")), "linux/amd64");
	CHECK(json_integer_value(json_object_get(o, "first_seen")) == 200);
	json_decref(o);
}

struct digests {
	char got[8][80];
	int n;
};

static int collect(void *ctx, const char *digest)
{
	struct digests *d = ctx;

	if (d->n < 8)
		snprintf(d->got[d->n], sizeof(d->got[0]), "%s", digest);
	d->n++;
	return 0;
}

static int stop_at_first(void *ctx, const char *digest)
{
	(void)digest;
	(*(int *)ctx)++;
	return 42;
}

static void test_reverse_index(void)
{
	const char *q1[] = {"Debian:12", "openssl"};
	const char *q2[] = {"Red Hat:enterprise_linux:9::appstream", "openssl", "Debian:12", "zlib"};
	const char *q3[] = {"Debian:12", "openssl", "Debian:12", "zlib", "Debian:11", "openssl"};
	const char *q4[] = {"Red Hat:enterprise_linux:90", "openssl"};
	struct digests d = {0};
	int calls = 0;

	CHECK_OK(cs_store_images_for_packages(s, q1, 1, collect, &d));
	CHECK(d.n == 1);
	CHECK_STR(d.got[0], dA);
	memset(&d, 0, sizeof(d));
	CHECK_OK(cs_store_images_for_packages(s, q2, 2, collect, &d));
	CHECK(d.n == 2);
	CHECK_STR(d.got[0], dA);
	CHECK_STR(d.got[1], dB);
	memset(&d, 0, sizeof(d));
	/* One call per image however many of its packages match. */
	CHECK_OK(cs_store_images_for_packages(s, q3, 3, collect, &d));
	CHECK(d.n == 1);
	memset(&d, 0, sizeof(d));
	/* "...:90" is not covered by "...:9". */
	CHECK_OK(cs_store_images_for_packages(s, q4, 1, collect, &d));
	CHECK(d.n == 0);
	CHECK(cs_store_images_for_packages(s, q2, 2, stop_at_first, &calls) == 42);
	CHECK(calls == 1);
}

static void test_job_complete(void)
{
	struct cs_store_job j = {0}, k = {0};
	json_t *img, *inv;
	char *rep, d[72];
	long long id;
	int created, changed;

	st_digest(d, 0xd00d);
	CHECK_OK(cs_store_job_enqueue(s, "registry.test/x:1", d, "push", 10, &id, &created));
	CHECK_OK(cs_store_job_claim(s, "slow", 10, 2000, &j));
	CHECK_OK(cs_store_job_claim(s, "fast", 10, 2011, &k));
	CHECK(j.id == id && k.id == id);
	img = st_image(d, "registry.test/x", "1", DB2);
	inv = st_inventory();
	rep = st_report("unhealthy", NULL);
	/* The slow worker's result is refused whole: no image appears. */
	CHECK(cs_store_job_complete(s, id, "slow", img, inv, rep, 2012, &changed, NULL) ==
	      CS_ETIMEOUT);
	json_t *o = NULL;
	CHECK(cs_store_get_image(s, d, &o) == CS_ENOTFOUND);
	CHECK_OK(cs_store_job_complete(s, id, "fast", img, inv, rep, 2013, &changed, NULL));
	CHECK(changed == 1);
	CHECK_OK(cs_store_get_image(s, d, &o));
	CHECK_STR(json_string_value(json_object_get(o, "db_digest")), DB2);
	json_decref(o);
	cs_store_job_clear(&j);
	CHECK_OK(cs_store_job_get(s, id, &j));
	CHECK(j.state == CS_STORE_JOB_DONE);
	cs_store_job_clear(&j);
	cs_store_job_clear(&k);
	json_decref(img);
	json_decref(inv);
	free(rep);
}

static void test_hostile(void)
{
	const char *repo = "registry.test/'); DROP TABLE images; --/\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9"
			   "/\xf0\x9f\x90\xb3%_*";
	const char *like = "registry.test/%";
	char d[72], *rep;
	json_t *o = NULL, *img, *inv, *f;
	struct cs_store_image_filter flt = {0};
	struct cs_store_options opt;
	int changed;

	/* A '*' inside a stored name is data; filters only read a final '*'. */
	st_digest(d, 0xbad);
	CHECK_OK(put(d, repo, "t'\"", "unhealthy",
		     json_pack("[o]", st_finding("CVE-1'; DELETE FROM findings; --", NULL,
						 "p\xe2\x80\x8bkg", "critical", 1)), NULL, 600, &changed,
		     NULL));
	flt.repository = repo;
	/* the exact filter contains a '*' at the end: it is a prefix filter of
	 * the name without it, which still finds exactly this image */
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "images"), 0),
						    "repository")), repo);
	json_decref(o);
	/* LIKE metacharacters are not wildcards. */
	flt.repository = like;
	CHECK_OK(cs_store_list_images(s, &flt, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 0);
	json_decref(o);
	CHECK_OK(cs_store_find_images_by_vuln(s, "CVE-1'; DELETE FROM findings; --", &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 1);
	json_decref(o);
	CHECK(nfindings(dA, "", -1) == 2);  /* nothing was deleted */
	CHECK_OK(cs_store_list_images(s, NULL, &o));
	CHECK(json_array_size(json_object_get(o, "images")) == 5);
	json_decref(o);

	/* Refused, and nothing of them is stored. */
	img = st_image("sha256:XYZ", "r", "1", DB1);
	inv = st_inventory();
	rep = st_report("healthy", NULL);
	CHECK(cs_store_put_result(s, img, inv, rep, 700, &changed, NULL) == CS_EINVAL);
	json_decref(img);
	st_digest(d, 0xbad2);
	img = st_image(d, "r", "1", DB1);
	CHECK(cs_store_put_result(s, img, inv, "{\"verdict\": \"healthy\", \"findings\": [", 700,
				  &changed, NULL) == CS_EFORMAT);
	CHECK(cs_store_put_result(s, img, inv, "{\"verdict\": \"maybe\"}", 700, &changed, NULL) ==
	      CS_EFORMAT);
	CHECK(cs_store_put_result(s, img, inv, "{\"verdict\": \"healthy\", \"verdict\": \"unhealthy\"}",
				  700, &changed, NULL) == CS_EFORMAT);
	/* A finding without a package fails the whole result after the image
	 * row was written: the transaction takes it back. */
	CHECK(cs_store_put_result(s, img, inv,
				  "{\"verdict\": \"unhealthy\", \"findings\": [{\"id\": \"CVE-1\"}]}",
				  700, &changed, NULL) == CS_EFORMAT);
	CHECK(cs_store_get_image(s, d, &o) == CS_ENOTFOUND);
	json_object_set_new(img, "repository", json_string("bad\xff"));  /* jansson refuses */
	CHECK_STR(json_string_value(json_object_get(img, "repository")), "r");
	json_object_set_new(img, "repository", json_stringn_nocheck("bad\xff", 4));
	CHECK(cs_store_put_result(s, img, inv, rep, 700, &changed, NULL) == CS_EINVAL);
	json_decref(img);
	free(rep);

	/* Huge: a report with 20000 findings goes in and comes back whole. */
	f = json_array();
	for (int i = 0; i < 20000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "CVE-2020-%05d", i);
		json_array_append_new(f, st_finding(id, NULL, i % 2 ? "libc6" : "perl",
						    i % 3 ? "low" : "critical", i % 5 == 0));
	}
	rep = st_report("unhealthy", f);
	st_digest(d, 0xb16);
	img = st_image(d, "registry.test/huge", "1", DB1);
	CHECK_OK(cs_store_put_result(s, img, inv, rep, 800, &changed, NULL));
	CHECK(nfindings(d, "", -1) == 20000);
	CHECK(nfindings(d, "critical", 1) == 1334);  /* i % 15 == 0 below 20000 */
	char *back = NULL;
	CHECK_OK(cs_store_get_report(s, d, &back));
	CHECK(back != NULL && strcmp(back, rep) == 0);
	free(back);
	/* Over the configured cap: refused before parsing. */
	cs_store_options_default(&opt);
	opt.max_doc = 1 << 20;
	CHECK_OK(cs_store_set_options(s, &opt));
	CHECK(strlen(rep) > opt.max_doc);
	CHECK(cs_store_put_result(s, img, inv, rep, 900, &changed, NULL) == CS_ELIMIT);
	cs_store_options_default(&opt);
	CHECK_OK(cs_store_set_options(s, &opt));
	/* Deeply nested JSON is a parse error, not a crash. */
	{
		size_t n = 100000;
		char *deep = malloc(2 * n + 64);
		size_t k = 0;
		k += (size_t)snprintf(deep, 64, "{\"verdict\":\"healthy\",\"x\":");
		for (size_t i = 0; i < n; i++)
			deep[k++] = '[';
		for (size_t i = 0; i < n; i++)
			deep[k++] = ']';
		deep[k++] = '}';
		deep[k] = '\0';
		CHECK(cs_store_put_result(s, img, inv, deep, 901, &changed, NULL) == CS_EFORMAT);
		free(deep);
	}
	json_decref(img);
	json_decref(inv);
	free(rep);
	CHECK_OK(cs_store_check(s));
}

int main(void)
{
	char p[512];

	st_tmpdir();
	st_path(p, sizeof(p), "results.db");
	CHECK_OK(cs_store_open(&s, p));
	if (s == NULL)
		return cs_test_done();
	st_digest(dA, 0xa);
	st_digest(dB, 0xb);
	st_digest(dC, 0xc);
	test_put_and_verdicts();
	test_queries();
	test_reverse_index();
	test_job_complete();
	test_hostile();
	cs_store_close(s);
	st_cleanup();
	return cs_test_done();
}
