/*
 * policy_internal.h - shared between the .c files of policy/ only; not part
 * of the part's interface (that is policy.h).
 */
#ifndef CS_POLICY_INTERNAL_H
#define CS_POLICY_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

/* Severity levels, in order; the rank is the enum value. */
enum cs_level {
	CS_LVL_UNKNOWN = 0,
	CS_LVL_LOW,
	CS_LVL_MEDIUM,
	CS_LVL_HIGH,
	CS_LVL_CRITICAL,
	CS_LVL_COUNT
};

enum cs_sevsrc { CS_SRC_DISTRO, CS_SRC_CVSS_V4, CS_SRC_CVSS_V3 };

#define CS_POLICY_MAX_SOURCES 3
#define CS_POLICY_MAX_RULES 10000
#define CS_POLICY_MAX_REPOS 1000
#define CS_POLICY_MAX_VEX 100
#define CS_POLICY_MAX_STATEMENTS 100000
#define CS_POLICY_MAX_STR 1024	/* id, package, image, paths */
#define CS_POLICY_MAX_TEXT 4096 /* reason, description */
#define CS_POLICY_MAX_GLOB 256
#define CS_POLICY_MAX_SUBJECT 4096 /* longest string a glob is matched against */

struct cs_policy_rule {
	char *where;   /* "ignore[2]", "repositories[\"x/y\"].ignore[0]" */
	char *id;      /* NULL: any */
	char *package; /* glob, NULL: any */
	char *image;   /* glob, NULL: any */
	char *expires; /* YYYY-MM-DD, NULL: never */
	char *reason;
};

struct cs_policy_repo {
	char *pattern;
	int threshold;	    /* enum cs_level, -1 when not overridden */
	int ignore_unfixed; /* 0/1, -1 when not overridden */
	struct cs_policy_rule *rules;
	size_t nrules;
	size_t literal; /* specificity: literal characters in the pattern */
	size_t wild;	/* wildcard tokens */
};

struct cs_policy_vex {
	char *path;  /* as written in the policy */
	json_t *doc; /* validated OpenVEX document, owned */
};

struct cs_policy {
	int version;
	int threshold;
	int ignore_unfixed;
	enum cs_sevsrc sources[CS_POLICY_MAX_SOURCES];
	size_t nsources;
	int pick_highest; /* severity_pick "highest" */
	char *description;
	struct cs_policy_rule *rules;
	size_t nrules;
	struct cs_policy_repo *repos;
	size_t nrepos;
	struct cs_policy_vex *vex;
	size_t nvex;
};

extern const char *const cs_policy_level_names[CS_LVL_COUNT];

/* Globs (docs/policy.md "Patterns"): 0 when valid, else CS_EINVAL with the
 * problem in *why (static). */
int cs_policy_glob_check(const char *pat, const char **why);
/* 1 when s matches the (valid) pattern, else 0. */
int cs_policy_glob_match(const char *pat, const char *s);
/* Counts literal characters and wildcard tokens of a valid pattern. */
void cs_policy_glob_specificity(const char *pat, size_t *literal, size_t *wild);

/* 1 when s is a real calendar date written YYYY-MM-DD. */
int cs_policy_date_valid(const char *s);
/* RFC 3339 date-time -> seconds since the epoch (UTC) and nanoseconds;
 * 0 on success, -1 when malformed. */
int cs_policy_datetime_parse(const char *s, long long *secs, long *nanos);

/* Copies s into dst (n bytes) with control and non-ASCII bytes as \xNN and
 * '"' / '\\' backslashed, shortened with "..." past max characters; for
 * naming untrusted keys in messages. Returns dst. */
char *cs_policy_esc(char *dst, size_t n, const char *s, size_t max);

/* ASCII case-insensitive equality. */
int cs_policy_streq_ci(const char *a, const char *b);

#define CS_POLICY_MAX_PATHMSG 512

/* Records "PATH: message" and returns CS_EINVAL. */
int cs_policy_bad(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "a string", "an object", ... for messages. Static string. */
const char *cs_policy_type_name(const json_t *v);
/* CS_EINVAL naming PATH.key for the first key of obj not in allowed
 * (NULL-terminated). */
int cs_policy_only_keys(const json_t *obj, const char *path, const char *const *allowed);

/* A rule as output JSON {"where", "id", ...}; new reference or NULL. */
json_t *cs_policy_rule_json(const struct cs_policy_rule *r);

/* 1 when s equals (ASCII case-insensitively) the finding's id or one of its
 * aliases or upstream ids. */
int cs_policy_finding_has_id(const json_t *finding, const char *s);

/* OpenVEX (vex.c). Validates doc (the schema's essentials); on error
 * CS_EINVAL with a message naming the member path. */
int cs_policy_vex_validate(const json_t *doc);

/*
 * The statement of the policy's VEX documents that decides this finding for
 * this image (the latest by timestamp of those that match it), or NULL.
 * *doc_index and *stmt_index say which document and statement. Borrowed from the policy.
 */
const json_t *cs_policy_vex_find(const struct cs_policy *p, const json_t *finding,
				 const json_t *image, size_t *doc_index, size_t *stmt_index);

#endif
