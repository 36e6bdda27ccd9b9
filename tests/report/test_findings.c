/*
 * test_findings.c - the findings report (cellscan-report/1) and its
 * writers: table, SARIF 2.1.0, CycloneDX 1.6 with vulnerabilities.
 *
 * A handmade Debian image with findings of every severity, ignored ones
 * (policy rule, VEX, ignore-unfixed), a VEX "affected" annotation, and
 * hostile strings (escape sequences, bidi controls, C1 controls, invalid
 * UTF-8) is checked field by field against values written here from the
 * inputs and docs/formats.md; an unsupported-OS image and a large synthetic
 * one are checked too. Every document is validated by validate.py against
 * docs/report-schema.json and the official SARIF and CycloneDX schemas in
 * ../shared/fixtures/schemas/, and deliberately broken copies must fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"
#include "tests/harness.h"

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIFF0 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define DIFF1 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define DBDIG "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

/* A package name with an escape sequence that would turn the terminal red
 * and a right-to-left override; CJK characters (two columns each). */
#define EVIL_PKG "evil\x1b[31mpkg\xe2\x80\xae"
#define WIDE_PKG "\xe4\xb8\xad\xe6\x96\x87\xe5\x8c\x85"

static const char inventory_text[] =
	"{\"schema\":\"cellscan-inventory/1\","
	"\"image\":{\"ref\":\"registry.example.com/team/app:1.0\",\"name\":\"app\","
	"\"manifest_digest\":\"" DIGEST "\",\"platform\":\"linux/amd64\"},"
	"\"os\":{\"id\":\"debian\",\"version_id\":\"12\",\"codename\":\"bookworm\","
	"\"pretty_name\":\"Debian GNU/Linux 12 (bookworm)\",\"source\":\"etc/os-release\",\"layer\":0},"
	"\"packages\":["
	"{\"kind\":\"dpkg\",\"name\":\"libssl3\",\"version\":\"3.0.11-1~deb12u2\",\"arch\":\"amd64\","
	"\"source_name\":\"openssl\",\"source_version\":\"3.0.11-1~deb12u2\",\"db\":\"var/lib/dpkg/status\","
	"\"layer\":1,\"layer_diff_id\":\"" DIFF1 "\"},"
	"{\"kind\":\"dpkg\",\"name\":\"libssl-dev\",\"version\":\"3.0.11-1~deb12u2\",\"arch\":\"amd64\","
	"\"source_name\":\"openssl\",\"source_version\":\"3.0.11-1~deb12u2\",\"db\":\"var/lib/dpkg/status\","
	"\"layer\":1,\"layer_diff_id\":\"" DIFF1 "\"},"
	"{\"kind\":\"dpkg\",\"name\":\"bash\",\"version\":\"5.2.15-2+b2\",\"arch\":\"amd64\","
	"\"source_name\":\"bash\",\"source_version\":\"5.2.15-2\",\"db\":\"var/lib/dpkg/status\","
	"\"layer\":0,\"layer_diff_id\":\"" DIFF0 "\"},"
	"{\"kind\":\"dpkg\",\"name\":\"zlib1g\",\"version\":\"1:1.2.13.dfsg-1\",\"arch\":\"amd64\","
	"\"source_name\":\"zlib\",\"source_version\":\"1:1.2.13.dfsg-1\",\"db\":\"var/lib/dpkg/status\","
	"\"layer\":0,\"layer_diff_id\":\"" DIFF0 "\"},"
	"{\"kind\":\"dpkg\",\"name\":\"evil\\u001b[31mpkg\\u202e\",\"version\":\"1.0\\u0085-1\",\"arch\":\"amd64\","
	"\"db\":\"var/lib/dpkg/status.d/evil pkg\",\"layer\":1,\"layer_diff_id\":\"" DIFF1 "\"},"
	"{\"kind\":\"dpkg\",\"name\":\"" WIDE_PKG "\",\"version\":\"2.0-1\",\"arch\":\"amd64\","
	"\"db\":\"var/lib/dpkg/status\",\"layer\":1,\"layer_diff_id\":\"" DIFF1 "\"}],"
	"\"layers\":[{\"index\":0,\"digest\":\"sha256:5555555555555555555555555555555555555555555555555555555555555555\","
	"\"diff_id\":\"" DIFF0 "\",\"size\":100,\"bytes\":1000,\"entries\":10},"
	"{\"index\":1,\"digest\":\"sha256:6666666666666666666666666666666666666666666666666666666666666666\","
	"\"diff_id\":\"" DIFF1 "\",\"size\":200,\"bytes\":2000,\"entries\":20}],"
	"\"warnings\":[{\"layer\":1,\"code\":\"special-file\",\"path\":\"dev/null\",\"message\":\"device\"}],"
	"\"sandbox\":{\"cgroup\":\"none\"}}";

static char tmpdir[] = "/tmp/cs-report-findings-XXXXXX";
static int validator_missing;

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (j == NULL)
		fprintf(stderr, "JSON error: %s at %d:%d\n", e.text, e.line, e.column);
	return j;
}

static const json_t *jget(const json_t *o, const char *path)
{
	char key[128];
	const char *p = path, *dot;
	const json_t *cur = o;

	while (cur != NULL && *p != '\0') {
		size_t n;
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_array(cur))
			cur = json_array_get(cur, strtoul(key, NULL, 10));
		else
			cur = json_object_get(cur, key);
		p = dot != NULL ? dot + 1 : p + n;
	}
	return cur;
}

static const char *sget(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *package(const json_t *inv, size_t i)
{
	return json_deep_copy(json_array_get(json_object_get(inv, "packages"), i));
}

/*
 * One classified finding. level/score/vector/source form the severity;
 * state/fixed the fix; status/by the decision (by NULL: reported).
 */
static json_t *finding(const json_t *inv, size_t pkg, const char *id, const char *summary,
		       const char *level, double score, const char *vector, const char *source,
		       const char *state, const char *fixed, const char *by)
{
	json_t *p = package(inv, pkg);
	const char *inst = json_string_value(json_object_get(p, "source_version"));
	json_t *f, *sev, *fix, *dec;

	if (inst == NULL)
		inst = json_string_value(json_object_get(p, "version"));
	sev = json_pack("{s:s, s:s?}", "level", level, "source", source);
	if (vector != NULL) {
		json_object_set_new(sev, "score", json_real(score));
		json_object_set_new(sev, "vector", json_string(vector));
	} else {
		json_object_set_new(sev, "score", json_null());
		json_object_set_new(sev, "vector", json_null());
	}
	fix = json_pack("{s:s, s:s?}", "state", state, "version", fixed);
	if (fixed == NULL)
		json_object_set_new(fix, "version", json_null());
	dec = json_pack("{s:s}", "status", by != NULL ? "ignored" : "reported");
	if (by != NULL)
		json_object_set_new(dec, "by", json_string(by));
	f = json_pack("{s:s, s:[], s:s?, s:o, s:s, s:s, s:s?, s:s, s:{s:s, s:s, s:s, s:s, s:s}, "
		      "s:o, s:o, s:o}",
		      "id", id, "aliases", "summary", summary, "package", p, "ecosystem",
		      "Debian:12", "installed_version", inst, "fixed_version", fixed, "fix_state",
		      state, "advisory", "id", id, "database", "DEBIAN", "url",
		      "https://security-tracker.debian.org/tracker/CVE-2024-0001", "published",
		      "2024-01-02T03:04:05Z", "modified", "2024-02-03T04:05:06.5Z", "severity", sev,
		      "fix", fix, "decision", dec);
	CHECK(f != NULL);
	return f;
}

static json_t *handmade_findings(const json_t *inv)
{
	json_t *a = json_array(), *f;
	char longsum[400];

	/* Classification order is deliberately not the report order. */
	json_array_append_new(a, finding(inv, 3, "CVE-2024-0004", "zlib: low thing", "low", 0, NULL,
					 "distro:debian", "fixed", "1:1.2.13.dfsg-2", NULL));
	json_array_append_new(a, finding(inv, 0, "CVE-2024-0002", "openssl: high thing", "high", 0,
					 NULL, "distro:debian", "not-fixed", NULL, NULL));
	f = json_array_get(a, 1);
	/* Reported, with a VEX "affected" annotation. */
	json_object_set_new(json_object_get(f, "decision"), "vex",
			    json_pack("{s:s, s:s, s:s, s:s}", "document", "vex/app.json",
				      "vulnerability", "CVE-2024-0002", "status", "affected",
				      "action_statement", "upgrade when 3.0.16 lands"));
	json_object_set_new(
		f, "severity",
		json_pack("{s:s, s:n, s:n, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:f, s:s}]}",
			  "level", "high", "score", "vector", "source", "distro:debian", "rating",
			  "high", "considered", "source", "distro:debian", "level", "high",
			  "rating", "high", "source", "cvss_v3", "level", "medium", "score", 5.9,
			  "vector", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"));
	json_array_append_new(a, finding(inv, 0, "CVE-2024-0001", "openssl: critical thing",
					 "critical", 9.8,
					 "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "cvss_v3",
					 "fixed", "3.0.15-1~deb12u1", NULL));
	f = json_array_get(a, 2);
	json_object_set_new(f, "aliases", json_pack("[s]", "DEBIAN-CVE-2024-0001"));
	json_object_set_new(f, "database_specific",
			    json_pack("{s:[s, s, i]}", "cwe_ids", "CWE-79", "CWE-x", 20));
	json_array_append_new(a, finding(inv, 1, "CVE-2024-0001", "openssl: critical thing", "high",
					 8.1, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
					 "cvss_v3", "fixed", "3.0.15-1~deb12u1", NULL));
	json_array_append_new(
		a, finding(inv, 2, "CVE-2024-0003", "bash: medium thing", "medium", 5.3,
			   "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
			   "cvss_v4", "will-not-fix", NULL, NULL));
	/* Hostile: escape sequences, a bidi override, a C1 control, a
	 * noncharacter, a replacement character, and a summary far too long
	 * for any terminal. */
	memset(longsum, 'x', sizeof(longsum) - 1);
	longsum[sizeof(longsum) - 1] = '\0';
	{
		static const char hostile[] =
			"\x1b]0;pwned\x07\x1b[2J \xe2\x80\xae evil \xc2\x85 \xef\xbf\xbf \xef\xbf\xbd ";
		memcpy(longsum, hostile, sizeof(hostile) - 1);
	}
	json_array_append_new(a, finding(inv, 4, "CVE-2024-0005", longsum, "unknown", 0, NULL, NULL,
					 "not-fixed", NULL, NULL));
	json_array_append_new(a, finding(inv, 5, "GHSA-wide-0000-0000", "wide package", "low", 0,
					 NULL, "distro:debian", "fixed", "2.0-2", NULL));
	/* Ignored: by VEX, by a rule, by ignore-unfixed. */
	json_array_append_new(a, finding(inv, 3, "CVE-2024-0006", "zlib: ignored by vex", "high",
					 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
					 "cvss_v3", "fixed", "1:1.2.13.dfsg-2", "vex"));
	f = json_array_get(a, 7);
	json_object_set_new(json_object_get(f, "decision"), "vex",
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "document", "vex/app.json",
				      "vulnerability", "CVE-2024-0006", "status", "not_affected",
				      "justification", "vulnerable_code_not_in_execute_path",
				      "impact_statement", "inflate is never called"));
	json_array_append_new(a,
			      finding(inv, 2, "CVE-2024-0007", "bash: ignored by rule", "medium", 0,
				      NULL, "distro:debian", "fixed", "5.2.15-2+deb12u1", "rule"));
	f = json_array_get(a, 8);
	json_object_set_new(json_object_get(f, "decision"), "rule",
			    json_pack("{s:s, s:s, s:s}", "where", "ignore[0]", "id",
				      "CVE-2024-0007", "reason", "accepted risk"));
	json_array_append_new(a,
			      finding(inv, 0, "CVE-2024-0008", "openssl: unfixed low", "low", 0,
				      NULL, "distro:debian", "not-fixed", NULL, "ignore-unfixed"));
	return a;
}

/* Report order, worked out by hand from the list above. */
static const char *const order[][2] = {
	{ "CVE-2024-0001", "libssl3" },	     { "CVE-2024-0001", "libssl-dev" },
	{ "CVE-2024-0002", "libssl3" },	     { "CVE-2024-0006", "zlib1g" },
	{ "CVE-2024-0003", "bash" },	     { "CVE-2024-0007", "bash" },
	{ "CVE-2024-0004", "zlib1g" },	     { "CVE-2024-0008", "libssl3" },
	{ "GHSA-wide-0000-0000", WIDE_PKG }, { "CVE-2024-0005", EVIL_PKG },
};
#define NFIND 10

static json_t *classification(json_t *findings, const char *verdict)
{
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:n, s:b, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:o, s:[], s:[]}",
		"verdict", verdict, "reason", "3 findings at or above high (1 critical, 2 high)",
		"threshold", "high", "repository_override", "ignore_unfixed", 1, "counts",
		"critical", 1, "high", 2, "medium", 1, "low", 2, "unknown", 1, "ignored", 3,
		"findings", findings, "recommendations", "expired_rules");
	json_t *rec = json_pack(
		"{s:s, s:s, s:s, s:s, s:i, s:s, s:{s:i, s:i}, s:[s, s], s:s}", "package", "libssl3",
		"ecosystem", "Debian:12", "from", "3.0.11-1~deb12u2", "to", "3.0.15-1~deb12u1",
		"fixes", 2, "highest", "critical", "by_severity", "critical", 1, "high", 1, "ids",
		"CVE-2024-0001", "CVE-2024-0002", "text",
		"upgrade libssl3 3.0.11-1~deb12u2 -> 3.0.15-1~deb12u1: fixes 2 (1 critical, 1 high)");

	CHECK(c != NULL && rec != NULL);
	json_array_append_new(json_object_get(c, "recommendations"), rec);
	return c;
}

static json_t *match_result(int supported)
{
	json_t *m = json_pack(
		"{s:s?, s:b, s:s?, s:[], s:[{s:s, s:s, s:s}], s:i, s:{s:s, s:s}}", "ecosystem",
		supported ? "Debian:12" : NULL, "os_supported", supported, "unsupported_reason",
		supported ? NULL : "centos 7: no vulnerability data for this distribution",
		"findings", "notes", "id", "CVE-2024-9999", "package", "bash", "reason",
		"unorderable version", "packages_matched", 6, "db", "digest", DBDIG, "built",
		"2026-11-01T00:00:00Z");

	if (!supported)
		json_object_set_new(m, "ecosystem", json_null());
	if (supported)
		json_object_set_new(m, "unsupported_reason", json_null());
	return m;
}

/* ---- validation ----------------------------------------------------------- */

static int write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(s, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int validate(const char *fmt, const char *path)
{
	char script[4096], schemas[4096];
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	pid_t pid;
	int st;

	snprintf(script, sizeof(script), "%s/tests/report/validate.py", cs_test_source_dir());
	snprintf(schemas, sizeof(schemas), "%s/fixtures/schemas", cs_test_shared());
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { (char *)py,   script, (char *)"--schemas", schemas, (char *)fmt,
				 (char *)path, NULL };
		execvp(py, argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == 77 || WEXITSTATUS(st) == 127)
		validator_missing = 1;
	return WEXITSTATUS(st);
}

static void expect_valid(const char *fmt, const char *name, const char *doc, size_t n, int valid)
{
	char path[4096];
	int st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	CHECK(write_file(path, doc, n) == 0);
	{
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		st = validate(fmt, path);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (getenv("CS_TEST_SHOW") != NULL)
			fprintf(stderr, "validate %s: %.2fs\n", name,
				(double)(t1.tv_sec - t0.tv_sec) +
					(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	unlink(path);
	if (validator_missing)
		return;
	if (valid && st != 0)
		fprintf(stderr, "expected %s (%s) to be valid\n", name, fmt);
	if (!valid && st != 1)
		fprintf(stderr, "expected %s (%s) to be INVALID\n", name, fmt);
	CHECK(valid ? st == 0 : st == 1);
}

static void expect_valid_json(const char *fmt, const char *name, const json_t *doc, int valid)
{
	char *s = json_dumps(doc, JSON_INDENT(1));

	CHECK(s != NULL);
	if (s != NULL)
		expect_valid(fmt, name, s, strlen(s), valid);
	free(s);
}

/* ---- the report document -------------------------------------------------- */

static json_t *build(const json_t *inv, const json_t *m, const json_t *c, long long t)
{
	struct cs_report_opts o = { t };
	json_t *rep = NULL;
	int r = cs_report_build(&rep, inv, m, c, &o);

	if (r != 0)
		fprintf(stderr, "cs_report_build: %s\n", cs_err_msg());
	CHECK(r == 0 && rep != NULL);
	return rep;
}

static void check_document(const json_t *inv, const json_t *m, const json_t *c)
{
	json_t *inv0 = json_deep_copy(inv), *m0 = json_deep_copy(m), *c0 = json_deep_copy(c);
	json_t *rep, *rep2, *c2, *bad;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0, i;
	const json_t *fs;

	unsetenv("SOURCE_DATE_EPOCH");
	rep = build(inv, m, c, CS_REPORT_TIME_AUTO);
	CHECK_STR(sget(rep, "schema"), "cellscan-report/1");
	CHECK(json_is_null(jget(rep, "generated")));
	CHECK_STR(sget(rep, "image.ref"), "registry.example.com/team/app:1.0");
	CHECK_STR(sget(rep, "os.codename"), "bookworm");
	CHECK_STR(sget(rep, "ecosystem"), "Debian:12");
	CHECK(json_is_true(jget(rep, "os_supported")));
	CHECK(json_is_null(jget(rep, "unsupported_reason")));
	CHECK_STR(sget(rep, "db.digest"), DBDIG);
	CHECK_STR(sget(rep, "db.built"), "2026-11-01T00:00:00Z");
	CHECK_STR(sget(rep, "verdict"), "unhealthy");
	CHECK_STR(sget(rep, "summary.verdict"), "unhealthy");
	CHECK_STR(sget(rep, "reason"), "3 findings at or above high (1 critical, 2 high)");
	CHECK(json_integer_value(jget(rep, "summary.packages")) == 6);
	CHECK(json_integer_value(jget(rep, "summary.layers")) == 2);
	CHECK(json_integer_value(jget(rep, "summary.findings")) == NFIND);
	CHECK(json_integer_value(jget(rep, "summary.reported")) == NFIND - 3);
	CHECK(json_integer_value(jget(rep, "summary.ignored")) == 3);
	CHECK(json_integer_value(jget(rep, "summary.counts.critical")) == 1);
	CHECK(json_integer_value(jget(rep, "summary.counts.ignored")) == 3);
	CHECK_STR(sget(rep, "policy.threshold"), "high");
	CHECK(json_is_true(jget(rep, "policy.ignore_unfixed")));
	CHECK_STR(sget(rep, "recommendations.0.to"), "3.0.15-1~deb12u1");
	CHECK_STR(sget(rep, "notes.0.id"), "CVE-2024-9999");
	CHECK_STR(sget(rep, "warnings.0.code"), "special-file");
	CHECK_STR(sget(rep, "layers.1.diff_id"), DIFF1);
	CHECK_STR(sget(rep, "sandbox.cgroup"), "none");
	fs = json_object_get(rep, "findings");
	CHECK(json_array_size(fs) == NFIND);
	for (i = 0; i < NFIND && i < json_array_size(fs); i++) {
		const json_t *f = json_array_get(fs, i);
		CHECK_STR(sget(f, "id"), order[i][0]);
		CHECK_STR(sget(f, "package.name"), order[i][1]);
	}
	/* Evidence kept: the VEX statement, the rule, the merged fields. */
	CHECK_STR(sget(fs, "3.decision.vex.justification"), "vulnerable_code_not_in_execute_path");
	CHECK_STR(sget(fs, "5.decision.rule.reason"), "accepted risk");
	CHECK_STR(sget(fs, "0.aliases.0"), "DEBIAN-CVE-2024-0001");
	/* The inputs are untouched. */
	CHECK(json_equal(inv0, (json_t *)inv) && json_equal(m0, (json_t *)m) &&
	      json_equal(c0, (json_t *)c));

	/* Reproducible; and the same whatever order the findings came in. */
	c2 = json_deep_copy(c);
	{
		json_t *arr = json_object_get(c2, "findings"), *rev = json_array();
		for (i = json_array_size(arr); i > 0; i--)
			json_array_append(rev, json_array_get(arr, i - 1));
		json_object_set_new(c2, "findings", rev);
	}
	rep2 = build(inv, m, c2, CS_REPORT_TIME_AUTO);
	CHECK(cs_report_json(&a, &alen, rep) == 0);
	CHECK(cs_report_json(&b, &blen, rep2) == 0);
	CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
	CHECK(a != NULL && alen > 0 && a[alen - 1] == '\n');
	if (a != NULL)
		expect_valid("report", "report.json", a, alen, 1);
	free(a);
	free(b);
	json_decref(rep2);
	json_decref(c2);

	/* A time from the options, or from SOURCE_DATE_EPOCH. */
	rep2 = build(inv, m, c, 1700000000LL);
	CHECK_STR(sget(rep2, "generated"), "2023-11-14T22:13:20Z");
	json_decref(rep2);
	setenv("SOURCE_DATE_EPOCH", "86400", 1);
	rep2 = build(inv, m, c, CS_REPORT_TIME_AUTO);
	CHECK_STR(sget(rep2, "generated"), "1970-01-02T00:00:00Z");
	json_decref(rep2);
	unsetenv("SOURCE_DATE_EPOCH");

	/* Bad inputs. */
	rep2 = (json_t *)1;
	CHECK(cs_report_build(&rep2, m, m, c, NULL) == CS_EINVAL && rep2 == NULL);
	bad = json_deep_copy(c);
	json_object_del(bad, "findings");
	CHECK(cs_report_build(&rep2, inv, m, bad, NULL) == CS_EINVAL);
	json_object_set_new(bad, "findings", json_pack("[i]", 1));
	CHECK(cs_report_build(&rep2, inv, m, bad, NULL) == CS_EINVAL);
	json_decref(bad);
	bad = json_deep_copy(m);
	json_object_set_new(bad, "os_supported", json_string("yes"));
	CHECK(cs_report_build(&rep2, inv, bad, c, NULL) == CS_EINVAL);
	json_decref(bad);
	CHECK(cs_report_json(&a, &alen, inv) == CS_EINVAL && a == NULL);

	/* The schema check can fail. */
	bad = json_deep_copy(rep);
	json_object_del(bad, "verdict");
	expect_valid_json("report", "broken-verdict.json", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(rep);
	json_object_set_new((json_t *)jget(bad, "findings.0.severity"), "level",
			    json_string("severe"));
	expect_valid_json("report", "broken-level.json", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(rep);
	json_array_insert((json_t *)jget(bad, "findings"), 0, (json_t *)jget(bad, "findings.4"));
	json_array_remove((json_t *)jget(bad, "findings"), 5);
	json_object_set_new((json_t *)jget(bad, "summary"), "findings", json_integer(NFIND));
	expect_valid_json("report", "broken-order.json", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(rep);
	json_object_set_new((json_t *)jget(bad, "findings.6.fix"), "version", json_null());
	expect_valid_json("report", "broken-fix.json", bad, 0);
	json_decref(bad);

	json_decref(rep);
	json_decref(inv0);
	json_decref(m0);
	json_decref(c0);
}

/* ---- the table ------------------------------------------------------------ */

/* Display columns of one line: code points, CJK ideographs counting two;
 * ANSI SGR sequences (ESC [ ... m) count nothing. */
static size_t line_width(const char *p, const char *end)
{
	size_t w = 0;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == 0x1b && p + 1 < end && p[1] == '[') {
			p += 2;
			while (p < end && *p != 'm')
				p++;
			p++;
			continue;
		}
		if (c >= 0xe4 && c <= 0xe9)
			w += 2;
		else if ((c & 0xc0) != 0x80)
			w += 1;
		p++;
	}
	return w;
}

/* Checks the table's lines against the width and returns their count. */
static size_t check_lines(const char *t, size_t n, size_t width)
{
	const char *p = t, *e = t + n, *nl;
	size_t lines = 0, limit = width < 60 ? 60 : width;

	while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		size_t w = line_width(p, nl);
		if (nl > p && nl[-1] == ' ') {
			fprintf(stderr, "line %zu ends with a blank: %.*s|\n", lines + 1,
				(int)(nl - p), p);
			CHECK(nl[-1] != ' ');
		}
		if (w > limit) {
			fprintf(stderr, "line %zu is %zu wide (> %zu): %.*s\n", lines + 1, w, limit,
				(int)(nl - p), p);
			CHECK(w <= limit);
		}
		lines++;
		p = nl + 1;
	}
	CHECK(p == e);
	return lines;
}

/* Only our own SGR sequences may contain ESC; no other control byte. */
static void check_controls(const char *t, size_t n, int color)
{
	static const char *const ok[] = { "\x1b[0m",	"\x1b[1m",   "\x1b[1;31m", "\x1b[31m",
					  "\x1b[33m",	"\x1b[34m",  "\x1b[2m",	   "\x1b[1;32m",
					  "\x1b[1;35m", "\x1b[1;33m" };
	size_t i, k;
	int bad = 0, esc = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == 0x1b) {
			int found = 0;
			esc++;
			for (k = 0; k < sizeof(ok) / sizeof(ok[0]) && !found; k++)
				found = strncmp(t + i, ok[k], strlen(ok[k])) == 0;
			bad += !found;
		} else if ((c < 0x20 && c != '\n') || c == 0x7f) {
			bad++;
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)t[i + 1] >= 0x80 &&
			   (unsigned char)t[i + 1] <= 0x9f) {
			bad++; /* a C1 control */
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)t[i + 1] == 0x80 &&
			   (unsigned char)t[i + 2] >= 0xaa && (unsigned char)t[i + 2] <= 0xae) {
			bad++; /* a bidi embedding/override */
		} else if (c == 0xff || c == 0xfe || c == 0xc0) {
			bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(color ? esc > 0 : esc == 0);
}

/* The line of t containing needle, runs of spaces collapsed to one, in
 * out; and the display column where needle starts on it. */
static int row(const char *t, const char *needle, char *out, size_t outsz, size_t *col)
{
	const char *at = strstr(t, needle), *b, *e;
	size_t o = 0;

	out[0] = '\0';
	if (at == NULL)
		return -1;
	for (b = at; b > t && b[-1] != '\n'; b--)
		;
	e = strchr(at, '\n');
	if (e == NULL)
		e = at + strlen(at);
	*col = line_width(b, at);
	for (; b < e && o + 1 < outsz; b++) {
		if (*b == ' ' && o > 0 && out[o - 1] == ' ')
			continue;
		out[o++] = *b;
	}
	out[o] = '\0';
	return 0;
}

static char *table(const json_t *rep, int color, int width, int show_ignored, size_t *n)
{
	struct cs_report_table_opts o = { color, width, show_ignored };
	char *t = NULL;
	int r = cs_report_table(&t, n, rep, &o);

	if (r != 0)
		fprintf(stderr, "cs_report_table: %s\n", cs_err_msg());
	/* CS_TEST_SHOW=1 prints every table, to look at. */
	if (r == 0 && getenv("CS_TEST_SHOW") != NULL)
		fprintf(stderr, "---- width %d, color %d, ignored %d\n%s", width, color,
			show_ignored, t);
	CHECK(r == 0 && t != NULL && strlen(t) == *n);
	return t;
}

static void check_table(const json_t *rep, const json_t *unsup)
{
	static const char invalid[] = "bad \xff\xfe \xc0\xaf \xed\xa0\x80 end";
	static const int widths[] = { 30, 60, 61, 80, 100, 120, 200 };
	char *t, *t2;
	size_t n, n2, i;
	const char *p;
	json_t *r2;

	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		t = table(rep, 0, widths[i], 0, &n);
		if (t == NULL)
			continue;
		check_lines(t, n, (size_t)widths[i]);
		check_controls(t, n, 0);
		/* Deterministic. */
		t2 = table(rep, 0, widths[i], 0, &n2);
		CHECK(t2 != NULL && n == n2 && memcmp(t, t2, n) == 0);
		free(t2);
		free(t);
	}

	t = table(rep, 0, 120, 0, &n);
	if (t == NULL)
		return;
	/* The summary line: image, verdict, counts, database. */
	CHECK(strncmp(t, "registry.example.com/team/app:1.0: UNHEALTHY\n", 45) == 0);
	CHECK(strstr(t,
		     "1 critical, 2 high, 1 medium, 2 low, 1 unknown; 3 ignored; 6 packages; db abcdef012345") !=
	      NULL);
	CHECK(strstr(t, "Debian GNU/Linux 12 (bookworm) (Debian:12)") != NULL);
	/* Groups in severity order, each listed once. */
	{
		const char *c = strstr(t, "\nCRITICAL (1)\n"), *h = strstr(t, "\nHIGH (2)\n");
		const char *m = strstr(t, "\nMEDIUM (1)\n"), *l = strstr(t, "\nLOW (2)\n");
		const char *u = strstr(t, "\nUNKNOWN (1)\n");
		CHECK(c != NULL && h != NULL && m != NULL && l != NULL && u != NULL);
		CHECK(c < h && h < m && m < l && l < u);
	}
	/* Columns: fixed version, not fixed, will not fix, layer. */
	{
		char line[512];
		size_t hdr = 0, c1 = 1, c2 = 2, c3 = 3;

		CHECK(row(t, "libssl3 ", line, sizeof(line), &c1) == 0);
		CHECK_STR(
			line,
			"libssl3 3.0.11-1~deb12u2 3.0.15-1~deb12u1 CVE-2024-0001 1 openssl: critical thing");
		CHECK(row(t, "CVE-2024-0003", line, sizeof(line), &c2) == 0);
		CHECK_STR(line, "bash 5.2.15-2 will not fix CVE-2024-0003 0 bash: medium thing");
		CHECK(row(t, "CVE-2024-0002", line, sizeof(line), &c1) == 0);
		CHECK_STR(line,
			  "libssl3 3.0.11-1~deb12u2 not fixed CVE-2024-0002 1 openssl: high thing");
		/* Aligned: every id starts under the header's ID, after the
		 * escaped hostile name and the double-width one alike. */
		CHECK(row(t, "  ID  ", line, sizeof(line), &hdr) == 0);
		hdr += 2;
		CHECK(row(t, "CVE-2024-0005", line, sizeof(line), &c2) == 0);
		CHECK(row(t, "GHSA-wide", line, sizeof(line), &c3) == 0);
		CHECK(c1 == hdr && c2 == hdr && c3 == hdr);
	}
	/* Ignored findings counted, not listed. */
	CHECK(strstr(t, "CVE-2024-0006") == NULL && strstr(t, "CVE-2024-0007") == NULL &&
	      strstr(t, "CVE-2024-0008") == NULL);
	CHECK(strstr(t, "3 ignored findings not listed") != NULL);
	/* Hostile strings shown escaped (cut here, in full below). */
	CHECK(strstr(t, "evil\\x1B[31") != NULL);
	/* The long title is cut with an ellipsis, the line fits. */
	CHECK(strstr(t, "\\x1B]0;pwned\\x07") != NULL);
	CHECK(strstr(t, "\xe2\x80\xa6\n") != NULL);
	/* Recommendations at the end. */
	p = strstr(
		t,
		"Recommendations:\n  - upgrade libssl3 3.0.11-1~deb12u2 -> 3.0.15-1~deb12u1: fixes 2 (1 critical, 1 high)\n");
	CHECK(p != NULL);
	CHECK(strstr(t, "1 analysis warning, 1 matching note") != NULL);
	/* The recommendations come last. */
	CHECK(n > 21 && strcmp(t + n - 21, "(1 critical, 1 high)\n") == 0);
	CHECK(strstr(t, "unsupported OS") == NULL);
	free(t);

	t = table(rep, 0, 200, 0, &n);
	{
		char line[512];
		size_t col;

		CHECK(t != NULL && row(t, "GHSA-wide", line, sizeof(line), &col) == 0);
		CHECK_STR(line, WIDE_PKG " 2.0-1 2.0-2 GHSA-wide-0000-0000 1 wide package");
	}
	CHECK(t != NULL && strstr(t, "evil\\x1B[31mpkg\\u{202E}  1.0\\u{0085}-1 ") != NULL);
	CHECK(t != NULL &&
	      strstr(t,
		     "\\x1B]0;pwned\\x07\\x1B[2J \\u{202E} evil \\u{0085} \xef\xbf\xbf \xef\xbf\xbd xxx") !=
		      NULL);
	CHECK(t != NULL && strstr(t, "xxx\xe2\x80\xa6\n") != NULL);
	free(t);

	/* Narrow: the recommendation wraps instead of losing its end. */
	t = table(rep, 0, 60, 0, &n);
	CHECK(t != NULL && strstr(t, "(1 critical, 1 high)\n") != NULL);
	CHECK(t != NULL && strstr(t, "\n  - upgrade libssl3") != NULL);
	free(t);

	/* Ignored ones listed when asked. */
	t = table(rep, 0, 100, 1, &n);
	CHECK(t != NULL && strstr(t, "\nIGNORED (3)\n") != NULL);
	CHECK(t != NULL && strstr(t, "CVE-2024-0006") != NULL &&
	      strstr(t, "ignored by VEX") != NULL);
	CHECK(t != NULL && strstr(t, "ignored by a policy rule") != NULL);
	if (t != NULL)
		check_lines(t, n, 100);
	free(t);

	/* Colour only when asked; NULL options mean 80 columns, no colour. */
	t = table(rep, 1, 80, 0, &n);
	if (t != NULL) {
		check_controls(t, n, 1);
		check_lines(t, n, 80);
		CHECK(strstr(t, "\x1b[1;31mUNHEALTHY\x1b[0m") != NULL);
		CHECK(strstr(t, "\x1b[1;31mCRITICAL (1)\x1b[0m") != NULL);
	}
	free(t);
	t = NULL;
	CHECK(cs_report_table(&t, &n, rep, NULL) == 0);
	if (t != NULL) {
		check_controls(t, n, 0);
		check_lines(t, n, 80);
	}
	t2 = table(rep, 0, 80, 0, &n2);
	CHECK(t != NULL && t2 != NULL && n == n2 && memcmp(t, t2, n) == 0);
	free(t);
	free(t2);

	/* Invalid UTF-8 (jansson would refuse it from text; a caller's
	 * json_stringn_nocheck could still make it). */
	r2 = json_deep_copy(rep);
	json_object_set_new((json_t *)jget(r2, "findings.0"), "summary",
			    json_stringn_nocheck(invalid, sizeof(invalid) - 1));
	/* And a finding without a title: no trailing blanks (check_lines). */
	json_object_del((json_t *)jget(r2, "findings.6"), "summary");
	t = table(r2, 0, 200, 0, &n);
	CHECK(t != NULL && strstr(t, "bad \\xFF\\xFE \\xC0\\xAF \\xED\\xA0\\x80 end") != NULL);
	if (t != NULL) {
		char line[512];
		size_t col;

		check_controls(t, n, 0);
		check_lines(t, n, 200);
		CHECK(row(t, "CVE-2024-0004", line, sizeof(line), &col) == 0);
		CHECK_STR(line, "zlib1g 1:1.2.13.dfsg-1 1:1.2.13.dfsg-2 CVE-2024-0004 0");
	}
	free(t);
	json_decref(r2);

	/* Unsupported OS: said clearly, even with no findings. */
	t = table(unsup, 0, 80, 0, &n);
	if (t != NULL) {
		check_lines(t, n, 80);
		CHECK(strstr(t, "WARNING: unsupported OS: its OS packages were NOT checked") !=
		      NULL);
		CHECK(strstr(t, "reason: centos 7: no vulnerability data for this distribution") !=
		      NULL);
		CHECK(strstr(t, "No vulnerabilities found in what could be checked.") != NULL);
		CHECK(strstr(t, ": HEALTHY\n") != NULL);
	}
	free(t);
	CHECK(cs_report_table(&t, &n, unsup, NULL) == 0);
	free(t);
	t = (char *)"x";
	CHECK(cs_report_table(&t, &n, json_object_get(rep, "image"), NULL) == CS_EINVAL &&
	      t == NULL);
}

/* ---- SARIF ---------------------------------------------------------------- */

static const json_t *result_for(const json_t *results, const char *id, const char *pkg)
{
	const json_t *r;
	size_t i;

	json_array_foreach(results, i, r) {
		if (strcmp(sget(r, "ruleId"), id) == 0 &&
		    strcmp(sget(r, "locations.0.logicalLocations.0.name"), pkg) == 0)
			return r;
	}
	return NULL;
}

static const json_t *rule_for(const json_t *rules, const char *id)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r) {
		if (strcmp(sget(r, "id"), id) == 0)
			return r;
	}
	return NULL;
}

static void check_sarif(const json_t *rep, const json_t *unsup)
{
	char *s = NULL, *s2 = NULL;
	size_t n = 0, n2 = 0;
	json_t *doc, *bad, *r2;
	const json_t *rules, *results, *res, *rule;
	const char *fp1, *fp2;

	CHECK(cs_report_sarif(&s, &n, rep) == 0);
	CHECK(cs_report_sarif(&s2, &n2, rep) == 0);
	CHECK(s != NULL && s2 != NULL && n == n2 && memcmp(s, s2, n) == 0);
	free(s2);
	s2 = NULL;
	if (s == NULL)
		return;
	expect_valid("sarif", "report.sarif", s, n, 1);
	doc = parse(s);
	free(s);
	s = NULL;
	CHECK_STR(sget(doc, "version"), "2.1.0");
	CHECK_STR(sget(doc, "runs.0.tool.driver.name"), "cellscan");
	rules = jget(doc, "runs.0.tool.driver.rules");
	results = jget(doc, "runs.0.results");
	/* 9 distinct ids among 10 findings. */
	CHECK(json_array_size(rules) == 9);
	CHECK(json_array_size(results) == NFIND);
	rule = rule_for(rules, "CVE-2024-0001");
	CHECK(rule != NULL);
	CHECK_STR(sget(rule, "properties.security-severity"), "9.8");
	CHECK_STR(sget(rule, "helpUri"), "https://osv.dev/vulnerability/CVE-2024-0001");
	CHECK_STR(sget(rule, "shortDescription.text"), "openssl: critical thing");
	CHECK_STR(sget(rule, "defaultConfiguration.level"), "error");
	CHECK_STR(sget(rule, "properties.tags.2"), "critical");
	/* Rated by the distribution only: the middle of its band. */
	CHECK_STR(sget(rule_for(rules, "CVE-2024-0002"), "properties.security-severity"), "8.0");
	CHECK_STR(sget(rule_for(rules, "CVE-2024-0003"), "properties.security-severity"), "5.3");
	CHECK(jget(rule_for(rules, "CVE-2024-0005"), "properties.security-severity") == NULL);

	res = result_for(results, "CVE-2024-0001", "libssl3");
	CHECK(res != NULL);
	CHECK_STR(sget(res, "level"), "error");
	CHECK_STR(
		sget(res, "message.text"),
		"libssl3 3.0.11-1~deb12u2 is affected by CVE-2024-0001; fixed in 3.0.15-1~deb12u1");
	CHECK_STR(sget(res, "locations.0.physicalLocation.artifactLocation.uri"),
		  "var/lib/dpkg/status");
	CHECK_STR(sget(res, "locations.0.logicalLocations.0.properties.layer_diff_id"), DIFF1);
	CHECK_STR(sget(res, "locations.0.logicalLocations.0.properties.image"),
		  "registry.example.com/team/app:1.0");
	CHECK(json_integer_value(jget(res, "locations.0.logicalLocations.0.properties.layer")) ==
	      1);
	CHECK(jget(res, "suppressions") == NULL);
	CHECK_STR(sget(result_for(results, "CVE-2024-0003", "bash"), "message.text"),
		  "bash 5.2.15-2 is affected by CVE-2024-0003; the distribution will not fix it");
	CHECK_STR(sget(result_for(results, "CVE-2024-0003", "bash"), "level"), "warning");
	CHECK_STR(sget(result_for(results, "CVE-2024-0004", "zlib1g"), "level"), "note");
	res = result_for(results, "CVE-2024-0005", EVIL_PKG);
	CHECK(res != NULL);
	/* The space in the database path is percent-encoded. */
	CHECK_STR(sget(res, "locations.0.physicalLocation.artifactLocation.uri"),
		  "var/lib/dpkg/status.d/evil%20pkg");
	res = result_for(results, "CVE-2024-0006", "zlib1g");
	CHECK_STR(sget(res, "suppressions.0.kind"), "external");
	CHECK(sget(res, "suppressions.0.justification") != NULL &&
	      strstr(sget(res, "suppressions.0.justification"), "not_affected") != NULL);

	/* Fingerprints: one per (image, package, id), whatever the version. */
	fp1 = sget(result_for(results, "CVE-2024-0001", "libssl3"),
		   "partialFingerprints.cellscan/v1");
	fp2 = sget(result_for(results, "CVE-2024-0001", "libssl-dev"),
		   "partialFingerprints.cellscan/v1");
	CHECK(fp1 != NULL && fp2 != NULL && strlen(fp1) == 64 && strcmp(fp1, fp2) != 0);
	r2 = json_deep_copy(rep);
	json_object_set_new((json_t *)jget(r2, "findings.0"), "installed_version",
			    json_string("3.0.12-1"));
	json_object_set_new((json_t *)jget(r2, "findings.0.package"), "version",
			    json_string("3.0.12-1"));
	CHECK(cs_report_sarif(&s2, &n2, r2) == 0);
	{
		json_t *d2 = parse(s2 != NULL ? s2 : "null");
		const json_t *x =
			result_for(jget(d2, "runs.0.results"), "CVE-2024-0001", "libssl3");
		CHECK_STR(sget(x, "partialFingerprints.cellscan/v1"), fp1);
		CHECK_STR(
			sget(x, "message.text"),
			"libssl3 3.0.12-1 is affected by CVE-2024-0001; fixed in 3.0.15-1~deb12u1");
		json_decref(d2);
	}
	free(s2);
	json_decref(r2);

	/* The validator rejects broken logs. */
	bad = json_deep_copy(doc);
	json_object_set_new(bad, "version", json_string("2.0.0"));
	expect_valid_json("sarif", "broken-version.sarif", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(doc);
	json_object_set_new((json_t *)jget(bad, "runs.0.results.0"), "ruleIndex", json_integer(5));
	expect_valid_json("sarif", "broken-index.sarif", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(doc);
	json_object_set_new((json_t *)jget(bad, "runs.0.results.0"), "level",
			    json_string("critical"));
	expect_valid_json("sarif", "broken-level.sarif", bad, 0);
	json_decref(bad);
	json_decref(doc);

	/* Unsupported OS: a tool notification. */
	CHECK(cs_report_sarif(&s, &n, unsup) == 0);
	if (s != NULL) {
		expect_valid("sarif", "unsupported.sarif", s, n, 1);
		doc = parse(s);
		CHECK(json_array_size(jget(doc, "runs.0.results")) == 0);
		CHECK_STR(sget(doc, "runs.0.invocations.0.toolExecutionNotifications.0.level"),
			  "warning");
		CHECK(strstr(sget(doc,
				  "runs.0.invocations.0.toolExecutionNotifications.0.message.text"),
			     "unsupported OS: centos 7") != NULL);
		json_decref(doc);
	}
	free(s);
}

/* ---- CycloneDX ------------------------------------------------------------ */

static const char *property(const json_t *props, const char *name)
{
	const json_t *p;
	size_t i;

	json_array_foreach(props, i, p) {
		if (strcmp(sget(p, "name"), name) == 0)
			return sget(p, "value");
	}
	return NULL;
}

static const json_t *vuln_for(const json_t *vulns, const char *id, const char *ref)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vulns, i, v) {
		if (strcmp(sget(v, "id"), id) == 0 && strcmp(sget(v, "affects.0.ref"), ref) == 0)
			return v;
	}
	return NULL;
}

static void check_cyclonedx(const json_t *inv, const json_t *rep)
{
	const json_t *findings = json_object_get(rep, "findings");
	struct cs_report_opts o = { 1700000000LL };
	char *s = NULL, *s2 = NULL;
	size_t n = 0, n2 = 0;
	json_t *doc, *bad;
	const json_t *vulns, *v;
	const char *ssl, *zlib, *evil;

	CHECK(cs_report_cyclonedx(&s, &n, inv, findings, &o) == 0);
	CHECK(cs_report_cyclonedx(&s2, &n2, inv, findings, &o) == 0);
	CHECK(s != NULL && s2 != NULL && n == n2 && memcmp(s, s2, n) == 0);
	free(s2);
	if (s == NULL)
		return;
	expect_valid("cyclonedx", "report.cdx.json", s, n, 1);
	doc = parse(s);
	free(s);
	/* components[0] is the OS; packages follow in inventory order. */
	ssl = sget(doc, "components.1.bom-ref");
	zlib = sget(doc, "components.4.bom-ref");
	evil = sget(doc, "components.5.bom-ref");
	CHECK_STR(
		ssl,
		"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl");
	vulns = json_object_get(doc, "vulnerabilities");
	CHECK(json_array_size(vulns) == NFIND);
	CHECK_STR(sget(vulns, "0.id"), "CVE-2024-0001");

	v = vuln_for(vulns, "CVE-2024-0001", ssl);
	CHECK(v != NULL);
	CHECK_STR(sget(v, "source.name"), "DEBIAN");
	CHECK_STR(sget(v, "source.url"), "https://osv.dev/vulnerability/CVE-2024-0001");
	CHECK_STR(sget(v, "references.0.id"), "DEBIAN-CVE-2024-0001");
	CHECK_STR(sget(v, "ratings.0.severity"), "critical");
	CHECK_STR(sget(v, "ratings.0.method"), "CVSSv31");
	CHECK(json_real_value(jget(v, "ratings.0.score")) == 9.8);
	CHECK_STR(sget(v, "ratings.0.vector"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	CHECK(json_array_size(jget(v, "cwes")) == 2 &&
	      json_integer_value(jget(v, "cwes.0")) == 79 &&
	      json_integer_value(jget(v, "cwes.1")) == 20);
	CHECK_STR(sget(v, "description"), "openssl: critical thing");
	CHECK_STR(sget(v, "recommendation"), "upgrade libssl3 to 3.0.15-1~deb12u1");
	CHECK_STR(sget(v, "advisories.0.url"),
		  "https://security-tracker.debian.org/tracker/CVE-2024-0001");
	CHECK_STR(sget(v, "published"), "2024-01-02T03:04:05Z");
	CHECK_STR(sget(v, "updated"), "2024-02-03T04:05:06.5Z");
	CHECK_STR(sget(v, "affects.0.versions.0.version"), "3.0.11-1~deb12u2");
	CHECK_STR(sget(v, "affects.0.versions.0.status"), "affected");
	CHECK(jget(v, "analysis") == NULL);

	/* Distribution rating, plus the CVSS candidate it was preferred to. */
	v = vuln_for(vulns, "CVE-2024-0002", ssl);
	CHECK_STR(sget(v, "ratings.0.severity"), "high");
	CHECK_STR(sget(v, "ratings.0.method"), "other");
	CHECK_STR(sget(v, "ratings.0.source.name"), "debian");
	CHECK(jget(v, "ratings.0.score") == NULL);
	CHECK_STR(sget(v, "ratings.1.method"), "CVSSv31");
	CHECK_STR(sget(v, "ratings.1.severity"), "medium");
	/* VEX "affected" annotates: exploitable. */
	CHECK_STR(sget(v, "analysis.state"), "exploitable");
	CHECK_STR(sget(v, "analysis.detail"), "upgrade when 3.0.16 lands");
	CHECK_STR(sget(v, "recommendation"), "no fixed version is available yet");

	/* VEX not_affected: its justification in CycloneDX's words. */
	v = vuln_for(vulns, "CVE-2024-0006", zlib);
	CHECK_STR(sget(v, "analysis.state"), "not_affected");
	CHECK_STR(sget(v, "analysis.justification"), "code_not_reachable");
	CHECK_STR(sget(v, "analysis.detail"), "inflate is never called");
	CHECK_STR(sget(v, "affects.0.versions.0.status"), "unaffected");

	v = vuln_for(vulns, "CVE-2024-0003", sget(doc, "components.3.bom-ref"));
	CHECK_STR(sget(v, "ratings.0.method"), "CVSSv4");
	CHECK_STR(sget(v, "recommendation"), "no fix: the distribution will not fix this");
	v = vuln_for(vulns, "CVE-2024-0007", sget(doc, "components.3.bom-ref"));
	CHECK(v != NULL && jget(v, "analysis") == NULL);
	CHECK_STR(property(jget(v, "properties"), "cellscan:decision:by"), "rule");
	CHECK_STR(property(jget(v, "properties"), "cellscan:rule:reason"), "accepted risk");
	v = vuln_for(vulns, "CVE-2024-0005", evil);
	CHECK(v != NULL);
	CHECK_STR(sget(v, "ratings.0.severity"), "unknown");

	/* Broken on purpose. */
	bad = json_deep_copy(doc);
	json_object_set_new((json_t *)jget(bad, "vulnerabilities.3.analysis"), "state",
			    json_string("bogus"));
	expect_valid_json("cyclonedx", "broken-state.cdx.json", bad, 0);
	json_decref(bad);
	bad = json_deep_copy(doc);
	json_object_set_new((json_t *)jget(bad, "vulnerabilities.0.affects.0"), "ref",
			    json_string("pkg:nowhere"));
	expect_valid_json("cyclonedx", "broken-affects.cdx.json", bad, 0);
	json_decref(bad);
	json_decref(doc);

	/* Not an array. */
	s = (char *)"x";
	CHECK(cs_report_cyclonedx(&s, &n, inv, rep, NULL) == CS_EINVAL && s == NULL);
	/* A finding for a package that is not in the inventory affects the
	 * image. */
	{
		json_t *fs = json_pack("[O]", json_array_get(findings, 0));
		json_t *f0 = json_deep_copy(json_array_get(fs, 0));
		json_object_set_new(json_object_get(f0, "package"), "name", json_string("ghost"));
		json_array_set_new(fs, 0, f0);
		CHECK(cs_report_cyclonedx(&s, &n, inv, fs, NULL) == 0);
		doc = parse(s != NULL ? s : "null");
		CHECK_STR(sget(doc, "vulnerabilities.0.affects.0.ref"),
			  sget(doc, "metadata.component.bom-ref"));
		if (s != NULL)
			expect_valid("cyclonedx", "ghost.cdx.json", s, n, 1);
		json_decref(doc);
		free(s);
		json_decref(fs);
	}
}

/* ---- a large synthetic image ------------------------------------------------ */

static void check_large(void)
{
	json_t *inv = parse(
		"{\"schema\":\"cellscan-inventory/1\",\"image\":{\"ref\":\"oci:/big:1\",\"name\":\"big\","
		"\"manifest_digest\":\"" DIGEST
		"\"},\"os\":{\"id\":\"debian\",\"version_id\":\"12\"},"
		"\"packages\":[],\"layers\":[{\"index\":0,\"diff_id\":\"" DIFF0 "\"}],"
		"\"warnings\":[],\"sandbox\":null}");
	json_t *pkgs = json_object_get(inv, "packages"), *fs = json_array(), *c, *m, *rep;
	static const char *const levels[] = { "critical", "high", "medium", "low", "unknown" };
	size_t i, n, lines, counts[5] = { 0 }, ignored = 0;
	char name[64], id[64], sum[128];
	char *t = NULL, *s = NULL;

	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "lib%zu", i);
		json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "kind",
						      "dpkg", "name", name, "version", "1.0-1",
						      "arch", "amd64", "db", "var/lib/dpkg/status",
						      "layer", 0, "layer_diff_id", DIFF0));
	}
	for (i = 0; i < 10000; i++) {
		const char *lvl = levels[(i * 7) % 5];
		int ign = i % 11 == 0;
		json_t *f;

		snprintf(id, sizeof(id), "CVE-2024-%05zu", (i * 7919) % 3000);
		snprintf(
			sum, sizeof(sum), "issue %zu in lib%zu: %s", i, i % 500,
			i % 3 ? "short" :
				"a rather longer description that will need truncating on most terminals");
		f = finding(inv, i % 500, id, sum, lvl, 5.0 + (double)(i % 50) / 10.0,
			    i % 2 ? "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N" : NULL,
			    i % 2 ? "cvss_v3" : "distro:debian", i % 3 ? "fixed" : "not-fixed",
			    i % 3 ? "1.0-2" : NULL, ign ? "rule" : NULL);
		json_array_append_new(fs, f);
		if (ign)
			ignored++;
		else
			counts[(i * 7) % 5]++;
	}
	c = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:[]}", "verdict",
		      "unhealthy", "reason", "many", "counts", "critical", (json_int_t)counts[0],
		      "high", (json_int_t)counts[1], "medium", (json_int_t)counts[2], "low",
		      (json_int_t)counts[3], "unknown", (json_int_t)counts[4], "ignored",
		      (json_int_t)ignored, "findings", fs, "recommendations");
	m = match_result(1);
	rep = build(inv, m, c, 1700000000LL);
	CHECK(cs_report_json(&s, &n, rep) == 0);
	if (s != NULL)
		expect_valid("report", "large.json", s, n, 1);
	free(s);
	s = NULL;
	{
		struct cs_report_table_opts o = { 0, 100, 0 };
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(cs_report_table(&t, &n, rep, &o) == 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* Printed, never asserted (timings belong in bench/). */
		if (getenv("CS_TEST_SHOW") != NULL)
			fprintf(stderr, "table of 10000 findings: %.3fs\n",
				(double)(t1.tv_sec - t0.tv_sec) +
					(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	if (t != NULL) {
		lines = check_lines(t, n, 100);
		/* Every reported finding is one line; plus headings. */
		CHECK(lines > 10000 - ignored && lines < 10000 - ignored + 40);
		check_controls(t, n, 0);
	}
	free(t);
	CHECK(cs_report_sarif(&s, &n, rep) == 0);
	if (s != NULL)
		expect_valid("sarif", "large.sarif", s, n, 1);
	free(s);
	s = NULL;
	/* All 10,000 as CycloneDX, but only 1,500 validated: jsonschema checks
	 * the schema's uniqueItems pairwise, 90 s for all of them. */
	CHECK(cs_report_cyclonedx(&s, &n, inv, json_object_get(rep, "findings"), NULL) == 0);
	{
		json_t *d = parse(s != NULL ? s : "null");
		json_t *v = json_object_get(d, "vulnerabilities");
		CHECK(json_array_size(v) == 10000);
		while (json_array_size(v) > 1500)
			json_array_remove(v, json_array_size(v) - 1);
		expect_valid_json("cyclonedx", "large.cdx.json", d, 1);
		json_decref(d);
	}
	free(s);
	json_decref(rep);
	json_decref(c);
	json_decref(m);
	json_decref(inv);
}

int main(void)
{
	json_t *inv, *fs, *c, *m, *rep, *uinv, *uc, *um, *urep;

	cs_test_shared();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	inv = parse(inventory_text);
	CHECK(inv != NULL);
	if (inv == NULL)
		return cs_test_done();
	fs = handmade_findings(inv);
	c = classification(fs, "unhealthy");
	m = match_result(1);
	check_document(inv, m, c);
	rep = build(inv, m, c, CS_REPORT_TIME_AUTO);

	/* CentOS 7: unsupported, nothing matched, no findings. */
	uinv = parse(
		"{\"schema\":\"cellscan-inventory/1\",\"image\":{\"ref\":\"centos:7\",\"name\":\"centos\"},"
		"\"os\":{\"id\":\"centos\",\"version_id\":\"7\",\"pretty_name\":\"CentOS Linux 7 (Core)\"},"
		"\"packages\":[],\"layers\":[],\"warnings\":[]}");
	uc = json_pack("{s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:[], s:[]}", "verdict",
		       "healthy", "reason", "no findings at or above high", "counts", "critical", 0,
		       "high", 0, "medium", 0, "low", 0, "unknown", 0, "ignored", 0, "findings",
		       "recommendations");
	um = match_result(0);
	urep = build(uinv, um, uc, CS_REPORT_TIME_AUTO);
	CHECK(json_is_false(jget(urep, "os_supported")));
	CHECK_STR(sget(urep, "unsupported_reason"),
		  "centos 7: no vulnerability data for this distribution");
	CHECK(json_is_null(jget(urep, "ecosystem")));
	CHECK(json_is_null(jget(urep, "sandbox")));
	expect_valid_json("report", "unsupported.json", urep, 1);

	if (rep != NULL && urep != NULL) {
		check_table(rep, urep);
		check_sarif(rep, urep);
		check_cyclonedx(inv, rep);
	}
	check_large();

	json_decref(rep);
	json_decref(urep);
	json_decref(c);
	json_decref(m);
	json_decref(inv);
	json_decref(uinv);
	json_decref(uc);
	json_decref(um);
	rmdir(tmpdir);
	if (validator_missing && cs_test_failures == 0) {
		printf("SKIP: schema validation needs python3 with python3-jsonschema\n");
		return 77;
	}
	return cs_test_done();
}
