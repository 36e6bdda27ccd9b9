/*
 * test_vercmp.c - every line of every file in shared/fixtures/versions/ is
 * checked against supervisor/match/vercmp.h; per-file counts are printed and a
 * file that yields no check fails. Plus invalid versions, limits and
 * ecosystem-name parsing.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/match/vercmp.h"
#include "tests/harness.h"

static const char *shared;
static int file_checks, file_strict_rejected, file_skipped;

static int op_of(const char *s)
{
	if (strcmp(s, "<") == 0)
		return -1;
	if (strcmp(s, "=") == 0)
		return 0;
	if (strcmp(s, ">") == 0)
		return 1;
	return 99;
}

static char *load(const char *rel)
{
	char p[4096];
	char *d;

	snprintf(p, sizeof(p), "%s/fixtures/versions/%s", shared, rel);
	d = (char *)cs_test_read_file(p, NULL);
	if (d == NULL) {
		fprintf(stderr, "cannot read %s\n", p);
		CHECK(0);
	}
	return d;
}

/* Lenient must give want both ways round; strict must agree or reject a
 * version that cs_version_valid() also rejects. */
/* Vectors where we knowingly follow the reference tool rather than the
 * fixture; each is still checked, against the tool's result, and printed. */
static const struct {
	enum cs_verscheme s;
	const char *a, *b;
	int tool;
	const char *why;
} deviations[] = {
	{CS_VERSCHEME_MAVEN, "1-1", "1-ga-1", 1,
	 "Maven 3 ComparableVersion keeps the list after \"ga-\" ([1,[[1]]] vs [1,[1]]), so 1-1 > 1-ga-1; "
	 "the fixture follows the POM spec text"},
};

static void check_pair(const char *file, int line, enum cs_verscheme s, const char *a, const char *b,
		       int want)
{
	int c = 42, c2 = 42, r;
	size_t k;

	for (k = 0; k < sizeof(deviations) / sizeof(deviations[0]); k++) {
		if (deviations[k].s == s && ((strcmp(a, deviations[k].a) == 0 && strcmp(b, deviations[k].b) == 0) ||
					     (strcmp(b, deviations[k].a) == 0 && strcmp(a, deviations[k].b) == 0))) {
			int tool = strcmp(a, deviations[k].a) == 0 ? deviations[k].tool : -deviations[k].tool;

			printf("KNOWN DEVIATION %s:%d: %s %s vs %s: fixture %d, we give %d: %s\n", file, line,
			       cs_verscheme_name(s), a, b, want, tool, deviations[k].why);
			want = tool;
		}
	}

	r = cs_vercmp_flags(&c, s, a, b, CS_VERCMP_LENIENT);
	if (r == CS_EUNSUPPORTED) {
		file_skipped++;
		return;
	}
	CHECK(r == 0);
	/* a version always equals itself (docs/versions.md), in both modes */
	CHECK(cs_vercmp_flags(&c2, s, a, a, CS_VERCMP_LENIENT) == 0 && c2 == 0);
	if (cs_vercmp(&c2, s, b, b) == 0)
		CHECK(c2 == 0);
	CHECK(cs_vercmp_flags(&c2, s, b, a, CS_VERCMP_LENIENT) == 0);
	file_checks++;
	if (r != 0 || c != want || c2 != -want) {
		cs_test_failures++;
		fprintf(stderr, "%s:%d: %s: \"%s\" vs \"%s\": got %d/%d (rc %d %s), want %d\n", file, line,
			cs_verscheme_name(s), a, b, c, c2, r, r ? cs_err_msg() : "", want);
		return;
	}
	r = cs_vercmp(&c, s, a, b);
	if (r == CS_EFORMAT) {
		file_strict_rejected++;
		CHECK(cs_version_valid(s, a) == CS_EFORMAT || cs_version_valid(s, b) == CS_EFORMAT);
		CHECK(strstr(cs_err_msg(), cs_verscheme_name(s)) != NULL);
	} else if (r != 0 || c != want) {
		cs_test_failures++;
		fprintf(stderr, "%s:%d: strict %s: \"%s\" vs \"%s\": got %d (rc %d), want %d\n", file, line,
			cs_verscheme_name(s), a, b, c, r, want);
	}
}

static void begin(void)
{
	file_checks = file_strict_rejected = file_skipped = 0;
}

static void end(const char *file, const char *scheme)
{
	if (file_skipped > 0) {
		/* every family is implemented: CS_EUNSUPPORTED is a regression */
		fprintf(stderr, "%s: %d vectors: %s family returned CS_EUNSUPPORTED\n", file,
			file_skipped, scheme);
		cs_test_failures++;
	}
	printf("%-50s %-9s %6d checked, %4d rejected by the strict grammar, %d skipped\n", file,
	       scheme, file_checks, file_strict_rejected, file_skipped);
	if (file_checks == 0) {
		fprintf(stderr, "%s: no check ran\n", file);
		cs_test_failures++;
	}
}

/* "A OP B" lines; comment handling per file format. */
static void run_ops_file(const char *rel, enum cs_verscheme s, int scalibr)
{
	char *d = load(rel), *line, *next;
	int ln = 0;

	if (d == NULL)
		return;
	begin();
	for (line = d; line != NULL && *line; line = next) {
		char *f[4] = {0};
		int n = 0, want;
		char *p;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		ln++;
		if (scalibr) {
			if (*line == '\0' || strncmp(line, "# ", 2) == 0 || strncmp(line, "// ", 3) == 0)
				continue;
		} else {
			/* our converted files: '#' comments, but "# disabled: " lines are
			 * upstream's documented behaviour and are checked too */
			if (strncmp(line, "# disabled: ", 12) == 0)
				line += 12;
			else if (*line == '#' || *line == '\0')
				continue;
		}
		for (p = line; n < 4;) {
			f[n++] = p;
			p = strchr(p, ' ');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (n != 3) {
			fprintf(stderr, "%s:%d: malformed vector line\n", rel, ln);
			cs_test_failures++;
			continue;
		}
		want = op_of(f[1]);
		if (want == 99) {
			/* dpkg t-version: <= >= != */
			int c = 42, r = cs_vercmp_flags(&c, s, f[0], f[2], CS_VERCMP_LENIENT);
			int ok = r == 0 && ((strcmp(f[1], "<=") == 0 && c <= 0) ||
					    (strcmp(f[1], ">=") == 0 && c >= 0) ||
					    (strcmp(f[1], "!=") == 0 && c != 0));

			file_checks++;
			if (!ok) {
				cs_test_failures++;
				fprintf(stderr, "%s:%d: %s %s %s does not hold (got %d, rc %d)\n", rel, ln,
					f[0], f[1], f[2], c, r);
			}
			continue;
		}
		check_pair(rel, ln, s, f[0], f[2], want);
	}
	free(d);
	end(rel, cs_verscheme_name(s));
}

/* apk-tools test/unit/version.data */
static void run_apk_data(void)
{
	const char *rel = "apk-tools/version.data";
	char *d = load(rel), *line, *next;
	int ln = 0;

	if (d == NULL)
		return;
	begin();
	for (line = d; line != NULL && *line; line = next) {
		char *f[4] = {0}, *p, *q;
		int n = 0;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		ln++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		q = line + strlen(line);
		while (q > line && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
			*--q = '\0';
		if (*line == '\0')
			continue;
		for (p = line; n < 4;) {
			f[n++] = p;
			p = strpbrk(p, " \t");
			if (p == NULL)
				break;
			*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
		}
		if (n == 1 && strcmp(f[0], "!") == 0) {
			/* "!" alone: the empty version is invalid */
			file_checks++;
			CHECK(cs_version_valid(CS_VERSCHEME_APK, "") == CS_EFORMAT);
		} else if (n == 1) {
			int neg = f[0][0] == '!', r = cs_version_valid(CS_VERSCHEME_APK, f[0] + neg);

			file_checks++;
			if ((r == 0) == neg) {
				cs_test_failures++;
				fprintf(stderr, "%s:%d: validity of \"%s\": rc %d, want %s\n", rel, ln,
					f[0] + neg, r, neg ? "invalid" : "valid");
			}
		} else if (n == 3) {
			const char *op = f[1];
			int neg = op[0] == '!', mask = 0, fuzzy = 0, c = 42, r, bit, holds;

			for (op += neg; *op; op++) {
				if (*op == '<')
					mask |= 1;
				else if (*op == '=')
					mask |= 2;
				else if (*op == '>')
					mask |= 4;
				else if (*op == '~')
					fuzzy = 1, mask |= 2;
			}
			if (fuzzy)
				r = cs_vercmp_apk_fuzzy(&c, f[0], f[2]);
			else
				r = cs_vercmp_flags(&c, CS_VERSCHEME_APK, f[0], f[2], CS_VERCMP_LENIENT);
			bit = c < 0 ? 1 : c == 0 ? 2 : 4;
			holds = r == 0 && (bit & mask) != 0;
			file_checks++;
			if (holds == neg) {
				cs_test_failures++;
				fprintf(stderr, "%s:%d: %s %s %s: got %d (rc %d)\n", rel, ln, f[0], f[1], f[2],
					c, r);
			}
			if (!fuzzy && !neg && mask != 0) {
				/* ordinary comparisons also run through the strict path */
				int c2;

				r = cs_vercmp(&c2, CS_VERSCHEME_APK, f[0], f[2]);
				if (r == CS_EFORMAT)
					file_strict_rejected++;
				else
					CHECK(r == 0 && c2 == c);
			}
		} else {
			fprintf(stderr, "%s:%d: malformed line\n", rel, ln);
			cs_test_failures++;
		}
	}
	free(d);
	end(rel, "apk");
}

static int dpkg_cmp_lenient(const void *x, const void *y)
{
	int c = 0;

	CHECK(cs_vercmp_flags(&c, CS_VERSCHEME_DPKG, *(const char *const *)x, *(const char *const *)y,
			      CS_VERCMP_LENIENT) == 0);
	return c;
}

static void run_dpkg_sort(void)
{
	const char *rel = "dpkg/dpkg-Dpkg_Version-sort.json";
	char p[4096];
	json_error_t je;
	json_t *root, *cases, *c;
	size_t i, k;

	snprintf(p, sizeof(p), "%s/fixtures/versions/%s", shared, rel);
	root = json_load_file(p, 0, &je);
	CHECK(root != NULL);
	if (root == NULL)
		return;
	begin();
	cases = json_object_get(root, "cases");
	json_array_foreach(cases, i, c) {
		json_t *un = json_object_get(c, "unsorted"), *ex = json_object_get(c, "expected_sorted");
		const char *v[64];
		size_t n = json_array_size(un);

		CHECK(n > 0 && n <= 64 && n == json_array_size(ex));
		if (n == 0 || n > 64)
			continue;
		/* version_compare_part / _string compare one part; the inputs have no
		 * ':' or '-', so the full comparison of that part is the same. */
		for (k = 0; k < n; k++)
			v[k] = json_string_value(json_array_get(un, k));
		qsort(v, n, sizeof(v[0]), dpkg_cmp_lenient);
		for (k = 0; k < n; k++)
			CHECK_STR(v[k], json_string_value(json_array_get(ex, k)));
		file_checks++;
	}
	json_decref(root);
	end(rel, "dpkg");
}

static void run_dpkg_parse(void)
{
	const char *rel = "dpkg/dpkg-t-version-parse.json";
	char p[4096];
	json_error_t je;
	json_t *root, *c;
	size_t i;

	snprintf(p, sizeof(p), "%s/fixtures/versions/%s", shared, rel);
	root = json_load_file(p, 0, &je);
	CHECK(root != NULL);
	if (root == NULL)
		return;
	begin();
	json_array_foreach(json_object_get(root, "cases"), i, c) {
		const char *in = json_string_value(json_object_get(c, "input"));
		const char *res = json_string_value(json_object_get(c, "result"));
		int strict = cs_version_valid(CS_VERSCHEME_DPKG, in);
		int lenient = cs_version_check(CS_VERSCHEME_DPKG, in, CS_VERCMP_LENIENT);
		int ok;

		if (strcmp(res, "ok") == 0) {
			char built[512];
			const char *rv = json_string_value(json_object_get(c, "revision"));
			int cmp = 42;

			snprintf(built, sizeof(built), "%lld:%s%s%s",
				 (long long)json_integer_value(json_object_get(c, "epoch")),
				 json_string_value(json_object_get(c, "version")), rv[0] ? "-" : "", rv);
			ok = strict == 0 && cs_vercmp(&cmp, CS_VERSCHEME_DPKG, in, built) == 0 && cmp == 0;
		} else if (strcmp(res, "error") == 0) {
			ok = strict == CS_EFORMAT && lenient == CS_EFORMAT;
		} else {
			ok = strict == CS_EFORMAT && lenient == 0;
		}
		file_checks++;
		if (!ok) {
			cs_test_failures++;
			fprintf(stderr, "%s: \"%s\": want %s, strict rc %d, lenient rc %d (%s)\n", rel, in,
				res, strict, lenient, cs_err_msg());
		}
	}
	json_decref(root);
	end(rel, "dpkg");
}

static void run_scalibr(void)
{
	static const struct {
		const char *prefix;
		enum cs_verscheme s[2];
		int n;
	} map[] = {
		{"semver-", {CS_VERSCHEME_SEMVER, CS_VERSCHEME_GO}, 2},
		{"rubygems-", {CS_VERSCHEME_RUBYGEMS}, 1},
		{"nuget-", {CS_VERSCHEME_NUGET}, 1},
		{"packagist-", {CS_VERSCHEME_PACKAGIST}, 1},
		{"maven-", {CS_VERSCHEME_MAVEN}, 1},
		{"pypi-", {CS_VERSCHEME_PEP440}, 1},
		{"debian-", {CS_VERSCHEME_DPKG}, 1},
		{"cran-", {CS_VERSCHEME_CRAN}, 1},
		{"alpine-", {CS_VERSCHEME_APK}, 1},
		{"redhat-", {CS_VERSCHEME_RPM}, 1},
		{"hackage-", {CS_VERSCHEME_HACKAGE}, 1},
		{"pub-", {CS_VERSCHEME_PUB}, 1},
	};
	char dir[4096], rel[512];
	struct dirent **ents = NULL;
	int n, i;
	size_t k;

	snprintf(dir, sizeof(dir), "%s/fixtures/versions/osv-scalibr", shared);
	n = scandir(dir, &ents, NULL, alphasort);
	CHECK(n > 2);
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		int found = 0;

		if (name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(rel, sizeof(rel), "osv-scalibr/%s", name);
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			if (strncmp(name, map[k].prefix, strlen(map[k].prefix)) == 0) {
				int j;

				for (j = 0; j < map[k].n; j++)
					run_ops_file(rel, map[k].s[j], 1);
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "%s: no ecosystem known for this file\n", rel);
			cs_test_failures++;
		}
		free(ents[i]);
	}
	free(ents);
}

static void check_bad(enum cs_verscheme s, const char *v)
{
	int c = 42, r = cs_vercmp(&c, s, v, "1.0.0");

	if (r != CS_EFORMAT || strstr(cs_err_msg(), cs_verscheme_name(s)) == NULL) {
		cs_test_failures++;
		fprintf(stderr, "%s \"%s\": rc %d (%s), want CS_EFORMAT\n", cs_verscheme_name(s), v, r,
			cs_err_msg());
	}
	cs_test_checks++;
	CHECK(cs_version_valid(s, v) == CS_EFORMAT);
	CHECK(c == 42);
}

static void unit(void)
{
	enum cs_verscheme s = CS_VERSCHEME_COUNT;
	char big[CS_VERCMP_MAX + 2];
	int c, k;

	CHECK(cs_verscheme_for_ecosystem(&s, "Debian:12") == 0 && s == CS_VERSCHEME_DPKG);
	CHECK(cs_verscheme_for_ecosystem(&s, "Ubuntu:22.04:LTS") == 0 && s == CS_VERSCHEME_DPKG);
	CHECK(cs_verscheme_for_ecosystem(&s, "Alpine:v3.19") == 0 && s == CS_VERSCHEME_APK);
	CHECK(cs_verscheme_for_ecosystem(&s, "Red Hat") == 0 && s == CS_VERSCHEME_RPM);
	CHECK(cs_verscheme_for_ecosystem(&s, "Rocky Linux:9") == 0 && s == CS_VERSCHEME_RPM);
	CHECK(cs_verscheme_for_ecosystem(&s, "AlmaLinux:8") == 0 && s == CS_VERSCHEME_RPM);
	CHECK(cs_verscheme_for_ecosystem(&s, "openSUSE:Leap 15.5") == 0 && s == CS_VERSCHEME_RPM);
	CHECK(cs_verscheme_for_ecosystem(&s, "SUSE:Linux Enterprise Server 15 SP5") == 0 &&
	      s == CS_VERSCHEME_RPM);
	CHECK(cs_verscheme_for_ecosystem(&s, "Wolfi") == 0 && s == CS_VERSCHEME_APK);
	CHECK(cs_verscheme_for_ecosystem(&s, "Chainguard") == 0 && s == CS_VERSCHEME_APK);
	CHECK(cs_verscheme_for_ecosystem(&s, "PyPI") == 0 && s == CS_VERSCHEME_PEP440);
	CHECK(cs_verscheme_for_ecosystem(&s, "npm") == 0 && s == CS_VERSCHEME_SEMVER);
	CHECK(cs_verscheme_for_ecosystem(&s, "crates.io") == 0 && s == CS_VERSCHEME_SEMVER);
	CHECK(cs_verscheme_for_ecosystem(&s, "Hex") == 0 && s == CS_VERSCHEME_SEMVER);
	CHECK(cs_verscheme_for_ecosystem(&s, "Go") == 0 && s == CS_VERSCHEME_GO);
	CHECK(cs_verscheme_for_ecosystem(&s, "Maven") == 0 && s == CS_VERSCHEME_MAVEN);
	CHECK(cs_verscheme_for_ecosystem(&s, "RubyGems") == 0 && s == CS_VERSCHEME_RUBYGEMS);
	CHECK(cs_verscheme_for_ecosystem(&s, "NuGet") == 0 && s == CS_VERSCHEME_NUGET);
	CHECK(cs_verscheme_for_ecosystem(&s, "Packagist") == 0 && s == CS_VERSCHEME_PACKAGIST);
	CHECK(cs_verscheme_for_ecosystem(&s, "Pub") == 0 && s == CS_VERSCHEME_PUB);
	CHECK(cs_verscheme_for_ecosystem(&s, "CRAN") == 0 && s == CS_VERSCHEME_CRAN);
	CHECK(cs_verscheme_for_ecosystem(&s, "Hackage") == 0 && s == CS_VERSCHEME_HACKAGE);
	/* exact spelling only */
	CHECK(cs_verscheme_for_ecosystem(&s, "debian") == CS_EUNSUPPORTED);
	CHECK(cs_verscheme_for_ecosystem(&s, "pypi") == CS_EUNSUPPORTED);
	CHECK(cs_verscheme_for_ecosystem(&s, "Debian:") == CS_EUNSUPPORTED);
	CHECK(cs_verscheme_for_ecosystem(&s, "") == CS_EUNSUPPORTED);
	CHECK(cs_verscheme_for_ecosystem(&s, "Linux") == CS_EUNSUPPORTED);
	CHECK(strstr(cs_err_msg(), "\"Linux\"") != NULL);
	CHECK(cs_verscheme_for_ecosystem(&s, "Evil\x1b[2J") == CS_EUNSUPPORTED);
	CHECK(strchr(cs_err_msg(), '\x1b') == NULL);
	CHECK(cs_verscheme_for_ecosystem(NULL, "Go") == CS_EINVAL);

	for (k = 0; k < CS_VERSCHEME_COUNT; k++)
		CHECK(strcmp(cs_verscheme_name((enum cs_verscheme)k), "unknown") != 0);
	CHECK_STR(cs_verscheme_name(CS_VERSCHEME_DPKG), "dpkg");
	CHECK_STR(cs_verscheme_name(CS_VERSCHEME_COUNT), "unknown");

	CHECK(cs_vercmp(NULL, CS_VERSCHEME_DPKG, "1", "2") == CS_EINVAL);
	CHECK(cs_vercmp(&c, CS_VERSCHEME_DPKG, NULL, "2") == CS_EINVAL);
	CHECK(cs_vercmp(&c, CS_VERSCHEME_COUNT, "1", "2") == CS_EINVAL);
	memset(big, '1', sizeof(big));
	big[CS_VERCMP_MAX] = '\0';
	for (k = 0; k < CS_VERSCHEME_COUNT; k++) {
		int r = cs_vercmp(&c, (enum cs_verscheme)k, big, big);

		/* 1024 bytes are allowed... */
		CHECK(r == 0 || r == CS_EUNSUPPORTED || r == CS_EFORMAT);
		if (r == 0)
			CHECK(c == 0);
	}
	big[CS_VERCMP_MAX] = '1';
	big[CS_VERCMP_MAX + 1] = '\0';
	for (k = 0; k < CS_VERSCHEME_COUNT; k++) /* ...1025 are not */
		CHECK(cs_vercmp(&c, (enum cs_verscheme)k, "1", big) == CS_ELIMIT);

	/* long but legal: numbers far beyond 64 bits */
	CHECK(cs_vercmp(&c, CS_VERSCHEME_DPKG, "1.123456789012345678901234567890",
			"1.123456789012345678901234567891") == 0 && c == -1);
	CHECK(cs_vercmp(&c, CS_VERSCHEME_RPM, "99999999999999999999999", "99999999999999999999998") ==
		      0 && c == 1);

	check_bad(CS_VERSCHEME_DPKG, "a1.0");
	check_bad(CS_VERSCHEME_DPKG, "");
	check_bad(CS_VERSCHEME_DPKG, "1.0 1");
	check_bad(CS_VERSCHEME_DPKG, "x:1.0");
	check_bad(CS_VERSCHEME_DPKG, "1.0-");
	check_bad(CS_VERSCHEME_DPKG, "1.0_1");
	check_bad(CS_VERSCHEME_RPM, "");
	check_bad(CS_VERSCHEME_RPM, "1.0 2");
	check_bad(CS_VERSCHEME_APK, "1.0bc");
	check_bad(CS_VERSCHEME_APK, "1.0-r");
	check_bad(CS_VERSCHEME_APK, "v1.0");
	check_bad(CS_VERSCHEME_SEMVER, "1.2");
	check_bad(CS_VERSCHEME_SEMVER, "01.2.3");
	check_bad(CS_VERSCHEME_SEMVER, "1.2.3-");
	check_bad(CS_VERSCHEME_SEMVER, "1.2.3-01");
	check_bad(CS_VERSCHEME_SEMVER, "1.2.3-a..b");
	check_bad(CS_VERSCHEME_SEMVER, "1.2.3+");
	check_bad(CS_VERSCHEME_SEMVER, "1.2.3.4");
	check_bad(CS_VERSCHEME_GO, "v1.2.3-");
	CHECK(cs_version_valid(CS_VERSCHEME_GO, "v1.2") == 0);
	CHECK(cs_version_valid(CS_VERSCHEME_GO, "v0.0.0-20230102150405-abcdef123456") == 0);
	CHECK(cs_version_valid(CS_VERSCHEME_GO, "v2.0.0+incompatible") == 0);
	CHECK(cs_vercmp(&c, CS_VERSCHEME_GO, "v0.0.0-20230102150405-abcdef123456",
			"v0.0.0-20221231000000-0123456789ab") == 0 && c == 1);
	CHECK(cs_vercmp(&c, CS_VERSCHEME_GO, "v2.0.0+incompatible", "2.0.0") == 0 && c == 0);
	if (cs_version_valid(CS_VERSCHEME_PEP440, "1.0") != CS_EUNSUPPORTED) {
		check_bad(CS_VERSCHEME_PEP440, "1.0-bulbasaur");
		check_bad(CS_VERSCHEME_PEP440, "1.0+");
		check_bad(CS_VERSCHEME_PEP440, "1!");
		check_bad(CS_VERSCHEME_PEP440, "");
		CHECK(cs_version_valid(CS_VERSCHEME_PEP440, " 1.0.POST1 ") == 0);
	}
	if (cs_version_valid(CS_VERSCHEME_NUGET, "1.0") != CS_EUNSUPPORTED) {
		check_bad(CS_VERSCHEME_NUGET, "1.0.0.0.0");
		check_bad(CS_VERSCHEME_NUGET, "1.0.0-");
		check_bad(CS_VERSCHEME_NUGET, "a.b");
	}
	if (cs_version_valid(CS_VERSCHEME_RUBYGEMS, "1.0") != CS_EUNSUPPORTED) {
		check_bad(CS_VERSCHEME_RUBYGEMS, "1.0 junk");
		check_bad(CS_VERSCHEME_RUBYGEMS, "junk");
	}
	if (cs_version_valid(CS_VERSCHEME_MAVEN, "1.0") != CS_EUNSUPPORTED)
		check_bad(CS_VERSCHEME_MAVEN, "");
	if (cs_version_valid(CS_VERSCHEME_PACKAGIST, "1.0") != CS_EUNSUPPORTED)
		check_bad(CS_VERSCHEME_PACKAGIST, "");
	/* the message escapes what it quotes */
	CHECK(cs_vercmp(&c, CS_VERSCHEME_DPKG, "\x1b[31m", "1") == CS_EFORMAT);
	CHECK(strchr(cs_err_msg(), '\x1b') == NULL && strstr(cs_err_msg(), "\\x1b") != NULL);
}

/* cmp(a, b) == want and cmp(b, a) == -want in the given mode. */
static void want_cmp(enum cs_verscheme s, const char *a, const char *b, unsigned flags, int want)
{
	int c = 42, c2 = 42, r = cs_vercmp_flags(&c, s, a, b, flags);
	int r2 = cs_vercmp_flags(&c2, s, b, a, flags);

	cs_test_checks++;
	if (r != 0 || r2 != 0 || c != want || c2 != -want) {
		cs_test_failures++;
		fprintf(stderr, "%s%s: \"%s\" vs \"%s\": got %d/%d (rc %d/%d %s), want %d\n",
			cs_verscheme_name(s), flags ? " lenient" : "", a, b, c, c2, r, r2,
			r || r2 ? cs_err_msg() : "", want);
	}
}

static void want_valid(enum cs_verscheme s, const char *v, int strict_ok, int lenient_ok)
{
	int r1 = cs_version_valid(s, v), r2 = cs_version_check(s, v, CS_VERCMP_LENIENT);

	cs_test_checks++;
	if ((r1 == 0) != strict_ok || (r2 == 0) != lenient_ok || (r1 != 0 && r1 != CS_EFORMAT) ||
	    (r2 != 0 && r2 != CS_EFORMAT)) {
		cs_test_failures++;
		fprintf(stderr, "%s \"%s\": strict rc %d, lenient rc %d, want %s/%s\n",
			cs_verscheme_name(s), v, r1, r2, strict_ok ? "valid" : "invalid",
			lenient_ok ? "valid" : "invalid");
	}
}

/* CRAN, Pub and Hackage: the grammar and order their reference tools define
 * (R's package_version and numeric_version, pub_semver's Version.parse and
 * compareTo with Dart's int.tryParse, Cabal's version parser and
 * Data.Version); see docs/versions.md. */
static void unit_new_families(void)
{
	int k;

	for (k = 0; k < CS_VERSCHEME_COUNT; k++)
		CHECK(cs_version_check((enum cs_verscheme)k, "1.0.0", CS_VERCMP_LENIENT) != CS_EUNSUPPORTED);

	/* R: package_version needs major.minor; numeric_version takes one part */
	want_valid(CS_VERSCHEME_CRAN, "1.0-1", 1, 1);
	want_valid(CS_VERSCHEME_CRAN, "0.01.0", 1, 1);
	want_valid(CS_VERSCHEME_CRAN, "1.2147483647", 1, 1);
	want_valid(CS_VERSCHEME_CRAN, "1", 0, 1);
	want_valid(CS_VERSCHEME_CRAN, "1.2147483648", 0, 1);
	want_valid(CS_VERSCHEME_CRAN, "1.0.", 0, 0);
	want_valid(CS_VERSCHEME_CRAN, "1..0", 0, 0);
	want_valid(CS_VERSCHEME_CRAN, "1.0a", 0, 0);
	want_valid(CS_VERSCHEME_CRAN, "v1.0", 0, 0);
	want_valid(CS_VERSCHEME_CRAN, "1.0 ", 0, 0);
	check_bad(CS_VERSCHEME_CRAN, "");
	check_bad(CS_VERSCHEME_CRAN, "1");
	want_cmp(CS_VERSCHEME_CRAN, "1.0-1", "1.0.1", 0, 0);
	want_cmp(CS_VERSCHEME_CRAN, "1.0", "1.0.0", 0, -1);
	want_cmp(CS_VERSCHEME_CRAN, "1.9", "1.10", 0, -1);
	want_cmp(CS_VERSCHEME_CRAN, "1.01", "1.1", 0, 0);
	want_cmp(CS_VERSCHEME_CRAN, "1", "1.0", CS_VERCMP_LENIENT, -1);
	want_cmp(CS_VERSCHEME_CRAN, "1.99999999999999999999", "1.99999999999999999998",
		 CS_VERCMP_LENIENT, 1);

	/* pub_semver: exactly three numbers, leading zeros kept but ignored */
	want_valid(CS_VERSCHEME_PUB, "001.02.0003-01.dev+pre.002", 1, 1);
	want_valid(CS_VERSCHEME_PUB, "1.2.3--", 1, 1);
	want_valid(CS_VERSCHEME_PUB, "9223372036854775807.0.0", 1, 1);
	want_valid(CS_VERSCHEME_PUB, "9223372036854775808.0.0", 0, 1);
	want_valid(CS_VERSCHEME_PUB, "1.0", 0, 1);
	want_valid(CS_VERSCHEME_PUB, "v1.2.3", 0, 1);
	want_valid(CS_VERSCHEME_PUB, "1.2.3.4", 0, 1);
	want_valid(CS_VERSCHEME_PUB, "1a2b3", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "-2.3.4", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "1.2.3-", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "1.2.3+", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "1.2.3-a..b", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "1.2.3+a+b", 0, 0);
	want_valid(CS_VERSCHEME_PUB, "1.2.3.4+b", 0, 0);
	check_bad(CS_VERSCHEME_PUB, "");
	check_bad(CS_VERSCHEME_PUB, "1234");
	want_cmp(CS_VERSCHEME_PUB, "001.02.0003-01.dev+pre.002", "1.2.3-1.dev+pre.2", 0, 0);
	want_cmp(CS_VERSCHEME_PUB, "1.2.3", "1.2.3+0", 0, -1);
	want_cmp(CS_VERSCHEME_PUB, "1.2.3-rc", "1.2.3-rc+0", 0, -1);
	want_cmp(CS_VERSCHEME_PUB, "1.2.3+b.1", "1.2.3+b", 0, 1);
	/* identifiers are numbers when Dart's int.tryParse reads them */
	want_cmp(CS_VERSCHEME_PUB, "1.0.0-0x10", "1.0.0-16", 0, 0);
	want_cmp(CS_VERSCHEME_PUB, "1.0.0-a.-1", "1.0.0-a.0", 0, -1);
	want_cmp(CS_VERSCHEME_PUB, "1.0.0-99999999999999999999", "1.0.0-5", 0, 1);
	want_cmp(CS_VERSCHEME_PUB, "1.0.0-99999999999999999999", "1.0.0-a", 0, -1);
	want_cmp(CS_VERSCHEME_PUB, "v1.2.3", "1.2.3", CS_VERCMP_LENIENT, 0);
	want_cmp(CS_VERSCHEME_PUB, "1.2", "1.2.0", CS_VERCMP_LENIENT, 0);
	want_cmp(CS_VERSCHEME_PUB, "1.2.3.4", "1.2.3+4", CS_VERCMP_LENIENT, 0);

	/* Cabal / Hackage: no leading zeros, at most 9 digits, no tags */
	want_valid(CS_VERSCHEME_HACKAGE, "0", 1, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1.2.3.4.5", 1, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "123456789", 1, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1234567890", 0, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1.02", 0, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1.0-rc1", 0, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1.0-rc1-x", 0, 1);
	want_valid(CS_VERSCHEME_HACKAGE, "1.0-", 0, 0);
	want_valid(CS_VERSCHEME_HACKAGE, "1.0-r.c", 0, 0);
	want_valid(CS_VERSCHEME_HACKAGE, "1.", 0, 0);
	want_valid(CS_VERSCHEME_HACKAGE, "1..2", 0, 0);
	want_valid(CS_VERSCHEME_HACKAGE, "v1", 0, 0);
	check_bad(CS_VERSCHEME_HACKAGE, "");
	check_bad(CS_VERSCHEME_HACKAGE, "1.0-rc1");
	want_cmp(CS_VERSCHEME_HACKAGE, "1.0", "1.0.0", 0, -1);
	want_cmp(CS_VERSCHEME_HACKAGE, "1.9", "1.10", 0, -1);
	want_cmp(CS_VERSCHEME_HACKAGE, "1.0-rc1", "1.0", CS_VERCMP_LENIENT, 0);
	want_cmp(CS_VERSCHEME_HACKAGE, "1.0-a", "1.0-b", CS_VERCMP_LENIENT, 0);
	want_cmp(CS_VERSCHEME_HACKAGE, "01.2", "1.2", CS_VERCMP_LENIENT, 0);
}

/* The findings of tests/fuzz/crashes/ that were fixed (docs/versions.md). */
static void unit_fixed_findings(void)
{
	/* Maven: an empty component is ComparableVersion's IntItem ZERO */
	want_cmp(CS_VERSCHEME_MAVEN, "1..0", "1", 0, 0);
	want_cmp(CS_VERSCHEME_MAVEN, "1..0", "1.0", 0, 0);
	want_cmp(CS_VERSCHEME_MAVEN, "1-.1", "1-0.1", 0, 0);
	/* MNG-6964: a sub-list against nothing compares all its items */
	want_cmp(CS_VERSCHEME_MAVEN, "1-0.alpha", "1", 0, -1);
	want_cmp(CS_VERSCHEME_MAVEN, "1-0.beta", "1", 0, -1);
	want_cmp(CS_VERSCHEME_MAVEN, "1-0.alpha", "1-0.beta", 0, -1);
	want_cmp(CS_VERSCHEME_MAVEN, "1-0.de", "1..0", 0, 1);
	want_cmp(CS_VERSCHEME_MAVEN, "1-0.de", "1", 0, 1);

	/* Packagist: a trailing empty element equals itself, and is below
	 * everything else as PHP has it ("1." < "1", "1." < "1.0") */
	want_cmp(CS_VERSCHEME_PACKAGIST, "1.", "1.", 0, 0);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1.0-", "1.0_", 0, 0);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1.", "1", 0, -1);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1.", "1.0", 0, -1);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1.", "1.dev", 0, -1);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1\xf6", "1\xcd", CS_VERCMP_LENIENT, 0);
	/* '#' ranks equal to every number in PHP: refused in strict mode */
	want_valid(CS_VERSCHEME_PACKAGIST, "#", 0, 1);
	want_valid(CS_VERSCHEME_PACKAGIST, "1.#", 0, 1);
	want_valid(CS_VERSCHEME_PACKAGIST, "v", 0, 1);
	want_cmp(CS_VERSCHEME_PACKAGIST, "1", "#", CS_VERCMP_LENIENT, 0);
	want_cmp(CS_VERSCHEME_PACKAGIST, "v", "0", CS_VERCMP_LENIENT, -1);
	want_cmp(CS_VERSCHEME_PACKAGIST, "v", "dev", CS_VERCMP_LENIENT, -1);
}

int main(void)
{
	shared = cs_test_shared();
	unit();
	unit_new_families();
	unit_fixed_findings();
	run_ops_file("dpkg/dpkg-Dpkg_Version.txt", CS_VERSCHEME_DPKG, 0);
	run_ops_file("dpkg/dpkg-t-version-compare.txt", CS_VERSCHEME_DPKG, 0);
	run_dpkg_sort();
	run_dpkg_parse();
	run_ops_file("rpm/rpmvercmp.txt", CS_VERSCHEME_RPM, 0);
	run_apk_data();
	run_scalibr();
	return cs_test_done();
}
