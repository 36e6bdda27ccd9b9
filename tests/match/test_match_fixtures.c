/*
 * test_match_fixtures.c - matching against the real OSV records in
 * shared/fixtures/osv/records/:
 *  1. the cases of tests/match/records/fixture-cases.json (expectations read
 *     off the records by hand);
 *  2. properties every record must satisfy, over every JSON record, every
 *     affected entry and every SEMVER/ECOSYSTEM range, each evaluated alone:
 *     a non-zero "introduced" is affected, a "fixed" is not, a
 *     "last_affected" is; and every version that osv.dev enumerated in
 *     affected[].versions from those ranges lies inside them (the ranges
 *     evaluated without the list), which checks our range evaluation and
 *     version ordering against osv.dev's own.
 * YAML records are skipped (no YAML parser in the build); each skip is
 * counted and printed.
 */
#define CS_MATCH_CASES_NO_MAIN
#include "test_match_cases.c"

#include <dirent.h>

static const struct {
	const char *eco, *kind;
} kinds[] = {
	{"PyPI", "pypi"}, {"npm", "npm"}, {"Go", "go"}, {"Maven", "maven"}, {"crates.io", "cargo"},
	{"RubyGems", "gem"}, {"NuGet", "nuget"}, {"Packagist", "composer"}, {"SwiftURL", "swift"},
	{"Debian", "dpkg"}, {"Ubuntu", "dpkg"}, {"Alpine", "apk"}, {"Red Hat", "rpm"},
};

static int n_intro, n_fixed, n_last, n_listed, n_listed_outside, n_skipped_yaml, n_records;

/* The package the worker would report at version v for this entry, and the
 * image ecosystem it would be matched under. NULL when we have no kind. */
static json_t *package_for(const char *eco, const char *name, const char *v)
{
	size_t k, l;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		l = strlen(kinds[k].eco);
		if (strncmp(eco, kinds[k].eco, l) == 0 && (eco[l] == '\0' || eco[l] == ':'))
			break;
	}
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return NULL;
	if (strcmp(kinds[k].kind, "rpm") == 0) {
		/* "1:3.0.7-27.el9" -> epoch 1, version "3.0.7-27.el9" */
		const char *colon = strchr(v, ':');

		if (colon != NULL)
			return json_pack("{s:s, s:s, s:s, s:I}", "kind", "rpm", "name", name, "version", colon + 1, "epoch",
					 (json_int_t)strtol(v, NULL, 10));
	}
	return json_pack("{s:s, s:s, s:s}", "kind", kinds[k].kind, "name", name, "version", v);
}

/* Is pkg at v affected by a record holding only this entry (with the given
 * ranges, without versions)? -1 when it cannot be asked. */
static int affected_by(const char *id, const json_t *entry, json_t *ranges, const char *v)
{
	const json_t *package = json_object_get(entry, "package");
	const char *eco = str_or_null(package, "ecosystem"), *name = str_or_null(package, "name");
	json_t *pkg, *rec, *f = NULL;
	int r, res;

	pkg = package_for(eco, name, v);
	if (pkg == NULL)
		return -1;
	rec = json_pack("{s:s, s:[{s:O, s:O}]}", "id", id, "affected", "package", package, "ranges", ranges);
	/* A target of the entry's own ecosystem (Ubuntu:Pro, rhel_aus streams). */
	r = cs_match_record(&f, rec, pkg, eco, NULL);
	if (r != 0) {
		fprintf(stderr, "%s: %s %s: %s\n", id, name, v, cs_err_msg());
		CHECK(0);
	}
	res = f != NULL;
	json_decref(f);
	json_decref(rec);
	json_decref(pkg);
	return res;
}

static void check_record(const char *file, const json_t *rec)
{
	const char *id = str_or_null(rec, "id");
	const json_t *aff = json_object_get(rec, "affected");
	size_t i, j, k;

	if (json_object_get(rec, "withdrawn") != NULL)
		return;
	n_records++;
	for (i = 0; i < json_array_size(aff); i++) {
		const json_t *entry = json_array_get(aff, i), *ranges = json_object_get(entry, "ranges");
		json_t *usable = json_array();
		int has_git = 0;

		if (str_or_null(json_object_get(entry, "package"), "ecosystem") == NULL)
			goto next;
		for (j = 0; j < json_array_size(ranges); j++) {
			const json_t *range = json_array_get(ranges, j), *events = json_object_get(range, "events");
			const char *type = str_or_null(range, "type");
			json_t *one;
			int has_limit = 0;

			if (strcmp(type, "GIT") == 0) {
				has_git = 1;
				continue;
			}
			json_array_append(usable, (json_t *)range);
			one = json_pack("[O]", range);
			for (k = 0; k < json_array_size(events); k++)
				if (json_object_get(json_array_get(events, k), "limit") != NULL)
					has_limit = 1;
			for (k = 0; k < json_array_size(events); k++) {
				const json_t *e = json_array_get(events, k);
				const char *v;
				int a;

				if ((v = str_or_null(e, "introduced")) != NULL && strcmp(v, "0") != 0 && !has_limit) {
					a = affected_by(id, entry, one, v);
					if (a >= 0) {
						n_intro++;
						if (a != 1)
							fprintf(stderr, "%s %s: introduced %s is not affected\n", file, id, v);
						CHECK(a == 1);
					}
				} else if ((v = str_or_null(e, "fixed")) != NULL) {
					a = affected_by(id, entry, one, v);
					if (a >= 0) {
						n_fixed++;
						if (a != 0)
							fprintf(stderr, "%s %s: fixed %s is affected\n", file, id, v);
						CHECK(a == 0);
					}
				} else if ((v = str_or_null(e, "last_affected")) != NULL) {
					a = affected_by(id, entry, one, v);
					if (a >= 0) {
						n_last++;
						if (a != 1)
							fprintf(stderr, "%s %s: last_affected %s is not affected\n", file, id, v);
						CHECK(a == 1);
					}
				}
			}
			json_decref(one);
		}
		/* osv.dev enumerates versions from ECOSYSTEM/SEMVER ranges; with GIT
		 * ranges the list comes from tags instead. */
		if (!has_git && json_array_size(usable) > 0) {
			const json_t *versions = json_object_get(entry, "versions");

			for (k = 0; k < json_array_size(versions); k++) {
				const char *v = json_string_value(json_array_get(versions, k));
				int a = affected_by(id, entry, usable, v);

				if (a < 0)
					break;
				n_listed++;
				if (a != 1) {
					n_listed_outside++;
					fprintf(stderr, "%s %s: listed version %s is outside the ranges\n", file, id, v);
				}
				CHECK(a == 1);
			}
		}
next:
		json_decref(usable);
	}
}

static void walk(const char *shared)
{
	char dir[4096], path[8192];
	DIR *top, *d;
	struct dirent *a, *b;

	snprintf(dir, sizeof(dir), "%s/fixtures/osv/records", shared);
	top = opendir(dir);
	CHECK(top != NULL);
	if (top == NULL)
		return;
	while ((a = readdir(top)) != NULL) {
		char sub[4096 + 256];

		if (a->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, a->d_name);
		d = opendir(sub);
		if (d == NULL)
			continue;
		while ((b = readdir(d)) != NULL) {
			size_t l = strlen(b->d_name);
			json_t *rec;

			if (l > 5 && strcmp(b->d_name + l - 5, ".yaml") == 0) {
				n_skipped_yaml++;
				continue;
			}
			if (l < 6 || strcmp(b->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, b->d_name);
			rec = load_json(path);
			if (rec != NULL)
				check_record(b->d_name, rec);
			json_decref(rec);
		}
		closedir(d);
	}
	closedir(top);
}

int main(void)
{
	const char *shared = cs_test_shared();
	char cases[4096], dir[4096];
	int n;

	snprintf(dir, sizeof(dir), "%s/tests/match/records", cs_test_source_dir());
	snprintf(cases, sizeof(cases), "%s/fixture-cases.json", dir);
	n = run_cases(cases, dir, shared);
	printf("%d cases on real records\n", n);
	CHECK(n >= 35);

	walk(shared);
	printf("%d JSON records: %d introduced, %d fixed, %d last_affected events checked; "
	       "%d listed versions checked (%d outside their ranges); %d YAML records skipped\n",
	       n_records, n_intro, n_fixed, n_last, n_listed, n_listed_outside, n_skipped_yaml);
	CHECK(n_records >= 90);
	CHECK(n_fixed >= 100);
	CHECK(n_listed >= 500);
	return cs_test_done();
}
