/*
 * policy.h - classification of findings under a policy (DESIGN.md
 * "Classification"): severity, fix state, ignore rules, OpenVEX, verdict and
 * recommendations. The format and every rule are in docs/policy.md.
 *
 * Pure functions over JSON (jansson): the policy is loaded once (the only
 * step that reads files: the policy and the OpenVEX documents it names),
 * then cs_policy_classify() is a function of its arguments. It never reads
 * the clock (the caller passes today's date) and never compares versions
 * itself (the caller passes a comparator), so results are reproducible.
 * A loaded policy is immutable and may be shared by threads.
 *
 * Errors follow common/errors.h: 0 or a negative CS_E* code with a message
 * from cs_err_msg(). Out-parameters are set to NULL on entry.
 */
#ifndef CS_POLICY_POLICY_H
#define CS_POLICY_POLICY_H

#include <stddef.h>

#include <jansson.h>

struct cs_policy;

/* Largest policy file and OpenVEX document read, in bytes. */
#define CS_POLICY_MAX_FILE (4u << 20)
#define CS_POLICY_MAX_VEX_FILE (16u << 20)

/*
 * Parses and strictly validates a policy (docs/policy.md). base_dir is the
 * folder relative `vex` paths are resolved against (NULL: the current
 * directory); every OpenVEX document is read and validated here.
 * On success *out is a new policy the caller frees with cs_policy_free().
 * CS_EINVAL for any invalid content, with a message that starts with the
 * offending key path, e.g. "ignore[2].expires: not a date (YYYY-MM-DD)";
 * CS_EIO / CS_ELIMIT when a VEX document cannot be read; CS_ENOMEM.
 */
int cs_policy_load(struct cs_policy **out, const char *json_text, size_t len, const char *base_dir);

/* cs_policy_load() of the file PATH, base_dir = PATH's folder. */
int cs_policy_load_file(struct cs_policy **out, const char *path);

/* The built-in default policy (the content of policy/default-policy.json). */
int cs_policy_default(struct cs_policy **out);

/* NULL is a no-op. */
void cs_policy_free(struct cs_policy *p);

/*
 * The effective policy as JSON, every default filled in and every rule
 * numbered with where it came from ("where": "ignore[0]"), VEX documents
 * summarised ({"path", "id", "statements"}). *out is a new reference.
 */
int cs_policy_describe(json_t **out, const struct cs_policy *p);

/*
 * Version comparator the caller provides (cs_vercmp with the ecosystem's
 * scheme): *out <0, 0, >0 as a <, =, > b; nonzero return when a or b cannot
 * be compared. ctx is passed through.
 */
typedef int (*cs_policy_vercmp_fn)(void *ctx, const char *ecosystem, const char *a, const char *b,
				   int *out);

struct cs_policy_input {
	/* {"repository": "registry.example/team/app", "ref": "...", "digest":
	 * "sha256:..."}; any member may be absent. Borrowed. */
	const json_t *image;
	/* Today's date, "YYYY-MM-DD" (UTC), for rule expiry. Required. */
	const char *today;
	/* NULL, or why the image could not be scanned completely (a failed
	 * step, or the work budget it went over: "uncompressed bytes per image
	 * over 64 GiB"). The verdict is then "error". Borrowed. */
	const char *scan_error;
	/* For recommendations; NULL makes every "to" version undecided when a
	 * package has more than one distinct fix. */
	cs_policy_vercmp_fn vercmp;
	void *vercmp_ctx;
};

/*
 * Classifies findings (an array of supervisor/match finding objects, see
 * docs/matching.md) for one image. *out is a new object:
 *   {"verdict": "healthy"|"unhealthy"|"error", "reason": "...",
 *    "threshold": "high", "repository_override": "glob" | null,
 *    "counts": {"critical","high","medium","low","unknown","ignored"},
 *    "findings": [copy of each finding plus "severity", "fix", "decision"],
 *    (a shallow copy: the values under each finding are shared with the
 *    input, so neither side may change them in place),
 *    "recommendations": [...], "expired_rules": [...]}
 * Exactly as docs/policy.md "Output". The input is not modified.
 * CS_EINVAL for bad arguments (findings not an array, today not a date, a
 * finding not an object), CS_ENOMEM.
 */
int cs_policy_classify(json_t **out, const struct cs_policy *p, const json_t *findings,
		       const struct cs_policy_input *in);

/*
 * The severity of one finding under p's severity_source precedence:
 * *out is a new {"level", "score", "vector", "source", ...} object as in the
 * classify output.
 */
int cs_policy_severity(json_t **out, const struct cs_policy *p, const json_t *finding);

/*
 * Maps a distribution rating (Debian urgency, Ubuntu priority, Red Hat or
 * SUSE severity; case-insensitive) to "critical", "high", "medium", "low"
 * or "unknown". Returns a static string.
 */
const char *cs_policy_distro_level(const char *rating);

/* Rank of a level: critical 4, high 3, medium 2, low 1, unknown 0; -1 for
 * anything else. */
int cs_policy_level_rank(const char *level);

#endif
