/*
 * cvss.h - CVSS v3.0, v3.1 and v4.0 score calculators (issue 6, "Severity").
 *
 * Pure functions of a vector string: no allocation, no I/O, nothing to free.
 * The vector is untrusted input (it comes from OSV records); it is parsed
 * strictly and a bad one is rejected with a message, never scored.
 *
 * Which score is computed:
 *   - CVSS:3.0 and CVSS:3.1: the base score of the specification (Base
 *     metrics only). Temporal and environmental metrics are accepted and
 *     validated (any order, no duplicates, as the v3.x specifications and
 *     the FIRST v3.1 JSON schema allow) but do not change the result.
 *     v3.1 uses the Roundup of the v3.1 specification, Appendix A (rounding
 *     at 5 decimals first, so 4.000000001 stays 4.0); v3.0 uses the plain
 *     ceiling to one decimal of the v3.0 specification.
 *   - CVSS:4.0: the score of the whole vector as the specification's
 *     MacroVector lookup and interpolation define it (CVSS-B, -BT, -BE or
 *     -BTE, depending on which threat and environmental metrics are
 *     present); supplemental metrics are validated but never change it.
 *     Metrics must appear in the specification's order (the FIRST v4.0 JSON
 *     schema's vectorString pattern requires it).
 *
 * CVSS v2 vectors ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "(AV:...)", "CVSS:2.0/...")
 * and other well-formed "CVSS:D.D/" versions are CS_EUNSUPPORTED.
 */
#ifndef CS_POLICY_CVSS_H
#define CS_POLICY_CVSS_H

/* Longest vector accepted, in bytes (a complete v4.0 vector with every
 * metric spelled out is under 200). */
#define CS_CVSS_MAX_VECTOR 512

/*
 * Parses VECTOR (NUL-terminated) and computes its score.
 * On success returns 0, *score is 0.0..10.0 with one decimal (compare it
 * at one decimal, e.g. (int)(score * 10 + 0.5)), *version is 30, 31 or 40.
 * On failure *score is 0.0 and *version 0, and it returns
 *   CS_EFORMAT      malformed vector: bad prefix, empty or unknown metric,
 *                   duplicate metric, bad value, missing mandatory base
 *                   metric, v4.0 metric out of order, too long;
 *   CS_EUNSUPPORTED a CVSS v2 vector or an unknown CVSS:D.D version;
 *   CS_EINVAL       a NULL argument.
 * The message (cs_err_msg) names the vector (escaped, possibly shortened)
 * and the problem.
 */
int cs_cvss_score(double *score, int *version, const char *vector);

/*
 * The qualitative severity rating shared by CVSS v3.x and v4.0 for a score
 * (compared at one decimal): "none" (0.0), "low" (0.1-3.9), "medium"
 * (4.0-6.9), "high" (7.0-8.9), "critical" (9.0-10.0); "unknown" for NaN or
 * a score outside 0.0..10.0. Returns a static string.
 */
const char *cs_cvss_rating(double score);

#endif
