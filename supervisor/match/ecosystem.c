/*
 * ecosystem.c - from an image's OS identity and a package record to the OSV
 * ecosystem and names its advisories use. The reasons for each mapping are
 * in docs/matching.md ("Ecosystems" and "What is looked up").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/match/match_internal.h"

const char *cs_match_jstr(const json_t *o, const char *k)
{
	json_t *v;

	if (o == NULL || !json_is_object(o))
		return NULL;
	v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int put(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int put(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(out, n, fmt, ap);
	va_end(ap);

	if (w < 0 || (size_t)w >= n)
		return cs_err_set(CS_ELIMIT, "ecosystem name longer than %zu bytes", n);
	return 0;
}

/* The leading run of digits of s ("12" of "12.5"), at most cap-1 bytes;
 * 0 when s does not start with a digit or the run is too long. */
static size_t major_of(char *m, size_t cap, const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; is_digit((unsigned char)s[i]); i++)
		if (i + 1 >= cap)
			return 0;
	if (i == 0)
		return 0;
	memcpy(m, s, i);
	m[i] = '\0';
	return i;
}

/* Debian's codenames by release number (distro-info-data's debian.csv), for
 * testing images that carry no VERSION_ID. */
static const char *const debian_codenames[][2] = {
	{"buzz", "1.1"}, {"rex", "1.2"}, {"bo", "1.3"}, {"hamm", "2.0"}, {"slink", "2.1"},
	{"potato", "2.2"}, {"woody", "3.0"}, {"sarge", "3.1"}, {"etch", "4"}, {"lenny", "5"},
	{"squeeze", "6"}, {"wheezy", "7"}, {"jessie", "8"}, {"stretch", "9"}, {"buster", "10"},
	{"bullseye", "11"}, {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"}, {"duke", "15"},
};

static int os_debian(char *out, size_t n, const char *ver, const char *codename, const char *pretty)
{
	char m[16];
	size_t k;

	if (major_of(m, sizeof(m), ver) > 0)
		return put(out, n, "Debian:%s", m);
	if (codename != NULL) {
		for (k = 0; k < sizeof(debian_codenames) / sizeof(debian_codenames[0]); k++)
			if (strcmp(codename, debian_codenames[k][0]) == 0)
				return put(out, n, "Debian:%s", debian_codenames[k][1]);
	}
	return cs_err_set(CS_EUNSUPPORTED, "Debian without a release number (%s): OSV data covers numbered releases only",
			  pretty != NULL ? pretty : codename != NULL ? codename : "no VERSION_ID");
}

static int os_ubuntu(char *out, size_t n, const char *ver, const char *pretty)
{
	size_t i, j;
	int lts, yy;

	/* YY.MM, as Ubuntu's releases are numbered. */
	for (i = 0; ver != NULL && is_digit((unsigned char)ver[i]); i++)
		;
	if (ver == NULL || i == 0 || i > 4 || ver[i] != '.')
		return cs_err_set(CS_EUNSUPPORTED, "Ubuntu with an unexpected VERSION_ID \"%.40s\"", ver ? ver : "");
	for (j = i + 1; is_digit((unsigned char)ver[j]); j++)
		;
	if (j != i + 3 || ver[j] != '\0')
		return cs_err_set(CS_EUNSUPPORTED, "Ubuntu with an unexpected VERSION_ID \"%.40s\"", ver);
	/*
	 * LTS releases are the even years' April releases since 8.04 (6.06 was
	 * the one exception, and says so in its name).
	 */
	yy = 0;
	for (j = 0; j < i; j++)
		yy = yy * 10 + (ver[j] - '0');
	lts = (pretty != NULL && strstr(pretty, " LTS") != NULL) ||
	      (ver[i + 1] == '0' && ver[i + 2] == '4' && yy % 2 == 0 && yy >= 8);
	return put(out, n, "Ubuntu:%s%s", ver, lts ? ":LTS" : "");
}

static int os_alpine(char *out, size_t n, const char *ver, const char *pretty)
{
	char b[32];
	size_t i, dots = 0;

	if (ver == NULL || (pretty != NULL && strstr(pretty, "edge") != NULL) || strchr(ver, '_') != NULL)
		return cs_err_set(CS_EUNSUPPORTED, "Alpine edge or pre-release (\"%.40s\"): no OSV release branch",
				  ver ? ver : pretty ? pretty : "");
	/* 3.19.1 -> v3.19 */
	for (i = 0; ver[i] != '\0' && i + 1 < sizeof(b); i++) {
		if (ver[i] == '.' && ++dots == 2)
			break;
		if (!is_digit((unsigned char)ver[i]) && ver[i] != '.')
			return cs_err_set(CS_EUNSUPPORTED, "Alpine with an unexpected VERSION_ID \"%.40s\"", ver);
		b[i] = ver[i];
	}
	b[i] = '\0';
	if (dots == 0 && strchr(b, '.') == NULL)
		return cs_err_set(CS_EUNSUPPORTED, "Alpine with an unexpected VERSION_ID \"%.40s\"", ver);
	return put(out, n, "Alpine:v%s", b);
}

static int os_major(char *out, size_t n, const char *base, const char *ver, const char *what)
{
	char m[16];

	if (major_of(m, sizeof(m), ver) == 0)
		return cs_err_set(CS_EUNSUPPORTED, "%s without a usable VERSION_ID", what);
	return put(out, n, "%s%s", base, m);
}

/* "SUSE Linux Enterprise Server 15 SP5" -> "SUSE:Linux Enterprise Server 15 SP5" */
static int os_suse(char *out, size_t n, const char *prefix, const char *pretty)
{
	size_t pl = strlen(prefix);

	if (pretty == NULL || strncmp(pretty, prefix, pl) != 0 || pretty[pl] != ' ' || pretty[pl + 1] == '\0')
		return cs_err_set(CS_EUNSUPPORTED, "%s without a PRETTY_NAME \"%s ...\" to name its OSV ecosystem",
				  prefix, prefix);
	return put(out, n, "%s:%s", prefix, pretty + pl + 1);
}

int cs_match_ecosystem_for_os(char *out, size_t n, const json_t *os)
{
	const char *id, *ver, *pretty, *codename, *like;

	if (out == NULL || n == 0)
		return cs_err_set(CS_EINVAL, "no output buffer");
	out[0] = '\0';
	if (os == NULL || !json_is_object(os))
		return cs_err_set(CS_EUNSUPPORTED, "unknown operating system: no os-release found");
	id = cs_match_jstr(os, "id");
	ver = cs_match_jstr(os, "version_id");
	pretty = cs_match_jstr(os, "pretty_name");
	codename = cs_match_jstr(os, "codename");
	like = cs_match_jstr(os, "id_like");
	if (id == NULL)
		return cs_err_set(CS_EUNSUPPORTED, "operating system without an ID");
	if (strcmp(id, "debian") == 0)
		return os_debian(out, n, ver, codename, pretty);
	if (strcmp(id, "ubuntu") == 0)
		return os_ubuntu(out, n, ver, pretty);
	if (strcmp(id, "alpine") == 0)
		return os_alpine(out, n, ver, pretty);
	if (strcmp(id, "rocky") == 0)
		return os_major(out, n, "Rocky Linux:", ver, "Rocky Linux");
	if (strcmp(id, "almalinux") == 0)
		return os_major(out, n, "AlmaLinux:", ver, "AlmaLinux");
	if (strcmp(id, "rhel") == 0)
		return os_major(out, n, "Red Hat:enterprise_linux:", ver, "Red Hat Enterprise Linux");
	if (strcmp(id, "sles") == 0 || strcmp(id, "sled") == 0 || strcmp(id, "sles_sap") == 0 ||
	    strcmp(id, "sle-micro") == 0 || strcmp(id, "sle_hpc") == 0 || strcmp(id, "suse") == 0)
		return os_suse(out, n, "SUSE", pretty);
	if (strncmp(id, "opensuse", 8) == 0)
		return os_suse(out, n, "openSUSE", pretty);
	if (strcmp(id, "wolfi") == 0)
		return put(out, n, "Wolfi");
	if (strcmp(id, "chainguard") == 0)
		return put(out, n, "Chainguard");
	return cs_err_set(CS_EUNSUPPORTED, "operating system \"%.64s\"%s%.64s%s is not covered by OSV data", id,
			  like ? " (like " : "", like ? like : "", like ? ")" : "");
}

/* ------------------------------------------------------------------ */

static enum cs_match_family family_of(const char *eco)
{
	static const struct {
		const char *base;
		enum cs_match_family f;
	} t[] = {
		{"Debian", CS_FAM_DEBIAN}, {"Ubuntu", CS_FAM_UBUNTU}, {"Alpine", CS_FAM_ALPINE},
		{"Wolfi", CS_FAM_WOLFI}, {"Chainguard", CS_FAM_CHAINGUARD}, {"Rocky Linux", CS_FAM_ROCKY},
		{"AlmaLinux", CS_FAM_ALMA}, {"Red Hat", CS_FAM_REDHAT}, {"SUSE", CS_FAM_SUSE},
		{"openSUSE", CS_FAM_OPENSUSE},
	};
	size_t k, l;

	if (eco == NULL)
		return CS_FAM_NONE;
	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		l = strlen(t[k].base);
		if (strncmp(eco, t[k].base, l) == 0 && (eco[l] == '\0' || eco[l] == ':'))
			return t[k].f;
	}
	return CS_FAM_LANG;
}

int cs_match_ecosystem_covers(const char *key, const char *rec)
{
	size_t l;

	if (key == NULL || rec == NULL)
		return 0;
	l = strlen(key);
	return strncmp(key, rec, l) == 0 && (rec[l] == '\0' || rec[l] == ':');
}

/*
 * SUSE files a package under every product that ships it ("Linux Enterprise
 * Server 15 SP5", "... 15 SP5-LTSS", "Linux Enterprise Module for Basesystem
 * 15 SP5"): an entry applies when its product ends with the image's release
 * words ("15 SP5"), optionally followed by a '-' support-phase suffix.
 */
static int suse_applies(const char *target, const char *rec)
{
	const char *rel = NULL, *p;
	size_t rl, pl;

	if (strncmp(rec, "SUSE:", 5) != 0)
		return 0;
	/* The release words start at the first word that starts with a digit. */
	for (p = target + 5; *p != '\0'; p++)
		if (p[-1] == ' ' && is_digit((unsigned char)*p)) {
			rel = p;
			break;
		}
	if (rel == NULL)
		return 0;
	rl = strlen(rel);
	for (p = rec + 5; (p = strstr(p, rel)) != NULL; p++) {
		pl = (size_t)(p - rec);
		if (rec[pl - 1] == ' ' && (p[rl] == '\0' || p[rl] == '-'))
			return 1;
	}
	return 0;
}

int cs_match_ecosystem_applies(const char *target, const char *rec)
{
	enum cs_match_family f;

	if (target == NULL || rec == NULL)
		return 0;
	if (strcmp(target, rec) == 0)
		return 1;
	f = family_of(target);
	switch (f) {
	case CS_FAM_UBUNTU:
		/* Ubuntu:R <-> Ubuntu:Pro:R (ESM fixes for the same release) */
		if (strncmp(target, "Ubuntu:Pro:", 11) == 0)
			return strncmp(rec, "Ubuntu:", 7) == 0 && strcmp(rec + 7, target + 11) == 0;
		return strncmp(rec, "Ubuntu:Pro:", 11) == 0 && strcmp(rec + 11, target + 7) == 0;
	case CS_FAM_REDHAT:
		/* Red Hat:enterprise_linux:9 covers ...:9::appstream, ::baseos, ::crb */
		return cs_match_ecosystem_covers(target, rec);
	case CS_FAM_SUSE:
		return suse_applies(target, rec);
	case CS_FAM_OPENSUSE:
		return strncmp(rec, target, strlen(target)) == 0 && strcmp(rec + strlen(target), " NonFree") == 0;
	case CS_FAM_LANG:
		/* Maven:https://..., Packagist:https://packages.drupal.org/8 */
		return cs_match_ecosystem_covers(target, rec);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */

static const struct lang {
	const char *kinds[4];
	const char *eco;
	enum cs_match_names names;
} langs[] = {
	{{"pypi", "python", "pip", NULL}, "PyPI", CS_NAMES_PEP503},
	{{"npm", "node", "yarn", "pnpm"}, "npm", CS_NAMES_EXACT},
	{{"go", "gomod", "gobinary", NULL}, "Go", CS_NAMES_EXACT},
	{{"maven", "jar", "java", "gradle"}, "Maven", CS_NAMES_EXACT},
	{{"cargo", "crates.io", "rust", NULL}, "crates.io", CS_NAMES_EXACT},
	{{"gem", "rubygems", "ruby", NULL}, "RubyGems", CS_NAMES_EXACT},
	{{"nuget", "dotnet", NULL, NULL}, "NuGet", CS_NAMES_NOCASE},
	{{"composer", "packagist", "php", NULL}, "Packagist", CS_NAMES_NOCASE},
	{{"pub", "dart", NULL, NULL}, "Pub", CS_NAMES_EXACT},
	{{"hex", "erlang", "elixir", NULL}, "Hex", CS_NAMES_EXACT},
	{{"cran", NULL, NULL, NULL}, "CRAN", CS_NAMES_EXACT},
	{{"hackage", "haskell", NULL, NULL}, "Hackage", CS_NAMES_EXACT},
	{{"swift", "swifturl", NULL, NULL}, "SwiftURL", CS_NAMES_EXACT},
};

static int is_sep(int c) { return c == '-' || c == '_' || c == '.'; }

/* PEP 503: lower case, every run of -_. becomes one '-'. */
static void pep503(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	while (*s != '\0' && o + 1 < cap) {
		if (is_sep((unsigned char)*s)) {
			while (is_sep((unsigned char)*s))
				s++;
			out[o++] = '-';
			continue;
		}
		out[o++] = (char)lower((unsigned char)*s++);
	}
	out[o] = '\0';
}

int cs_match_names_equal(enum cs_match_names rule, const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	if (rule == CS_NAMES_NOCASE) {
		for (; *a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++)
			;
		return *a == '\0' && *b == '\0';
	}
	if (rule == CS_NAMES_PEP503) {
		while (*a != '\0' && *b != '\0') {
			if (is_sep((unsigned char)*a) && is_sep((unsigned char)*b)) {
				while (is_sep((unsigned char)*a))
					a++;
				while (is_sep((unsigned char)*b))
					b++;
				continue;
			}
			if (lower((unsigned char)*a) != lower((unsigned char)*b))
				return 0;
			a++;
			b++;
		}
		return *a == '\0' && *b == '\0';
	}
	return strcmp(a, b) == 0;
}

static int set_lookup(struct cs_match_pkg *p, const char *name, size_t namelen, const char *version,
		      const char *via)
{
	struct cs_match_lookup *l;
	size_t k, vl;

	if (namelen == 0 || namelen > CS_MATCH_NAME_MAX)
		return cs_err_set(CS_EINVAL, "package name empty or longer than %d bytes", CS_MATCH_NAME_MAX);
	vl = strlen(version);
	if (vl == 0 || vl > CS_VERCMP_MAX)
		return cs_err_set(CS_EINVAL, "package version empty or longer than %d bytes", CS_VERCMP_MAX);
	for (k = 0; k < p->nlookups; k++)
		if (strlen(p->lookups[k].name) == namelen && memcmp(p->lookups[k].name, name, namelen) == 0 &&
		    strcmp(p->lookups[k].version, version) == 0)
			return 0;
	if (p->nlookups >= CS_MATCH_LOOKUPS_MAX)
		return cs_err_set(CS_EINTERNAL, "too many look-ups for one package");
	l = &p->lookups[p->nlookups++];
	memcpy(l->name, name, namelen);
	l->name[namelen] = '\0';
	memcpy(l->version, version, vl + 1);
	l->via = via;
	return 0;
}

/* "openssl-3.0.7-27.el9.src.rpm" -> "openssl" (name-version-release.arch.rpm) */
static size_t srpm_name(const char *s)
{
	size_t l = strlen(s), dashes = 0;

	if (l > 8 && strcmp(s + l - 8, ".src.rpm") == 0)
		l -= 8;
	else if (l > 10 && strcmp(s + l - 10, ".nosrc.rpm") == 0)
		l -= 10;
	else
		return 0;
	while (l > 0) {
		l--;
		if (s[l] == '-' && ++dashes == 2)
			return l;
	}
	return 0;
}

static int prepare_os(struct cs_match_pkg *p, const json_t *pkg, const char *kind, const char *name,
		      const char *version, const char *os_ecosystem)
{
	char buf[CS_VERCMP_MAX + 1];
	const char *s;
	int r, ok;

	if (os_ecosystem == NULL)
		return cs_err_set(CS_EUNSUPPORTED, "%s package %.64s: the image's distribution is not known", kind,
				  name);
	if (strlen(os_ecosystem) >= sizeof(p->target))
		return cs_err_set(CS_ELIMIT, "ecosystem name too long");
	p->fam = family_of(os_ecosystem);
	ok = 0;
	if (strcmp(kind, "dpkg") == 0)
		ok = p->fam == CS_FAM_DEBIAN || p->fam == CS_FAM_UBUNTU;
	else if (strcmp(kind, "apk") == 0)
		ok = p->fam == CS_FAM_ALPINE || p->fam == CS_FAM_WOLFI || p->fam == CS_FAM_CHAINGUARD;
	else if (strcmp(kind, "rpm") == 0)
		ok = p->fam == CS_FAM_REDHAT || p->fam == CS_FAM_ROCKY || p->fam == CS_FAM_ALMA ||
		     p->fam == CS_FAM_SUSE || p->fam == CS_FAM_OPENSUSE;
	if (!ok)
		return cs_err_set(CS_EUNSUPPORTED,
				  "%s package %.64s on %.64s: an OS package is matched only against its own distribution's advisories",
				  kind, name, os_ecosystem);
	memcpy(p->target, os_ecosystem, strlen(os_ecosystem) + 1);
	if ((r = cs_verscheme_for_ecosystem(&p->scheme, os_ecosystem)) != 0)
		return r;
	p->semver = CS_VERSCHEME_SEMVER;
	p->names = CS_NAMES_EXACT;

	if (strcmp(kind, "dpkg") == 0) {
		/* Debian and Ubuntu advisories name source packages, at the
		 * source version (a binNMU "+b1" binary keeps its source's). */
		s = cs_match_jstr(pkg, "source_name");
		if (s != NULL && *s != '\0') {
			const char *sv = cs_match_jstr(pkg, "source_version");
			return set_lookup(p, s, strlen(s), sv != NULL && *sv != '\0' ? sv : version, "source");
		}
		return set_lookup(p, name, strlen(name), version, "source");
	}
	if (strcmp(kind, "apk") == 0) {
		s = cs_match_jstr(pkg, "origin");
		if (s != NULL && *s != '\0')
			return set_lookup(p, s, strlen(s), version, "origin");
		return set_lookup(p, name, strlen(name), version, "origin");
	}
	/* rpm: epoch:version-release, the epoch when the header had one. */
	{
		json_t *e = json_object_get(pkg, "epoch");
		const char *v = version;
		size_t sl;

		if (json_is_integer(e)) {
			int w = snprintf(buf, sizeof(buf), "%lld:%s", (long long)json_integer_value(e), version);

			if (w < 0 || (size_t)w >= sizeof(buf))
				return cs_err_set(CS_EINVAL, "rpm version too long");
			v = buf;
		}
		if ((r = set_lookup(p, name, strlen(name), v, "binary")) != 0)
			return r;
		s = cs_match_jstr(pkg, "source_rpm");
		if (s != NULL && (sl = srpm_name(s)) > 0)
			return set_lookup(p, s, sl, v, "source");
		return 0;
	}
}

int cs_match_pkg_prepare(struct cs_match_pkg *p, const json_t *pkg, const char *os_ecosystem)
{
	const char *kind, *name, *version;
	char nb[CS_MATCH_NAME_MAX + 1];
	size_t k, j;

	memset(p, 0, sizeof(*p));
	if (pkg == NULL || !json_is_object(pkg))
		return cs_err_set(CS_EINVAL, "package is not an object");
	kind = cs_match_jstr(pkg, "kind");
	name = cs_match_jstr(pkg, "name");
	version = cs_match_jstr(pkg, "version");
	if (kind == NULL || name == NULL || version == NULL || *name == '\0' || *version == '\0')
		return cs_err_set(CS_EINVAL, "package without kind, name or version");
	if (strcmp(kind, "dpkg") == 0 || strcmp(kind, "apk") == 0 || strcmp(kind, "rpm") == 0)
		return prepare_os(p, pkg, kind, name, version, os_ecosystem);

	for (k = 0; k < sizeof(langs) / sizeof(langs[0]); k++) {
		for (j = 0; j < 4 && langs[k].kinds[j] != NULL; j++)
			if (strcmp(kind, langs[k].kinds[j]) == 0)
				break;
		if (j < 4 && langs[k].kinds[j] != NULL)
			break;
	}
	if (k == sizeof(langs) / sizeof(langs[0]))
		return cs_err_set(CS_EUNSUPPORTED, "package kind \"%.32s\" has no OSV ecosystem", kind);
	memcpy(p->target, langs[k].eco, strlen(langs[k].eco) + 1);
	p->fam = CS_FAM_LANG;
	p->names = langs[k].names;
	if (cs_verscheme_for_ecosystem(&p->scheme, langs[k].eco) != 0)
		return cs_err_set(CS_EUNSUPPORTED, "no version comparison for %s", langs[k].eco);
	p->semver = p->scheme == CS_VERSCHEME_GO ? CS_VERSCHEME_GO : CS_VERSCHEME_SEMVER;

	if (p->names == CS_NAMES_PEP503) {
		pep503(nb, sizeof(nb), name);
		return set_lookup(p, nb, strlen(nb), version, "name");
	}
	if (strcmp(langs[k].eco, "Maven") == 0 && strchr(name, ':') == NULL) {
		const char *g = cs_match_jstr(pkg, "group");
		int w;

		if (g == NULL)
			return cs_err_set(CS_EINVAL, "Maven package %.64s without a group", name);
		w = snprintf(nb, sizeof(nb), "%s:%s", g, name);
		if (w < 0 || (size_t)w >= sizeof(nb))
			return cs_err_set(CS_EINVAL, "Maven name too long");
		return set_lookup(p, nb, strlen(nb), version, "name");
	}
	if (strcmp(langs[k].eco, "Go") == 0 && (strcmp(name, "stdlib") == 0 || strcmp(name, "toolchain") == 0) &&
	    strncmp(version, "go", 2) == 0)
		return set_lookup(p, name, strlen(name), version + 2, "name"); /* go1.21.3 -> 1.21.3 */
	return set_lookup(p, name, strlen(name), version, "name");
}

/* The coarse look-up ecosystems of a target (see cs_match_query_keys()). */
size_t cs_match_lookup_ecosystems(char eco[2][CS_MATCH_ECOSYSTEM_MAX], const struct cs_match_pkg *p)
{
	switch (p->fam) {
	case CS_FAM_UBUNTU:
		snprintf(eco[0], CS_MATCH_ECOSYSTEM_MAX, "%s", p->target);
		if (strncmp(p->target, "Ubuntu:Pro:", 11) == 0)
			snprintf(eco[1], CS_MATCH_ECOSYSTEM_MAX, "Ubuntu:%s", p->target + 11);
		else if (strlen(p->target) > 4 && strcmp(p->target + strlen(p->target) - 4, ":LTS") == 0)
			snprintf(eco[1], CS_MATCH_ECOSYSTEM_MAX, "Ubuntu:Pro:%.200s", p->target + 7);
		else
			return 1;
		return 2;
	case CS_FAM_SUSE:
		snprintf(eco[0], CS_MATCH_ECOSYSTEM_MAX, "SUSE");
		return 1;
	case CS_FAM_OPENSUSE:
		snprintf(eco[0], CS_MATCH_ECOSYSTEM_MAX, "openSUSE");
		return 1;
	default:
		snprintf(eco[0], CS_MATCH_ECOSYSTEM_MAX, "%s", p->target);
		return 1;
	}
}

int cs_match_query_keys(json_t **out, const json_t *pkg, const char *os_ecosystem)
{
	struct cs_match_pkg *p;
	char eco[2][CS_MATCH_ECOSYSTEM_MAX];
	json_t *a = NULL, *o;
	size_t ne, i, k;
	int r;

	if (out == NULL)
		return cs_err_set(CS_EINVAL, "no output");
	*out = NULL;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_match_pkg_prepare(p, pkg, os_ecosystem)) != 0)
		goto out;
	ne = cs_match_lookup_ecosystems(eco, p);
	a = json_array();
	if (a == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ne; i++)
		for (k = 0; k < p->nlookups; k++) {
			o = json_pack("{s:s, s:s, s:s, s:s}", "ecosystem", eco[i], "name", p->lookups[k].name, "via",
				      p->lookups[k].via, "version", p->lookups[k].version);
			if (o == NULL || json_array_append_new(a, o) != 0) {
				r = cs_err_set(CS_ENOMEM, "out of memory (or a name that is not UTF-8)");
				goto out;
			}
		}
	*out = a;
	a = NULL;
	r = 0;
out:
	json_decref(a);
	free(p);
	return r;
}
