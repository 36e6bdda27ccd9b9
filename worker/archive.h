/*
 * archive.h - archive mode (oci-archive:, docker-archive:): the worker
 * streams an image archive (a tar, plain or gzip/zstd/xz/bzip2-compressed,
 * told apart by the bytes) and hands the supervisor the members it needs:
 * the known documents and the blobs. It never interprets a document; the
 * supervisor digest-checks everything it receives (docs/protocol.md
 * "Archive mode").
 *
 * For each member sent: a "member" record {path, size} on CS_FD_OUT, then
 * exactly size raw bytes on CS_FD_RAW. Links are sent as {path, size 0,
 * link} with no bytes. Members of no interest are skipped.
 */
#ifndef CS_WORKER_ARCHIVE_H
#define CS_WORKER_ARCHIVE_H

#include "common/limits.h"

#define CS_FD_ARCHIVE 3    /* the archive, read-only */
#define CS_FD_RAW 4        /* member bytes to the supervisor (a pipe, write-only) */

/*
 * Whether an archive member (normalised path) is sent: the top-level
 * documents index.json, oci-layout, manifest.json, repositories; blobs
 * "blobs/sha256/<64 hex>"; and names ending in ".tar", ".tar.gz" or ".json"
 * (docker save's legacy layer.tar and config files). Returns 1 or 0.
 */
int cs_archive_wanted(const char *path);

/*
 * Streams the archive on CS_FD_ARCHIVE. A limit, a corrupt or truncated
 * stream, or a hostile member name sends an "error" record naming the rule
 * and returns CS_ELIMIT / CS_EFORMAT; the worker then stops.
 */
int cs_archive_stream(const struct cs_limits *lim);

#endif
