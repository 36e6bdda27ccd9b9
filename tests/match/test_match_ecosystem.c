/*
 * test_match_ecosystem.c - OS identity -> OSV ecosystem, the look-up keys of
 * each package kind, the ecosystem rules, and dedupe of findings.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "tests/harness.h"

static void os_case(const char *json, const char *want)
{
	json_t *os = json_loads(json, 0, NULL);
	char out[CS_MATCH_ECOSYSTEM_MAX] = "x";
	int r = cs_match_ecosystem_for_os(out, sizeof(out), os);

	if (want == NULL) {
		CHECK(r == CS_EUNSUPPORTED);
		if (r != CS_EUNSUPPORTED)
			fprintf(stderr, "  %s -> %s (want unsupported)\n", json, out);
	} else {
		CHECK(r == 0);
		CHECK_STR(out, want);
	}
	json_decref(os);
}

static void keys_case(const char *pkg, const char *eco, const char *want)
{
	json_t *p = json_loads(pkg, 0, NULL), *keys = NULL, *w = json_loads(want, 0, NULL);
	int r = cs_match_query_keys(&keys, p, eco);

	CHECK(r == 0);
	CHECK(w != NULL && keys != NULL && json_equal(keys, w));
	if (keys == NULL || !json_equal(keys, w)) {
		char *s = keys ? json_dumps(keys, JSON_COMPACT) : NULL;

		fprintf(stderr, "  keys of %s on %s: %s\n  want %s\n", pkg, eco ? eco : "-", s ? s : cs_err_msg(), want);
		free(s);
	}
	json_decref(p);
	json_decref(keys);
	json_decref(w);
}

static json_t *finding(const char *record, const char *pkg, const char *eco)
{
	json_t *r = json_loads(record, 0, NULL), *p = json_loads(pkg, 0, NULL), *f = NULL;

	CHECK(r != NULL && p != NULL);
	CHECK(cs_match_record(&f, r, p, eco, NULL) == 0);
	CHECK(f != NULL);
	json_decref(r);
	json_decref(p);
	return f;
}

static int has(const json_t *a, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), s) == 0)
			return 1;
	return 0;
}

static void dedupe_tests(void)
{
	const char *ssl = "{\"kind\":\"dpkg\",\"name\":\"libssl3\",\"version\":\"3.0.11-1~deb12u2\",\"source_name\":\"openssl\","
			  "\"db\":\"var/lib/dpkg/status\",\"layer\":0}";
	const char *crypto = "{\"kind\":\"dpkg\",\"name\":\"libcrypto3\",\"version\":\"3.0.11-1~deb12u2\",\"source_name\":\"openssl\","
			     "\"db\":\"var/lib/dpkg/status\",\"layer\":0}";
	const char *dsa = "{\"id\":\"DSA-9999-1\",\"aliases\":[\"CVE-2099-0001\"],\"affected\":[{\"package\":{\"name\":\"openssl\","
			  "\"ecosystem\":\"Debian:12\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
			  "{\"fixed\":\"3.0.13-1~deb12u1\"}]}]}]}";
	const char *dcve = "{\"id\":\"DEBIAN-CVE-2099-0001\",\"upstream\":[\"CVE-2099-0001\"],\"affected\":[{\"package\":"
			   "{\"name\":\"openssl\",\"ecosystem\":\"Debian:12\"},\"ecosystem_specific\":{\"urgency\":\"high\"},"
			   "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"3.0.14-1~deb12u1\"}]}]}]}";
	const char *multi = "{\"id\":\"DSA-9999-2\",\"upstream\":[\"CVE-2099-0001\",\"CVE-2099-0002\"],\"affected\":[{\"package\":"
			    "{\"name\":\"openssl\",\"ecosystem\":\"Debian:12\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
			    "[{\"introduced\":\"0\"},{\"fixed\":\"3.0.13-1~deb12u1\"}]}]}]}";
	const char *other = "{\"id\":\"DEBIAN-CVE-2099-0002\",\"upstream\":[\"CVE-2099-0002\"],\"affected\":[{\"package\":"
			    "{\"name\":\"openssl\",\"ecosystem\":\"Debian:12\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
			    "[{\"introduced\":\"0\"}]}]}]}";
	const char *ghsa = "{\"id\":\"GHSA-aaaa-bbbb-cccc\",\"aliases\":[\"PYSEC-2099-1\"],\"affected\":[{\"package\":{\"name\":\"foo\","
			   "\"ecosystem\":\"PyPI\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"2.0\"}]}]}]}";
	const char *pysec = "{\"id\":\"PYSEC-2099-1\",\"affected\":[{\"package\":{\"name\":\"foo\",\"ecosystem\":\"PyPI\"},"
			    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.5\"}]}]}]}";
	const char *foo = "{\"kind\":\"pypi\",\"name\":\"foo\",\"version\":\"1.0\"}";
	json_t *a = json_array(), *f;

	json_array_append_new(a, finding(dsa, ssl, "Debian:12"));        /* 0 */
	json_array_append_new(a, finding(dcve, ssl, "Debian:12"));       /* 1: same vuln, same package */
	json_array_append_new(a, finding(dcve, crypto, "Debian:12"));    /* 2: other package: kept */
	json_array_append_new(a, finding(multi, ssl, "Debian:12"));      /* 3: two-CVE advisory: kept apart */
	json_array_append_new(a, finding(other, ssl, "Debian:12"));      /* 4: other vuln */
	json_array_append_new(a, finding(pysec, foo, NULL));             /* 5 */
	json_array_append_new(a, finding(ghsa, foo, NULL));              /* 6: aliases 5 */
	CHECK(cs_match_dedupe(a) == 0);
	CHECK(json_array_size(a) == 5);

	f = json_array_get(a, 0);
	CHECK_STR(json_string_value(json_object_get(f, "id")), "CVE-2099-0001");
	CHECK(has(json_object_get(f, "aliases"), "DSA-9999-1"));
	CHECK(has(json_object_get(f, "aliases"), "DEBIAN-CVE-2099-0001"));
	CHECK(!has(json_object_get(f, "aliases"), "CVE-2099-0001"));
	CHECK(has(json_object_get(f, "advisories"), "DSA-9999-1"));
	CHECK(has(json_object_get(f, "advisories"), "DEBIAN-CVE-2099-0001"));
	/* past every fix: the higher of the two */
	CHECK_STR(json_string_value(json_object_get(f, "fixed_version")), "3.0.14-1~deb12u1");
	CHECK(json_array_size(json_object_get(f, "merged")) == 1);
	CHECK(json_array_size(json_object_get(f, "distro_severity")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(f, "package"), "name")), "libssl3");

	f = json_array_get(a, 1);
	CHECK_STR(json_string_value(json_object_get(f, "id")), "DEBIAN-CVE-2099-0001");
	CHECK_STR(json_string_value(json_object_get(json_object_get(f, "package"), "name")), "libcrypto3");
	CHECK_STR(json_string_value(json_object_get(json_array_get(a, 2), "id")), "DSA-9999-2");
	CHECK_STR(json_string_value(json_object_get(json_array_get(a, 3), "id")), "DEBIAN-CVE-2099-0002");

	f = json_array_get(a, 4);
	CHECK_STR(json_string_value(json_object_get(f, "id")), "GHSA-aaaa-bbbb-cccc");
	CHECK(has(json_object_get(f, "aliases"), "PYSEC-2099-1"));
	CHECK_STR(json_string_value(json_object_get(f, "fixed_version")), "2.0");
	json_decref(a);

	a = json_array();
	CHECK(cs_match_dedupe(a) == 0);
	CHECK(cs_match_dedupe(NULL) == CS_EINVAL);
	json_decref(a);
}

int main(void)
{
	os_case("{\"id\":\"debian\",\"version_id\":\"12\",\"codename\":\"bookworm\"}", "Debian:12");
	os_case("{\"id\":\"debian\",\"version_id\":\"13\"}", "Debian:13");
	os_case("{\"id\":\"debian\",\"codename\":\"trixie\",\"pretty_name\":\"Debian GNU/Linux trixie/sid\"}", "Debian:13");
	os_case("{\"id\":\"debian\",\"codename\":\"sid\"}", NULL);
	os_case("{\"id\":\"ubuntu\",\"version_id\":\"22.04\",\"pretty_name\":\"Ubuntu 22.04.3 LTS\"}", "Ubuntu:22.04:LTS");
	os_case("{\"id\":\"ubuntu\",\"version_id\":\"24.04\"}", "Ubuntu:24.04:LTS");
	os_case("{\"id\":\"ubuntu\",\"version_id\":\"23.10\",\"pretty_name\":\"Ubuntu 23.10\"}", "Ubuntu:23.10");
	os_case("{\"id\":\"ubuntu\",\"version_id\":\"21.04\"}", "Ubuntu:21.04");
	os_case("{\"id\":\"ubuntu\",\"version_id\":\"22\"}", NULL);
	os_case("{\"id\":\"alpine\",\"version_id\":\"3.19.1\"}", "Alpine:v3.19");
	os_case("{\"id\":\"alpine\",\"version_id\":\"3.20\"}", "Alpine:v3.20");
	os_case("{\"id\":\"alpine\",\"version_id\":\"3.21.0_alpha20240807\",\"pretty_name\":\"Alpine Linux edge\"}", NULL);
	os_case("{\"id\":\"rocky\",\"version_id\":\"9.3\"}", "Rocky Linux:9");
	os_case("{\"id\":\"almalinux\",\"version_id\":\"8.10\"}", "AlmaLinux:8");
	os_case("{\"id\":\"rhel\",\"version_id\":\"9.4\"}", "Red Hat:enterprise_linux:9");
	os_case("{\"id\":\"sles\",\"version_id\":\"15.5\",\"pretty_name\":\"SUSE Linux Enterprise Server 15 SP5\"}",
		"SUSE:Linux Enterprise Server 15 SP5");
	os_case("{\"id\":\"opensuse-leap\",\"version_id\":\"15.5\",\"pretty_name\":\"openSUSE Leap 15.5\"}", "openSUSE:Leap 15.5");
	os_case("{\"id\":\"opensuse-tumbleweed\",\"pretty_name\":\"openSUSE Tumbleweed\"}", "openSUSE:Tumbleweed");
	os_case("{\"id\":\"wolfi\",\"version_id\":\"20230201\"}", "Wolfi");
	os_case("{\"id\":\"chainguard\"}", "Chainguard");
	os_case("{\"id\":\"centos\",\"version_id\":\"7\"}", NULL);
	os_case("{\"id\":\"linuxmint\",\"version_id\":\"21\",\"id_like\":\"ubuntu debian\"}", NULL);
	os_case("{\"id\":\"fedora\",\"version_id\":\"40\"}", NULL);
	os_case("null", NULL);

	keys_case("{\"kind\":\"dpkg\",\"name\":\"libssl3\",\"version\":\"3.0.11-1~deb12u2+b1\",\"source_name\":\"openssl\","
		  "\"source_version\":\"3.0.11-1~deb12u2\"}", "Debian:12",
		  "[{\"ecosystem\":\"Debian:12\",\"name\":\"openssl\",\"via\":\"source\",\"version\":\"3.0.11-1~deb12u2\"}]");
	keys_case("{\"kind\":\"dpkg\",\"name\":\"curl\",\"version\":\"7.81.0-1ubuntu1.15\"}", "Ubuntu:22.04:LTS",
		  "[{\"ecosystem\":\"Ubuntu:22.04:LTS\",\"name\":\"curl\",\"via\":\"source\",\"version\":\"7.81.0-1ubuntu1.15\"},"
		  "{\"ecosystem\":\"Ubuntu:Pro:22.04:LTS\",\"name\":\"curl\",\"via\":\"source\",\"version\":\"7.81.0-1ubuntu1.15\"}]");
	keys_case("{\"kind\":\"apk\",\"name\":\"libcrypto3\",\"version\":\"3.3.2-r0\",\"origin\":\"openssl\"}", "Alpine:v3.20",
		  "[{\"ecosystem\":\"Alpine:v3.20\",\"name\":\"openssl\",\"via\":\"origin\",\"version\":\"3.3.2-r0\"}]");
	keys_case("{\"kind\":\"rpm\",\"name\":\"openssl-libs\",\"version\":\"3.0.7-27.el9\",\"epoch\":1,"
		  "\"source_rpm\":\"openssl-3.0.7-27.el9.src.rpm\"}", "Red Hat:enterprise_linux:9",
		  "[{\"ecosystem\":\"Red Hat:enterprise_linux:9\",\"name\":\"openssl-libs\",\"via\":\"binary\",\"version\":\"1:3.0.7-27.el9\"},"
		  "{\"ecosystem\":\"Red Hat:enterprise_linux:9\",\"name\":\"openssl\",\"via\":\"source\",\"version\":\"1:3.0.7-27.el9\"}]");
	keys_case("{\"kind\":\"rpm\",\"name\":\"bash\",\"version\":\"5.1.8-6.el9\",\"source_rpm\":\"bash-5.1.8-6.el9.src.rpm\"}",
		  "Rocky Linux:9", "[{\"ecosystem\":\"Rocky Linux:9\",\"name\":\"bash\",\"via\":\"binary\",\"version\":\"5.1.8-6.el9\"}]");
	keys_case("{\"kind\":\"rpm\",\"name\":\"libopenssl3\",\"version\":\"3.0.8-150500.5.8.1\",\"source_rpm\":\"openssl-3-3.0.8-150500.5.8.1.src.rpm\"}",
		  "SUSE:Linux Enterprise Server 15 SP5",
		  "[{\"ecosystem\":\"SUSE\",\"name\":\"libopenssl3\",\"via\":\"binary\",\"version\":\"3.0.8-150500.5.8.1\"},"
		  "{\"ecosystem\":\"SUSE\",\"name\":\"openssl-3\",\"via\":\"source\",\"version\":\"3.0.8-150500.5.8.1\"}]");
	keys_case("{\"kind\":\"pypi\",\"name\":\"Zope.Interface__x\",\"version\":\"5.0\"}", NULL,
		  "[{\"ecosystem\":\"PyPI\",\"name\":\"zope-interface-x\",\"via\":\"name\",\"version\":\"5.0\"}]");
	keys_case("{\"kind\":\"go\",\"name\":\"stdlib\",\"version\":\"go1.21.3\"}", NULL,
		  "[{\"ecosystem\":\"Go\",\"name\":\"stdlib\",\"via\":\"name\",\"version\":\"1.21.3\"}]");
	keys_case("{\"kind\":\"maven\",\"name\":\"log4j-core\",\"group\":\"org.apache.logging.log4j\",\"version\":\"2.14.1\"}", NULL,
		  "[{\"ecosystem\":\"Maven\",\"name\":\"org.apache.logging.log4j:log4j-core\",\"via\":\"name\",\"version\":\"2.14.1\"}]");
	keys_case("{\"kind\":\"npm\",\"name\":\"@babel/core\",\"version\":\"7.0.0\"}", "Debian:12",
		  "[{\"ecosystem\":\"npm\",\"name\":\"@babel/core\",\"via\":\"name\",\"version\":\"7.0.0\"}]");
	{
		json_t *p = json_loads("{\"kind\":\"dpkg\",\"name\":\"x\",\"version\":\"1\"}", 0, NULL), *k = NULL;

		CHECK(cs_match_query_keys(&k, p, NULL) == CS_EUNSUPPORTED);
		CHECK(cs_match_query_keys(&k, p, "Alpine:v3.19") == CS_EUNSUPPORTED);
		CHECK(cs_match_query_keys(&k, p, "PyPI") == CS_EUNSUPPORTED);
		CHECK(k == NULL);
		json_decref(p);
		p = json_loads("{\"kind\":\"snap\",\"name\":\"x\",\"version\":\"1\"}", 0, NULL);
		CHECK(cs_match_query_keys(&k, p, NULL) == CS_EUNSUPPORTED);
		json_decref(p);
	}

	CHECK(cs_match_ecosystem_covers("Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:9::appstream"));
	CHECK(!cs_match_ecosystem_covers("Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:90::appstream"));
	CHECK(cs_match_ecosystem_covers("Maven", "Maven:https://maven.google.com"));
	CHECK(!cs_match_ecosystem_covers("Debian:1", "Debian:12"));
	CHECK(cs_match_ecosystem_applies("Ubuntu:18.04:LTS", "Ubuntu:Pro:18.04:LTS"));
	CHECK(!cs_match_ecosystem_applies("Ubuntu:18.04:LTS", "Ubuntu:Pro:20.04:LTS"));
	CHECK(!cs_match_ecosystem_applies("Red Hat:enterprise_linux:9", "Red Hat:rhel_eus:9.2::appstream"));
	CHECK(cs_match_ecosystem_applies("SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP5-LTSS"));
	CHECK(cs_match_ecosystem_applies("SUSE:Linux Enterprise Server 15 SP5",
					 "SUSE:Linux Enterprise Module for Basesystem 15 SP5"));
	CHECK(!cs_match_ecosystem_applies("SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP4"));
	CHECK(!cs_match_ecosystem_applies("SUSE:Linux Enterprise Server 15", "SUSE:Linux Enterprise Server 15 SP4"));
	CHECK(cs_match_ecosystem_applies("openSUSE:Leap 15.5", "openSUSE:Leap 15.5 NonFree"));
	CHECK(!cs_match_ecosystem_applies("openSUSE:Leap 15.5", "openSUSE:Leap 15.6"));
	CHECK(!cs_match_ecosystem_applies("Debian:12", "Debian"));
	CHECK(!cs_match_ecosystem_applies("Alpine:v3.1", "Alpine:v3.19"));

	dedupe_tests();
	return cs_test_done();
}
