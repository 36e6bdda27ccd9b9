/*
 * match_internal.h - shared between the files of supervisor/match/ that
 * implement match.h; not part of the part's interface.
 */
#ifndef CS_MATCH_MATCH_INTERNAL_H
#define CS_MATCH_MATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

/* The coarse look-up ecosystems of a prepared package (1 or 2), as
 * cs_match_query_keys() uses them. */
size_t cs_match_lookup_ecosystems(char eco[2][CS_MATCH_ECOSYSTEM_MAX], const struct cs_match_pkg *p);

/* ---- the compiled form (program.c) ---------------------------------------- */

enum { CS_EV_NONE = 0, CS_EV_INTRO, CS_EV_FIXED, CS_EV_LAST, CS_EV_LIMIT };

/* A bounds-checked cursor; bad is set (and stays set) on any overrun. */
struct cs_match_rd {
	const uint8_t *p, *e;
	int bad;
};

void cs_match_rd_init(struct cs_match_rd *r, const void *p, size_t n);
uint32_t cs_match_rd_u32(struct cs_match_rd *r);
uint8_t cs_match_rd_u8(struct cs_match_rd *r);
/* NULL for an absent string (or with bad set). Strings point into the
 * form and are NUL-terminated. */
const char *cs_match_rd_str(struct cs_match_rd *r);

struct cs_match_header {
	unsigned flags;                   /* bit 0: withdrawn */
	const char *id, *summary, *modified, *published, *ds_source, *ds_severity;
	const char *severity_json, *upstream_json;   /* compact JSON arrays or NULL */
	uint32_t naliases, nupstream, nseverity;
	struct cs_match_rd aliases, upstream;        /* cursors at the first string */
	struct cs_match_rd severity;                 /* (type, score) pairs, flags bit 1 */
};

struct cs_match_row {
	unsigned flags;
	const char *id;
	uint32_t nentries;
	struct cs_match_rd entries;                  /* cursor at the first entry */
};

struct cs_match_entry {
	uint32_t index;
	const char *eco, *name, *urgency, *ds_source, *ds_severity, *severity_json;
	uint32_t nranges, nversions;
	struct cs_match_rd ranges, versions;         /* cursors at the first of each */
};

struct cs_match_range {
	const char *type;                            /* NULL: none */
	uint32_t nevents;
	struct cs_match_rd events;
};

/* Each reads one item (CS_EDB when damaged). The _next ones advance r. */
int cs_match_header_read(struct cs_match_header *h, const void *p, size_t n);
int cs_match_row_read(struct cs_match_row *w, const void *p, size_t n);
int cs_match_entry_next(struct cs_match_entry *e, struct cs_match_rd *r);
int cs_match_range_next(struct cs_match_range *g, struct cs_match_rd *r);
/* kind CS_EV_NONE: an event that is not exactly one of the four (val NULL). */
int cs_match_event_next(int *kind, const char **val, struct cs_match_rd *r);
const char *cs_match_ev_name(int kind);

/* ---- evaluation and findings (match.c) ------------------------------------ */

#define CS_MATCH_REASON_MAX 900

/* What the installed version of each look-up is, worked out once. */
struct cs_match_vstate {
	signed char ok[CS_MATCH_LOOKUPS_MAX];        /* -1 not checked, 0 bad, 1 good */
	signed char semver_ok[CS_MATCH_LOOKUPS_MAX];
	char why[CS_MATCH_LOOKUPS_MAX][CS_MATCH_REASON_MAX];
};

/* The range or versions list that made a record affect a package. */
struct cs_match_hit {
	int found;
	size_t lookup;
	struct cs_match_entry entry;
	int has_range;                               /* 0: affected[].versions */
	struct cs_match_range range;
	const char *fixed, *lower, *upper;
	int upper_kind;
};

/*
 * Evaluates the entries of one record (rows: its rows, each entry once,
 * by ascending index) for p. hit->found says whether it is affected. Notes
 * as cs_match_record() makes them (id is the record's).
 */
int cs_match_eval_rows(struct cs_match_hit *hit, const struct cs_match_pkg *p,
		       struct cs_match_vstate *vs, const struct cs_match_row *rows, size_t nrows,
		       json_t *notes);

/* Per-record JSON shared by the findings of one scan. */
struct cs_match_recjson {
	json_t *aliases, *severity, *upstream;       /* NULL until made; severity/upstream may stay NULL */
	json_t *id, *summary;                        /* strings (summary may stay NULL) */
	json_t *adv;                                 /* the advisory when no entry names its own source */
	const void *ev_key[4];                       /* matched ranges (where their events start) ... */
	json_t *ev[4];                               /* ... and their events as JSON */
	const void *ds_key[4];                       /* matched entries (their ecosystem string) ... */
	json_t *ds[4];                               /* ... and their distribution ratings */
	json_t *eco[4];                              /* ... and their ecosystem as JSON */
	int made;
};

/* Per-package JSON shared by the package's findings (NULL until made). */
struct cs_match_pkgjson {
	json_t *copy;                                /* cs_match_pkg_copy() */
	json_t *target;
	json_t *version[CS_MATCH_LOOKUPS_MAX], *name[CS_MATCH_LOOKUPS_MAX], *via[CS_MATCH_LOOKUPS_MAX];
	json_t *words[8];                            /* shared short strings (fix states, range types) */
};
void cs_match_pkgjson_clear(struct cs_match_pkgjson *j);
void cs_match_recjson_clear(struct cs_match_recjson *j);

/* The finding for a hit of package pkg (prepared as p). rj and pj are
 * filled on first use and shared by later findings of the same record and
 * the same package; the caller clears them. */
int cs_match_build_finding(json_t **finding, const struct cs_match_header *h,
			   struct cs_match_recjson *rj, struct cs_match_pkgjson *pj,
			   const json_t *pkg, const struct cs_match_pkg *p, const struct cs_match_hit *hit);

/* The package fields a finding carries (new reference or NULL). */
json_t *cs_match_pkg_copy(const json_t *pkg);

/* cs_match_dedupe() for findings that all belong to one package. */
int cs_match_dedupe_one(json_t *findings);

/* "DEBIAN-CVE-2022-1292" -> "CVE-2022-1292"; other ids as they are. */
const char *cs_match_vuln_of(const char *s);

#endif
