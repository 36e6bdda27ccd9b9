/*
 * Matching throughput: 10,000 packages of a Debian 12 image against a
 * vulnerability database (the synthetic 200,000-record set), through the
 * same cs_scan_match the scanner uses. Baseline in the same run: only the
 * database look-ups those packages need, with a callback that does nothing.
 *
 *   match_bench DB [N_PACKAGES]          the benchmark (Markdown table)
 *   match_bench --dump DB INVENTORY      cs_scan_match's output for an
 *                                        inventory file (db.built removed)
 *   match_bench --verify DB [INVENTORY]  compares cs_scan_match with the
 *                                        reference below; exit 0 when equal
 *
 * The reference is the matching loop as it was before the look-up cache
 * (docs/vulndb.md, "Lookups"): every key looked up with cs_vulndb_lookup,
 * every record parsed per package, cs_match_record per (package, record),
 * one cs_match_dedupe over all findings. --verify without an inventory uses
 * the benchmark's synthetic one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/match/match.h"
#include "supervisor/scan/scan.h"
#include "supervisor/vulndb/vulndb.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int noop_row(void *ctx, long long rec, const void *row, size_t len)
{
	(*(size_t *)ctx)++;
	(void)rec;
	(void)row;
	(void)len;
	return 0;
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

/* The floor for the JSON step: n plain jansson objects with as many members
 * as a finding has (14, 6 of them in a nested object), short strings. */
static double jansson_floor(size_t n)
{
	static const char *const keys[] = {"id", "aliases", "summary", "package", "ecosystem",
		"installed_version", "fixed_version", "fix_state", "severity", "distro_severity",
		"advisory", "match", "via", "looked_up", "range_type", "range", "reason", "upstream",
		"extra1", "extra2"};
	json_t *a = json_array();
	double s = now(), d;
	size_t i, k;

	for (i = 0; i < n; i++) {
		json_t *o = json_object(), *m = json_object();

		for (k = 0; k < 14; k++)
			json_object_set_new_nocheck(o, keys[k], json_string_nocheck("value"));
		for (k = 14; k < 20; k++)
			json_object_set_new_nocheck(m, keys[k], json_string_nocheck("value"));
		json_object_set_new_nocheck(o, "m", m);
		json_array_append_new(a, o);
	}
	d = now() - s;
	json_decref(a);
	return d;
}

static int noop(void *ctx, json_t *rec)
{
	(*(size_t *)ctx)++;
	(void)rec;
	return 0;
}

/* ---- the reference: the matching loop before the look-up cache ---- */

struct ref_ctx {
	const json_t *pkg;
	const char *eco;
	json_t *findings, *notes, *seen;
};

static int ref_record(void *vctx, json_t *record)
{
	struct ref_ctx *c = vctx;
	const char *id = json_string_value(json_object_get(record, "id"));
	json_t *f = NULL;
	int r;

	if (id == NULL || json_object_get(c->seen, id) != NULL)
		return 0;
	json_object_set_new(c->seen, id, json_true());
	r = cs_match_record(&f, record, c->pkg, c->eco, c->notes);
	if (r == CS_ENOMEM)
		return r;
	if (r != 0) {
		json_array_append_new(c->notes, json_pack("{s:s, s:s}", "id", id, "reason",
							  cs_err_msg()));
		return 0;
	}
	if (f != NULL)
		json_array_append_new(c->findings, f);
	return 0;
}

static int ref_match(json_t **out, const json_t *inventory, struct cs_vulndb *db)
{
	char eco[CS_MATCH_ECOSYSTEM_MAX], reason[512] = "";
	const json_t *os = json_object_get(inventory, "os");
	json_t *findings = json_array(), *notes = json_array(), *pkg, *doc = NULL;
	size_t i, matched = 0;
	int supported, r = 0;

	*out = NULL;
	supported = cs_match_ecosystem_for_os(eco, sizeof(eco), json_is_object(os) ? os : NULL) == 0;
	if (!supported)
		snprintf(reason, sizeof(reason), "%s", cs_err_msg());
	json_array_foreach(json_object_get(inventory, "packages"), i, pkg) {
		json_t *keys = NULL, *key;
		struct ref_ctx c = { pkg, supported ? eco : NULL, findings, notes, json_object() };
		size_t k;

		if (cs_match_query_keys(&keys, pkg, supported ? eco : NULL) != 0) {
			json_decref(keys);
			json_decref(c.seen);
			continue;
		}
		json_array_foreach(keys, k, key) {
			r = cs_vulndb_lookup(db, json_string_value(json_object_get(key, "ecosystem")),
					     json_string_value(json_object_get(key, "name")), ref_record, &c);
			if (r != 0)
				break;
		}
		json_decref(c.seen);
		json_decref(keys);
		if (r != 0)
			goto out;
		matched++;
	}
	if ((r = cs_match_dedupe(findings)) != 0)
		goto out;
	doc = json_pack("{s:o, s:b, s:O, s:O, s:I, s:{s:s, s:s}}",
			"ecosystem", supported ? json_string(eco) : json_null(),
			"os_supported", supported, "findings", findings, "notes", notes,
			"packages_matched", (json_int_t)matched,
			"db", "digest", cs_vulndb_digest(db), "built", cs_vulndb_build_time(db));
	if (doc != NULL && !supported)
		json_object_set_new(doc, "unsupported_reason", json_string(reason));
	if (doc == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	json_decref(findings);
	json_decref(notes);
	if (r == 0)
		*out = doc;
	return r;
}

/* ---- the synthetic inventory ---- */

static json_t *synthetic_inventory(int n)
{
	json_t *pkgs = json_array();
	int i;

	/* half the names exist in the synthetic data, half do not */
	srand(42);
	for (i = 0; i < n; i++) {
		char name[64], ver[64];

		if (i % 2 == 0)
			snprintf(name, sizeof(name), "synthetic-pkg-%d", (i / 2) % 5000);
		else
			snprintf(name, sizeof(name), "lib-none-%d", i);
		snprintf(ver, sizeof(ver), "%d.%d.%d-%d+deb12u%d", rand() % 9 + 1, rand() % 20,
			 rand() % 9, rand() % 5 + 1, rand() % 4 + 1);
		json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
						      "dpkg", "name", name, "version", ver, "arch", "amd64",
						      "source_name", name, "source_version", ver,
						      "db", "var/lib/dpkg/status"));
	}
	return json_pack("{s:{s:s, s:s}, s:o}", "os", "id", "debian", "version_id", "12",
			 "packages", pkgs);
}

static json_t *load_inventory(const char *path)
{
	json_error_t jerr;
	json_t *inv = json_load_file(path, 0, &jerr);

	if (inv == NULL)
		fprintf(stderr, "%s: line %d: %s\n", path, jerr.line, jerr.text);
	return inv;
}

static int dump(struct cs_vulndb *db, const char *inv_path)
{
	json_t *inv = load_inventory(inv_path), *out = NULL;

	if (inv == NULL)
		return 2;
	if (cs_scan_match(&out, inv, db) != 0) {
		fprintf(stderr, "match: %s\n", cs_err_msg());
		json_decref(inv);
		return 1;
	}
	json_object_del(json_object_get(out, "db"), "built");
	json_dumpf(out, stdout, JSON_SORT_KEYS | JSON_INDENT(1));
	putchar('\n');
	json_decref(out);
	json_decref(inv);
	return 0;
}

/* Names the first difference between two findings/notes arrays. */
static void explain(const char *what, json_t *a, json_t *b)
{
	size_t i, n = json_array_size(a) < json_array_size(b) ? json_array_size(a) :
		json_array_size(b);

	if (json_array_size(a) != json_array_size(b))
		fprintf(stderr, "%s: %zu (new) vs %zu (reference)\n", what, json_array_size(a),
			json_array_size(b));
	for (i = 0; i < n; i++) {
		if (!json_equal(json_array_get(a, i), json_array_get(b, i))) {
			char *x = json_dumps(json_array_get(a, i), JSON_SORT_KEYS | JSON_COMPACT);
			char *y = json_dumps(json_array_get(b, i), JSON_SORT_KEYS | JSON_COMPACT);

			fprintf(stderr, "%s[%zu] differs:\n new: %.2000s\n ref: %.2000s\n", what, i,
				x ? x : "?", y ? y : "?");
			free(x);
			free(y);
			return;
		}
	}
}

static int verify(struct cs_vulndb *db, const char *inv_path)
{
	json_t *inv = inv_path != NULL ? load_inventory(inv_path) : synthetic_inventory(10000);
	json_t *got = NULL, *want = NULL, *f;
	double t0, t1, t2;
	size_t i, merged = 0;
	int ok;

	if (inv == NULL)
		return 2;
	t0 = now();
	if (cs_scan_match(&got, inv, db) != 0) {
		fprintf(stderr, "match: %s\n", cs_err_msg());
		return 1;
	}
	t1 = now();
	if (ref_match(&want, inv, db) != 0) {
		fprintf(stderr, "reference: %s\n", cs_err_msg());
		return 1;
	}
	t2 = now();
	ok = json_equal(got, want);
	json_array_foreach(json_object_get(want, "findings"), i, f)
		merged += json_object_get(f, "merged") != NULL;
	printf("%s: %zu packages, %zu findings (%zu merged), %zu notes; cs_scan_match %.1f ms, "
	       "reference %.1f ms\n", ok ? "equal" : "DIFFERENT",
	       json_array_size(json_object_get(inv, "packages")),
	       json_array_size(json_object_get(want, "findings")), merged,
	       json_array_size(json_object_get(want, "notes")), (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	if (!ok) {
		explain("findings", json_object_get(got, "findings"), json_object_get(want, "findings"));
		explain("notes", json_object_get(got, "notes"), json_object_get(want, "notes"));
	}
	json_decref(got);
	json_decref(want);
	json_decref(inv);
	return ok ? 0 : 1;
}

static int bench(struct cs_vulndb *db, int n)
{
	json_t *inv = synthetic_inventory(n), *pkgs = json_object_get(inv, "packages"), *out = NULL;
	double t[5], c[5], b[5], rw[5], jp[3], mr[5], mj[5], jf[5], pc[5];
	struct cs_policy *pol = NULL;
	struct cs_policy_input pin;
	struct cs_match_source src = { db, src_rows, src_header };
	size_t nhits = 0;
	size_t findings = 0, hits = 0, rows = 0;
	int i, k;

	for (k = 0; k < 5; k++) {
		double s = now(), sc = cpu_now();

		if (cs_scan_match(&out, inv, db) != 0) {
			fprintf(stderr, "match: %s\n", cs_err_msg());
			return 1;
		}
		t[k] = now() - s;
		c[k] = cpu_now() - sc;
		findings = json_array_size(json_object_get(out, "findings"));
		json_decref(out);
		/* the same in its two steps, right after, in the same conditions */
		{
			json_t *f = json_array(), *notes = json_array();
			struct cs_match_result *res = NULL;
			double s0 = now(), s1;

			if (cs_match_run(&res, pkgs, "Debian:12", &src, notes) != 0) {
				fprintf(stderr, "match: %s\n", cs_err_msg());
				return 1;
			}
			s1 = now();
			if (cs_match_result_findings(res, f) != 0) {
				fprintf(stderr, "match: %s\n", cs_err_msg());
				return 1;
			}
			mr[k] = s1 - s0;
			mj[k] = now() - s1;
			nhits = cs_match_result_hits(res);
			cs_match_result_free(res);
			json_decref(f);
			json_decref(notes);
		}
	}
	for (k = 0; k < 5; k++) {
		double s = now();

		hits = 0;
		for (i = 0; i < n; i++)
			cs_vulndb_lookup(db, "Debian:12",
					 json_string_value(json_object_get(json_array_get(pkgs, (size_t)i),
									   "source_name")), noop, &hits);
		b[k] = now() - s;
	}
	for (k = 0; k < 5; k++) {
		double s = now();

		rows = 0;
		for (i = 0; i < n; i++)
			cs_vulndb_rows(db, "Debian:12",
				       json_string_value(json_object_get(json_array_get(pkgs, (size_t)i),
									 "source_name")), noop_row, &rows);
		rw[k] = now() - s;
	}
	for (k = 0; k < 3; k++) {
		double s = now();

		if (ref_match(&out, inv, db) != 0) {
			fprintf(stderr, "reference: %s\n", cs_err_msg());
			return 1;
		}
		jp[k] = now() - s;
		json_decref(out);
	}
	for (k = 0; k < 5; k++)
		jf[k] = jansson_floor(findings);
	/* What scan does next with the findings: the policy's classification
	 * (default policy). */
	if (cs_policy_default(&pol) != 0) {
		fprintf(stderr, "policy: %s\n", cs_err_msg());
		return 1;
	}
	memset(&pin, 0, sizeof(pin));
	pin.today = "2026-11-28";
	for (k = 0; k < 5; k++) {
		json_t *cls = NULL;
		double s0;

		if (cs_scan_match(&out, inv, db) != 0)
			return 1;
		s0 = now();
		if (cs_policy_classify(&cls, pol, json_object_get(out, "findings"), &pin) != 0) {
			fprintf(stderr, "classify: %s\n", cs_err_msg());
			return 1;
		}
		pc[k] = now() - s0;
		json_decref(cls);
		json_decref(out);
	}
	cs_policy_free(pol);
	qsort(pc, 5, sizeof(double), cmp);
	qsort(jf, 5, sizeof(double), cmp);
	qsort(mr, 5, sizeof(double), cmp);
	qsort(mj, 5, sizeof(double), cmp);
	qsort(jp, 3, sizeof(double), cmp);
	qsort(rw, 5, sizeof(double), cmp);
	qsort(t, 5, sizeof(double), cmp);
	qsort(c, 5, sizeof(double), cmp);
	qsort(b, 5, sizeof(double), cmp);
	printf("| what | median of 5 | min |\n|---|---|---|\n");
	printf("| cs_scan_match, %d packages -> %zu findings | %.1f ms | %.1f ms |\n", n, findings,
	       t[2] * 1e3, t[0] * 1e3);
	printf("| the same, CPU time of the process | %.1f ms | %.1f ms |\n",
	       c[2] * 1e3, c[0] * 1e3);
	printf("| of which the matching, cs_match_run (look-ups, evaluation, headers, merge decisions; %zu matches) | %.1f ms | %.1f ms |\n",
	       nhits, mr[2] * 1e3, mr[0] * 1e3);
	printf("| of which the findings as JSON, cs_match_result_findings | %.1f ms | %.1f ms |\n",
	       mj[2] * 1e3, mj[0] * 1e3);
	printf("| then the policy's classification of those findings, cs_policy_classify (default policy) | %.1f ms | %.1f ms |\n",
	       pc[2] * 1e3, pc[0] * 1e3);
	printf("| baseline: %zu bare jansson objects of 20 string members (14 + 6 nested), the floor of that step | %.1f ms | %.1f ms |\n",
	       findings, jf[2] * 1e3, jf[0] * 1e3);
	printf("| baseline: the %d database look-ups alone, cs_vulndb_lookup (%zu records) | %.1f ms | %.1f ms |\n",
	       n, hits, b[2] * 1e3, b[0] * 1e3);
	printf("| the compiled rows of those look-ups alone, cs_vulndb_rows (%zu rows) | %.1f ms | %.1f ms |\n",
	       rows, rw[2] * 1e3, rw[0] * 1e3);
	printf("| baseline: the per-record JSON path (cs_vulndb_lookup, cs_match_record, cs_match_dedupe), median of 3 | %.1f ms | %.1f ms |\n",
	       jp[1] * 1e3, jp[0] * 1e3);
	json_decref(inv);
	return 0;
}

int main(int argc, char **argv)
{
	struct cs_vulndb *db = NULL;
	const char *mode = argc > 1 && strncmp(argv[1], "--", 2) == 0 ? argv[1] : NULL;
	int a = mode != NULL ? 2 : 1, r, n;

	if (argc <= a || (mode != NULL && strcmp(mode, "--dump") == 0 && argc <= a + 1)) {
		fprintf(stderr, "usage: match_bench DB [N] | --dump DB INVENTORY | "
			"--verify DB [INVENTORY]\n");
		return 2;
	}
	if (mode != NULL && strcmp(mode, "--write-synthetic") == 0) {
		/* match_bench --write-synthetic N FILE: the benchmark's inventory */
		json_t *inv = synthetic_inventory((int)strtol(argv[a], NULL, 10));

		r = argc > a + 1 && json_dump_file(inv, argv[a + 1], JSON_COMPACT) == 0 ? 0 : 2;
		json_decref(inv);
		return r;
	}
	if (cs_vulndb_open(&db, argv[a], 1) != 0) {
		fprintf(stderr, "%s\n", cs_err_msg());
		return 1;
	}
	if (mode == NULL) {
		n = argc > a + 1 ? (int)strtol(argv[a + 1], NULL, 10) : 10000;
		r = n > 0 ? bench(db, n) : 2;
	} else if (strcmp(mode, "--dump") == 0) {
		r = dump(db, argv[a + 1]);
	} else if (strcmp(mode, "--verify") == 0) {
		r = verify(db, argc > a + 1 ? argv[a + 1] : NULL);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		r = 2;
	}
	cs_vulndb_close(db);
	return r;
}
