/*
 * test_policy_classify.c - severity precedence, fix state, every rule type
 * on and off, expiry, ignore-unfixed, per-repository overrides, verdicts
 * (including "error"), and recommendations in the text format.
 *
 * Input: tests/policy/data/findings.json, findings in the shape
 * supervisor/match produces (docs/matching.md "The finding"). Expected
 * severities come from the CVSS reference scores in fixtures/cvss
 * (cvss31.tsv / cvss40.tsv list each vector used there) and from the
 * rating tables in docs/policy.md.
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "tests/harness.h"

static char datadir[4096];
static json_t *findings;

static json_t *img_app, *img_other, *img_legacy, *img_team_other, *img_deep;

/* A small dpkg-style ordering for the test's versions (digits compare as
 * numbers, '~' sorts first); the real comparator is supervisor/match's. */
static int order(int c)
{
	if (c >= '0' && c <= '9')
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return c;
	if (c == '~')
		return -1;
	return c ? c + 256 : 0;
}

static int verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !(*a >= '0' && *a <= '9')) || (*b && !(*b >= '0' && *b <= '9'))) {
			int ac = order(*a), bc = order(*b);

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (*a >= '0' && *a <= '9')
			return 1;
		if (*b >= '0' && *b <= '9')
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

static int calls;

static int test_cmp(void *ctx, const char *eco, const char *a, const char *b, int *out)
{
	(void)ctx;
	(void)eco;
	calls++;
	*out = verrevcmp(a, b);
	return 0;
}

static int failing_cmp(void *ctx, const char *eco, const char *a, const char *b, int *out)
{
	(void)ctx;
	(void)eco;
	(void)a;
	(void)b;
	*out = 0;
	return CS_EFORMAT;
}

static struct cs_policy *load(const char *json)
{
	struct cs_policy *p = NULL;

	if (cs_policy_load(&p, json, strlen(json), datadir) != 0)
		fprintf(stderr, "policy %s: %s\n", json, cs_err_msg());
	CHECK(p != NULL);
	return p;
}

static json_t *run(const struct cs_policy *p, const json_t *img, const char *today, const char *err)
{
	struct cs_policy_input in = { img, today, err, test_cmp, NULL };
	json_t *out = NULL;
	int r = cs_policy_classify(&out, p, findings, &in);

	CHECK(r == 0);
	if (r != 0)
		fprintf(stderr, "classify: %s\n", cs_err_msg());
	return out;
}

/* The classified finding with this id and package name. */
static const json_t *find(const json_t *res, const char *id, const char *pkg)
{
	const json_t *fa = json_object_get(res, "findings");

	for (size_t i = 0; i < json_array_size(fa); i++) {
		const json_t *f = json_array_get(fa, i);

		if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0 &&
		    (pkg == NULL || strcmp(json_string_value(json_object_get(
						   json_object_get(f, "package"), "name")),
					   pkg) == 0))
			return f;
	}
	fprintf(stderr, "finding %s not in the output\n", id);
	return NULL;
}

static const char *sget(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);

	if (b != NULL)
		x = json_object_get(x, b);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

static const char *status(const json_t *res, const char *id)
{
	return sget(find(res, id, NULL), "decision", "status");
}

static const char *by(const json_t *res, const char *id)
{
	return sget(find(res, id, NULL), "decision", "by");
}

static long long count(const json_t *res, const char *level)
{
	return json_integer_value(json_object_get(json_object_get(res, "counts"), level));
}

/* ---- severity ------------------------------------------------------------ */

static void test_distro_levels(void)
{
	static const char *const t[][2] = {
		{ "unimportant", "low" },
		{ "low", "low" },
		{ "low**", "low" },
		{ "medium", "medium" },
		{ "high", "high" },
		{ "not yet assigned", "unknown" },
		{ "end-of-life", "unknown" },
		{ "negligible", "low" },
		{ "critical", "critical" },
		{ "untriaged", "unknown" },
		{ "Low", "low" },
		{ "Moderate", "medium" },
		{ "Important", "high" },
		{ "Critical", "critical" },
		{ "", "unknown" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_STR(cs_policy_distro_level(t[i][0]), t[i][1]);
	CHECK_STR(cs_policy_distro_level(NULL), "unknown");
	CHECK(cs_policy_level_rank("critical") == 4);
	CHECK(cs_policy_level_rank("unknown") == 0);
	CHECK(cs_policy_level_rank("none") == -1);
}

static void check_sev(const json_t *res, const char *id, const char *level, const char *source,
		      double score)
{
	const json_t *s = json_object_get(find(res, id, NULL), "severity");

	CHECK_STR(sget(s, "level", NULL), level);
	CHECK_STR(sget(s, "source", NULL), source);
	if (score >= 0)
		CHECK((int)(json_real_value(json_object_get(s, "score")) * 10 + 0.5) ==
		      (int)(score * 10 + 0.5));
	else
		CHECK(json_is_null(json_object_get(s, "score")));
}

static void test_severity(void)
{
	struct cs_policy *p;
	json_t *res;

	/* Default precedence: distro, then CVSS v4, then v3. */
	p = load("{\"version\": 1}");
	res = run(p, img_app, "2024-06-01", NULL);
	check_sev(res, "CVE-2024-0001", "critical", "cvss_v3",
		  9.8); /* Debian "not yet assigned" falls through */
	check_sev(res, "CVE-2024-0002", "high", "distro:debian", -1);
	CHECK_STR(
		sget(json_object_get(find(res, "CVE-2024-0002", NULL), "severity"), "rating", NULL),
		"high");
	check_sev(res, "CVE-2024-0003", "high", "cvss_v4", 7.8);
	check_sev(res, "CVE-2024-0004", "high", "distro:redhat", -1);
	check_sev(res, "CVE-2023-45853", "low", "distro:debian", -1);	/* unimportant */
	check_sev(res, "CVE-2024-2398", "medium", "distro:debian", -1); /* although CVSS says 9.8 */
	check_sev(res, "GHSA-35jh-r3h4-6jhm", "high", "cvss_v3", 7.2);
	check_sev(res, "CVE-2099-0001", "unknown", NULL, -1);
	/* The OSV array is kept under osv_severity; the CVSS evidence listed. */
	CHECK(json_array_size(json_object_get(find(res, "CVE-2024-2398", NULL), "osv_severity")) ==
	      1);
	CHECK(json_array_size(
		      json_object_get(json_object_get(find(res, "CVE-2024-2398", NULL), "severity"),
				      "considered")) == 2);
	json_decref(res);
	cs_policy_free(p);

	/* CVSS first: the distro rating only where no vector. */
	p = load("{\"version\": 1, \"severity_source\": [\"cvss_v3\", \"distro\"]}");
	res = run(p, img_app, "2024-06-01", NULL);
	check_sev(res, "CVE-2024-0002", "medium", "cvss_v3", 5.3);
	check_sev(res, "CVE-2024-2398", "critical", "cvss_v3", 9.8);
	check_sev(res, "CVE-2024-0003", "unknown", NULL, -1); /* v4 only, not listed */
	check_sev(res, "CVE-2024-0004", "high", "distro:redhat", -1);
	json_decref(res);
	cs_policy_free(p);

	/* "highest": the worst of the listed sources. */
	p = load("{\"version\": 1, \"severity_pick\": \"highest\"}");
	res = run(p, img_app, "2024-06-01", NULL);
	check_sev(res, "CVE-2024-0002", "high", "distro:debian", -1); /* high > medium */
	check_sev(res, "CVE-2024-2398", "critical", "cvss_v3", 9.8);  /* critical > medium */
	json_decref(res);
	cs_policy_free(p);

	/* A bad vector is listed under "rejected" and never scored. */
	{
		json_t *f = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s}, {s:s, s:s}]}", "id",
				      "CVE-2000-1", "package", "name", "x", "kind", "npm",
				      "severity", "type", "CVSS_V3", "score",
				      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "type", "CVSS_V3",
				      "score", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L");
		json_t *s = NULL;

		p = load("{\"version\": 1}");
		CHECK(cs_policy_severity(&s, p, f) == 0);
		CHECK_STR(sget(s, "level", NULL), "medium");
		CHECK(json_array_size(json_object_get(s, "rejected")) == 1);
		json_decref(s);
		json_decref(f);
		cs_policy_free(p);
	}
}

/* ---- fix state ----------------------------------------------------------- */

static void test_fix(void)
{
	struct cs_policy *p = load("{\"version\": 1}");
	json_t *res = run(p, img_app, "2024-06-01", NULL);
	const json_t *fx;

	fx = json_object_get(find(res, "CVE-2024-0001", NULL), "fix");
	CHECK_STR(sget(fx, "state", NULL), "fixed");
	CHECK_STR(sget(fx, "version", NULL), "3.0.13-1~deb12u1");
	fx = json_object_get(find(res, "CVE-2023-45853", NULL), "fix");
	CHECK_STR(sget(fx, "state", NULL), "will-not-fix");
	CHECK(json_is_null(json_object_get(fx, "version")));
	CHECK(sget(fx, "reason", NULL) != NULL);
	fx = json_object_get(find(res, "CVE-2024-2398", NULL), "fix");
	CHECK_STR(sget(fx, "state", NULL), "not-fixed");
	json_decref(res);
	cs_policy_free(p);
}

/* ---- rules --------------------------------------------------------------- */

static void test_rule_id(void)
{
	struct cs_policy *p;
	json_t *res;

	p = load(
		"{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-0002\", \"reason\": \"accepted\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(status(res, "CVE-2024-0002"), "ignored");
	CHECK_STR(by(res, "CVE-2024-0002"), "rule");
	CHECK_STR(sget(json_object_get(find(res, "CVE-2024-0002", NULL), "decision"), "rule",
		       "where"),
		  "ignore[0]");
	CHECK_STR(sget(json_object_get(find(res, "CVE-2024-0002", NULL), "decision"), "rule",
		       "reason"),
		  "accepted");
	CHECK_STR(status(res, "CVE-2024-0001"), "reported");
	CHECK(count(res, "ignored") == 1);
	CHECK(count(res, "high") == 3);
	json_decref(res);
	cs_policy_free(p);

	/* off: another id */
	p = load("{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-9999\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK(count(res, "ignored") == 0);
	CHECK_STR(status(res, "CVE-2024-0002"), "reported");
	json_decref(res);
	cs_policy_free(p);

	/* an alias names the finding too, case-insensitively */
	p = load("{\"version\": 1, \"ignore\": [{\"id\": \"cve-2021-23337\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(status(res, "GHSA-35jh-r3h4-6jhm"), "ignored");
	CHECK(count(res, "ignored") == 1);
	json_decref(res);
	cs_policy_free(p);
}

static void test_rule_package(void)
{
	struct cs_policy *p;
	json_t *res;

	p = load("{\"version\": 1, \"ignore\": [{\"package\": \"open*\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK(count(res, "ignored") == 4);
	CHECK_STR(status(res, "CVE-2024-0003"), "ignored");
	CHECK_STR(status(res, "CVE-2024-2398"), "reported");
	json_decref(res);
	cs_policy_free(p);

	/* off: no wildcard, no partial match */
	p = load("{\"version\": 1, \"ignore\": [{\"package\": \"openss\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK(count(res, "ignored") == 0);
	json_decref(res);
	cs_policy_free(p);

	/* id and package together: both must match */
	p = load(
		"{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-2398\", \"package\": \"openssl\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK(count(res, "ignored") == 0);
	json_decref(res);
	cs_policy_free(p);
}

static void test_rule_image(void)
{
	struct cs_policy *p;
	json_t *res;

	p = load(
		"{\"version\": 1, \"ignore\": [{\"package\": \"curl\", \"image\": \"registry.example/team/*\","
		" \"reason\": \"r\"}, {\"package\": \"tzdata\", \"image\": \"registry.example/**\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(status(res, "CVE-2024-2398"), "ignored");
	CHECK_STR(status(res, "CVE-2099-0001"), "ignored");
	json_decref(res);
	res = run(p, img_other, "2024-06-01", NULL); /* registry.example/other/app */
	CHECK_STR(status(res, "CVE-2024-2398"), "reported");
	CHECK_STR(status(res, "CVE-2099-0001"), "ignored");
	json_decref(res);
	res = run(p, img_deep, "2024-06-01",
		  NULL); /* registry.example/team/sub/app: '*' stops at '/' */
	CHECK_STR(status(res, "CVE-2024-2398"), "reported");
	CHECK_STR(status(res, "CVE-2099-0001"), "ignored");
	json_decref(res);
	cs_policy_free(p);
}

static void test_expiry(void)
{
	struct cs_policy *p;
	json_t *res;
	const json_t *d;

	p = load(
		"{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-0002\", \"expires\": \"2024-05-31\","
		" \"reason\": \"until the May release\"}]}");
	/* on its expiry day the rule still applies */
	res = run(p, img_app, "2024-05-31", NULL);
	CHECK_STR(status(res, "CVE-2024-0002"), "ignored");
	CHECK(json_array_size(json_object_get(res, "expired_rules")) == 0);
	json_decref(res);
	/* the day after, it does not, and the output says so */
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(status(res, "CVE-2024-0002"), "reported");
	d = json_object_get(find(res, "CVE-2024-0002", NULL), "decision");
	CHECK(json_object_get(d, "by") == NULL);
	CHECK_STR(sget(d, "expired_rule", "expires"), "2024-05-31");
	CHECK_STR(sget(d, "expired_rule", "where"), "ignore[0]");
	CHECK(sget(d, "expired_rule", "note") != NULL &&
	      strstr(sget(d, "expired_rule", "note"), "expired") != NULL);
	CHECK(json_array_size(json_object_get(res, "expired_rules")) == 1);
	CHECK(count(res, "ignored") == 0);
	json_decref(res);
	cs_policy_free(p);

	/* an expired rule and a live one: the live one decides, no note */
	p = load(
		"{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-0002\", \"expires\": \"2024-05-31\", \"reason\": \"a\"},"
		" {\"package\": \"openssl\", \"expires\": \"2024-12-31\", \"reason\": \"b\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	d = json_object_get(find(res, "CVE-2024-0002", NULL), "decision");
	CHECK_STR(sget(d, "status", NULL), "ignored");
	CHECK_STR(sget(d, "rule", "where"), "ignore[1]");
	CHECK(json_object_get(d, "expired_rule") == NULL);
	json_decref(res);
	cs_policy_free(p);
}

static void test_ignore_unfixed(void)
{
	struct cs_policy *p;
	json_t *res;

	p = load("{\"version\": 1, \"ignore_unfixed\": true}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(by(res, "CVE-2023-45853"), "ignore-unfixed"); /* will-not-fix */
	CHECK_STR(by(res, "CVE-2024-2398"), "ignore-unfixed");	/* not-fixed */
	CHECK_STR(by(res, "CVE-2099-0001"), "ignore-unfixed");
	CHECK_STR(status(res, "CVE-2024-0001"), "reported");
	CHECK(count(res, "ignored") == 3);
	json_decref(res);
	cs_policy_free(p);

	p = load("{\"version\": 1, \"ignore_unfixed\": false}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(status(res, "CVE-2024-2398"), "reported");
	CHECK(count(res, "ignored") == 0);
	json_decref(res);
	cs_policy_free(p);
}

/* ---- overrides, thresholds, verdicts ------------------------------------- */

static void test_overrides(void)
{
	struct cs_policy *p;
	char path[4200];
	json_t *res;

	snprintf(path, sizeof(path), "%s/example-policy.json", datadir);
	CHECK(cs_policy_load_file(&p, path) == 0);
	if (p == NULL)
		return;
	/* the exact pattern beats the team glob and the registry-wide one */
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(sget(res, "repository_override", NULL), "registry.example/team/app");
	CHECK_STR(sget(res, "threshold", NULL), "high"); /* not overridden there */
	CHECK(json_is_true(json_object_get(res, "ignore_unfixed")));
	CHECK_STR(by(res, "CVE-2024-2398"), "ignore-unfixed");
	json_decref(res);

	res = run(p, img_team_other, "2024-06-01", NULL); /* registry.example/team/other */
	CHECK_STR(sget(res, "repository_override", NULL), "registry.example/team/*");
	CHECK_STR(sget(res, "threshold", NULL), "critical");
	CHECK(json_is_false(json_object_get(res, "ignore_unfixed")));
	CHECK_STR(sget(json_object_get(find(res, "CVE-2099-0001", NULL), "decision"), "rule",
		       "where"),
		  "repositories[\"registry.example/team/*\"].ignore[0]");
	json_decref(res);

	res = run(p, img_other, "2024-06-01", NULL); /* registry.example/other/app */
	CHECK_STR(sget(res, "repository_override", NULL), "registry.example/**");
	CHECK_STR(sget(res, "threshold", NULL), "medium");
	CHECK_STR(status(res, "CVE-2099-0001"),
		  "reported"); /* the team override rule is not there */
	json_decref(res);

	res = run(p, img_legacy, "2024-06-01", NULL); /* registry.example/legacy/app */
	CHECK_STR(sget(res, "repository_override", NULL), "registry.example/**");
	/* ignore[2] (legacy, expired 2024-05-31) no longer applies */
	CHECK_STR(status(res, "CVE-2024-0001"), "reported");
	CHECK_STR(sget(json_object_get(find(res, "CVE-2024-0001", NULL), "decision"),
		       "expired_rule", "where"),
		  "ignore[2]");
	json_decref(res);
	res = run(p, img_legacy, "2024-05-30", NULL);
	CHECK_STR(by(res, "CVE-2024-0001"), "rule");
	json_decref(res);

	{
		json_t *none = json_pack("{s:s}", "repository", "quay.io/other/app");

		res = run(p, none, "2024-06-01", NULL);
		CHECK(json_is_null(json_object_get(res, "repository_override")));
		CHECK_STR(sget(res, "threshold", NULL), "high");
		json_decref(res);
		json_decref(none);
	}
	cs_policy_free(p);
}

static void test_verdicts(void)
{
	struct cs_policy *p;
	json_t *res, *empty = json_array(), *saved;

	p = load("{\"version\": 1}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(sget(res, "verdict", NULL), "unhealthy");
	CHECK(count(res, "critical") == 2 && count(res, "high") == 4 && count(res, "medium") == 3 &&
	      count(res, "low") == 1 && count(res, "unknown") == 1 && count(res, "ignored") == 0);
	CHECK_STR(sget(res, "reason", NULL),
		  "6 findings at or above high (2 critical, 4 high); 5 below, 0 ignored");
	json_decref(res);
	cs_policy_free(p);

	/* critical threshold, both criticals ignored: healthy */
	p = load(
		"{\"version\": 1, \"severity_threshold\": \"critical\", \"ignore\": ["
		"{\"id\": \"CVE-2024-0001\", \"reason\": \"r\"}, {\"id\": \"CVE-2019-10744\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(sget(res, "verdict", NULL), "healthy");
	CHECK_STR(sget(res, "reason", NULL),
		  "no findings at or above critical; 9 below, 2 ignored");
	json_decref(res);
	cs_policy_free(p);

	/* threshold unknown: every reported finding counts */
	p = load(
		"{\"version\": 1, \"severity_threshold\": \"unknown\", \"ignore\": [{\"package\": \"*\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(sget(res, "verdict", NULL), "healthy");
	CHECK(count(res, "ignored") == 11);
	json_decref(res);
	cs_policy_free(p);

	/* error: never healthy, the budget named, even with no findings */
	p = load("{\"version\": 1}");
	saved = findings;
	findings = empty;
	res = run(p, img_app, "2024-06-01",
		  "over the work budget: uncompressed bytes per image (64 GiB)");
	CHECK_STR(sget(res, "verdict", NULL), "error");
	CHECK_STR(sget(res, "reason", NULL),
		  "unscannable: over the work budget: uncompressed bytes per image (64 GiB)");
	CHECK(json_is_true(json_object_get(res, "partial")));
	json_decref(res);
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK_STR(sget(res, "verdict", NULL), "healthy");
	CHECK(json_object_get(res, "partial") == NULL);
	json_decref(res);
	findings = saved;
	res = run(p, img_app, "2024-06-01", "worker killed: CPU limit (600 s)");
	CHECK_STR(sget(res, "verdict", NULL), "error");
	json_decref(res);

	/* bad arguments */
	{
		struct cs_policy_input in = { img_app, "2024-6-1", NULL, NULL, NULL };
		json_t *o = NULL;

		CHECK(cs_policy_classify(&o, p, findings, &in) == CS_EINVAL);
		CHECK(o == NULL);
		in.today = "2024-06-01";
		CHECK(cs_policy_classify(&o, p, img_app, &in) == CS_EINVAL);
	}
	cs_policy_free(p);
	json_decref(empty);
}

/* ---- recommendations ----------------------------------------------------- */

static void test_recommendations(void)
{
	struct cs_policy *p = load("{\"version\": 1}");
	json_t *res;
	const json_t *recs, *r0;

	calls = 0;
	res = run(p, img_app, "2024-06-01", NULL);
	recs = json_object_get(res, "recommendations");
	CHECK(json_array_size(recs) == 3);
	CHECK_STR(
		sget(json_array_get(recs, 0), "text", NULL),
		"upgrade openssl 3.0.11-1~deb12u1 -> 3.0.15-1~deb12u1: fixes 4 (1 critical, 3 high)");
	/* 4.17.21 > 4.17.12 > 4.17.5 numerically (a string maximum would say 4.17.5) */
	CHECK_STR(sget(json_array_get(recs, 1), "text", NULL),
		  "upgrade lodash 4.17.4 -> 4.17.21: fixes 3 (1 critical, 1 high, 1 medium)");
	CHECK_STR(sget(json_array_get(recs, 2), "text", NULL),
		  "upgrade busybox 1.36.1-r29 -> 1.36.1-r30: fixes 1 (1 medium)");
	r0 = json_array_get(recs, 0);
	CHECK_STR(sget(r0, "package", NULL), "openssl");
	CHECK_STR(sget(r0, "from", NULL), "3.0.11-1~deb12u1");
	CHECK_STR(sget(r0, "to", NULL), "3.0.15-1~deb12u1");
	CHECK(json_integer_value(json_object_get(r0, "fixes")) == 4);
	CHECK(json_integer_value(json_object_get(json_object_get(r0, "by_severity"), "critical")) ==
	      1);
	CHECK(json_integer_value(json_object_get(json_object_get(r0, "by_severity"), "high")) == 3);
	CHECK(json_object_get(json_object_get(r0, "by_severity"), "medium") == NULL);
	CHECK(json_array_size(json_object_get(r0, "ids")) == 4);
	CHECK(calls > 0);
	json_decref(res);

	/* ignored findings are not counted: CVE-2024-0001 (the critical) ignored */
	cs_policy_free(p);
	p = load("{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-0001\", \"reason\": \"r\"}]}");
	res = run(p, img_app, "2024-06-01", NULL);
	recs = json_object_get(res, "recommendations");
	CHECK_STR(sget(json_array_get(recs, 0), "text", NULL),
		  "upgrade lodash 4.17.4 -> 4.17.21: fixes 3 (1 critical, 1 high, 1 medium)");
	CHECK_STR(sget(json_array_get(recs, 1), "text", NULL),
		  "upgrade openssl 3.0.11-1~deb12u1 -> 3.0.15-1~deb12u1: fixes 3 (3 high)");
	json_decref(res);

	/* a comparator that cannot decide: no guessed "to" */
	{
		struct cs_policy_input in = { img_app, "2024-06-01", NULL, failing_cmp, NULL };
		json_t *o = NULL;
		const json_t *rl;

		CHECK(cs_policy_classify(&o, p, findings, &in) == 0);
		rl = json_array_get(json_object_get(o, "recommendations"), 0);
		CHECK_STR(sget(rl, "package", NULL), "lodash");
		CHECK(json_is_null(json_object_get(rl, "to")));
		CHECK(json_array_size(json_object_get(rl, "candidates")) == 3);
		CHECK_STR(sget(rl, "text", NULL),
			  "upgrade lodash 4.17.4 -> one of 4.17.21, 4.17.12, 4.17.5 "
			  "(versions not comparable): fixes 3 (1 critical, 1 high, 1 medium)");
		/* one distinct fix needs no comparison */
		CHECK_STR(
			sget(json_array_get(json_object_get(o, "recommendations"), 2), "to", NULL),
			"1.36.1-r30");
		json_decref(o);
	}
	cs_policy_free(p);
}

static void test_pure(void)
{
	/* The input is not modified and the same input gives the same output. */
	struct cs_policy *p = load("{\"version\": 1, \"vex\": [\"vex/app.openvex.json\"]}");
	json_t *copy = json_deep_copy(findings), *a, *b;

	a = run(p, img_app, "2024-06-01", NULL);
	b = run(p, img_app, "2024-06-01", NULL);
	CHECK(json_equal(findings, copy));
	CHECK(a != NULL && b != NULL && json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(copy);
	cs_policy_free(p);
}

/* Findings with the wrong shapes are classified, never crash. */
static void test_odd_shapes(void)
{
	struct cs_policy *p =
		load("{\"version\": 1, \"vex\": [\"vex/app.openvex.json\"],"
		     " \"ignore\": [{\"package\": \"*\", \"id\": \"X\", \"reason\": \"r\"}]}");
	json_t *odd = json_loads(
		"[{}, {\"id\": 5, \"package\": [], \"severity\": {}, \"distro_severity\": 3,"
		" \"fix_state\": \"fixed\", \"fixed_version\": 7},"
		" {\"id\": \"CVE-2024-0002\", \"package\": {\"name\": 1, \"kind\": []},"
		" \"severity\": [{\"type\": \"CVSS_V3\"}, 5, {\"type\": \"Ubuntu\", \"score\": 3}]}]",
		0, NULL);
	json_t *saved = findings, *res;

	findings = odd;
	res = run(p, img_app, "2024-06-01", NULL);
	CHECK(res != NULL);
	CHECK(count(res, "unknown") == 3);
	CHECK_STR(sget(json_object_get(json_array_get(json_object_get(res, "findings"), 1), "fix"),
		       "state", NULL),
		  "not-fixed");
	CHECK(json_array_size(json_object_get(res, "recommendations")) == 0);
	json_decref(res);
	findings = saved;
	json_decref(odd);
	cs_policy_free(p);
}

static json_t *img(const char *repo)
{
	return json_pack("{s:s, s:s, s:s}", "repository", repo, "ref", "x:1", "digest",
			 "sha256:abababababababababababababababababababababababababababababababab");
}

int main(void)
{
	char path[4200];
	json_error_t je;

	snprintf(datadir, sizeof(datadir), "%s/tests/policy/data", cs_test_source_dir());
	snprintf(path, sizeof(path), "%s/findings.json", datadir);
	findings = json_load_file(path, 0, &je);
	CHECK(json_is_array(findings));
	if (findings == NULL) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		return cs_test_done();
	}
	img_app = img("registry.example/team/app");
	img_other = img("registry.example/other/app");
	img_legacy = img("registry.example/legacy/app");
	img_team_other = img("registry.example/team/other");
	img_deep = img("registry.example/team/sub/app");

	test_distro_levels();
	test_severity();
	test_fix();
	test_rule_id();
	test_rule_package();
	test_rule_image();
	test_expiry();
	test_ignore_unfixed();
	test_overrides();
	test_verdicts();
	test_recommendations();
	test_pure();
	test_odd_shapes();

	json_decref(img_app);
	json_decref(img_other);
	json_decref(img_legacy);
	json_decref(img_team_other);
	json_decref(img_deep);
	json_decref(findings);
	return cs_test_done();
}
