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
 * "library" component per package. findings must be NULL for now (a later
 * issue adds the "vulnerabilities" array from them; non-NULL is
 * CS_EUNSUPPORTED). opts may be NULL (= CS_REPORT_TIME_AUTO).
 */
int cs_report_cyclonedx(char **out, size_t *len, const json_t *inventory,
			const json_t *findings, const struct cs_report_opts *opts);

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

/*
 * A name-based (version 5, SHA-1) UUID per RFC 4122 section 4.3, written
 * as 36 lowercase characters plus NUL into out. Used for the CycloneDX
 * serial number and the SPDX document namespace (see docs/formats.md).
 */
#define CS_REPORT_UUID_LEN 37
extern const uint8_t cs_report_uuid_ns_url[16];  /* 6ba7b811-9dad-11d1-80b4-00c04fd430c8 */
int cs_report_uuid5(char out[CS_REPORT_UUID_LEN], const uint8_t ns[16],
		    const void *name, size_t n);

/*
 * Whether s is an SPDX license expression cellscan can vouch for: built from
 * license and exception identifiers on the SPDX license list (exact case)
 * with AND, OR, WITH, '+' and parentheses. LicenseRef-/DocumentRef- and
 * anything unknown are refused (conservative). Returns 1 or 0.
 */
int cs_report_spdx_license_ok(const char *s);

#endif
