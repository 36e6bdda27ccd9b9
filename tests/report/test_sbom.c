/*
 * test_sbom.c - the CycloneDX, SPDX and native JSON writers.
 *
 * A small handmade inventory is checked field by field against values
 * written here from the inventory and docs/formats.md; it and two larger
 * synthetic inventories are then validated against the official schemas
 * in ../shared/fixtures/schemas/ by tests/report/validate.py (Debian's
 * python3-jsonschema), and deliberately broken copies must be rejected by
 * the same validator, so the validation can fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"
#include "tests/harness.h"

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIFF0 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define DIFF1 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* Alpine 3.20.3: a plain SPDX id, an expression, a string that is not SPDX,
 * a package without license, and the same package in a second database. */
static const char handmade[] =
	"{\"schema\":\"cellscan-inventory/1\","
	"\"image\":{\"ref\":\"oci:/x:latest\",\"name\":\"x\",\"manifest_digest\":\"" DIGEST "\","
	"\"config_digest\":\"sha256:4444444444444444444444444444444444444444444444444444444444444444\","
	"\"platform\":\"linux/amd64\"},"
	"\"os\":{\"id\":\"alpine\",\"version_id\":\"3.20.3\",\"codename\":null,"
	"\"pretty_name\":\"Alpine Linux v3.20\",\"id_like\":null,\"source\":\"etc/os-release\",\"layer\":0},"
	"\"packages\":["
	"{\"kind\":\"apk\",\"name\":\"musl\",\"version\":\"1.2.5-r0\",\"arch\":\"x86_64\",\"origin\":\"musl\","
	"\"license\":\"MIT\",\"maintainer\":\"Timo Ter\\u00e4s <timo.teras@iki.fi>\","
	"\"db\":\"lib/apk/db/installed\",\"layer\":0,\"layer_diff_id\":\"" DIFF0 "\"},"
	"{\"kind\":\"apk\",\"name\":\"libcrypto3\",\"version\":\"3.3.2-r0\",\"arch\":\"x86_64\",\"origin\":\"openssl\","
	"\"license\":\"Apache-2.0 AND MIT\",\"db\":\"lib/apk/db/installed\",\"layer\":0,\"layer_diff_id\":\"" DIFF0
	"\"},"
	"{\"kind\":\"apk\",\"name\":\"busybox\",\"version\":\"1.36.1-r29\",\"arch\":\"x86_64\",\"origin\":\"busybox\","
	"\"license\":\"GPL2\",\"db\":\"lib/apk/db/installed\",\"layer\":1,\"layer_diff_id\":\"" DIFF1
	"\"},"
	"{\"kind\":\"apk\",\"name\":\"hello\",\"version\":\"2.12-r0\",\"arch\":\"x86_64\","
	"\"db\":\"lib/apk/db/installed\",\"layer\":1,\"layer_diff_id\":\"" DIFF1 "\"},"
	"{\"kind\":\"apk\",\"name\":\"musl\",\"version\":\"1.2.5-r0\",\"arch\":\"x86_64\",\"origin\":\"musl\","
	"\"license\":\"MIT\",\"db\":\"usr/lib/apk/db/installed\",\"layer\":1,\"layer_diff_id\":\"" DIFF1
	"\"}],"
	"\"layers\":[{\"index\":0,\"digest\":\"sha256:5555555555555555555555555555555555555555555555555555555555555555\","
	"\"diff_id\":\"" DIFF0 "\",\"media_type\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
	"\"size\":100,\"bytes\":1000,\"entries\":10},"
	"{\"index\":1,\"digest\":\"sha256:6666666666666666666666666666666666666666666666666666666666666666\","
	"\"diff_id\":\"" DIFF1 "\",\"media_type\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
	"\"size\":200,\"bytes\":2000,\"entries\":20}],"
	"\"warnings\":[{\"layer\":1,\"code\":\"special-file\",\"path\":\"dev/null\",\"message\":\"device\"}],"
	"\"sandbox\":{\"cgroup\":\"none\"}}";

static const char *const handmade_purls[] = {
	"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
	"pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl",
	"pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3",
	"pkg:apk/alpine/hello@2.12-r0?arch=x86_64&distro=alpine-3.20.3",
	"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
};
#define NHAND 5

static char tmpdir[] = "/tmp/cs-report-XXXXXX";
static int validator_missing;

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (j == NULL)
		fprintf(stderr, "JSON error: %s at %d\n", e.text, e.line);
	return j;
}

static const char *sget(const json_t *o, const char *path)
{
	/* "a.b.0.c" */
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
	return json_is_string(cur) ? json_string_value(cur) : NULL;
}

/* The value of the first property named name in an array of
 * {"name","value"} objects. */
static const char *property(const json_t *props, const char *name)
{
	size_t i;
	const json_t *p;

	json_array_foreach(props, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			return json_string_value(json_object_get(p, "value"));
	}
	return NULL;
}

static void expect_uuid(const char *got, const char *name)
{
	char u[CS_REPORT_UUID_LEN], want[64];

	CHECK(cs_report_uuid5(u, cs_report_uuid_ns_url, name, strlen(name)) == 0);
	snprintf(want, sizeof(want), "urn:uuid:%s", u);
	CHECK_STR(got, want);
}

static void check_cyclonedx(const json_t *inv)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0, i;
	json_t *doc, *comps, *c, *deps;
	struct cs_report_opts o = { 1700000000LL };

	unsetenv("SOURCE_DATE_EPOCH");
	CHECK(cs_report_sbom_cyclonedx(&a, &alen, inv) == 0);
	CHECK(cs_report_sbom_cyclonedx(&b, &blen, inv) == 0);
	CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
	CHECK(a != NULL && alen == strlen(a) && alen > 0 && a[alen - 1] == '\n');
	doc = parse(a != NULL ? a : "null");
	CHECK(doc != NULL);
	CHECK_STR(sget(doc, "bomFormat"), "CycloneDX");
	CHECK_STR(sget(doc, "specVersion"), "1.6");
	expect_uuid(sget(doc, "serialNumber"), "cellscan:cyclonedx:" DIGEST);
	/* No time given: no timestamp, so the bytes are reproducible. */
	CHECK(sget(doc, "metadata.timestamp") == NULL);
	CHECK_STR(sget(doc, "metadata.tools.components.0.name"), "cellscan");
	CHECK_STR(sget(doc, "metadata.component.type"), "container");
	CHECK_STR(sget(doc, "metadata.component.name"), "x");
	CHECK_STR(sget(doc, "metadata.component.version"), DIGEST);
	CHECK_STR(sget(doc, "metadata.component.purl"), "pkg:oci/x@" DIGEST "?arch=amd64");
	CHECK_STR(sget(doc, "metadata.component.bom-ref"), "pkg:oci/x@" DIGEST "?arch=amd64");
	CHECK_STR(property(json_object_get(
				   json_object_get(json_object_get(doc, "metadata"), "component"),
				   "properties"),
			   "cellscan:image:layer_diff_id"),
		  DIFF0);

	comps = json_object_get(doc, "components");
	CHECK(json_array_size(comps) == 1 + NHAND);
	CHECK_STR(sget(comps, "0.type"), "operating-system");
	CHECK_STR(sget(comps, "0.name"), "alpine");
	CHECK_STR(sget(comps, "0.version"), "3.20.3");
	for (i = 0; i < NHAND && i + 1 < json_array_size(comps); i++) {
		c = json_array_get(comps, i + 1);
		CHECK_STR(sget(c, "type"), "library");
		CHECK_STR(sget(c, "purl"), handmade_purls[i]);
	}
	CHECK_STR(sget(comps, "1.bom-ref"), handmade_purls[0]);
	CHECK_STR(sget(comps, "1.name"), "musl");
	CHECK_STR(sget(comps, "1.version"), "1.2.5-r0");
	CHECK_STR(sget(comps, "1.publisher"), "Timo Ter\xc3\xa4s <timo.teras@iki.fi>");
	CHECK_STR(sget(comps, "1.licenses.0.license.id"), "MIT");
	CHECK_STR(sget(comps, "2.licenses.0.expression"), "Apache-2.0 AND MIT");
	CHECK_STR(sget(comps, "3.licenses.0.license.name"), "GPL2");
	CHECK(json_object_get(json_array_get(comps, 4), "licenses") == NULL);
	/* The second musl (another database) keeps its purl, gets its own ref. */
	CHECK_STR(sget(comps, "5.bom-ref"),
		  "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3#4");
	c = json_object_get(json_array_get(comps, 5), "properties");
	CHECK_STR(property(c, "cellscan:package:db"), "usr/lib/apk/db/installed");
	CHECK_STR(property(c, "cellscan:layer:diff_id"), DIFF1);
	CHECK_STR(property(c, "cellscan:layer:index"), "1");
	CHECK_STR(property(json_object_get(json_array_get(comps, 2), "properties"),
			   "cellscan:apk:origin"),
		  "openssl");

	deps = json_object_get(doc, "dependencies");
	CHECK(json_array_size(deps) == 1);
	CHECK_STR(sget(deps, "0.ref"), "pkg:oci/x@" DIGEST "?arch=amd64");
	CHECK(json_array_size(json_object_get(json_array_get(deps, 0), "dependsOn")) == 1 + NHAND);
	json_decref(doc);
	free(a);
	free(b);

	/* A time, from the environment or the options. */
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	CHECK(cs_report_cyclonedx(&a, &alen, inv, NULL, NULL) == 0);
	doc = parse(a != NULL ? a : "null");
	CHECK_STR(sget(doc, "metadata.timestamp"), "2023-11-14T22:13:20Z");
	expect_uuid(sget(doc, "serialNumber"), "cellscan:cyclonedx:" DIGEST ":1700000000");
	json_decref(doc);
	unsetenv("SOURCE_DATE_EPOCH");
	CHECK(cs_report_cyclonedx(&b, &blen, inv, NULL, &o) == 0);
	CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);

	/* Findings must be an array (test_findings checks vulnerabilities). */
	a = (char *)"x";
	CHECK(cs_report_cyclonedx(&a, &alen, inv, inv, NULL) == CS_EINVAL);
	CHECK(a == NULL);
	setenv("SOURCE_DATE_EPOCH", "17e8", 1);
	CHECK(cs_report_cyclonedx(&a, &alen, inv, NULL, NULL) == CS_EINVAL);
	unsetenv("SOURCE_DATE_EPOCH");
}

static void check_spdx(const json_t *inv)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	json_t *doc, *pkgs, *rels;
	struct cs_report_opts o = { 86400LL };

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	CHECK(cs_report_sbom_spdx(&a, &alen, inv) == 0);
	CHECK(cs_report_sbom_spdx(&b, &blen, inv) == 0);
	CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
	doc = parse(a != NULL ? a : "null");
	CHECK(doc != NULL);
	CHECK_STR(sget(doc, "spdxVersion"), "SPDX-2.3");
	CHECK_STR(sget(doc, "dataLicense"), "CC0-1.0");
	CHECK_STR(sget(doc, "SPDXID"), "SPDXRef-DOCUMENT");
	CHECK_STR(sget(doc, "name"), "x");
	CHECK_STR(sget(doc, "creationInfo.created"), "2023-11-14T22:13:20Z");
	CHECK_STR(sget(doc, "creationInfo.creators.0"), "Tool: cellscan-" CELLSCAN_VERSION);
	expect_uuid(sget(doc, "documentNamespace"), "cellscan:spdx:" DIGEST ":1700000000");

	pkgs = json_object_get(doc, "packages");
	CHECK(json_array_size(pkgs) == 2 + NHAND);
	CHECK_STR(sget(pkgs, "0.primaryPackagePurpose"), "CONTAINER");
	CHECK_STR(sget(pkgs, "0.versionInfo"), DIGEST);
	CHECK_STR(sget(pkgs, "0.externalRefs.0.referenceLocator"),
		  "pkg:oci/x@" DIGEST "?arch=amd64");
	CHECK_STR(sget(pkgs, "1.primaryPackagePurpose"), "OPERATING_SYSTEM");
	CHECK_STR(sget(pkgs, "1.name"), "alpine");
	CHECK_STR(sget(pkgs, "2.name"), "musl");
	CHECK_STR(sget(pkgs, "2.versionInfo"), "1.2.5-r0");
	CHECK_STR(sget(pkgs, "2.downloadLocation"), "NOASSERTION");
	CHECK_STR(sget(pkgs, "2.licenseConcluded"), "NOASSERTION");
	CHECK_STR(sget(pkgs, "2.licenseDeclared"), "MIT");
	CHECK_STR(sget(pkgs, "2.externalRefs.0.referenceCategory"), "PACKAGE-MANAGER");
	CHECK_STR(sget(pkgs, "2.externalRefs.0.referenceType"), "purl");
	CHECK_STR(sget(pkgs, "2.externalRefs.0.referenceLocator"), handmade_purls[0]);
	CHECK_STR(sget(pkgs, "3.licenseDeclared"), "Apache-2.0 AND MIT");
	CHECK_STR(sget(pkgs, "3.sourceInfo"), "built package from: openssl");
	CHECK_STR(sget(pkgs, "4.licenseDeclared"), "NOASSERTION");
	CHECK_STR(sget(pkgs, "5.licenseDeclared"), "NOASSERTION");
	/* Both musl records are there, under different SPDXIDs. */
	CHECK(sget(pkgs, "2.SPDXID") != NULL && sget(pkgs, "6.SPDXID") != NULL &&
	      strcmp(sget(pkgs, "2.SPDXID"), sget(pkgs, "6.SPDXID")) != 0);
	CHECK(strncmp(sget(pkgs, "2.SPDXID") ? sget(pkgs, "2.SPDXID") : "",
		      "SPDXRef-Package-apk-musl-", 25) == 0);

	rels = json_object_get(doc, "relationships");
	CHECK(json_array_size(rels) == 2 + NHAND);
	CHECK_STR(sget(rels, "0.spdxElementId"), "SPDXRef-DOCUMENT");
	CHECK_STR(sget(rels, "0.relationshipType"), "DESCRIBES");
	CHECK_STR(sget(rels, "0.relatedSpdxElement"), sget(pkgs, "0.SPDXID"));
	CHECK_STR(sget(rels, "1.relationshipType"), "CONTAINS");
	CHECK_STR(sget(rels, "1.relatedSpdxElement"), sget(pkgs, "1.SPDXID"));
	CHECK_STR(sget(rels, "6.relatedSpdxElement"), sget(pkgs, "6.SPDXID"));
	json_decref(doc);
	free(a);
	free(b);

	/* Options win over the environment. */
	CHECK(cs_report_spdx(&a, &alen, inv, &o) == 0);
	doc = parse(a != NULL ? a : "null");
	CHECK_STR(sget(doc, "creationInfo.created"), "1970-01-02T00:00:00Z");
	json_decref(doc);
	free(a);
	unsetenv("SOURCE_DATE_EPOCH");
}

static void check_native(const json_t *inv)
{
	char *a = NULL;
	size_t alen = 0, i;
	json_t *doc, *copy;

	CHECK(cs_report_sbom_json(&a, &alen, inv) == 0);
	doc = parse(a != NULL ? a : "null");
	CHECK(doc != NULL);
	for (i = 0; i < NHAND; i++) {
		json_t *p = json_array_get(json_object_get(doc, "packages"), i);
		CHECK_STR(sget(p, "purl"), handmade_purls[i]);
		json_object_del(p, "purl");
	}
	/* Nothing else changed, and the input was not touched. */
	CHECK(json_equal(doc, (json_t *)inv));
	copy = parse(handmade);
	CHECK(json_equal(copy, (json_t *)inv));
	json_decref(copy);
	json_decref(doc);
	free(a);
}

/* Debian with n dpkg packages whose names and versions need escaping,
 * epochs, '~' and '+', binNMUs, and a repeated package now and then. */
static json_t *synthetic_debian(size_t n)
{
	json_t *inv = parse(
		"{\"schema\":\"cellscan-inventory/1\",\"image\":{\"ref\":\"registry.example.com:5000/team/app:1.0\","
		"\"name\":\"app\",\"manifest_digest\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"config_digest\":\"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
		"\"platform\":\"linux/arm64/v8\"},"
		"\"os\":{\"id\":\"debian\",\"version_id\":\"12\",\"codename\":\"bookworm\","
		"\"pretty_name\":\"Debian GNU/Linux 12 (bookworm)\",\"id_like\":null,\"source\":\"etc/os-release\",\"layer\":0},"
		"\"packages\":[],\"layers\":[],\"warnings\":[],\"sandbox\":{\"cgroup\":\"x\"}}");
	json_t *pkgs = json_object_get(inv, "packages");
	char name[96], ver[96], src[96], sver[96];
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *p;
		static const char *const odd[] = {
			"lib+plus", "name with space",	    "sl/ash", "at@sign", "q?mark", "h#sh",
			"pct%",	    "\xc3\xbcml\xc3\xa4ut", "UPPER"
		};
		if (i % 5 == 0)
			snprintf(name, sizeof(name), "%s-%zu", odd[(i / 5) % 9], i);
		else
			snprintf(name, sizeof(name), "libpkg%zu", i);
		switch (i % 4) {
		case 0: snprintf(ver, sizeof(ver), "%zu.0-1", i); break;
		case 1: snprintf(ver, sizeof(ver), "1:%zu.2~rc1-3+deb12u1", i); break;
		case 2: snprintf(ver, sizeof(ver), "%zu.1-2+b1", i); break;
		default: snprintf(ver, sizeof(ver), "2:%zu+dfsg-1~bpo12+1", i); break;
		}
		snprintf(src, sizeof(src), "src%zu", i / 3);
		snprintf(sver, sizeof(sver), "%s", ver);
		if (i % 4 == 2)
			snprintf(sver, sizeof(sver), "%zu.1-2", i);
		p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "kind", "dpkg", "name",
			      name, "version", ver, "arch", i % 7 == 0 ? "all" : "arm64",
			      "source_name", i % 2 ? src : name, "source_version", sver,
			      "maintainer", "Debian Maintainers <debian@example.org>", "db",
			      i % 9 == 0 ? "var/lib/dpkg/status.d/x" : "var/lib/dpkg/status",
			      "layer", (int)(i % 3), "layer_diff_id", DIFF0);
		CHECK(p != NULL && json_array_append_new(pkgs, p) == 0);
		if (i % 100 == 0)
			CHECK(json_array_append_new(pkgs, json_deep_copy(p)) == 0);
	}
	return inv;
}

/* RHEL without a manifest digest and with licenses of every sort. */
static json_t *synthetic_rpm(size_t n)
{
	json_t *inv = parse(
		"{\"schema\":\"cellscan-inventory/1\",\"image\":{\"ref\":\"dir:/rootfs\",\"name\":\"rootfs\"},"
		"\"os\":{\"id\":\"rhel\",\"version_id\":\"9.4\",\"id_like\":\"fedora\",\"source\":\"etc/os-release\",\"layer\":0},"
		"\"packages\":[],\"layers\":[],\"warnings\":[]}");
	json_t *pkgs = json_object_get(inv, "packages");
	static const char *const lic[] = { "MIT",
					   "GPLv2+",
					   "GPL-2.0-or-later WITH Classpath-exception-2.0",
					   "(MIT OR Apache-2.0) AND BSD-3-Clause",
					   "Public Domain",
					   "LGPL-2.1+",
					   "LicenseRef-Fedora-Public-Domain" };
	char name[64], ver[64], srpm[96];
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *p;
		snprintf(name, sizeof(name), i % 6 == 0 ? "Pkg_%zu" : "pkg-%zu", i);
		snprintf(ver, sizeof(ver), "%zu.0-%zu.module+el9.4.0+%zu", i, i % 5, i);
		snprintf(srpm, sizeof(srpm), "%s-%s.src.rpm", name, ver);
		p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "kind", "rpm", "name", name,
			      "version", ver, "arch", "x86_64", "source_rpm", srpm, "license",
			      lic[i % 7], "vendor", "Red Hat, Inc.", "db",
			      "var/lib/rpm/rpmdb.sqlite", "layer", 0);
		CHECK(p != NULL);
		if (p != NULL && i % 3 == 0)
			json_object_set_new(p, "epoch", json_integer((json_int_t)(i % 4)));
		if (p != NULL && i % 4 == 0)
			json_object_set_new(p, "modularity_label",
					    json_string("perl:5.32:9040020240101:abcd1234"));
		CHECK(p != NULL && json_array_append_new(pkgs, p) == 0);
	}
	return inv;
}

static int write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(s, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Runs validate.py on one file; returns its exit status (-1 on failure to
 * run). fork+exec, as the banned-function list rules out the shell helpers. */
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

/* Writes doc to dir/name and expects the validator's verdict. */
static void expect_valid(const char *fmt, const char *name, const char *doc, size_t n, int valid)
{
	char path[4096];
	int st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	CHECK(write_file(path, doc, n) == 0);
	st = validate(fmt, path);
	if (validator_missing)
		return;
	if (valid)
		CHECK(st == 0);
	else
		CHECK(st == 1);
}

static void expect_valid_json(const char *fmt, const char *name, json_t *doc, int valid)
{
	char *s = json_dumps(doc, JSON_INDENT(1));

	CHECK(s != NULL);
	if (s != NULL)
		expect_valid(fmt, name, s, strlen(s), valid);
	free(s);
}

static void check_schemas(const json_t *hand)
{
	json_t *deb = synthetic_debian(1500), *rpm = synthetic_rpm(400);
	const json_t *invs[3] = { hand, deb, rpm };
	static const char *const names[3] = { "handmade", "debian", "rhel" };
	char *s = NULL;
	size_t n, i;
	char file[64];
	json_t *doc;

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	for (i = 0; i < 3; i++) {
		CHECK(cs_report_sbom_cyclonedx(&s, &n, invs[i]) == 0);
		snprintf(file, sizeof(file), "%s.cdx.json", names[i]);
		if (s != NULL)
			expect_valid("cyclonedx", file, s, n, 1);
		free(s);
		s = NULL;
		CHECK(cs_report_sbom_spdx(&s, &n, invs[i]) == 0);
		snprintf(file, sizeof(file), "%s.spdx.json", names[i]);
		if (s != NULL)
			expect_valid("spdx", file, s, n, 1);
		free(s);
		s = NULL;
	}
	/* The synthetic Debian image: every package has a component, and the
	 * repeated ones are told apart. */
	CHECK(cs_report_sbom_cyclonedx(&s, &n, deb) == 0);
	doc = parse(s != NULL ? s : "null");
	CHECK(json_array_size(json_object_get(doc, "components")) ==
	      1 + json_array_size(json_object_get(deb, "packages")));
	CHECK_STR(
		sget(doc, "metadata.component.purl"),
		"pkg:oci/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"?arch=arm64&repository_url=registry.example.com:5000%2Fteam%2Fapp");
	free(s);
	s = NULL;

	/* Broken on purpose: each must be rejected. */
	json_object_del(doc, "bomFormat");
	expect_valid_json("cyclonedx", "broken-format.cdx.json", doc, 0);
	json_decref(doc);
	CHECK(cs_report_sbom_cyclonedx(&s, &n, hand) == 0);
	doc = parse(s != NULL ? s : "null");
	free(s);
	s = NULL;
	json_object_set_new(json_array_get(json_object_get(doc, "components"), 2), "bom-ref",
			    json_string(sget(doc, "components.1.bom-ref")));
	expect_valid_json("cyclonedx", "broken-dup-ref.cdx.json", doc, 0);
	json_object_set_new(json_array_get(json_object_get(doc, "components"), 2), "type",
			    json_string("package"));
	expect_valid_json("cyclonedx", "broken-type.cdx.json", doc, 0);
	json_decref(doc);

	CHECK(cs_report_sbom_spdx(&s, &n, hand) == 0);
	doc = parse(s != NULL ? s : "null");
	free(s);
	s = NULL;
	json_object_set_new(json_array_get(json_object_get(doc, "packages"), 2), "SPDXID",
			    json_string("SPDXRef-bad id"));
	expect_valid_json("spdx", "broken-id.spdx.json", doc, 0);
	json_decref(doc);
	CHECK(cs_report_sbom_spdx(&s, &n, hand) == 0);
	doc = parse(s != NULL ? s : "null");
	free(s);
	s = NULL;
	json_object_del(doc, "spdxVersion");
	expect_valid_json("spdx", "broken-version.spdx.json", doc, 0);
	json_decref(doc);
	CHECK(cs_report_sbom_spdx(&s, &n, hand) == 0);
	doc = parse(s != NULL ? s : "null");
	free(s);
	s = NULL;
	json_object_set_new(json_array_get(json_object_get(doc, "packages"), 3), "licenseDeclared",
			    json_string("GPLv2+"));
	expect_valid_json("spdx", "broken-license.spdx.json", doc, 0);
	json_decref(doc);

	unsetenv("SOURCE_DATE_EPOCH");
	json_decref(deb);
	json_decref(rpm);
}

/* Every identifier cellscan recognises is on the SPDX list as CycloneDX
 * ships it (the enum of spdx.schema.json, licences and exceptions). */
static void check_license_table(void)
{
	char path[4096];
	json_t *s, *e;
	const char *const *ids;
	size_t n, i, j;
	int pass;

	snprintf(path, sizeof(path), "%s/fixtures/schemas/cyclonedx/spdx.schema.json",
		 cs_test_shared());
	s = json_load_file(path, 0, NULL);
	e = json_object_get(s, "enum");
	CHECK(json_array_size(e) > 500);
	for (pass = 0; pass < 2; pass++) {
		ids = pass == 0 ? cs_report_license_ids(&n) : cs_report_exception_ids(&n);
		CHECK(n > 10);
		for (i = 0; i < n; i++) {
			int found = 0;
			for (j = 0; j < json_array_size(e) && !found; j++)
				found = strcmp(json_string_value(json_array_get(e, j)), ids[i]) ==
					0;
			if (!found)
				fprintf(stderr, "not on the SPDX list: %s\n", ids[i]);
			CHECK(found);
			/* bsearch needs the table sorted */
			if (pass == 0 && i > 0)
				CHECK(strcmp(ids[i - 1], ids[i]) < 0);
		}
	}
	json_decref(s);
}

static void cleanup(void)
{
	char path[4096];
	static const char *const files[] = {
		"handmade.cdx.json",
		"handmade.spdx.json",
		"debian.cdx.json",
		"debian.spdx.json",
		"rhel.cdx.json",
		"rhel.spdx.json",
		"broken-format.cdx.json",
		"broken-dup-ref.cdx.json",
		"broken-type.cdx.json",
		"broken-id.spdx.json",
		"broken-version.spdx.json",
		"broken-license.spdx.json",
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int main(void)
{
	json_t *inv;

	cs_test_shared();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	inv = parse(handmade);
	CHECK(inv != NULL);
	check_cyclonedx(inv);
	check_spdx(inv);
	check_native(inv);
	check_license_table();
	check_schemas(inv);
	json_decref(inv);
	cleanup();
	if (validator_missing && cs_test_failures == 0) {
		printf("SKIP: schema validation needs python3 with python3-jsonschema\n");
		return 77;
	}
	return cs_test_done();
}
