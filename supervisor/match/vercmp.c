/*
 * vercmp.c - ecosystem names, argument checks and dispatch to one family.
 */
#include "supervisor/match/vercmp.h"

#include <string.h>

#include "common/errors.h"

typedef int (*cs_vercmp_fn)(int *, const char *, size_t, const char *, size_t, unsigned);

static const struct {
	const char *name;
	cs_vercmp_fn fn;
} families[CS_VERSCHEME_COUNT] = {
	[CS_VERSCHEME_DPKG] = {"dpkg", cs_vercmp_dpkg},
	[CS_VERSCHEME_RPM] = {"rpm", cs_vercmp_rpm},
	[CS_VERSCHEME_APK] = {"apk", cs_vercmp_apk},
	[CS_VERSCHEME_SEMVER] = {"semver", cs_vercmp_semver},
	[CS_VERSCHEME_GO] = {"go", cs_vercmp_go},
	[CS_VERSCHEME_PEP440] = {"pep440", cs_vercmp_pep440},
	[CS_VERSCHEME_MAVEN] = {"maven", cs_vercmp_maven},
	[CS_VERSCHEME_RUBYGEMS] = {"rubygems", cs_vercmp_rubygems},
	[CS_VERSCHEME_NUGET] = {"nuget", cs_vercmp_nuget},
	[CS_VERSCHEME_PACKAGIST] = {"packagist", cs_vercmp_packagist},
	[CS_VERSCHEME_CRAN] = {"cran", cs_vercmp_cran},
	[CS_VERSCHEME_PUB] = {"pub", cs_vercmp_pub},
	[CS_VERSCHEME_HACKAGE] = {"hackage", cs_vercmp_hackage},
};

/* OSV ecosystem names exactly as the OSV schema spells them. */
static const struct {
	const char *eco;
	enum cs_verscheme s;
} ecosystems[] = {
	{"Debian", CS_VERSCHEME_DPKG},
	{"Ubuntu", CS_VERSCHEME_DPKG},
	{"Alpine", CS_VERSCHEME_APK},
	{"Wolfi", CS_VERSCHEME_APK},
	{"Chainguard", CS_VERSCHEME_APK},
	{"MinimOS", CS_VERSCHEME_APK},
	{"Alpaquita", CS_VERSCHEME_APK},
	{"BellSoft Hardened Containers", CS_VERSCHEME_APK},
	{"Red Hat", CS_VERSCHEME_RPM},
	{"Rocky Linux", CS_VERSCHEME_RPM},
	{"AlmaLinux", CS_VERSCHEME_RPM},
	{"SUSE", CS_VERSCHEME_RPM},
	{"openSUSE", CS_VERSCHEME_RPM},
	{"Mageia", CS_VERSCHEME_RPM},
	{"openEuler", CS_VERSCHEME_RPM},
	{"Photon OS", CS_VERSCHEME_RPM},
	{"Azure Linux", CS_VERSCHEME_RPM},
	{"PyPI", CS_VERSCHEME_PEP440},
	{"npm", CS_VERSCHEME_SEMVER},
	{"crates.io", CS_VERSCHEME_SEMVER},
	{"Hex", CS_VERSCHEME_SEMVER},
	{"SwiftURL", CS_VERSCHEME_SEMVER},
	{"Bitnami", CS_VERSCHEME_SEMVER},
	{"Go", CS_VERSCHEME_GO},
	{"Maven", CS_VERSCHEME_MAVEN},
	{"RubyGems", CS_VERSCHEME_RUBYGEMS},
	{"NuGet", CS_VERSCHEME_NUGET},
	{"Packagist", CS_VERSCHEME_PACKAGIST},
	{"CRAN", CS_VERSCHEME_CRAN},
	{"Bioconductor", CS_VERSCHEME_CRAN},
	{"Pub", CS_VERSCHEME_PUB},
	{"Hackage", CS_VERSCHEME_HACKAGE},
	{"GHC", CS_VERSCHEME_HACKAGE},
};

const char *cs_verscheme_name(enum cs_verscheme s)
{
	if ((unsigned)s >= CS_VERSCHEME_COUNT)
		return "unknown";
	return families[s].name;
}

/* Writes at most 64 bytes of v with anything outside printable ASCII (and
 * the quote and backslash) escaped, since versions come from untrusted data. */
static void escape(char *dst, size_t cap, const char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)v[i];

		if (i == 64) {
			dst[o++] = '.';
			dst[o++] = '.';
			dst[o++] = '.';
			break;
		}
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
}

int cs_vercmp_bad(enum cs_verscheme s, const char *v, size_t len, const char *rule)
{
	char e[300];

	escape(e, sizeof(e), v, len);
	return cs_err_set(CS_EFORMAT, "%s version \"%s\": %s", cs_verscheme_name(s), e, rule);
}

int cs_vercmp_digits(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	while (alen > 0 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 0 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	for (i = 0; i < alen; i++)
		if (a[i] != b[i])
			return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
	return 0;
}

/* The next number of a checked list: [*st, *st + *n). 0 when exhausted
 * (*pos past the end). */
static int next_number(const char *v, size_t len, size_t *pos, size_t *st, size_t *n)
{
	size_t i = *pos;

	if (i > len)
		return 0;
	*st = i;
	while (i < len && v[i] >= '0' && v[i] <= '9')
		i++;
	*n = i - *st;
	*pos = i + 1; /* past the separator, or past the end */
	return 1;
}

int cs_vercmp_numlist(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t pa = 0, pb = 0, sa = 0, sb = 0, na = 0, nb = 0;

	for (;;) {
		int ha = next_number(a, alen, &pa, &sa, &na), hb = next_number(b, blen, &pb, &sb, &nb), c;

		if (!ha || !hb)
			return ha - hb;
		if ((c = cs_vercmp_digits(a + sa, na, b + sb, nb)) != 0)
			return c;
	}
}

int cs_verscheme_for_ecosystem(enum cs_verscheme *out, const char *ecosystem)
{
	size_t n, i;
	const char *colon;
	char e[300];

	if (out == NULL || ecosystem == NULL)
		return cs_err_set(CS_EINVAL, "cs_verscheme_for_ecosystem: NULL argument");
	colon = strchr(ecosystem, ':');
	n = colon != NULL ? (size_t)(colon - ecosystem) : strlen(ecosystem);
	for (i = 0; i < sizeof(ecosystems) / sizeof(ecosystems[0]); i++) {
		if (strlen(ecosystems[i].eco) == n && memcmp(ecosystems[i].eco, ecosystem, n) == 0) {
			if (colon != NULL && colon[1] == '\0')
				break; /* "Debian:" names no release */
			*out = ecosystems[i].s;
			return 0;
		}
	}
	escape(e, sizeof(e), ecosystem, strnlen(ecosystem, 256));
	return cs_err_set(CS_EUNSUPPORTED, "ecosystem \"%s\" has no supported version ordering", e);
}

static int measure(enum cs_verscheme s, const char *v, size_t *len)
{
	*len = strnlen(v, CS_VERCMP_MAX + 1);
	if (*len > CS_VERCMP_MAX)
		return cs_err_set(CS_ELIMIT, "%s version longer than %d bytes", cs_verscheme_name(s),
				  CS_VERCMP_MAX);
	return 0;
}

int cs_vercmp_flags(int *out, enum cs_verscheme s, const char *a, const char *b, unsigned flags)
{
	size_t alen, blen;
	int r, c = 0;

	if (out == NULL || a == NULL || b == NULL)
		return cs_err_set(CS_EINVAL, "cs_vercmp: NULL argument");
	if ((unsigned)s >= CS_VERSCHEME_COUNT)
		return cs_err_set(CS_EINVAL, "cs_vercmp: unknown scheme %d", (int)s);
	if ((r = measure(s, a, &alen)) != 0 || (r = measure(s, b, &blen)) != 0)
		return r;
	/* No shortcut for a == b: every family must be reflexive on its own
	 * (docs/versions.md), and the fuzz harness checks it through here. */
	if ((r = families[s].fn(&c, a, alen, b, blen, flags)) != 0)
		return r;
	*out = c < 0 ? -1 : c > 0;
	return 0;
}

int cs_vercmp(int *out, enum cs_verscheme s, const char *a, const char *b)
{
	return cs_vercmp_flags(out, s, a, b, 0);
}

int cs_version_check(enum cs_verscheme s, const char *v, unsigned flags)
{
	size_t len;
	int r;

	if (v == NULL)
		return cs_err_set(CS_EINVAL, "cs_version_valid: NULL version");
	if ((unsigned)s >= CS_VERSCHEME_COUNT)
		return cs_err_set(CS_EINVAL, "cs_version_valid: unknown scheme %d", (int)s);
	if ((r = measure(s, v, &len)) != 0)
		return r;
	return families[s].fn(NULL, v, len, NULL, 0, flags);
}

int cs_version_valid(enum cs_verscheme s, const char *v)
{
	return cs_version_check(s, v, 0);
}
