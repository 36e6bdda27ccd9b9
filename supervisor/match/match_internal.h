/*
 * match_internal.h - shared between the files of supervisor/match/ that
 * implement match.h; not part of the part's interface.
 */
#ifndef CS_MATCH_MATCH_INTERNAL_H
#define CS_MATCH_MATCH_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "supervisor/match/match.h"
#include "supervisor/match/vercmp.h"

/* Longest package name we look up (bytes, without the NUL). */
#define CS_MATCH_NAME_MAX 511
/* Names one package is looked up under (rpm: binary and source). */
#define CS_MATCH_LOOKUPS_MAX 2

enum cs_match_family {
	CS_FAM_NONE = 0,
	CS_FAM_DEBIAN,
	CS_FAM_UBUNTU,
	CS_FAM_ALPINE,
	CS_FAM_WOLFI,
	CS_FAM_CHAINGUARD,
	CS_FAM_ROCKY,
	CS_FAM_ALMA,
	CS_FAM_REDHAT,
	CS_FAM_SUSE,
	CS_FAM_OPENSUSE,
	CS_FAM_LANG,       /* a language ecosystem (PyPI, npm, ...) */
};

/* How names of an ecosystem compare. */
enum cs_match_names {
	CS_NAMES_EXACT = 0,
	CS_NAMES_PEP503,   /* PyPI: case-insensitive, runs of -_. equal */
	CS_NAMES_NOCASE,   /* NuGet, Packagist */
};

struct cs_match_lookup {
	char name[CS_MATCH_NAME_MAX + 1];
	char version[CS_VERCMP_MAX + 1];
	const char *via;   /* static string */
};

/* What one package is matched as. */
struct cs_match_pkg {
	char target[CS_MATCH_ECOSYSTEM_MAX];   /* "Debian:12", "PyPI" */
	enum cs_match_family fam;
	enum cs_match_names names;
	enum cs_verscheme scheme;              /* for ECOSYSTEM ranges */
	enum cs_verscheme semver;              /* for SEMVER ranges */
	size_t nlookups;
	struct cs_match_lookup lookups[CS_MATCH_LOOKUPS_MAX];
};

/* Fills p from a package object and the image ecosystem (see
 * cs_match_query_keys() for the rules and errors). */
int cs_match_pkg_prepare(struct cs_match_pkg *p, const json_t *pkg, const char *os_ecosystem);

/* 1 when two package names are the same under the given rule. */
int cs_match_names_equal(enum cs_match_names rule, const char *a, const char *b);

/* The string member k of o, or NULL when absent or not a string. */
const char *cs_match_jstr(const json_t *o, const char *k);

#endif
