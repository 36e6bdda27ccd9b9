/*
 * report_internal.h - shared between the files of supervisor/report/; not
 * part of the part's interface (that is report.h).
 */
#ifndef CS_REPORT_REPORT_INTERNAL_H
#define CS_REPORT_REPORT_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"

#include "supervisor/report/report.h"

/* Name and version of the tool as written into documents. */
#define CS_REPORT_TOOL "cellscan"
#ifndef CELLSCAN_VERSION
#define CELLSCAN_VERSION "0"
#endif

/* The SPDX identifiers cellscan recognises (a subset of the SPDX license
 * list; tests/report checks each against the list). Borrowed, static. */
const char *const *cs_report_license_ids(size_t *n);
const char *const *cs_report_exception_ids(size_t *n);
/* Whether s is exactly one recognised license identifier. */
int cs_report_license_id_ok(const char *s);

/* A string member of o, or NULL if absent, not a string, or empty. */
const char *cs_report_str(const json_t *o, const char *key);

/*
 * The creation time per struct cs_report_opts. *have is 0 when no time was
 * given (AUTO without SOURCE_DATE_EPOCH); then, if need is set, the clock is
 * read and *have is 1. iso gets "YYYY-MM-DDThh:mm:ssZ".
 */
int cs_report_time(const struct cs_report_opts *o, int need, int *have, long long *t, char iso[32]);

/* The package URL of the image (pkg:oci/...), or NULL in *out when the
 * image has no manifest digest. Caller frees. */
int cs_report_image_purl(char **out, const json_t *image);

/*
 * The bom-ref of every package, in inventory order: its purl, or, for the
 * second and later packages with the same purl, the purl with "#<index>"
 * appended. *refs is a new JSON array of strings (caller json_decref's);
 * *purls likewise holds the plain purls.
 */
int cs_report_package_refs(json_t **refs, json_t **purls, const json_t *packages, const json_t *os);

/* Serialises doc (pretty, 2-space indent, newline at the end) under
 * CS_REPORT_MAX_DOC. */
int cs_report_dump(char **out, size_t *len, const json_t *doc);

/* json_object_set_new that fails with CS_ENOMEM instead of leaking. */
int cs_report_set(json_t *o, const char *key, json_t *v);
/* Sets key to a copy of string s when s is non-NULL. */
int cs_report_set_str(json_t *o, const char *key, const char *s);
/* json_array_append_new likewise. */
int cs_report_append(json_t *a, json_t *v);

/* ---- findings --------------------------------------------------------- */

/* The severity levels, most severe first: critical, high, medium, low,
 * unknown. */
#define CS_REPORT_NLEVELS 5
extern const char *const cs_report_levels[CS_REPORT_NLEVELS];

/* Index of a level in cs_report_levels (critical 0 ... unknown 4); an
 * absent or unrecognised level counts as unknown (4). */
int cs_report_level_index(const char *level);

/* The finding's severity level (its "severity"."level"), as an index. */
int cs_report_finding_level(const json_t *finding);

/* Whether the finding's decision says "ignored". */
int cs_report_finding_ignored(const json_t *finding);

/*
 * Appends s to b percent-encoded: bytes outside A-Z a-z 0-9 - . _ ~ and
 * the characters in keep (may be NULL) become %XX (upper case).
 */
int cs_report_pct_encode(struct cs_buf *b, const char *s, const char *keep);

/* "https://osv.dev/vulnerability/<id, percent-encoded>" as a new JSON
 * string, or NULL on allocation failure. */
json_t *cs_report_osv_url(const char *id);

/*
 * CycloneDX vulnerabilities (cdx_vuln.c). cs_report_cdx_index maps the
 * inventory's packages to their component bom-refs (refs and purls as from
 * cs_report_package_refs); *out is a new reference. The vulnerabilities
 * array has one entry per finding; a finding whose package is not in the
 * inventory affects img_ref.
 */
int cs_report_cdx_index(json_t **out, const json_t *packages, const json_t *refs,
			const json_t *purls);
int cs_report_cdx_vulnerabilities(json_t **out, const json_t *findings, const json_t *idx,
				  const char *img_ref);

/* Lower-case hex SHA-256 of p into out (65 bytes with the NUL). */
int cs_report_sha256_hex(char out[65], const void *p, size_t n);

#endif
