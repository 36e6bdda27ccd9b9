/*
 * analyze.h - which analyzer wants which file, and running it.
 */
#ifndef CS_WORKER_ANALYZE_H
#define CS_WORKER_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/* Index of the analyzer that wants path (normalised), or -1. */
int cs_analyze_match(const char *path);
/* The analyzer's short name ("dpkg"). */
const char *cs_analyze_name(int idx);
/* Runs analyzer idx over the file's bytes. */
int cs_analyze_run(int idx, const struct cs_emit *e, const char *path, const uint8_t *data,
		   size_t len);
/* CS_ANALYZERS_VERSION (common/version.h). */
const char *cs_analyze_version(void);

#endif
