/*
 * limits.h - every bound cellscan enforces, in one place, used by both the
 * supervisor and the worker (DESIGN.md "Defaults that bound work").
 *
 * The compile-time constants are hard ceilings of the wire protocol; the
 * struct cs_limits values are the configurable defaults, which the
 * supervisor passes to the worker on its command line and enforces again
 * on what comes back.
 */
#ifndef CS_COMMON_LIMITS_H
#define CS_COMMON_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define CS_PROTO_VERSION 1
#define CS_FRAME_MAX 65536u          /* one record, JSON bytes */
#define CS_STR_MAX 4096u             /* any string field in a record */
#define CS_PATH_MAX 4096u            /* a path inside an image */
#define CS_PKG_FILES_MAX 512u        /* file paths in one package record */
#define CS_DOC_MAX (4u << 20)        /* manifest / config / index document */

struct cs_limits {
	uint64_t layers;               /* layers per image */
	uint64_t layer_bytes;          /* uncompressed bytes per layer */
	uint64_t image_bytes;          /* uncompressed bytes per image */
	uint64_t layer_entries;        /* tar entries per layer */
	uint64_t path_len;             /* bytes in one path */
	uint64_t analyzer_file;        /* bytes of one file read by an analyzer */
	uint64_t worker_as;            /* worker address space, bytes */
	uint64_t worker_cpu;           /* worker CPU seconds */
	uint64_t worker_wall;          /* worker wall clock, seconds */
	uint64_t worker_mem;           /* cgroup memory limit, bytes */
	uint64_t records;              /* records per image */
	uint64_t wire_bytes;           /* total record bytes per image */
	uint64_t tmpfs_bytes;          /* size of the worker's root tmpfs */
	uint64_t archive_members;      /* members an archive worker may send */
	uint64_t archive_bytes;        /* bytes an archive worker may send in all */
};

/* The defaults of DESIGN.md. */
void cs_limits_default(struct cs_limits *l);

/*
 * Parses "name=value[,name=value...]" (names as the struct fields,
 * values with optional k/m/g suffix) into l. Unknown names or bad values:
 * CS_EINVAL naming the item.
 */
int cs_limits_parse(struct cs_limits *l, const char *spec);

/* Writes the full spec of l into buf (for the worker's argv). */
int cs_limits_format(const struct cs_limits *l, char *buf, size_t size);

#endif
