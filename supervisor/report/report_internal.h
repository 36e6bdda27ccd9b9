/*
 * report_internal.h - shared between the files of supervisor/report/; not
 * part of the part's interface (that is report.h).
 */
#ifndef CS_REPORT_REPORT_INTERNAL_H
#define CS_REPORT_REPORT_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

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
int cs_report_time(const struct cs_report_opts *o, int need, int *have,
		   long long *t, char iso[32]);

/* The package URL of the image (pkg:oci/...), or NULL in *out when the
 * image has no manifest digest. Caller frees. */
int cs_report_image_purl(char **out, const json_t *image);

/*
 * The bom-ref of every package, in inventory order: its purl, or, for the
 * second and later packages with the same purl, the purl with "#<index>"
 * appended. *refs is a new JSON array of strings (caller json_decref's);
 * *purls likewise holds the plain purls.
 */
int cs_report_package_refs(json_t **refs, json_t **purls, const json_t *packages,
			   const json_t *os);

/* Serialises doc (pretty, 2-space indent, newline at the end) under
 * CS_REPORT_MAX_DOC. */
int cs_report_dump(char **out, size_t *len, const json_t *doc);

/* json_object_set_new that fails with CS_ENOMEM instead of leaking. */
int cs_report_set(json_t *o, const char *key, json_t *v);
/* Sets key to a copy of string s when s is non-NULL. */
int cs_report_set_str(json_t *o, const char *key, const char *s);
/* json_array_append_new likewise. */
int cs_report_append(json_t *a, json_t *v);

#endif
