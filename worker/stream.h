/*
 * stream.h - streaming one layer: decompress (gzip, zstd, xz, bzip2 or
 * none, told apart by the bytes), hash the uncompressed stream (the
 * diff_id), walk the tar entries, send whiteouts, file records on request
 * and the analyzers' records. Nothing is ever written to disk.
 */
#ifndef CS_WORKER_STREAM_H
#define CS_WORKER_STREAM_H

#include <stdint.h>

#include "common/limits.h"

struct cs_stream_opts {
	const struct cs_limits *lim;
	int emit_files;
	uint64_t image_bytes;   /* running total over the image's layers */
};

/* Registers libarchive's built-in filters and warms up the digest: call
 * before lockdown. Fails if any filter would need an external program. */
int cs_stream_init(void);

/*
 * Streams the layer on fd and sends layer_begin ... layer_end. A limit or a
 * corrupt stream sends an "error" record naming it and returns CS_ELIMIT or
 * CS_EFORMAT; the worker then stops.
 */
int cs_stream_layer(struct cs_stream_opts *o, int fd, int64_t layer);

#endif
