/*
 * osv_match_fuzz.c - one OSV record (JSON bytes) through the matcher of
 * supervisor/match/match.h: cs_match_record() for packages made from the
 * record's own affected[] entries (so the name and ecosystem match and the
 * version logic is reached), at versions taken from its events and
 * versions[] lists; then cs_match_query_keys() and cs_match_dedupe().
 *
 * supervisor/vulndb has no public function that takes one record as bytes
 * (its validator, cs_vulndb_osv_check(), is internal to the part), so the
 * matcher is the OSV consumer fuzzed here. Properties: the record is never
 * modified; a finding is an object naming the record's id; a non-object
 * record is CS_EFORMAT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_MAX_ENTRIES 4
#define FUZZ_MAX_VERSIONS 6

static const struct {
	const char *eco;     /* the base ecosystem (before ':') */
	const char *kind;    /* the package kind the worker would report */
	int os;              /* OS package: needs the image ecosystem */
} kinds[] = {
	{"Debian", "dpkg", 1}, {"Ubuntu", "dpkg", 1}, {"Alpine", "apk", 1},
	{"Wolfi", "apk", 1}, {"Chainguard", "apk", 1}, {"Red Hat", "rpm", 1},
	{"Rocky Linux", "rpm", 1}, {"AlmaLinux", "rpm", 1}, {"SUSE", "rpm", 1},
	{"openSUSE", "rpm", 1}, {"PyPI", "pypi", 0}, {"npm", "npm", 0}, {"Go", "go", 0},
	{"Maven", "maven", 0}, {"crates.io", "cargo", 0}, {"RubyGems", "gem", 0},
	{"NuGet", "nuget", 0}, {"Packagist", "composer", 0}, {"Pub", "pub", 0},
	{"Hex", "hex", 0}, {"CRAN", "cran", 0}, {"Hackage", "hackage", 0},
	{"SwiftURL", "swift", 0},
};

static int kind_of(const char *eco)
{
	size_t i, n;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i].eco);
		if (strncmp(eco, kinds[i].eco, n) == 0 && (eco[n] == '\0' || eco[n] == ':'))
			return (int)i;
	}
	return -1;
}

static void add_version(const char **v, size_t *n, const json_t *s)
{
	const char *x = json_string_value(s);
	size_t i;

	if (x == NULL || *n == FUZZ_MAX_VERSIONS)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(v[i], x) == 0)
			return;
	v[(*n)++] = x;
}

/* Versions worth asking about: the record's own boundaries. */
static size_t versions_of(const char **v, const json_t *aff)
{
	const json_t *ranges = json_object_get(aff, "ranges"), *r, *ev, *e, *x;
	size_t n = 0, i, j;
	const char *key;

	json_array_foreach(json_object_get(aff, "versions"), i, x)
		add_version(v, &n, x);
	json_array_foreach(ranges, i, r) {
		ev = json_object_get(r, "events");
		json_array_foreach(ev, j, e) {
			json_object_foreach((json_t *)e, key, x)
				add_version(v, &n, x);
		}
	}
	return n;
}

static void one(json_t *findings, const json_t *rec, const json_t *aff)
{
	const json_t *pk = json_object_get(aff, "package");
	const char *eco = json_string_value(json_object_get(pk, "ecosystem"));
	const char *name = json_string_value(json_object_get(pk, "name"));
	const char *vers[FUZZ_MAX_VERSIONS + 1];
	size_t nv, i;
	int k;

	if (eco == NULL || name == NULL || (k = kind_of(eco)) < 0)
		return;
	nv = versions_of(vers, aff);
	vers[nv++] = "1.0";
	for (i = 0; i < nv; i++) {
		json_t *pkg, *keys = NULL, *f = NULL, *notes = json_array();
		const char *image_eco = kinds[k].os ? eco : NULL;
		int r;

		pkg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "kind", kinds[k].kind,
				"name", name, "version", vers[i], "source_name", name,
				"source_version", vers[i], "origin", name, "layer", 0);
		if (pkg == NULL || notes == NULL)
			abort();
		r = cs_match_query_keys(&keys, pkg, image_eco);
		FUZZ_ASSERT(r <= 0);
		FUZZ_ASSERT((r == 0) == json_is_array(keys));
		json_decref(keys);
		r = cs_match_record(&f, rec, pkg, image_eco, notes);
		FUZZ_ASSERT(r <= 0);
		if (f != NULL) {
			FUZZ_ASSERT(r == 0 && json_is_object(f));
			FUZZ_ASSERT(json_equal(json_object_get(f, "id"), json_object_get(rec, "id")));
			if (json_array_size(findings) < 16)
				json_array_append(findings, f);
		}
		json_decref(f);
		json_decref(notes);
		json_decref(pkg);
	}
	(void)cs_match_ecosystem_covers(eco, eco);
	(void)cs_match_ecosystem_applies(eco, eco);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *rec, *copy, *findings, *aff;
	size_t i;

	rec = json_loadb((const char *)data, size, 0, &jerr);
	if (rec == NULL)
		return 0;
	if (!json_is_object(rec)) {
		json_t *pkg = json_pack("{s:s, s:s, s:s}", "kind", "npm", "name", "x", "version", "1");
		json_t *f = NULL;

		FUZZ_ASSERT(cs_match_record(&f, rec, pkg, NULL, NULL) == CS_EFORMAT && f == NULL);
		json_decref(pkg);
		json_decref(rec);
		return 0;
	}
	copy = json_deep_copy(rec);
	findings = json_array();
	if (copy == NULL || findings == NULL)
		abort();
	json_array_foreach(json_object_get(rec, "affected"), i, aff) {
		if (i == FUZZ_MAX_ENTRIES)
			break;
		one(findings, rec, aff);
	}
	FUZZ_ASSERT(json_equal(rec, copy));
	FUZZ_ASSERT(cs_match_dedupe(findings) == 0);
	json_decref(findings);
	json_decref(copy);
	json_decref(rec);
	return 0;
}
