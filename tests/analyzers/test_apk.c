/*
 * test_apk.c - the apk analyzer against every fixture in
 * shared/fixtures/pkgdb/apk/ (apk-tools, trivy and osv-scalibr expectations)
 * and against hostile inputs.
 *
 * Not compared, because struct cs_pkg does not carry them or they are the
 * tool's own derivation:
 *   trivy:   Licenses (trivy normalises L:, e.g. "GPL2" -> "GPL-2.0-only";
 *            we keep L: as written, checked against apk-tools and
 *            osv-scalibr instead), SrcVersion (trivy copies Version),
 *            DependsOn (resolved against provides), Digest (from C:).
 *   scalibr: SourceCode.Commit (c:), OS* metadata (from os-release; see
 *            test_os_release.c), PURLType.
 *   apk-tools: descriptions, sizes, depends/provides, reverse dependencies,
 *            install-if, triggers, and directory ownership ("usr is owned
 *            by ..."): we list the files (R:) a package owns, not its
 *            directories.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/analyzers/expect_util.h"
#include "tests/harness.h"
#include "worker/analyzers/apk.h"

#define FX "pkgdb/apk/"

static void parse_buf(struct xp *x, const char *path, const void *data, size_t len)
{
	struct cs_emit e = xp_emit(x);

	CHECK(cs_apk_parse(&e, path, data, len) == 0);
	CHECK(x->bad_strings == 0);
}

static void parse_str(struct xp *x, const char *s)
{
	parse_buf(x, "lib/apk/db/installed", s, strlen(s));
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

static int has_file(const struct xp_pkg *p, const char *f)
{
	size_t i;

	for (i = 0; i < p->n_files; i++)
		if (strcmp(p->files[i], f) == 0)
			return 1;
	return 0;
}

/* The package whose "name-version" is nv. */
static const struct xp_pkg *find_nv(const struct xp *x, const char *nv, size_t nvlen)
{
	size_t i, nl;

	for (i = 0; i < x->n_pkgs; i++) {
		const struct xp_pkg *p = &x->pkgs[i];

		nl = strlen(p->name);
		if (nvlen == nl + 1 + strlen(p->version) && memcmp(nv, p->name, nl) == 0 &&
		    nv[nl] == '-' && memcmp(nv + nl + 1, p->version, nvlen - nl - 1) == 0)
			return p;
	}
	return NULL;
}

static void test_match(void)
{
	CHECK(cs_apk_match("lib/apk/db/installed") == 1);
	CHECK(cs_apk_match("lib/apk/db/installed.new") == 0);
	CHECK(cs_apk_match("/lib/apk/db/installed") == 0);
	CHECK(cs_apk_match("usr/lib/apk/db/installed") == 0);
	CHECK(cs_apk_match("lib/apk/db/scripts.tar") == 0);
	CHECK(cs_apk_match(NULL) == 0);
}

/* ---- trivy ------------------------------------------------------------ */

static void test_trivy(void)
{
	json_t *j = xp_json(FX "trivy/expected.json"), *pkgs, *ep, *files, *jf;
	struct xp x = { 0 };
	size_t i, k, fi = 0;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	if (parse_fixture(&x, FX "trivy/lib/apk/db/installed", "lib/apk/db/installed") != 0)
		goto out;
	pkgs = json_object_get(j, "packages");
	CHECK(x.n_pkgs == json_array_size(pkgs));
	/* trivy's list is in database order, as is ours */
	json_array_foreach(pkgs, i, ep) {
		const struct xp_pkg *p = i < x.n_pkgs ? &x.pkgs[i] : NULL;
		json_t *inst = json_object_get(ep, "InstalledFiles");

		CHECK(p != NULL);
		if (p == NULL)
			break;
		CHECK(p->kind == CS_PKG_APK);
		CHECK_STR(p->name, xp_js(ep, "Name"));
		CHECK_STR(p->version, xp_js(ep, "Version"));
		CHECK_STR(p->origin, xp_js(ep, "SrcName"));
		CHECK_STR(p->maintainer, xp_js(ep, "Maintainer"));
		CHECK_STR(p->arch, xp_js(ep, "Arch"));
		CHECK_STR(p->db_path, "lib/apk/db/installed");
		CHECK(p->n_files == json_array_size(inst));
		json_array_foreach(inst, k, jf) {
			if (k >= p->n_files)
				break;
			CHECK_STR(p->files[k], json_string_value(jf));
		}
	}
	/* "files": every package's files in database order */
	files = json_object_get(j, "files");
	CHECK(json_array_size(files) == x.seen_files);
	for (i = 0; i < x.n_pkgs; i++)
		for (k = 0; k < x.pkgs[i].n_files; k++, fi++)
			CHECK_STR(x.pkgs[i].files[k], json_string_value(json_array_get(files, fi)));
	/* the record without V: */
	CHECK(xp_warned(&x, "invalidPackageWithoutAVersion"));
out:
	xp_free(&x);
	json_decref(j);
}

/* ---- apk-tools -------------------------------------------------------- */

static void check_list_line(const struct xp *x, const char *line, size_t n)
{
	/* "NAME-VERSION ARCH {ORIGIN} (LICENSE) [installed]" */
	const char *sp = memchr(line, ' ', n), *ob, *cb, *op, *cp;
	const struct xp_pkg *p;
	char buf[512];

	CHECK(sp != NULL);
	if (sp == NULL)
		return;
	p = find_nv(x, line, (size_t)(sp - line));
	CHECK(p != NULL);
	ob = memchr(line, '{', n);
	cb = memchr(line, '}', n);
	op = cb ? memchr(cb, '(', (size_t)(line + n - cb)) : NULL;
	cp = op ? memchr(op, ')', (size_t)(line + n - op)) : NULL;
	CHECK(ob && cb && op && cp);
	if (p == NULL || !(ob && cb && op && cp))
		return;
	snprintf(buf, sizeof(buf), "%.*s", (int)(ob - sp - 2), sp + 1);
	CHECK_STR(p->arch, buf);
	snprintf(buf, sizeof(buf), "%.*s", (int)(cb - ob - 1), ob + 1);
	CHECK_STR(p->origin, buf);
	snprintf(buf, sizeof(buf), "%.*s", (int)(cp - op - 1), op + 1);
	CHECK_STR(p->license, buf);
}

static void test_apk_tools(void)
{
	json_t *j = xp_json(FX "apk-tools/expected.json"), *pkgs, *ep, *cases, *c;
	struct xp x = { 0 };
	size_t i, owned = 0, lists = 0;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	if (parse_fixture(&x, FX "apk-tools/lib/apk/db/installed", "lib/apk/db/installed") != 0)
		goto out;
	CHECK(x.n_warns == 0);
	pkgs = json_object_get(j, "packages");
	CHECK(json_array_size(pkgs) == 39);
	CHECK(x.n_pkgs == json_array_size(pkgs));
	json_array_foreach(pkgs, i, ep) {
		const struct xp_pkg *p = xp_find(&x, xp_js(ep, "name"), xp_js(ep, "version"));

		CHECK(p != NULL);
		if (p == NULL)
			continue;
		CHECK_STR(p->arch, xp_js(ep, "arch"));
		CHECK_STR(p->origin, xp_js(ep, "origin"));
		CHECK_STR(p->license, xp_js(ep, "license"));
	}
	cases = json_object_get(j, "cases");
	json_array_foreach(cases, i, c) {
		const char *cmd = xp_js(c, "command"), *out = xp_js(c, "expected_output");
		const char *l, *nl;

		if (cmd == NULL || out == NULL)
			continue;
		for (l = out; *l; l = nl ? nl + 1 : l + strlen(l)) {
			const char *own;
			size_t n;

			nl = strchr(l, '\n');
			n = nl ? (size_t)(nl - l) : strlen(l);
			/* "PATH is owned by NAME-VERSION" */
			own = n > 0 ? strstr(l, " is owned by ") : NULL;
			if (own != NULL && own < l + n) {
				char path[512];
				const char *nv = own + 13;
				const struct xp_pkg *p = find_nv(&x, nv, (size_t)(l + n - nv));
				int is_dir = 0;
				size_t q;

				snprintf(path, sizeof(path), "%.*s", (int)(own - l), l);
				CHECK(p != NULL);
				/* a directory: some package has a file beneath it */
				for (q = 0; q < x.n_pkgs && !is_dir; q++) {
					size_t r, pl = strlen(path);

					for (r = 0; r < x.pkgs[q].n_files; r++)
						if (strncmp(x.pkgs[q].files[r], path, pl) == 0 &&
						    x.pkgs[q].files[r][pl] == '/')
							is_dir = 1;
				}
				if (p && !is_dir) {
					CHECK(has_file(p, path));
					owned++;
				}
			}
			/* "apk list --installed" lines */
			if (strstr(cmd, "list --installed") && n > 12 &&
			    memcmp(l + n - 12, " [installed]", 12) == 0) {
				check_list_line(&x, l, n);
				lists++;
			}
		}
		/* "apk info --all scanelf": the "contains:" block is its files */
		if (strstr(cmd, "info --all scanelf")) {
			const struct xp_pkg *p = xp_find(&x, "scanelf", NULL);
			const char *blk = strstr(out, " contains:\n");
			size_t nf = 0;

			CHECK(p != NULL && blk != NULL);
			if (p && blk) {
				for (l = blk + 11; *l && *l != '\n'; l = nl + 1) {
					nl = strchr(l, '\n');
					if (nl == NULL)
						break;
					CHECK(nf < p->n_files &&
					      strncmp(p->files[nf], l, (size_t)(nl - l)) == 0 &&
					      p->files[nf][nl - l] == '\0');
					nf++;
				}
				CHECK(nf == p->n_files && nf > 0);
			}
		}
		/* yaml --fields all: maintainer and contents */
		if (strstr(cmd, "--format yaml --installed --fields all")) {
			const struct xp_pkg *p = xp_find(&x, "apk-tools", NULL);
			const char *m = strstr(out, "  maintainer: "), *ct = strstr(out, "  contents:\n");
			size_t nf = 0;

			CHECK(p != NULL && m != NULL && ct != NULL);
			if (p && m && ct) {
				m += 14;
				nl = strchr(m, '\n');
				CHECK(nl && p->maintainer &&
				      strlen(p->maintainer) == (size_t)(nl - m) &&
				      strncmp(p->maintainer, m, (size_t)(nl - m)) == 0);
				for (l = ct + 12; strncmp(l, "    - ", 6) == 0; l = nl + 1) {
					nl = strchr(l, '\n');
					if (nl == NULL)
						break;
					CHECK(nf < p->n_files &&
					      strncmp(p->files[nf], l + 6, (size_t)(nl - l - 6)) == 0 &&
					      p->files[nf][nl - l - 6] == '\0');
					nf++;
				}
				CHECK(nf == p->n_files && nf == 2);
			}
		}
	}
	CHECK(owned == 2);          /* sbin/apk and libapk.so; "usr" is a directory */
	CHECK(lists == 39 + 2);     /* list --installed, and --origin apk-tools */
out:
	xp_free(&x);
	json_decref(j);
}

/* ---- osv-scalibr ------------------------------------------------------ */

static void test_scalibr(void)
{
	json_t *j = xp_json(FX "osv-scalibr/expected.json"), *cases, *c, *want, *w;
	size_t i, k;

	CHECK(j != NULL);
	if (j == NULL)
		return;
	cases = json_object_get(j, "cases");
	CHECK(json_array_size(cases) == 8);
	json_array_foreach(cases, i, c) {
		struct xp x = { 0 };
		const char *path = xp_js(c, "path"), *name = xp_js(c, "name");
		char rel[512];

		snprintf(rel, sizeof(rel), FX "osv-scalibr/%s", path);
		/* Location is the path as given to the extractor */
		if (parse_fixture(&x, rel, path) != 0)
			continue;
		want = json_object_get(c, "wantPackages");
		CHECK(x.n_pkgs == json_array_size(want));
		if (x.n_pkgs != json_array_size(want)) {
			fprintf(stderr, "scalibr case %s: %zu packages, expected %zu\n", name,
				x.n_pkgs, json_array_size(want));
			xp_print_warnings(&x, name);
		}
		json_array_foreach(want, k, w) {
			const json_t *m = json_object_get(w, "Metadata");
			const struct xp_pkg *p = xp_find(&x, xp_js(w, "Name"), xp_js(w, "Version"));
			const json_t *lic = json_object_get(w, "Licenses");

			CHECK(p != NULL);
			if (p == NULL)
				continue;
			CHECK_STR(p->name, xp_js(m, "PackageName"));
			CHECK_STR(p->origin, xp_js(m, "OriginName"));
			CHECK_STR(p->maintainer, xp_js(m, "Maintainer"));
			CHECK_STR(p->arch, xp_js(m, "Architecture"));
			CHECK_STR(p->db_path, xp_js(w, "Location"));
			CHECK(json_array_size(lic) == 1);
			CHECK_STR(p->license, json_string_value(json_array_get(lic, 0)));
		}
		if (json_object_get(c, "wantErr") != NULL)
			CHECK(x.n_pkgs == 0 && x.n_warns >= 1);
		if (strcmp(path, "empty") == 0)
			CHECK(x.n_warns == 0);
		xp_free(&x);
	}
	json_decref(j);
}

/* ---- handwritten and hostile ------------------------------------------ */

static void test_files_edges(void)
{
	struct xp x = { 0 };
	const struct xp_pkg *p;

	parse_str(&x, "P:a\nV:1.0-r0\nA:aarch64\nR:top\nF:usr/bin/\nR:x\nR:y\nF:\nR:root\n"
		      "F:etc\nF:etc/conf.d\nR:z\nR:\nR:bad\xff\n\n"
		      "P:b\nV:2\nP:c\nV:3\nR:noprefix\n\n"
		      "P:d\nV:4\nV:5\nnot a field\n\n"
		      "V:6\n\nP:e\n\nP:f\r\nV:7\r\nR:crlf\r\n");
	p = xp_find(&x, "a", "1.0-r0");
	CHECK(p != NULL);
	if (p) {
		CHECK(p->n_files == 5);
		if (p->n_files == 5) {
			CHECK_STR(p->files[0], "top");
			CHECK_STR(p->files[1], "usr/bin/x");
			CHECK_STR(p->files[2], "usr/bin/y");
			CHECK_STR(p->files[3], "root");
			CHECK_STR(p->files[4], "etc/conf.d/z");
		}
		CHECK_STR(p->arch, "aarch64");
		CHECK(p->origin == NULL && p->license == NULL && p->maintainer == NULL);
	}
	CHECK(xp_warned(&x, "package a: 2 file paths left out"));
	CHECK(xp_find(&x, "b", "2") != NULL);
	p = xp_find(&x, "c", "3");
	CHECK(p != NULL && p->n_files == 1 && strcmp(p->files[0], "noprefix") == 0);
	CHECK(xp_warned(&x, "second P: in one record"));
	CHECK(xp_find(&x, "d", "4") != NULL);
	CHECK(xp_warned(&x, "duplicate V: field"));
	CHECK(xp_warned(&x, "not an \"X:value\" line"));
	CHECK(xp_warned(&x, "has no P:"));
	CHECK(xp_warned(&x, "package e (line"));
	p = xp_find(&x, "f", "7");
	CHECK(p != NULL && p->n_files == 1 && strcmp(p->files[0], "crlf") == 0);
	CHECK(x.n_pkgs == 5);
	xp_free(&x);

	parse_buf(&x, "lib/apk/db/installed", "", 0);
	CHECK(x.n_pkgs == 0 && x.n_warns == 0);
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

static void test_hostile(void)
{
	struct xp x = { 0 };
	size_t len, cut, full, n, o, i;
	uint8_t *d = xp_read(FX "apk-tools/lib/apk/db/installed", &len);
	char *s;
	uint64_t seed = 42;

	/* truncations of a real database */
	CHECK(d != NULL);
	if (d != NULL) {
		parse_buf(&x, "lib/apk/db/installed", d, len);
		full = x.n_pkgs;
		xp_free(&x);
		for (cut = 0; cut < len; cut += cut < 2048 ? 1 : 211) {
			parse_buf(&x, "lib/apk/db/installed", d, cut);
			CHECK(x.n_pkgs <= full);
			xp_free(&x);
		}
		free(d);
	}

	/* giant fields */
	s = repeat("P:big\nV:", '1', 8u << 20, "\n");
	parse_str(&x, s);
	CHECK(x.n_pkgs == 0 && xp_warned(&x, "version is not a clean UTF-8 token"));
	free(s);
	xp_free(&x);
	s = repeat("P:lic\nV:1\nL:", 'L', 8u << 20, "\nR:f\n");
	parse_str(&x, s);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].license == NULL && x.pkgs[0].n_files == 1);
	free(s);
	xp_free(&x);
	s = repeat("P:dir\nV:1\nF:", 'd', 8u << 20, "\nR:f\nF:ok\nR:g\n");
	parse_str(&x, s);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].n_files == 1 && strcmp(x.pkgs[0].files[0], "ok/g") == 0);
	CHECK(xp_warned(&x, "1 file path left out"));
	free(s);
	xp_free(&x);

	/* invalid UTF-8: identity refused, free text repaired */
	parse_str(&x, "P:\xc3\x28\nV:1\n\nP:m\nV:1\nm:Timo Ter\xe4s <t@x>\no:or\xffg\nA:x86\x7f_64\n");
	CHECK(x.n_pkgs == 1);
	if (x.n_pkgs == 1) {
		CHECK_STR(x.pkgs[0].maintainer, "Timo Ter\xef\xbf\xbds <t@x>");
		CHECK_STR(x.pkgs[0].origin, "or\xef\xbf\xbdg");
		CHECK(x.pkgs[0].arch == NULL);
	}
	xp_free(&x);

	/* one package with more files than the cap: kept up to it, warned */
	n = 1000000 + 10;
	s = malloc(32 + n * 4);
	if (s == NULL)
		exit(1);
	o = (size_t)snprintf(s, 32, "P:many\nV:1\nF:d\n");
	for (i = 0; i < n; i++) {
		memcpy(s + o, "R:x\n", 4);
		o += 4;
	}
	parse_buf(&x, "lib/apk/db/installed", s, o);
	CHECK(x.n_pkgs == 1 && x.pkgs[0].n_files == 1000000);
	CHECK(xp_warned(&x, "file list cut at 1000000 entries"));
	free(s);
	xp_free(&x);

	/* binary garbage */
	n = 16u << 20;
	d = malloc(n);
	if (d == NULL)
		exit(1);
	for (i = 0; i < n; i += 8) {
		uint64_t r = xp_rand(&seed);

		memcpy(d + i, &r, n - i < 8 ? n - i : 8);
	}
	parse_buf(&x, "lib/apk/db/installed", d, n);
	CHECK(x.n_warns <= 16 + 1);
	CHECK(xp_warned(&x, "further problems not reported"));
	xp_free(&x);
	free(d);
}

static void test_big(void)
{
	size_t cap = 200u << 20, o = 0, i = 0, files = 0;
	char *b = malloc(cap + 1024);
	struct xp x = { 0 };
	char last[64];
	double t0, t1;

	if (b == NULL)
		exit(1);
	while (o < cap) {
		int n = snprintf(b + o, 1024,
				 "C:Q1YCAH7jdO2W816b85sUh9Z8av4Cc=\nP:pkg-%zu\nV:1.%zu-r0\nA:x86_64\n"
				 "S:11705\nI:77824\nT:synthetic\nL:MIT\no:origin-%zu\n"
				 "m:Someone <s@example.org>\nt:1683642107\nF:usr/lib/pkg-%zu\n"
				 "R:libone.so\nZ:Q11Q7hNe8QpDS531guqCdrXBzoA/o=\nR:libtwo.so\n"
				 "a:0:0:755\nZ:Q1kiljhXXH1LlQroHsEJIkPZg2eiw=\n\n",
				 i, i, i, i);

		if (n <= 0 || n >= 1024)
			break;
		o += (size_t)n;
		files += 2;
		snprintf(last, sizeof(last), "pkg-%zu", i);
		i++;
	}
	x.count_only = 1;
	t0 = xp_now();
	parse_buf(&x, "lib/apk/db/installed", b, o);
	t1 = xp_now();
	printf("apk: %zu bytes, %zu packages parsed in %.3f s\n", o, i, t1 - t0);
	CHECK(x.seen_pkgs == i && x.seen_files == files);
	CHECK(x.n_pkgs == 1 && strcmp(x.pkgs[0].name, last) == 0);
	CHECK(x.n_warns == 0);
	xp_free(&x);
	free(b);
}

static void test_callback_failure(void)
{
	static const char in[] = "P:a\nV:1\n\nP:b\nV:1\n";
	struct xp x = { 0 };
	struct cs_emit e = xp_emit(&x);

	x.fail_at = 2;
	x.fail_code = -1;
	CHECK(cs_apk_parse(&e, "lib/apk/db/installed", (const uint8_t *)in, sizeof(in) - 1) == -1);
	xp_free(&x);
	CHECK(cs_apk_parse(NULL, "x", NULL, 0) < 0);
}

int main(void)
{
	test_match();
	test_files_edges();
	test_hostile();
	test_callback_failure();
	test_big();
	test_trivy();
	test_apk_tools();
	test_scalibr();
	return cs_test_done();
}
