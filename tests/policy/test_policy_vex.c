/*
 * test_policy_vex.c - OpenVEX statements applied to findings
 * (docs/policy.md "OpenVEX"): not_affected suppresses, affected / fixed /
 * under_investigation annotate, the latest statement wins (timestamps
 * compared in UTC), products match the image by digest, pkg:oci purl or
 * repository, subcomponents match the package by purl or name.
 *
 * Documents: tests/policy/data/vex/app.openvex.json (written for these
 * tests; valid against fixtures/schemas/openvex with python3-jsonschema),
 * and the OpenVEX examples in fixtures/schemas/examples/openvex (Trivy's
 * own VEX for its image, the spec's samples, vexctl's merge output).
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "tests/harness.h"

#define DIGEST "sha256:abababababababababababababababababababababababababababababababab"

static char datadir[4096], exdir[4200];

static struct cs_policy *load(const char *dir, const char *json)
{
	struct cs_policy *p = NULL;

	if (cs_policy_load(&p, json, strlen(json), dir) != 0)
		fprintf(stderr, "policy %s: %s\n", json, cs_err_msg());
	CHECK(p != NULL);
	return p;
}

/* Classifies one finding (the reference is taken); returns its decision
 * (a new reference). */
static json_t *decide(const struct cs_policy *p, json_t *finding, const json_t *image)
{
	struct cs_policy_input in = { image, "2024-06-01", NULL, NULL, NULL };
	json_t *arr = json_array(), *out = NULL, *d = NULL;

	json_array_append_new(arr, finding);
	if (cs_policy_classify(&out, p, arr, &in) == 0)
		d = json_incref(json_object_get(json_array_get(json_object_get(out, "findings"), 0),
						"decision"));
	else
		fprintf(stderr, "classify: %s\n", cs_err_msg());
	CHECK(d != NULL);
	json_decref(out);
	json_decref(arr);
	return d;
}

static const char *sget(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);

	if (b != NULL)
		x = json_object_get(x, b);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

/* A finding: id, aliases (comma-separated or NULL), kind, name, version,
 * purl (or NULL). */
static json_t *finding(const char *id, const char *alias, const char *kind, const char *name,
		       const char *version, const char *purl)
{
	json_t *f = json_pack("{s:s, s:[], s:{s:s, s:s, s:s}, s:s, s:n, s:s, s:[]}", "id", id,
			      "aliases", "package", "kind", kind, "name", name, "version", version,
			      "installed_version", version, "fixed_version", "fix_state",
			      "not-fixed", "severity");

	if (alias != NULL)
		json_array_append_new(json_object_get(f, "aliases"), json_string(alias));
	if (purl != NULL)
		json_object_set_new(json_object_get(f, "package"), "purl", json_string(purl));
	return f;
}

static void expect(const struct cs_policy *p, json_t *f, const json_t *image, const char *status,
		   const char *by, const char *vex_status, const char *what)
{
	json_t *d = decide(p, f, image);
	const char *s = sget(d, "status", NULL), *b = sget(d, "by", NULL),
		   *v = sget(d, "vex", "status");
	int ok = s != NULL && strcmp(s, status) == 0 &&
		 ((b == NULL && by == NULL) || (b && by && strcmp(b, by) == 0)) &&
		 ((v == NULL && vex_status == NULL) ||
		  (v && vex_status && strcmp(v, vex_status) == 0));

	cs_test_checks++;
	if (!ok) {
		cs_test_failures++;
		fprintf(stderr, "%s: got status %s by %s vex %s; expected %s by %s vex %s\n", what,
			s ? s : "-", b ? b : "-", v ? v : "-", status, by ? by : "-",
			vex_status ? vex_status : "-");
	}
	json_decref(d);
}

static void test_app_document(void)
{
	struct cs_policy *p =
		load(datadir, "{\"version\": 1, \"vex\": [\"vex/app.openvex.json\"]}");
	json_t *app = json_pack("{s:s, s:s, s:s}", "repository", "registry.example/team/app", "ref",
				"registry.example/team/app:1.4", "digest", DIGEST);
	json_t *other = json_pack(
		"{s:s, s:s, s:s}", "repository", "registry.example/team/app", "ref",
		"registry.example/team/app:1.3", "digest",
		"sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	json_t *elsewhere = json_pack(
		"{s:s, s:s}", "repository", "registry.example/team/api", "digest",
		"sha256:0000000000000000000000000000000000000000000000000000000000000000");
	json_t *d;

	/* statement 0: not_affected, image by digest, subcomponent purl without
	 * version matched against the package by name (no purl on it) */
	expect(p, finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL), app,
	       "ignored", "vex", "not_affected", "digest + subcomponent by name");
	expect(p, finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
	       other, "reported", NULL, NULL, "other digest");
	expect(p, finding("CVE-2024-0002", NULL, "dpkg", "libssl3", "3.0.11-1~deb12u1", NULL), app,
	       "reported", NULL, NULL, "package not a subcomponent");
	expect(p, finding("CVE-2024-0002", NULL, "apk", "openssl", "3.0.11-r0", NULL), app,
	       "reported", NULL, NULL, "package of another purl type");
	expect(p,
	       finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1",
		       "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"),
	       app, "ignored", "vex", "not_affected", "subcomponent by package purl");

	/* the decision names the statement and the document */
	d = decide(p, finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
		   app);
	CHECK_STR(sget(d, "vex", "justification"), "vulnerable_code_not_in_execute_path");
	CHECK_STR(sget(d, "vex", "statement_id"), "stmt-openssl-0002");
	CHECK_STR(sget(d, "vex", "document"), "vex/app.openvex.json");
	CHECK_STR(sget(d, "vex", "document_id"), "https://registry.example/vex/app-2024-05");
	json_decref(d);

	/* statement 1: affected annotates; pkg:oci purl with the digest as its
	 * (percent-encoded) version and a repository_url */
	expect(p, finding("CVE-2024-0003", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL), app,
	       "reported", NULL, "affected", "affected annotates");
	expect(p, finding("CVE-2024-0003", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
	       other, "reported", NULL, NULL, "pkg:oci version is the digest");
	d = decide(p, finding("CVE-2024-0003", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
		   app);
	CHECK_STR(sget(d, "vex", "action_statement"), "upgrade openssl to 3.0.14-1~deb12u1");
	json_decref(d);

	/* statement 2: fixed annotates; product by repository, any digest;
	 * subcomponent given as identifiers.purl */
	expect(p, finding("CVE-2024-2398", NULL, "dpkg", "curl", "7.88.1-10+deb12u5", NULL), other,
	       "reported", NULL, "fixed", "fixed annotates, repository product");
	expect(p, finding("CVE-2024-2398", NULL, "dpkg", "curl", "7.88.1-10+deb12u5", NULL),
	       elsewhere, "reported", NULL, NULL, "another repository");

	/* statements 3 and 4: not_affected at 10:00+02:00 (08:00Z), then
	 * affected at 07:30-01:00 (08:30Z): the later one in UTC wins */
	expect(p, finding("CVE-2024-0004", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL), app,
	       "reported", NULL, "affected", "latest statement wins (UTC)");

	/* statement 5 is for another digest only */
	expect(p, finding("CVE-2099-0001", NULL, "dpkg", "tzdata", "2024a-0+deb12u1", NULL), app,
	       "reported", NULL, NULL, "statement for another image");

	/* statement 6: matched through an alias (the finding's id is the
	 * GHSA, the statement names the CVE), percent-encoded repository_url,
	 * versioned npm subcomponent, impact_statement only */
	expect(p, finding("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "npm", "lodash", "4.17.4", NULL),
	       app, "ignored", "vex", "not_affected", "alias + impact statement");
	expect(p, finding("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "npm", "lodash", "4.17.5", NULL),
	       app, "reported", NULL, NULL, "subcomponent version differs");
	expect(p, finding("CVE-2021-23337", NULL, "npm", "lodash", "4.17.4", NULL), elsewhere,
	       "reported", NULL, NULL, "pkg:oci repository_url differs");

	/* VEX beats an ignore rule for the decision's "by" */
	{
		struct cs_policy *q = load(
			datadir, "{\"version\": 1, \"vex\": [\"vex/app.openvex.json\"],"
				 " \"ignore\": [{\"package\": \"openssl\", \"reason\": \"r\"}]}");

		expect(q,
		       finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
		       app, "ignored", "vex", "not_affected", "vex before rules");
		expect(q,
		       finding("CVE-2024-0003", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
		       app, "ignored", "rule", "affected", "affected does not stop a rule");
		cs_policy_free(q);
	}

	/* off: no VEX in the policy */
	{
		struct cs_policy *q = load(datadir, "{\"version\": 1}");

		expect(q,
		       finding("CVE-2024-0002", NULL, "dpkg", "openssl", "3.0.11-1~deb12u1", NULL),
		       app, "reported", NULL, NULL, "no vex");
		cs_policy_free(q);
	}
	json_decref(app);
	json_decref(other);
	json_decref(elsewhere);
	cs_policy_free(p);
}

/* Trivy's VEX for its own image: pkg:oci products named by repository_url
 * (one per registry), apk subcomponents without versions. */
static void test_trivy(void)
{
	struct cs_policy *p =
		load(exdir, "{\"version\": 1, \"vex\": [\"trivy-oci-image-not-affected.json\"]}");
	json_t *hub =
		json_pack("{s:s, s:s}", "repository", "docker.io/aquasec/trivy", "digest", DIGEST);
	json_t *ghcr = json_pack("{s:s, s:s}", "repository", "ghcr.io/aquasecurity/trivy", "digest",
				 DIGEST);
	json_t *fork =
		json_pack("{s:s, s:s}", "repository", "ghcr.io/someone/trivy", "digest", DIGEST);
	json_t *d;

	expect(p,
	       finding("CVE-2023-42363", NULL, "apk", "busybox", "1.36.1-r29",
		       "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.3"),
	       hub, "ignored", "vex", "not_affected", "trivy: index.docker.io = docker.io");
	expect(p, finding("CVE-2023-42363", NULL, "apk", "busybox", "1.36.1-r29", NULL), ghcr,
	       "ignored", "vex", "not_affected", "trivy: by name, ghcr");
	expect(p, finding("CVE-2023-42363", NULL, "apk", "busybox", "1.36.1-r29", NULL), fork,
	       "reported", NULL, NULL, "trivy: another repository with the same name");
	expect(p, finding("CVE-2023-42363", NULL, "apk", "libcurl", "8.9.1-r0", NULL), hub,
	       "reported", NULL, NULL, "trivy: package not listed");
	expect(p, finding("CVE-2024-6119", NULL, "apk", "ssl_client", "1.36.1-r29", NULL), hub,
	       "reported", NULL, NULL, "trivy: ssl_client not listed for CVE-2024-6119");
	expect(p, finding("CVE-2024-4741", NULL, "apk", "ssl_client", "1.36.1-r29", NULL), hub,
	       "ignored", "vex", "not_affected", "trivy: ssl_client listed for CVE-2024-4741");
	d = decide(p, finding("CVE-2024-5535", NULL, "apk", "libssl3", "3.3.1-r0", NULL), hub);
	CHECK_STR(sget(d, "vex", "justification"),
		  "vulnerable_code_cannot_be_controlled_by_adversary");
	CHECK_STR(sget(d, "vex", "impact_statement"), "openssl is not used");
	CHECK_STR(sget(d, "vex", "timestamp"),
		  "2024-07-10T12:17:44.60495+04:00"); /* the document's */
	json_decref(d);
	json_decref(hub);
	json_decref(ghcr);
	json_decref(fork);
	cs_policy_free(p);
}

/* Products that are packages: the statement is about the package in any
 * image. The spec's sample lists git for two arches. */
static void test_spec_examples(void)
{
	struct cs_policy *p = load(exdir, "{\"version\": 1, \"vex\": [\"spec-minimal-fixed.json\","
					  " \"examples-tutorial02-merged.json\"]}");
	json_t *img =
		json_pack("{s:s, s:s}", "repository", "cgr.dev/chainguard/git", "digest", DIGEST);

	expect(p,
	       finding("CVE-2023-12345", NULL, "apk", "git", "2.39.0-r1",
		       "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"),
	       img, "reported", NULL, "fixed", "fixed annotates a package product");
	expect(p,
	       finding("CVE-2023-12345", NULL, "apk", "git", "2.39.0-r1",
		       "pkg:apk/wolfi/git@2.39.0-r1?arch=aarch64"),
	       img, "reported", NULL, NULL, "arch qualifier differs");
	expect(p,
	       finding("CVE-2023-12345", NULL, "apk", "git", "2.39.1-r0",
		       "pkg:apk/wolfi/git@2.39.1-r0?arch=x86_64"),
	       img, "reported", NULL, NULL, "version differs");
	/* under_investigation at 11:47:29, affected at 11:48:20: affected */
	expect(p,
	       finding("CVE-1234-5678", NULL, "npm", "product", "1.0.0",
		       "pkg:generic/product@1.0.0"),
	       img, "reported", NULL, "affected", "merged document: latest statement");
	json_decref(img);
	cs_policy_free(p);

	p = load(exdir, "{\"version\": 1, \"vex\": [\"spec-under-investigation.json\"]}");
	img = json_pack("{s:s}", "repository", "cgr.dev/chainguard/git");
	expect(p,
	       finding("CVE-2023-12345", NULL, "apk", "git", "2.39.0-r1",
		       "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7"),
	       img, "reported", NULL, "under_investigation", "under_investigation annotates");
	json_decref(img);
	cs_policy_free(p);
}

int main(void)
{
	const char *shared = cs_test_shared();

	snprintf(datadir, sizeof(datadir), "%s/tests/policy/data", cs_test_source_dir());
	snprintf(exdir, sizeof(exdir), "%s/fixtures/schemas/examples/openvex", shared);
	test_app_document();
	test_trivy();
	test_spec_examples();
	return cs_test_done();
}
