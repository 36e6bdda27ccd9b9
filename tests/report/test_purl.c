/*
 * test_purl.c - package URLs, name-based UUIDs and the SPDX expression check.
 *
 * Expected purls are written by hand from the purl specification
 * (github.com/package-url/purl-spec: "How to build", "Character encoding",
 * the deb/apk/rpm type definitions and their test files) and the
 * conventions in docs/formats.md. Rows marked "spec" are the specification's
 * own test vectors (tests/types/{deb,apk,rpm}-test.json), reached from an
 * inventory record; the others apply the same rules to real-looking
 * packages.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "tests/harness.h"

struct row {
	const char *os;    /* JSON or NULL */
	const char *pkg;   /* JSON */
	const char *want;
};

#define DEB12 "{\"id\":\"debian\",\"version_id\":\"12\",\"codename\":\"bookworm\",\"id_like\":null}"
#define ALP "{\"id\":\"alpine\",\"version_id\":\"3.20.3\"}"
#define RHEL94 "{\"id\":\"rhel\",\"version_id\":\"9.4\",\"id_like\":\"fedora\"}"

static const struct row rows[] = {
	/* spec: deb-test.json "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64";
	 * with no OS known, the deb vendor defaults to debian and no distro. */
	{ NULL, "{\"kind\":\"dpkg\",\"name\":\"attr\",\"version\":\"1:2.4.47-2+b1\",\"arch\":\"amd64\"}",
	  "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64" },
	/* spec: apk-test.json */
	{ NULL, "{\"kind\":\"apk\",\"name\":\"curl\",\"version\":\"7.83.0-r0\",\"arch\":\"x86\",\"origin\":\"curl\"}",
	  "pkg:apk/alpine/curl@7.83.0-r0?arch=x86" },
	/* spec: rpm-test.json, with namespace fedora as in its validation row;
	 * the epoch qualifier sorts after distro. */
	{ "{\"id\":\"fedora\",\"version_id\":\"25\"}",
	  "{\"kind\":\"rpm\",\"name\":\"centerim\",\"version\":\"4.22.10-1.el6\",\"arch\":\"i686\",\"epoch\":1}",
	  "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1" },
	/* '~' is unreserved; the source package becomes upstream. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"libssl3\",\"version\":\"3.0.15-1~deb12u1\",\"arch\":\"amd64\","
		 "\"source_name\":\"openssl\",\"source_version\":\"3.0.15-1~deb12u1\"}",
	  "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl" },
	/* '+' in the name. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"libstdc++6\",\"version\":\"12.2.0-14\",\"arch\":\"amd64\","
		 "\"source_name\":\"gcc-12\",\"source_version\":\"12.2.0-14\"}",
	  "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12" },
	/* binNMU: the source version differs, so upstream is name@version,
	 * '@' encoded inside the qualifier value. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"bash\",\"version\":\"5.2.15-2+b7\",\"arch\":\"amd64\","
		 "\"source_name\":\"bash\",\"source_version\":\"5.2.15-2\"}",
	  "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2" },
	/* Epoch in a dpkg version: ':' is never encoded. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"login\",\"version\":\"1:4.13+dfsg1-1+b1\",\"arch\":\"amd64\","
		 "\"source_name\":\"shadow\",\"source_version\":\"1:4.13+dfsg1-1\"}",
	  "pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401:4.13%2Bdfsg1-1" },
	/* Source = binary, same version: no upstream. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"base-files\",\"version\":\"12.4+deb12u5\",\"arch\":\"amd64\","
		 "\"source_name\":\"base-files\",\"source_version\":\"12.4+deb12u5\"}",
	  "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12" },
	{ "{\"id\":\"ubuntu\",\"version_id\":\"22.04\",\"id_like\":\"debian\"}",
	  "{\"kind\":\"dpkg\",\"name\":\"libc6\",\"version\":\"2.35-0ubuntu3.8\",\"arch\":\"amd64\","
	  "\"source_name\":\"glibc\",\"source_version\":\"2.35-0ubuntu3.8\"}",
	  "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8?arch=amd64&distro=ubuntu-22.04&upstream=glibc" },
	/* deb names are case-insensitive: lowercased. Testing/sid has no
	 * VERSION_ID: the codename stands in. */
	{ "{\"id\":\"debian\",\"codename\":\"trixie\"}",
	  "{\"kind\":\"dpkg\",\"name\":\"TzData\",\"version\":\"2024a-4\",\"arch\":\"all\"}",
	  "pkg:deb/debian/tzdata@2024a-4?arch=all&distro=debian-trixie" },
	/* A Debian derivative keeps its own vendor. */
	{ "{\"id\":\"kali\",\"version_id\":\"2024.1\",\"id_like\":\"debian\"}",
	  "{\"kind\":\"dpkg\",\"name\":\"zsh\",\"version\":\"5.9-6\",\"arch\":\"arm64\"}",
	  "pkg:deb/kali/zsh@5.9-6?arch=arm64&distro=kali-2024.1" },
	/* An OS id that is not an os-release token is not trusted. */
	{ "{\"id\":\"Debian GNU/Linux\",\"version_id\":\"12\"}",
	  "{\"kind\":\"dpkg\",\"name\":\"zsh\",\"version\":\"5.9-4\",\"arch\":\"amd64\"}",
	  "pkg:deb/debian/zsh@5.9-4?arch=amd64" },
	{ ALP, "{\"kind\":\"apk\",\"name\":\"libcrypto3\",\"version\":\"3.3.2-r0\",\"arch\":\"x86_64\","
	       "\"origin\":\"openssl\",\"license\":\"Apache-2.0\"}",
	  "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl" },
	{ ALP, "{\"kind\":\"apk\",\"name\":\"libstdc++\",\"version\":\"13.2.1_git20240309-r0\",\"arch\":\"x86_64\","
	       "\"origin\":\"gcc\"}",
	  "pkg:apk/alpine/libstdc%2B%2B@13.2.1_git20240309-r0?arch=x86_64&distro=alpine-3.20.3&upstream=gcc" },
	{ "{\"id\":\"wolfi\",\"version_id\":\"20230201\"}",
	  "{\"kind\":\"apk\",\"name\":\"glibc\",\"version\":\"2.39-r5\",\"arch\":\"x86_64\",\"origin\":\"glibc\"}",
	  "pkg:apk/wolfi/glibc@2.39-r5?arch=x86_64&distro=wolfi-20230201" },
	/* rhel -> redhat namespace, distro keeps the os-release ID. */
	{ RHEL94, "{\"kind\":\"rpm\",\"name\":\"openssl-libs\",\"version\":\"3.0.7-27.el9\",\"arch\":\"x86_64\","
		  "\"epoch\":1,\"rpm_version\":\"3.0.7\",\"rpm_release\":\"27.el9\","
		  "\"source_rpm\":\"openssl-3.0.7-27.el9.src.rpm\",\"vendor\":\"Red Hat, Inc.\"}",
	  "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
	  "&upstream=openssl-3.0.7-27.el9.src.rpm" },
	/* Modularity: '+' in version and source rpm, ':' kept in the label. */
	{ "{\"id\":\"rhel\",\"version_id\":\"8.10\"}",
	  "{\"kind\":\"rpm\",\"name\":\"nodejs\",\"version\":\"18.20.2-1.module+el8.10.0+21578+9b5ae3f8\","
	  "\"arch\":\"x86_64\",\"epoch\":1,\"modularity_label\":\"nodejs:18:8100020240424111245:a75119d5\","
	  "\"source_rpm\":\"nodejs-18.20.2-1.module+el8.10.0+21578+9b5ae3f8.src.rpm\"}",
	  "pkg:rpm/redhat/nodejs@18.20.2-1.module%2Bel8.10.0%2B21578%2B9b5ae3f8?arch=x86_64&distro=rhel-8.10"
	  "&epoch=1&modularitylabel=nodejs:18:8100020240424111245:a75119d5"
	  "&upstream=nodejs-18.20.2-1.module%2Bel8.10.0%2B21578%2B9b5ae3f8.src.rpm" },
	/* rpm names are case-sensitive. */
	{ "{\"id\":\"rocky\",\"version_id\":\"9.3\",\"id_like\":\"rhel centos fedora\"}",
	  "{\"kind\":\"rpm\",\"name\":\"Judy\",\"version\":\"1.0.5-28.el9\",\"arch\":\"x86_64\","
	  "\"source_rpm\":\"Judy-1.0.5-28.el9.src.rpm\"}",
	  "pkg:rpm/rocky/Judy@1.0.5-28.el9?arch=x86_64&distro=rocky-9.3&upstream=Judy-1.0.5-28.el9.src.rpm" },
	/* An EPOCH tag of 0 is still written (it was in the header). */
	{ "{\"id\":\"opensuse-leap\",\"version_id\":\"15.5\",\"id_like\":\"suse opensuse\"}",
	  "{\"kind\":\"rpm\",\"name\":\"libzypp\",\"version\":\"17.31.31-150400.3.49.1\",\"arch\":\"x86_64\",\"epoch\":0}",
	  "pkg:rpm/opensuse/libzypp@17.31.31-150400.3.49.1?arch=x86_64&distro=opensuse-leap-15.5&epoch=0" },
	{ "{\"id\":\"sles\",\"version_id\":\"15.5\"}",
	  "{\"kind\":\"rpm\",\"name\":\"bash\",\"version\":\"4.4-150400.27.3.2\",\"arch\":\"x86_64\"}",
	  "pkg:rpm/suse/bash@4.4-150400.27.3.2?arch=x86_64&distro=sles-15.5" },
	{ "{\"id\":\"amzn\",\"version_id\":\"2023\",\"id_like\":\"fedora\"}",
	  "{\"kind\":\"rpm\",\"name\":\"glibc\",\"version\":\"2.34-52.amzn2023.0.8\",\"arch\":\"aarch64\"}",
	  "pkg:rpm/amzn/glibc@2.34-52.amzn2023.0.8?arch=aarch64&distro=amzn-2023" },
	/* No OS: the VENDOR tag names the distribution, without distro. */
	{ NULL, "{\"kind\":\"rpm\",\"name\":\"libuuid\",\"version\":\"2.32.1-42.el8_8\",\"arch\":\"x86_64\","
		"\"vendor\":\"Red Hat, Inc.\"}",
	  "pkg:rpm/redhat/libuuid@2.32.1-42.el8_8?arch=x86_64" },
	/* No OS, unknown vendor: no namespace at all. */
	{ NULL, "{\"kind\":\"rpm\",\"name\":\"hello\",\"version\":\"2.10-1\",\"arch\":\"x86_64\",\"epoch\":1}",
	  "pkg:rpm/hello@2.10-1?arch=x86_64&epoch=1" },
	/* Hostile strings: every separator and non-ASCII byte encoded. */
	{ DEB12, "{\"kind\":\"dpkg\",\"name\":\"a b/c@d?e#f%g&h=i\",\"version\":\"1.0-\\u00fc\","
		 "\"arch\":\"x/y\"}",
	  "pkg:deb/debian/a%20b%2Fc%40d%3Fe%23f%25g%26h%3Di@1.0-%C3%BC?arch=x%2Fy&distro=debian-12" },
	/* An empty arch is no qualifier at all. */
	{ ALP, "{\"kind\":\"apk\",\"name\":\"musl\",\"version\":\"1.2.5-r0\",\"arch\":\"\"}",
	  "pkg:apk/alpine/musl@1.2.5-r0?distro=alpine-3.20.3" },
};

static void check_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_error_t e;
		json_t *os = rows[i].os != NULL ? json_loads(rows[i].os, 0, &e) : NULL;
		json_t *pkg = json_loads(rows[i].pkg, 0, &e);
		char *got = NULL;
		int r;

		CHECK(pkg != NULL);
		CHECK(rows[i].os == NULL || os != NULL);
		r = cs_report_purl(&got, pkg, os);
		if (r != 0)
			fprintf(stderr, "row %zu: %s\n", i, cs_err_msg());
		CHECK(r == 0);
		CHECK_STR(got, rows[i].want);
		free(got);
		json_decref(os);
		json_decref(pkg);
	}
}

static void check_errors(void)
{
	static const char *const bad[] = {
		"{\"kind\":\"dpkg\",\"version\":\"1\"}",
		"{\"kind\":\"dpkg\",\"name\":\"x\"}",
		"{\"kind\":\"dpkg\",\"name\":\"\",\"version\":\"1\"}",
		"{\"kind\":\"pypi\",\"name\":\"x\",\"version\":\"1\"}",
		"{\"name\":\"x\",\"version\":\"1\"}",
		"[1]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *pkg = json_loads(bad[i], 0, NULL);
		char *got = (char *)"not touched";
		CHECK(pkg != NULL);
		CHECK(cs_report_purl(&got, pkg, NULL) == CS_EINVAL);
		CHECK(got == NULL);
		json_decref(pkg);
	}
}

static void check_uuid(void)
{
	/* RFC 4122 DNS namespace; the value is the one Python's uuid module
	 * documents for uuid5(NAMESPACE_DNS, "python.org"). */
	static const uint8_t dns[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
					 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	char u[CS_REPORT_UUID_LEN];

	CHECK(cs_report_uuid5(u, dns, "python.org", 10) == 0);
	CHECK_STR(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	/* The URL namespace, computed independently with
	 * python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "cellscan"))' */
	CHECK(cs_report_uuid5(u, cs_report_uuid_ns_url, "cellscan", 8) == 0);
	CHECK_STR(u, "2d144cac-6917-5bf6-b180-3d66f35b11d1");
}

static void check_licenses(void)
{
	static const char *const good[] = {
		"MIT", "GPL-2.0-or-later AND LGPL-2.1-or-later", "(MIT OR Apache-2.0) AND BSD-3-Clause",
		"GPL-2.0+", "LGPL-2.1-only+", "GPL-2.0-only WITH Classpath-exception-2.0",
		"((MIT))", "MPL-2.0 OR (GPL-2.0-or-later AND LGPL-2.1-or-later)", " Zlib ",
	};
	static const char *const badl[] = {
		"", "GPLv2+", "MIT and BSD-3-Clause", "mit", "LicenseRef-foo", "MIT AND", "(MIT",
		"MIT)", "MIT WITH MIT", "Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0 WITH Autoconf-exception-2.0",
		"BSD", "MIT\tAND ISC", "MIT++", "MIT AND OR ISC", "(MIT) WITH Classpath-exception-2.0x",
		"Public Domain", "GPL-2.0-or-later AND (", "()",
	};
	char deep[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!cs_report_spdx_license_ok(good[i]))
			fprintf(stderr, "refused: %s\n", good[i]);
		CHECK(cs_report_spdx_license_ok(good[i]));
	}
	for (i = 0; i < sizeof(badl) / sizeof(badl[0]); i++) {
		if (cs_report_spdx_license_ok(badl[i]))
			fprintf(stderr, "accepted: %s\n", badl[i]);
		CHECK(!cs_report_spdx_license_ok(badl[i]));
	}
	/* Nesting past the parser's depth bound is refused, not recursed. */
	memset(deep, 0, sizeof(deep));
	for (i = 0; i < 60; i++)
		deep[i] = '(';
	memcpy(deep + 60, "MIT", 3);
	for (i = 0; i < 60; i++)
		deep[63 + i] = ')';
	CHECK(!cs_report_spdx_license_ok(deep));
}

/* The protocol's longest strings (4,096 bytes), each byte needing an
 * escape, in every field: still one purl, no limit hit. */
static void check_giant(void)
{
	char big[4097];
	json_t *pkg, *os;
	char *got = NULL;

	memset(big, '+', 4096);
	big[4096] = '\0';
	pkg = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "kind", "rpm", "name", big, "version", big,
			"arch", big, "epoch", 1, "modularity_label", big, "source_rpm", big);
	os = json_pack("{s:s,s:s}", "id", "rhel", "version_id", big);
	CHECK(pkg != NULL && os != NULL);
	CHECK(cs_report_purl(&got, pkg, os) == 0);
	/* 6 fields of 4096 escapes (3 bytes each) plus the fixed parts. */
	CHECK(got != NULL && strlen(got) > 6 * 4096 * 3);
	CHECK(got != NULL && strncmp(got, "pkg:rpm/redhat/%2B%2B", 21) == 0);
	free(got);
	json_decref(pkg);
	json_decref(os);
}

int main(void)
{
	check_rows();
	check_giant();
	check_errors();
	check_uuid();
	check_licenses();
	return cs_test_done();
}
