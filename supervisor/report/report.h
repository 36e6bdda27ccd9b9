/*
 * report.h - cellscan's report writers: package URLs, and the inventory as
 * CycloneDX 1.6, SPDX 2.3 or the native JSON. docs/formats.md describes every
 * field written here.
 *
 * Input is a merged image inventory (schema "cellscan-inventory/1", built by
 * supervisor/collect/), borrowed for the duration of a call and never
 * modified. Output is deterministic: the same inventory and the same creation
 * time give the same bytes. Strings from the image are written by jansson
 * (escaped, valid UTF-8).
 *
 * Every function returns 0 or a negative CS_E* code with a message recorded
 * (common/errors.h); out-params are set to NULL / 0 on entry and only filled
 * on success. Documents are NUL-terminated, end with a newline, and are freed
 * by the caller with free(); *len does not count the NUL.
 */
#ifndef CS_SUPERVISOR_REPORT_H
#define CS_SUPERVISOR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Largest document a writer produces; past it, CS_ELIMIT. */
#define CS_REPORT_MAX_DOC ((size_t)1 << 30)
/* Largest package URL; past it, CS_ELIMIT. */
#define CS_REPORT_MAX_PURL ((size_t)256 * 1024)

/* "Take the creation time from SOURCE_DATE_EPOCH, else the clock." */
#define CS_REPORT_TIME_AUTO (-1LL)

struct cs_report_opts {
	/*
	 * Document creation time in seconds since the Unix epoch, or
	 * CS_REPORT_TIME_AUTO: then SOURCE_DATE_EPOCH (a malformed value is
	 * CS_EINVAL, as reproducible-builds.org asks), else the current time for
	 * SPDX (which requires one) and no timestamp at all for CycloneDX (where
	 * it is optional), so that CycloneDX output stays reproducible.
	 */
	long long created;
};

/*
 * The package URL of one inventory package record (kind dpkg, apk or rpm):
 * pkg:deb/<vendor>/<name>@<version>?<qualifiers>, pkg:apk/..., pkg:rpm/...
 * The vendor namespace and the distro qualifier come from os (the inventory's
 * "os" object, or NULL when unknown); qualifiers arch, distro, epoch (rpm),
 * modularitylabel (rpm) and upstream (the source package), sorted by key;
 * percent-encoding per the purl specification. *out is malloc'd, caller
 * frees with free(). CS_EINVAL for a record without kind, name or version,
 * or of an unknown kind.
 */
int cs_report_purl(char **out, const json_t *pkg, const json_t *os);

/*
 * CycloneDX 1.6 JSON of an inventory: the image as metadata.component
 * (type "container"), the OS as an "operating-system" component, one
 * "library" component per package. findings is NULL (an SBOM) or an array
 * of classified findings (the "findings" of a cellscan-report/1 document,
 * see cs_report_build): then a "vulnerabilities" array is added, one entry
 * per finding, each affecting its package's component (docs/formats.md).
 * opts may be NULL (= CS_REPORT_TIME_AUTO). CS_EINVAL when findings is
 * neither NULL nor an array.
 */
int cs_report_cyclonedx(char **out, size_t *len, const json_t *inventory, const json_t *findings,
			const struct cs_report_opts *opts);

/* cs_report_cyclonedx(out, len, inventory, NULL, NULL). */
int cs_report_sbom_cyclonedx(char **out, size_t *len, const json_t *inventory);

/*
 * SPDX 2.3 JSON of an inventory: the image, the OS and the packages as SPDX
 * packages, related by DESCRIBES / CONTAINS. opts may be NULL.
 */
int cs_report_spdx(char **out, size_t *len, const json_t *inventory,
		   const struct cs_report_opts *opts);

/* cs_report_spdx(out, len, inventory, NULL). */
int cs_report_sbom_spdx(char **out, size_t *len, const json_t *inventory);

/*
 * The native format: the inventory itself, pretty-printed, with "purl" added
 * to every package record.
 */
int cs_report_sbom_json(char **out, size_t *len, const json_t *inventory);

/* ---- findings reports ------------------------------------------------- */

/* The schema name of the report document. */
#define CS_REPORT_SCHEMA "cellscan-report/1"

/*
 * The cellscan-report/1 document (docs/report-schema.json, docs/formats.md):
 * what `cellscan scan --format json` prints and the service serves. Built
 * from the merged inventory ("cellscan-inventory/1"), the match result of
 * cs_scan_match() ({"ecosystem", "os_supported", "unsupported_reason",
 * "findings", "notes", "db"}) and the policy classification of
 * cs_policy_classify() ({"verdict", "reason", "counts", "findings",
 * "recommendations", ...}). The findings are the classification's (each a
 * match finding plus "severity", "fix", "decision"), sorted by severity
 * level (critical first), then id, then package name, version and layer.
 * "generated" is the creation time of opts (as for the SBOMs: the options,
 * else SOURCE_DATE_EPOCH, else null, so the document is reproducible).
 * All three inputs are borrowed and not modified; members are copied.
 * *out is a new reference (json_decref). CS_EINVAL when an input is not an
 * object or a member has the wrong type (the message names it).
 */
int cs_report_build(json_t **out, const json_t *inventory, const json_t *match,
		    const json_t *classification, const struct cs_report_opts *opts);

/* cs_report_dump of a report: pretty JSON, newline at the end. */
int cs_report_json(char **out, size_t *len, const json_t *report);

struct cs_report_table_opts {
	int color;	  /* 1: ANSI colours (only on a terminal); 0: none */
	int width;	  /* terminal columns; <= 0 means 80; below 60 is 60 */
	int show_ignored; /* 1: list ignored findings too (else only counted) */
};

/*
 * The report as a text table for a terminal: a summary (image, verdict,
 * counts by severity, short database digest), an unsupported-OS warning
 * when there is one, the reported findings grouped by severity (critical
 * first) in columns PACKAGE INSTALLED FIXED ID LAYER TITLE fitted to the
 * width, then the recommendations. Every string taken from the report is
 * escaped (control characters, bidi controls and invalid UTF-8 become
 * visible \xNN / \u{NNNN} text; STYLE.md 14), and no line is wider than
 * the width (display columns; 60 at least). o may be NULL (80 columns, no
 * colour). Deterministic. *out is malloc'd and NUL-terminated; free().
 */
int cs_report_table(char **out, size_t *len, const json_t *report,
		    const struct cs_report_table_opts *o);

/*
 * SARIF 2.1.0 of a report (docs/formats.md): one run of tool "cellscan",
 * one rule per vulnerability id, one result per finding (ignored findings
 * carry a "suppressions" entry), package database as the location. Valid
 * against the OASIS schema. Deterministic.
 */
int cs_report_sarif(char **out, size_t *len, const json_t *report);

/*
 * A name-based (version 5, SHA-1) UUID per RFC 4122 section 4.3, written
 * as 36 lowercase characters plus NUL into out. Used for the CycloneDX
 * serial number and the SPDX document namespace (see docs/formats.md).
 */
#define CS_REPORT_UUID_LEN 37
extern const uint8_t cs_report_uuid_ns_url[16]; /* 6ba7b811-9dad-11d1-80b4-00c04fd430c8 */
int cs_report_uuid5(char out[CS_REPORT_UUID_LEN], const uint8_t ns[16], const void *name, size_t n);

/*
 * Whether s is an SPDX license expression cellscan can vouch for: built from
 * license and exception identifiers on the SPDX license list (exact case)
 * with AND, OR, WITH, '+' and parentheses. LicenseRef-/DocumentRef- and
 * anything unknown are refused (conservative). Returns 1 or 0.
 */
int cs_report_spdx_license_ok(const char *s);

#endif
