/*
 * rpm_internal.h - shared between the rpm analyzer's files only; not a
 * public door (use rpm.h).
 */
#ifndef CS_WORKER_RPM_INTERNAL_H
#define CS_WORKER_RPM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/* Upper bounds that keep hostile databases from costing more than they weigh. */
#define CS_RPM_HEADER_MAX (256u << 20)     /* one header blob (rpm's own cap) */
#define CS_RPM_INDEX_MAX 0xffffu           /* index entries in one header */
#define CS_RPM_FILES_BYTES_MAX (16u << 20) /* joined file paths of one package */
#define CS_RPM_FILES_MAX (1u << 20)        /* file paths of one package */

/*
 * Parses and emits one header blob; where names the record inside the
 * database for warnings ("sqlite hnum 12", "ndb pkgidx 3", ...) and may be
 * NULL. Returns 0, or negative CS_E* for out of memory / callback failure.
 */
int cs_rpm_header_emit(const struct cs_emit *e, const char *path, const char *where,
		       const uint8_t *blob, size_t len);

/*
 * The database walkers: each finds the header blobs in data[0..len) and
 * passes them to cs_rpm_header_emit in the order rpm lists them. Problems in
 * the container become warnings through e. Same return convention.
 */
int cs_rpm_bdb_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);
int cs_rpm_sqlite_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);
int cs_rpm_ndb_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);

/* Format probes on the first bytes (1 = looks like it). */
int cs_rpm_bdb_probe(const uint8_t *data, size_t len);
int cs_rpm_sqlite_probe(const uint8_t *data, size_t len);
int cs_rpm_ndb_probe(const uint8_t *data, size_t len);

#endif
