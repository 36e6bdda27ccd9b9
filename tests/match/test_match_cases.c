/*
 * test_match_cases.c - runs the matching cases of tests/match/records/cases.json
 * against the hand-made OSV records next to it. Each case names a record, the
 * image ecosystem, a package as the worker reports it, and what the OSV
 * evaluation must give: affected or not, the fixed version, and where given
 * the evidence (via, looked-up name, compared version, reason, range type,
 * fix state, distro rating, the entry's ecosystem, whether a note is due).
 * The expectations were written from the records, not from this code.
 *
 * test_match_fixtures.c includes this file (with CS_MATCH_CASES_NO_MAIN) to
 * run its own case file against the shared fixtures.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "tests/harness.h"

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);

	if (j == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path, e.text, e.line);
		CHECK(0);
	}
	return j;
}

static const char *str_or_null(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Runs every case of cases_path; records named "shared:X" come from
 * shared/fixtures/osv/records/X, others from records_dir. Returns the
 * number of cases run. */
static int run_cases(const char *cases_path, const char *records_dir, const char *shared)
{
	json_t *cases = load_json(cases_path);
	size_t i;
	int ran = 0;

	if (cases == NULL)
		return 0;
	for (i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *rec = str_or_null(c, "record"), *eco = str_or_null(c, "ecosystem");
		const char *want_fixed = str_or_null(c, "fixed_version"), *why = str_or_null(c, "why");
		int want = json_is_true(json_object_get(c, "affected"));
		char path[4096];
		json_t *record, *finding = NULL, *notes = json_array();
		int r, before = cs_test_failures;
		const char *x;

		if (strncmp(rec, "shared:", 7) == 0)
			snprintf(path, sizeof(path), "%s/fixtures/osv/records/%s", shared, rec + 7);
		else
			snprintf(path, sizeof(path), "%s/%s", records_dir, rec);
		record = load_json(path);
		if (record == NULL)
			continue;
		r = cs_match_record(&finding, record, json_object_get(c, "package"), eco, notes);
		CHECK(r == 0);
		if (r != 0)
			fprintf(stderr, "  error: %s\n", cs_err_msg());
		CHECK((finding != NULL) == want);
		if (finding != NULL) {
			const json_t *m = json_object_get(finding, "match");

			CHECK_STR(str_or_null(finding, "fixed_version"), want_fixed);
			CHECK_STR(str_or_null(finding, "id"), str_or_null(record, "id"));
			CHECK_STR(str_or_null(json_object_get(finding, "advisory"), "id"), str_or_null(record, "id"));
			CHECK(json_is_object(json_object_get(finding, "package")));
			CHECK_STR(str_or_null(json_object_get(finding, "package"), "name"),
				  str_or_null(json_object_get(c, "package"), "name"));
			if ((x = str_or_null(c, "via")) != NULL)
				CHECK_STR(str_or_null(m, "via"), x);
			if ((x = str_or_null(c, "looked_up")) != NULL)
				CHECK_STR(str_or_null(m, "looked_up"), x);
			if ((x = str_or_null(c, "installed")) != NULL)
				CHECK_STR(str_or_null(finding, "installed_version"), x);
			if ((x = str_or_null(c, "reason")) != NULL)
				CHECK_STR(str_or_null(m, "reason"), x);
			if ((x = str_or_null(c, "range_type")) != NULL)
				CHECK_STR(str_or_null(m, "range_type"), x);
			if ((x = str_or_null(c, "match_ecosystem")) != NULL)
				CHECK_STR(str_or_null(m, "ecosystem"), x);
			x = str_or_null(c, "fix_state");
			CHECK_STR(str_or_null(finding, "fix_state"),
				  x != NULL ? x : want_fixed != NULL ? "fixed" : "not-fixed");
			if ((x = str_or_null(c, "distro_severity")) != NULL)
				CHECK_STR(str_or_null(json_array_get(json_object_get(finding, "distro_severity"), 0),
						      "value"),
					  x);
			CHECK(json_is_array(json_object_get(finding, "aliases")));
			CHECK(json_is_array(json_object_get(finding, "severity")));
		}
		if (json_is_integer(json_object_get(c, "notes")))
			CHECK(json_array_size(notes) > 0);
		if (cs_test_failures != before) {
			char *s = finding ? json_dumps(finding, JSON_COMPACT) : NULL;

			fprintf(stderr, "  case %zu (%s, %s): %s\n  finding: %s\n", i, rec, eco ? eco : "-",
				why ? why : "", s ? s : "none");
			free(s);
		}
		json_decref(finding);
		json_decref(notes);
		json_decref(record);
		ran++;
	}
	json_decref(cases);
	return ran;
}

#ifndef CS_MATCH_CASES_NO_MAIN
int main(void)
{
	char cases[4096], dir[4096];
	int n;

	snprintf(dir, sizeof(dir), "%s/tests/match/records", cs_test_source_dir());
	snprintf(cases, sizeof(cases), "%s/cases.json", dir);
	n = run_cases(cases, dir, NULL);
	printf("%d hand-made cases\n", n);
	CHECK(n >= 50);
	return cs_test_done();
}
#endif
