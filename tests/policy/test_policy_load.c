/*
 * test_policy_load.c - policy files: a table of invalid policies, each
 * rejected with CS_EINVAL and a message starting with the offending key
 * path (docs/policy.md "Errors"); valid policies; the shipped default
 * policy file equals the built-in default; OpenVEX documents that violate
 * the OpenVEX schema's rules rejected at load (tests/policy/data/vex-bad,
 * checked against fixtures/schemas/openvex with python3-jsonschema when
 * written), and the OpenVEX examples in fixtures/schemas accepted.
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "policy/policy_internal.h"
#include "tests/harness.h"

static char datadir[4096];

struct bad_case {
	const char *json;
	const char *msg_prefix;
};

static const struct bad_case bad[] = {
	{ "{}", "version: required" },
	{ "{\"version\": 2}", "version: unsupported policy version" },
	{ "{\"version\": \"1\"}", "version: unsupported policy version" },
	{ "{\"version\": 1, \"severity_threshold\": \"severe\"}",
	  "severity_threshold: not a severity" },
	{ "{\"version\": 1, \"severity_threshold\": \"High\"}",
	  "severity_threshold: not a severity" },
	{ "{\"version\": 1, \"ignore_unfixd\": true}", "ignore_unfixd: unknown key" },
	{ "{\"version\": 1, \"ignore_unfixed\": \"yes\"}",
	  "ignore_unfixed: must be true or false" },
	{ "{\"version\": 1, \"severity_source\": [\"nvd\"]}",
	  "severity_source[0]: not a severity source" },
	{ "{\"version\": 1, \"severity_source\": []}",
	  "severity_source: must name at least one source" },
	{ "{\"version\": 1, \"severity_source\": [\"distro\", \"distro\"]}",
	  "severity_source[1]: named twice" },
	{ "{\"version\": 1, \"severity_source\": \"distro\"}",
	  "severity_source: must be an array" },
	{ "{\"version\": 1, \"severity_pick\": \"max\"}",
	  "severity_pick: must be \"first\" or \"highest\"" },
	{ "{\"version\": 1, \"ignore\": {}}", "ignore: must be an array" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-1\"}]}",
	  "ignore[0].reason: required" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-1\", \"reason\": \"\"}]}",
	  "ignore[0].reason: must not be empty" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-1\", \"reason\": \"r\"},"
	  " {\"id\": \"CVE-2024-2\", \"reason\": \"r\", \"expires\": \"2024-13-01\"}]}",
	  "ignore[1].expires: not a date (YYYY-MM-DD)" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"a\", \"reason\": \"r\"}, {\"id\": \"b\", \"reason\": \"r\"},"
	  " {\"id\": \"c\", \"reason\": \"r\", \"expires\": \"2023-02-29\"}]}",
	  "ignore[2].expires: not a date (YYYY-MM-DD)" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"a\", \"reason\": \"r\", \"expires\": 20240101}]}",
	  "ignore[0].expires: not a date (YYYY-MM-DD)" },
	{ "{\"version\": 1, \"ignore\": [{\"package\": \"lib[ssl\", \"reason\": \"r\"}]}",
	  "ignore[0].package: bad pattern: unclosed [" },
	{ "{\"version\": 1, \"ignore\": [{\"package\": \"x\", \"image\": \"registry/***\", \"reason\": \"r\"}]}",
	  "ignore[0].image: bad pattern: more than two * in a row" },
	{ "{\"version\": 1, \"ignore\": [{\"package\": \"x\", \"image\": \"reg/[z-a]\", \"reason\": \"r\"}]}",
	  "ignore[0].image: bad pattern: reversed range" },
	{ "{\"version\": 1, \"ignore\": [{\"image\": \"registry.example/**\", \"reason\": \"r\"}]}",
	  "ignore[0]: a rule needs \"id\" or \"package\"" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": 42, \"reason\": \"r\"}]}",
	  "ignore[0].id: must be a string" },
	{ "{\"version\": 1, \"ignore\": [{\"id\": \"CVE-1\", \"severity\": \"low\", \"reason\": \"r\"}]}",
	  "ignore[0].severity: unknown key" },
	{ "{\"version\": 1, \"ignore\": [\"CVE-2024-1\"]}", "ignore[0]: must be an object" },
	{ "{\"version\": 1, \"vex\": [1]}", "vex[0]: must be a string" },
	{ "{\"version\": 1, \"vex\": \"a.json\"}", "vex: must be an array" },
	{ "{\"version\": 1, \"vex\": [\"does-not-exist.json\"]}",
	  "vex[0]: does-not-exist.json: cannot open" },
	{ "{\"version\": 1, \"repositories\": []}", "repositories: must be an object" },
	{ "{\"version\": 1, \"repositories\": {\"reg/[x\": {}}}",
	  "repositories[\"reg/[x\"]: bad pattern: unclosed [" },
	{ "{\"version\": 1, \"repositories\": {\"reg/*\": {\"severity_threshold\": \"urgent\"}}}",
	  "repositories[\"reg/*\"].severity_threshold: not a severity" },
	{ "{\"version\": 1, \"repositories\": {\"reg/*\": {\"ignore\": [{\"id\": \"CVE-1\", \"reason\": \"r\","
	  " \"expires\": \"tomorrow\"}]}}}",
	  "repositories[\"reg/*\"].ignore[0].expires: not a date (YYYY-MM-DD)" },
	{ "{\"version\": 1, \"repositories\": {\"reg/*\": {\"vex\": []}}}",
	  "repositories[\"reg/*\"].vex: unknown key" },
	{ "{\"version\": 1, \"repositories\": {\"reg/*\": true}}",
	  "repositories[\"reg/*\"]: must be an object" },
	{ "{\"version\": 1, \"version\": 1}", "policy: invalid JSON" },
	{ "[]", "policy: must be a JSON object" },
	{ "{\"version\": 1, \"ign\\u0001\": 1}", "ign\\x01: unknown key" },
	/* OpenVEX documents that break the schema's rules. */
	{ "{\"version\": 1, \"vex\": [\"vex-bad/status.json\"]}",
	  "vex[0]: vex-bad/status.json: statements[0].status: not one of" },
	{ "{\"version\": 1, \"vex\": [\"vex/app.openvex.json\", \"vex-bad/no-justification.json\"]}",
	  "vex[1]: vex-bad/no-justification.json: statements[0]: status not_affected needs a justification" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/affected-no-action.json\"]}",
	  "vex[0]: vex-bad/affected-no-action.json: statements[1]: status affected needs an action_statement" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/timestamp.json\"]}",
	  "vex[0]: vex-bad/timestamp.json: timestamp: not an RFC 3339 date-time" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/unknown-key.json\"]}",
	  "vex[0]: vex-bad/unknown-key.json: statements[0].products[0].subcomponents[0].purl: unknown key" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/context.json\"]}",
	  "vex[0]: vex-bad/context.json: @context: not an OpenVEX context" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/justification.json\"]}",
	  "vex[0]: vex-bad/justification.json: statements[3].justification: not an OpenVEX justification" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/no-name.json\"]}",
	  "vex[0]: vex-bad/no-name.json: statements[2].vulnerability.name: required" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/version.json\"]}",
	  "vex[0]: vex-bad/version.json: version: must be an integer" },
	{ "{\"version\": 1, \"vex\": [\"vex-bad/empty.json\"]}",
	  "vex[0]: vex-bad/empty.json: statements: must be a non-empty array" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cs_policy *p = (struct cs_policy *)1;
		int r = cs_policy_load(&p, bad[i].json, strlen(bad[i].json), datadir);
		const char *m = cs_err_msg();

		CHECK(r == CS_EINVAL ||
		      (r == CS_EIO && strstr(bad[i].msg_prefix, "cannot open") != NULL));
		CHECK(p == NULL);
		if (strncmp(m, bad[i].msg_prefix, strlen(bad[i].msg_prefix)) != 0) {
			cs_test_failures++;
			fprintf(stderr,
				"bad[%zu]: message \"%s\", expected it to start with \"%s\"\n", i,
				m, bad[i].msg_prefix);
		}
		cs_test_checks++;
		cs_policy_free(p);
	}
}

static void test_good(void)
{
	static const char *const good[] = {
		"{\"version\": 1}",
		"{\"version\": 1, \"severity_threshold\": \"unknown\", \"severity_source\": [\"cvss_v3\"],"
		" \"severity_pick\": \"highest\"}",
		"{\"version\": 1, \"ignore\": [{\"id\": \"CVE-2024-1\", \"reason\": \"r\", \"expires\": \"2024-02-29\"},"
		" {\"package\": \"lib[!x]ssl*\", \"image\": \"registry.example/**\", \"reason\": \"r\"}]}",
		"{\"version\": 1, \"repositories\": {\"registry.example/team/*\": {\"ignore_unfixed\": true},"
		" \"registry.example/team/app\": {\"severity_threshold\": \"critical\", \"ignore\": []}}}",
		"{\"version\": 1, \"vex\": [\"vex/app.openvex.json\"]}",
	};
	json_t *d = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cs_policy *p = NULL;
		int r = cs_policy_load(&p, good[i], strlen(good[i]), datadir);

		CHECK(r == 0);
		CHECK(p != NULL);
		if (r != 0)
			fprintf(stderr, "good[%zu]: %s\n", i, cs_err_msg());
		cs_policy_free(p);
	}

	/* Defaults filled in for a minimal policy, as docs/policy.md says. */
	{
		struct cs_policy *p = NULL;

		CHECK(cs_policy_load(&p, "{\"version\": 1}", 14, NULL) == 0);
		CHECK(cs_policy_describe(&d, p) == 0);
		CHECK_STR(json_string_value(json_object_get(d, "severity_threshold")), "high");
		CHECK_STR(
			json_string_value(json_array_get(json_object_get(d, "severity_source"), 0)),
			"distro");
		CHECK_STR(
			json_string_value(json_array_get(json_object_get(d, "severity_source"), 1)),
			"cvss_v4");
		CHECK_STR(
			json_string_value(json_array_get(json_object_get(d, "severity_source"), 2)),
			"cvss_v3");
		CHECK_STR(json_string_value(json_object_get(d, "severity_pick")), "first");
		CHECK(json_is_false(json_object_get(d, "ignore_unfixed")));
		json_decref(d);
		d = NULL;
		cs_policy_free(p);
	}
}

/* policy/default-policy.json is the built-in default. */
static void test_default_file(void)
{
	struct cs_policy *a = NULL, *b = NULL;
	json_t *da = NULL, *db = NULL;
	char path[4200];

	snprintf(path, sizeof(path), "%s/policy/default-policy.json", cs_test_source_dir());
	CHECK(cs_policy_default(&a) == 0);
	CHECK(cs_policy_load_file(&b, path) == 0);
	if (a == NULL || b == NULL) {
		fprintf(stderr, "default: %s\n", cs_err_msg());
		cs_policy_free(a);
		cs_policy_free(b);
		return;
	}
	CHECK(cs_policy_describe(&da, a) == 0);
	CHECK(cs_policy_describe(&db, b) == 0);
	CHECK(json_equal(da, db));
	json_decref(da);
	json_decref(db);
	cs_policy_free(a);
	cs_policy_free(b);
}

/* A full policy file with relative VEX paths, loaded by file name. */
static void test_load_file(void)
{
	struct cs_policy *p = NULL;
	json_t *d = NULL, *repos;
	char path[4200];

	snprintf(path, sizeof(path), "%s/example-policy.json", datadir);
	CHECK(cs_policy_load_file(&p, path) == 0);
	if (p == NULL) {
		fprintf(stderr, "example-policy.json: %s\n", cs_err_msg());
		return;
	}
	CHECK(cs_policy_describe(&d, p) == 0);
	CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(d, "vex"), 0),
						 "statements")) == 7);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "ignore"), 1),
						    "where")),
		  "ignore[1]");
	repos = json_object_get(d, "repositories");
	CHECK(json_array_size(repos) == 3);
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(json_array_get(repos, 0), "ignore"), 0),
			  "where")),
		  "repositories[\"registry.example/team/*\"].ignore[0]");
	json_decref(d);
	cs_policy_free(p);

	CHECK(cs_policy_load_file(&p, "/nonexistent/policy.json") == CS_EIO);
	CHECK(p == NULL);
}

/* Every OpenVEX example in fixtures/schemas (all valid per the OpenVEX
 * schema, see its README) loads. */
static void test_vex_examples(void)
{
	static const char *const ex[] = { "spec-minimal-fixed.json",
					  "spec-under-investigation.json", "spec-readme-fixed.json",
					  "examples-tutorial02-merged.json",
					  "trivy-oci-image-not-affected.json" };
	const char *shared = cs_test_shared();
	char dir[4200], text[8192];

	snprintf(dir, sizeof(dir), "%s/fixtures/schemas/examples/openvex", shared);
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct cs_policy *p = NULL;
		int r;

		snprintf(text, sizeof(text), "{\"version\": 1, \"vex\": [\"%s\"]}", ex[i]);
		r = cs_policy_load(&p, text, strlen(text), dir);
		CHECK(r == 0);
		if (r != 0)
			fprintf(stderr, "%s: %s\n", ex[i], cs_err_msg());
		cs_policy_free(p);
	}
}

/* Patterns, dates and date-times as docs/policy.md defines them. */
static void test_primitives(void)
{
	static const struct {
		const char *pat, *s;
		int want;
	} g[] = {
		{ "a*", "abc", 1 },
		{ "a*", "a/b", 0 },
		{ "a/**", "a/b/c", 1 },
		{ "a/**", "a/", 1 },
		{ "**", "", 1 },
		{ "*", "", 1 },
		{ "?", "/", 0 },
		{ "?", "x", 1 },
		{ "[!x]y", "zy", 1 },
		{ "[!x]y", "xy", 0 },
		{ "[a-c]", "b", 1 },
		{ "[a-c]", "d", 0 },
		{ "[]x]", "]", 1 },
		{ "\\*", "*", 1 },
		{ "\\*", "a", 0 },
		{ "lib*ssl*", "libssl3", 1 },
		{ "registry.example/*/app", "registry.example/team/app", 1 },
		{ "registry.example/*/app", "registry.example/a/b/app", 0 },
		{ "registry.example/**/app", "registry.example/a/b/app", 1 },
		{ "abc", "abcd", 0 },
		{ "*c", "abc", 1 },
		{ "a*b*c*d", "aXbYcZd", 1 },
	};
	long long s1, s2;
	long n1, n2;
	const char *why;

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		int m = cs_policy_glob_match(g[i].pat, g[i].s);

		cs_test_checks++;
		if (m != g[i].want) {
			cs_test_failures++;
			fprintf(stderr, "glob %s vs %s: %d, expected %d\n", g[i].pat, g[i].s, m,
				g[i].want);
		}
	}
	CHECK(cs_policy_glob_check("a[b", &why) == CS_EINVAL);
	CHECK(cs_policy_glob_check("a]", &why) == CS_EINVAL);
	CHECK(cs_policy_glob_check("", &why) == CS_EINVAL);
	CHECK(cs_policy_glob_check("x\\", &why) == CS_EINVAL);
	CHECK(cs_policy_date_valid("2024-02-29"));
	CHECK(cs_policy_date_valid("2000-02-29"));
	CHECK(!cs_policy_date_valid("2023-02-29"));
	CHECK(!cs_policy_date_valid("2100-02-29"));
	CHECK(!cs_policy_date_valid("2024-04-31"));
	CHECK(!cs_policy_date_valid("2024-4-01"));
	CHECK(!cs_policy_date_valid("2024-04-01 "));
	CHECK(cs_policy_datetime_parse("2024-05-01T10:00:00+02:00", &s1, &n1) == 0);
	CHECK(cs_policy_datetime_parse("2024-05-01T08:00:00Z", &s2, &n2) == 0);
	CHECK(s1 == s2 && n1 == 0 && n2 == 0);
	CHECK(s2 == 1714550400LL); /* date -u -d 2024-05-01T08:00:00Z +%s */
	CHECK(cs_policy_datetime_parse("2023-01-08T18:02:03.647787998-06:00", &s1, &n1) == 0);
	CHECK(n1 == 647787998);
	CHECK(cs_policy_datetime_parse("2024-05-01T10:00:00", &s1, &n1) != 0);
	CHECK(cs_policy_datetime_parse("2024-05-01 10:00:00Z", &s1, &n1) != 0);
	CHECK(cs_policy_datetime_parse("2024-05-01T10:00:00.Z", &s1, &n1) != 0);
}

int main(void)
{
	test_primitives();
	snprintf(datadir, sizeof(datadir), "%s/tests/policy/data", cs_test_source_dir());
	test_bad();
	test_good();
	test_default_file();
	test_load_file();
	test_vex_examples();
	return cs_test_done();
}
