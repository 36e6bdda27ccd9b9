/*
 * test_dpkg.c - the dpkg analyzer against every fixture in
 * shared/fixtures/pkgdb/dpkg/ (trivy, osv-scalibr and syft expectations) and
 * against hostile inputs.
 *
 * Fields the upstream tests check that are not part of struct cs_pkg, and so
 * are not compared here (each comes from another file or is the tool's own
 * derivation):
 *   trivy:  DependsOn (resolved against the installed set), Repository.Class
 *           (trivy's list of third-party maintainers), Digest (from
 *           var/lib/dpkg/available), InstalledFiles (from info/<pkg>.md5sums).
 *   scalibr: Metadata.OS* (from os-release; test_os_release.c checks those
 *           texts), ExploitabilitySignals (transitional-package annotations),
 *           PURLType.
 *   syft:   InstalledSize, Description, Provides, Depends, PreDepends, Files
 *           (Conffiles), Licenses (from usr/share/doc/<pkg>/copyright).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/analyzers/expect_util.h"
#include "tests/harness.h"
#include "worker/analyzers/dpkg.h"

#define FX "pkgdb/dpkg/"

static void parse_buf(struct xp *x, const char *path, const void *data, size_t len)
{
	struct cs_emit e = xp_emit(x);

	CHECK(cs_dpkg_parse(&e, path, data, len) == 0);
	CHECK(x->bad_strings == 0);
}

static int parse_fixture(struct xp *x, const char *rel, const char *as_path)
{
	size_t len;
	uint8_t *d = xp_read(rel, &len);

	CHECK(d != NULL);
	if (d == NULL)
		return -1;
	parse_buf(x, as_path, d, len);
	free(d);
	return 0;
}

static void parse_str(struct xp *x, const char *path, const char *s)
{
	parse_buf(x, path, s, strlen(s));
}

/* "[epoch:]version[-release]" from trivy's split fields. */
static void trivy_version(char *out, size_t cap, long long epoch, const char *v, const char *rel)
{
	char ep[32] = "";

	if (epoch > 0)
		snprintf(ep, sizeof(ep), "%lld:", epoch);
	snprintf(out, cap, "%s%s%s%s", ep, v ? v : "", rel ? "-" : "", rel ? rel : "");
}

static void test_match(void)
{
	CHECK(cs_dpkg_match("var/lib/dpkg/status") == 1);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/base") == 1);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libssl1.1") == 1);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libsqlite3-0") == 1);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libsqlite3-0.md5sums") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libsqlite3-0.preinst") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/foo.postrm") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/.hidden") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status.d/a/b") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/status-old") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/available") == 0);
	CHECK(cs_dpkg_match("var/lib/dpkg/info/tar.md5sums") == 0);
	CHECK(cs_dpkg_match("usr/lib/opkg/status") == 0);
	CHECK(cs_dpkg_match("/var/lib/dpkg/status") == 0);
	CHECK(cs_dpkg_match("x/var/lib/dpkg/status") == 0);
	CHECK(cs_dpkg_match(NULL) == 0);
}

/* ---- trivy ---------------------------------------------------------- */

static void test_trivy_case(const char *name)
{
	char rel[512], frel[512], want_v[512];
	json_t *j, *infos, *info, *pkgs, *ep;
	size_t i, k, n_expected = 0;

	snprintf(rel, sizeof(rel), FX "trivy/%s/expected.json", name);
	j = xp_json(rel);
	CHECK(j != NULL);
	if (j == NULL)
		return;
	infos = json_object_get(json_object_get(j, "want"), "PackageInfos");
	CHECK(json_array_size(infos) >= 1);
	json_array_foreach(infos, i, info) {
		struct xp x = { 0 };
		const char *fp = xp_js(info, "FilePath");

		CHECK(fp != NULL);
		if (fp == NULL)
			continue;
		snprintf(frel, sizeof(frel), FX "trivy/%s/%s", name, fp);
		CHECK(cs_dpkg_match(fp) == 1);
		if (parse_fixture(&x, frel, fp) != 0)
			continue;
		pkgs = json_object_get(info, "Packages");
		n_expected = json_array_size(pkgs);
		CHECK(x.n_pkgs == n_expected);
		if (x.n_pkgs != n_expected) {
			fprintf(stderr, "trivy/%s: %zu packages, expected %zu\n", name, x.n_pkgs,
				n_expected);
			xp_print_warnings(&x, name);
		}
		json_array_foreach(pkgs, k, ep) {
			const char *id = xp_js(ep, "ID"), *at = id ? strchr(id, '@') : NULL;
			const char *pname = xp_js(ep, "Name");
			const struct xp_pkg *p;
			char src_v[512];

			CHECK(at != NULL && pname != NULL);
			if (at == NULL || pname == NULL)
				continue;
			/* ID is "<Package>@<Version as written>". */
			p = xp_find(&x, pname, at + 1);
			CHECK(p != NULL);
			if (p == NULL) {
				fprintf(stderr, "trivy/%s: missing %s\n", name, id);
				continue;
			}
			trivy_version(want_v, sizeof(want_v), xp_ji(ep, "Epoch"), xp_js(ep, "Version"),
				      xp_js(ep, "Release"));
			CHECK_STR(p->version, want_v);
			CHECK(p->kind == CS_PKG_DPKG);
			CHECK_STR(p->arch, xp_js(ep, "Arch"));
			CHECK_STR(p->maintainer, xp_js(ep, "Maintainer"));
			CHECK_STR(p->source_name, xp_js(ep, "SrcName"));
			trivy_version(src_v, sizeof(src_v), xp_ji(ep, "SrcEpoch"),
				      xp_js(ep, "SrcVersion"), xp_js(ep, "SrcRelease"));
			CHECK_STR(p->source_version, src_v);
			CHECK_STR(p->db_path, fp);
			CHECK_STR(p->status, "install ok installed");
		}
		if (strcmp(name, "valid") == 0) {
			/* the one "deinstall ok config-files" stanza, summarised */
			CHECK(x.n_warns == 1);
			CHECK(xp_warned(&x, "1 config-files"));
		}
		if (strcmp(name, "corrupsed") == 0) {
			/*
			 * Exception: trivy drops "invalidpkg" because its version
			 * "1:5.#" does not parse; that stanza has no Status line,
			 * and in a status file that means not installed, so we
			 * skip it for that reason and say so.
			 */
			CHECK(xp_warned(&x, "brokenPackageWithNoVersionThatShouldGetThrownOut"));
			CHECK(xp_warned(&x, "1 no Status field"));
			CHECK(xp_find(&x, "invalidpkg", NULL) == NULL);
		}
		xp_free(&x);
	}
	json_decref(j);
}

static void test_trivy(void)
{
	static const char *const cases[] = {
		"valid", "corrupsed", "only-apt", "digest", "md5sums", "third-party",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_trivy_case(cases[i]);
}

/* ---- osv-scalibr ------------------------------------------------------ */

static void test_scalibr(void)
{
	json_t *j = xp_json(FX "osv-scalibr/expected.json"), *cases, *c, *want, *w;
	size_t i, k, checked = 0;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	cases = json_object_get(j, "cases");
	CHECK(json_array_size(cases) == 29);
	json_array_foreach(cases, i, c) {
		struct xp x = { 0 };
		const char *name = xp_js(c, "name"), *path = xp_js(c, "path"), *sd;
		char rel[512], loc[512];
		int is_opkg = json_is_true(json_object_get(c, "isOPKG"));

		if (json_object_get(c, "cfg") != NULL) {
			/*
			 * IncludeNotInstalled is an osv-scalibr option we do not
			 * have; the same input is checked by its default case.
			 */
			continue;
		}
		if (is_opkg) {
			/*
			 * The test presents opkg files as usr/lib/opkg/status.
			 * cs_dpkg_match() does not claim them (no opkg kind in
			 * the contract), but the format is the same and the
			 * parser must read them as osv-scalibr does.
			 */
			snprintf(loc, sizeof(loc), "usr/lib/opkg/status");
			CHECK(cs_dpkg_match(loc) == 0);
		} else if ((sd = strstr(path, "status.d/")) != NULL) {
			snprintf(loc, sizeof(loc), "var/lib/dpkg/%s", sd);
		} else {
			snprintf(loc, sizeof(loc), "var/lib/dpkg/status");
		}
		snprintf(rel, sizeof(rel), FX "osv-scalibr/%s", path);
		if (parse_fixture(&x, rel, loc) != 0)
			continue;
		checked++;
		want = json_object_get(c, "wantPackages");
		CHECK(x.n_pkgs == json_array_size(want));
		if (x.n_pkgs != json_array_size(want)) {
			fprintf(stderr, "scalibr case %s: %zu packages, expected %zu\n", name,
				x.n_pkgs, json_array_size(want));
			xp_print_warnings(&x, name);
		}
		json_array_foreach(want, k, w) {
			const json_t *m = json_object_get(w, "Metadata");
			const char *pn = xp_js(w, "Name"), *pv = xp_js(w, "Version");
			const struct xp_pkg *p = pn && pv ? xp_find(&x, pn, pv) : NULL;
			const char *sn = xp_js(m, "SourceName"), *sv = xp_js(m, "SourceVersion");

			CHECK(p != NULL);
			if (p == NULL) {
				fprintf(stderr, "scalibr case %s: missing %s\n", name, pn ? pn : "?");
				continue;
			}
			CHECK_STR(p->name, xp_js(m, "PackageName"));
			CHECK_STR(p->version, xp_js(m, "PackageVersion"));
			CHECK_STR(p->status, xp_js(m, "Status"));
			CHECK_STR(p->maintainer, xp_js(m, "Maintainer"));
			CHECK_STR(p->arch, xp_js(m, "Architecture"));
			/* scalibr leaves SourceName/Version empty when Source does
			 * not give them; ours then default to the binary's. */
			CHECK_STR(p->source_name, sn ? sn : p->name);
			CHECK_STR(p->source_version, sv ? sv : p->version);
			CHECK_STR(p->db_path, xp_js(w, "Location"));
		}
		if (json_object_get(c, "wantErr") != NULL) {
			/* scalibr fails the file; we warn and emit nothing. */
			CHECK(x.n_pkgs == 0);
			CHECK(x.n_warns >= 1);
		}
		if (json_object_get(c, "wantLogWarn") != NULL && strstr(path, ".md5sums") == NULL)
			CHECK(x.n_warns == (size_t)xp_ji(c, "wantLogWarn"));
		if (strstr(path, ".md5sums") != NULL) {
			/* never matched by us; if parsed anyway, warnings and nothing else */
			CHECK(cs_dpkg_match(loc) == 0);
			CHECK(x.n_pkgs == 0 && x.n_warns >= 1);
		}
		if (strcmp(path, "dpkg/statusfield") == 0 || strcmp(path, "opkg/statusfield") == 0) {
			/* scalibr logs one warning for the file; ours is the summary */
			CHECK(xp_warned(&x, "skipped 4 packages"));
		}
		if (strcmp(path, "dpkg/status.d/foo") == 0)
			CHECK(xp_warned(&x, "1 config-files"));
		xp_free(&x);
	}
	CHECK(checked == 27);
	json_decref(j);
}

/* ---- syft ------------------------------------------------------------- */

static void test_syft(void)
{
	json_t *j = xp_json(FX "syft/expected.json"), *cases, *c, *exp, *w;
	size_t i, k;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	cases = json_object_get(j, "cases");
	CHECK(json_array_size(cases) == 6);
	json_array_foreach(cases, i, c) {
		struct xp x = { 0 };
		const char *file = xp_js(c, "file"), *name = xp_js(c, "name");
		char rel[512];
		size_t n_want = 0;

		snprintf(rel, sizeof(rel), FX "syft/%s", file);
		if (parse_fixture(&x, rel, file) != 0)
			continue;
		if (strncmp(file, "var/lib/dpkg/", 13) == 0)
			CHECK(cs_dpkg_match(file) == 1);
		if (json_is_true(json_object_get(c, "expectError"))) {
			/* syft fails on the corrupt entry; we warn and emit nothing */
			CHECK(x.n_pkgs == 0);
			CHECK(x.n_warns >= 1);
			xp_free(&x);
			continue;
		}
		exp = json_object_get(c, "expected");
		json_array_foreach(exp, k, w) {
			const char *pn = xp_js(w, "Package"), *pv = xp_js(w, "Version");
			const struct xp_pkg *p;

			if (pv == NULL) {
				/*
				 * Exception: syft keeps the "no-version" entry; a
				 * package without a version cannot be matched, and
				 * trivy and osv-scalibr skip such stanzas too. We
				 * skip it with a warning.
				 */
				CHECK(pn != NULL && xp_warned(&x, pn));
				continue;
			}
			n_want++;
			p = xp_find(&x, pn, pv);
			CHECK(p != NULL);
			if (p == NULL) {
				fprintf(stderr, "syft case %s: missing %s\n", name, pn);
				continue;
			}
			CHECK_STR(p->arch, xp_js(w, "Architecture"));
			CHECK_STR(p->maintainer, xp_js(w, "Maintainer"));
			CHECK_STR(p->source_name, xp_js(w, "Source") ? xp_js(w, "Source") : pn);
			CHECK_STR(p->source_version, pv);
		}
		CHECK(x.n_pkgs == n_want);
		if (x.n_pkgs != n_want)
			xp_print_warnings(&x, name);
		if (strstr(file, "multiple") != NULL) {
			/* the empty "Package:" stanza */
			CHECK(xp_warned(&x, "no value in its Package field"));
			CHECK_STR(xp_find(&x, "tzdata", NULL) ? xp_find(&x, "tzdata", NULL)->multi_arch : NULL,
				  "foreign");
		}
		if (strstr(file, "deinstall") != NULL)
			CHECK(xp_warned(&x, "1 config-files"));
		xp_free(&x);
	}
	json_decref(j);

	/* image-distroless-deb: the status.d file is the evidence for the package */
	j = xp_json(FX "syft/image-distroless-deb/expected.json");
	CHECK(j != NULL);
	if (j != NULL) {
		struct xp x = { 0 };
		const char *sp = "var/lib/dpkg/status.d/libsqlite3-0";

		CHECK(cs_dpkg_match(sp) == 1);
		CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libsqlite3-0.md5sums") == 0);
		CHECK(cs_dpkg_match("var/lib/dpkg/status.d/libsqlite3-0.preinst") == 0);
		if (parse_fixture(&x, FX "syft/image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0",
				  sp) == 0) {
			exp = json_object_get(j, "expected");
			CHECK(x.n_pkgs == json_array_size(exp));
			json_array_foreach(exp, k, w) {
				const json_t *m = json_object_get(w, "Metadata");
				const struct xp_pkg *p = xp_find(&x, xp_js(w, "Name"), xp_js(w, "Version"));

				CHECK(p != NULL);
				if (p == NULL)
					continue;
				CHECK_STR(p->name, xp_js(m, "Package"));
				CHECK_STR(p->version, xp_js(m, "Version"));
				CHECK_STR(p->arch, xp_js(m, "Architecture"));
				CHECK_STR(p->maintainer, xp_js(m, "Maintainer"));
				CHECK_STR(p->source_name, xp_js(m, "Source"));
				CHECK_STR(p->multi_arch, "same");
				CHECK(p->status == NULL);
			}
			CHECK(x.n_warns == 0);
			xp_free(&x);
		}
		json_decref(j);
	}
}

/* ---- handwritten edge cases ------------------------------------------- */

static void test_fields(void)
{
	struct xp x = { 0 };
	const struct xp_pkg *p;

	parse_str(&x, "var/lib/dpkg/status",
		  "package: lower\nSTATUS: hold ok installed\nversion: 2:1.0~rc1+dfsg-3.1\n"
		  "Source: up (1:0.9-1)\nMulti-Arch: same\nArchitecture: arm64\n\n"
		  "Package: held-removal\nStatus: deinstall ok installed\nVersion: 1\n\n"
		  "Package: crlf\r\nStatus: install ok installed\r\nVersion: 3.0-1\r\n"
		  "Source:   spaced   \r\n\r\n"
		  "Package: badsrc\nStatus: install ok installed\nVersion: 1.0\nSource: x (1.0\n\n"
		  "Package: badsrc2\nStatus: install ok installed\nVersion: 1.0\nSource: (1.0)\n\n"
		  "Package: trig\nStatus: install ok triggers-pending\nVersion: 1.0\n\n"
		  "Package: weird\nStatus: install ok\nVersion: 1.0\n\n"
		  "Package: dup\nStatus: install ok installed\nVersion: 1.0\nVersion: 2.0\n\n"
		  "Package: cont\nStatus: install ok installed\nVersion: 1.0\n 2.0\n"
		  "Description: x\n more\n .\n\n"
		  "Package: last\nStatus: install ok installed\nVersion: 9");
	p = xp_find(&x, "lower", NULL);
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->version, "2:1.0~rc1+dfsg-3.1");
		CHECK_STR(p->status, "hold ok installed");
		CHECK_STR(p->source_name, "up");
		CHECK_STR(p->source_version, "1:0.9-1");
		CHECK_STR(p->multi_arch, "same");
		CHECK_STR(p->arch, "arm64");
	}
	CHECK(xp_find(&x, "held-removal", "1") != NULL);
	p = xp_find(&x, "crlf", NULL);
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->version, "3.0-1");
		CHECK_STR(p->source_name, "spaced");
		CHECK_STR(p->source_version, "3.0-1");
	}
	p = xp_find(&x, "badsrc", NULL);
	CHECK(p != NULL && strcmp(p->source_name, "badsrc") == 0);
	p = xp_find(&x, "badsrc2", NULL);
	CHECK(p != NULL && strcmp(p->source_name, "badsrc2") == 0);
	CHECK(xp_warned(&x, "Source is not"));
	CHECK(xp_find(&x, "trig", NULL) == NULL);
	CHECK(xp_find(&x, "weird", NULL) == NULL);
	CHECK(xp_warned(&x, "skipped 2 packages"));
	CHECK(xp_warned(&x, "1 triggers-pending"));
	CHECK(xp_warned(&x, "1 malformed or unknown Status"));
	CHECK(xp_find(&x, "dup", "1.0") != NULL);
	CHECK(xp_warned(&x, "duplicate Version"));
	CHECK(xp_find(&x, "cont", "1.0") != NULL);
	CHECK(xp_warned(&x, "continuation of single-line field Version"));
	CHECK(xp_find(&x, "last", "9") != NULL);
	CHECK(x.n_pkgs == 8);
	xp_free(&x);

	/* status.d: no Status means installed; status: it means skipped */
	parse_str(&x, "var/lib/dpkg/status.d/a", "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n");
	CHECK(x.n_pkgs == 2 && x.n_warns == 0);
	xp_free(&x);
	parse_str(&x, "var/lib/dpkg/status", "Package: a\nVersion: 1\n");
	CHECK(x.n_pkgs == 0 && xp_warned(&x, "1 no Status field"));
	xp_free(&x);

	/* empty and blank-only inputs */
	parse_buf(&x, "var/lib/dpkg/status", "", 0);
	CHECK(x.n_pkgs == 0 && x.n_warns == 0);
	xp_free(&x);
	parse_str(&x, "var/lib/dpkg/status", "\n\n \t\n\r\n");
	CHECK(x.n_pkgs == 0 && x.n_warns == 0);
	xp_free(&x);
}

static void test_truncated(void)
{
	size_t len, cut, full;
	uint8_t *d = xp_read(FX "trivy/valid/var/lib/dpkg/status", &len);
	struct xp x = { 0 };

	CHECK(d != NULL);
	if (d == NULL)
		return;
	parse_buf(&x, "var/lib/dpkg/status", d, len);
	full = x.n_pkgs;
	xp_free(&x);
	/* every 613th prefix and every prefix of the first 2 KiB */
	for (cut = 0; cut < len; cut += cut < 2048 ? 1 : 613) {
		parse_buf(&x, "var/lib/dpkg/status", d, cut);
		CHECK(x.n_pkgs <= full);
		xp_free(&x);
	}
	free(d);

	/* a stanza cut inside the Version field name: no package, a warning */
	parse_str(&x, "var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVers");
	CHECK(x.n_pkgs == 0 && xp_warned(&x, "not a \"Field: value\" line"));
	CHECK(xp_warned(&x, "has no Version"));
	xp_free(&x);
	/* cut right after the value: the version as far as it goes */
	parse_str(&x, "var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVersion: 1.2");
	CHECK(x.n_pkgs == 1 && xp_find(&x, "foo", "1.2") != NULL);
	xp_free(&x);
}

static char *repeat(const char *head, char ch, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(hl + n + tl + 1);

	if (s == NULL)
		exit(1);
	memcpy(s, head, hl);
	memset(s + hl, ch, n);
	memcpy(s + hl + n, tail, tl + 1);
	return s;
}

static void test_giant(void)
{
	struct xp x = { 0 };
	char *s;

	s = repeat("Package: big\nStatus: install ok installed\nVersion: ", '7', 10u << 20, "\n");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 0 && xp_warned(&x, "Version is not a clean UTF-8 token of at most"));
	free(s);
	xp_free(&x);

	s = repeat("Package: m\nStatus: install ok installed\nVersion: 1\nMaintainer: ", 'x', 10u << 20,
		   "\nArchitecture: amd64\n");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].maintainer == NULL && xp_warned(&x, "Maintainer longer"));
	CHECK(x.n_pkgs == 1 && x.pkgs[0].arch != NULL && strcmp(x.pkgs[0].arch, "amd64") == 0);
	free(s);
	xp_free(&x);

	/* a huge Description continuation costs nothing and changes nothing */
	s = repeat("Package: d\nStatus: install ok installed\nVersion: 1\nDescription: x\n ", 'y',
		   50u << 20, "\n .\n");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 1 && x.n_warns == 0);
	free(s);
	xp_free(&x);

	/* one 20 MiB line without a colon or newline */
	s = repeat("", 'z', 20u << 20, "");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 0 && x.n_warns >= 1);
	free(s);
	xp_free(&x);

	/* Source of exactly the cap is kept, one byte over is refused */
	s = repeat("Package: s\nStatus: install ok installed\nVersion: 1\nSource: ", 'a', 4096, "\n");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].source_name && strlen(x.pkgs[0].source_name) == 4096);
	free(s);
	xp_free(&x);
	s = repeat("Package: s\nStatus: install ok installed\nVersion: 1\nSource: ", 'a', 4097, "\n");
	parse_str(&x, "var/lib/dpkg/status", s);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].source_name && strcmp(x.pkgs[0].source_name, "s") == 0);
	free(s);
	xp_free(&x);
}

static void test_utf8(void)
{
	static const char in[] =
		"Package: \xff\xfe\nStatus: install ok installed\nVersion: 1\n\n"
		"Package: ok\nStatus: install ok installed\nVersion: 1\nMaintainer: Jos\xe9 <j@x>\n"
		"Architecture: am\x01" "d64\n\n"
		"Package: nul\nStatus: install ok installed\nVersion: 1\0002\n\n"
		"Package: overlong\nStatus: install ok installed\nVersion: \xc0\xaf\n\n"
		"Package: surrogate\nStatus: install ok installed\nVersion: \xed\xa0\x80\n\n"
		"Package: caf\xc3\xa9\nStatus: install ok installed\nVersion: 1\n";
	struct xp x = { 0 };
	const struct xp_pkg *p;

	parse_buf(&x, "var/lib/dpkg/status", in, sizeof(in) - 1);
	CHECK(x.n_pkgs == 2);
	p = xp_find(&x, "ok", "1");
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->maintainer, "Jos\xef\xbf\xbd <j@x>");
		CHECK(p->arch == NULL);
	}
	CHECK(xp_find(&x, "caf\xc3\xa9", "1") != NULL);
	CHECK(xp_warned(&x, "Package ?? is not a clean UTF-8 token"));
	CHECK(xp_warned(&x, "package nul"));
	CHECK(xp_warned(&x, "package overlong"));
	CHECK(xp_warned(&x, "package surrogate"));
	xp_free(&x);
}

static void test_garbage(void)
{
	size_t n = 16u << 20, i;
	uint8_t *g = malloc(n);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct xp x = { 0 };

	if (g == NULL)
		exit(1);
	for (i = 0; i < n; i += 8) {
		uint64_t r = xp_rand(&seed);

		memcpy(g + i, &r, n - i < 8 ? n - i : 8);
	}
	parse_buf(&x, "var/lib/dpkg/status", g, n);
	CHECK(x.n_warns <= 16 + 2);
	CHECK(xp_warned(&x, "further problems not reported"));
	xp_free(&x);

	/* garbage made of field-like fragments */
	{
		static const char *const frag[] = {
			"Package: ", "Version: ", "Status: install ok installed", "\n", "\n\n",
			" cont", "Source: x (", ")", ":", "\xff", "\r\n", "Package:", "a", "1.0",
		};
		size_t o = 0;

		while (o < n - 64) {
			const char *f = frag[xp_rand(&seed) % (sizeof(frag) / sizeof(frag[0]))];
			size_t fl = strlen(f);

			memcpy(g + o, f, fl);
			o += fl;
		}
		parse_buf(&x, "var/lib/dpkg/status", g, o);
		CHECK(x.n_warns <= 16 + 2);
		xp_free(&x);
	}
	free(g);
}

/* Writes one stanza into b; returns its length. */
static size_t stanza(char *b, size_t cap, size_t i, int installed)
{
	int n = snprintf(b, cap,
			 "Package: pkg-%zu\nStatus: %s\nPriority: optional\nSection: libs\n"
			 "Installed-Size: %zu\nMaintainer: Debian Maintainers <m%zu@debian.org>\n"
			 "Architecture: amd64\nMulti-Arch: same\nSource: src-%zu (1:%zu.0-1)\n"
			 "Version: 1:%zu.0-1+b1\nDepends: libc6 (>= 2.36), zlib1g (>= 1:1.2.0)\n"
			 "Description: synthetic package %zu\n a long description line to make\n"
			 " the stanza about as big as a real one.\n .\n more text here.\n\n",
			 i, installed ? "install ok installed" : "deinstall ok config-files", i, i, i,
			 i, i, i);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void test_big(void)
{
	size_t cap = 200u << 20, o = 0, i = 0, installed = 0, skipped = 0;
	char *b = malloc(cap + 1024);
	struct xp x = { 0 };
	char want_last[64], want_msg[64];
	double t0, t1;

	if (b == NULL)
		exit(1);
	while (o < cap) {
		int inst = i % 4 != 3;
		size_t n = stanza(b + o, 1024, i, inst);

		CHECK(n > 0);
		if (n == 0)
			break;
		o += n;
		if (inst) {
			installed++;
			snprintf(want_last, sizeof(want_last), "pkg-%zu", i);
		} else {
			skipped++;
		}
		i++;
	}
	x.count_only = 1;
	t0 = xp_now();
	parse_buf(&x, "var/lib/dpkg/status", b, o);
	t1 = xp_now();
	printf("dpkg: %zu bytes, %zu stanzas parsed in %.3f s\n", o, i, t1 - t0);
	CHECK(x.seen_pkgs == installed);
	CHECK(x.n_pkgs == 1 && strcmp(x.pkgs[0].name, want_last) == 0);
	snprintf(want_msg, sizeof(want_msg), "skipped %zu packages", skipped);
	CHECK(x.n_warns == 1 && xp_warned(&x, want_msg));
	xp_free(&x);

	/* the 3000-package case the brief names: timing printed, not asserted */
	for (o = 0, i = 0; i < 3000; i++)
		o += stanza(b + o, 1024, i, 1);
	x.count_only = 1;
	t0 = xp_now();
	parse_buf(&x, "var/lib/dpkg/status", b, o);
	t1 = xp_now();
	printf("dpkg: 3000 packages (%zu bytes) parsed in %.2f ms\n", o, (t1 - t0) * 1e3);
	CHECK(x.seen_pkgs == 3000);
	xp_free(&x);
	free(b);
}

static void test_callback_failure(void)
{
	static const char in[] = "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
				 "Package: b\nStatus: install ok installed\nVersion: 1\n";
	struct xp x = { 0 };
	struct cs_emit e = xp_emit(&x);

	x.fail_at = 1;
	x.fail_code = -5;
	CHECK(cs_dpkg_parse(&e, "var/lib/dpkg/status", (const uint8_t *)in, sizeof(in) - 1) == -5);
	CHECK(x.seen_pkgs == 1);
	xp_free(&x);
	e = xp_emit(&x);
	x.fail_at = 2;
	x.fail_code = 1;
	CHECK(cs_dpkg_parse(&e, "var/lib/dpkg/status", (const uint8_t *)in, sizeof(in) - 1) < 0);
	xp_free(&x);
	CHECK(cs_dpkg_parse(NULL, "x", NULL, 0) < 0);
	e = xp_emit(&x);
	CHECK(cs_dpkg_parse(&e, "var/lib/dpkg/status", NULL, 0) == 0);
	xp_free(&x);
}

int main(void)
{
	test_match();
	test_fields();
	test_truncated();
	test_giant();
	test_utf8();
	test_garbage();
	test_callback_failure();
	test_big();
	/* the fixture tests last: cs_test_shared() exits 77 when they are absent */
	test_trivy();
	test_scalibr();
	test_syft();
	return cs_test_done();
}
