/*
 * test_session.c - the fast look-up path returns exactly what the plain one
 * did, and matching through it produces exactly the old findings.
 *
 * A database is built from the real records of ../shared/fixtures/osv/ plus
 * synthetic records made here (deterministic; shared names across records
 * and releases, case and PEP 503 variants, GIT and limit events, versions
 * lists, withdrawn records, aliases shared between records, events that do
 * not parse). Then:
 *  - for every (ecosystem, name) the records mention, and variants of it,
 *    cs_vulndb_session_lookup (with a large, a small and no cache) returns
 *    the same records in the same order as cs_vulndb_lookup, and both agree
 *    with an oracle computed here from the records themselves (the rule in
 *    vulndb.h);
 *  - inventories covering those packages (several binaries per source,
 *    duplicate packages, mangled names, versions on and around every event)
 *    are matched by `match_bench --verify`, which compares cs_scan_match's
 *    output, findings, notes and all, with the matching loop as it was
 *    before the look-up cache (bench/match_bench.c). Skipped (77) when the
 *    bench program is not built.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/vulndb/vulndb.h"
#include "tests/harness.h"
#include "tests/vulndb/vdb_test.h"

#define MAXREC 4096
#define NSYN 900   /* synthetic records; 7919 is prime to it */

static json_t *recs[MAXREC];    /* every record in the database */
static size_t nrecs;

/* ---- records ---- */

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			load_dir(p);
		} else if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0 && nrecs < MAXREC) {
			json_error_t jerr;
			json_t *r = json_load_file(p, JSON_REJECT_DUPLICATES, &jerr);

			CHECK(r != NULL);
			if (r != NULL)
				recs[nrecs++] = r;
		}
	}
	closedir(d);
}

static uint32_t rng = 12345;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

struct eco {
	const char *eco, *range;
	const char *names[6];
};

/* Names differ only in case or separators on purpose (NuGet compares
 * without case, PyPI by PEP 503); Debian names recur across releases. */
static const struct eco ecos[] = {
	{ "Debian:12", "ECOSYSTEM", { "openssl", "glibc", "curl", "zlib", "tar", "bash" } },
	{ "Debian:11", "ECOSYSTEM", { "openssl", "glibc", "curl", "zlib", "tar", "bash" } },
	{ "Alpine:v3.20", "ECOSYSTEM", { "openssl", "musl", "busybox", "zlib", "curl", "apk-tools" } },
	{ "Ubuntu:22.04:LTS", "ECOSYSTEM", { "openssl", "glibc", "curl", "zlib", "tar", "bash" } },
	{ "Ubuntu:Pro:22.04:LTS", "ECOSYSTEM", { "openssl", "glibc", "curl", "zlib", "tar", "bash" } },
	{ "PyPI", "ECOSYSTEM", { "Foo_Bar", "foo-bar", "requests", "Django", "py.yaml", "jinja2" } },
	{ "npm", "SEMVER", { "lodash", "@scope/pkg", "express", "minimist", "qs", "ws" } },
	{ "NuGet", "ECOSYSTEM", { "Newtonsoft.Json", "newtonsoft.json", "System.Text.Json", "NLog",
				  "nlog", "Serilog" } },
	{ "Go", "SEMVER", { "golang.org/x/net", "golang.org/x/text", "github.com/a/b", "stdlib",
			    "github.com/c/d", "golang.org/x/crypto" } },
};
#define NECO (sizeof(ecos) / sizeof(ecos[0]))

static void version(char *out, size_t n, size_t e)
{
	const char *eco = ecos[e].eco;

	if (strncmp(eco, "Debian", 6) == 0 || strncmp(eco, "Ubuntu", 6) == 0)
		snprintf(out, n, "%s%u.%u-%u", rnd(4) == 0 ? "1:" : "", 1 + rnd(3), rnd(4), 1 + rnd(3));
	else if (strncmp(eco, "Alpine", 6) == 0)
		snprintf(out, n, "%u.%u.%u-r%u", 1 + rnd(3), rnd(4), rnd(3), rnd(3));
	else if (strcmp(eco, "Go") == 0)
		snprintf(out, n, "%u.%u.%u", rnd(3), rnd(5), rnd(4));
	else
		snprintf(out, n, "%u.%u.%u", 1 + rnd(3), rnd(5), rnd(4));
}

static json_t *synthetic(unsigned i)
{
	json_t *aff = json_array(), *rec;
	char id[32], alias[32], v1[64], v2[64];
	unsigned k, na = 1 + rnd(3);
	size_t e = rnd(NECO);

	for (k = 0; k < na; k++) {
		json_t *events = json_array(), *ranges = json_array(), *entry;
		size_t ee = e;
		unsigned shape = rnd(10);

		/* an OS record speaks for several releases of its family */
		if (ee <= 1 && rnd(2) == 0)
			ee = 1 - ee;
		if ((ee == 3 || ee == 4) && rnd(2) == 0)
			ee = 7 - ee;
		version(v1, sizeof(v1), ee);
		version(v2, sizeof(v2), ee);
		json_array_append_new(events, json_pack("{s:s}", "introduced", rnd(3) == 0 ? "0" : v1));
		if (shape == 0)
			json_array_append_new(events, json_pack("{s:s}", "last_affected", v2));
		else if (shape == 1)
			json_array_append_new(events, json_pack("{s:s}", "limit", v2));
		else if (shape == 2)
			json_array_append_new(events, json_pack("{s:s}", "fixed", "not a version!"));
		else if (shape != 3)
			json_array_append_new(events, json_pack("{s:s}", "fixed", v2));
		json_array_append_new(ranges, json_pack("{s:s, s:o}", "type", ecos[ee].range,
							"events", events));
		if (rnd(6) == 0)
			json_array_append_new(ranges, json_pack("{s:s, s:s, s:[{s:s}, {s:s}]}", "type",
								"GIT", "repo", "https://example.invalid/r",
								"events", "introduced", "0", "fixed",
								"abcdef0123"));
		entry = json_pack("{s:{s:s, s:s}, s:o}", "package", "ecosystem", ecos[ee].eco, "name",
				  ecos[ee].names[rnd(6)], "ranges", ranges);
		if (rnd(4) == 0)
			json_object_set_new(entry, "versions", json_pack("[s, s]", v1, v2));
		if (rnd(3) == 0)
			json_object_set_new(entry, "ecosystem_specific",
					    json_pack("{s:s}", "urgency", rnd(2) ? "low" : "unimportant"));
		json_array_append_new(aff, entry);
	}
	snprintf(id, sizeof(id), "SYNT-%05u", i);
	/* every alias is shared by three records: one finding per vulnerability */
	snprintf(alias, sizeof(alias), "CVE-2099-%05u", i / 3);
	rec = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:[{s:s, s:s}], s:o}", "schema_version",
			"1.6.0", "id", id, "modified", "2025-01-02T03:04:05Z", "aliases", alias,
			"summary", "synthetic", "details", "made by tests/vulndb/test_session.c",
			"severity", "type", "CVSS_V3", "score",
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "affected", aff);
	if (i % 17 == 0)
		json_object_set_new(rec, "withdrawn", json_string("2025-01-03T00:00:00Z"));
	if (i % 5 == 0)
		json_object_set_new(rec, "upstream", json_pack("[s]", alias));
	return rec;
}

/* ---- the look-up oracle and comparisons ---- */

struct ids {
	char (*v)[300];
	size_t n, cap;
	json_t *recs;   /* the records, in order */
};

static int collect(void *ctx, json_t *rec)
{
	struct ids *x = ctx;

	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 64;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		if (x->v == NULL)
			abort();
	}
	snprintf(x->v[x->n++], sizeof(x->v[0]), "%s", json_string_value(json_object_get(rec, "id")));
	json_array_append(x->recs, rec);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void oracle(struct ids *x, const char *eco, const char *name)
{
	char want[CS_VULNDB_MAX_NAME + 1], base[CS_VULNDB_MAX_NAME + 1];
	char k[CS_VULNDB_MAX_NAME + 1], b[CS_VULNDB_MAX_NAME + 1];
	int exact = strchr(eco, ':') != NULL;

	if (cs_vulndb_package_key(want, sizeof(want), eco, name) != 0 ||
	    cs_vulndb_ecosystem_base(base, sizeof(base), eco) != 0)
		return;
	for (size_t i = 0; i < nrecs; i++) {
		json_t *e;
		size_t j;

		json_array_foreach(json_object_get(recs[i], "affected"), j, e) {
			const char *re = json_string_value(json_object_get(json_object_get(e, "package"),
									  "ecosystem"));
			const char *rn = json_string_value(json_object_get(json_object_get(e, "package"),
									  "name"));

			if (re == NULL || rn == NULL || cs_vulndb_package_key(k, sizeof(k), re, rn) != 0 ||
			    cs_vulndb_ecosystem_base(b, sizeof(b), re) != 0)
				continue;
			if ((exact ? strcmp(re, eco) == 0 : strcmp(b, base) == 0) && strcmp(k, want) == 0) {
				collect(x, recs[i]);
				break;
			}
		}
	}
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(x->v[0]), cmp_id);
}

static size_t lookups_checked;
static json_t *done_keys;   /* "ecosystem\nname" of the keys already compared */

static void check_key(struct cs_vulndb *db, struct cs_vulndb_session **ses, size_t nses,
		      const char *eco, const char *name)
{
	struct ids want = { 0 }, plain = { 0 };
	char k[2100];
	size_t s, i;

	snprintf(k, sizeof(k), "%s\n%s", eco, name);
	if (json_object_get(done_keys, k) != NULL)
		return;
	json_object_set_new(done_keys, k, json_true());
	want.recs = json_array();
	plain.recs = json_array();
	oracle(&want, eco, name);
	CHECK(cs_vulndb_lookup(db, eco, name, collect, &plain) == 0);
	CHECK(plain.n == want.n);
	for (i = 0; i < plain.n && i < want.n; i++)
		CHECK_STR(plain.v[i], want.v[i]);
	for (s = 0; s < nses; s++) {
		struct ids got = { 0 };

		got.recs = json_array();
		CHECK(cs_vulndb_session_lookup(ses[s], eco, name, collect, &got) == 0);
		CHECK(got.n == plain.n);
		for (i = 0; i < got.n && i < plain.n; i++)
			CHECK_STR(got.v[i], plain.v[i]);
		CHECK(json_equal(got.recs, plain.recs));
		free(got.v);
		json_decref(got.recs);
	}
	lookups_checked++;
	free(want.v);
	free(plain.v);
	json_decref(want.recs);
	json_decref(plain.recs);
}

static int stop_after_one(void *ctx, json_t *rec)
{
	(void)rec;
	return ++*(int *)ctx == 1 ? 42 : 0;
}

static void check_lookups(struct cs_vulndb *db)
{
	struct cs_vulndb_session *ses[3] = { NULL, NULL, NULL };
	struct cs_vulndb_session_stats st;
	char mangled[600];
	int calls = 0;

	CHECK(cs_vulndb_session_open(&ses[0], db, 0) == 0);
	CHECK(cs_vulndb_session_open(&ses[1], db, 20000) == 0);   /* empties often */
	CHECK(cs_vulndb_session_open(&ses[2], db, 1) == 0);       /* caches nothing */
	if (ses[0] == NULL || ses[1] == NULL || ses[2] == NULL)
		return;
	done_keys = json_object();
	{
		for (size_t i = 0; i < nrecs; i++) {
			json_t *e;
			size_t j;

			json_array_foreach(json_object_get(recs[i], "affected"), j, e) {
				const char *re = json_string_value(
					json_object_get(json_object_get(e, "package"), "ecosystem"));
				const char *rn = json_string_value(
					json_object_get(json_object_get(e, "package"), "name"));
				char base[CS_VULNDB_MAX_NAME + 1];
				size_t l;

				if (re == NULL || rn == NULL)
					continue;
				check_key(db, ses, 3, re, rn);
				if (cs_vulndb_ecosystem_base(base, sizeof(base), re) == 0 &&
				    strcmp(base, re) != 0)
					check_key(db, ses, 3, base, rn);
				/* case and separator variants: equal for PyPI only */
				snprintf(mangled, sizeof(mangled), "%s", rn);
				for (l = 0; mangled[l] != '\0'; l++)
					if (mangled[l] >= 'a' && mangled[l] <= 'z')
						mangled[l] = (char)(mangled[l] - 'a' + 'A');
					else if (mangled[l] == '-')
						mangled[l] = '_';
				check_key(db, ses, 3, re, mangled);
			}
		}
	}
	json_decref(done_keys);
	done_keys = json_object();
	check_key(db, ses, 3, "Debian:12", "no-such-package");
	check_key(db, ses, 3, "NoSuchEcosystem", "openssl");

	/* A non-zero return stops the walk and is returned, as before. */
	CHECK(cs_vulndb_session_lookup(ses[0], "Debian", "openssl", stop_after_one, &calls) == 42);
	CHECK(calls == 1);

	cs_vulndb_session_stats(ses[0], &st);
	printf("session: %llu look-ups, %llu records, %llu parsed, %llu from the cache\n",
	       (unsigned long long)st.lookups, (unsigned long long)st.records,
	       (unsigned long long)st.parsed, (unsigned long long)st.cache_hits);
	CHECK(st.parsed <= nrecs);                   /* each record parsed at most once */
	CHECK(st.cache_hits > st.parsed);            /* and served many times */
	CHECK(st.parsed + st.cache_hits == st.records);
	CHECK(st.evictions == 0);
	cs_vulndb_session_stats(ses[1], &st);
	CHECK(st.evictions > 0 && st.cached_bytes <= 20000);
	cs_vulndb_session_stats(ses[2], &st);
	CHECK(st.cache_hits == 0 && st.cached == 0 && st.parsed == st.records);
	for (int i = 0; i < 3; i++)
		cs_vulndb_session_close(ses[i]);
	json_decref(done_keys);
}

/* ---- inventories for match_bench --verify ---- */

static json_t *pkg(const char *kind, const char *name, const char *ver)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "name", name, "version", ver, "db",
			 "test");
}

/* Versions worth trying for an entry: every event and listed version, and
 * a neighbour of each. */
static void add_versions(json_t *out, json_t *entry)
{
	json_t *r, *ev, *v;
	size_t i, j, k;
	const char *key;

	json_array_foreach(json_object_get(entry, "ranges"), i, r)
		json_array_foreach(json_object_get(r, "events"), j, ev)
			json_object_foreach(ev, key, v) {
				char buf[600];

				if (!json_is_string(v) || strcmp(json_string_value(v), "0") == 0)
					continue;
				json_array_append(out, v);
				snprintf(buf, sizeof(buf), "%s.1", json_string_value(v));
				json_array_append_new(out, json_string(buf));
			}
	json_array_foreach(json_object_get(entry, "versions"), k, v)
		json_array_append(out, v);
}

static const char *kind_of(const char *eco)
{
	static const char *const map[][2] = {
		{ "Debian", "dpkg" }, { "Ubuntu", "dpkg" }, { "Alpine", "apk" }, { "Red Hat", "rpm" },
		{ "PyPI", "pypi" }, { "npm", "npm" }, { "Go", "go" }, { "Maven", "maven" },
		{ "crates.io", "cargo" }, { "RubyGems", "gem" }, { "NuGet", "nuget" },
		{ "Packagist", "composer" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(eco, map[i][0], strlen(map[i][0])) == 0 &&
		    (eco[strlen(map[i][0])] == '\0' || eco[strlen(map[i][0])] == ':'))
			return map[i][1];
	return NULL;
}

/* Packages for every entry of every record whose ecosystem is os_base or a
 * language; at most max_per_entry versions each. */
static json_t *inventory(json_t *os, const char *os_base, size_t max_per_entry, int lang)
{
	json_t *pkgs = json_array(), *e;
	size_t i, j, k;

	for (i = 0; i < nrecs; i++) {
		json_array_foreach(json_object_get(recs[i], "affected"), j, e) {
			const char *re = json_string_value(json_object_get(json_object_get(e, "package"),
									  "ecosystem"));
			const char *rn = json_string_value(json_object_get(json_object_get(e, "package"),
									  "name"));
			const char *kind = re != NULL ? kind_of(re) : NULL;
			json_t *vs = json_array(), *v;
			int os_kind = kind != NULL && (strcmp(kind, "dpkg") == 0 ||
						      strcmp(kind, "apk") == 0 || strcmp(kind, "rpm") == 0);

			if (kind == NULL || rn == NULL || (!os_kind && !lang) ||
			    (os_kind && strncmp(re, os_base, strlen(os_base)) != 0)) {
				json_decref(vs);
				continue;
			}
			add_versions(vs, e);
			json_array_foreach(vs, k, v) {
				json_t *p;

				if (k >= max_per_entry)
					break;
				if (strcmp(kind, "dpkg") == 0) {
					char bin[600];

					/* binaries of one source, and a binNMU */
					snprintf(bin, sizeof(bin), "lib%s%zu", rn, k % 2);
					p = pkg(kind, bin, json_string_value(v));
					json_object_set_new(p, "source_name", json_string(rn));
					json_object_set(p, "source_version", v);
				} else if (strcmp(kind, "apk") == 0) {
					p = pkg(kind, "sub-package", json_string_value(v));
					json_object_set_new(p, "origin", json_string(rn));
				} else if (strcmp(kind, "maven") == 0) {
					p = pkg(kind, rn, json_string_value(v));
				} else if (strcmp(kind, "go") == 0) {
					char gv[600];

					snprintf(gv, sizeof(gv), "v%s", json_string_value(v));
					p = pkg(kind, rn, gv);
				} else {
					p = pkg(kind, rn, json_string_value(v));
				}
				json_array_append_new(pkgs, p);
				/* the same package twice (two layers' copies): findings
				 * of equal packages are merged across them */
				if (k == 0 && j == 0 && i % 7 == 0)
					json_array_append_new(pkgs, json_deep_copy(p));
			}
			json_decref(vs);
		}
	}
	/* an installed version that cannot be ordered */
	json_array_append_new(pkgs, pkg("pypi", "requests", "not/a/version"));
	json_array_append_new(pkgs, pkg("npm", "lodash", "x.y.z"));
	return json_pack("{s:o, s:o}", "os", os, "packages", pkgs);
}

static int verify(const char *bench, const char *dbp, const char *dir, const char *tag,
		  json_t *inv)
{
	char path[4096];
	char *argv[] = { (char *)bench, "--verify", (char *)dbp, path, NULL };
	int rc;

	snprintf(path, sizeof(path), "%s/inv-%s.json", dir, tag);
	CHECK(json_dump_file(inv, path, JSON_COMPACT) == 0);
	printf("%s (%zu packages): ", tag, json_array_size(json_object_get(inv, "packages")));
	fflush(stdout);
	rc = vt_run(argv, 1);
	json_decref(inv);
	return rc;
}

/*
 * rpm through both its names: the fixture's Red Hat records rewritten to
 * the release streams a RHEL 8 image looks up (`Red Hat:enterprise_linux:8`
 * covers `...::appstream` and `...::baseos`), each entry doubled under a
 * binary name ("python3-X") so one record reaches a package through two
 * keys and two rows. Packages: the binary at a version below the fixes (with
 * its source rpm X) and X itself at a version above them.
 */
static void redhat_case(const char *bench, const char *dir)
{
	static const char *const streams[] = {"appstream", "baseos"};
	char rdir[4200], rdb[4300], path[4400];
	struct cs_vulndb_import_stats st = { 0 };
	const char *src[1] = { rdir };
	json_t *pkgs = json_array(), *seen = json_object();
	size_t i, k, nw = 0;

	snprintf(rdir, sizeof(rdir), "%s/redhat", dir);
	snprintf(rdb, sizeof(rdb), "%s/redhat.db", dir);
	CHECK(mkdir(rdir, 0700) == 0);
	for (i = 0; i < nrecs; i++) {
		json_t *r = json_deep_copy(recs[i]), *out = json_array(), *e;
		char *text;
		int any = 0;

		json_array_foreach(json_object_get(r, "affected"), k, e) {
			json_t *pkg = json_object_get(e, "package"), *a, *b;
			const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
			const char *name = json_string_value(json_object_get(pkg, "name"));
			char bin[600], neweco[64];

			if (eco == NULL || name == NULL || strncmp(eco, "Red Hat:", 8) != 0)
				continue;
			any = 1;
			snprintf(neweco, sizeof(neweco), "Red Hat:enterprise_linux:8::%s", streams[k % 2]);
			snprintf(bin, sizeof(bin), "python3-%.500s", name);
			a = json_deep_copy(e);
			json_object_set_new(json_object_get(a, "package"), "ecosystem", json_string(neweco));
			b = json_deep_copy(a);
			json_object_set_new(json_object_get(b, "package"), "name", json_string(bin));
			json_array_append_new(out, a);
			json_array_append_new(out, b);
			if (json_object_get(seen, name) == NULL) {
				char srpm[600], srpm_hi[600];

				json_object_set_new(seen, name, json_true());
				snprintf(srpm, sizeof(srpm), "%.500s-0.1-1.el8.src.rpm", name);
				snprintf(srpm_hi, sizeof(srpm_hi), "%.500s-99.0-1.el8.src.rpm", name);
				json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "kind",
								      "rpm", "name", bin, "version", "0.1-1.el8", "epoch",
								      0, "source_rpm", srpm, "db", "test"));
				json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "rpm",
								      "name", name, "version", "99.0-1.el8",
								      "source_rpm", srpm_hi, "db", "test"));
			}
		}
		if (any) {
			json_object_set_new(r, "affected", out);
			snprintf(path, sizeof(path), "%s/r%zu.json", rdir, nw++);
			text = json_dumps(r, 0);
			CHECK(text != NULL && vt_write(path, text, strlen(text)) == 0);
			free(text);
		} else {
			json_decref(out);
		}
		json_decref(r);
	}
	CHECK(nw > 0);
	CHECK(cs_vulndb_import(rdb, src, 1, &st) == 0);
	CHECK(verify(bench, rdb, dir, "redhat8",
		     json_pack("{s:{s:s, s:s}, s:o}", "os", "id", "rhel", "version_id", "8.6", "packages",
			       pkgs)) == 0);
	json_decref(seen);
}

int main(void)
{
	const char *shared = cs_test_shared();
	const char *build = getenv("CS_BUILD_DIR");
	char dir[4096], dbp[4200], zip[4200], fx[4200], bench[4200];
	struct cs_vulndb_import_stats st = { 0 };
	struct cs_vulndb *db = NULL;
	struct archive *a;
	const char *srcs[2];
	size_t nfix, i;
	struct stat sb;
	int have_bench;

	snprintf(fx, sizeof(fx), "%s/fixtures/osv/records", shared);
	load_dir(fx);
	nfix = nrecs;
	CHECK(nfix > 100 && nfix + NSYN <= MAXREC);
	if (nfix + NSYN > MAXREC)
		return cs_test_done();
	vt_tmpdir(dir, sizeof(dir), "session");
	snprintf(dbp, sizeof(dbp), "%s/v.db", dir);
	snprintf(zip, sizeof(zip), "%s/syn.zip", dir);
	a = vt_zip_open(zip);
	CHECK(a != NULL);
	for (i = 0; i < NSYN; i++)
		recs[nfix + i] = synthetic((unsigned)i);
	nrecs = nfix + NSYN;
	/* Written out of id order, so rowid order is not id order and the
	 * look-ups' ordering is tested. */
	for (i = 0; a != NULL && i < NSYN; i++) {
		size_t k = (i * 7919) % NSYN;
		char *text = json_dumps(recs[nfix + k], JSON_INDENT(1));
		char name[64];

		snprintf(name, sizeof(name), "SYNT-%05zu.json", k);
		CHECK(text != NULL && vt_zip_add(a, name, text, strlen(text)) == 0);
		free(text);
	}
	CHECK(a != NULL && vt_zip_close(a) == 0);
	srcs[0] = fx;
	srcs[1] = zip;
	CHECK(cs_vulndb_import(dbp, srcs, 2, &st) == 0);
	/* PYSEC-2023-74 is in the fixtures twice (same record) */
	CHECK(st.records == nrecs - 1 || st.records == nrecs);
	CHECK(cs_vulndb_open(&db, dbp, 1) == 0);
	if (db != NULL) {
		check_lookups(db);
		printf("%zu look-ups compared\n", lookups_checked);
		CHECK(lookups_checked > 300);
		cs_vulndb_close(db);
	}

	snprintf(bench, sizeof(bench), "%s/bench/match_bench", build != NULL ? build : ".");
	have_bench = stat(bench, &sb) == 0;
	if (have_bench) {
		CHECK(verify(bench, dbp, dir, "debian12", inventory(json_pack("{s:s, s:s}", "id",
			     "debian", "version_id", "12"), "Debian:12", 4, 0)) == 0);
		CHECK(verify(bench, dbp, dir, "debian9", inventory(json_pack("{s:s, s:s}", "id",
			     "debian", "version_id", "9"), "Debian:9", 6, 0)) == 0);
		CHECK(verify(bench, dbp, dir, "alpine", inventory(json_pack("{s:s, s:s}", "id",
			     "alpine", "version_id", "3.20.1"), "Alpine:v3.20", 4, 0)) == 0);
		CHECK(verify(bench, dbp, dir, "ubuntu", inventory(json_pack("{s:s, s:s}", "id",
			     "ubuntu", "version_id", "22.04"), "Ubuntu:22.04", 4, 0)) == 0);
		CHECK(verify(bench, dbp, dir, "unknown-os", inventory(json_pack("{s:s, s:s}", "id",
			     "plan9", "version_id", "4"), "Plan9", 3, 1)) == 0);
		redhat_case(bench, dir);
		/* More versions per entry: more packages per source name. */
		CHECK(verify(bench, dbp, dir, "ubuntu-large", inventory(json_pack("{s:s, s:s}", "id",
			     "ubuntu", "version_id", "22.04"), "Ubuntu:22.04", 8, 0)) == 0);
	}
	vt_rm_rf(dir);
	for (i = 0; i < nrecs; i++)
		json_decref(recs[i]);
	if (cs_test_failures == 0 && !have_bench) {
		cs_test_done();
		printf("SKIP: %s is not built: the end-to-end comparison did not run\n", bench);
		return 77;
	}
	return cs_test_done();
}
