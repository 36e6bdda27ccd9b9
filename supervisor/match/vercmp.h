/*
 * vercmp.h - exact per-ecosystem version comparison.
 *
 * One comparison family per enum value; cs_verscheme_for_ecosystem() maps an
 * OSV ecosystem name ("Debian:12", "PyPI", ...) to its family. Every function
 * takes NUL-terminated strings borrowed for the duration of the call, keeps
 * no state and allocates nothing (inputs are capped at CS_VERCMP_MAX bytes,
 * which bounds every internal table), so they are safe to call from any thread.
 *
 * Two modes:
 *   strict (flags 0, what cs_vercmp() uses): a version that breaks the
 *     ecosystem's own grammar (dpkg upstream not starting with a digit, PEP 440,
 *     SemVer 2.0, apk's {number}{.number}...{letter}{_suf{#}}...{~hash}{-r#}, ...)
 *     is CS_EFORMAT with a one-line message naming the version and the rule.
 *   CS_VERCMP_LENIENT: order it the way the ecosystem's reference tool still
 *     orders strings it would not accept (`apk version -t`, dpkg with parse
 *     warnings, packaging's LegacyVersion for PyPI, rpmvercmp on non-ASCII,
 *     OSV's relaxed SemVer with missing minor/patch). Only strings no tool can
 *     order at all (empty, embedded blanks in dpkg, a bad dpkg epoch) fail.
 *     OSV advisories contain such strings; a matcher that must not drop data
 *     uses this mode.
 */
#ifndef CS_MATCH_VERCMP_H
#define CS_MATCH_VERCMP_H

#include <stddef.h>

/* Longest version string accepted (bytes, without the NUL); CS_ELIMIT beyond. */
#define CS_VERCMP_MAX 1024

enum cs_verscheme {
	CS_VERSCHEME_DPKG,      /* Debian, Ubuntu */
	CS_VERSCHEME_RPM,       /* Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, ... */
	CS_VERSCHEME_APK,       /* Alpine, Wolfi, Chainguard */
	CS_VERSCHEME_SEMVER,    /* npm, crates.io, Hex, SwiftURL, generic SEMVER ranges */
	CS_VERSCHEME_GO,        /* Go modules: SemVer, optional 'v', pseudo-versions */
	CS_VERSCHEME_PEP440,    /* PyPI */
	CS_VERSCHEME_MAVEN,     /* Maven ComparableVersion */
	CS_VERSCHEME_RUBYGEMS,  /* Gem::Version */
	CS_VERSCHEME_NUGET,     /* NuGetVersion (SemVer 2, 4 parts, case-insensitive) */
	CS_VERSCHEME_PACKAGIST, /* PHP version_compare, leading v/V dropped */
	CS_VERSCHEME_CRAN,      /* R package_version */
	CS_VERSCHEME_PUB,       /* pub_semver (build metadata orders) */
	CS_VERSCHEME_HACKAGE,   /* Data.Version (numeric branches) */
	CS_VERSCHEME_COUNT
};

/* Flags for cs_vercmp_flags() / cs_version_check(). */
#define CS_VERCMP_LENIENT 1u

/* Maps an OSV ecosystem name, with an optional ":release" suffix, to its
 * family. CS_EUNSUPPORTED (message names it) for an unknown ecosystem,
 * CS_EINVAL for NULL. */
int cs_verscheme_for_ecosystem(enum cs_verscheme *out, const char *ecosystem);

/* Strict comparison: *out = -1, 0 or 1 (a < b, a == b, a > b).
 * CS_EFORMAT for an invalid version, CS_ELIMIT past CS_VERCMP_MAX,
 * CS_EINVAL for NULL arguments or an unknown scheme. */
int cs_vercmp(int *out, enum cs_verscheme s, const char *a, const char *b);

/* Same with flags (0 or CS_VERCMP_LENIENT). */
int cs_vercmp_flags(int *out, enum cs_verscheme s, const char *a, const char *b,
		    unsigned flags);

/* 0 when v is a valid version of the family, else CS_EFORMAT (or CS_ELIMIT,
 * CS_EINVAL) with the message set. */
int cs_version_valid(enum cs_verscheme s, const char *v);
int cs_version_check(enum cs_verscheme s, const char *v, unsigned flags);

/* A short stable name ("dpkg", "rpm", "pep440", ...); "unknown" if out of range. */
const char *cs_verscheme_name(enum cs_verscheme s);

/*
 * Per-family entry points used by the dispatcher in vercmp.c (the dispatcher
 * has already checked NULLs and the length cap). a/b are not necessarily
 * NUL-terminated past alen/blen. out NULL means "validate a only".
 */
int cs_vercmp_dpkg(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_rpm(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_apk(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_semver(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_go(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_pep440(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_maven(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_rubygems(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_nuget(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_packagist(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_cran(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_pub(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);
int cs_vercmp_hackage(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags);

/* apk's "~" operator: *out is 0 when b's tokens are a prefix of a's (a
 * "matches" b, as in a dependency "pkg~3.6"), else the ordinary comparison. */
int cs_vercmp_apk_fuzzy(int *out, const char *a, const char *b);

/* Records "<scheme> version "<v>": <rule>" (v escaped and shortened) and
 * returns CS_EFORMAT. For the family files. */
int cs_vercmp_bad(enum cs_verscheme s, const char *v, size_t len, const char *rule);

/* Compares two runs of ASCII digits as unbounded non-negative integers
 * (leading zeros ignored). Returns -1, 0, 1. */
int cs_vercmp_digits(const char *a, size_t alen, const char *b, size_t blen);
/* Two checked versions made of digit runs, each followed by one separator
 * byte (CRAN's "1.2-3", Hackage's "1.2.3"), compared number by number; a
 * proper prefix is less. -1, 0 or 1. */
int cs_vercmp_numlist(const char *a, size_t alen, const char *b, size_t blen);

#endif
